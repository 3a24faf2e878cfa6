"""`paper`-mode likelihoods of the reference analysis (docs: datasets; arXiv:2103.10196).

Each class turns a binned prediction (shape ``points + experiment.shape``) into ln L
(shape ``points``), with a fixed additive convention: ln L includes every normalisation
term (Poisson factorials, Gaussian normalisations), so values from one object are
comparable across calls. All work is array code over (points x bins x quadrature nodes).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import special

from ..errors import ParameterError, UnknownNameError
from .gaussian_poisson import log_smeared_poisson, log_smeared_poisson_sum
from .stats import gauss_hermite_normal, log_negbin, log_poisson
from .tables import exact_sum, get_table

#: Prior exponent shape c of the steady-state mean, prior B^(c - 1).
BACKGROUND_PRIORS = {"flat": 1.0, "jeffreys": 0.5}


def _sum_bins(x: np.ndarray, nbins_axes: int) -> np.ndarray:
    return x.reshape(x.shape[: x.ndim - nbins_axes] + (-1,)).sum(-1)


def _pair_keys(counts: np.ndarray, anti: np.ndarray) -> np.ndarray:
    """One int64 key per bin for (count, anti-coincidence count), -1 where either is outside
    [0, 2^21) (:mod:`cevnsfit.likelihoods.toy_grid`)."""
    n = np.asarray(counts, dtype=np.int64)
    a = np.asarray(anti, dtype=np.int64)
    ok = (n >= 0) & (n < 1 << 21) & (a >= 0) & (a < 1 << 21) & (a == np.asarray(anti))
    return np.where(ok, (n << 21) | a, -1)


def _tabulated_logl(term, pred: np.ndarray, per_bin, table) -> np.ndarray:
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
        return _tabulated_logl(self, pred, self._logl_bins, self.table)

    def bin_keys(self) -> np.ndarray:
        """Per-bin data keys (:mod:`cevnsfit.likelihoods.toy_grid`): (count, AC count)."""
        return _pair_keys(self.counts, self.n_ac.ravel())

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


class CennsPaperLikelihood:
    """CENNS-10, per bin b (docs: datasets/cenns10, likelihood):

        L_b = Int prod_i da_i N(a_i; 0, s_i) P(n_b; (1 + a_1) N_b + (1 + a_2) SS_b + (1 + a_3) pBRN_b + (1 + a_4) dBRN_b).

    The envelopes enter the mean linearly, so their joint marginalisation is exactly one
    Gaussian in the mean: lam ~ N(mu_b, s_b^2), s_b^2 = sum_i (s_i X_ib)^2, truncated at
    lam > 0, and L_b = Int_0^inf dlam N(lam; mu_b, s_b^2) P(n_b; lam), evaluated exactly
    with truncated Gaussian moments (or with ``quadrature="gauss-hermite"``).

    ``logl`` interpolates per-bin tables of ln L_b(N_b) (:mod:`cevnsfit.likelihoods.tables`);
    ``exact=True`` evaluates the truncated moments on every call instead.
    """

    def __init__(
        self,
        observed,
        backgrounds: dict,
        sigmas: dict,
        signal_sigma: float,
        quadrature: str = "exact",
        n_nodes: int = 16,
        exact: bool = False,
    ):
        self.n = np.asarray(observed, dtype=float).ravel()
        self.bin_shape = np.asarray(observed).shape
        self.bkg = sum(np.asarray(b, dtype=float).ravel() for b in backgrounds.values())
        self.bkg_var = sum((sigmas[k] * np.asarray(b, dtype=float).ravel()) ** 2 for k, b in backgrounds.items())
        self.signal_sigma = signal_sigma
        self.log_fact = special.gammaln(self.n + 1.0)
        self.counts = self.n.astype(int)
        self.quadrature = quadrature
        self.z, self.log_w = gauss_hermite_normal(n_nodes)
        self.exact = exact

    def table(self):
        """The per-bin ln L table of this data set (:func:`cevnsfit.likelihoods.tables.get_table`)."""
        if self.__dict__.get("_table") is None:  # the data are fixed: look the table up once
            self._table = get_table(
                "cenns10",
                {"n": self.n, "bkg": self.bkg, "bkg_var": self.bkg_var},
                {"signal_sigma": self.signal_sigma},
                self._logl_bins,
                self.n.size,
            )
        return self._table

    def logl(self, pred: np.ndarray) -> np.ndarray:
        return _tabulated_logl(self, pred, self._logl_bins, self.table)

    def bin_keys(self) -> np.ndarray:
        """Per-bin data keys (:mod:`cevnsfit.likelihoods.toy_grid`): the count."""
        return self.counts.astype(np.int64)

    def logl_bins_at(self, sig: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Exact per-bin ln L_b of the bins ``index`` for signals ``sig`` (points, len(index))."""
        mu = sig + self.bkg[index]
        s = np.sqrt((self.signal_sigma * sig) ** 2 + self.bkg_var[index])
        return log_smeared_poisson(self.counts[index], mu, np.maximum(s, 1e-9 * np.maximum(mu, 1.0)))

    def _logl_bins(self, sig: np.ndarray) -> np.ndarray:
        """Per-bin ln L_b for signals ``sig`` (points, bins), evaluated directly."""
        mu = sig + self.bkg
        s = np.sqrt((self.signal_sigma * sig) ** 2 + self.bkg_var)
        if self.quadrature == "exact":
            s = np.maximum(s, 1e-9 * np.maximum(mu, 1.0))
            return log_smeared_poisson(self.counts, mu, s)
        lam = mu[..., None] + s[..., None] * self.z  # (..., bins, nodes)
        ok = lam > 0
        lam_safe = np.where(ok, lam, 1.0)
        terms = np.where(ok, special.xlogy(self.n[:, None], lam_safe) - lam_safe, -np.inf) + self.log_w
        return special.logsumexp(terms, axis=-1) - self.log_fact

    def pseudo_data(self, expected, rng: np.random.Generator) -> CennsPaperLikelihood:
        """A copy with toy counts: per bin d_b ~ N(0, s_b^2), n'_b ~ Poisson(max(mu_b + d_b, 0))."""
        n_sm = np.asarray(expected, float).ravel()
        mu = n_sm + self.bkg
        s = np.sqrt((self.signal_sigma * n_sm) ** 2 + self.bkg_var)
        counts = rng.poisson(np.maximum(mu + rng.normal(0.0, 1.0, mu.shape) * s, 0.0))
        # the summed background with its per-bin relative width reproduces bkg and bkg_var exactly
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(self.bkg > 0, np.sqrt(self.bkg_var) / self.bkg, 0.0)
        toy = CennsPaperLikelihood(
            counts.reshape(self.bin_shape),
            {"background": self.bkg},
            {"background": rel},
            signal_sigma=self.signal_sigma,
            quadrature=self.quadrature,
            n_nodes=self.z.size,
            exact=True,
        )
        toy.bkg_var = self.bkg_var  # the parent's, bit for bit (not (rel bkg)^2 rounded)
        return toy


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
