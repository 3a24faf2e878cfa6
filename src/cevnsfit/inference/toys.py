"""Toy-Monte-Carlo calibration of the significance of the MLE over the SM (docs: statistics).

At fixed (M_Z', r) the test statistic is

    t = 2 [ max_{g_x in {0} U [1e-4, 1e-1]} ln L(g_x) - ln L(g_x = 0) ] >= 0,

maximised on a grid of log10 g_x in [-4, -1] (prior range) refined by a bounded Brent search
(:func:`cevnsfit.inference.sampling.refine_max`); g_x >= 0 and the SM (g_x = 0) is the
boundary. Wilks' theorem would give t ~ chi2_1 (p_wilks, Z = Phi^-1(1 - p/2) as in
docs: statistics); with the parameter on the boundary Chernoff's theorem gives instead
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

import math

import numpy as np
from scipy import stats

from ..errors import ParameterError
from ..likelihoods import Likelihood
from ..likelihoods.paper import AsimovPoisson
from ..likelihoods.toy_grid import FixedPredictions
from .problem import Problem, ProblemSpec, memo_in_process
from .sampling import refine_max
from .scan import run_tasks

#: Grid points in log10 g_x over the prior range before refinement (0.025 dex spacing).
N_GRID = 121
#: Brent tolerance on the POI's internal coordinate when refining the grid maximum: t is then
#: exact to ~1e-7 (measured: |Delta t| <= 4e-8 against 1e-5 over 100 toys), far below any
#: statistical resolution, with 10 instead of 12 likelihood calls per toy.
XATOL = 1e-4


def check_toy_support(like: Likelihood) -> None:
    """Raise :class:`ParameterError` unless every term of ``like`` can draw its own pseudo-data."""
    for dt in like.terms:
        if isinstance(dt.term, AsimovPoisson):
            raise ParameterError(
                f"dataset {dt.name!r} is an Asimov projection (its 'data' are the SM expectation): there is "
                "nothing to fluctuate, so no toy calibration; drop it from datasets"
            )
        if not hasattr(dt, "pseudo_data") or not hasattr(dt.term, "pseudo_data"):
            raise ParameterError(
                f"dataset {dt.name!r} ({type(dt.term).__name__}, mode {like.mode!r}) cannot draw "
                "pseudo-data; toys are defined for the paper-mode terms"
            )


def toy_likelihood(like: Likelihood, rng: np.random.Generator, sm_predictions=None) -> Likelihood:
    """A new :class:`Likelihood` whose terms hold one toy data set generated under the SM
    (nuisances drawn from their priors; see the module doc). ``sm_predictions`` (one per term,
    ``term.prediction(None)``) saves recomputing them."""
    check_toy_support(like)
    sm_predictions = sm_predictions or [dt.prediction(None) for dt in like.terms]
    terms = [dt.pseudo_data(rng, sm) for dt, sm in zip(like.terms, sm_predictions)]
    return Likelihood(terms, like.mode)


# ---------------------------------------------------------------------------------------------
# test statistic
# ---------------------------------------------------------------------------------------------


class _Predictions:
    """Per-term predictions on the POI grid and for the null at the fixed other parameters:
    data-independent, so computed once and shared by every toy."""

    def __init__(self, problem: Problem, n_grid: int):
        par = problem.poi_parameters[0]
        self.par = par
        self.box = par.internal_range
        self.x = np.linspace(*self.box, n_grid)
        model = problem.model(**{par.name: par.from_internal(self.x)})
        like = problem.like
        self.grid = [dt.prediction(model) for dt in like.terms]
        null = problem.model(**problem.null_values())
        self.sm = [dt.prediction(null) for dt in like.terms]
        # every toy's ln L on the grid and at the null (likelihoods.toy_grid: cached per-bin
        # columns for the per-bin terms, the exact values; the predictions are data-independent)
        self.fixed = FixedPredictions(like.terms, self.grid, self.sm)

    def logl(self, like: Likelihood) -> tuple[np.ndarray, float]:
        """ln L on the grid and at the null for the data held by ``like``."""
        return self.fixed([dt.term for dt in like.terms])


def _lrt(like: Likelihood, problem: Problem, pred: _Predictions) -> tuple[float, float]:
    """t = 2 [max ln L - ln L(null)] for the data held by ``like`` (the problem's model and
    fixed parameters; its own likelihood is not used, so toys can swap the data)."""
    logl, logl_sm = pred.logl(like)
    par = pred.par

    def f(t):
        return like.logl_model(problem.model(**{par.name: par.from_internal(t)}))

    xm, lm, _ = refine_max(f, pred.x, logl, bounds=pred.box, xatol=XATOL)
    if lm <= logl_sm:  # the null (boundary) is the maximum
        return 0.0, -np.inf
    return 2.0 * (lm - logl_sm), xm


def lrt_statistic_problem(problem: Problem, n_grid: int = N_GRID) -> dict:
    """t = 2 [max over the POI's prior range and the null of ln L - ln L(null)] for a one-POI
    :class:`~cevnsfit.inference.problem.Problem`, with the maximising POI (internal coordinate
    ``x_hat``, -inf when the null is the maximum)."""
    if len(problem.poi) != 1:
        raise ParameterError(f"toys calibrate one parameter of interest, got {problem.poi}")
    if isinstance(n_grid, (bool, np.bool_)) or not isinstance(n_grid, (int, np.integer)) or n_grid < 3:
        raise ParameterError(f"n_grid must be an integer >= 3, got {n_grid!r}")
    t, xm = _lrt(problem.like, problem, _Predictions(problem, n_grid))
    return {"t": t, "x_hat": xm, "poi": problem.poi[0], **problem.describe()}


def _toy_chunk(spec, seed: int, index: int, n: int, n_grid: int, out_path=None) -> np.ndarray:
    """One task: ``n`` toys from ``default_rng([seed, index])``; returns (n, 2): t, x_hat. With
    ``out_path`` a finished chunk is read back instead of recomputed, and a new one is written
    there atomically (kill and resume)."""
    if out_path is not None and out_path.exists():
        try:
            done = np.load(out_path)
            if done.shape == (n, 2):
                return done
        except (OSError, ValueError):
            pass
    out = _toy_chunk_compute(spec, seed, index, n, n_grid)
    if out_path is not None:
        from .scan import _atomic_write

        _atomic_write(out_path, lambda fh: np.save(fh, out))
    return out


#: Problems and grid predictions of this process (their per-bin caches warm up over the
#: chunks a worker runs; inference.problem.memo_in_process).
_PRED_CACHE: dict[str, tuple] = {}


def _problem_and_predictions(spec, n_grid: int) -> tuple[Problem, _Predictions]:
    return memo_in_process(_PRED_CACHE, spec, f"grid{n_grid}", lambda problem: _Predictions(problem, n_grid))


def _toy_chunk_compute(spec, seed: int, index: int, n: int, n_grid: int) -> np.ndarray:
    problem, pred = _problem_and_predictions(spec, n_grid)
    rng = np.random.default_rng([seed, index])
    out = np.empty((n, 2))
    for k in range(n):
        out[k] = _lrt(toy_likelihood(problem.like, rng, pred.sm), problem, pred)
    return out


def z_from_p(p):
    """Z = Phi^-1(1 - p/2) (docs: statistics).

    >>> round(float(z_from_p(0.0455)), 3)
    2.0
    """
    return stats.norm.isf(np.asarray(p, dtype=float) / 2.0)


def _checkpoint_paths(problem, checkpoint, seed, chunk_size, n_toys, n_grid, n_chunks) -> list:
    """:func:`toys`' chunk files under ``checkpoint`` (a folder named by a hash of the run), or Nones."""
    if checkpoint is None:
        return [None] * n_chunks
    import hashlib
    import json
    from pathlib import Path

    from .. import __version__

    key = json.dumps(
        {
            "problem": problem.describe(),
            "seed": seed,
            "chunk_size": chunk_size,
            "n_toys": n_toys,
            "n_grid": n_grid,
            "cevnsfit_version": __version__,  # another version's chunks are never reused
        },
        sort_keys=True,
        default=str,
    )
    folder = Path(checkpoint) / hashlib.sha256(key.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return [folder / f"toys_{k:05d}.npy" for k in range(n_chunks)]


def _run_toy_chunks(problem, seed, sizes, n_grid, paths, checkpoint, scheduler, progress, n_workers) -> list:
    """:func:`toys`' chunks run through :func:`run_tasks` (under the checkpoint folder's lock)."""
    import contextlib

    from .scan import INTERRUPTED, folder_lock

    with folder_lock(paths[0].parent) if checkpoint is not None else contextlib.nullcontext():
        try:
            return run_tasks(
                _toy_chunk,
                [(problem, seed, k, n, n_grid, paths[k]) for k, n in enumerate(sizes)],
                scheduler=scheduler,
                progress=progress,
                description="toys",
                n_workers=n_workers,
            )
        except KeyboardInterrupt:
            if checkpoint is not None:
                done = sum(p.exists() for p in paths)
                INTERRUPTED.update(folder=str(paths[0].parent), done=done, total=len(paths), unit="toy chunks")
            raise


def toys(
    problem,
    n_toys: int = 200,
    seed: int = 1,
    scheduler="synchronous",
    chunk_size: int = 50,
    n_grid: int = N_GRID,
    progress: bool = False,
    n_workers: int | None = None,
    checkpoint=None,
) -> dict:
    """Calibrate the p-value of the null test of a one-POI problem with toys under the null.

    ``problem``: a :class:`~cevnsfit.inference.problem.ProblemSpec` (names travel to the workers)
    or a :class:`~cevnsfit.inference.problem.Problem` (synchronous or in-process use). Returns

    - ``t_obs`` and ``x_hat`` (internal coordinate of the POI; -inf where the null is the best
      fit) on the observed data, ``t_toys`` and ``x_hat_toys``;
    - ``p_toys`` = #(t_toy >= t_obs) / n_toys with its binomial error
      ``p_toys_err`` = sqrt(p (1 - p) / n_toys), ``n_exceed``, ``z_toys``;
    - ``p_wilks`` = P(chi2_1 > t_obs), ``z_wilks``; ``p_wilks_half`` = (1/2) P(chi2_1 > t_obs)
      (1 at t_obs = 0; Chernoff's boundary mixture), ``z_wilks_half``. Every Z = Phi^-1(1 - p/2);
    - ``toy_count_note``: None, or why p_toys is not meaningful yet (fewer than
      :data:`~cevnsfit.inference.checks.MIN_TOYS` toys or fewer than
      :data:`~cevnsfit.inference.checks.MIN_EXCEED` beyond t_obs; also warned).

    ``scheduler``: ``"synchronous"``, ``None`` (embedded LocalCluster) or a scheduler address
    (:func:`cevnsfit.inference.scan.run_tasks`); toys run in chunks of ``chunk_size``, chunk k
    seeded with ``default_rng([seed, k])``. ``checkpoint``: a directory where finished chunks are
    kept (under a subdirectory named by a hash of the problem, seed and sizes), so a killed run
    resumes without recomputing them.
    """
    for name, value, least in (("n_toys", n_toys, 1), ("chunk_size", chunk_size, 1), ("n_grid", n_grid, 3)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < least:
            raise ParameterError(f"{name} must be an integer >= {least}, got {value!r}")
    n_toys, chunk_size = int(n_toys), int(chunk_size)
    from .checks import toy_count_note, warn, with_declared_defaults

    problem = with_declared_defaults(problem)
    local = problem.build() if isinstance(problem, ProblemSpec) else problem
    check_toy_support(local.like)
    obs = lrt_statistic_problem(local, n_grid)
    sizes = [min(chunk_size, n_toys - k * chunk_size) for k in range(math.ceil(n_toys / chunk_size))]
    paths = _checkpoint_paths(problem, checkpoint, seed, chunk_size, n_toys, n_grid, len(sizes))
    chunks = _run_toy_chunks(problem, seed, sizes, n_grid, paths, checkpoint, scheduler, progress, n_workers)
    res = np.concatenate(chunks)
    t_toys = res[:, 0]
    n_exceed = int(np.sum(t_toys >= obs["t"]))
    p = n_exceed / n_toys
    p_wilks = float(stats.chi2.sf(obs["t"], 1))
    p_half = 0.5 * p_wilks if obs["t"] > 0 else 1.0
    note = toy_count_note(n_toys, n_exceed)
    if note:
        warn(note)
    return {
        "toy_count_note": note,
        "t_obs": obs["t"],
        "x_hat": obs["x_hat"],
        "t_toys": t_toys,
        "x_hat_toys": res[:, 1],
        "n_toys": n_toys,
        "n_exceed": n_exceed,
        "p_toys": p,
        "p_toys_err": math.sqrt(p * (1 - p) / n_toys),
        "z_toys": float(z_from_p(p)),
        "p_wilks": p_wilks,
        "z_wilks": float(z_from_p(p_wilks)),
        "p_wilks_half": p_half,
        "z_wilks_half": float(z_from_p(p_half)),
        **local.describe(),
        "seed": seed,
        "chunk_size": chunk_size,
        "n_grid": n_grid,
        "toy_model": "null; nuisances drawn from their priors (hybrid Bayesian-frequentist)",
    }


_MOVED = ("lrt_statistic", "toy_calibration")

__all__ = [
    "N_GRID",
    "check_toy_support",
    "lrt_statistic_problem",
    "toy_likelihood",
    "toys",
    "z_from_p",
]


def __getattr__(name: str):
    """The reference analysis's names moved to :mod:`cevnsfit.inference.reference`; old imports keep working."""
    if name in _MOVED:
        from . import reference

        return getattr(reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
