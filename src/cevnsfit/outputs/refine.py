"""Exclusion maps refined near their contour level, for drawing (docs: gallery).

A scan grid resolves the excluded region only to its spacing. Where an allowed region is a
thin band (at large coupling, where the BSM amplitude flips the sign of Q_V and restores the SM
rate) the band is one or two grid points wide; contouring it draws scattered small loops. The
figures therefore contour a grid ``factor`` times finer, on which t is evaluated exactly (the
same likelihood, the same t = 2 (ln L_max - ln L) with the map's ln L_max) in every coarse
cell that the level crosses or that neighbours such a cell, and interpolated bilinearly in the
others. Bilinear interpolation stays within its cell's corner values, so a cell whose corners
all lie on one side of the level (and whose neighbours do too) cannot create or lose a crossing.
The numbers of the map (its t on the scan grid, its contours in results.json) are unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.interpolate import RegularGridInterpolator

from ..errors import ParameterError
from ..inference.exclusion import contour_lines

#: Least refinement factor of the figures' grids, and the fewest points per axis a refined grid has
#: (coarse scans, e.g. ``reproduce --quick``, get a larger factor).
REFINE_FACTOR = 4
MIN_FINE_POINTS = 100


def _fine_axis(a: np.ndarray, k: int) -> np.ndarray:
    """Each interval of ``a`` divided into ``k`` equal steps (the nodes of ``a`` kept exactly)."""
    steps = np.arange(k) / k
    inner = (a[:-1, None] + steps[None, :] * np.diff(a)[:, None]).ravel()
    return np.concatenate([inner, a[-1:]])


def crossing_cells(t: np.ndarray, level: float, dilate: int = 1) -> np.ndarray:
    """Cells (shape (nx - 1, ny - 1)) whose corners lie on both sides of ``level``, grown by
    ``dilate`` cells in every direction.

    >>> t = np.array([[0.0, 0.0, 0.0], [0.0, 10.0, 10.0], [10.0, 10.0, 10.0]])
    >>> crossing_cells(t, 5.0, dilate=0).astype(int).tolist()
    [[1, 1], [1, 0]]
    """
    corners = np.stack([t[:-1, :-1], t[1:, :-1], t[:-1, 1:], t[1:, 1:]])
    cross = (corners.min(axis=0) <= level) & (corners.max(axis=0) > level)
    if dilate > 0:
        cross = ndimage.binary_dilation(cross, iterations=int(dilate))
    return cross


def refine_near_level(x, y, t, level: float, t_of, factor: int = 4, dilate: int = 1, chunk: int = 20000) -> dict:
    """t on a ``factor`` times finer grid: exact (``t_of(px, py)`` on 1D arrays of internal
    coordinates) in the cells :func:`crossing_cells` flags, bilinear elsewhere.

    Returns ``{"x", "y", "t", "factor", "n_evaluated"}`` with ``t`` of shape (len(x), len(y)).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    if t.shape != (x.size, y.size):
        raise ParameterError(f"t has shape {t.shape}, expected ({x.size}, {y.size}) from the axes")
    k = int(factor)
    if k < 1:
        raise ParameterError(f"factor must be an integer >= 1, got {factor!r}")
    xf, yf = _fine_axis(x, k), _fine_axis(y, k)
    interp = RegularGridInterpolator((x, y), t, method="linear")
    gx, gy = np.meshgrid(xf, yf, indexing="ij")
    tf = interp(np.stack([gx.ravel(), gy.ravel()], axis=-1)).reshape(gx.shape)
    cells = crossing_cells(t, level, dilate)
    block = np.kron(cells, np.ones((k, k), dtype=bool))  # fine points [ik, (i+1)k) x [jk, (j+1)k)
    mask = np.zeros(tf.shape, dtype=bool)
    mask[:-1, :-1] |= block
    mask[1:, :-1] |= block  # the far edges of each cell as well
    mask[:-1, 1:] |= block
    mask[1:, 1:] |= block
    on_node = (np.arange(xf.size) % k == 0)[:, None] & (np.arange(yf.size) % k == 0)[None, :]
    mask &= ~on_node  # scan nodes keep their exact values
    ii, jj = np.nonzero(mask)
    for s in range(0, ii.size, chunk):
        sl = slice(s, s + chunk)
        tf[ii[sl], jj[sl]] = t_of(xf[ii[sl]], yf[jj[sl]])
    tf[::k, ::k] = t
    return {"x": xf, "y": yf, "t": tf, "factor": k, "n_evaluated": int(ii.size)}


def problem_t_of(problem, t_ref: float, at: tuple[float, float]):
    """t(px, py) = 2 (ln L_max - ln L) of a two-POI problem on internal coordinates, with ln L_max
    fixed by one scan node: t(at) = ``t_ref``."""
    p0, p1 = problem.poi_parameters
    ll_max = float(problem.logl(p0.from_internal(np.array([at[0]])), p1.from_internal(np.array([at[1]])))[0])
    ll_max += 0.5 * float(t_ref)

    def t_of(px, py):
        return 2.0 * (ll_max - np.asarray(problem.logl(p0.from_internal(px), p1.from_internal(py)), dtype=float))

    return t_of


def refine_map(problem, emap: dict, factor: int = 4, dilate: int = 1) -> dict:
    """The ``refined`` entry of an exclusion map (``t``, its two axes and ``t_threshold``, as
    :func:`cevnsfit.inference.exclusion.exclusion` and ``exclusion_map`` return them) for
    ``problem``, the problem the map was computed from."""
    names = emap["axes"] if "log10_mzp" not in emap else ("log10_mzp", "log10_gx")
    x, y = (np.asarray(emap[n], dtype=float) for n in names)
    t = np.asarray(emap["t"], dtype=float)
    i, j = np.unravel_index(int(np.argmin(t)), t.shape)
    t_of = problem_t_of(problem, t[i, j], (x[i], y[j]))
    out = refine_near_level(x, y, t, float(emap["t_threshold"]), t_of, factor, dilate)
    return {"axes": list(names), **out}


def with_refined(emap: dict, problem, factor: int | None = None) -> dict:
    """The map with its grid refined near the contour level for drawing (``refined``) and the
    contours of the refined grid (``contours_refined``; ``contours`` stay those of the scan).
    Default ``factor``: :data:`REFINE_FACTOR`, or more so that each axis has at least
    :data:`MIN_FINE_POINTS` points."""
    if factor is None:
        n = min(len(emap["t"]), len(emap["t"][0]))
        factor = max(REFINE_FACTOR, -(-MIN_FINE_POINTS // (n - 1)))
    ref = refine_map(problem, emap, factor=factor)
    return {
        **emap,
        "refined": ref,
        "contours_refined": contour_lines(ref["x"], ref["y"], ref["t"], emap["t_threshold"]),
    }


__all__ = ["REFINE_FACTOR", "crossing_cells", "problem_t_of", "refine_map", "refine_near_level", "with_refined"]
