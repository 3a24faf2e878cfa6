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


def minimise(
    twice_nll: Callable,
    x0,
    *,
    grad: Callable | None = None,
    names: Sequence[str] | None = None,
    errors=None,
    limits=None,
    fixed: dict | None = None,
    tol: float = DEFAULT_TOL,
    strategy: int = 0,
    retry: bool = True,
) -> Minuit:
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
    m.errordef = Minuit.LEAST_SQUARES  # objective is -2 ln L: Delta = 1 per sigma
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

    def __init__(
        self,
        objective: Callable,
        starts: Callable,
        names: Sequence[str],
        errors=None,
        limits=None,
        tol: float = DEFAULT_TOL,
    ):
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
        m = minimise(
            lambda x: evaluate(x)[0],
            x0,
            grad=lambda x: evaluate(x)[1],
            names=self.names,
            errors=self.errors,
            limits=self.limits,
            tol=self.tol,
        )
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


def _damped_step(h, g, held, damping, k):
    """:func:`batched_newton`'s step: (h + damping diag(h) + damping) d = -g on the free parameters."""
    hh = np.array(h, dtype=float, copy=True)
    diag = np.einsum("pkk->pk", hh)
    hh += (damping * np.abs(diag) + damping)[:, :, None] * np.eye(k)
    hh = np.where(held[:, :, None] | held[:, None, :], 0.0, hh)
    hh[:, np.arange(k), np.arange(k)] = np.where(held, 1.0, np.einsum("pkk->pk", hh))
    gg = np.where(held, 0.0, g)
    return gg, -np.linalg.solve(hh, gg[..., None])[..., 0]


def _halving_search(fun, xa, step, f, active_idx, small, lower, upper, max_halvings):
    """:func:`batched_newton`'s line search: halve each step until f does not increase."""
    alpha = np.ones(active_idx.size)
    todo = np.flatnonzero(~small)
    f_new = np.full(active_idx.size, np.inf)
    x_new = xa.copy()
    for _h in range(max_halvings):
        trial = np.clip(xa[todo] + alpha[todo, None] * step[todo], lower, upper)
        ft = fun(trial, active_idx[todo])[0]
        ok = ft <= f[todo] + 1e-12
        f_new[todo[ok]] = ft[ok]
        x_new[todo[ok]] = trial[ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
        alpha[todo] *= 0.5
    return f_new, x_new, alpha


def batched_newton(
    fun: Callable,
    x0,
    lower,
    upper,
    *,
    free=None,
    max_iter: int = 60,
    tol: float = 1e-7,
    damping: float = 1e-9,
    max_halvings: int = 12,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimise many independent objectives at once by projected, damped Newton steps.

    The second method of this engine, for profiles that need many points fast (one MIGRAD
    per point costs milliseconds). ``fun(x, idx) -> (f, g, h)`` returns, for the points
    ``idx`` (an index array) at parameters ``x`` (len(idx), K), the objective f (-2 ln L),
    its gradient g (len(idx), K) and a positive semi-definite curvature matrix h (len(idx),
    K, K) (the exact Hessian or a Gauss-Newton/Fisher approximation). ``lower``/``upper``
    are (K,) bounds; ``free`` a (P, K) or (K,) boolean mask (False = held at x0).

    Each iteration solves (h + damping diag(h) + damping) d = -g on the parameters that are
    free and not held by an active bound (at a bound with the gradient pointing outward),
    projects x + a d onto the bounds and halves a until f does not increase (monotone, so it
    cannot diverge). A point stops when the predicted decrease -g.d/2 of its Newton step, or
    its actual decrease after a full step, is below ``tol``. Returns (x, f, converged) for all points. Everything is vectorised over points.

    >>> def quad(x, idx):   # (x - c)^2 / s^2 per point, c = (2, -1), bounded below at 0
    ...     c = np.array([[2.0, -1.0]]); s2 = np.array([[0.25, 1.0]])
    ...     f = (((x - c) ** 2) / s2).sum(-1)
    ...     return f, 2 * (x - c) / s2, np.broadcast_to(np.diag(2 / s2[0]), (len(idx), 2, 2))
    >>> x, f, ok = batched_newton(quad, np.zeros((1, 2)), [0.0, 0.0], [10.0, 10.0])
    >>> x.round(6).tolist(), f.round(6).tolist(), bool(ok.all())
    ([[2.0, 0.0]], [1.0], True)
    """
    x = np.array(x0, dtype=float, copy=True)
    npts, k = x.shape
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (k,))
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (k,))
    x = np.clip(x, lower, upper)
    free = np.ones((npts, k), bool) if free is None else np.broadcast_to(np.asarray(free, bool), (npts, k)).copy()
    active_idx = np.arange(npts)
    f_all = np.full(npts, np.nan)
    converged = np.zeros(npts, bool)
    f, g, h = fun(x, active_idx)
    f_all[:] = f
    for _ in range(max_iter):
        if active_idx.size == 0:
            break
        xa = x[active_idx]
        held = ~free[active_idx] | ((xa <= lower) & (g > 0)) | ((xa >= upper) & (g < 0))
        gg, step = _damped_step(h, g, held, damping, k)
        # points whose predicted decrease -g.d/2 is below tol have converged: no line search
        small = -0.5 * np.einsum("pk,pk->p", gg, step) <= tol
        f_new, x_new, alpha = _halving_search(fun, xa, step, f, active_idx, small, lower, upper, max_halvings)
        stuck = ~np.isfinite(f_new)  # no decrease found (or converged): stay
        f_new[stuck] = f[stuck]
        x_new[stuck] = xa[stuck]
        done = small | ((f - f_new <= tol) & ((alpha == 1.0) | stuck | (f - f_new <= tol * 1e-2)))
        x[active_idx] = x_new
        f_all[active_idx] = f_new
        converged[active_idx[done]] = True
        keep = ~done
        active_idx = active_idx[keep]
        if active_idx.size:
            f, g, h = fun(x[active_idx], active_idx)
    return x, f_all, converged


def _newton_start(x0, lower, upper, max_step):
    """:func:`projected_newton`'s start: x0 clipped to the bounds, bounds (P, K), max_step (K,)."""
    x = np.array(x0, dtype=float, copy=True)
    npts, k = x.shape
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (npts, k))
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (npts, k))
    max_step = np.broadcast_to(np.asarray(max_step, dtype=float), (k,))
    return np.clip(x, lower, upper), lower, upper, max_step


