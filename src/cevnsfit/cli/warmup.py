"""``cevnsfit warmup``: prepare every cache of a first run in one go (one library call)."""

from __future__ import annotations

import click

from cevnsfit.cli import main


@main.command("warmup")
@click.option("--dataset", "datasets", multiple=True, help="Only this data set (repeatable); default: all.")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["paper", "full"]),
    help="Only this mode (repeatable); default: both.",
)
def warmup(datasets: tuple[str, ...], modes: tuple[str, ...]) -> None:
    """Compile the numba kernels, build the per-bin likelihood tables and assemble the XENONnT
    templates for every data set and mode (and the reproduction's analysis variants), with
    progress on stderr. Later runs read them from the caches (docs: performance, "First run")."""
    from rich.console import Console
    from rich.table import Table

    from cevnsfit.likelihoods.tables import cache_dir
    from cevnsfit.outputs.warmup import MODES, warmup

    records = warmup(datasets or None, modes or MODES)
    table = Table("data set", "mode", "options", "seconds", "tables built", "compiled", title="warm-up")
    for r in records:
        opts = ", ".join(f"{k}={v}" for k, v in r["options"].items())
        table.add_row(r["dataset"], r["mode"], opts, f"{r['seconds']:.2f}", str(r["tables_built"]), str(r["compiled"]))
    Console().print(table)
    total = sum(r["seconds"] for r in records)
    click.echo(f"{len(records)} likelihoods ready in {total:.1f} s; tables in {cache_dir()}")
