"""Recoil quadrature grids and detector energy-response matrices (docs: physics/rates).

A response matrix R[i, e] gives, for a recoil at node i, the probability (times
efficiency) of landing in observed energy bin e. It is built once per experiment; a model
point then costs one matrix product. Observed-space efficiencies are evaluated on a fine
sub-grid (the releases' own convention: 1-PE bins for CsI, 0.5-keVee bins for argon).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special, stats

SMEARINGS = ("none", "poisson", "gaussian", "gamma")


def gauss_legendre_grid(breakpoints, n_per_segment: int = 8, max_width: float | None = None):
    """Piecewise Gauss-Legendre nodes and weights on the intervals between sorted breakpoints.

    Intervals wider than ``max_width`` are subdivided uniformly. Returns (nodes, weights).

    >>> x, w = gauss_legendre_grid([0.0, 1.0, 3.0], 4)
    >>> round(float(np.sum(w * x**2)), 12)   # int_0^3 x^2 dx
    9.0
    """
    bp = np.unique(np.asarray(breakpoints, dtype=float))
    if max_width is not None:
        pieces = []
        for a, b in zip(bp[:-1], bp[1:]):
            n = max(1, int(np.ceil((b - a) / max_width)))
            pieces.append(np.linspace(a, b, n + 1)[:-1])
        bp = np.append(np.concatenate(pieces), bp[-1])
    t, wt = np.polynomial.legendre.leggauss(n_per_segment)
    a, b = bp[:-1, None], bp[1:, None]
    nodes = 0.5 * (b - a) * t[None, :] + 0.5 * (b + a)
    weights = 0.5 * (b - a) * wt[None, :]
    return nodes.ravel(), weights.ravel()


def response_matrix(
    mean_obs: np.ndarray,
    sub_edges: np.ndarray,
    obs_edges: np.ndarray,
    smearing: str = "none",
    efficiency: Callable | None = None,
    width: Callable | None = None,
    gamma_shape: Callable | None = None,
) -> np.ndarray:
    """R[i, e]: probability times efficiency that a recoil with mean observable ``mean_obs[i]``
    is observed in bin e of ``obs_edges``.

    The observable is first distributed over the fine ``sub_edges`` (whose union must cover
    ``obs_edges``), the efficiency is applied at each sub-bin centre, and sub-bins are summed
    into observed bins.

    smearing:
      * ``none``: the observable equals its mean (grid nodes must not straddle sub-bin edges);
      * ``poisson``: an integer count n ~ Poisson(mean) (sub-bins are [n, n+1));
      * ``gaussian``: N(mean, width(mean));
      * ``gamma``: Gamma with shape ``gamma_shape(mean)`` and that mean.
    """
    mu = np.asarray(mean_obs, dtype=float)[:, None]
    lo, hi = sub_edges[None, :-1], sub_edges[None, 1:]
    if smearing == "none":
        p = ((mu >= lo) & (mu < hi)).astype(float)
    elif smearing == "poisson":
        # P(lo <= n < hi) for integer sub-edges: regularised gamma differences.
        def cdf_below(k):  # P(n < k) = Q(k, mu) for integer k >= 1, 0 for k <= 0
            kk = np.maximum(k, 1.0)
            return np.where(k <= 0, 0.0, special.gammaincc(kk, np.maximum(mu, 1e-300)))

        p = cdf_below(hi) - cdf_below(lo)
    elif smearing == "gaussian":
        sig = np.maximum(width(mu), 1e-12)
        p = special.ndtr((hi - mu) / sig) - special.ndtr((lo - mu) / sig)
    elif smearing == "gamma":
        k = gamma_shape(mu)
        scale = mu / k
        p = stats.gamma.cdf(hi, k, scale=scale) - stats.gamma.cdf(lo, k, scale=scale)
    else:
        raise ValueError(f"smearing must be one of {SMEARINGS}, got {smearing!r}")
    if efficiency is not None:
        p = p * efficiency(0.5 * (sub_edges[:-1] + sub_edges[1:]))[None, :]
    # sum sub-bins into observed bins
    centres = 0.5 * (sub_edges[:-1] + sub_edges[1:])
    idx = np.searchsorted(obs_edges, centres, side="right") - 1
    inside = (idx >= 0) & (idx < len(obs_edges) - 1)
    out = np.zeros((mu.shape[0], len(obs_edges) - 1))
    np.add.at(out.T, idx[inside], p[:, inside].T)
    return out
