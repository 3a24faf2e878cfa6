"""``cevnsfit reproduce``, ``cevnsfit posterior`` and ``cevnsfit toys``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import CevnsfitError
from . import _validate, main
from ._model import check_poi, fill_defaults, model_options, poi_option, refuse_poi_values, resolve
from .physics import fail


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="output directory")
@click.option("--quick", is_flag=True, help="coarse settings (about 1.5 minutes instead of about 15)")
@click.option("--mode", type=click.Choice(["paper", "full"]), default="paper", show_default=True)
@click.option(
    "--scheduler", default=None, help="Dask scheduler address (tcp://host:port); default: an embedded local cluster"
)
@click.option("--sampler", type=click.Choice(["ultranest", "dynesty"]), default="ultranest", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--bound",
    "bounds",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="extra limit curve (DarkCast .lmt format: mass [GeV], g_x); repeatable",
)
@click.option("--resume", is_flag=True, help="OUT is not empty: reuse its finished steps (same settings only)")
@click.option("--overwrite", is_flag=True, help="OUT is not empty: delete the previous results first")
def reproduce(out_dir, quick, mode, scheduler, sampler, seed, bounds, resume, overwrite):
    """Reproduce every figure and table of arXiv:2103.10196 into OUT, with the extensions: the full
    CsI 2021 data, calibrated statistics, new physics from the same data and XENONnT solar 8B."""
    from ..outputs.reproduce import reproduce as run

    bounds = _validate.bound_files(bounds)
    scheduler = _validate.scheduler_address(scheduler)
    _validate.reproduce_out_dir(
        out_dir, overwrite, resume, {"quick": quick, "mode": mode, "sampler": sampler, "seed": seed}
    )
    try:
        res = run(out_dir, quick=quick, mode=mode, scheduler=scheduler, sampler=sampler, seed=seed, extra_bounds=bounds)
    except CevnsfitError as exc:
        fail(exc)
    failed = [r["name"] for r in res["validation"] if not r["pass"]]
    written = "report.md, report.html, results.json, figures/" + (
        " and hepdata/" if (Path(out_dir) / "hepdata" / "submission.yaml").is_file() else ""
    )
    click.echo(f"wrote {out_dir}/{written} in {res['runtime_s']:.0f} s")
    if failed:
        click.echo(f"validation rows failing: {failed}", err=True)


@main.command()
@click.option("--datasets", default="csi2017,cenns10", show_default=True)
@model_options
@poi_option
@click.option("--mode", type=click.Choice(["paper", "full"]), default="paper", show_default=True)
@click.option("--sampler", type=click.Choice(["ultranest", "dynesty", "grid"]), default="ultranest", show_default=True)
@click.option("--live-points", type=click.IntRange(min=10), default=400, show_default=True, help="nested samplers only")
@click.option("--seed", type=int, default=1, show_default=True, help="nested samplers only")
@click.option("--json", "as_json", is_flag=True)
def posterior(datasets, model_name, params, mzp, gx, r, paper_sign, poi, mode, sampler, live_points, seed, as_json):
    """Posterior of one or two parameters of interest (default: g_x of lmu-ltau at fixed M_Z', r).
    1D: MLE, the 68.3 % HPD set from the density on a grid (a union of intervals where the
    posterior is multimodal) beside the equal-tailed interval, as in the report's Table II, and
    the sampler's own shortest and equal-tailed intervals; 2D: HPD regions."""
    from .inference import build_problem

    datasets = _validate.datasets_option(datasets)
    given = _validate.explicit("live_points", "seed")
    if sampler == "grid" and given:
        raise click.UsageError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to the nested samplers "
            "(--sampler ultranest or dynesty), not to --sampler grid"
        )
    _validate.sampler_extra(sampler)
    try:
        problem = build_problem(datasets, mode, model_name, params, mzp, gx, r, paper_sign, poi)
        out = _posterior_summary(problem, sampler, seed, live_points)
    except CevnsfitError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(out, default=str))
    elif "hpd_68" in out:
        click.echo(_posterior_line(out))
    else:
        click.echo(
            f"{out['model']}: 2D HPD regions, 68 %: {len(out['region_68'])} ring(s), "
            f"95 %: {len(out['region_95'])} ring(s)"
        )


