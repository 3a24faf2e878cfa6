"""Statistical building blocks: log-Poisson, Gauss-Hermite rules, the negative binomial of
a Poisson count whose mean was measured by another Poisson count (docs: datasets/csi2017, likelihood)."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import special


def log_poisson(n, lam) -> np.ndarray:
    """ln P(n; lam) = n ln lam - lam - ln Gamma(n + 1), for real n >= 0 (CCM Asimov data).

    >>> round(float(log_poisson(3, 2.5)), 10) == round(float(np.log(2.5**3 * np.exp(-2.5) / 6)), 10)
    True
    """
    n = np.asarray(n, dtype=float)
    return special.xlogy(n, lam) - lam - special.gammaln(n + 1.0)


def log_gauss(x, mu, sigma) -> np.ndarray:
    """ln N(x; mu, sigma)."""
    z = (np.asarray(x) - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - 0.5 * np.log(2.0 * np.pi)


@cache
def gauss_hermite_normal(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z_i and log-weights of an n-point rule for E[f(z)], z ~ N(0, 1) (computed once per
    n; the arrays are read-only).

    >>> z, lw = gauss_hermite_normal(10)
    >>> round(float(np.sum(np.exp(lw) * z**2)), 12)
    1.0
    """
    x, w = np.polynomial.hermite.hermgauss(n)
    z, lw = np.sqrt(2.0) * x, np.log(w / np.sqrt(np.pi))
    z.setflags(write=False)
    lw.setflags(write=False)
    return z, lw


def log_negbin_half(k, n_ac) -> np.ndarray:
    """ln NB(k; n_AC + 1, 1/2): the flat-prior Gamma(n_AC + 1, 1) posterior of a background mean
    measured as n_AC counts, folded with a Poisson count k (docs: datasets/csi2017, likelihood); equal
    windows and a flat prior in :func:`log_negbin`.

    >>> from scipy import stats
    >>> bool(np.isclose(np.exp(log_negbin_half(4, 7)), stats.nbinom.pmf(4, 8, 0.5)))
    True
    """
    return log_negbin(k, n_ac, 1.0, 1.0)


def log_negbin(k, n_ac, ratio: float = 1.0, prior_shape: float = 1.0) -> np.ndarray:
    """ln NB(k; n_AC + c, p = 1/(1 + ratio)): a Poisson count k whose mean is ``ratio`` times a
    background mean measured as n_AC counts, e.g. windows of different exposure. The prior on
    the background mean B is B^(c - 1): c = 1 flat (the posterior of B is Gamma(n_AC + 1), mean
    n_AC + 1), c = 1/2 Jeffreys (Gamma(n_AC + 1/2)).

    >>> from scipy import stats
    >>> bool(np.isclose(np.exp(log_negbin(4, 7, 0.8)), stats.nbinom.pmf(4, 8, 1 / 1.8)))
    True
    """
    k = np.asarray(k, dtype=float)
    a = np.asarray(n_ac, dtype=float) + prior_shape
    return (
        special.gammaln(a + k)
        - special.gammaln(a)
        - special.gammaln(k + 1)
        + k * np.log(ratio / (1.0 + ratio))
        - a * np.log(1.0 + ratio)
    )
