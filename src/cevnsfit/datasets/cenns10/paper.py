"""CENNS-10's paper-mode likelihood: the reference analysis's per-bin marginalisation of the
normalisation and the backgrounds (docs: datasets/cenns10, likelihood; arXiv:2103.10196)."""

from __future__ import annotations

import numpy as np
from scipy import special

from ...likelihoods.gaussian_poisson import log_smeared_poisson
from ...likelihoods.paper import tabulated_logl
from ...likelihoods.stats import gauss_hermite_normal
from ...likelihoods.tables import get_table


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
        return tabulated_logl(self, pred, self._logl_bins, self.table)

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
