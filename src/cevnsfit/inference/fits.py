"""Maximum-likelihood fits, Wilks significances and profile-likelihood intervals for any model
(:func:`fit`, :func:`profile_interval`) (docs: statistics). The reference analysis's g_x fit
(``fit_gx``) and chi-square of totals (``chi2_totals``) are wrappers in
:mod:`cevnsfit.inference.reference`.

Test statistic: t = -2 ln(L_null / L(theta_hat)) = 2 (ln L_max - ln L_null), the null being
every parameter of interest at its declared default (zero coupling: the SM), compared with a
chi-square of ``dof`` degrees of freedom (default: the number of parameters of interest):
p = P(chi2_dof > t), Z = Phi^-1(1 - p/2). A coupling >= 0 puts the SM on the boundary: see
:mod:`cevnsfit.inference.toys` for the toy-MC calibration.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from ..errors import ParameterError, check_finite

_MOVED = ("fit_gx", "chi2_totals", "LOG10_GX_SCAN", "CHI2_LOG10_GX_SCAN")


def wilks(t: float, dof: int = 1) -> tuple[float, float]:
    """p-value and significance Z of a likelihood-ratio statistic t (Wilks).

    >>> p, z = wilks(4.0)
    >>> round(p, 4), round(z, 4)
    (0.0455, 2.0)
    """
    t = max(float(t), 0.0)
    p = float(stats.chi2.sf(t, dof))
    return p, float(stats.norm.isf(p / 2.0))


def _local_extrema(y: np.ndarray, kind: str) -> list[int]:
    s = 1.0 if kind == "max" else -1.0
    z = s * y
    idx = [i for i in range(1, len(z) - 1) if z[i] >= z[i - 1] and z[i] > z[i + 1]]
    return idx


def _refine(fun, log10_grid: np.ndarray, i: int) -> tuple[float, float]:
    """Refine an extremum of ``fun(log10 g)`` (minimised) bracketed by grid neighbours."""
    lo, hi = log10_grid[max(i - 1, 0)], log10_grid[min(i + 1, len(log10_grid) - 1)]
    res = optimize.minimize_scalar(fun, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    return float(res.x), float(res.fun)


def _default_grid_1d(par) -> np.ndarray:
    """Internal-coordinate scan of one POI: for a log-uniform prior one decade below the prior
    range up to its top (801 points; the lowest decade reaches the SM to < 1e-8 in rate for the
    couplings), else the prior range (401 points)."""
    lo, hi = par.internal_range
    if par.log_scale:
        return np.linspace(lo - 1.0, hi, 801)
    return np.linspace(lo, hi, 401)


def _fit_dof(problem, pars, grid, dof) -> int:
    """:func:`fit`'s argument checks: the number of degrees of freedom (default: the POIs)."""
    if dof is not None and (isinstance(dof, bool) or int(dof) != dof):
        raise ParameterError(f"dof must be an integer >= 1, got {dof!r}")
    dof = len(pars) if dof is None else int(dof)
    if dof < 1:
        raise ParameterError(f"dof must be >= 1, got {dof}")
    if grid is not None and len(pars) != 1:
        raise ParameterError(
            f"grid applies to a one-POI fit; this problem has {len(pars)} POIs {problem.poi} (81 x 81 over the prior box)"
        )
    return dof


def _fit_1d(problem, par, grid, ll_null, profile_deltas):
    """:func:`fit` with one POI: (best point, local maxima, profile deltas) from the grid."""
    maxima = []
    g = _default_grid_1d(par) if grid is None else np.asarray(grid, dtype=float)
    ll = problem.logl(par.from_internal(g))

    def nll(x):
        return -float(problem.logl(par.from_internal(x)))

    for i in _local_extrema(ll, "max"):
        x, f = _refine(nll, g, i)
        maxima.append({par.name: float(par.from_internal(x)), "logl": -f, "t": 2.0 * (-f - ll_null)})
    i_best = int(np.argmax(ll))
    if i_best in (0, len(g) - 1) or not maxima:
        best = {par.name: float(par.from_internal(g[i_best])), "logl": float(ll[i_best])}
    else:
        best = max(maxima, key=lambda m: m["logl"])
    maxima = sorted(maxima, key=lambda m: m[par.name])
    lo, hi = par.internal_range
    inside = (g >= lo - 1e-12) & (g <= hi + 1e-12)
    deltas = profile_deltas([g[inside]], ll[inside] if inside.any() else ll)
    return best, maxima, deltas


def _fit_2d(problem, pars, profile_deltas):
    """:func:`fit` with two POIs: (best point, profile deltas) from an 81 x 81 grid, refined."""
    from ..likelihoods.profile import minimise

    axes = [np.linspace(*p.internal_range, 81) for p in pars]
    xx = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    ll = problem.logl_internal(xx)
    i = np.unravel_index(int(np.argmax(ll)), ll.shape)
    box = [p.internal_range for p in pars]
    m = minimise(
        lambda x: -2.0 * float(problem.logl_internal(np.asarray(x))),
        xx[i],
        limits=box,
        errors=[0.02 * (b - a) for a, b in box],
        names=list(problem.internal_names),
    )
    x = np.array(m.values)
    val = -0.5 * m.fval
    if val < float(ll[i]):
        x, val = xx[i], float(ll[i])
    best = {p.name: float(p.from_internal(v)) for p, v in zip(pars, x)}
    best["logl"] = val
    deltas = profile_deltas(axes, ll)
    return best, deltas


