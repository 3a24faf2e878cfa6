"""Likelihoods of the full COHERENT CsI 2021 data set (docs: datasets/csi2021), and their builders
(named by the unit's ``dataset.yaml``).

Bins: the ``csi2021`` experiment's 5-PE x 0.5-us grid (0-60 PE, 0-6 us). Components per bin:
CEvNS N_b(theta), steady state (SS) measured by the anti-coincidence (AC) window, beam-related
neutrons (BRN, 17 +- 4 in the region) and neutrino-induced neutrons (NIN, 5 +- 2) with the
release's energy and time shapes.

Exposure ratio of the two windows (our determination, documented): above the region
(PE >= 60, 0-6 us) there is no CEvNS, and C = 3564, AC = 3595 events; subtracting the BRN and
NIN expected there (8.5 and 1.7 from their shapes) gives rho = SS_C/SS_AC = 0.989 +- 0.024,
consistent with equal windows. SS_b = rho B_b with B_b the AC mean in bin b.

``paper``-style (per-bin marginalisation, as the reference analysis did for CsI 2017):

    L_b = Int dy N(y; mu_b, s_b^2) sum_k P(n_b - k; y) NB(k; n_AC,b + 1, 1/(1 + rho)),
    mu_b = N_b + BRN_b + NIN_b,  s_b^2 = (0.13 N_b)^2 + (4/17 BRN_b)^2 + (2/5 NIN_b)^2,

(the three Gaussian envelopes combine into one Gaussian in the mean, the flat-prior SS
integral is a negative binomial), evaluated exactly with truncated Gaussian moments.

``full``: one set of nuisances for all bins, profiled (batched Newton with MIGRAD for any point
it does not converge on, or MIGRAD alone: option ``engine``): CEvNS normalisation a
(sigma 0.12: the 13 % prediction uncertainty less the efficiency and quenching parts that
are explicit nuisances), BRN and NIN normalisations, and the release's efficiency and
quenching +-1 sigma variants as piecewise-linear morphs of the CEvNS prediction (unit
Gaussian nuisances). The SS is smooth: SS_b = rho (1 + beta) E_pe T_t / N_AC, the product of
the AC window's PE and time marginals (the SS falls by ~30 % over 6 us, so it is not flat in
time), with beta ~ N(0, 1/sqrt(N_AC)). A per-bin SS estimate (each bin's own AC count) is
kept as the ``paper``-style choice; it fluctuates bin by bin and widens the CEvNS error.
"""

from __future__ import annotations

import copy
from functools import cached_property

import numpy as np
from scipy import special

from ... import published
from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm
from ...likelihoods.gaussian_poisson import log_smeared_poisson_sum
from ...likelihoods.paper import pair_keys, tabulated_logl
from ...likelihoods.profile import minimise
from ...likelihoods.stats import log_negbin
from ...likelihoods.tables import get_table
from . import experiment

BRN = published.pair("coherent_csi2021_brn")
NIN = published.pair("coherent_csi2021_nin")
PREDICTION_SIGMA = published.get("csi2021_prediction_sigma").value
FULL_NORM_SIGMA = published.get("csi2021_full_norm_sigma").value
VARIANTS = {
    "efficiency": ("plus", "minus"),
    "quenching0": ("model0_plus", "model0_minus"),
    "quenching1": ("model1_plus", "model1_minus"),
}


def exposure_ratio(exp=None) -> tuple[float, float]:
    """rho = (C - BRN - NIN)/AC from the PE >= 60 side band (0-6 us), and its statistical error
    (:func:`cevnsfit.datasets.csi2021.experiment.exposure_ratio`; ``exp`` is not needed)."""
    return experiment.exposure_ratio()


def background_templates(exp) -> dict:
    """BRN and NIN expected counts per bin, normalised to 17 and 5 in the region."""
    return {
        "brn": exp.data["brn_shape"] / exp.data["brn_shape"].sum() * BRN[0],
        "nin": exp.data["nin_shape"] / exp.data["nin_shape"].sum() * NIN[0],
    }


