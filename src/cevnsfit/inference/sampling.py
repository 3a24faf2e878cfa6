"""Bayesian estimation of the parameters of interest of any inference problem (docs: statistics).

Priors: the model's declared ones (:class:`~cevnsfit.models.parameters.Parameter`), flat in the
internal coordinates (log10 of a parameter with a log-uniform prior) over the declared prior
box, so the posterior density in the sampled variables is p(x) = L(x) pi(x) / Z with a flat pi.
For the reference analysis (arXiv:2103.10196, Sec. IV) these are the L_mu - L_tau model's

    log10 g_x ~ U(-4, -1),      log10(M_Z'/MeV) ~ U(0.5, 3).

- :func:`posterior`: one or two POIs by quadrature on a grid (``sampler="grid"``) or by nested
  sampling (UltraNest by default, dynesty optional): the MLE, the 68.3 % credible interval and
  ln Z, or the 68 % and 95 % HPD regions in 2D.
- :func:`credible_grid`: credible sets from the density on a grid with a refinement check.

The reference analysis's own spellings (``posterior_1d``, ``posterior_1d_grid``,
``posterior_2d``: Table II, Figs. 4 and 6) are thin wrappers over :func:`posterior` in
:mod:`cevnsfit.inference.reference`.

The 1D interval is the shortest interval in the internal coordinate (the sampled variable,
with a flat prior) containing 68.3 % of the posterior -- the HPD interval when the posterior
is unimodal -- converted to values (:func:`cevnsfit.inference.regions.shortest_interval`).

Reproducibility: every run takes a ``seed`` and records it. UltraNest draws from NumPy's
global generator, so it is seeded (and the caller's global state restored afterwards);
dynesty gets ``rstate = np.random.default_rng(seed)``. With ``log_dir`` a run is resumable
(UltraNest ``resume="resume"``, text point store; dynesty ``checkpoint_file``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from ..errors import ParameterError, UnknownNameError
from .regions import (
    MASS_68,
    MASS_95,
    credible_regions_2d,
    density_level,
    hpd_intervals_1d,
    region_polylines,
    shortest_interval,
)

SAMPLERS = ("ultranest", "dynesty")
#: 2D histogram used for the credible regions: bins over the prior box and Gaussian smoothing
#: (standard deviation in bins). 40 x 40 bins are 0.0625 dex in M_Z' and 0.075 dex in g_x; the
#: kernel (2 bins = 0.125 dex x 0.15 dex) keeps sampling noise from fragmenting the contours of
#: the nearly flat low-g_x plateau with ~10^3-10^4 effective samples.
HISTOGRAM_2D = {"bins": (40, 40), "smoothing_bins": 2.0}


# ---------------------------------------------------------------------------------------------
# sampler back ends: each returns weighted points in the sampled (unit -> physical) variables
# ---------------------------------------------------------------------------------------------


class _BoxTransform:
    """Unit cube -> prior box (picklable, for dynesty checkpoints)."""

    def __init__(self, lows, highs):
        self.lows, self.highs = np.asarray(lows, float), np.asarray(highs, float)

    def __call__(self, u):
        return self.lows + (self.highs - self.lows) * u


class _ScalarLogl:
    """One point -> ln L, from a vectorised ln L of shape (n, ndim) -> (n,)."""

    def __init__(self, loglike):
        self.loglike = loglike

    def __call__(self, x):
        return float(self.loglike(np.asarray(x, float)[None, :])[0])


@contextlib.contextmanager
def _seeded_global_numpy(seed: int):
    """UltraNest uses numpy's global generator: seed it and restore the caller's state."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _resume_mode(resume) -> str:
    if resume is True:
        return "resume"
    if resume is False:
        return "overwrite"
    if resume in ("resume", "overwrite", "resume-similar", "subfolder"):
        return resume
    raise ParameterError(
        f"resume must be True, False, 'resume', 'overwrite', 'resume-similar' or 'subfolder', got {resume!r}"
    )


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time (the ultranest log handler outlives any
    one redirection of stderr, e.g. by a test runner)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _CurrentStderr()


