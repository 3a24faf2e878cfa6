"""``cevnsfit datasets``: the data-set registry (built-in unit folders and entry points)."""

from __future__ import annotations

import json

import click

from . import main


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print the registry as JSON")
def datasets(as_json):
    """Every data set: name, title, kind, release, exposures, modes, options, where declared."""
    from ..datasets import registry

    rows = [u.summary() for u in registry().values()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        rel = r["release"]["name"] if r["release"] else "-"
        click.echo(f"{r['name']}  ({r['kind']}; modes {', '.join(r['modes'])})  {r['title']}")
        click.echo(f"    release {rel}; exposures {', '.join(r['exposures'])}; declared in {r['declared_in']}")
        for k, o in r["options"].items():
            allowed = f" allowed {o['allowed']}" if o["allowed"] is not None else ""
            modes = "" if o["modes"] == r["modes"] else f" [{', '.join(o['modes'])}]"
            click.echo(f"    option {k} = {o['default']!r}{allowed}{modes}  {o['doc']}")
