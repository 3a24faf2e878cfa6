"""``cevnsfit predict``, ``cevnsfit validate`` and ``cevnsfit g2``."""

from __future__ import annotations

import json
import sys

import click

from ..errors import CevnsfitError
from . import _validate, main
from ._model import fill_defaults, model_options, resolve
from ._spec import dataset_spec_option


def fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


class _Experiments(click.Choice):
    """The experiment names of :data:`cevnsfit.experiments.EXPERIMENTS`, read when first needed
    (importing the experiments takes seconds; ``cevnsfit --help`` should not)."""

    def __init__(self) -> None:
        super().__init__([], case_sensitive=True)

    @property
    def choices(self):
        from ..experiments import EXPERIMENTS

        return tuple(EXPERIMENTS)

    @choices.setter
    def choices(self, value) -> None:  # click's __init__ assigns it
        pass

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        self.fail(f"unknown experiment {value!r}; known: {', '.join(self.choices)}", param, ctx)


@main.command()
@click.argument("experiment", type=_Experiments(), required=False)
@dataset_spec_option
@click.option("--mode", type=click.Choice(["paper", "full"]), default="paper", show_default=True)
@model_options
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--plot", type=click.Path(dir_okay=False), help="write a figure (PDF or PNG)")
def predict(experiment, dataset_specs, mode, model_name, params, mzp, gx, r, paper_sign, as_json, plot):
    """Binned CEvNS prediction for EXPERIMENT, one of the names in the usage line above (every data
    set with an experiment of its own: ``cevnsfit datasets``), or for the data set of
    --dataset-spec FILE."""
    if experiment is None:
        if not dataset_specs:
            raise click.UsageError("give an EXPERIMENT name or --dataset-spec FILE")
        experiment = dataset_specs[0]
    from ..outputs.predictions import plot_prediction, prediction_summary

    _validate.plot_path(plot)
    try:
        from ..models import model_from_name

        name, values, opts = resolve(model_name, params, mzp, gx, r, paper_sign, default="sm")
        values = fill_defaults(name, values, ())  # declared defaults, announced on stderr
        model = None if name == "sm" else model_from_name(name, **values, **opts)
        summary = prediction_summary(experiment, mode, model)
        if plot:
            plot_prediction(experiment, plot, mode, model)
    except CevnsfitError as exc:
        fail(exc)
    _validate.warn_absurd_prediction(summary)
    if as_json:
        click.echo(json.dumps(summary))
        return
    axes = summary["bins"]["axes"]
    window = ", ".join(f"{ax['name']} {ax['edges'][0]:g}-{ax['edges'][-1]:g} {ax['unit']}".rstrip() for ax in axes)
    if "per_run" in summary:
        runs = ", ".join(f"{r} {v:.2f}" for r, v in summary["per_run"].items())
        click.echo(
            f"{summary['experiment']} ({summary['mode']}): {summary['total']:.2f} events in the selected runs "
            f"at nominal nuisances ({runs}); {window}"
        )
        click.echo("  per flux group, events per (t y) in the window:")
    else:
        click.echo(f"{summary['experiment']} ({summary['mode']}): {summary['total']:.2f} events in {window}")
        click.echo("  per flux group:")
    for g, v in summary["by_flavour"].items():
        click.echo(f"  {g:12s} {v:10.2f}")
    if "sm_total" in summary:
        click.echo(f"  SM total {summary['sm_total']:.2f}, ratio to SM {summary['ratio_to_sm']:.4f}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON rows")
def validate(as_json):
    """Compare predictions and fits with published numbers; exit 1 if any check fails."""
    from rich.console import Console
    from rich.table import Table

    from ..outputs.validation import run_checks

    rows = run_checks()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
    else:
        table = Table(title="cevnsfit validation")
        for col in ("quantity", "ours", "published", "tolerance", "pass"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["name"],
                f"{r['ours']:.4g}",
                f"{r['published']:.4g}",
                f"{100 * r['tolerance']:.0f} %",
                "yes" if r["pass"] else "NO",
            )
        Console().print(table)
    if not all(r["pass"] for r in rows):
        sys.exit(1)