def _held_at_bounds(xa, lo, hi, g):
    """:func:`projected_newton`'s held parameters: at a bound with the gradient pointing outward."""
    span = 1e-12 * (1.0 + np.abs(xa))
    return ((xa <= lo + span) & (g > 0)) | ((xa >= hi - span) & (g < 0))


def _modified_newton_direction(h, g, held, eye):
    """:func:`projected_newton`'s direction: -S (S H S)_mod^-1 S g with the held parameters at 0."""
    hs = 0.5 * (h + np.swapaxes(h, -1, -2))
    # Jacobi scaling: the parameters' curvatures may differ by many orders of magnitude
    diag = np.abs(np.einsum("pkk->pk", hs))
    sc = 1.0 / np.sqrt(np.where(held | ~(diag > 0), 1.0, diag))
    hs = hs * sc[:, :, None] * sc[:, None, :]
    hs = np.where(held[:, :, None] | held[:, None, :], 0.0, hs) + held[:, :, None] * eye
    w, v = np.linalg.eigh(hs)
    aw = np.abs(w)
    aw = np.maximum(aw, 1e-10 * aw.max(-1, keepdims=True) + 1e-300)
    gg = np.where(held, 0.0, g)
    d = -sc * np.einsum("pkj,pj->pk", v, np.einsum("pkj,pk->pj", v, gg * sc) / aw)
    return gg, np.where(held, 0.0, d)


