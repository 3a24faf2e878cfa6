"""Maximum-likelihood fits of g_x at fixed (M_Z', r), Wilks significances and the
chi-square of totals (ANALYSES.md section 3).

Test statistic: t = -2 ln(L_SM / L(g_hat)) = 2 (ln L_max - ln L(g_x = 0)), compared with a
chi-square of ``eta`` degrees of freedom (eta = number of estimated parameters, 1 here):
p = P(chi2_eta > t), Z = Phi^-1(1 - p/2). g_x >= 0, so the SM sits on the boundary: see
:mod:`cevnsfit.inference.toys` for the toy-MC calibration.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from ..errors import check_finite
from ..likelihoods import likelihood

#: Default g_x scan for maximisation: log10 g_x in [-5, -1] (g_x = 1e-5 is the SM to < 1e-8 in rate).
LOG10_GX_SCAN = np.linspace(-5.0, -1.0, 801)


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


def fit_gx(like, mzp_mev: float, r: float = 1.0, log10_gx_scan=LOG10_GX_SCAN, dof: int = 1,
           paper_sign: bool = False) -> dict:
    """MLE of g_x at fixed (M_Z', r) for a :class:`~cevnsfit.likelihoods.Likelihood`.

    Returns ``gx_mle``, ``t``, ``p``, ``z_sigma``, ``logl_max``, ``logl_sm`` and all local maxima
    found on the scan (the likelihood can have two: below and beyond the sign flip of Q_V).
    """
    mzp = float(check_finite("mzp_mev", mzp_mev, positive=True))
    check_finite("r", r, positive=True)
    grid = np.asarray(log10_gx_scan, dtype=float)
    ll = like.logl(np.full_like(grid, mzp), 10.0**grid, r, paper_sign=paper_sign)
    ll_sm = like.logl_sm()

    def nll(x):
        return -float(like.logl(mzp, 10.0**x, r, paper_sign=paper_sign))

    maxima = []
    for i in _local_extrema(ll, "max"):
        x, f = _refine(nll, grid, i)
        maxima.append({"gx": 10.0**x, "logl": -f, "t": 2.0 * (-f - ll_sm)})
    i_best = int(np.argmax(ll))
    if i_best in (0, len(grid) - 1) or not maxima:
        best = {"gx": 10.0 ** grid[i_best], "logl": float(ll[i_best])}
    else:
        best = max(maxima, key=lambda m: m["logl"])
    if best["logl"] <= ll_sm:     # the SM (boundary) is the maximum
        best = {"gx": 0.0, "logl": ll_sm}
    t = 2.0 * (best["logl"] - ll_sm)
    p, z = wilks(t, dof)
    return {"mzp_mev": mzp, "r": float(r), "gx_mle": best["gx"], "t": t, "p": p, "z_sigma": z,
            "logl_max": best["logl"], "logl_sm": ll_sm, "dof": dof,
            "local_maxima": sorted(maxima, key=lambda m: m["gx"]), "datasets": like.names, "mode": like.mode}


#: Default g_x grid of :func:`chi2_totals` (log10 g_x from -4 to -1, 1201 points).
CHI2_LOG10_GX_SCAN = np.linspace(-4.0, -1.0, 1201)
CHI2_LOG10_GX_SCAN.flags.writeable = False


def chi2_totals(mzp_mev: float, r: float = 1.0, normalisation: str = "published",
                log10_gx_scan=CHI2_LOG10_GX_SCAN, matching: str | None = None) -> dict:
    """Chi-square of the CsI 2020 and argon totals against g_x (ANALYSES.md section 2) with every
    local minimum located and refined; ``normalisation`` of the argon prediction: ``published``
    (128 N_Ar(theta)/N_Ar(SM)) or ``computed`` (our N_Ar(theta))."""
    like = likelihood("csi2020_totals,cenns10_totals", matching=matching,
                      options={"cenns10_totals": {"normalisation": normalisation}})
    mzp = float(check_finite("mzp_mev", mzp_mev, positive=True))
    grid = np.asarray(log10_gx_scan, dtype=float)
    chi2 = -2.0 * like.logl(np.full_like(grid, mzp), 10.0**grid, r)

    def fun(x):
        return -2.0 * float(like.logl(mzp, 10.0**x, r))

    minima = []
    for i in _local_extrema(chi2, "min"):
        x, f = _refine(fun, grid, i)
        minima.append({"gx": 10.0**x, "chi2": f})
    return {"mzp_mev": mzp, "r": float(r), "normalisation": normalisation, "gx": (10.0**grid).tolist(),
            "chi2": chi2.tolist(), "minima": minima, "chi2_sm": -2.0 * like.logl_sm(),
            "global_minimum": min(minima, key=lambda m: m["chi2"]) if minima else None}
