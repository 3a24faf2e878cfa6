"""CsI 2017's paper-mode likelihood: the reference analysis's per-bin marginalisation (docs:
datasets/csi2017, likelihood; arXiv:2103.10196)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import special

from ...errors import UnknownNameError
from ...likelihoods.gaussian_poisson import log_smeared_poisson_sum
from ...likelihoods.paper import pair_keys, tabulated_logl
from ...likelihoods.stats import gauss_hermite_normal, log_negbin
from ...likelihoods.tables import get_table

#: Prior exponent shape c of the steady-state mean, prior B^(c - 1).
BACKGROUND_PRIORS = {"flat": 1.0, "jeffreys": 0.5}


class CsiPaperLikelihood:
    """CsI 2017, per bin b (reference analysis; docs: datasets/csi2017, likelihood):

        L_b = Int da N(a; 0, sigma) Int dB P(n_b; (1 + a) N_b(theta) + B) P(n_b^AC; B)

    With a flat prior on B the B-integral is exact: P(n_AC; B) as a density in B is
    Gamma(n_AC + 1, 1), and folding it with a Poisson count gives a negative binomial, so

        L_b = Int da N(a; 0, sigma) sum_{k=0}^{n_b} P(n_b - k; (1 + a) N_b) NB(k; n_AC + 1, 1/2)
            = Int_0^inf dy N(y; 1, sigma^2) e^{-y N_b} sum_j c_bj (y N_b)^j,
              c_bj = NB(n_b - j; n_AC + 1, 1/2) / j!,   y = 1 + a > 0 (truncated envelope).

    ``background_prior``: ``"flat"`` (the reference analysis; the background posterior then has
    mean n_AC + 1 per bin, one count too many, which over 144 bins biases the fit towards a
    CEvNS deficit) or ``"jeffreys"`` (prior B^(-1/2): NB(k; n_AC + 1/2, 1/2)).

    The y-integral is done exactly with truncated Gaussian moments
    (:mod:`cevnsfit.likelihoods.gaussian_poisson`); ``quadrature="gauss-hermite"`` with
    ``n_nodes`` gives the plain Gauss-Hermite rule for comparison.

    ``logl`` interpolates per-bin tables of ln L_b(N_b) (:mod:`cevnsfit.likelihoods.tables`,
    built on first use and cached; error of the summed ln L below the table's ``bound``);
    ``exact=True`` evaluates the truncated moments on every call instead.
    """

    def __init__(
        self,
        observed,
        anti_coincidence,
        sigma: float,
        quadrature: str = "exact",
        n_nodes: int = 24,
        background_prior: str = "flat",
        exact: bool = False,
    ):
        self.n = np.asarray(observed, dtype=float)
        self.n_ac = np.asarray(anti_coincidence, dtype=float)
        self.sigma = sigma
        self.bin_shape = self.n.shape
        self.counts = self.n.ravel().astype(int)
        self.nmax = int(self.counts.max())
        if background_prior not in BACKGROUND_PRIORS:
            raise UnknownNameError(
                f"background_prior must be one of {tuple(BACKGROUND_PRIORS)}, got {background_prior!r}"
            )
        self.background_prior = background_prior
        self.quadrature = quadrature
        z, lw = gauss_hermite_normal(n_nodes)
        keep = 1.0 + sigma * z > 0
        self._gh = ((1.0 + sigma * z)[keep], lw[keep])
        self.exact = exact

    @cached_property
    def log_coef(self) -> np.ndarray:
        """ln c_bj, shape (nmax+1, bins), -inf where j > n_b (computed on first use: a toy data
        set served from cached per-bin columns never needs it)."""
        j = np.arange(self.nmax + 1)
        k = self.counts[None, :] - j[:, None]  # (nmax+1, bins)
        logc = (
            log_negbin(np.maximum(k, 0), self.n_ac.ravel()[None, :], 1.0, BACKGROUND_PRIORS[self.background_prior])
            - special.gammaln(j + 1.0)[:, None]
        )
        return np.where(k >= 0, logc, -np.inf)

    @cached_property
    def coef(self) -> np.ndarray:
        return np.exp(self.log_coef)

    def table(self):
        """The per-bin ln L table of this data set (:func:`cevnsfit.likelihoods.tables.get_table`)."""
        if self.__dict__.get("_table") is None:  # the data are fixed: look the table up once
            self._table = get_table(
                "csi2017",
                {"n": self.n, "n_ac": self.n_ac},
                {"sigma": self.sigma, "background_prior": self.background_prior},
                self._logl_bins,
                self.counts.size,
            )
        return self._table

    def _logl_bins(self, mu: np.ndarray) -> np.ndarray:
        if self.quadrature == "exact":
            return log_smeared_poisson_sum(np.ones_like(mu), self.sigma, mu, self.log_coef, self.counts)
        y, lw = self._gh
        lam = mu[..., :, None] * y
        poly = np.zeros_like(lam)
        for c in self.coef[::-1]:  # Horner
            poly = poly * lam + c[:, None]
        with np.errstate(divide="ignore"):
            return special.logsumexp(lw + np.log(poly) - lam, axis=-1)

    def logl(self, pred: np.ndarray) -> np.ndarray:
        return tabulated_logl(self, pred, self._logl_bins, self.table)

    def bin_keys(self) -> np.ndarray:
        """Per-bin data keys (:mod:`cevnsfit.likelihoods.toy_grid`): (count, AC count)."""
        return pair_keys(self.counts, self.n_ac.ravel())

    def logl_bins_at(self, sig: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Exact per-bin ln L_b of the bins ``index`` for signals ``sig`` (points, len(index))."""
        return log_smeared_poisson_sum(np.ones_like(sig), self.sigma, sig, self.log_coef[:, index], self.counts[index])

    def pseudo_data(self, expected, rng: np.random.Generator) -> CsiPaperLikelihood:
        """A copy of this term with toy data drawn at the signal ``expected`` (hybrid Bayesian-
        frequentist: per bin the steady-state mean B_b = the observed AC count, a_b ~ N(0, sigma)
        truncated at 1 + a_b > 0, C'_b ~ Poisson((1 + a_b) N_b + B_b), AC'_b ~ Poisson(B_b))."""
        n_sm = np.asarray(expected, float).reshape(self.bin_shape)
        b = self.n_ac.reshape(self.bin_shape)
        a = rng.normal(0.0, self.sigma, n_sm.shape)
        while np.any(bad := 1.0 + a <= 0):  # truncated envelope
            a[bad] = rng.normal(0.0, self.sigma, int(bad.sum()))
        counts = rng.poisson((1.0 + a) * n_sm + b)
        anti = rng.poisson(b)
        # exact evaluation: a table would be built for every toy data set
        return CsiPaperLikelihood(
            counts,
            anti,
            sigma=self.sigma,
            quadrature=self.quadrature,
            background_prior=self.background_prior,
            exact=True,
        )
