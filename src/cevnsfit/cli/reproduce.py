"""``cevnsfit reproduce``, ``cevnsfit posterior`` and ``cevnsfit toys``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import CevnsfitError
from . import _validate, main
from ._model import check_poi, model_options, poi_option, resolve
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
@click.option("--live-points", type=int, default=400, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def posterior(datasets, model_name, params, mzp, gx, r, paper_sign, poi, mode, sampler, live_points, seed, as_json):
    """Posterior of one or two parameters of interest (default: g_x of lmu-ltau at fixed M_Z', r):
    MLE, 68.3 % HPD and equal-tailed intervals, or 2D HPD regions."""
    from ..inference.sampling import posterior_1d, posterior_1d_grid
    from ..likelihoods import likelihood

    datasets = _validate.datasets_option(datasets)
    if model_name not in (None, "lmu-ltau") or poi or params or paper_sign:
        from ..inference.sampling import posterior as run_posterior
        from .inference import build_problem

        try:
            problem = build_problem(datasets, mode, model_name, params, mzp, gx, r, paper_sign, poi)
            res = run_posterior(problem, sampler=sampler, seed=seed, min_num_live_points=live_points)
        except CevnsfitError as exc:
            fail(exc)
        drop = ("samples", "weights", "grid", "density", "logl")
        out = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in res.items() if k not in drop}
        if as_json:
            click.echo(json.dumps(out, default=str))
        elif "hpd_68" in out:
            click.echo(
                f"{out['model']}: MLE {out['mle']}, 68.3 % HPD {out['hpd_68']}, equal-tailed {out['equal_tailed_68']}"
            )
        else:
            click.echo(
                f"{out['model']}: 2D HPD regions, 68 %: {len(out['region_68'])} ring(s), "
                f"95 %: {len(out['region_95'])} ring(s)"
            )
        return
    if mzp is None:
        fail(click.UsageError("give --mzp (M_Z' in MeV) for the lmu-ltau posterior of g_x"))
    r = 1.0 if r is None else r
    try:
        like = likelihood(datasets, mode=mode)
        res = (
            posterior_1d_grid(like, mzp, r)
            if sampler == "grid"
            else posterior_1d(like, mzp, r, sampler=sampler, seed=seed, min_num_live_points=live_points)
        )
    except CevnsfitError as exc:
        fail(exc)
    keys = ("mzp_mev", "r", "gx_mle", "gx_68", "log_evidence", "sampler", "seed")
    out = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in res.items() if k in keys}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"g_x MLE {out['gx_mle']:.4g}, 68.3 % HPD [{out['gx_68'][0]:.4g}, {out['gx_68'][1]:.4g}]")


@main.command()
@click.option("--datasets", default="csi2017,cenns10", show_default=True)
@model_options
@poi_option
@click.option("--n-toys", type=int, default=200, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--scheduler", default=None, help="Dask scheduler address; default: embedded local cluster")
@click.option("--json", "as_json", is_flag=True)
def toys(datasets, model_name, params, mzp, gx, r, paper_sign, poi, n_toys, seed, scheduler, as_json):
    """Toy-MC calibration of the significance of the MLE of one POI over the null (vs Wilks);
    default: g_x of lmu-ltau at fixed M_Z', r."""
    from ..inference.problem import ProblemSpec
    from ..inference.toys import toys as run_toys
    from ..likelihoods import _parse

    datasets = _validate.datasets_option(datasets)
    scheduler = _validate.scheduler_address(scheduler)
    try:
        name, values, opts = resolve(model_name, params, mzp, gx, r, paper_sign, default="lmu-ltau")
        if not poi:
            if name != "lmu-ltau":
                raise click.UsageError(f"give --poi for model {name!r}")
            poi = ("gx",)
            values.setdefault("r", 1.0)
        poi = check_poi(poi, name, at_most=1)
        fixed = {k: v for k, v in values.items() if k not in poi}
        spec = ProblemSpec(tuple(_parse(datasets)), "paper", {}, name, poi, fixed, (), opts)
        res = run_toys(spec, n_toys=n_toys, seed=seed, scheduler=scheduler, progress=True)
    except CevnsfitError as exc:
        fail(exc)
    mzp = fixed.get("mzp_mev")
    r = fixed.get("r")
    keys = ("t_obs", "p_toys", "z_toys", "p_wilks", "z_wilks", "p_wilks_half")
    out = {k: (float(res[k]) if k in res and res[k] is not None else None) for k in keys}
    out.update(n_toys=n_toys, seed=seed, mzp_mev=mzp, r=r, datasets=datasets, model=name, poi=list(poi), fixed=fixed)
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(
            f"t_obs = {out['t_obs']:.3f}: toys p = {out['p_toys']:.4g} (Z = {out['z_toys']:.2f}), "
            f"Wilks p = {out['p_wilks']:.4g} (Z = {out['z_wilks']:.2f})"
        )
