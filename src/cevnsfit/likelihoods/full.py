"""`full`-mode likelihoods (docs: statistics; docs: datasets): one set of nuisance parameters
shared by all bins of an experiment, profiled per parameter point by the project's profile
engine (:mod:`cevnsfit.likelihoods.profile`: batched projected Newton, MIGRAD per point for
the points it does not converge on). Each term maps a prediction of shape
``points + experiment.shape`` to the profile log-likelihood

    ln L_p(theta) = max_nu ln L(theta, nu),      shape ``points``,

including every normalisation constant (Poisson factorials, Gaussian normalisations), so one
object returns values with the same additive constant on every call.

* :class:`ProfiledTerm`: the profiling shared by every such term (a data set's unit may
  subclass it for a likelihood the declared format cannot express).
* :class:`CennsFullLikelihood`: a signal (the model's prediction) and templates with one
  normalisation each and ``shape_only`` quadratic morphs: the compiled fast path of the declared
  likelihoods of that structure (:func:`cevnsfit.likelihoods.declared.templates_backend`).

Normalisation nuisances a_k enter through u_k = ln(1 + a_k), so the minimisers work without
bounds and the physical boundary 1 + a_k = 0 (a rate far above the data) is approached with a
vanishing gradient instead of a wall; the profile maximum is reparametrisation invariant. Every
point starts from the best of (all nuisances at 0, signal normalisation rescaled to the SM
total), independently of the other points and of earlier calls. Two engines (option
``engine``, objective -2 ln L):

* ``"newton"`` (default): :func:`~cevnsfit.likelihoods.profile.profile_points` with projected
  Newton vectorised over points (:func:`~cevnsfit.likelihoods.profile.projected_newton`), the
  exact gradient and Hessian of -2 ln L in the nuisances (Poisson and Gaussian sums over bins,
  so the Hessian costs about as much as the gradient), a backtracking line search and steps of
  at most 2 per parameter, converged when the Newton decrement / 2 is below 1e-9. Any point
  that does not converge is profiled with MIGRAD from the same start and keeps the lower of the
  two minima (``term.last_fallbacks`` counts them). :class:`CennsFullLikelihood`'s sums run in
  a compiled kernel when numba is installed (:mod:`cevnsfit.likelihoods._full_kernels`; numpy
  otherwise, same numbers).
* ``"migrad"``: MIGRAD point by point with analytic gradients
  (:class:`~cevnsfit.likelihoods.profile.ProfileEngine`), retried with strategies 1 and 2 if it
  reports an invalid minimum. A linear morph (a kink at alpha = 0) always uses it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import numpy as np
from scipy import special

from ..errors import ParameterError, UnknownNameError
from . import _full_kernels as _kernels
from .morph import (
    TemplateMorph,
    interpolation_slopes,
    interpolation_weights,
    unit_shape,
)
from .profile import ProfileEngine, profile_batch

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
U_MAX = 30.0  # exp(30) ~ 1e13: caps 1 + a so a wild MIGRAD step cannot overflow
_LAM_FLOOR = 1e-12  # floor on a bin mean driven <= 0 by a morph: heavily disfavoured, finite
#: Profiling methods of the full-mode terms: batched Newton (with MIGRAD for the points it does
#: not converge on) or MIGRAD point by point.
ENGINES = ("newton", "migrad")


def log_gauss_norm(sigma: float) -> float:
    return -np.log(sigma) - _LOG_SQRT_2PI


class ProfiledTerm(abc.ABC):
    """Maximise ln L over the nuisances at every parameter point: batched Newton
    (``engine="newton"``, :meth:`_profile_newton`) or MIGRAD point by point (``"migrad"``).

    Subclasses set ``names``, ``steps`` (initial step sizes), ``bin_shape``,
    ``const`` (the additive constant) and implement ``_set_point(pred)`` and ``_evaluate(x)``
    -> (-ln L + const, gradient) for MIGRAD and ``_newton_objective(flat)`` for Newton.
    """

    tol = 1e-3  # MIGRAD: EDM < 2e-3 tol errordef = 1e-6 in ln L
    newton_tol = 1e-9  # Newton: converged when the decrement / 2 (in -2 ln L) is below this
    chunk = 128  # points per vectorised Newton batch (bounds the memory: chunk x bins x n_par)
    max_step = 2.0  # Newton: largest step per parameter and iteration
    engine = "newton"
    last_fallbacks = 0
    names: tuple = ()
    steps: np.ndarray
    bin_shape: tuple = ()
    const: float = 0.0
    reference_total: float | None = None

    def __init__(self, engine: str | None = None):
        if engine not in (None,) + ENGINES:
            raise UnknownNameError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.engine = engine or "newton"
        self._cache_x = None
        self._cache = None
        self._current = None

    # -- objective with a one-entry cache: MIGRAD asks for f and grad at the same x --
    def _eval_cached(self, x):
        x = np.asarray(x, dtype=float)
        if self._cache_x is None or not np.array_equal(x, self._cache_x):
            self._cache = self._evaluate(x)
            self._cache_x = x.copy()
        return self._cache

    def _starts(self, pred) -> list[np.ndarray]:
        """Candidate starts (fixed, independent of earlier points or calls): all nuisances at 0,
        and with a prediction far above the SM the CEvNS normalisation rescaled to it."""
        zero = np.zeros(len(self.names))
        cands = [zero]
        total = float(np.sum(pred))
        if self.reference_total and total > 2.0 * self.reference_total:
            resc = zero.copy()
            resc[0] = np.log(self.reference_total / total)
            cands.append(resc)
        return cands

    def _objective(self, x, pred):
        """-2 ln L and its gradient at nuisances x for the point ``pred`` (the engine's convention)."""
        if pred is not self._current:
            self._set_point(pred)
            self._current = pred
            self._cache_x = None
        f, g = self._eval_cached(x)
        return 2.0 * f, 2.0 * np.asarray(g)

    def profile(self, pred) -> tuple[np.ndarray, np.ndarray]:
        """(ln L_p, best-fit nuisances) per point: shapes ``points`` and ``points + (n_par,)``
        (parameters in the order of ``names``; normalisations as u = ln(1 + a)). Points whose
        prediction is not finite get NaN. Each point starts from the best of :meth:`_starts`,
        so its value does not depend on the batch it is in or on earlier calls.

        ``engine == "newton"``: :meth:`_profile_newton` (batched projected Newton, MIGRAD for
        the points it does not converge on); ``"migrad"``: :meth:`_profile_migrad`."""
        pred = np.asarray(pred, dtype=float)
        nb = len(self.bin_shape)
        if pred.shape[pred.ndim - nb :] != self.bin_shape:
            raise ParameterError(f"prediction must end in the bin shape {self.bin_shape}, got {pred.shape}")
        points = pred.shape[: pred.ndim - nb]
        flat = pred.reshape((-1, int(np.prod(self.bin_shape))))
        if self.engine == "migrad":
            twice_nll, best = self._profile_migrad(flat)
        else:
            twice_nll, best = self._profile_newton(flat)
            if flat.shape[0] and np.all(np.isfinite(best[-1])):
                # leave the last point's state (prediction, steady state) current, as MIGRAD does
                self._set_point(flat[-1])
                self._current = None
                self._evaluate(best[-1])
        return (-0.5 * twice_nll).reshape(points), best.reshape(points + (len(self.names),))

    def _profile_migrad(self, flat) -> tuple[np.ndarray, np.ndarray]:
        """(-2 ln L_p, argmin) per row of ``flat`` (points x bins), MIGRAD point by point through
        the project's one engine (:class:`~cevnsfit.likelihoods.profile.ProfileEngine`)."""
        self._current = None
        engine = ProfileEngine(self._objective, self._starts, self.names, errors=self.steps, tol=self.tol)
        return engine.profile(flat)

    def _profile_newton(self, flat) -> tuple[np.ndarray, np.ndarray]:
        """(-2 ln L_p, argmin) per row of ``flat``: the project's profile engine
        (:func:`~cevnsfit.likelihoods.profile.profile_batch`): projected Newton on
        :meth:`_newton_objective` from the best of :meth:`_batch_starts`, steps of at most
        :attr:`max_step` per parameter, the normalisations u_k capped at 30 as in
        :meth:`_evaluate`; MIGRAD (:meth:`_profile_migrad`, same starts) for the points it does
        not converge on, keeping the lower minimum. ``last_fallbacks`` counts them."""
        upper = np.array([U_MAX if n.startswith("ln1p_") else np.inf for n in self.names])
        out, best, self.last_fallbacks = profile_batch(
            flat,
            len(self.names),
            self._newton_objective,
            self._batch_starts,
            self._profile_migrad,
            upper=upper,
            chunk=self.chunk,
            tol=self.newton_tol,
            max_step=self.max_step,
        )
        return out, best

    def _batch_starts(self, flat) -> list[np.ndarray]:
        """:meth:`_starts` for a batch: candidate starts, each (points, n_par)."""
        zero = np.zeros((flat.shape[0], len(self.names)))
        cands = [zero]
        if self.reference_total:
            total = flat.sum(-1)
            resc = zero.copy()
            far = total > 2.0 * self.reference_total
            resc[far, 0] = np.log(self.reference_total / total[far])
            cands.append(resc)
        return cands

    @abc.abstractmethod
    def _newton_objective(self, flat) -> tuple[Callable, Callable]:
        """(fun, fval) of :func:`~cevnsfit.likelihoods.profile.projected_newton` for the points
        ``flat``: fun(x, idx) -> (-2 ln L, gradient, Hessian), fval(x, idx) -> -2 ln L
        (subclasses)."""

    @abc.abstractmethod
    def _set_point(self, pred) -> None:
        """Make ``pred`` (flat over bins) the current point of :meth:`_evaluate` (subclasses)."""

    @abc.abstractmethod
    def _evaluate(self, x) -> tuple[float, np.ndarray]:
        """(-(ln L + const) with ``const`` included, gradient) at nuisances x (subclasses)."""

    def logl(self, pred) -> np.ndarray:
        return self.profile(pred)[0]

    def nuisances(self, pred) -> dict[str, np.ndarray]:
        """Best-fit nuisances by name; normalisations reported as a_k = exp(u_k) - 1."""
        _, best = self.profile(pred)
        out = {}
        for j, n in enumerate(self.names):
            if n.startswith("ln1p_"):
                out[n[5:]] = np.expm1(best[..., j])
            else:
                out[n] = best[..., j]
        return out


class CennsFullLikelihood(ProfiledTerm):
    """A signal and K templates with one normalisation each and shape morphs:

        ln L = sum_i ln P(n_i; lam_i) + sum_k ln N(a_k; 0, s_k) + sum_j ln N(alpha_j; 0, 1),
        lam_i = (1 + a_1) S_i(theta) r_i(alpha) + sum_{k >= 2} (1 + a_k) T_k p_ki(alpha),

    profiled over the normalisations a_k and the shape variations alpha_j. Backgrounds
    (``backgrounds``, counts per bin): templates at unit sum p_k times their totals T_k, widths
    s_k (``sigmas``); the signal: the model prediction S(theta) with width s_1 =
    ``cevns_sigma`` (None: unconstrained). Shape morphs (:mod:`cevnsfit.likelihoods.morph`):

        p_k(alpha) = p_k + sum_{j on k} [f_+(alpha_j) D_j^+ + f_-(alpha_j) D_j^-],
        r_i(alpha) = p_sig,i(alpha) / p_sig,i  (1 where the nominal template p_sig,i = 0),

    i.e. the signal morphs act multiplicatively on the prediction bin by bin, relative to the
    release's nominal signal template ``cevns_nominal``, so a BSM spectrum keeps its own energy
    dependence while inheriting the release's shape uncertainty. ``interpolation="quadratic"``
    (smooth, pyhf code 2) or ``"linear"`` (pyhf code 0; profiled by MIGRAD). Bin means driven
    <= 0 by a morph are floored at 1e-12. ``morph.component_of`` indexes ("cevns",) +
    tuple(backgrounds).

    Analytic gradient, u_k = ln(1 + a_k), w_i = n_i/lam_i - 1:

        d ln L / d u_k     = (1 + a_k) [sum_i w_i X_ki - a_k / s_k^2],
        d ln L / d alpha_j = (1 + a_k) sum_i w_i Y_ki J_ji - alpha_j,

    X_1 = S r(alpha), X_k = T_k p_k(alpha); Y_1 = S, Y_k = T_k; J_j = f_+' D_j^+ + f_-' D_j^-
    (relative to the nominal signal template for signal morphs).
    """

    #: compiled kernel for the Newton profile: None = when numba is importable, True/False = force
    use_numba: bool | None = None

    def __init__(
        self,
        observed,
        backgrounds: dict,
        sigmas: dict,
        morph: TemplateMorph | None,
        cevns_nominal=None,
        *,
        cevns_sigma: float | None,
        reference_total: float | None = None,
        tol: float | None = None,
        engine: str | None = None,
    ):
        super().__init__(engine)
        self.n = np.asarray(observed, dtype=float).ravel()
        self.bin_shape = np.asarray(observed).shape
        self.bkg_names = tuple(backgrounds)
        components = ("cevns",) + self.bkg_names
        self.totals = np.array([np.asarray(backgrounds[k], dtype=float).sum() for k in self.bkg_names])
        self.shapes = np.stack([unit_shape(backgrounds[k]) for k in self.bkg_names])  # (K, B)
        self.sig = np.array(
            [cevns_sigma if cevns_sigma is not None else np.inf] + [float(sigmas[k]) for k in self.bkg_names]
        )
        self.morph = morph if morph is not None and len(morph) else None
        n_alpha = 0
        if self.morph is not None:
            comp = np.asarray(self.morph.component_of)
            n_alpha = len(comp)
            if cevns_nominal is None and np.any(comp == 0):
                raise ParameterError("CEvNS shape morphs need the nominal CEvNS template")
            # rows of D^+-: CEvNS morphs relative to the nominal template (multiplicative),
            # background morphs times the component total (additive in counts)
            rel = self.morph.relative_to(unit_shape(cevns_nominal)) if np.any(comp == 0) else self.morph
            scale = np.where(comp == 0, 1.0, np.concatenate([[1.0], self.totals])[comp])[:, None]
            self._dplus = np.where((comp == 0)[:, None], rel.delta_plus, self.morph.delta_plus * scale)
            self._dminus = np.where((comp == 0)[:, None], rel.delta_minus, self.morph.delta_minus * scale)
            self._onehot = (comp[None, :] == np.arange(len(components))[:, None]).astype(float)  # (K+1, J)
            self._comp = comp
        self.names = tuple(f"ln1p_{k}" for k in components) + (self.morph.names if self.morph else ())
        self.steps = np.array([0.1] + [min(0.5 * s, 0.5) for s in self.sig[1:]] + [0.5] * n_alpha)
        self.reference_total = reference_total
        self.tol = tol or self.tol
        self._finite = np.isfinite(self.sig)
        self._sig_safe = np.where(self._finite, self.sig, 1.0)
        self._x_bkg0 = self.shapes * self.totals[:, None]
        log_norm = sum(log_gauss_norm(s) for s in self.sig[self._finite])
        self.const = float(-special.gammaln(self.n + 1).sum() + log_norm + n_alpha * log_gauss_norm(1.0))
        if self.morph is not None and self.morph.interpolation != "quadratic":
            # the linear morph has a kink at alpha = 0, where Newton's quadratic model fails
            if engine == "newton":
                raise ParameterError("engine='newton' needs the smooth (quadratic) morph interpolation")
            self.engine = "migrad"

    def _set_point(self, pred):
        self.s = pred
        self._cache_x = None

    def _evaluate(self, x):
        k = len(self.bkg_names) + 1
        y = np.exp(np.minimum(x[:k], U_MAX))
        alphas = x[k:]
        if self.morph is not None:
            fp, fm = interpolation_weights(alphas, self.morph.interpolation)
            shift = self._onehot @ (fp[:, None] * self._dplus + fm[:, None] * self._dminus)  # (K+1, B)
            x_sig = self.s * (1.0 + shift[0])
            x_bkg = self._x_bkg0 + shift[1:]
        else:
            x_sig, x_bkg = self.s, self._x_bkg0
        lam_raw = y[0] * x_sig + y[1:] @ x_bkg
        lam = np.maximum(lam_raw, _LAM_FLOOR)
        a = y - 1.0
        pen = np.where(self._finite, a / self._sig_safe, 0.0)
        ll = (special.xlogy(self.n, lam) - lam).sum() - 0.5 * (pen @ pen) - 0.5 * (alphas @ alphas)
        w = np.where(lam_raw > _LAM_FLOOR, self.n / lam - 1.0, 0.0)
        g_u = y * (np.concatenate([[w @ x_sig], x_bkg @ w]) - pen / self._sig_safe)
        if self.morph is None:
            return -(ll + self.const), -g_u
        sp, sm = interpolation_slopes(alphas, self.morph.interpolation)
        jac = sp[:, None] * self._dplus + sm[:, None] * self._dminus  # (J, B)
        v = np.where((self._comp == 0)[:, None], w * self.s, w)  # (J, B)
        g_alpha = y[self._comp] * np.einsum("jb,jb->j", jac, v) - alphas
        return -(ll + self.const), -np.concatenate([g_u, g_alpha])

    def _kernel_objective(self, flat):
        """(fun, fval) of :meth:`_profile_newton` through the compiled kernel
        (:func:`cevnsfit.likelihoods._full_kernels.cenns_loop`, same formulas)."""
        kernel = _kernels.CENNS_KERNEL
        if kernel is None:
            raise RuntimeError("numba is not available")
        n_par = len(self.names)
        if self.morph is not None:
            dplus, dminus, comp = self._dplus, self._dminus, self._comp.astype(np.int64)
        else:
            dplus = dminus = np.zeros((0, self.n.size))
            comp = np.zeros(0, np.int64)
        sig = np.ascontiguousarray(flat, dtype=float)
        finite = self._finite.astype(float)
        args = (self.n, self._x_bkg0, dplus, dminus, comp, finite, self._sig_safe, self.const, _LAM_FLOOR, U_MAX)

        def fun(x, idx):
            m = len(idx)
            f, g, h = np.empty(m), np.empty((m, n_par)), np.empty((m, n_par, n_par))
            kernel(np.ascontiguousarray(x), sig[idx], *args, True, f, g, h)
            return f, g, h

        def fval(x, idx):
            f = np.empty(len(idx))
            kernel(np.ascontiguousarray(x), sig[idx], *args, False, f, np.empty((0, 0)), np.empty((0, 0, 0)))
            return f

        return fun, fval

    def _newton_objective(self, flat, use_numba: bool | None = None):
        """(fun, fval) for :meth:`_profile_newton`: F = -2 ln L in (u_k, alpha_j), exact Hessian:

            F_xy = 2 sum_i [n_i/lam_i^2 dlam_i/dx dlam_i/dy - w_i d2lam_i/dxdy] + penalty terms,

        d2lam/du_k^2 = dlam/du_k, d2lam/du_k dalpha_j = dlam/dalpha_j (j on component k),
        d2lam/dalpha_j^2 = (1 + a_k) Y_ki (f_+'' D_j^+ + f_-'' D_j^-) (f_+'' = -f_-'' = 1 for
        |alpha| <= 1, else 0: the quadratic morph of :mod:`~cevnsfit.likelihoods.morph`),
        other mixed second derivatives 0 (lam is linear in each y_k and the morphs add up).
        Bins floored at :data:`_LAM_FLOOR` carry no derivative, as in :meth:`_evaluate`.
        u_k <= 30 (the cap of :meth:`_evaluate`) is a bound here. ``use_numba`` (default: the
        attribute ``use_numba``, None = when importable) selects the compiled kernel
        (:meth:`_kernel_objective`) or this numpy implementation."""
        use_numba = self.use_numba if use_numba is None else use_numba
        if _kernels.HAVE_NUMBA if use_numba is None else use_numba:
            return self._kernel_objective(flat)
        k1 = len(self.bkg_names) + 1
        sig = flat
        morph = self.morph
        if morph is not None:
            comp = self._comp
            n_alpha = len(comp)
            on_sig = (comp == 0)[None, :, None]

        def parts(x, idx):
            y = np.exp(np.minimum(x[:, :k1], U_MAX))
            s = sig[idx]
            if morph is not None:
                alphas = x[:, k1:]
                fp, fm = interpolation_weights(alphas, morph.interpolation)
                per = fp[:, :, None] * self._dplus + fm[:, :, None] * self._dminus  # (P, J, B)
                shift = np.matmul(self._onehot, per)  # (P, K+1, B)
                x_sig = s * (1.0 + shift[:, 0])
                x_bkg = self._x_bkg0 + shift[:, 1:]
                pen_alpha = (alphas * alphas).sum(-1)
            else:
                alphas = None
                x_sig = s
                x_bkg = np.broadcast_to(self._x_bkg0, (len(idx),) + self._x_bkg0.shape)
                pen_alpha = 0.0
            lam_raw = y[:, 0, None] * x_sig + np.einsum("pk,pkb->pb", y[:, 1:], x_bkg)
            lam = np.maximum(lam_raw, _LAM_FLOOR)
            pen = np.where(self._finite, (y - 1.0) / self._sig_safe, 0.0)
            ll = (special.xlogy(self.n, lam) - lam).sum(-1) - 0.5 * (pen * pen).sum(-1) - 0.5 * pen_alpha
            return -2.0 * (ll + self.const), y, s, alphas, x_sig, x_bkg, lam_raw, lam, pen

        def fval(x, idx):
            return parts(x, idx)[0]

        def fun(x, idx):
            f, y, s, alphas, x_sig, x_bkg, lam_raw, lam, pen = parts(x, idx)
            live = lam_raw > _LAM_FLOOR
            r = self.n / lam
            w = np.where(live, r - 1.0, 0.0)
            q = np.where(live, r / lam, 0.0)
            jac = [y[:, :1, None] * x_sig[:, None, :], y[:, 1:, None] * x_bkg]  # dlam/du_k
            if morph is not None:
                sp, sm = interpolation_slopes(alphas, morph.interpolation)
                scale = np.where(on_sig, s[:, None, :], 1.0) * y[:, comp, None]  # (1 + a_k) Y_k
                jac.append((sp[:, :, None] * self._dplus + sm[:, :, None] * self._dminus) * scale)
            jac = np.concatenate(jac, axis=1)  # (P, K+1+J, B)
            g_pois = -2.0 * np.einsum("pb,pkb->pk", w, jac)
            h = 2.0 * np.matmul(jac * q[:, None, :], np.swapaxes(jac, 1, 2))
            diag_u = np.arange(k1)
            h[:, diag_u, diag_u] += g_pois[:, :k1] + 2.0 * np.where(
                self._finite, y * (2.0 * y - 1.0) / self._sig_safe**2, 0.0
            )
            g = g_pois.copy()
            g[:, :k1] += 2.0 * pen * y / self._sig_safe
            if morph is not None:
                ja = k1 + np.arange(n_alpha)
                h[:, comp, ja] += g_pois[:, k1:]
                h[:, ja, comp] += g_pois[:, k1:]
                inside = (np.abs(alphas) <= 1.0).astype(float)
                curv = inside[:, :, None] * (self._dplus - self._dminus) * scale
                h[:, ja, ja] += -2.0 * np.einsum("pb,pjb->pj", w, curv) + 2.0
                g[:, k1:] += 2.0 * alphas
            return f, g, h

        return fun, fval


__all__ = ["ENGINES", "U_MAX", "CennsFullLikelihood", "ProfiledTerm", "log_gauss_norm"]
