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

from ..errors import ParameterError, check_finite

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


#: Default grid of :func:`exclusion` (points per POI axis).
DEFAULT_N = (101, 121)
#: Grid points per chunk of the in-process evaluation (one progress step each).
EVAL_CHUNK = 20000


def check_grid_n(n, name: str = "n") -> tuple[int, int]:
    """``n`` as two integers >= 2, refusing what would otherwise be truncated or cut."""
    try:
        items = list(n)
    except TypeError:
        raise ParameterError(f"{name} must be a pair of integers (points per POI axis), got {n!r}") from None
    if len(items) != 2:
        raise ParameterError(
            f"{name} must be a pair of integers (points per POI axis, two POIs), got {len(items)}: {n!r}"
        )
    out = []
    for k in items:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer, float, np.floating)) or k != int(k):
            raise ParameterError(f"{name} must hold integers (points per axis), got {k!r} in {n!r}")
        if int(k) < 2:
            raise ParameterError(f"an exclusion grid needs at least 2 points per axis, got {n!r}")
        out.append(int(k))
    return out[0], out[1]


def _logl_on_grid(problem, x, y, progress: bool) -> np.ndarray:
    """ln L on the outer product of internal axes x, y, in row chunks (progress on stderr)."""
    from ..progress import Progress

    pars = problem.poi_parameters
    rows = max(1, EVAL_CHUNK // max(y.size, 1))
    starts = list(range(0, x.size, rows))
    out = np.empty((x.size, y.size))
    yv = pars[1].from_internal(y)[None, :]
    with Progress(x.size * y.size, "exclusion grid", enabled=progress, unit="points") as bar:
        for i in starts:
            xs = x[i : i + rows]
            out[i : i + xs.size] = problem.logl(pars[0].from_internal(xs)[:, None], yv)
            bar.advance(xs.size * y.size)
    return out


def exclusion(
    problem,
    n: tuple[int, int] | None = None,
    z: float = 2.0,
    dof: int = 2,
    logl_grid: np.ndarray | None = None,
    axes=None,
    progress: bool = False,
) -> dict:
    """Exclusion map of a two-POI :class:`~cevnsfit.inference.problem.Problem` (any model).

    ln L on a grid of internal coordinates (default: each POI's declared prior range with
    ``n`` points), t = 2 (max(ln L over the grid and the null) - ln L), and the polylines of
    t at the Wilks threshold for Z = ``z`` with ``dof`` degrees of freedom. ``logl_grid`` may be
    passed in (e.g. from a distributed :func:`cevnsfit.inference.scan.grid_scan`). The result
    carries ``method = "wilks"``; toy-calibrated (Neyman) thresholds are a separate method.
    ``n`` (default :data:`DEFAULT_N`) and ``axes`` exclude each other; ``progress`` shows the
    in-process evaluation on stderr.
    """
    from .checks import with_declared_defaults

    problem = with_declared_defaults(problem)
    pars = problem.poi_parameters
    if len(pars) != 2:
        raise ParameterError(f"an exclusion map needs two parameters of interest, got {problem.poi}")
    if isinstance(dof, bool) or int(dof) != dof or int(dof) < 1:
        raise ParameterError(f"dof must be an integer >= 1, got {dof!r}")
    check_finite("z", z, positive=True)
    if axes is None:
        n = check_grid_n(DEFAULT_N if n is None else n)
        axes = [np.linspace(*p.internal_range, k) for p, k in zip(pars, n)]
    elif n is not None:
        raise ParameterError("give n (points per axis over the prior box) or axes (the grid itself), not both")
    if len(axes) != 2:
        raise ParameterError(f"axes must be two 1D arrays (one per POI), got {len(axes)}")
    x, y = (np.asarray(a, dtype=float) for a in axes)
    if x.ndim != 1 or y.ndim != 1 or min(x.size, y.size) < 2:
        raise ParameterError(f"axes must be two 1D arrays of >= 2 points, got shapes {x.shape}, {y.shape}")
    if logl_grid is None:
        logl_grid = _logl_on_grid(problem, x, y, progress)
    else:
        logl_grid = np.asarray(logl_grid, dtype=float)
        if logl_grid.shape != (x.size, y.size):
            raise ParameterError(f"logl_grid has shape {logl_grid.shape}; the grid is {(x.size, y.size)}")
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
