"""Command-line interface: a thin layer, each command one library call.

Subcommands live in sibling modules and register themselves on :data:`main`.
"""

from __future__ import annotations

import importlib

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cevnsfit")
def main() -> None:
    """cevnsfit: light Z' models against COHERENT CEvNS data."""


# Each module adds its commands to `main` on import.
for _mod in ("data", "physics", "crosscheck", "inference", "reproduce"):
    try:
        importlib.import_module(f"cevnsfit.cli.{_mod}")
    except ModuleNotFoundError as exc:  # a layer not built yet
        if exc.name != f"cevnsfit.cli.{_mod}":
            raise
