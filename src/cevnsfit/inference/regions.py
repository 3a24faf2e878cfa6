"""Credible intervals and regions from samples or gridded densities.

Definitions used throughout :mod:`cevnsfit.inference`:

- 1D: the *shortest interval* containing a mass ``m`` of the posterior. For a unimodal density
  it is the highest-posterior-density (HPD) interval {x : p(x) >= p*}. It depends on the
  variable the density is written in; cevnsfit quotes it in the sampled variable
  (log10 g_x), where the prior is flat.
- 2D: the HPD region {(x, y) : p(x, y) >= p*}, with p* chosen so the region holds mass ``m``
  of the samples, p from a histogram of the (weighted) samples smoothed with a Gaussian
  kernel, contoured with contourpy. The region need not be connected or simply connected.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import ParameterError

#: Posterior masses of the "68 %" and "95 %" credible sets: the Gaussian 1 and 2 sigma contents.
MASS_68 = 0.683
MASS_95 = 0.954


def _check_mass(mass: float) -> float:
    if not 0.0 < mass < 1.0:
        raise ParameterError(f"mass must be in (0, 1), got {mass}")
    return float(mass)


def shortest_interval(x, mass: float = MASS_68, weights=None) -> tuple[float, float]:
    """The shortest interval [x_i, x_j] of (weighted) samples holding at least ``mass``.

    With normalised weights w_k, the cumulative distribution F is taken piecewise linear
    through the sorted samples' mid-points F_(i) = sum_{k<i} w_(k) + w_(i)/2; the interval is
    [x_(i), F^-1(F_(i) + mass)] of smallest width. For a unimodal density it is the HPD
    interval. Works for equally weighted samples, weighted nested samples and fine grids
    (weights = density).

    >>> x = np.linspace(-5, 5, 100001)
    >>> lo, hi = shortest_interval(x, 0.683, weights=np.exp(-0.5 * x**2))
    >>> round(lo, 3), round(hi, 3)
    (-1.001, 1.001)
    """
    mass = _check_mass(mass)
    x = np.asarray(x, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if x.size == 0 or x.shape != w.shape or np.any(w < 0) or not np.isfinite(w.sum()) or w.sum() <= 0:
        raise ParameterError("shortest_interval needs matching non-empty x and non-negative weights")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order] / w.sum()
    # piecewise-linear CDF through the sample mid-points, so the upper edge is continuous
    cdf = np.cumsum(w) - 0.5 * w
    start = cdf <= cdf[-1] - mass
    if not np.any(start):
        return float(x[0]), float(x[-1])
    lo = x[start]
    hi = np.interp(cdf[start] + mass, cdf, x)
    k = int(np.argmin(hi - lo))
    return float(lo[k]), float(hi[k])


def density_level(density, mass: float) -> float:
    """The level p* such that the cells with density >= p* hold ``mass`` of the total.

    Cells are equal-area; the level is interpolated linearly in the cumulative mass.

    >>> density_level(np.array([4.0, 3.0, 2.0, 1.0]), 0.7)
    3.0
    """
    mass = _check_mass(mass)
    d = np.sort(np.asarray(density, dtype=float).ravel())[::-1]
    if d.size == 0 or d.sum() <= 0:
        raise ParameterError("density_level needs a density with positive total")
    cum = np.cumsum(d) / d.sum()
    k = int(np.searchsorted(cum, mass - 1e-12, side="left"))
    if k == 0:
        return float(d[0])
    # interpolate between the level that gives cum[k-1] and the one that gives cum[k]
    frac = (mass - cum[k - 1]) / (cum[k] - cum[k - 1])
    return float(d[k - 1] + frac * (d[k] - d[k - 1]))


def hpd_intervals_1d(x, density, mass: float = MASS_68) -> list[tuple[float, float]]:
    """HPD region {x : p(x) >= p*} of a density sampled on a uniform grid, as disjoint
    intervals (the crossings of p* are interpolated linearly).

    >>> x = np.linspace(-5, 5, 10001)
    >>> [(round(a, 2), round(b, 2)) for a, b in hpd_intervals_1d(x, np.exp(-0.5 * x**2))]
    [(-1.0, 1.0)]
    """
    x = np.asarray(x, dtype=float)
    p = np.asarray(density, dtype=float)
    level = density_level(p, mass)
    above = p >= level
    edges = np.flatnonzero(np.diff(above.astype(int)))
    out, start = [], (float(x[0]) if above[0] else None)

    def cross(i):  # crossing between x[i] and x[i+1]
        d = p[i + 1] - p[i]
        return float(x[i] + (level - p[i]) / d * (x[i + 1] - x[i])) if d != 0 else float(x[i])

    for i in edges:
        if above[i + 1]:
            start = cross(i)
        else:
            out.append((start, cross(i)))
            start = None
    if start is not None:
        out.append((start, float(x[-1])))
    return out


def smoothed_histogram_2d(
    x, y, weights=None, *, bins=(40, 40), ranges=((0.5, 3.0), (-4.0, -1.0)), smoothing_bins: float = 2.0
) -> dict:
    """Weighted 2D histogram normalised to a density, smoothed with a Gaussian kernel of
    ``smoothing_bins`` bin widths (standard deviation, along each axis; reflecting edges, so no
    mass leaks out of the box). Returns the bin edges, centres and the density (shape
    ``(len(x_centres), len(y_centres))``, integrating to 1 over the box).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    h, xe, ye = np.histogram2d(x, y, bins=bins, range=ranges, weights=weights)
    if h.sum() <= 0:
        raise ParameterError("no sample weight inside the histogram ranges")
    if smoothing_bins > 0:
        h = ndimage.gaussian_filter(h, sigma=smoothing_bins, mode="reflect")
    area = np.diff(xe)[:, None] * np.diff(ye)[None, :]
    return {
        "x_edges": xe,
        "y_edges": ye,
        "x_centres": 0.5 * (xe[1:] + xe[:-1]),
        "y_centres": 0.5 * (ye[1:] + ye[:-1]),
        "density": h / (h.sum() * area),
        "smoothing_bins": float(smoothing_bins),
    }


