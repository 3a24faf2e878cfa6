"""``cevnsfit fit``, ``cevnsfit chi2`` and ``cevnsfit exclusion``."""

from __future__ import annotations

import json

import click

from ..errors import CevnsfitError
from . import _validate, main
from ._model import check_poi, fill_defaults, model_options, poi_option, refuse_poi_values, resolve, warn_absurd
from ._spec import dataset_spec_option, with_specs, with_specs_sets
from .physics import fail


def _dump(obj) -> str:
    return json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def build_problem(datasets, mode, model_name, params, mzp, gx, r, paper_sign, poi, n_poi=(1, 2)):
    """A :class:`~cevnsfit.inference.problem.Problem` from the CLI words. The reference analysis's
    defaults: model lmu-ltau, POI gx (two POIs: mzp_mev, gx), r = 1."""
    from ..inference.problem import Problem
    from ..likelihoods import likelihood

    name, values, opts = resolve(model_name, params, mzp, gx, r, paper_sign, default="lmu-ltau")
    explicit = bool(poi)
    if not poi:
        if name != "lmu-ltau":
            raise click.UsageError(f"give --poi for model {name!r} (see `cevnsfit models`)")
        poi = ("mzp_mev", "gx") if n_poi[0] == 2 else ("gx",)
    poi = check_poi(poi, name, at_most=n_poi[1], at_least=n_poi[0])
    refuse_poi_values(values, poi, mzp, gx, r, explicit)
    if name == "lmu-ltau":
        values.setdefault("r", 1.0)
    fixed = fill_defaults(name, {k: v for k, v in values.items() if k not in poi}, poi)
    like = likelihood(datasets, mode=mode)
    return Problem(like, name, poi, fixed=fixed, options=opts)


@main.command()
@click.option("--datasets", default="csi2017,cenns10", show_default=True, help="comma-separated dataset names")
@dataset_spec_option
@model_options
@poi_option
@click.option("--mode", type=click.Choice(["paper", "full"]), default="paper", show_default=True)
@click.option(
    "--dof",
    type=click.IntRange(min=1),
    default=None,
    help="Wilks degrees of freedom of the significance (default: the number of POIs, 1 for the g_x fit; "
    "the reference analysis's eta, Eq. 28)",
)
@click.option("--json", "as_json", is_flag=True)
def fit(datasets, dataset_specs, model_name, params, mzp, gx, r, paper_sign, poi, mode, dof, as_json):
    """MLE of the parameters of interest (default: g_x of lmu-ltau at fixed M_Z', r); Wilks
    significance against the null (every POI at its declared default, e.g. the SM). A POI the
    data do not constrain (profile flat across its prior range) is reported as unconstrained."""
    from ..inference.checks import UNCONSTRAINED_DELTA
    from ..inference.fits import fit as run_fit

    datasets = _validate.datasets_option(with_specs(datasets, dataset_specs))

    try:
        problem = build_problem(datasets, mode, model_name, params, mzp, gx, r, paper_sign, poi)
        res = run_fit(problem, dof=dof)
    except CevnsfitError as exc:
        fail(exc)
    if problem.model_name == "lmu-ltau" and problem.poi == ("gx",):
        res["gx_mle"] = res["mle"]["gx"]
    if as_json:
        click.echo(_dump(res))
    else:
        mle = ", ".join(f"{k} = {v:.4g}" for k, v in res["mle"].items() if v is not None)
        fixed = ", ".join(f"{k} = {v:g}" for k, v in res["fixed"].items())
        head = f"{'+'.join(res['datasets'])} ({mode}), {res['model']} [{fixed}]: "
        if res["unconstrained"]:
            free = ", ".join(
                f"{k} (Delta(-2 ln L) = {res['profile_delta'][k]:.3g} across its prior range)"
                for k in res["unconstrained"]
            )
            click.echo(
                f"{head}unconstrained: {free}, below {UNCONSTRAINED_DELTA:g}: the data cannot estimate "
                f"{'it' if len(res['unconstrained']) == 1 else 'them'}; no MLE"
                + (f" of it (other POIs: {mle})" if mle else "")
                + f" and no significance (t = {res['t']:.3f})"
            )
        else:
            click.echo(
                f"{head}MLE {mle}, t = {res['t']:.3f}, p = {res['p']:.4g}, "
                f"Z = {res['z_sigma']:.2f} sigma (Wilks, {res['dof']} dof)"
            )