def _posterior_summary(problem, sampler, seed, live_points) -> dict:
    """The posterior's numbers as the report gives them (outputs.reproduce: Table II): for one
    POI the HPD set and equal-tailed interval of the density on a grid, the sampler's own
    shortest and equal-tailed intervals beside them."""
    from ..inference.sampling import credible_grid
    from ..inference.sampling import posterior as run_posterior

    res = run_posterior(problem, sampler=sampler, seed=seed, min_num_live_points=live_points)
    drop = ("samples", "weights", "grid", "density", "logl", "hpd_68_internal", "equal_tailed_68_internal")
    out = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in res.items() if k not in drop}
    if len(problem.poi) != 1:
        return out
    par = problem.poi_parameters[0]
    dens = credible_grid(problem, check=False)

    def val(v):
        return float(par.from_internal(v))

    sampled = {"hpd_68": out.pop("hpd_68"), "equal_tailed_68": out.pop("equal_tailed_68")}
    out.update(
        hpd_68=[[val(a), val(b)] for a, b in dens["hpd_68"]],
        equal_tailed_68=[val(v) for v in dens["equal_tailed_68"]],
        intervals_from="posterior density on a grid of 2001 points (as the report's Table II)",
    )
    if sampler != "grid":
        out[f"{sampler}_shortest_68"] = sampled["hpd_68"]
        out[f"{sampler}_equal_tailed_68"] = sampled["equal_tailed_68"]
    if problem.model_name == "lmu-ltau" and problem.poi == ("gx",):  # the report's Table II keys
        out.update(
            gx_mle=out["mle"]["gx"],
            gx_68=sampled["hpd_68"],  # the shortest interval of the sampler's (or grid's) points
            gx_68_hpd_density=out["hpd_68"],
            gx_68_equal_tailed=out["equal_tailed_68"],
        )
    return out


def _posterior_line(out: dict) -> str:
    def iv(v):
        return f"[{v[0]:.4g}, {v[1]:.4g}]"

    mle = ", ".join(f"{k} = {v:.4g}" for k, v in out["mle"].items())
    text = (
        f"{out['model']}: MLE {mle}; 68.3 % HPD {' u '.join(iv(s) for s in out['hpd_68'])}, "
        f"equal-tailed {iv(out['equal_tailed_68'])} (posterior density on a grid, as in the report)"
    )
    s = out.get("sampler")
    if s != "grid" and f"{s}_shortest_68" in out:
        text += f"; {s}: shortest {iv(out[f'{s}_shortest_68'])}, equal-tailed {iv(out[f'{s}_equal_tailed_68'])}"
    return text


@main.command()
@click.option("--datasets", default="csi2017,cenns10", show_default=True)
@model_options
@poi_option(at_most=1)
@click.option(
    "--n-toys",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="pseudo-data sets (a p-value needs >= 100, and >= 10 beyond t_obs: warned otherwise)",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--scheduler", default=None, help="Dask scheduler address; default: embedded local cluster")
@click.option("--json", "as_json", is_flag=True)
def toys(datasets, model_name, params, mzp, gx, r, paper_sign, poi, n_toys, seed, scheduler, as_json):
    """Toy-MC calibration of the significance of the MLE of one POI over the null (vs Wilks);
    default: g_x of lmu-ltau at fixed M_Z', r. Paper-mode likelihoods only (their terms draw
    pseudo-data); a projection (Asimov data) has nothing to fluctuate and is refused."""
    from ..inference.problem import ProblemSpec
    from ..inference.toys import toys as run_toys
    from ..likelihoods import _parse

    datasets = _validate.datasets_option(datasets)
    scheduler = _validate.scheduler_address(scheduler)
    _validate.large_toys(n_toys, "--n-toys")
    try:
        name, values, opts = resolve(model_name, params, mzp, gx, r, paper_sign, default="lmu-ltau")
        explicit = bool(poi)
        if not poi:
            if name != "lmu-ltau":
                raise click.UsageError(f"give --poi for model {name!r}")
            poi = ("gx",)
            values.setdefault("r", 1.0)
        poi = check_poi(poi, name, at_most=1)
        refuse_poi_values(values, poi, mzp, gx, r, explicit)
        fixed = fill_defaults(name, {k: v for k, v in values.items() if k not in poi}, poi)
        spec = ProblemSpec(tuple(_parse(datasets)), "paper", {}, name, poi, fixed, (), opts)
        res = run_toys(spec, n_toys=n_toys, seed=seed, scheduler=scheduler, progress=True)
    except CevnsfitError as exc:
        fail(exc)
    mzp = fixed.get("mzp_mev")
    r = fixed.get("r")
    keys = ("t_obs", "p_toys", "z_toys", "p_wilks", "z_wilks", "p_wilks_half")
    out = {k: (float(res[k]) if k in res and res[k] is not None else None) for k in keys}
    out.update(n_toys=n_toys, seed=seed, mzp_mev=mzp, r=r, datasets=datasets, model=name, poi=list(poi), fixed=fixed)
    out["toy_count_note"] = res.get("toy_count_note")
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(
            f"t_obs = {out['t_obs']:.3f}: toys p = {out['p_toys']:.4g} (Z = {out['z_toys']:.2f}), "
            f"Wilks p = {out['p_wilks']:.4g} (Z = {out['z_wilks']:.2f})"
        )
