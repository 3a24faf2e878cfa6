"""`paper`-mode likelihood pieces shared by the data-set units (docs: datasets; arXiv:2103.10196):
the per-bin table path (:func:`tabulated_logl`, :func:`pair_keys`), the totals chi^2 and the Asimov
Poisson. The per-bin marginalised terms of CsI 2017 and CENNS-10 live in their units
(``cevnsfit.datasets.csi2017.paper``, ``cevnsfit.datasets.cenns10.paper``).

Each class turns a binned prediction (shape ``points + experiment.shape``) into ln L
(shape ``points``), with a fixed additive convention: ln L includes every normalisation
term (Poisson factorials, Gaussian normalisations), so values from one object are
comparable across calls. All work is array code over (points x bins x quadrature nodes).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .stats import log_poisson
from .tables import exact_sum


def _sum_bins(x: np.ndarray, nbins_axes: int) -> np.ndarray:
    return x.reshape(x.shape[: x.ndim - nbins_axes] + (-1,)).sum(-1)


def pair_keys(counts: np.ndarray, anti: np.ndarray) -> np.ndarray:
    """One int64 key per bin for (count, anti-coincidence count), -1 where either is outside
    [0, 2^21) (:mod:`cevnsfit.likelihoods.toy_grid`)."""
    n = np.asarray(counts, dtype=np.int64)
    a = np.asarray(anti, dtype=np.int64)
    ok = (n >= 0) & (n < 1 << 21) & (a >= 0) & (a < 1 << 21) & (a == np.asarray(anti))
    return np.where(ok, (n << 21) | a, -1)


def tabulated_logl(term, pred: np.ndarray, per_bin, table) -> np.ndarray:
    """sum_b ln L_b over the bins of ``pred`` (shape points + bin_shape): through the per-bin
    table (``table()``, built on first use) unless ``term.exact`` or a quadrature other than
    "exact" is chosen; always in chunks of points (bounded memory, docs/performance.md)."""
    nb = len(term.bin_shape)
    pred = np.asarray(pred, dtype=float)
    pts = pred.shape[: pred.ndim - nb]
    flat = pred.reshape((-1, int(np.prod(term.bin_shape, dtype=int))))
    if getattr(term, "exact", False) or getattr(term, "quadrature", "exact") != "exact":
        return exact_sum(per_bin, flat).reshape(pts)
    return table().sum_bins(flat, per_bin).reshape(pts)


class TotalsChi2:
    """Chi-square of a total count with one Gaussian-constrained normalisation (docs: datasets/csi2020-totals):

        chi2 = min_a [ (O - (1 + a) N)^2 / s_obs^2 + (a / s_a)^2 ] = (O - N)^2 / (s_obs^2 + s_a^2 N^2),

    the minimum at a* = N (O - N) s_a^2 / (s_obs^2 + s_a^2 N^2) (closed form). ln L = -chi2/2.

    >>> round(float(TotalsChi2(306.0, 20.0**2 + 38**2 + 4**2 + 2**2, 0.13).chi2(333.0)), 4)
    0.195
    """

    def __init__(self, observed: float, var_obs: float, sigma_norm: float):
        self.observed = float(observed)
        self.var_obs = float(var_obs)
        self.sigma_norm = float(sigma_norm)

    def chi2(self, n_pred) -> np.ndarray:
        n = np.asarray(n_pred, dtype=float)
        return (self.observed - n) ** 2 / (self.var_obs + (self.sigma_norm * n) ** 2)

    def best_norm(self, n_pred) -> np.ndarray:
        n = np.asarray(n_pred, dtype=float)
        return n * (self.observed - n) * self.sigma_norm**2 / (self.var_obs + (self.sigma_norm * n) ** 2)

    def logl(self, pred: np.ndarray) -> np.ndarray:
        return -0.5 * self.chi2(np.asarray(pred)[..., 0])

    def pseudo_data(self, expected, rng: np.random.Generator) -> TotalsChi2:
        """A copy with a toy total: a ~ N(0, sigma_a), O' ~ N(N (1 + a), s_obs)."""
        n_sm = float(np.asarray(expected, float).ravel()[0])
        a = rng.normal(0.0, self.sigma_norm)
        observed = rng.normal(n_sm * (1.0 + a), float(np.sqrt(self.var_obs)))
        return TotalsChi2(observed, self.var_obs, self.sigma_norm)


class AsimovPoisson:
    """CCM projection: L = prod_b P(n_b = N_b(SM); N_b(theta)) with non-integer n_b (gammaln)."""

    def __init__(self, asimov, n_bin_axes: int = 1):
        self.n = np.asarray(asimov, dtype=float)
        if np.any(self.n < 0):
            raise ParameterError("Asimov counts must be >= 0")
        self.nb = n_bin_axes

    def logl(self, pred: np.ndarray) -> np.ndarray:
        return _sum_bins(log_poisson(self.n, np.asarray(pred, dtype=float)), self.nb)

    NUISANCES = ()

    def pseudo_data(self, expected, rng):
        """An Asimov projection has no data to fluctuate."""
        raise ParameterError(
            "an Asimov projection (its 'data' are the SM expectation) has nothing to fluctuate: "
            "no toys; drop it from the datasets"
        )