def _run_ultranest(loglike: Callable, names, lows, highs, *, seed, log_dir, resume, nlive, quick, progress):
    from ultranest import ReactiveNestedSampler

    transform = _BoxTransform(lows, highs)
    with _seeded_global_numpy(seed), warnings.catch_warnings():
        # the text point store warns about its own header / a line cut by a killed run; both skipped
        warnings.filterwarnings("ignore", message="skipping unparsable line")
        sampler = ReactiveNestedSampler(
            list(names),
            loglike,
            transform,
            vectorized=True,
            log_dir=None if log_dir is None else os.fspath(log_dir),
            resume=_resume_mode(resume),
            storage_backend="csv",
        )
        for h in sampler.logger.handlers:  # ultranest logs INFO to stdout by default
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                h.setLevel(logging.INFO if progress else logging.WARNING)
                h.setStream(_STDERR)  # progress never mixes with results on stdout
        run_opts = {"min_num_live_points": nlive, "show_status": progress, "viz_callback": False}
        if quick:
            run_opts.update(dlogz=1.0, min_ess=nlive, max_num_improvement_loops=0, frac_remain=0.1)
        # per-iteration DEBUG records are costly when a root handler formats them: only for debug.log
        level = sampler.logger.level
        sampler.logger.setLevel(logging.DEBUG if log_dir is not None else logging.INFO if progress else logging.WARNING)
        try:
            with contextlib.redirect_stdout(sys.stderr):  # its status line writes to sys.stdout
                res = sampler.run(**run_opts)
        finally:
            sampler.logger.setLevel(level)
    ws = res["weighted_samples"]
    return {
        "points": np.asarray(ws["points"]),
        "weights": np.asarray(ws["weights"]),
        "logl": np.asarray(ws["logl"]),
        "equal_samples": np.asarray(res["samples"]),
        "log_evidence": float(res["logz"]),
        "log_evidence_err": float(res["logzerr"]),
        "n_calls": int(res["ncall"]),
    }


def _run_dynesty(loglike: Callable, names, lows, highs, *, seed, log_dir, resume, nlive, quick, progress):
    try:
        import dynesty
        from dynesty.utils import resample_equal
    except ImportError as exc:  # optional extra
        raise ImportError("sampler='dynesty' needs the optional extra: pip install 'cevnsfit[dynesty]'") from exc

    ndim = len(names)

    checkpoint = None
    if log_dir is not None:
        os.makedirs(log_dir, exist_ok=True)
        checkpoint = os.path.join(os.fspath(log_dir), "dynesty.save")
    dlogz = 1.0 if quick else 0.5
    if checkpoint and _resume_mode(resume) != "overwrite" and os.path.exists(checkpoint):
        sampler = dynesty.NestedSampler.restore(checkpoint)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="You are resuming a finished static run")
            sampler.run_nested(dlogz=dlogz, print_progress=progress, checkpoint_file=checkpoint, resume=True)
    else:
        sampler = dynesty.NestedSampler(
            _ScalarLogl(loglike),
            _BoxTransform(lows, highs),
            ndim,
            nlive=nlive,
            rstate=np.random.default_rng(seed),
            sample="unif",
            bound="single" if ndim == 1 else "multi",
        )
        sampler.run_nested(dlogz=dlogz, print_progress=progress, checkpoint_file=checkpoint)
    res = sampler.results
    weights = np.exp(res.logwt - res.logz[-1])
    weights /= weights.sum()
    equal = resample_equal(res.samples, weights, rstate=np.random.default_rng([seed, 1]))
    return {
        "points": np.asarray(res.samples),
        "weights": weights,
        "logl": np.asarray(res.logl),
        "equal_samples": equal,
        "log_evidence": float(res.logz[-1]),
        "log_evidence_err": float(res.logzerr[-1]),
        "n_calls": int(np.sum(res.ncall)),
    }


_BACKENDS = {"ultranest": _run_ultranest, "dynesty": _run_dynesty}