class Csi2021PaperLikelihood:
    """Per-bin marginalised likelihood (module docstring). ``logl`` interpolates per-bin tables of
    ln L_b(N_b) (:mod:`cevnsfit.likelihoods.tables`); ``exact=True`` evaluates directly."""

    def __init__(
        self, observed, anti_coincidence, brn, nin, rho: float, sigma: float = PREDICTION_SIGMA, exact: bool = False
    ):
        self.n = np.asarray(observed, dtype=float)
        self.n_ac = np.asarray(anti_coincidence, dtype=float)
        self.brn, self.nin, self.rho = brn, nin, rho
        self.bin_shape = self.n.shape
        self.counts = self.n.ravel().astype(int)
        self.sigma = sigma
        self.bkg = (brn + nin).ravel()
        self.bkg_var = ((BRN[1] / BRN[0] * brn) ** 2 + (NIN[1] / NIN[0] * nin) ** 2).ravel()
        self.exact = exact

    @cached_property
    def log_coef(self) -> np.ndarray:
        """ln c_bj, shape (nmax+1, bins), -inf where j > n_b (computed on first use: a toy data
        set served from cached per-bin columns never needs it)."""
        j = np.arange(self.counts.max() + 1)
        k = self.counts[None, :] - j[:, None]
        logc = log_negbin(np.maximum(k, 0), self.n_ac.ravel()[None, :], self.rho) - special.gammaln(j + 1.0)[:, None]
        return np.where(k >= 0, logc, -np.inf)

    def table(self):
        """The per-bin ln L table of this data set (:func:`cevnsfit.likelihoods.tables.get_table`)."""
        if self.__dict__.get("_table") is None:  # the data are fixed: look the table up once
            self._table = get_table(
                "csi2021",
                {"n": self.n, "n_ac": self.n_ac, "bkg": self.bkg, "bkg_var": self.bkg_var},
                {"rho": self.rho, "sigma": self.sigma},
                self._logl_bins,
                self.counts.size,
            )
        return self._table

    def logl(self, pred):
        return tabulated_logl(self, pred, self._logl_bins, self.table)

    def _logl_bins(self, sig: np.ndarray) -> np.ndarray:
        """Per-bin ln L_b for signals ``sig`` (points, bins), evaluated directly."""
        mu = sig + self.bkg
        s = np.maximum(np.sqrt((self.sigma * sig) ** 2 + self.bkg_var), 1e-9 * np.maximum(mu, 1.0))
        return log_smeared_poisson_sum(mu, s, 1.0, self.log_coef, self.counts)

    def bin_keys(self) -> np.ndarray:
        """Per-bin data keys (:mod:`cevnsfit.likelihoods.toy_grid`): (count, AC count)."""
        return pair_keys(self.counts, self.n_ac.ravel())

    def logl_bins_at(self, sig: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Exact per-bin ln L_b of the bins ``index`` for signals ``sig`` (points, len(index))."""
        mu = sig + self.bkg[index]
        s = np.maximum(np.sqrt((self.sigma * sig) ** 2 + self.bkg_var[index]), 1e-9 * np.maximum(mu, 1.0))
        return log_smeared_poisson_sum(mu, s, 1.0, self.log_coef[:, index], self.counts[index])

    def pseudo_data(self, expected, rng: np.random.Generator) -> Csi2021PaperLikelihood:
        """A copy with toy data: per bin B_b = the observed AC count, y_b ~ N(N_b + BRN_b + NIN_b,
        s_b^2) truncated at y_b >= 0, C'_b ~ Poisson(y_b + rho B_b), AC'_b ~ Poisson(B_b)."""
        n_sm = np.asarray(expected, float).ravel()
        mu = n_sm + self.bkg
        s = np.sqrt((self.sigma * n_sm) ** 2 + self.bkg_var)
        y = mu + rng.normal(0.0, 1.0, mu.shape) * s
        while np.any(bad := y < 0):  # truncated envelope
            y[bad] = mu[bad] + rng.normal(0.0, 1.0, int(bad.sum())) * s[bad]
        b = self.n_ac.ravel()
        counts = rng.poisson(y + self.rho * b).reshape(self.bin_shape)
        anti = rng.poisson(b).reshape(self.bin_shape)
        # exact evaluation: a table would be built for every toy data set (0.2-1 s each)
        return Csi2021PaperLikelihood(counts, anti, self.brn, self.nin, self.rho, sigma=self.sigma, exact=True)


def profile_ss(n, m, s, rho):
    """Closed-form maximum over B >= 0 of ln P(n; s + rho B) + ln P(m; B) (per bin).

    Stationarity gives rho (rho + 1) B^2 - [rho (n + m) - (rho + 1) s] B - m s = 0.
    """
    b = rho * (n + m) - (rho + 1.0) * s
    return (b + np.sqrt(b * b + 4.0 * rho * (rho + 1.0) * m * s)) / (2.0 * rho * (rho + 1.0))


def _build_common(**opt):
    exp = get_experiment("csi2021", "paper", **opt)
    bkg = background_templates(exp)
    rho, _ = exposure_ratio(exp)
    return exp, bkg, rho


def paper(mode, matching, exact: bool = False, **opt):
    exp, bkg, rho = _build_common(**opt)
    term = Csi2021PaperLikelihood(exp.data["C"], exp.data["AC"], bkg["brn"], bkg["nin"], rho, exact=exact)
    return DatasetTerm("csi2021", exp, term, matching=matching, info={"rho": rho})


#: Box of the free-normalisation fit (linear parameters): a >= -1 free above, as the full likelihood's
#: normalisations otherwise, and the morphs within +-5 sigma.
FIT_LIMITS = {"a": (-1.0, None), "beta": (-0.5, 0.5), "brn": (-1.0, 3.0), "nin": (-1.0, 3.0)}
MORPH_LIMIT = (-5.0, 5.0)


def free_normalisation_term(mode: str = "full"):
    """The declared `full` likelihood (the unit's ``dataset.yaml``) with the CEvNS normalisation
    ``a`` free (a ``normfactor``) and, for ``mode="simple"``, without the efficiency and quenching
    morphs: the generic engine's term on the SM experiment."""
    from ...declaration import SOURCE_KEY
    from ...likelihoods.declared import build_term
    from ..registry import get_dataset

    unit = get_dataset("csi2021")
    section = copy.deepcopy(unit.declaration["likelihood"]["full"])
    for ch in section["channels"]:
        for smp in ch["samples"]:
            mods = [m for m in smp.get("modifiers", []) if mode == "full" or m["type"] != "histosys"]
            for m in mods:
                if m["name"] == "a":
                    m.pop("constraint")
                    m["type"] = "normfactor"
            smp["modifiers"] = mods
    decl = {**unit.declaration, "likelihood": {"full": section}, SOURCE_KEY: unit.origin}
    return build_term(decl, unit.experiment("full"), "full", backend="generic")


def sm_normalisation_fit(mode: str = "full") -> dict:
    """Fit the CEvNS normalisation freely (SM shape) and report the fitted number of CEvNS events
    in the region, to compare with COHERENT's 306 +- 20 (arXiv:2110.07730). ``full`` includes the
    efficiency and quenching nuisances, ``simple`` only the normalisations. The objective is the
    declared likelihood (:func:`free_normalisation_term`) at fixed nuisances, in the linear
    parameters (1 + a, ...) within :data:`FIT_LIMITS`: its minimum is the generic engine's profile
    (projected Newton, exact to 1e-10 in -2 ln L), from which MIGRAD
    (:func:`~cevnsfit.likelihoods.profile.minimise`, tolerance 1e-6, strategy 2) starts for the
    errors (HESSE, and MINOS on ``a``); the no-CEvNS fit (a = -1) starts from all nuisances at 0."""
    dt = free_normalisation_term(mode)
    term = dt.term
    sm = np.asarray(dt.prediction(None), dtype=float).reshape(1, -1)
    names = term.names
    k = len(term.c.norm_names)

    def to_engine(pars):  # normalisations enter the engine as u = ln(1 + a)
        p = np.atleast_2d(np.asarray(pars, dtype=float))
        return np.concatenate([np.log(np.maximum(1.0 + p[:, :k], 1e-300)), p[:, k:]], axis=1)

    def twice_nll(pars):
        return float(term.twice_nll(sm, to_engine(pars))[0])

    limits = [FIT_LIMITS[n] for n in names[:k]] + [MORPH_LIMIT] * (len(names) - k)
    fit = dict(names=names, limits=limits, tol=1e-6, strategy=2, retry=False)
    best = term.profile(sm)[1][0]  # the engine's exact minimum (projected Newton): MIGRAD's start
    m = minimise(twice_nll, np.r_[np.expm1(best[:k]), best[k:]], **fit)
    m.hesse()
    m.minos("a")
    m0 = minimise(twice_nll, np.zeros(len(names)), fixed={"a": -1.0}, **fit)
    total = float(sm.sum())
    # fitted CEvNS events: the CEvNS component of the fitted mean (normalisation x morphs)
    pars = np.array(m.values)
    lam = term._parts(to_engine(pars), sm)[1][6]
    lam0 = term._parts(to_engine(np.r_[-1.0, pars[1:]]), sm)[1][6]
    fitted = float(lam.sum() - lam0.sum())
    per_a = fitted / (1.0 + m.values["a"])
    me = m.merrors["a"]
    ss = float(np.sum(dt.experiment.data["ss"]))
    return {
        "mode": mode,
        "cevns": [fitted, per_a * m.errors["a"]],
        "cevns_minos": [per_a * me.lower, per_a * me.upper],
        "sm_prediction": total,
        "ss": float((1 + m.values["beta"]) * ss),
        "brn": BRN[0] * (1 + m.values["brn"]),
        "nin": NIN[0] * (1 + m.values["nin"]),
        "rho": exposure_ratio()[0],
        "nuisances": {n: float(m.values[n]) for n in names[1:]},
        "published": {
            "cevns": list(published.pair("coherent_csi2021_cevns_fit")),
            "sm_prediction": published.get("coherent_csi2021_sm_events").value,
            "ss": list(published.pair("coherent_csi2021_steady_state")),
        },
        "significance_cevns": float(np.sqrt(max(m0.fval - m.fval, 0.0))),
        "valid": bool(m.valid),
    }


__all__ = ["Csi2021PaperLikelihood", "exposure_ratio", "free_normalisation_term", "profile_ss", "sm_normalisation_fit"]
