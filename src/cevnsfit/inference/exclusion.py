"""Exclusion maps in (log10 M_Z', log10 g_x) (ANALYSES.md section 3).

t(theta) = -2 ln(L(theta)/L(theta_hat)) with theta_hat the maximum over the grid and the SM;
a point is excluded at Z sigma where the Wilks significance (``dof`` estimated parameters,
default 2: M_Z' and g_x) exceeds Z. The excluded region need not be simply connected (a
large g_x can flip the sign of Q_V and restore the SM rate), so contours are returned as
a list of polylines.
"""

from __future__ import annotations

import contourpy
import numpy as np
from scipy import stats

from ..errors import ParameterError, check_finite
from ..likelihoods import likelihood

LOG10_MZP_RANGE = (0.5, 3.0)
LOG10_GX_RANGE = (-4.0, -1.0)


def t_threshold(z: float = 2.0, dof: int = 2) -> float:
    """t above which Z_Wilks > z: chi2_dof quantile at p = 2 (1 - Phi(z)).

    >>> round(t_threshold(2.0, 1), 4), round(t_threshold(2.0, 2), 4)
    (4.0, 6.1801)
    """
    return float(stats.chi2.isf(2.0 * stats.norm.sf(z), dof))


def contour_lines(x, y, values, level) -> list[list[list[float]]]:
    """Polylines of ``values`` (shape (len(x), len(y))) at ``level`` (contourpy)."""
    gen = contourpy.contour_generator(x=np.asarray(x), y=np.asarray(y), z=np.asarray(values).T,
                                      line_type=contourpy.LineType.Separate)
    return [line.tolist() for line in gen.lines(level)]


def exclusion_map(datasets, mode: str = "paper", r: float = 1.0, n_mzp: int = 101, n_gx: int = 121,
                  z: float = 2.0, dof: int = 2, options: dict | None = None, matching: str | None = None,
                  logl_grid: np.ndarray | None = None) -> dict:
    """t on the grid and its Z = ``z`` contour for a dataset combination.

    ``logl_grid`` may be passed in (e.g. from a distributed :func:`cevnsfit.inference.scan.grid_scan`);
    otherwise ln L is evaluated here in one vectorised call.
    """
    for name, value, least in (("n_mzp", n_mzp, 2), ("n_gx", n_gx, 2), ("dof", dof, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise ParameterError(f"{name} must be an integer >= {least} (a contour needs a grid of at least "
                                 f"2 x 2 points; Wilks needs >= 1 degree of freedom), got {value!r}")
    check_finite("z", z, positive=True)
    like = likelihood(datasets, mode=mode, matching=matching, options=options)
    lm = np.linspace(*LOG10_MZP_RANGE, n_mzp)
    lg = np.linspace(*LOG10_GX_RANGE, n_gx)
    if logl_grid is None:
        logl_grid = like.logl(10.0 ** lm[:, None], 10.0 ** lg[None, :], r)
    ll_sm = like.logl_sm()
    ll_max = max(float(np.max(logl_grid)), ll_sm)
    t = 2.0 * (ll_max - logl_grid)
    thr = t_threshold(z, dof)
    return {
        "datasets": like.names, "mode": mode, "r": float(r), "z": z, "dof": dof, "t_threshold": thr,
        "log10_mzp": lm.tolist(), "log10_gx": lg.tolist(), "t": t.tolist(),
        "t_sm": 2.0 * (ll_max - ll_sm), "contours": contour_lines(lm, lg, t, thr),
        "units": {"mzp": "MeV", "gx": "dimensionless"},
    }
