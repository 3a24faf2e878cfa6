"""``cevnsfit data ...``: the data registry from the command line."""

from __future__ import annotations

import json

import click

from cevnsfit.cli import main


@main.group("data")
def data() -> None:
    """Curated COHERENT data files: verify, locate, download."""


@data.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--download", is_flag=True, help="Download files missing locally.")
def verify(as_json: bool, download: bool) -> None:
    """Check every registered file against its sha256 (one call to ``verify_all``)."""
    from cevnsfit.data import verify_all

    rows = verify_all(download=download)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        colour = {"ok": "green", "missing": "yellow", "corrupted": "bold red"}
        table = Table("status", "file", "source", "location")
        for column in table.columns:
            column.overflow = "fold"  # full paths, never truncated
        for r in rows:
            status = f"[{colour[r['status']]}]{r['status']}[/]"
            table.add_row(status, escape(r["path"]), r["source"], escape(r["location"] or "-"))
        console = Console()
        console.print(table)
        bad = [r for r in rows if r["status"] != "ok"]
        console.print(f"{len(rows) - len(bad)} ok, {len(bad)} missing or corrupted")
    if any(r["status"] != "ok" for r in rows):
        raise SystemExit(1)
