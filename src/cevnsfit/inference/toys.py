"""Toy-Monte-Carlo calibration of the significance of the MLE over the SM (ANALYSES.md section 3).

At fixed (M_Z', r) the test statistic is

    t = 2 [ max_{g_x in {0} U [1e-4, 1e-1]} ln L(g_x) - ln L(g_x = 0) ] >= 0,

maximised on a grid of log10 g_x in [-4, -1] (prior range) refined by a bounded Brent search
(:func:`cevnsfit.inference.sampling.refine_max`); g_x >= 0 and the SM (g_x = 0) is the
boundary. Wilks' theorem would give t ~ chi2_1 (p_wilks, Z = Phi^-1(1 - p/2) as in
ANALYSES.md section 3); with the parameter on the boundary Chernoff's theorem gives instead
the mixture (1/2) delta(0) + (1/2) chi2_1 (p_wilks_half), and for an effect ~ g_x^2 with a
finite range neither need hold. The toys measure the distribution of t under the SM.

Toy data (hybrid Bayesian-frequentist, a.k.a. prior-predictive: each toy first draws the
nuisance parameters from their priors, then the data from the SM model of the term):

- CsI 2017 (:class:`CsiPaperLikelihood`): per bin, B_b = the observed anti-coincidence
  counts (the steady-state background mean), a_b ~ N(0, sigma) truncated at 1 + a_b > 0,
  C'_b ~ Poisson((1 + a_b) N_b^SM + B_b), AC'_b ~ Poisson(B_b);
- CENNS-10 (:class:`CennsPaperLikelihood`): per bin, d_b ~ N(0, s_b^2) with
  s_b^2 = (s_1 N_b^SM)^2 + sum_k (s_k X_kb)^2, n'_b ~ Poisson(max(mu_b + d_b, 0)),
  mu_b = N_b^SM + sum_k X_kb;
- CsI 2021 (:class:`Csi2021PaperLikelihood`): per bin, B_b = the observed anti-coincidence
  counts, y_b ~ N(N_b^SM + BRN_b + NIN_b, s_b^2) truncated at y_b >= 0,
  C'_b ~ Poisson(y_b + rho B_b), AC'_b ~ Poisson(B_b);
- totals chi-square (:class:`TotalsChi2`): a ~ N(0, sigma_a), O' ~ N(N_SM (1 + a), s_obs);
- CCM (:class:`AsimovPoisson`): an Asimov projection has no data to fluctuate: an error.

Each toy is a new :class:`~cevnsfit.likelihoods.Likelihood` of new term objects with the toy
data. Toys run in chunks as Dask tasks (:func:`cevnsfit.inference.scan.run_tasks`); chunk k
draws from ``np.random.default_rng([seed, k])``, so the result depends on (seed, chunk_size,
n_toys) but not on the scheduler.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from ..errors import ParameterError
from ..likelihoods import Likelihood
from ..likelihoods.csi2021 import Csi2021PaperLikelihood
from ..likelihoods.paper import AsimovPoisson, CennsPaperLikelihood, CsiPaperLikelihood, TotalsChi2
from ..models import LmuLtau
from .sampling import PRIOR_LOG10_GX, _check_point, refine_max
from .scan import cached_likelihood, run_tasks

#: Grid points in log10 g_x over the prior range before refinement (0.025 dex spacing).
N_GRID = 121


# ---------------------------------------------------------------------------------------------
# toy data per term type
# ---------------------------------------------------------------------------------------------

def _toy_csi(term: CsiPaperLikelihood, sm, rng) -> CsiPaperLikelihood:
    n_sm = np.asarray(sm, float).reshape(term.bin_shape)
    b = term.n_ac.reshape(term.bin_shape)
    a = rng.normal(0.0, term.sigma, n_sm.shape)
    while np.any(bad := 1.0 + a <= 0):                # truncated envelope
        a[bad] = rng.normal(0.0, term.sigma, int(bad.sum()))
    counts = rng.poisson((1.0 + a) * n_sm + b)
    anti = rng.poisson(b)
    return CsiPaperLikelihood(counts, anti, sigma=term.sigma, quadrature=term.quadrature,
                              background_prior=term.background_prior)


def _toy_cenns(term: CennsPaperLikelihood, sm, rng) -> CennsPaperLikelihood:
    n_sm = np.asarray(sm, float).ravel()
    mu = n_sm + term.bkg
    s = np.sqrt((term.signal_sigma * n_sm) ** 2 + term.bkg_var)
    counts = rng.poisson(np.maximum(mu + rng.normal(0.0, 1.0, mu.shape) * s, 0.0))
    # the summed background with its per-bin relative width reproduces bkg and bkg_var exactly
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(term.bkg > 0, np.sqrt(term.bkg_var) / term.bkg, 0.0)
    return CennsPaperLikelihood(counts.reshape(term.bin_shape), {"background": term.bkg}, {"background": rel},
                                signal_sigma=term.signal_sigma, quadrature=term.quadrature,
                                n_nodes=term.z.size)


def _toy_totals(term: TotalsChi2, sm, rng) -> TotalsChi2:
    n_sm = float(np.asarray(sm, float).ravel()[0])
    a = rng.normal(0.0, term.sigma_norm)
    observed = rng.normal(n_sm * (1.0 + a), math.sqrt(term.var_obs))
    return TotalsChi2(observed, term.var_obs, term.sigma_norm)


def _toy_csi2021(term: Csi2021PaperLikelihood, sm, rng) -> Csi2021PaperLikelihood:
    n_sm = np.asarray(sm, float).ravel()
    mu = n_sm + term.bkg
    s = np.sqrt((term.sigma * n_sm) ** 2 + term.bkg_var)
    y = mu + rng.normal(0.0, 1.0, mu.shape) * s
    while np.any(bad := y < 0):                        # truncated envelope
        y[bad] = mu[bad] + rng.normal(0.0, 1.0, int(bad.sum())) * s[bad]
    b = term.n_ac.ravel()
    counts = rng.poisson(y + term.rho * b).reshape(term.bin_shape)
    anti = rng.poisson(b).reshape(term.bin_shape)
    return Csi2021PaperLikelihood(counts, anti, term.brn, term.nin, term.rho, sigma=term.sigma)


_TOY_MAKERS = {CsiPaperLikelihood: _toy_csi, CennsPaperLikelihood: _toy_cenns, TotalsChi2: _toy_totals,
               Csi2021PaperLikelihood: _toy_csi2021}


def check_toy_support(like: Likelihood) -> None:
    """Raise :class:`ParameterError` unless every term of ``like`` can generate toys."""
    for dt in like.terms:
        if isinstance(dt.term, AsimovPoisson):
            raise ParameterError(
                f"dataset {dt.name!r} is an Asimov projection (its 'data' are the SM expectation): there is "
                "nothing to fluctuate, so no toy calibration; drop it from datasets")
        if type(dt.term) not in _TOY_MAKERS:
            raise ParameterError(f"no toy generator for dataset {dt.name!r} ({type(dt.term).__name__}); toys are "
                                 f"defined for the paper-mode terms {[c.__name__ for c in _TOY_MAKERS]}")


def toy_likelihood(like: Likelihood, rng: np.random.Generator, sm_predictions=None) -> Likelihood:
    """A new :class:`Likelihood` whose terms hold one toy data set generated under the SM
    (nuisances drawn from their priors; see the module doc). ``sm_predictions`` (one per term,
    ``term.prediction(None)``) saves recomputing them."""
    check_toy_support(like)
    sm_predictions = sm_predictions or [dt.prediction(None) for dt in like.terms]
    terms = [dataclasses.replace(dt, term=_TOY_MAKERS[type(dt.term)](dt.term, sm, rng))
             for dt, sm in zip(like.terms, sm_predictions)]
    return Likelihood(terms, like.mode)


# ---------------------------------------------------------------------------------------------
# test statistic
# ---------------------------------------------------------------------------------------------

class _Predictions:
    """Per-term predictions on the g_x grid and for the SM at fixed (M_Z', r): data-independent,
    so computed once and shared by every toy."""

    def __init__(self, like: Likelihood, mzp: float, r: float, n_grid: int):
        self.x = np.linspace(*PRIOR_LOG10_GX, n_grid)
        model = LmuLtau(mzp, 10.0**self.x, r)
        self.grid = [dt.prediction(model) for dt in like.terms]
        self.sm = [dt.prediction(None) for dt in like.terms]


def _lrt(like: Likelihood, mzp: float, r: float, pred: _Predictions) -> tuple[float, float]:
    logl = sum(dt.logl_prediction(p) for dt, p in zip(like.terms, pred.grid))
    logl_sm = float(sum(dt.logl_prediction(p) for dt, p in zip(like.terms, pred.sm)))
    xm, lm, _ = refine_max(lambda t: like.logl(mzp, 10.0**t, r), pred.x, logl, bounds=PRIOR_LOG10_GX)
    if lm <= logl_sm:                                  # the SM (boundary) is the maximum
        return 0.0, -np.inf
    return 2.0 * (lm - logl_sm), xm


def lrt_statistic(like: Likelihood, mzp_mev: float, r: float = 1.0, n_grid: int = N_GRID) -> dict:
    """t = 2 [max_{g_x >= 0} ln L - ln L(SM)] at fixed (M_Z', r) (see the module doc) with the
    maximising coupling (``gx_hat`` = 0 when the SM is the maximum).

    >>> import cevnsfit
    >>> res = lrt_statistic(cevnsfit.likelihood("csi2020_totals"), 20.0)      # doctest: +SKIP
    >>> round(res["t"], 3)                         # (306 - 333)^2 / V_SM       # doctest: +SKIP
    0.195
    """
    mzp, r = _check_point(mzp_mev, r)
    t, xm = _lrt(like, mzp, r, _Predictions(like, mzp, r, n_grid))
    return {"t": t, "log10_gx_hat": xm, "gx_hat": 10.0**xm if np.isfinite(xm) else 0.0,
            "mzp_mev": mzp, "r": r}


def _toy_chunk(spec, mzp: float, r: float, seed: int, index: int, n: int, n_grid: int) -> np.ndarray:
    """One task: ``n`` toys from ``default_rng([seed, index])``; returns (n, 2): t, log10 g_hat."""
    like = cached_likelihood(*spec) if isinstance(spec, tuple) else spec
    rng = np.random.default_rng([seed, index])
    pred = _Predictions(like, mzp, r, n_grid)
    out = np.empty((n, 2))
    for k in range(n):
        out[k] = _lrt(toy_likelihood(like, rng, pred.sm), mzp, r, pred)
    return out


def z_from_p(p):
    """Z = Phi^-1(1 - p/2) (ANALYSES.md section 3).

    >>> round(float(z_from_p(0.0455)), 3)
    2.0
    """
    return stats.norm.isf(np.asarray(p, dtype=float) / 2.0)


def toy_calibration(datasets, mzp_mev: float, r: float = 1.0, n_toys: int = 200, seed: int = 1,
                    scheduler="synchronous", chunk_size: int = 50, mode: str = "paper",
                    options: dict | None = None, n_grid: int = N_GRID, progress: bool = False,
                    n_workers: int | None = None) -> dict:
    """Calibrate the p-value of the SM test at fixed (M_Z' [MeV], r) with toys under the SM.

    ``datasets``: names (``"csi2017,cenns10"``) built with ``mode``/``options``, or a
    :class:`Likelihood`. Returns

    - ``t_obs``, ``gx_hat`` on the observed data (0 when the SM is the best fit), ``t_toys``
      and ``log10_gx_hat_toys`` (-inf where the SM is the toy's best fit);
    - ``p_toys`` = #(t_toy >= t_obs) / n_toys with its binomial error
      ``p_toys_err`` = sqrt(p (1 - p) / n_toys), ``n_exceed``, ``z_toys``;
    - ``p_wilks`` = P(chi2_1 > t_obs), ``z_wilks``; ``p_wilks_half`` = (1/2) P(chi2_1 > t_obs)
      (1 at t_obs = 0; Chernoff's boundary mixture), ``z_wilks_half``. Every Z = Phi^-1(1 - p/2).

    ``scheduler``: ``"synchronous"``, ``None`` (embedded LocalCluster) or a scheduler address
    (:func:`cevnsfit.inference.scan.run_tasks`); toys run in chunks of ``chunk_size``, chunk k
    seeded with ``default_rng([seed, k])``.
    """
    mzp, r = _check_point(mzp_mev, r)
    if int(n_toys) < 1 or int(chunk_size) < 1:
        raise ParameterError(f"n_toys and chunk_size must be >= 1, got {n_toys}, {chunk_size}")
    n_toys, chunk_size = int(n_toys), int(chunk_size)
    if isinstance(datasets, Likelihood):
        like, spec, names = datasets, datasets, datasets.names
    else:
        like = cached_likelihood(datasets, mode, options)
        spec, names = (like.names, mode, options or {}), like.names
    check_toy_support(like)
    obs = lrt_statistic(like, mzp, r, n_grid)
    sizes = [min(chunk_size, n_toys - k * chunk_size) for k in range(math.ceil(n_toys / chunk_size))]
    chunks = run_tasks(_toy_chunk, [(spec, mzp, r, seed, k, n, n_grid) for k, n in enumerate(sizes)],
                       scheduler=scheduler, progress=progress, description="toys", n_workers=n_workers)
    toys = np.concatenate(chunks)
    t_toys = toys[:, 0]
    n_exceed = int(np.sum(t_toys >= obs["t"]))
    p = n_exceed / n_toys
    p_wilks = float(stats.chi2.sf(obs["t"], 1))
    p_half = 0.5 * p_wilks if obs["t"] > 0 else 1.0
    return {"t_obs": obs["t"], "gx_hat": obs["gx_hat"], "log10_gx_hat": obs["log10_gx_hat"],
            "t_toys": t_toys, "log10_gx_hat_toys": toys[:, 1],
            "n_toys": n_toys, "n_exceed": n_exceed, "p_toys": p, "p_toys_err": math.sqrt(p * (1 - p) / n_toys),
            "z_toys": float(z_from_p(p)), "p_wilks": p_wilks, "z_wilks": float(z_from_p(p_wilks)),
            "p_wilks_half": p_half, "z_wilks_half": float(z_from_p(p_half)),
            "datasets": names, "mode": like.mode, "mzp_mev": mzp, "r": r, "seed": seed,
            "chunk_size": chunk_size, "n_grid": n_grid,
            "toy_model": "SM; nuisances drawn from their priors (hybrid Bayesian-frequentist)"}


__all__ = ["N_GRID", "check_toy_support", "lrt_statistic", "toy_calibration", "toy_likelihood", "z_from_p"]