def _run(sampler: str, loglike, names, lows, highs, **kw) -> dict:
    if sampler not in _BACKENDS:
        raise UnknownNameError(f"unknown sampler {sampler!r}; known: {', '.join(SAMPLERS)}")
    if int(kw["nlive"]) < 10:
        raise ParameterError(f"min_num_live_points must be >= 10, got {kw['nlive']}")
    return _BACKENDS[sampler](loglike, names, lows, highs, **kw)


# ---------------------------------------------------------------------------------------------
# the posterior of a problem
# ---------------------------------------------------------------------------------------------


def refine_max(
    f: Callable, x, logl, bounds=None, n_peaks: int = 3, window: float = 3.0, xatol: float = 1e-5
) -> tuple[float, float, int]:
    """Maximise a 1D function known at points ``x`` (values ``logl``): around each of the
    ``n_peaks`` highest local maxima of the known values that lie within ``window`` of the
    highest, a bounded Brent search
    (scipy ``minimize_scalar(method="bounded")``) between the maximum's neighbours; the best
    result wins; ``bounds`` (default: the range of ``x``) limit the search. (A narrow peak between two grid points shows up as a local maximum of the
    grid even when it is not the grid's highest point.) Returns (x_max, f_max, extra calls).

    >>> grid = np.linspace(-1, 1, 11)
    >>> xm, fm, _ = refine_max(lambda t: -(t - 0.123) ** 2, grid, -(grid - 0.123) ** 2, bounds=(-1, 1))
    >>> round(xm, 4)
    0.123
    """
    x = np.asarray(x, float)
    logl = np.asarray(logl, float)
    if bounds is None:
        bounds = (float(np.min(x)), float(np.max(x)))
    order = np.argsort(x, kind="stable")
    x, logl = x[order], np.where(np.isnan(logl[order]), -np.inf, logl[order])
    left = np.concatenate([[-np.inf], logl[:-1]])
    right = np.concatenate([logl[1:], [-np.inf]])
    peaks = np.flatnonzero((logl >= left) & (logl >= right) & np.isfinite(logl))
    if peaks.size == 0:
        peaks = np.array([int(np.argmax(logl))])
    peaks = peaks[np.argsort(logl[peaks])[::-1][:n_peaks]]
    peaks = peaks[logl[peaks] >= logl[peaks[0]] - window]
    best_x, best_f = float(x[peaks[0]]), float(logl[peaks[0]])
    ncall = 0
    for i in peaks:
        lo = max(x[i - 1] if i > 0 else bounds[0], bounds[0])
        hi = min(x[i + 1] if i < x.size - 1 else bounds[1], bounds[1])
        if hi - lo <= 0:
            continue
        opt = optimize.minimize_scalar(
            lambda t: -float(f(t)), bounds=(lo, hi), method="bounded", options={"xatol": xatol}
        )
        ncall += int(opt.nfev)
        if -opt.fun > best_f:
            best_x, best_f = float(opt.x), float(-opt.fun)
    return best_x, best_f, ncall


class _ProblemLogl:
    """ln L of a problem at internal coordinates, points (n, n_poi) -> (n,)."""

    def __init__(self, problem):
        self.problem = problem

    def __call__(self, points):
        return np.asarray(self.problem.logl_internal(np.atleast_2d(points)), dtype=float)


