"""``cevnsfit data ...``: the data registry from the command line."""

from __future__ import annotations

import json

import click

from cevnsfit.cli import main


@main.group("data")
def data() -> None:
    """Curated COHERENT data files (docs/data.md): `verify` checks every file and, with
    --download, fetches the missing ones."""


@data.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--download", is_flag=True, help="Download files missing locally.")
def verify(as_json: bool, download: bool) -> None:
    """Check every registered file against its byte or content sha256 (``verify_all``, docs/data.md)."""
    from cevnsfit.data import verify_all

    rows = verify_all(download=download)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        colour = {"ok": "green", "missing": "yellow", "corrupted": "bold red"}
        table = Table("status", "check", "file", "source", "location")
        for column in table.columns:
            column.overflow = "fold"  # full paths, never truncated
        for r in rows:
            status = f"[{colour[r['status']]}]{r['status']}[/]"
            table.add_row(status, r["check"], escape(r["path"]), r["source"], escape(r["location"] or "-"))
        console = Console()
        console.print(table)
        bad = [r for r in rows if r["status"] != "ok"]
        console.print(f"{len(rows) - len(bad)} ok, {len(bad)} missing or corrupted")
        reasons: dict[str, list[dict]] = {}  # one line per distinct reason, files grouped
        for r in bad:
            reasons.setdefault(_generic(r["error"], r["path"]), []).append(r)
        err = Console(stderr=True)
        for reason, group in reasons.items():
            if len(group) == 1:
                err.print(f"[bold]{escape(group[0]['path'])}[/]: {escape(group[0]['error'])}", soft_wrap=True)
            else:
                err.print(
                    f"[bold]{escape(group[0]['path'])} and {len(group) - 1} more[/] (<file> stands for "
                    f"each): {escape(reason)}",
                    soft_wrap=True,
                )
    if any(r["status"] != "ok" for r in rows):
        raise SystemExit(1)


def _generic(error: str, path: str) -> str:
    """The reason of a failure with file-specific parts blanked, to group files by reason."""
    import re

    text = error.replace(path, "<file>").replace(path.rsplit("/", 1)[-1], "<file>")
    return re.sub(r"[0-9a-f]{64}", "<sha256>", text) if text.count("<file>") else text
