"""Exclusion maps in any two parameters of interest (:func:`exclusion`) (docs: statistics). The
reference analysis's map in (log10 M_Z', log10 g_x) (``exclusion_map``) is a wrapper in
:mod:`cevnsfit.inference.reference`.

t(theta) = -2 ln(L(theta)/L(theta_hat)) with theta_hat the maximum over the grid and the null;
a point is excluded at Z sigma where the Wilks significance (``dof`` estimated parameters,
default 2: M_Z' and g_x) exceeds Z. The excluded region need not be simply connected (a
large g_x can flip the sign of Q_V and restore the SM rate), so contours are returned as
a list of polylines.
"""

from __future__ import annotations

import contourpy
import numpy as np
from scipy import stats

from ..errors import ParameterError

_MOVED = ("exclusion_map", "LOG10_MZP_RANGE", "LOG10_GX_RANGE")


def t_threshold(z: float = 2.0, dof: int = 2) -> float:
    """t above which Z_Wilks > z: chi2_dof quantile at p = 2 (1 - Phi(z)).

    >>> round(t_threshold(2.0, 1), 4), round(t_threshold(2.0, 2), 4)
    (4.0, 6.1801)
    """
    return float(stats.chi2.isf(2.0 * stats.norm.sf(z), dof))


def contour_lines(x, y, values, level) -> list[list[list[float]]]:
    """Polylines of ``values`` (shape (len(x), len(y))) at ``level`` (contourpy)."""
    gen = contourpy.contour_generator(
        x=np.asarray(x), y=np.asarray(y), z=np.asarray(values).T, line_type=contourpy.LineType.Separate
    )
    return [line.tolist() for line in gen.lines(level)]


def exclusion(
    problem,
    n: tuple[int, int] = (101, 121),
    z: float = 2.0,
    dof: int = 2,
    logl_grid: np.ndarray | None = None,
    axes=None,
) -> dict:
    """Exclusion map of a two-POI :class:`~cevnsfit.inference.problem.Problem` (any model).

    ln L on a grid of internal coordinates (default: each POI's declared prior range with
    ``n`` points), t = 2 (max(ln L over the grid and the null) - ln L), and the polylines of
    t at the Wilks threshold for Z = ``z`` with ``dof`` degrees of freedom. ``logl_grid`` may be
    passed in (e.g. from a distributed :func:`cevnsfit.inference.scan.grid_scan`). The result
    carries ``method = "wilks"``; toy-calibrated (Neyman) thresholds are a separate method.
    """
    pars = problem.poi_parameters
    if len(pars) != 2:
        raise ParameterError(f"an exclusion map needs two parameters of interest, got {problem.poi}")
    if int(dof) < 1:
        raise ParameterError(f"dof must be >= 1, got {dof}")
    n = tuple(int(k) for k in n)
    if min(n) < 2:
        raise ParameterError(f"an exclusion grid needs at least 2 points per axis, got {n}")
    if axes is None:
        axes = [np.linspace(*p.internal_range, k) for p, k in zip(pars, n)]
    x, y = (np.asarray(a, dtype=float) for a in axes)
    if logl_grid is None:
        logl_grid = problem.logl(pars[0].from_internal(x)[:, None], pars[1].from_internal(y)[None, :])
    ll_null = problem.logl_null()
    ll_max = max(float(np.max(logl_grid)), ll_null)
    t = 2.0 * (ll_max - logl_grid)
    thr = t_threshold(z, dof)
    names = problem.internal_names
    return {
        **problem.describe(),
        "method": "wilks",
        "z": z,
        "dof": dof,
        "t_threshold": thr,
        "axes": list(names),
        names[0]: x.tolist(),
        names[1]: y.tolist(),
        "t": t.tolist(),
        "t_null": 2.0 * (ll_max - ll_null),
        "contours": contour_lines(x, y, t, thr),
        "units": {p.name: p.unit or "dimensionless" for p in pars},
    }


def __getattr__(name: str):
    """The reference analysis's names moved to :mod:`cevnsfit.inference.reference`; old imports keep working."""
    if name in _MOVED:
        from . import reference

        return getattr(reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