def region_polylines(x_centres, y_centres, density, level: float, bounds=None) -> list[list[list[float]]]:
    """Closed rings ([[x, y], ...], first point repeated last) bounding {p >= level}.

    Outer boundaries and holes are all returned. With ``bounds = ((x0, x1), (y0, y1))`` the
    grid is padded out to the box with the edge values, so a region that reaches the box edge
    closes along it.
    """
    import contourpy

    xs = np.asarray(x_centres, dtype=float)
    ys = np.asarray(y_centres, dtype=float)
    z = np.asarray(density, dtype=float)
    if bounds is not None:
        (x0, x1), (y0, y1) = bounds
        xs = np.concatenate([[x0], xs, [x1]])
        ys = np.concatenate([[y0], ys, [y1]])
        z = np.pad(z, 1, mode="edge")
    gen = contourpy.contour_generator(xs, ys, z.T, fill_type="OuterOffset")
    points, offsets = gen.filled(level, np.inf)
    rings = []
    for pts, offs in zip(points, offsets):
        for a, b in zip(offs[:-1], offs[1:]):
            ring = pts[a:b]
            if len(ring) and not np.array_equal(ring[0], ring[-1]):
                ring = np.vstack([ring, ring[:1]])
            rings.append(ring.tolist())
    return rings


def sample_density_level(hist: dict, x, y, weights, mass: float) -> float:
    """The level p* of a smoothed histogram (:func:`smoothed_histogram_2d`) such that the
    samples lying in cells with density >= p* carry ``mass`` of the total weight.

    Calibrating the level on the samples rather than on the smoothed histogram's own mass
    undoes the mass that smoothing moves across the region's boundary (which, for a nearly
    flat posterior plateau, biases the 68 % region towards too much mass).
    """
    mass = _check_mass(mass)
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    ix = np.searchsorted(hist["x_edges"], x, side="right") - 1
    iy = np.searchsorted(hist["y_edges"], y, side="right") - 1
    nx, ny = hist["density"].shape
    ix[x == hist["x_edges"][-1]] = nx - 1  # right edges belong to the last cell
    iy[y == hist["y_edges"][-1]] = ny - 1
    ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    d, w = hist["density"][ix[ok], iy[ok]], w[ok]
    order = np.argsort(d, kind="stable")[::-1]
    cum = np.cumsum(w[order]) / w.sum()
    k = min(int(np.searchsorted(cum, mass - 1e-12, side="left")), d.size - 1)
    return float(d[order][k])


def credible_regions_2d(
    x, y, weights=None, masses=(MASS_68, MASS_95), level_from: str = "samples", **histogram_options
) -> dict:
    """HPD credible regions of weighted 2D samples: the smoothed histogram of
    :func:`smoothed_histogram_2d`, the density level p* of each mass (``level_from="samples"``:
    :func:`sample_density_level`; ``"histogram"``: :func:`density_level` of the smoothed
    histogram) and the rings of {p >= p*} (:func:`region_polylines`).

    Returns ``{"histogram": ..., "levels": {mass: p*}, "regions": {mass: rings}}``.
    """
    if level_from not in ("samples", "histogram"):
        raise ParameterError(f"level_from must be 'samples' or 'histogram', got {level_from!r}")
    hist = smoothed_histogram_2d(x, y, weights, **histogram_options)
    ranges = histogram_options.get("ranges", ((0.5, 3.0), (-4.0, -1.0)))
    levels, regions = {}, {}
    for m in masses:
        levels[m] = (
            sample_density_level(hist, x, y, weights, m)
            if level_from == "samples"
            else density_level(hist["density"], m)
        )
        regions[m] = region_polylines(hist["x_centres"], hist["y_centres"], hist["density"], levels[m], ranges)
    return {"histogram": hist, "levels": levels, "regions": regions, "level_from": level_from}


__all__ = [
    "MASS_68",
    "MASS_95",
    "credible_regions_2d",
    "density_level",
    "hpd_intervals_1d",
    "region_polylines",
    "sample_density_level",
    "shortest_interval",
    "smoothed_histogram_2d",
]
