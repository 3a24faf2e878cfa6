"""Command-line interface: a thin layer, each command one library call.

Subcommands live in sibling modules and register themselves on :data:`main`.
"""

from __future__ import annotations

import importlib

import click


class _Group(click.Group):
    """Turns the errors cevnsfit raises on purpose (and OS errors such as an unwritable output
    path) into ``error: ...`` on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        from cevnsfit.errors import CevnsfitError

        try:
            return super().invoke(ctx)
        except (CevnsfitError, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, CevnsfitError) and exc.filename:
                msg = f"cannot access {exc.filename}: {exc.strerror or exc}"
            else:
                msg = str(exc)
            click.echo(f"error: {msg}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cevnsfit")
def main() -> None:
    """cevnsfit: new-physics models against CEvNS data (COHERENT CsI and argon, XENONnT solar 8B)."""


# Each module adds its commands to `main` on import.
for _mod in ("data", "physics", "crosscheck", "inference", "reproduce", "warmup", "export"):
    try:
        importlib.import_module(f"cevnsfit.cli.{_mod}")
    except ModuleNotFoundError as exc:  # a layer not built yet
        if exc.name != f"cevnsfit.cli.{_mod}":
            raise