@main.command()
@click.option("--mzp", type=float, required=True, help="M_Z' [MeV]")
@click.option("--preset", default="2021", show_default=True, help="discrepancy preset (2021, 2025)")
@click.option("--delta-amu", nargs=2, type=float, help="custom discrepancy: central sigma")
@click.option("--nsigma", type=float, default=2.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def g2(mzp, preset, delta_amu, nsigma, as_json):
    """g_x that explains the muon g-2 discrepancy at M_Z' (central value and band)."""
    from ..models.g2 import PRESETS, g2_band
    from ..models.lmu_ltau import LmuLtau
    from ..models.parameters import G_MAX, lookup

    if delta_amu and _validate.explicit("preset"):
        raise click.UsageError("--preset and --delta-amu exclude each other (--delta-amu replaces the preset)")
    try:
        lookup(LmuLtau.PARAMETERS, "mzp_mev").validate(mzp)  # the range `predict` accepts
        spec = tuple(delta_amu) if delta_amu else preset
        band = g2_band(mzp, spec, nsigma=nsigma)
    except CevnsfitError as exc:
        fail(exc)
    big = {k: float(v) for k, v in band.items() if float(v) == float(v) and abs(float(v)) > G_MAX}
    if big:
        click.echo(
            "warning: "
            + ", ".join(f"{k} = {v:.4g}" for k, v in big.items())
            + f" lies above the perturbative limit 4 pi = {G_MAX:.4g} that `cevnsfit predict` refuses: no "
            "perturbative L_mu - L_tau coupling explains the discrepancy at this mass",
            err=True,
        )

    def finite_or_none(v):
        v = float(v)
        return v if v == v else None  # JSON has no NaN: null, explained in "note"

    out = {
        "mzp_mev": mzp,
        "preset": None if delta_amu else preset,
        "delta_amu": list(delta_amu) if delta_amu else [PRESETS[preset].central, PRESETS[preset].sigma],
        "nsigma": nsigma,
        "gx_central": finite_or_none(band["gx_central"]),
        "gx_low": finite_or_none(band["gx_low"]),
        "gx_high": finite_or_none(band["gx_high"]),
    }
    if out["gx_central"] is None or out["gx_high"] is None:
        out["note"] = "no real g_x gives Delta a_mu <= 0 (Delta a_mu = g_x^2 f(M_Z') with f > 0): " + (
            "gx_central and gx_high are null, the discrepancy does not favour any g_x"
            if out["gx_high"] is None
            else f"gx_central is null; the {nsigma:g}-sigma band [0, gx_high] is an upper bound on g_x"
        )
    if not delta_amu:
        out["source"] = PRESETS[preset].source
    if as_json:
        click.echo(json.dumps(out))
    else:

        def fmt(v):
            return "none" if v is None else f"{v:.4g}"

        click.echo(
            f"M_Z' = {mzp} MeV: g_x central {fmt(out['gx_central'])}, "
            f"{nsigma:g}-sigma band [{fmt(out['gx_low'])}, {fmt(out['gx_high'])}]"
        )
        if "note" in out:
            click.echo(f"note: {out['note']}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print the catalogue as JSON")
def models(as_json):
    """The model catalogue: every model, its structures and declared parameters."""
    from ..models import catalogue

    cat = catalogue()
    if as_json:
        click.echo(json.dumps(cat))
        return
    for m in cat:
        click.echo(f"{m['name']}  [{', '.join(m['structures'])}]  {m['description']}")
        for p in m["parameters"]:
            unit = f" {p['unit']}" if p["unit"] else ""
            lo = "(" if p["low_open"] else "["
            click.echo(
                f"    {p['name']:<14} default {p['default']:<8g} allowed {lo}{p['low']:g}, {p['high']:g}]{unit}; "
                f"prior {p['prior']} [{p['prior_low']:g}, {p['prior_high']:g}]  {p['description']}"
            )
        for o in m["options"]:
            click.echo(f"    option {o}")
