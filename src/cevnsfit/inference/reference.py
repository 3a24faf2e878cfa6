"""The reference analysis (Banerjee, Dutta, Roy, arXiv:2103.10196): its API as thin wrappers
over the generic path (docs: statistics).

The one place in :mod:`cevnsfit.inference` that names a model. Each function here builds the
reference :class:`~cevnsfit.inference.problem.Problem` (the L_mu - L_tau model with M_Z' and r
fixed or estimated, :func:`reference_problem`), calls the model-independent method, and
renames the result's keys to the reference analysis's spelling:

- ``logl(like, mzp, gx, r)``: ``Likelihood.logl_model`` of the model at that point;
- ``fit_gx``: :func:`cevnsfit.inference.fits.fit`;
- ``chi2_totals``: ``Problem.logl`` on a grid, minima refined as in ``fit``;
- ``exclusion_map``: :func:`cevnsfit.inference.exclusion.exclusion`;
- ``lrt_statistic``: :func:`cevnsfit.inference.toys.lrt_statistic_problem`;
- ``toy_calibration``: :func:`cevnsfit.inference.toys.toys`;
- ``posterior_1d``, ``posterior_1d_grid``, ``posterior_2d``:
  :func:`cevnsfit.inference.sampling.posterior_run` (the one posterior path);
- ``LoglikeEvaluator``: :class:`cevnsfit.inference.scan.ProblemEvaluator`.

Priors are the model's declared ones (:class:`~cevnsfit.models.parameters.Parameter` of
:class:`~cevnsfit.models.LmuLtau`): log-uniform g_x in [1e-4, 1e-1] and M_Z' in
[10^0.5, 10^3] MeV, i.e. :data:`PRIOR_LOG10_GX` = (-4, -1) and :data:`PRIOR_LOG10_MZP` =
(0.5, 3) in the sampled variables, the reference analysis's choice (its Sec. IV).

Vocabulary (one meaning each): ``logl`` is ln L of a model at a point (a ``Likelihood``'s
``logl(model)``, a ``Problem``'s ``logl(*poi_values)``, this module's ``logl(like, mzp, gx, r)``);
``nuisances`` are a data set's declared nuisance parameters with their constraints and their
treatment in each mode (``DatasetTerm.nuisances()``), never model parameters.

The old import locations (``cevnsfit.inference.fits.fit_gx``, ``...exclusion.exclusion_map``,
``...toys.lrt_statistic``, ``...toys.toy_calibration``, ``...sampling.posterior_1d``,
``...scan.LoglikeEvaluator``, ...) forward here.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, check_finite
from ..models import LmuLtau
from .problem import Problem, ProblemSpec

#: Catalogue name of the reference analysis's model.
REFERENCE_MODEL = "lmu-ltau"

#: Prior box of the sampled variables (internal coordinates), from the model's declarations.
PRIOR_LOG10_GX: tuple[float, float] = LmuLtau.parameter("gx").internal_range
PRIOR_LOG10_MZP: tuple[float, float] = LmuLtau.parameter("mzp_mev").internal_range
#: Axes of the exclusion map: the prior box.
LOG10_MZP_RANGE = PRIOR_LOG10_MZP
LOG10_GX_RANGE = PRIOR_LOG10_GX
#: Default g_x scan for maximisation: log10 g_x in [-5, -1] (g_x = 1e-5 is the SM to < 1e-8 in rate).
LOG10_GX_SCAN = np.linspace(PRIOR_LOG10_GX[0] - 1.0, PRIOR_LOG10_GX[1], 801)
#: Default g_x grid of :func:`chi2_totals` (log10 g_x from -4 to -1, 1201 points).
CHI2_LOG10_GX_SCAN = np.linspace(*PRIOR_LOG10_GX, 1201)
CHI2_LOG10_GX_SCAN.flags.writeable = False


def reference_problem(like, poi=("gx",), mzp_mev=None, r: float = 1.0, paper_sign: bool = False) -> Problem:
    """L_mu - L_tau with ``poi`` estimated, M_Z' (unless a POI) and r fixed.

    >>> from cevnsfit.likelihoods import Likelihood
    >>> reference_problem(Likelihood([], "paper"), mzp_mev=20.0).describe()["fixed"]
    {'r': 1.0, 'mzp_mev': 20.0}
    """
    fixed = {"r": float(r)}
    if "mzp_mev" not in poi:
        fixed["mzp_mev"] = float(mzp_mev)
    return Problem(like, REFERENCE_MODEL, poi=poi, fixed=fixed, options={"paper_sign": True} if paper_sign else None)


def _check_point(mzp_mev, r) -> tuple[float, float]:
    m = check_finite("mzp_mev", mzp_mev, positive=True)
    rr = check_finite("r", r, positive=True)
    if m.ndim or rr.ndim:
        raise ParameterError("mzp_mev and r must be scalars for a 1D posterior of g_x")
    return float(m), float(rr)


# ---------------------------------------------------------------------------------------------
# ln L, fits, chi-square, exclusion map
# ---------------------------------------------------------------------------------------------


def logl(like, mzp_mev, gx, r=1.0, paper_sign: bool = False) -> np.ndarray:
    """ln L of the L_mu - L_tau model at (M_Z' [MeV], g_x, r), broadcasting:
    ``like.logl_model(model_from_name("lmu-ltau", ...))``."""
    from ..models import model_from_name

    return like.logl_model(model_from_name(REFERENCE_MODEL, mzp_mev=mzp_mev, gx=gx, r=r, paper_sign=paper_sign))


def fit_gx(
    like, mzp_mev: float, r: float = 1.0, log10_gx_scan=LOG10_GX_SCAN, dof: int = 1, paper_sign: bool = False
) -> dict:
    """The reference analysis's fit: MLE of g_x at fixed (M_Z', r), by :func:`~cevnsfit.inference.fits.fit`.

    Returns ``gx_mle``, ``t``, ``p``, ``z_sigma``, ``logl_max``, ``logl_sm`` and all local maxima
    found on the scan (the likelihood can have two: below and beyond the sign flip of Q_V).
    """
    from .fits import fit

    mzp = float(check_finite("mzp_mev", mzp_mev, positive=True))
    check_finite("r", r, positive=True)
    res = fit(reference_problem(like, ("gx",), mzp, r, paper_sign), grid=log10_gx_scan, dof=dof)
    return {
        "mzp_mev": mzp,
        "r": float(r),
        "gx_mle": res["mle"]["gx"],
        "t": res["t"],
        "p": res["p"],
        "z_sigma": res["z_sigma"],
        "logl_max": res["logl_max"],
        "logl_sm": res["logl_null"],
        "dof": dof,
        "local_maxima": [{"gx": m["gx"], "logl": m["logl"], "t": m["t"]} for m in res["local_maxima"]],
        "datasets": like.names,
        "mode": like.mode,
    }


def chi2_totals(
    mzp_mev: float,
    r: float = 1.0,
    normalisation: str = "published",
    log10_gx_scan=CHI2_LOG10_GX_SCAN,
    matching: str | None = None,
) -> dict:
    """Chi-square of the CsI 2020 and argon totals against g_x (docs: datasets/csi2020-totals) with every
    local minimum located and refined; ``normalisation`` of the argon prediction: ``published``
    (128 N_Ar(theta)/N_Ar(SM)) or ``computed`` (our N_Ar(theta))."""
    from ..likelihoods import likelihood
    from .fits import _local_extrema, _refine

    like = likelihood(
        "csi2020_totals,cenns10_totals", matching=matching, options={"cenns10_totals": {"normalisation": normalisation}}
    )
    mzp = float(check_finite("mzp_mev", mzp_mev, positive=True))
    grid = np.asarray(log10_gx_scan, dtype=float)
    problem = reference_problem(like, ("gx",), mzp, r)
    chi2 = -2.0 * problem.logl(10.0**grid)

    def fun(x):
        return -2.0 * float(problem.logl(10.0**x))

    minima = []
    for i in _local_extrema(chi2, "min"):
        x, f = _refine(fun, grid, i)
        minima.append({"gx": 10.0**x, "chi2": f})
    return {
        "mzp_mev": mzp,
        "r": float(r),
        "normalisation": normalisation,
        "gx": (10.0**grid).tolist(),
        "chi2": chi2.tolist(),
        "minima": minima,
        "chi2_sm": -2.0 * like.logl_sm(),
        "global_minimum": min(minima, key=lambda m: m["chi2"]) if minima else None,
    }


def exclusion_map(
    datasets,
    mode: str = "paper",
    r: float = 1.0,
    n_mzp: int = 101,
    n_gx: int = 121,
    z: float = 2.0,
    dof: int = 2,
    options: dict | None = None,
    matching: str | None = None,
    logl_grid: np.ndarray | None = None,
    progress: bool = False,
) -> dict:
    """The reference analysis's map in (log10 M_Z', log10 g_x) at fixed r, by
    :func:`~cevnsfit.inference.exclusion.exclusion`.

    ``logl_grid`` may be passed in (e.g. from a distributed :func:`cevnsfit.inference.scan.grid_scan`);
    otherwise ln L is evaluated here in one vectorised call.
    """
    from ..likelihoods import likelihood
    from .exclusion import exclusion

    for name, value, least in (("n_mzp", n_mzp, 2), ("n_gx", n_gx, 2), ("dof", dof, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise ParameterError(
                f"{name} must be an integer >= {least} (a contour needs a grid of at least "
                f"2 x 2 points; Wilks needs >= 1 degree of freedom), got {value!r}"
            )
    check_finite("z", z, positive=True)
    like = likelihood(datasets, mode=mode, matching=matching, options=options)
    lm = np.linspace(*LOG10_MZP_RANGE, n_mzp)
    lg = np.linspace(*LOG10_GX_RANGE, n_gx)
    res = exclusion(
        reference_problem(like, ("mzp_mev", "gx"), r=r), None, z, dof, logl_grid, axes=(lm, lg), progress=progress
    )
    return {
        "datasets": like.names,
        "mode": mode,
        "r": float(r),
        "z": z,
        "dof": dof,
        "t_threshold": res["t_threshold"],
        "method": "wilks",
        "log10_mzp": lm.tolist(),
        "log10_gx": lg.tolist(),
        "t": res["t"],
        "t_sm": res["t_null"],
        "contours": res["contours"],
        "units": {"mzp": "MeV", "gx": "dimensionless"},
    }


# ---------------------------------------------------------------------------------------------
# toys
# ---------------------------------------------------------------------------------------------


def lrt_statistic(like, mzp_mev: float, r: float = 1.0, n_grid: int | None = None) -> dict:
    """The reference analysis's statistic: t = 2 [max_{g_x >= 0} ln L - ln L(SM)] at fixed
    (M_Z', r) (:mod:`cevnsfit.inference.toys`) with the maximising coupling (``gx_hat`` = 0 when
    the SM is the maximum).

    >>> import cevnsfit
    >>> res = lrt_statistic(cevnsfit.likelihood("csi2020_totals"), 20.0)      # doctest: +SKIP
    >>> round(res["t"], 3)                         # (306 - 333)^2 / V_SM       # doctest: +SKIP
    0.195
    """
    from .toys import N_GRID, lrt_statistic_problem

    mzp, r = _check_point(mzp_mev, r)
    res = lrt_statistic_problem(reference_problem(like, ("gx",), mzp, r), N_GRID if n_grid is None else n_grid)
    xm = res["x_hat"]
    return {"t": res["t"], "log10_gx_hat": xm, "gx_hat": 10.0**xm if np.isfinite(xm) else 0.0, "mzp_mev": mzp, "r": r}


def toy_calibration(
    datasets,
    mzp_mev: float,
    r: float = 1.0,
    n_toys: int = 200,
    seed: int = 1,
    scheduler="synchronous",
    chunk_size: int = 50,
    mode: str = "paper",
    options: dict | None = None,
    n_grid: int | None = None,
    progress: bool = False,
    n_workers: int | None = None,
    checkpoint=None,
) -> dict:
    """The reference analysis's calibration: g_x at fixed (M_Z' [MeV], r) by
    :func:`~cevnsfit.inference.toys.toys`.

    ``datasets``: names (``"csi2017,cenns10"``) built with ``mode``/``options``, or a
    :class:`~cevnsfit.likelihoods.Likelihood`. Returns the keys of ``toys`` plus ``gx_hat``,
    ``log10_gx_hat``, ``log10_gx_hat_toys``, ``mzp_mev`` and ``r``.
    """
    from ..likelihoods import Likelihood, _parse
    from .toys import N_GRID, toys

    mzp, r = _check_point(mzp_mev, r)
    spec: Problem | ProblemSpec
    if isinstance(datasets, Likelihood):
        if mode != "paper" or options:
            raise ParameterError(
                "mode and options build a likelihood from dataset names; with a Likelihood given they would be "
                "ignored: pass names, or drop mode/options"
            )
        spec = reference_problem(datasets, ("gx",), mzp, r)
    else:
        spec = ProblemSpec(
            tuple(_parse(datasets)), mode, options or {}, REFERENCE_MODEL, ("gx",), {"mzp_mev": mzp, "r": r}
        )
    n_grid = N_GRID if n_grid is None else n_grid
    res = toys(spec, n_toys, seed, scheduler, chunk_size, n_grid, progress, n_workers, checkpoint)
    xm = res["x_hat"]
    res.update(
        {
            "gx_hat": 10.0**xm if np.isfinite(xm) else 0.0,
            "log10_gx_hat": xm,
            "log10_gx_hat_toys": res["x_hat_toys"],
            "mzp_mev": mzp,
            "r": r,
        }
    )
    return res


# ---------------------------------------------------------------------------------------------
# posteriors (Table II, Figs. 4 and 6)
# ---------------------------------------------------------------------------------------------


def _summary_1d(like, mzp: float, r: float, core: dict) -> dict:
    xm, (lo, hi) = core["x_max"], core["hpd"]
    return {
        "gx_mle": 10.0**xm,
        "log10_gx_mle": xm,
        "logl_max": core["logl_max"],
        "logl_sm": like.logl_sm(),
        "gx_68": [10.0**lo, 10.0**hi],
        "log10_gx_68": [lo, hi],
        "credible_mass": core["result"]["credible_mass"],
        "interval": "shortest interval in log10 g_x (HPD for a unimodal posterior)",
        "mzp_mev": mzp,
        "r": r,
        "prior_log10_gx": list(PRIOR_LOG10_GX),
    }


def posterior_1d(
    like,
    mzp_mev: float,
    r: float = 1.0,
    sampler: str = "ultranest",
    seed: int = 1,
    log_dir=None,
    resume=True,
    min_num_live_points: int = 400,
    quick: bool = False,
    progress: bool = False,
) -> dict:
    """Posterior of log10 g_x at fixed (M_Z' [MeV], r) by nested sampling.

        p(x | D) = L(D | M_Z', g_x = 10^x, r) pi(x) / Z,   pi = U(-4, -1),   Z = Int L pi dx

    (docs: statistics; the reference analysis's Table II used MultiNest with these priors), by
    :func:`~cevnsfit.inference.sampling.posterior_run`.

    Returns a dict with ``gx_mle`` (maximum of L over g_x in the prior range: the best sampled
    point refined by a bounded Brent search on log10 g_x), ``gx_68`` = [low, high], the
    shortest 68.3 % interval of the posterior in log10 g_x converted to g_x (the HPD interval
    for a unimodal posterior; also ``log10_gx_68``), ``log_evidence`` (ln Z, with
    ``log_evidence_err``), ``samples`` (equally weighted log10 g_x), ``weighted_samples``,
    ``seed``, ``sampler``, ``n_calls`` (likelihood evaluations, sampler plus refinement).

    ``sampler``: ``"ultranest"`` (ReactiveNestedSampler, vectorised likelihood calls) or
    ``"dynesty"`` (static NestedSampler). ``log_dir`` makes the run resumable; ``resume``
    True/"resume" continues a stored run, False/"overwrite" starts afresh. ``quick`` trades
    precision for speed (dlogz = 1, no improvement loops) for tests and previews.

    >>> import cevnsfit
    >>> like = cevnsfit.likelihood("csi2017")                                 # doctest: +SKIP
    >>> post = posterior_1d(like, 20.0, min_num_live_points=100, quick=True)  # doctest: +SKIP
    >>> post["gx_68"][0] < post["gx_mle"] < post["gx_68"][1], post["seed"]  # doctest: +SKIP
    (True, 1)
    """
    from .sampling import posterior_run

    mzp, r = _check_point(mzp_mev, r)
    if sampler == "grid":
        raise ParameterError("posterior_1d samples (ultranest, dynesty); use posterior_1d_grid for the grid")
    core = posterior_run(
        reference_problem(like, ("gx",), mzp, r),
        sampler,
        seed=seed,
        log_dir=log_dir,
        resume=resume,
        min_num_live_points=min_num_live_points,
        quick=quick,
        progress=progress,
    )
    run = core["run"]
    out = _summary_1d(like, mzp, r, core)
    out.update(
        log_evidence=run["log_evidence"],
        log_evidence_err=run["log_evidence_err"],
        samples=run["equal_samples"][:, 0],
        weighted_samples={"log10_gx": core["points"], "weights": run["weights"], "logl": run["logl"]},
        seed=seed,
        sampler=sampler,
        n_calls=run["n_calls"] + core["refine_calls"],
        min_num_live_points=min_num_live_points,
        quick=quick,
    )
    return out


def posterior_1d_grid(like, mzp_mev: float, r: float = 1.0, n_grid: int = 2001) -> dict:
    """Posterior of log10 g_x at fixed (M_Z', r) by deterministic quadrature
    (:func:`~cevnsfit.inference.sampling.posterior_run` with ``sampler="grid"``).

    The likelihood is evaluated (vectorised) on ``n_grid`` equally spaced points of
    x = log10 g_x in [-4, -1]; the posterior density is p(x) = L(x) / (3 Z) with
    Z = (1/3) Int L dx by the trapezoidal rule, and the interval is the same shortest 68.3 %
    interval in log10 g_x as in :func:`posterior_1d`, computed from the grid weights.
    Same keys as :func:`posterior_1d` (``samples`` is absent; ``log10_gx`` and ``density``
    are the grid and p(x)).
    """
    from .sampling import posterior_run

    mzp, r = _check_point(mzp_mev, r)
    if n_grid < 11:
        raise ParameterError(f"n_grid must be >= 11, got {n_grid}")
    core = posterior_run(reference_problem(like, ("gx",), mzp, r), "grid", n_grid=n_grid)
    out = _summary_1d(like, mzp, r, core)
    out.update(
        log_evidence=core["log_evidence"],
        log_evidence_err=0.0,
        log10_gx=core["points"],
        density=core["density"],
        seed=None,
        sampler="grid",
        n_calls=n_grid + core["refine_calls"],
    )
    return out


def _posterior_2d_result(like, core, rr, seed, sampler, min_num_live_points, quick) -> dict:
    """:func:`posterior_2d`'s result dict from :func:`~cevnsfit.inference.sampling.posterior_run`'s."""
    from .regions import MASS_68, MASS_95

    run, reg = core["run"], core["regions"]
    pts = run["points"]
    best = int(np.argmax(run["logl"]))
    return {
        "samples": pts,
        "weights": run["weights"],
        "logl": run["logl"],
        "equal_samples": run["equal_samples"],
        "columns": ["log10_mzp", "log10_gx"],
        "region_68": reg["regions"][MASS_68],
        "region_95": reg["regions"][MASS_95],
        "levels": {"68": reg["levels"][MASS_68], "95": reg["levels"][MASS_95]},
        "credible_masses": {"68": MASS_68, "95": MASS_95},
        "histogram": reg["histogram"],
        "log_evidence": run["log_evidence"],
        "log_evidence_err": run["log_evidence_err"],
        "map_point": {
            "log10_mzp": float(pts[best, 0]),
            "log10_gx": float(pts[best, 1]),
            "logl": float(run["logl"][best]),
        },
        "logl_sm": like.logl_sm(),
        "r": rr,
        "seed": seed,
        "sampler": sampler,
        "n_calls": run["n_calls"],
        "min_num_live_points": min_num_live_points,
        "quick": quick,
        "prior": {"log10_mzp": list(PRIOR_LOG10_MZP), "log10_gx": list(PRIOR_LOG10_GX)},
    }


def posterior_2d(
    like,
    r: float = 1.0,
    sampler: str = "ultranest",
    seed: int = 1,
    log_dir=None,
    resume=True,
    min_num_live_points: int = 400,
    quick: bool = False,
    progress: bool = False,
    bins=None,
    smoothing_bins: float | None = None,
) -> dict:
    """Joint posterior of (log10 M_Z'/MeV, log10 g_x) at fixed r by nested sampling, with
    the 68 % and 95 % HPD credible regions (the reference analysis's Fig. 6), by
    :func:`~cevnsfit.inference.sampling.posterior_run`.

    The regions {p >= p*} enclosing masses 0.683 (``region_68``) and 0.954 (``region_95``)
    are drawn from a histogram of the weighted samples on ``bins`` = 40 x 40 cells over the
    prior box, smoothed with a Gaussian kernel of ``smoothing_bins`` = 2 cells (s.d.,
    reflecting edges; :data:`cevnsfit.inference.sampling.HISTOGRAM_2D`); p* is the
    smoothed-density level such that the samples in cells above it carry the mass
    (:func:`cevnsfit.inference.regions.sample_density_level`), and {p >= p*} is contoured with
    contourpy (:func:`cevnsfit.inference.regions.credible_regions_2d`). Against the exact
    posterior on a grid, the 68 % (95 %) region of a 400-live-point run holds 0.67-0.69
    (0.92-0.94) of the mass for csi2017 and csi2017+cenns10 at r = 1. Each region is a list of
    closed rings [[log10 M, log10 g], ...] (outer boundaries and holes; rings reaching the
    prior box close along it).

    Returns also ``samples`` (weighted points, shape (n, 2), columns log10 M, log10 g),
    ``weights``, ``logl``, ``equal_samples``, ``histogram`` (edges, centres, density),
    ``levels``, ``log_evidence``, ``seed``, ``sampler``, ``n_calls``, ``map_point`` (the best
    sampled point).
    """
    from .sampling import HISTOGRAM_2D, posterior_run

    rr = check_finite("r", r, positive=True)
    if rr.ndim:
        raise ParameterError("r must be a scalar for a 2D posterior in (M_Z', g_x)")
    rr = float(rr)
    if sampler == "grid":
        raise ParameterError("posterior_2d samples (ultranest, dynesty); use cevnsfit.inference.sampling.credible_grid")
    histogram = {
        "bins": HISTOGRAM_2D["bins"] if bins is None else bins,
        "smoothing_bins": HISTOGRAM_2D["smoothing_bins"] if smoothing_bins is None else smoothing_bins,
    }
    core = posterior_run(
        reference_problem(like, ("mzp_mev", "gx"), r=rr),
        sampler,
        seed=seed,
        log_dir=log_dir,
        resume=resume,
        min_num_live_points=min_num_live_points,
        quick=quick,
        progress=progress,
        histogram=histogram,
    )
    return _posterior_2d_result(like, core, rr, seed, sampler, min_num_live_points, quick)


# ---------------------------------------------------------------------------------------------
# distributed scans
# ---------------------------------------------------------------------------------------------


def _evaluator_base():
    from .scan import ProblemEvaluator

    return ProblemEvaluator


class LoglikeEvaluator:
    """ln L of the L_mu - L_tau model at points ``{"log10_mzp": ..., "log10_gx": ...}``
    (optionally ``"r"``, else the fixed ``r``), vectorised over the points: a
    :class:`~cevnsfit.inference.scan.ProblemEvaluator` of the reference problem with M_Z', g_x
    and r as its parameters, under the reference analysis's axis names.

    Only the dataset names and options travel to the workers; each worker process builds the
    likelihood on first use and keeps it (:func:`~cevnsfit.inference.scan.cached_likelihood`).

    >>> ev = LoglikeEvaluator("csi2017,cenns10", r=1.0)     # nothing is built yet
    >>> ev
    LoglikeEvaluator(csi2017+cenns10, mode='paper', r=1.0)
    >>> ev({"log10_mzp": np.array([1.3]), "log10_gx": np.array([-4.0])}).shape   # doctest: +SKIP
    (1,)
    """

    keys = ("log10_mzp", "log10_gx")

    def __init__(self, datasets, mode: str = "paper", r: float = 1.0, options: dict | None = None):
        from ..likelihoods import _parse

        self.datasets = _parse(datasets)
        self.mode = mode
        self.r = float(r)
        self.options = options or {}
        spec = ProblemSpec(tuple(self.datasets), mode, self.options, REFERENCE_MODEL, ("mzp_mev", "gx", "r"))
        self._inner = _evaluator_base()(spec)

    def likelihood(self):
        return self._inner.problem().like

    def describe(self) -> dict:
        from .. import __version__

        return {
            "class": "cevnsfit.inference.scan.LoglikeEvaluator",
            "quantity": "ln L",
            "datasets": self.datasets,
            "mode": self.mode,
            "r": self.r,
            "options": self.options,
            "cevnsfit_version": __version__,
        }

    def __call__(self, points: dict) -> np.ndarray:
        missing = [k for k in self.keys if k not in points]
        if missing:
            raise ParameterError(f"LoglikeEvaluator needs points {self.keys} (and optionally 'r'); missing {missing}")
        r = np.asarray(points.get("r", self.r), dtype=float)
        return np.asarray(
            self._inner.problem().logl(
                10.0 ** np.asarray(points["log10_mzp"], dtype=float),
                10.0 ** np.asarray(points["log10_gx"], dtype=float),
                r,
            ),
            dtype=float,
        )

    def __repr__(self) -> str:
        return f"LoglikeEvaluator({'+'.join(self.datasets)}, mode={self.mode!r}, r={self.r})"


__all__ = [
    "CHI2_LOG10_GX_SCAN",
    "LOG10_GX_RANGE",
    "LOG10_GX_SCAN",
    "LOG10_MZP_RANGE",
    "PRIOR_LOG10_GX",
    "PRIOR_LOG10_MZP",
    "REFERENCE_MODEL",
    "LoglikeEvaluator",
    "chi2_totals",
    "exclusion_map",
    "fit_gx",
    "logl",
    "lrt_statistic",
    "posterior_1d",
    "posterior_1d_grid",
    "posterior_2d",
    "reference_problem",
    "toy_calibration",
]