def equal_tailed_interval(x, weights, mass: float = MASS_68) -> tuple[float, float]:
    """Equal-tailed credible interval: the (1 - mass)/2 and (1 + mass)/2 quantiles of weighted
    samples or grid weights (15.87 % and 84.13 % for 68.3 %).

    >>> x = np.linspace(-5, 5, 20001)
    >>> lo, hi = equal_tailed_interval(x, np.exp(-0.5 * x * x))    # N(0, 1): +-1.0 (mass 0.683)
    >>> bool(abs(lo + 1.0) < 2e-3 and abs(hi - 1.0) < 2e-3)
    True
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(x)
    x, w = x[order], w[order]
    c = np.cumsum(w)
    c = (c - 0.5 * w) / c[-1]
    return (float(np.interp(0.5 * (1.0 - mass), c, x)), float(np.interp(0.5 * (1.0 + mass), c, x)))


def posterior(
    problem,
    sampler: str = "grid",
    seed: int = 1,
    log_dir=None,
    resume=True,
    min_num_live_points: int = 400,
    quick: bool = False,
    progress: bool = False,
    n_grid: int | None = None,
) -> dict:
    """Posterior of the parameters of interest of a :class:`~cevnsfit.inference.problem.Problem`
    with the declared priors (uniform in internal coordinates over the declared prior range).

    ``sampler="grid"`` (default for one or two POIs) evaluates the posterior density on a grid
    (1D: 2001 points; 2D: 121 x 121) by quadrature; ``"ultranest"``/``"dynesty"`` sample it.
    1D results: ``mle`` (refined), ``hpd_68`` (shortest interval(s)), ``equal_tailed_68``
    (15.87 %, 84.13 % quantiles), both in internal coordinates and as values; 2D results: the
    68 % and 95 % HPD regions from the density (:func:`cevnsfit.inference.regions.credible_regions_2d`).
    """
    return posterior_run(
        problem,
        sampler,
        seed=seed,
        log_dir=log_dir,
        resume=resume,
        min_num_live_points=min_num_live_points,
        quick=quick,
        progress=progress,
        n_grid=n_grid,
    )["result"]


def posterior_run(
    problem,
    sampler: str = "grid",
    *,
    seed: int = 1,
    log_dir=None,
    resume=True,
    min_num_live_points: int = 400,
    quick: bool = False,
    progress: bool = False,
    n_grid: int | None = None,
    histogram: dict | None = None,
) -> dict:
    """The one posterior path: :func:`posterior`'s dict as ``result`` plus what a caller may
    summarise differently (the reference analysis's wrappers in
    :mod:`cevnsfit.inference.reference`): ``points`` (internal coordinates, (n,) in 1D, (n, 2)
    in 2D), ``weights`` (summing to 1 for a sampler, trapezoid masses on a grid), ``logl``,
    ``run`` (the sampler's output), in 1D ``x_max``/``logl_max``/``refine_calls`` and ``hpd``
    (internal), on a 1D grid ``log_evidence`` and ``density``; in 2D with a sampler ``regions``
    (:func:`~cevnsfit.inference.regions.credible_regions_2d` with ``histogram`` options)."""
    from .checks import with_declared_defaults

    problem = with_declared_defaults(problem)  # needed parameters not given: declared defaults, warned
    pars = problem.poi_parameters
    names = list(problem.internal_names)
    box = problem.internal_box
    _check_posterior_args(problem, pars, sampler, log_dir, n_grid)
    out = {
        **problem.describe(),
        "sampler": sampler,
        "internal": names,
        "prior": {n: list(b) for n, b in zip(names, box)},
    }
    extra: dict = {"result": out}
    if sampler == "grid":
        found = _posterior_grid(problem, pars, names, box, n_grid, out, extra)
    else:
        run_args = (seed, log_dir, resume, min_num_live_points, quick, progress, histogram)
        found = _posterior_sampled(problem, sampler, pars, names, box, run_args, out, extra)
    if found is None:  # 2D: regions done
        return extra
    pts, weights, logl_pts = found
    _posterior_summary_1d(problem, pars[0], box, pts, weights, logl_pts, out, extra)
    return extra


def _check_posterior_args(problem, pars, sampler, log_dir, n_grid) -> None:
    """:func:`posterior_run`'s checks: one or two POIs, no option that does not apply."""
    if len(pars) not in (1, 2):
        raise ParameterError(f"posterior takes one or two parameters of interest, got {problem.poi}")
    ignored = (["log_dir"] if sampler == "grid" and log_dir is not None else []) + (
        ["n_grid"] if sampler != "grid" and n_grid is not None else []
    )
    if ignored:  # issue 22: nothing silently ignored
        raise ParameterError(f"{', '.join(ignored)} does not apply to sampler={sampler!r}; drop it")


def _posterior_grid(problem, pars, names, box, n_grid, out, extra):
    """:func:`posterior_run` on a grid: (points, weights, ln L) in 1D; None in 2D (regions filled)."""
    n = n_grid or (2001 if len(pars) == 1 else 121)
    if n < 11:
        raise ParameterError(f"n_grid must be >= 11, got {n}")
    axes = [np.linspace(*b, n) for b in box]
    if len(pars) == 1:
        x = axes[0]
        logl = np.asarray(problem.logl(pars[0].from_internal(x)), dtype=float)
        w = np.full(n, x[1] - x[0])
        w[[0, -1]] *= 0.5
        lw = logl + np.log(w)
        weights = np.exp(lw - special.logsumexp(lw))
        log_z = float(special.logsumexp(lw) - np.log(box[0][1] - box[0][0]))
        density = weights / w
        out.update(log_evidence=log_z, grid=x.tolist(), density=density.tolist())
        extra.update(log_evidence=log_z, density=density, trapezoid=w)
        return x, weights, logl
    xx, yy = np.meshgrid(*axes, indexing="ij")
    logl = problem.logl(pars[0].from_internal(xx), pars[1].from_internal(yy))
    dens = np.exp(logl - logl.max())
    dens = dens / dens.sum()
    out.update(grid={names[0]: axes[0].tolist(), names[1]: axes[1].tolist()}, logl=logl.tolist())
    for key, m in (("region_68", MASS_68), ("region_95", MASS_95)):
        out[key] = region_polylines(axes[0], axes[1], dens, density_level(dens, m), box)
    extra.update(axes=axes, logl=logl, density=dens)
    return None


def _posterior_sampled(problem, sampler, pars, names, box, run_args, out, extra):
    """:func:`posterior_run` with a sampler: (points, weights, ln L) in 1D; None in 2D (regions filled)."""
    seed, log_dir, resume, min_num_live_points, quick, progress, histogram = run_args
    run = _run(
        sampler,
        _ProblemLogl(problem),
        names,
        [b[0] for b in box],
        [b[1] for b in box],
        seed=seed,
        log_dir=log_dir,
        resume=resume,
        nlive=min_num_live_points,
        quick=quick,
        progress=progress,
    )
    out.update(
        log_evidence=run["log_evidence"],
        log_evidence_err=run["log_evidence_err"],
        seed=seed,
        n_calls=run["n_calls"],
    )
    extra["run"] = run
    if len(pars) == 2:
        pts, w = run["points"], run["weights"]
        reg = credible_regions_2d(pts[:, 0], pts[:, 1], w, masses=(MASS_68, MASS_95), ranges=box, **(histogram or {}))
        out.update(region_68=reg["regions"][MASS_68], region_95=reg["regions"][MASS_95], samples=pts, weights=w)
        extra.update(points=pts, weights=w, logl=run["logl"], regions=reg)
        return None
    return run["points"][:, 0], run["weights"], run["logl"]


def _posterior_summary_1d(problem, par, box, pts, weights, logl_pts, out, extra) -> None:
    """:func:`posterior_run`'s 1D summary: the refined maximum, HPD and equal-tailed 68 % intervals."""
    xm, lm, ncall = refine_max(lambda t: problem.logl(par.from_internal(t)), pts, logl_pts, bounds=box[0])
    hpd = shortest_interval(pts, MASS_68, weights=weights)
    et = equal_tailed_interval(pts, weights, MASS_68)
    out.update(
        mle={par.name: float(par.from_internal(xm))},
        logl_max=lm,
        logl_null=problem.logl_null(),
        hpd_68_internal=list(hpd),
        equal_tailed_68_internal=list(et),
        hpd_68=[float(par.from_internal(v)) for v in hpd],
        equal_tailed_68=[float(par.from_internal(v)) for v in et],
        credible_mass=MASS_68,
    )
    extra.update(points=pts, weights=weights, logl=logl_pts, x_max=xm, logl_max=lm, refine_calls=ncall, hpd=hpd)


# ---------------------------------------------------------------------------------------------
# credible sets from the density on a grid, with a refinement check (issue 12)
# ---------------------------------------------------------------------------------------------

#: Tolerances of the refinement check: 1D interval edges (internal units, e.g. dex of a
#: log-uniform parameter) and, in 2D, the posterior mass on which the two grids' regions disagree.
GRID_TOLERANCE = {"edge_1d": 0.01, "mass_2d": 0.01}


def _density_on_grid(problem, axes):
    pars = problem.poi_parameters
    if len(pars) == 1:
        logl = np.asarray(problem.logl(pars[0].from_internal(axes[0])), dtype=float)
    else:
        logl = np.asarray(
            problem.logl(pars[0].from_internal(axes[0])[:, None], pars[1].from_internal(axes[1])[None, :]), dtype=float
        )
    dens = np.exp(logl - logl.max())
    return logl, dens


def _sets_1d(x, dens) -> dict:
    w = dens.copy()
    w[[0, -1]] *= 0.5  # trapezoid weights on the uniform grid
    return {
        "hpd_68": hpd_intervals_1d(x, dens, MASS_68),
        "hpd_95": hpd_intervals_1d(x, dens, MASS_95),
        "equal_tailed_68": list(equal_tailed_interval(x, w, MASS_68)),
        "equal_tailed_95": list(equal_tailed_interval(x, w, MASS_95)),
    }


def _sets_2d(axes, dens, box) -> dict:
    p = dens / dens.sum()
    levels = {m: density_level(p, m) for m in (MASS_68, MASS_95)}
    return {
        "p": p,
        "levels": levels,
        "region_68": region_polylines(axes[0], axes[1], p, levels[MASS_68], box),
        "region_95": region_polylines(axes[0], axes[1], p, levels[MASS_95], box),
    }


def credible_grid(problem, n=None, check: bool = True, tolerance: dict | None = None) -> dict:
    """Credible sets of one or two POIs from the posterior density on a grid (flat prior in
    internal coordinates over the prior box): no sampling noise, hence no islands that are not
    in the density itself.

    1 POI (``n`` = 2001): HPD sets {p >= p*} at 68.3 % and 95.4 % as lists of intervals
    (:func:`cevnsfit.inference.regions.hpd_intervals_1d`) and the equal-tailed intervals
    (15.87 %, 84.13 %; 2.3 %, 97.7 %). 2 POIs (``n`` = 121 per axis): the HPD regions as closed
    rings (:func:`cevnsfit.inference.regions.region_polylines`), their levels and the density.

    ``check``: the same on a grid refined by 2x (2n - 1 points per axis, nesting the first);
    ``convergence`` reports the largest shift of a 1D edge (internal units) or, in 2D, the
    posterior mass (under the refined density) on which the two grids' 68 % / 95 % regions
    disagree, and whether each is below ``tolerance`` (:data:`GRID_TOLERANCE`).
    """
    pars = problem.poi_parameters
    if len(pars) not in (1, 2):
        raise ParameterError(f"credible_grid takes one or two parameters of interest, got {problem.poi}")
    tol = {**GRID_TOLERANCE, **(tolerance or {})}
    box = problem.internal_box
    if n is not None and (isinstance(n, bool) or int(n) != n):
        raise ParameterError(f"n must be an integer (grid points per axis), got {n!r}")
    n = int(n or (2001 if len(pars) == 1 else 121))
    if n < 11:
        raise ParameterError(f"n must be >= 11, got {n}")
    axes = [np.linspace(b[0], b[1], n) for b in box]
    logl, dens = _density_on_grid(problem, axes)
    out = {
        **problem.describe(),
        "method": "grid density",
        "internal": list(problem.internal_names),
        "prior": {k: list(b) for k, b in zip(problem.internal_names, box)},
        "n": n,
        "axes": [a.tolist() for a in axes],
        "logl_max": float(logl.max()),
    }
    sets = _sets_1d(axes[0], dens) if len(pars) == 1 else _sets_2d(axes, dens, box)
    out.update({k: v for k, v in sets.items() if k != "p"})
    if len(pars) == 2:
        out["density"] = sets["p"]
        out["levels"] = {"68": sets["levels"][MASS_68], "95": sets["levels"][MASS_95]}
        k = np.unravel_index(int(np.argmax(logl)), logl.shape)
        out["map_point"] = {
            problem.internal_names[0]: float(axes[0][k[0]]),
            problem.internal_names[1]: float(axes[1][k[1]]),
            "logl": float(logl[k]),
        }
    if not check:
        return out
    fine = [np.linspace(b[0], b[1], 2 * n - 1) for b in box]
    _, dens_f = _density_on_grid(problem, fine)
    if len(pars) == 1:
        out["convergence"] = _grid_convergence_1d(sets, _sets_1d(fine[0], dens_f), n, tol)
    else:
        out["convergence"] = _grid_convergence_2d(sets, _sets_2d(fine, dens_f, box), axes, fine, n, tol)
    return out


def _grid_convergence_1d(sets, sf, n, tol) -> dict:
    """:func:`credible_grid`'s 1D check: the largest shift of each edge on the refined grid."""
    shifts = {}
    for key in ("hpd_68", "hpd_95", "equal_tailed_68", "equal_tailed_95"):
        a, b = sets[key], sf[key]
        if key.startswith("hpd"):
            if len(a) != len(b):
                shifts[key] = float("inf")
                continue
            a = [e for seg in a for e in seg]
            b = [e for seg in b for e in seg]
        shifts[key] = float(np.max(np.abs(np.subtract(a, b))))
    return {
        "refined_n": 2 * n - 1,
        "max_edge_shift": shifts,
        "tolerance": tol["edge_1d"],
        "converged": bool(max(shifts.values()) <= tol["edge_1d"]),
    }


def _grid_convergence_2d(sets, sf, axes, fine, n, tol) -> dict:
    """:func:`credible_grid`'s 2D check: the posterior mass on which the two grids' regions disagree."""
    # the coarse grid's density at the fine points (bilinear; the fine grid nests the coarse one)
    from scipy.interpolate import RegularGridInterpolator

    ff = np.stack(np.meshgrid(*fine, indexing="ij"), axis=-1)
    coarse_on_fine = RegularGridInterpolator(axes, sets["p"])(ff)
    mass = {}
    for m, key in ((MASS_68, "68"), (MASS_95, "95")):
        a = coarse_on_fine >= sets["levels"][m]
        b = sf["p"] >= sf["levels"][m]
        mass[key] = float(sf["p"][a != b].sum())
    return {
        "refined_n": 2 * n - 1,
        "disagreeing_mass": mass,
        "tolerance": tol["mass_2d"],
        "rings_68": [len(sets["region_68"]), len(sf["region_68"])],
        "rings_95": [len(sets["region_95"]), len(sf["region_95"])],
        "converged": bool(max(mass.values()) <= tol["mass_2d"]),
    }


def mass_in_grid_region(result: dict, points, weights) -> dict:
    """Fraction of the weight of samples (``points`` (n, 2) in internal coordinates, e.g.
    nested-sampling draws) inside the 68 % and 95 % regions of a 2D :func:`credible_grid`
    result: for draws from the same posterior, 0.683 and 0.954 up to sampling error."""
    from scipy.interpolate import RegularGridInterpolator

    p = np.asarray(result["density"])
    f = RegularGridInterpolator([np.asarray(a) for a in result["axes"]], p, bounds_error=False, fill_value=0.0)
    d = f(np.asarray(points, dtype=float))
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    return {k: float(w[d >= result["levels"][k]].sum()) for k in ("68", "95")}


#: The reference analysis's names, kept here for old imports (they live in inference.reference).
_MOVED = ("PRIOR_LOG10_GX", "PRIOR_LOG10_MZP", "posterior_1d", "posterior_1d_grid", "posterior_2d", "_check_point")


def __getattr__(name: str):
    if name in _MOVED:
        from . import reference

        return getattr(reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GRID_TOLERANCE",
    "HISTOGRAM_2D",
    "SAMPLERS",
    "credible_grid",
    "equal_tailed_interval",
    "mass_in_grid_region",
    "posterior",
    "posterior_run",
    "refine_max",
]