def _armijo_search(fun, fval, x, box, d, fgh, active, todo, armijo, max_halvings):
    """:func:`projected_newton`'s backtracking line search (accepted points move in ``x``).

    Returns (accepted, f, g, h) at the new points (unchanged where no step was accepted)."""
    xa, lo, hi = box
    f, g, h = fgh
    t = np.ones(active.size)
    accepted = np.zeros(active.size, bool)
    slack = 16.0 * np.finfo(float).eps * np.abs(f)
    f_next, g_next, h_next = f.copy(), g.copy(), h.copy()
    stale = np.zeros(active.size, bool)  # accepted after a cut: derivatives still to compute
    for n_cut in range(max_halvings + 1):
        if todo.size == 0:
            break
        trial = np.clip(xa[todo] + t[todo, None] * d[todo], lo[todo], hi[todo])
        if n_cut == 0:  # the full step is usually accepted: evaluate the derivatives with it
            ft, gt, ht = fun(trial, active[todo])
        else:
            ft = fval(trial, active[todo])
        bound = f[todo] + armijo * np.einsum("pk,pk->p", g[todo], trial - xa[todo]) + slack[todo]
        ok = np.isfinite(ft) & (ft <= bound)
        acc = todo[ok]
        x[active[acc]] = trial[ok]
        accepted[acc] = True
        f_next[acc] = ft[ok]
        if n_cut == 0:
            g_next[acc], h_next[acc] = gt[ok], ht[ok]
        else:
            stale[acc] = True
        todo = todo[~ok]
        t[todo] *= 0.5
    if stale.any():
        rows = np.flatnonzero(stale)
        f_next[rows], g_next[rows], h_next[rows] = fun(x[active[rows]], active[rows])
    return accepted, f_next, g_next, h_next


