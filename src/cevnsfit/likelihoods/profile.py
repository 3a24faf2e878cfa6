"""The one minimiser and profile engine of cevnsfit (docs: statistics, objective convention).

Objective convention, everywhere: ``twice_nll = -2 ln L`` (so Delta = 1 is one standard
deviation for one parameter; iminuit's ``errordef = 1``). Every fit of nuisance parameters
(profiled likelihood terms, the argon cross-check, the 8B measurement) and every fit of
parameters of interest goes through :func:`minimise`, which wraps MIGRAD (iminuit; James &
Roos, Comput. Phys. Commun. 10 (1975) 343) with analytic gradients where the caller has them.

:class:`ProfileEngine` profiles the nuisances of a term point by point: for a batch of
predictions it minimises ``twice_nll(x; pred)`` over x for each point, starting from the best
(lowest objective) of a fixed list of candidate starts that does not depend on previous calls
or on the order of the points, so a point's profile value is the same whatever batch it is in.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from iminuit import Minuit

from ..errors import ParameterError

#: MIGRAD tolerance: EDM < 2e-3 tol errordef, i.e. 2e-6 in -2 ln L at the default.
DEFAULT_TOL = 1e-3


def minimise(twice_nll: Callable, x0, *, grad: Callable | None = None, names: Sequence[str] | None = None,
             errors=None, limits=None, fixed: dict | None = None, tol: float = DEFAULT_TOL,
             strategy: int = 0, retry: bool = True) -> Minuit:
    """Minimise ``twice_nll(x)`` (= -2 ln L) with MIGRAD and return the Minuit object.

    ``errors`` are initial step sizes, ``limits`` a list of (low, high) (None = open),
    ``fixed`` maps parameter names to values held fixed. If the minimum is invalid and
    ``retry`` is set, MIGRAD is run again with strategy 1 (then 2) from where it stopped.

    >>> m = minimise(lambda x: (x[0] - 1.0) ** 2 / 0.25, [0.0], names=["a"])
    >>> round(m.values["a"], 6), round(m.errors["a"], 6)
    (1.0, 0.5)
    """
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 1 or not np.all(np.isfinite(x0)):
        raise ParameterError(f"start values must be a finite 1D array, got {x0!r}")
    m = Minuit(twice_nll, x0, grad=grad, name=names)
    m.errordef = Minuit.LEAST_SQUARES       # objective is -2 ln L: Delta = 1 per sigma
    if errors is not None:
        m.errors = errors
    if limits is not None:
        m.limits = limits
    for k, v in (fixed or {}).items():
        m.values[k] = v
        m.fixed[k] = True
    m.strategy = strategy
    m.tol = tol
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.migrad()
        s = strategy
        while retry and not m.valid and s < 2:
            s += 1
            m.strategy = s
            m.migrad()
    return m


class ProfileEngine:
    """Profile a term's nuisance parameters point by point with :func:`minimise`.

    ``objective(x, pred) -> (twice_nll, gradient)`` for nuisances x and one point's prediction
    ``pred`` (flat over bins); ``starts(pred) -> list of x`` the candidate starts (the lowest
    objective is used). ``names``, ``errors`` and ``limits`` as for :func:`minimise`.
    """

    def __init__(self, objective: Callable, starts: Callable, names: Sequence[str], errors=None, limits=None,
                 tol: float = DEFAULT_TOL):
        self.objective = objective
        self.starts = starts
        self.names = tuple(names)
        self.errors = errors
        self.limits = limits
        self.tol = tol

    def profile_point(self, pred) -> tuple[float, np.ndarray]:
        """(min over x of twice_nll, argmin) for one point."""
        cache: dict = {}

        def evaluate(x):
            key = np.asarray(x, dtype=float).tobytes()
            if key not in cache:
                cache.clear()
                cache[key] = self.objective(np.asarray(x, dtype=float), pred)
            return cache[key]

        cands = [np.asarray(c, dtype=float) for c in self.starts(pred)]
        x0 = min(cands, key=lambda x: evaluate(x)[0])
        m = minimise(lambda x: evaluate(x)[0], x0, grad=lambda x: evaluate(x)[1], names=self.names,
                     errors=self.errors, limits=self.limits, tol=self.tol)
        return float(m.fval), np.array(m.values)

    def profile(self, preds) -> tuple[np.ndarray, np.ndarray]:
        """Profile every row of ``preds`` (points x bins): (twice_nll (points,), argmin (points, n))."""
        preds = np.asarray(preds, dtype=float)
        out = np.full(preds.shape[0], np.nan)
        best = np.full((preds.shape[0], len(self.names)), np.nan)
        for i, p in enumerate(preds):
            if np.all(np.isfinite(p)):
                out[i], best[i] = self.profile_point(p)
        return out, best


__all__ = ["DEFAULT_TOL", "ProfileEngine", "minimise"]
