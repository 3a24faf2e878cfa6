"""Template fit of binned counts with one normalisation per component (docs: statistics; a
data set's unit builds the model and runs the fit, e.g. the argon cross-check of Table I).

The counts n_i are fitted with one global normalisation per component k,

    mu_i(N, alpha) = sum_k N_k p_ki(alpha),      sum_i p_ki = 1,

where p_k is the template of component k normalised to unit sum (so N_k is the fitted total of
k in the whole grid). The test statistic minimised is

    -2 ln L(N, alpha) = -2 sum_i [ n_i ln mu_i - mu_i - ln Gamma(n_i + 1) ]
                        + sum_{k >= 1} ((N_k - c_k) / sigma_k)^2 + sum_j alpha_j^2,

with the first component (the parameter of interest) unconstrained, Gaussian constraints on
the others and, optionally, one unit-Gaussian nuisance alpha_j per shape systematic
(:class:`~cevnsfit.likelihoods.morph.TemplateMorph`).

The minimisation runs on the project's profile engine (:mod:`cevnsfit.likelihoods.profile`):
projected Newton with the exact gradient and Hessian of -2 ln L (:meth:`CrosscheckModel.derivatives`),
converged to a Newton decrement / 2 below :data:`NEWTON_TOL`, with MIGRAD
(:func:`~cevnsfit.likelihoods.profile.minimise`) for a fit it does not converge on. Errors are
sqrt(diag 2 H^-1) of that exact Hessian; the MINOS interval of the parameter of interest is
where its profile (the others re-minimised by the same engine) rises by 1, found by bracketing
and Brent's method; its significance is the profile at 0 (Wilks, one degree of freedom).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import ParameterError
from ..likelihoods.morph import TemplateMorph, interpolation_weights
from ..likelihoods.profile import minimise, projected_newton
from ..likelihoods.stats import log_poisson

#: ln P(n | mu) (kept under its old name; :func:`cevnsfit.likelihoods.stats.log_poisson`).
poisson_logpmf = log_poisson

_TINY = 1e-300  # floor on mu: a morph that drives a bin negative is (heavily) disfavoured, not NaN
#: Newton convergence of the template fit: decrement / 2 in -2 ln L (the fit is cheap, so it is
#: converged far below MIGRAD's EDM, 2e-3 tol = 2e-9 at tol 1e-6).
NEWTON_TOL = 1e-13


@dataclass(frozen=True)
class CrosscheckModel:
    """Binned template model mu_i(N, alpha) with Gaussian constraints (module docstring).

    ``shapes``: (K, n_bins) unit-sum templates, one per entry of ``components`` (the first is
    the unconstrained parameter of interest). ``centres``/``sigmas``: (K,) constraint centres and
    widths (NaN/inf for the free first total). ``morph``: the shape nuisances
    (:class:`cevnsfit.likelihoods.morph.TemplateMorph`), each acting on the component
    ``morph.component_of[j]``; with the "linear" rule (pyhf histosys code 0)

        p_k(alpha) = p_k + sum_{j on k} [ alpha_j (p_j^+ - p_k)  if alpha_j >= 0
                                          alpha_j (p_k - p_j^-)  if alpha_j < 0 ].

    Every variant is renormalised to unit sum, i.e. to its nominal total, so p_k(alpha) keeps
    unit sum and N_k stays the component total.
    """

    shapes: np.ndarray
    centres: np.ndarray
    sigmas: np.ndarray
    morph: TemplateMorph | None = None
    components: tuple = ()

    @property
    def nuisances(self) -> tuple:
        return self.morph.names if self.morph is not None else ()

    @property
    def parameters(self) -> tuple:
        comps = self.components or tuple(f"n{k}" for k in range(self.shapes.shape[0]))
        return tuple(comps) + self.nuisances

    @property
    def n_components(self) -> int:
        return int(self.shapes.shape[0])

    def expected(self, totals, alphas=()) -> np.ndarray:
        """mu_i for totals N (K,) and nuisances alpha (n_nuisances,); shape (n_bins,)."""
        totals = np.asarray(totals, dtype=float)
        mu = totals @ self.shapes
        if self.nuisances:
            mu = mu + self.morph.shift(alphas, scale=totals[self.morph.component_of])
        return mu

    @property
    def aux(self) -> np.ndarray:
        """Nominal auxiliary data a = (c_1, ..., c_{K-1}, 0, ..., 0): the constraint centres."""
        return np.concatenate([self.centres[1:], np.zeros(len(self.nuisances))])

    def asimov(self, totals, alphas=()) -> tuple[np.ndarray, np.ndarray]:
        """Asimov dataset at (N, alpha): counts mu_i(N, alpha) and auxiliary data set to the truth."""
        totals = np.asarray(totals, dtype=float)
        alphas = np.zeros(len(self.nuisances)) if len(alphas) == 0 else np.asarray(alphas, dtype=float)
        return self.expected(totals, alphas), np.concatenate([totals[1:], alphas])

    def twice_nll(self, params, counts, aux=None) -> float:
        """-2 ln L at ``params`` = (N_1, ..., N_K, alpha_1, ...).

        ``aux`` overrides the auxiliary data (the centres of the Gaussian constraints on
        N_2, ..., N_K, alpha_1, ...), e.g. for an Asimov dataset.
        """
        return self.derivatives(params, counts, aux, order=0)[0]

    def grad_twice_nll(self, params, counts, aux=None) -> np.ndarray:
        """Gradient of :meth:`twice_nll` (:meth:`derivatives`)."""
        return self.derivatives(params, counts, aux, order=1)[1]

    def derivatives(self, params, counts, aux=None, order: int = 2) -> tuple:
        """(-2 ln L, gradient, Hessian) at ``params`` (up to ``order``; the rest None):

            d/dtheta = -2 sum_i w_i dmu_i/dtheta + constraints,    w_i = n_i/mu_i - 1,
            d2/dtheta dphi = 2 sum_i [n_i/mu_i^2 dmu_i/dtheta dmu_i/dphi - w_i d2mu_i/dtheta dphi]
                             + 2/sigma_k^2 (constrained N_k) + 2 (alpha_j),

        with dmu_i/dN_k = p_ki(alpha), dmu_i/dalpha_j = N_k(j) J_ji (J = f_+' D^+ + f_-' D^-, the
        side of alpha_j for the linear rule), d2mu_i/dN_k dalpha_j = J_ji (j on k) and
        d2mu_i/dalpha_j^2 = N_k(j) (D^+ - D^-)_ji inside |alpha_j| <= 1 for the quadratic rule (0
        for the linear one). Bins whose mean is floored at 1e-300 carry no derivative."""
        params = np.asarray(params, dtype=float)
        k = self.n_components
        totals, alphas = params[:k], params[k:]
        n = np.asarray(counts, dtype=float)
        a = self.aux if aux is None else np.asarray(aux, dtype=float)
        raw = self.expected(totals, alphas)
        mu = np.maximum(raw, _TINY)
        pulls = (totals[1:] - a[: k - 1]) / self.sigmas[1:]
        shifts = alphas - a[k - 1 :]
        f = float(-2.0 * np.sum(log_poisson(n, mu)) + pulls @ pulls + shifts @ shifts)
        if order == 0:
            return f, None, None
        live = raw > _TINY
        w = np.where(live, n / mu - 1.0, 0.0)
        dmu = [self.shapes]  # (K, B) at alpha = 0, morph shifts added below
        if self.nuisances:
            comp = self.morph.component_of
            fp, fm = interpolation_weights(alphas, self.morph.interpolation)
            per = fp[:, None] * self.morph.delta_plus + fm[:, None] * self.morph.delta_minus  # (J, B)
            shapes = self.shapes + np.stack([per[comp == c].sum(0) for c in range(k)])
            jac = self.morph.jacobian(alphas)  # (J, B)
            dmu = [shapes, totals[comp][:, None] * jac]
        d = np.concatenate(dmu)  # (K + J, B)
        g = -2.0 * (d @ w)
        g[1:k] += 2.0 * pulls / self.sigmas[1:]
        g[k:] += 2.0 * shifts
        if order == 1:
            return f, g, None
        q = np.where(live, n / mu**2, 0.0)
        h = 2.0 * (d * q) @ d.T
        h[np.arange(1, k), np.arange(1, k)] += 2.0 / self.sigmas[1:] ** 2
        if self.nuisances:
            ja = k + np.arange(len(comp))
            cross = -2.0 * (jac @ w)  # d2mu/dN_k dalpha_j = J_j
            h[comp, ja] += cross
            h[ja, comp] += cross
            h[ja, ja] += 2.0
            if self.morph.interpolation == "quadratic":
                inside = np.abs(alphas) <= 1.0
                curv = (self.morph.delta_plus - self.morph.delta_minus) @ w
                h[ja, ja] += np.where(inside, -2.0 * totals[comp] * curv, 0.0)
        return f, g, h


class _Fitter:
    """Minimisations of one model and data set on the profile engine: projected Newton over
    all parameters with some of them held (bounds lower = upper), MIGRAD for a fit Newton does
    not converge on (keeping the lower minimum)."""

    def __init__(self, model: CrosscheckModel, counts, aux, tol: float):
        self.model, self.counts, self.aux, self.tol = model, counts, aux, tol
        self.all_converged = True

    def _fun(self, x, idx):
        out = [self.model.derivatives(xi, self.counts, self.aux) for xi in x]
        return np.array([o[0] for o in out]), np.stack([o[1] for o in out]), np.stack([o[2] for o in out])

    def _fval(self, x, idx):
        return np.array([self.model.derivatives(xi, self.counts, self.aux, order=0)[0] for xi in x])

    def fit(self, start, held: dict | None = None) -> tuple[float, np.ndarray]:
        """(min -2 ln L, argmin) from ``start`` with ``held`` {index: value} fixed."""
        x0 = np.array(start, dtype=float)
        lo, hi = np.full(x0.size, -np.inf), np.full(x0.size, np.inf)
        for i, v in (held or {}).items():
            x0[i] = lo[i] = hi[i] = v
        x, f, ok, _ = projected_newton(self._fun, self._fval, x0[None, :], lo, hi, tol=NEWTON_TOL)
        if ok[0]:
            return float(f[0]), x[0]
        names = self.model.parameters
        m = minimise(
            lambda p: self.model.twice_nll(p, self.counts, self.aux),
            x0,
            grad=lambda p: self.model.grad_twice_nll(p, self.counts, self.aux),
            names=names,
            errors=np.maximum(0.1 * np.abs(x0), 0.5),
            fixed={names[i]: v for i, v in (held or {}).items()},
            tol=self.tol,
            strategy=2,
        )
        self.all_converged = self.all_converged and bool(m.valid)
        if np.isfinite(f[0]) and f[0] <= m.fval:
            return float(f[0]), x[0]
        return float(m.fval), np.array(m.values)

    def errors(self, x) -> np.ndarray:
        """sqrt(diag 2 H^-1) with H the exact Hessian of -2 ln L at ``x``."""
        h = self.model.derivatives(x, self.counts, self.aux)[2]
        return np.sqrt(np.diag(2.0 * np.linalg.inv(h)))

    def minos(self, x, f_min: float, err: float, index: int = 0) -> tuple[float, float, bool]:
        """(lower, upper) offsets of parameter ``index`` where its profile rises by 1 above
        ``f_min`` (bracketed from the Hessian error, then Brent to 1e-9 of it); valid when both
        crossings were bracketed."""

        def excess(v):
            return self.fit(x, {index: v})[0] - f_min - 1.0

        out, valid = [], True
        for side in (-1.0, 1.0):
            step, inner, found = err, x[index], False
            for _ in range(30):
                outer = x[index] + side * step
                if excess(outer) > 0.0:
                    found = True
                    break
                inner, step = outer, 2.0 * step
            if not found:
                out.append(side * np.inf)
                valid = False
                continue
            root = optimize.brentq(excess, inner, outer, xtol=1e-9 * err, rtol=1e-14)
            out.append(root - x[index])
        return out[0], out[1], valid


def fit_model(
    model: CrosscheckModel, counts, aux=None, minos: bool = True, significance: bool = True, tol: float = 1e-6
) -> dict:
    """Minimise -2 ln L on the profile engine (module docstring), errors sqrt(diag 2 H^-1) from
    the exact Hessian, the MINOS interval of the first component (the parameter of interest).

    Starts from the constraint centres (first component: data total minus the others' centres,
    alpha = 0); ``aux`` overrides the constraint centres (:meth:`CrosscheckModel.twice_nll`);
    ``tol`` is MIGRAD's for a fit Newton does not converge on.
    ``significance_<poi>`` = sqrt(t) with t = -2 ln L(N_poi = 0, rest profiled) - min(-2 ln L)
    (Wilks, one degree of freedom, one-sided: Z = sqrt(t)). Returns a JSON-ready dict: each
    component and ``pulls[nuisance]`` as [best, error], ``<poi>_minos`` [low, high] (offsets),
    ``valid`` (every minimisation converged and both MINOS crossings found), ``nll_min``.
    """
    counts = np.asarray(counts, dtype=float).ravel()
    if counts.shape != model.shapes.shape[1:]:
        raise ParameterError(f"counts must have {model.shapes.shape[1]} bins, got {counts.size}")
    if aux is not None and np.shape(aux) != model.aux.shape:
        raise ParameterError(f"aux must have {model.aux.size} entries, got {np.size(aux)}")
    k = model.n_components
    start = np.concatenate(
        [[max(counts.sum() - model.centres[1:].sum(), 1.0)], model.aux[: k - 1], np.zeros(len(model.nuisances))]
    )
    fitter = _Fitter(model, counts, aux, tol)
    f_min, x = fitter.fit(start)
    err = fitter.errors(x)
    names = model.parameters
    poi = names[0]
    out: dict = {c: [float(x[i]), float(err[i])] for i, c in enumerate(names[:k])}
    valid = True
    if minos:
        lo, hi, ok = fitter.minos(x, f_min, float(err[0]))
        out[f"{poi}_minos"] = [float(lo), float(hi)]
        valid = valid and ok
    if model.nuisances:
        out["pulls"] = {c: [float(x[k + j]), float(err[k + j])] for j, c in enumerate(model.nuisances)}
    if significance:
        f0, _ = fitter.fit(x, {0: 0.0})
        out[f"significance_{poi}"] = float(np.sqrt(max(f0 - f_min, 0.0)))
    out["valid"] = bool(valid and fitter.all_converged)
    out["nll_min"] = f_min
    return out


__all__ = ["NEWTON_TOL", "CrosscheckModel", "fit_model", "poisson_logpmf"]