def projected_newton(
    fun: Callable,
    fval: Callable,
    x0,
    lower,
    upper,
    *,
    tol: float = 1e-9,
    max_iter: int = 60,
    max_halvings: int = 40,
    max_step=np.inf,
    armijo: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Minimise many independent objectives at once by projected Newton steps with the exact
    Hessian (made positive definite), bounded steps and a backtracking (Armijo) line search.

    A third method of this engine, for terms whose objective has a cheap exact Hessian (sums of
    Poisson/Gaussian terms over bins). Unlike :func:`batched_newton` it reports a point as
    converged only when its Newton decrement is below ``tol`` (never because a line search
    stalled), so the caller can send every other point to a slower, safer method (MIGRAD).

    ``fun(x, idx) -> (f, g, h)``: objective (-2 ln L), gradient (n, K) and Hessian (n, K, K) of
    the points ``idx`` (an index array into the batch) at parameters ``x`` (n, K); ``fval(x,
    idx) -> f`` the objective alone (line search). ``lower``/``upper``: bounds, (K,) or (P, K)
    (+-inf for none). ``max_step``: largest |step| per parameter, scalar or (K,) (a longer
    Newton step is shortened as a whole, keeping its direction).

    Per iteration and point (Bertsekas, SIAM J. Control Optim. 20 (1982) 221, projected Newton):
    parameters at a bound whose gradient points outward are held; on the others the Hessian,
    scaled to unit diagonal (S H S, S = diag(|H_kk|)^-1/2: curvatures may differ by orders of
    magnitude), is replaced by V |Lambda| V^T (eigenvalues by absolute value, floored at 1e-10
    of the largest; a saddle or a concave region still gives a descent direction); the step
    d = -S (S H S)_mod^-1 S g has
    Newton decrement delta = -g.d. The point has converged when delta / 2 <= ``tol`` (for a
    quadratic model the remaining decrease of f). Otherwise the step length t = 1, 1/2, ...
    is cut until f(P(x + t d)) <= f(x) + ``armijo`` g.(P(x + t d) - x) + 16 eps |f(x)| (P: the
    projection on the bounds; the last term absorbs rounding of f); a point without an
    acceptable step after ``max_halvings`` cuts, or not converged after ``max_iter``
    iterations, is returned with ``converged = False``.

    Returns (x, f, converged, iterations), vectorised over points; a point's result does not
    depend on the other points of the batch.

    >>> def quad(x, idx):   # (x - c)^2 / s^2 per point, c = (2, -1), bounded below at 0
    ...     c = np.array([[2.0, -1.0]]); s2 = np.array([[0.25, 1.0]])
    ...     f = (((x - c) ** 2) / s2).sum(-1)
    ...     return f, 2 * (x - c) / s2, np.broadcast_to(np.diag(2 / s2[0]), (len(idx), 2, 2))
    >>> x, f, ok, it = projected_newton(quad, lambda x, i: quad(x, i)[0], np.zeros((1, 2)), 0.0, 10.0)
    >>> x.round(6).tolist(), f.round(6).tolist(), bool(ok.all())
    ([[2.0, 0.0]], [1.0], True)
    """
    x, lower, upper, max_step = _newton_start(x0, lower, upper, max_step)
    npts, k = x.shape
    f_all, converged, iterations = np.full(npts, np.nan), np.zeros(npts, bool), np.zeros(npts, int)
    active = np.arange(npts)
    f, g, h = fun(x, active)
    f_all[:] = f
    eye = np.eye(k)
    for _it in range(max_iter):
        if active.size == 0:
            break
        iterations[active] += 1
        xa, lo, hi = x[active], lower[active], upper[active]
        held = _held_at_bounds(xa, lo, hi, g)
        gg, d = _modified_newton_direction(h, g, held, eye)
        decrement = -np.einsum("pk,pk->p", gg, d)
        done = ~(0.5 * decrement > tol)  # also catches a NaN decrement
        bad = ~np.isfinite(decrement)
        converged[active[done & ~bad]] = True
        d /= np.maximum(1.0, (np.abs(d) / max_step).max(-1))[:, None]
        todo = np.flatnonzero(~done)
        accepted, f_next, g_next, h_next = _armijo_search(
            fun, fval, x, (xa, lo, hi), d, (f, g, h), active, todo, armijo, max_halvings
        )
        # keep iterating the points that moved; the others are finished (converged or failed)
        keep = accepted & ~done
        f_all[active[keep]] = f_next[keep]
        active = active[keep]
        f, g, h = f_next[keep], g_next[keep], h_next[keep]
    return x, f_all, converged, iterations


def profile_batch(
    flat,
    n_par: int,
    objective: Callable,
    starts: Callable,
    migrad: Callable,
    *,
    lower=-np.inf,
    upper=np.inf,
    chunk: int = 128,
    tol: float = 1e-9,
    max_step=np.inf,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Profile ``n_par`` nuisances at every row of ``flat`` (points x bins): projected Newton
    (:func:`projected_newton`) on chunks of ``chunk`` rows, then MIGRAD for the rows it does not
    converge on, keeping the lower of the two minima. Rows that are not finite get NaN.

    ``objective(rows) -> (fun, fval)`` of :func:`projected_newton` for those rows (an index
    array ``idx`` in ``fun(x, idx)`` indexes ``rows``); ``starts(rows) -> [x, ...]`` candidate
    starts, each (len(rows), n_par): per row the one of lowest objective is used (the first on
    ties), fixed and independent of the other rows and of earlier calls; ``migrad(rows) ->
    (twice_nll, argmin)`` the MIGRAD profile of those rows (e.g. :meth:`ProfileEngine.profile`
    from the same starts). ``lower``/``upper``/``tol``/``max_step``: of :func:`projected_newton`.

    Returns (twice_nll (points,), argmin (points, n_par), number of rows sent to MIGRAD).
    """
    flat = np.asarray(flat, dtype=float)
    out = np.full(flat.shape[0], np.nan)
    best = np.full((flat.shape[0], n_par), np.nan)
    idx = np.flatnonzero(np.all(np.isfinite(flat), axis=1))
    failed = []
    for lo in range(0, idx.size, chunk):
        sl = idx[lo : lo + chunk]
        rows = flat[sl]
        fun, fval = objective(rows)
        every = np.arange(sl.size)
        cands = starts(rows)
        x0 = np.array(cands[0], dtype=float)
        f0 = fval(x0, every)
        for c in cands[1:]:
            fc = fval(c, every)
            lower_f = fc < f0
            x0[lower_f], f0[lower_f] = c[lower_f], fc[lower_f]
        x, f, ok, _ = projected_newton(fun, fval, x0, lower, upper, tol=tol, max_step=max_step)
        out[sl], best[sl] = f, x
        failed.append(sl[~ok])
    bad = np.concatenate(failed) if failed else np.zeros(0, int)
    if bad.size:
        f_m, x_m = migrad(flat[bad])
        better = ~(out[bad] <= f_m)
        out[bad[better]], best[bad[better]] = f_m[better], x_m[better]
    return out, best, int(bad.size)


__all__ = ["DEFAULT_TOL", "ProfileEngine", "batched_newton", "minimise", "profile_batch", "projected_newton"]