def fit(problem, grid=None, dof: int | None = None) -> dict:
    """MLE of the parameters of interest of a :class:`~cevnsfit.inference.problem.Problem`.

    One POI: ln L on a grid of internal coordinates (``grid``, default :func:`_default_grid_1d`),
    every interior local maximum refined with a bounded Brent search; two POIs: a grid of
    81 x 81 over the prior box, the best point refined with :func:`~cevnsfit.likelihoods.profile.minimise`.
    The null hypothesis (POIs at their declared defaults, e.g. zero coupling = the SM) is a
    candidate too. t = 2 (ln L_max - ln L_null), Wilks with ``dof`` (default: the number of POIs).

    Returns ``mle`` (name -> value), ``t``, ``p``, ``z_sigma``, ``logl_max``, ``logl_null``,
    ``dof``, ``local_maxima`` (1 POI) and the problem's description.

    A POI whose profile -2 ln L varies by less than
    :data:`~cevnsfit.inference.checks.UNCONSTRAINED_DELTA` across its declared prior range
    (``profile_delta``) is listed in ``unconstrained``: its ``mle`` entry is None, and with any
    unconstrained POI ``p`` and ``z_sigma`` are None (there is nothing to estimate or test).
    """
    from .checks import UNCONSTRAINED_DELTA, profile_deltas, with_declared_defaults

    problem = with_declared_defaults(problem)
    pars = problem.poi_parameters
    dof = _fit_dof(problem, pars, grid, dof)
    ll_null = problem.logl_null()
    maxima: list = []
    if len(pars) == 1:
        best, maxima, deltas = _fit_1d(problem, pars[0], grid, ll_null, profile_deltas)
    elif len(pars) == 2:
        best, deltas = _fit_2d(problem, pars, profile_deltas)
    else:
        raise ParameterError(f"fit takes one or two parameters of interest, got {len(pars)}: {problem.poi}")
    if best["logl"] <= ll_null:  # the null (often the SM, on the boundary) is the maximum
        best = {**problem.null_values(), "logl": ll_null}
    t = 2.0 * (best["logl"] - ll_null)
    p, z = wilks(t, dof)
    delta = {par.name: d for par, d in zip(pars, deltas)}
    free = [k for k, d in delta.items() if d < UNCONSTRAINED_DELTA]
    if free:
        p = z = None
    return {
        "mle": {k: (None if k in free else float(best[k])) for k in problem.poi},
        "t": t,
        "p": p,
        "z_sigma": z,
        "unconstrained": free,
        "profile_delta": delta,
        "logl_max": best["logl"],
        "logl_null": ll_null,
        "dof": dof,
        "local_maxima": maxima,
        **problem.describe(),
    }


def profile_interval(problem, delta: float = 1.0, grid=None) -> dict:
    """Likelihood-ratio interval of one POI: the set where t(x) = 2 (ln L_max - ln L(x)) <= ``delta``
    (1.0: 68.3 % for one parameter by Wilks; 2.706: the conventional 90 % CL), as segments
    with linearly interpolated ends on the :func:`fit` grid (internal coordinates, so log-spaced
    for log-uniform priors). An interval reaching the lowest grid point of a coupling is an
    upper limit: ``upper_limit`` is its upper end. Returns the MLE, the segments in values,
    ``delta`` and whether each end touches the grid edge.
    """
    from .checks import with_declared_defaults

    problem = with_declared_defaults(problem)
    pars = problem.poi_parameters
    if len(pars) != 1:
        raise ParameterError(f"profile_interval takes one parameter of interest, got {problem.poi}")
    check_finite("delta", delta, positive=True)
    par = pars[0]
    g = _default_grid_1d(par) if grid is None else np.asarray(grid, dtype=float)
    ll = problem.logl(par.from_internal(g))
    best = fit(problem, grid=g)
    ll_max = max(best["logl_max"], float(np.max(ll)))
    t = 2.0 * (ll_max - ll)
    inside = t <= delta
    segs = []
    i = 0
    while i < len(g):
        if not inside[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(g) and inside[j + 1]:
            j += 1

        lo = g[i] if i == 0 else g[i - 1] + (delta - t[i - 1]) / (t[i] - t[i - 1]) * (g[i] - g[i - 1])
        hi = g[j] if j == len(g) - 1 else g[j] + (delta - t[j]) / (t[j + 1] - t[j]) * (g[j + 1] - g[j])
        segs.append(
            {
                "low": float(par.from_internal(lo)),
                "high": float(par.from_internal(hi)),
                "low_at_grid_edge": i == 0,
                "high_at_grid_edge": j == len(g) - 1,
            }
        )
        i = j + 1
    upper = segs[0]["high"] if segs and segs[0]["low_at_grid_edge"] and len(segs) == 1 else None
    return {
        "poi": par.name,
        "mle": best["mle"][par.name],
        "delta": float(delta),
        "segments": segs,
        "upper_limit": upper,
        "t_null": best["t"],
        "z_null": best["z_sigma"],
        **problem.describe(),
    }


def __getattr__(name: str):
    """The reference analysis's names moved to :mod:`cevnsfit.inference.reference`; old imports keep working."""
    if name in _MOVED:
        from . import reference

        return getattr(reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