@main.command()
@click.option("--mzp", type=float, required=True, help="M_Z' [MeV]")
@click.option("--r", type=float, default=1.0, show_default=True)
@click.option(
    "--normalisation",
    type=click.Choice(["published", "computed"]),
    default="published",
    show_default=True,
    help="argon prediction: 128 x N_Ar(theta)/N_Ar(SM), or our N_Ar(theta)",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--plot", type=click.Path(dir_okay=False))
def chi2(mzp, r, normalisation, as_json, plot):
    """Chi-square of the CsI 2020 and argon totals against g_x, with every local minimum."""
    from ..inference.fits import chi2_totals
    from ..outputs.figures import plot_chi2

    _validate.plot_path(plot)
    warn_absurd("lmu-ltau", {"mzp_mev": mzp, "r": r})
    try:
        res = chi2_totals(mzp, r, normalisation)
        if plot:
            plot_chi2([res], plot)
    except CevnsfitError as exc:
        fail(exc)
    if as_json:
        click.echo(_dump({k: res[k] for k in ("mzp_mev", "r", "normalisation", "minima", "chi2_sm", "global_minimum")}))
    else:
        click.echo(f"chi2_SM = {res['chi2_sm']:.4f}")
        for mn in res["minima"]:
            click.echo(f"  minimum at g_x = {mn['gx']:.4g}: chi2 = {mn['chi2']:.4f}")


@main.command()
@click.option(
    "--datasets",
    "dataset_sets",
    multiple=True,
    default=("csi2017,cenns10",),
    show_default=True,
    help="a dataset combination; repeat for several curves",
)
@dataset_spec_option
@click.option("--mode", type=click.Choice(["paper", "full"]), default="paper", show_default=True)
@model_options
@poi_option
@click.option(
    "--n-mzp", type=click.IntRange(min=2), default=101, show_default=True, help="grid points on the first POI axis"
)
@click.option(
    "--n-gx", type=click.IntRange(min=2), default=121, show_default=True, help="grid points on the second POI axis"
)
@click.option("--dof", type=click.IntRange(min=1), default=2, show_default=True, help="Wilks degrees of freedom (>= 1)")
@click.option(
    "--checkpoint",
    type=click.Path(file_okay=False),
    help="run the grid as chunked Dask tasks, checkpointed in this directory (resumable)",
)
@click.option("--scheduler", default=None, help="with --checkpoint: Dask scheduler address (default: embedded cluster)")
@click.option(
    "--method",
    type=click.Choice(["wilks", "neyman"]),
    default="wilks",
    show_default=True,
    help="wilks: chi2 threshold; neyman: toy-calibrated critical values (Feldman-Cousins ordering)",
)
@click.option(
    "--n-toys",
    type=click.IntRange(min=2),
    default=50,
    show_default=True,
    help="with --method neyman: pseudo-data sets per construction point",
)
@click.option(
    "--construction-grid",
    default="13,16",
    show_default=True,
    help="with --method neyman: points per POI axis of the toy construction (t_c interpolated in between)",
)
@click.option("--seed", type=int, default=1, show_default=True, help="with --method neyman: toy seed")
@click.option(
    "--overwrite", is_flag=True, help="with --checkpoint: discard a checkpoint of another grid or version there"
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--plot", type=click.Path(dir_okay=False))
def exclusion(
    dataset_sets,
    dataset_specs,
    mode,
    model_name,
    params,
    mzp,
    gx,
    r,
    paper_sign,
    poi,
    n_mzp,
    n_gx,
    dof,
    checkpoint,
    scheduler,
    method,
    n_toys,
    construction_grid,
    seed,
    overwrite,
    as_json,
    plot,
):
    """2-sigma exclusion maps in two parameters of interest (default: log10 M_Z', log10 g_x of
    lmu-ltau at r = 1) for dataset combinations. ``--method neyman`` calibrates the critical
    value with toys at every point of a coarse construction grid (Dask tasks: embedded cluster,
    or --scheduler ADDRESS; resumable with --checkpoint DIR)."""
    # the model-selection words, passed on as one bundle (cli._model)
    sel = dict(model_name=model_name, params=params, mzp=mzp, gx=gx, r=r, paper_sign=paper_sign, poi=poi)
    dataset_sets = with_specs_sets(dataset_sets, dataset_specs)
    _check_exclusion_options(method, overwrite, checkpoint, n_mzp * n_gx * len(dataset_sets))
    if method == "neyman":
        _neyman_exclusion_cli(
            dataset_sets,
            mode,
            sel,
            n_mzp,
            n_gx,
            checkpoint,
            scheduler,
            n_toys,
            construction_grid,
            seed,
            as_json,
            plot,
            overwrite,
        )
        return
    dataset_sets = tuple(_validate.datasets_option(ds) for ds in dataset_sets)
    _validate.plot_path(plot)
    if model_name not in (None, "lmu-ltau") or poi or params or paper_sign or mzp is not None or gx is not None:
        if scheduler is not None and not checkpoint:
            raise click.UsageError("--scheduler needs --checkpoint DIR: the distributed scan writes its chunks there")
        _generic_exclusion(
            dataset_sets,
            mode,
            sel,
            n_mzp,
            n_gx,
            dof,
            as_json,
            plot,
            checkpoint,
            _validate.scheduler_address(scheduler),
            overwrite,
        )
        return
    _reference_exclusion(dataset_sets, mode, r, n_mzp, n_gx, dof, checkpoint, scheduler, overwrite, as_json, plot)


def _check_exclusion_options(method, overwrite, checkpoint, n_points) -> None:
    """``exclusion``'s option checks: no option of the other method, --overwrite with --checkpoint."""
    only = {"neyman": ("n_toys", "construction_grid", "seed"), "wilks": ("dof",)}
    for other, names in only.items():
        given = _validate.explicit(*names)
        if method != other and given:
            raise click.UsageError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --method {other} only "
                f"(this run: --method {method}); drop {'it' if len(given) == 1 else 'them'}"
            )
    if overwrite and not checkpoint:
        raise click.UsageError("--overwrite applies to --checkpoint DIR only (there is nothing to overwrite)")
    _validate.large_grid(n_points, "--n-mzp x --n-gx over the dataset combinations")


def _reference_exclusion(dataset_sets, mode, r, n_mzp, n_gx, dof, checkpoint, scheduler, overwrite, as_json, plot):
    """``exclusion`` of the reference analysis (lmu-ltau in log10 M_Z', log10 g_x at fixed r)."""
    from pathlib import Path

    import numpy as np

    from ..inference.exclusion import LOG10_GX_RANGE, LOG10_MZP_RANGE, exclusion_map
    from ..inference.scan import LoglikeEvaluator, check_checkpoint, grid_scan
    from ..outputs.figures import plot_exclusions

    r = 1.0 if r is None else r
    warn_absurd("lmu-ltau", {"r": r})
    if scheduler is not None and not checkpoint:
        raise click.UsageError(
            "--scheduler needs --checkpoint DIR: the distributed scan writes its chunks there "
            "(without --checkpoint the map is computed in this process)"
        )
    scheduler = _validate.scheduler_address(scheduler)

    axes = {"log10_mzp": np.linspace(*LOG10_MZP_RANGE, n_mzp), "log10_gx": np.linspace(*LOG10_GX_RANGE, n_gx)}
    scans = {ds: (LoglikeEvaluator(ds, mode=mode, r=r), Path(checkpoint or ".") / f"{ds.replace(',', '+')}_{mode}_r{r:g}")
             for ds in dataset_sets}  # fmt: skip
    if checkpoint:  # every folder checked before any work
        for ev, folder in scans.values():
            check_checkpoint(ev, axes, folder, overwrite=overwrite, hint="pass --overwrite")

    def grid(ds):
        if not checkpoint:
            return None
        ev, folder = scans[ds]
        values = grid_scan(
            ev, axes, folder, scheduler=scheduler, progress=True, overwrite=overwrite, hint="pass --overwrite"
        )
        return np.asarray(values).reshape(n_mzp, n_gx)

    try:
        maps = {
            ds: exclusion_map(
                ds, mode=mode, r=r, n_mzp=n_mzp, n_gx=n_gx, dof=dof, logl_grid=grid(ds), progress=not checkpoint
            )
            for ds in dataset_sets
        }
        if plot:
            plot_exclusions(maps, plot)
    except CevnsfitError as exc:
        fail(exc)
    _emit_maps(maps, as_json, lambda ds, m: ds)


def _neyman_exclusion_cli(
    dataset_sets,
    mode,
    sel: dict,
    n1,
    n2,
    checkpoint,
    scheduler,
    n_toys,
    construction_grid,
    seed,
    as_json,
    plot,
    overwrite=False,
):
    from pathlib import Path

    grid = _construction_grid(construction_grid)
    dataset_sets = tuple(_validate.datasets_option(ds) for ds in dataset_sets)
    _validate.plot_path(plot)
    _validate.large_toys(n_toys * grid[0] * grid[1] * len(dataset_sets), "the Neyman construction (toy fits)")
    scheduler = _validate.scheduler_address(scheduler) if scheduler else None
    try:
        maps = {}
        for ds in dataset_sets:
            out_dir = None if not checkpoint else Path(checkpoint) / f"neyman_{ds.replace(',', '+')}_{mode}"
            maps[ds] = _neyman_one(ds, mode, sel, grid, n_toys, seed, scheduler, out_dir, (n1, n2), overwrite)
        if plot:
            from ..outputs.figures import plot_exclusion_generic

            plot_exclusion_generic(maps, plot)
    except CevnsfitError as exc:
        fail(exc)
    _echo_neyman_maps(maps, as_json)


def _construction_grid(construction_grid) -> tuple:
    """``--construction-grid`` parsed: two integers >= 2."""
    try:
        grid = tuple(int(v) for v in construction_grid.replace("x", ",").split(","))
    except ValueError:
        raise click.BadParameter(
            f"expected two integers such as 13,16; got {construction_grid!r}", param_hint="--construction-grid"
        ) from None
    if len(grid) != 2 or min(grid) < 2:
        raise click.BadParameter(
            f"expected two integers >= 2, got {construction_grid!r}", param_hint="--construction-grid"
        )
    return grid


def _neyman_one(ds, mode, sel, grid, n_toys, seed, scheduler, out_dir, fine_n, overwrite) -> dict:
    """One data-set combination's Neyman exclusion (``_neyman_exclusion_cli``), under its folder's lock."""
    import contextlib

    from ..errors import ScanMismatchError
    from ..inference.neyman import neyman_exclusion
    from ..inference.problem import ProblemSpec
    from ..inference.scan import folder_lock

    problem = build_problem(ds, mode, **sel, n_poi=(2, 2))
    spec = ProblemSpec(
        tuple(problem.like.names),
        mode,
        {},
        problem.model_name,
        problem.poi,
        problem.fixed,
        problem.profile,
        problem.options,
    )
    # one writer per folder (a lock file), and the construction's messages name CLI flags
    with folder_lock(out_dir, "use another --checkpoint") if out_dir else contextlib.nullcontext():
        try:
            return neyman_exclusion(
                spec,
                n=grid,
                n_toys=n_toys,
                seed=seed,
                scheduler=scheduler,
                out_dir=out_dir,
                progress=True,
                fine_n=fine_n,
                overwrite=overwrite,
            )
        except ScanMismatchError as exc:
            raise ScanMismatchError(
                str(exc).replace("pass overwrite=True", "pass --overwrite").replace("overwrite=True", "--overwrite")
            ) from None


def _echo_neyman_maps(maps, as_json) -> None:
    """``_neyman_exclusion_cli``'s output: JSON, or one line per data-set combination."""
    if as_json:
        click.echo(_dump(maps))
    else:
        for ds, m in maps.items():
            c = m["construction"]
            click.echo(
                f"{ds} ({m['model']}, {' x '.join(m['axes'])}): {len(m['contours'])} contour line(s), "
                f"Neyman/FC at CL {m['cl']:.4f}, {c['n_toys']} toys x {int(sum(map(sum, c['constructed'])))} "
                f"points; largest critical value {c['t_critical_max']:.2f}"
            )


def _generic_exclusion(
    dataset_sets,
    mode,
    sel: dict,
    n1,
    n2,
    dof,
    as_json,
    plot,
    checkpoint=None,
    scheduler=None,
    overwrite=False,
):
    from pathlib import Path

    import numpy as np

    from ..inference.exclusion import exclusion as run_exclusion
    from ..inference.problem import ProblemSpec
    from ..inference.scan import ProblemEvaluator, check_checkpoint, grid_scan
    from ..likelihoods import _parse

    try:
        problems = {ds: build_problem(ds, mode, **sel, n_poi=(2, 2)) for ds in dataset_sets}
        scans = {}
        for ds, problem in problems.items():
            if checkpoint:
                spec = ProblemSpec(
                    tuple(_parse(ds)), mode, {}, problem.model_name, problem.poi, problem.fixed, (), problem.options
                )
                ev = ProblemEvaluator(spec)
                axes = {k: np.linspace(*b, n) for k, b, n in zip(ev.keys, problem.internal_box, (n1, n2))}
                tag = f"{ds.replace(',', '+')}_{mode}_{problem.model_name}_{'_'.join(problem.poi)}"
                scans[ds] = (ev, axes, Path(checkpoint) / tag)
                check_checkpoint(
                    ev, axes, scans[ds][2], overwrite=overwrite, hint="pass --overwrite"
                )  # before any work
        maps = {}
        for ds, problem in problems.items():
            grid = None
            if checkpoint:
                ev, axes, folder = scans[ds]
                grid = np.asarray(
                    grid_scan(
                        ev,
                        axes,
                        folder,
                        scheduler=scheduler,
                        progress=True,
                        overwrite=overwrite,
                        hint="pass --overwrite",
                    )
                ).reshape(n1, n2)
            maps[ds] = run_exclusion(problem, (n1, n2), dof=dof, logl_grid=grid, progress=grid is None)
        if plot:
            from ..outputs.figures import plot_exclusion_generic

            plot_exclusion_generic(maps, plot)
    except CevnsfitError as exc:
        fail(exc)
    _emit_maps(maps, as_json, lambda ds, m: f"{ds} ({m['model']}, {' x '.join(m['axes'])})")


def _emit_maps(maps: dict, as_json: bool, label) -> None:
    """Print exclusion maps: JSON, or one line per dataset combination."""
    if as_json:
        click.echo(_dump(maps))
        return
    for ds, m in maps.items():
        click.echo(f"{label(ds, m)}: {len(m['contours'])} contour line(s) at t = {m['t_threshold']:.3f}")
