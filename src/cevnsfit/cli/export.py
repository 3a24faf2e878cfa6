"""``cevnsfit export pyhf``: a full-mode data set as a pyhf workspace (one library call)."""

from __future__ import annotations

import click

from cevnsfit.cli import main

from ._model import model_options, resolve


@main.group("export")
def export() -> None:
    """Write likelihoods in the field's formats."""


@export.command("pyhf")
@click.option("--dataset", required=True, help="a full-mode data set (cenns10, csi2021)")
@click.option("--mode", type=click.Choice(["paper", "full"]), default="full", show_default=True)
@model_options
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="workspace JSON file to write")
def export_pyhf_command(dataset, mode, model_name, params, mzp, gx, r, paper_sign, out) -> None:
    """Write DATASET at one model point (default: the SM) as a pyhf workspace to OUT, and its
    metadata (the best-fit twice_nll pyhf should find, the fitted nuisances, the interpolation
    codes) to OUT's stem + ``.metadata.json`` (docs: interop)."""
    from cevnsfit.outputs.pyhf_export import export_pyhf, write_pyhf

    name, values, opts = resolve(model_name, params, mzp, gx, r, paper_sign, default="sm")
    model = None
    if name != "sm":
        from cevnsfit.models import model_from_name

        model = model_from_name(name, **values, **opts)
    elif values:
        from cevnsfit.errors import ParameterError

        raise ParameterError(f"--param {', '.join(sorted(values))} given without --model")
    res = export_pyhf(dataset, model, mode=mode)
    res["metadata"]["model"] = name
    res["metadata"]["params"] = {k: float(v) for k, v in sorted(values.items())}
    ws_path, meta_path = write_pyhf(res, out)
    meta = res["metadata"]
    click.echo(
        f"wrote {ws_path} and {meta_path}: {dataset} at {name} "
        f"({', '.join(f'{k}={v:g}' for k, v in sorted(values.items())) or 'SM'}); "
        f"expected pyhf twice_nll {meta['twice_nll_pyhf_expected']:.6f} "
        f"(cevnsfit -2 ln L {meta['twice_nll_cevnsfit']:.6f} + offset {meta['offset']:.6f})"
    )
    for note in meta["inexact_modifiers"]:
        click.echo(f"note: {note}", err=True)
