"""``cevnsfit crosscheck-argon``: the CENNS-10 template fit beside COHERENT's (one library call)."""

from __future__ import annotations

import json

import click

from cevnsfit.cli import main


@main.command("crosscheck-argon")
@click.option("--json", "as_json", is_flag=True, help="Print the result dict as JSON.")
@click.option("--shape-systematics", is_flag=True, help="Also fit with the release's shape nuisances.")
@click.option("--mode", type=click.Choice(["paper", "full"]), default="paper", show_default=True)
@click.option(
    "--cevns-template",
    type=click.Choice(["release", "computed"]),
    default="release",
    show_default=True,
    help="CEvNS shape: the release's template or our SM prediction.",
)
def crosscheck_argon(as_json: bool, shape_systematics: bool, mode: str, cevns_template: str) -> None:
    """Fit CENNS-10 Analysis A with one normalisation per component (``argon_crosscheck``)."""
    from cevnsfit.datasets.cenns10.crosscheck import argon_crosscheck
    from cevnsfit.datasets.cenns10.templates import COMPONENTS

    res = argon_crosscheck(mode=mode, shape_systematics=shape_systematics, cevns_template=cevns_template)
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return

    from rich.console import Console
    from rich.table import Table

    syst = res.get("systematics")
    columns = ["component", "ours (best ± error)"] + (["ours + shape syst."] if syst else [])
    table = Table(*columns, "COHERENT", "ratio", title="CENNS-10 argon cross-check")
    for k in COMPONENTS:
        best, err = res[k]
        pub, pub_err = res["published"][k]
        row = [k, f"{best:.1f} ± {err:.1f}"]
        if syst:
            row.append(f"{syst[k][0]:.1f} ± {syst[k][1]:.1f}")
        table.add_row(*row, f"{pub:g} ± {pub_err:g}", f"{best / pub:.3f}")
    console = Console()
    console.print(table)
    lo, hi = res["cevns_minos"]
    console.print(
        f"CEvNS MINOS: {lo:+.1f} / {hi:+.1f}; significance (Wilks, 1 dof) "
        f"{res['significance_cevns']:.2f} sigma; valid: {res['valid']}"
    )
    if syst:
        pulls = Table("shape nuisance", "pull ± error", title="Shape-systematic pulls")
        for name, (a, e) in syst["pulls"].items():
            pulls.add_row(name, f"{a:+.2f} ± {e:.2f}")
        console.print(pulls)
        lo, hi = syst["cevns_minos"]
        console.print(
            f"with shape systematics: CEvNS MINOS {lo:+.1f} / {hi:+.1f}; significance "
            f"{syst['significance_cevns']:.2f} sigma; valid: {syst['valid']}"
        )
