"""CsI 2017 `full`-mode likelihood (docs: datasets/csi2017): :class:`CsiFullLikelihood`, the
backend named by the unit's ``dataset.yaml``, profiled over the CEvNS and prompt-neutron
normalisations by the project's profile engine (:class:`~cevnsfit.likelihoods.full.ProfiledTerm`)
with the steady state maximised exactly per PE bin (:func:`profile_flat_background`).

It stays code because the declared format (docs/datasets/format) has no steady-state factor
shared by a group of bins: here one mean b_p per PE bin, flat over the T time bins of that PE
bin and measured by the anti-coincidence total A_p ~ Poisson(T b_p), profiled by a 1D root
solve per PE bin. The format's ``shapesys`` has one factor per bin (Poisson-constrained with
its own tau_b), so it expresses the ``per_bin`` steady state but not the ``flat`` one, and a
``shapesys`` bin whose auxiliary count is 0 gets no factor, where here b_p stays free.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ...errors import ParameterError, UnknownNameError
from ...likelihoods.full import U_MAX, ProfiledTerm, log_gauss_norm

#: Steady-state models of :class:`CsiFullLikelihood`.
STEADY_STATE_MODELS = ("flat", "per_bin")


def profile_flat_background(counts, signal, aux_counts, n_time: int, start=None) -> np.ndarray:
    """Per row p, the steady-state mean per time bin b_p >= 0 that maximises

        l_p(b) = sum_t [C_pt ln(s_pt + b) - (s_pt + b)] + A_p ln(T b) - T b,

    the Poisson likelihood of the coincidence counts C_pt (mean s_pt + b) times that of the
    anti-coincidence total A_p = sum_t AC_pt (mean T b, T = ``n_time`` bins of equal width).

    The stationarity condition g(b) = dl/db = sum_t C_pt/(s_pt + b) + A_p/b - 2T = 0 has a
    convex, decreasing g, so the root is unique and Newton's method converges monotonically
    from any point left of it; a Newton step from the right lands left of the root. The
    iteration starts at ``start`` (e.g. the previous solution; default the lower bound
    b_lo = (A_p + sum_{t: s_pt = 0} C_pt) / (2T), where g(b_lo) >= 0), is clamped to b >= b_lo
    after the first step, and stops at relative step 1e-13. If b_lo = 0 and g(0) <= 0 the
    maximum is at the boundary b = 0. Vectorised over rows (array shapes (P, T), (P, T), (P,)).

    >>> b = profile_flat_background(np.array([[3.0, 5.0]]), np.array([[1.0, 2.0]]), np.array([6.0]), 2)
    >>> g = 3 / (1 + b) + 5 / (2 + b) + 6 / b - 4
    >>> bool(abs(g[0]) < 1e-12)
    True
    """
    c = np.asarray(counts, dtype=float)
    s = np.asarray(signal, dtype=float)
    a = np.asarray(aux_counts, dtype=float)
    two_t = 2.0 * n_time
    zero = s <= 0.0
    lo = (a + np.where(zero, c, 0.0).sum(-1)) / two_t
    # rows with lo = 0 have A = 0 and C = 0 wherever s = 0: g(0) is finite
    with np.errstate(divide="ignore", invalid="ignore"):
        g0 = np.where(zero, 0.0, c / s).sum(-1) - two_t
    boundary = (lo <= 0.0) & (g0 <= 0.0)
    b = lo.copy() if start is None else np.maximum(np.asarray(start, dtype=float), lo)
    has_a = a > 0
    for _it in range(200):
        lam = s + b[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(lam > 0, c / lam, 0.0)
            inv_b = np.where(has_a, 1.0 / b, 0.0)
        g = r.sum(-1) + a * inv_b - two_t
        gp = -(np.where(lam > 0, r / lam, 0.0)).sum(-1) - a * inv_b * inv_b
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(gp < 0, -g / gp, 0.0)
        new = np.maximum(b + step, lo)
        done = np.abs(new - b) <= 1e-13 * np.maximum(new, 1e-300)
        b = new
        if np.all(done | boundary):
            break
    return np.where(boundary, 0.0, b)


class CsiFullLikelihood(ProfiledTerm):
    """CsI 2017 in `full` mode: one likelihood over all PE x time bins b = (p, t),

        ln L = sum_b ln P(C_b; lam_b) + sum_p ln P(A_p; T b_p)
               + ln N(a; 0, sigma_a) + ln N(c; 0, sigma_c),
        lam_b = (1 + a) N_b(theta) + b_p + (1 + c) PN_b,

    profiled over a (CEvNS normalisation, sigma_a = 0.28, shared by all bins), c (prompt
    beam-neutron normalisation, sigma_c = 0.25, release YAML) and the steady-state means b_p.
    The steady state is flat in arrival time within a PE bin p (as COHERENT modelled it) with
    mean b_p per time bin, measured by the anti-coincidence total A_p = sum_t AC_pt over the
    T time bins of the window (Poisson mean T b_p). The b_p are bin-local: for fixed (a, c)
    each is maximised exactly (:func:`profile_flat_background`) inside the objective, and
    by the envelope theorem the gradient in (a, c) is the partial derivative at b_p*:

        d ln L / da = sum_b (C_b/lam_b - 1) N_b - a/sigma_a^2   (and likewise for c with PN_b).

    The minimisers profile u = ln(1 + a), v = ln(1 + c). ``prompt_neutrons=None`` drops the neutron
    term (and c). ``steady_state="per_bin"`` replaces the flat-in-time model by one free mean per
    PE x time bin measured by its own AC count (the `paper` mode's background model, here
    profiled instead of marginalised; T = 1 and p runs over all bins). Constant:
    -sum ln C_b! - sum ln A_p! + Gaussian normalisations. Arrays ``c``, ``ac``, ``n``, ``pn``
    are stored per steady-state row p: (rows, T), (rows,), (rows, T), (rows, T).
    """

    def __init__(
        self,
        observed,
        anti_coincidence,
        prompt_neutrons=None,
        *,
        sigma_norm: float,
        sigma_neutrons: float,
        steady_state: str = "flat",
        reference_total: float | None = None,
        tol: float | None = None,
        engine: str | None = None,
    ):
        super().__init__(engine)
        c = np.asarray(observed, dtype=float)
        if c.ndim != 2:
            raise ParameterError(f"observed must be (PE bins, time bins), got shape {c.shape}")
        if steady_state not in STEADY_STATE_MODELS:
            raise UnknownNameError(f"steady_state must be one of {STEADY_STATE_MODELS}, got {steady_state!r}")
        self.bin_shape = c.shape
        self.steady_state_model = steady_state
        ac = np.asarray(anti_coincidence, dtype=float)
        rows = c.shape if steady_state == "flat" else (c.size, 1)
        self.c = c.reshape(rows)
        self.ac = ac.reshape(rows).sum(-1)
        self.n_time = rows[1]
        self.pn = None if prompt_neutrons is None else np.asarray(prompt_neutrons, dtype=float).reshape(rows)
        self.sigma_a, self.sigma_c = float(sigma_norm), float(sigma_neutrons)
        self.names = ("ln1p_cevns",) + (() if self.pn is None else ("ln1p_neutrons",))
        self.steps = np.array([0.1, 0.1][: len(self.names)])
        self.reference_total = reference_total
        self.tol = tol or self.tol
        self.const = float(
            -special.gammaln(self.c + 1).sum()
            - special.gammaln(self.ac + 1).sum()
            + log_gauss_norm(self.sigma_a)
            + (0.0 if self.pn is None else log_gauss_norm(self.sigma_c))
        )
        self._b = None

    def _set_point(self, pred):
        self.n = pred.reshape(self.c.shape)
        self._cache_x = None

    def _evaluate(self, x):
        u = np.minimum(x, U_MAX)
        ya = np.exp(u[0])
        s = ya * self.n
        if self.pn is not None:
            yc = np.exp(u[1])
            s = s + yc * self.pn
        b = profile_flat_background(self.c, s, self.ac, self.n_time, start=self._b)
        self._b = b
        lam = s + b[:, None]
        tb = self.n_time * b
        ll = (special.xlogy(self.c, lam) - lam).sum() + (special.xlogy(self.ac, tb) - tb).sum()
        a = ya - 1.0
        ll -= 0.5 * (a / self.sigma_a) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(lam > 0, self.c / lam, 0.0) - 1.0
        grad = [ya * ((w * self.n).sum() - a / self.sigma_a**2)]
        if self.pn is not None:
            c = yc - 1.0
            ll -= 0.5 * (c / self.sigma_c) ** 2
            grad.append(yc * ((w * self.pn).sum() - c / self.sigma_c**2))
        return -(ll + self.const), -np.array(grad)

    def profile(self, pred):
        self._b = None
        return super().profile(pred)

    def steady_state(self, pred) -> np.ndarray:
        """Best-fit steady-state mean per time bin b_p* per row p at one prediction."""
        self.profile(np.asarray(pred, dtype=float).reshape(self.bin_shape))
        return np.array(self._b, dtype=float)

    def _newton_objective(self, flat):
        """(fun, fval) for :meth:`_profile_newton`: the objective in (u, v) = (ln(1 + a), ln(1 + c)) profiled over the
        steady-state means, f(u, v) = min_b F(u, v, b), F = -2 ln L. With b* the exact inner
        maximum (:func:`profile_flat_background`, vectorised over points x rows), the envelope
        theorem gives grad f = dF/d(u, v) at b*, and implicit differentiation the Hessian

            d2f = F_xx - sum_p F_xb_p F_b_px / F_b_pb_p      (x = u, v; F_bb is diagonal),

        F_b_pb_p = 2 [sum_t C_pt / lam_pt^2 + A_p / b_p^2] (rows with b_p* = 0 on the boundary
        keep b_p = 0 under small moves and have no term). The inner solutions of the last
        evaluation warm-start the next one (the inner root is unique, so the values do not
        depend on it beyond its 1e-13 relative tolerance)."""
        npts = flat.shape[0]
        rows, n_time = self.c.shape
        n = flat.reshape((npts,) + self.c.shape)
        cc = np.broadcast_to(self.c, n.shape)
        ac = np.broadcast_to(self.ac, (npts, rows))
        b_prev = np.zeros((npts, rows))
        has_pn = self.pn is not None

        def evaluate(x, idx, hessian):
            u = np.minimum(x, U_MAX)
            ya = np.exp(u[:, 0])
            big_a = ya[:, None, None] * n[idx]
            s = big_a
            if has_pn:
                yc = np.exp(u[:, 1])
                big_c = yc[:, None, None] * self.pn
                s = s + big_c
            c, a_cnt = cc[idx], ac[idx]
            b = profile_flat_background(
                c.reshape(-1, n_time), s.reshape(-1, n_time), a_cnt.ravel(), n_time, start=b_prev[idx].ravel()
            ).reshape(len(idx), rows)
            b_prev[idx] = b
            lam = s + b[:, :, None]
            tb = n_time * b
            ll = (special.xlogy(c, lam) - lam).sum((1, 2)) + (special.xlogy(a_cnt, tb) - tb).sum(1)
            a = ya - 1.0
            ll -= 0.5 * (a / self.sigma_a) ** 2
            if has_pn:
                ll -= 0.5 * ((yc - 1.0) / self.sigma_c) ** 2
            f = -2.0 * (ll + self.const)
            if not hessian:
                return f
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(lam > 0, c / lam, 0.0)
                q = np.where(lam > 0, r / lam, 0.0)
                inner = b > 0
                fbb = 2.0 * (q.sum(-1) + np.where(inner, a_cnt / b**2, 0.0))
                schur = np.where(inner & (fbb > 0), 1.0 / fbb, 0.0)
            w = r - 1.0
            comps = [(big_a, ya, self.sigma_a)] + ([(big_c, yc, self.sigma_c)] if has_pn else [])
            k = len(comps)
            g = np.empty((len(idx), k))
            h = np.empty((len(idx), k, k))
            fxb = [2.0 * (q * z).sum(-1) for z, _, _ in comps]
            for i, (zi, yi, si) in enumerate(comps):
                g[:, i] = -2.0 * ((w * zi).sum((1, 2)) - yi * (yi - 1.0) / si**2)
                for j in range(i + 1):
                    zj = comps[j][0]
                    hij = 2.0 * (q * zi * zj).sum((1, 2)) - (fxb[i] * fxb[j] * schur).sum(-1)
                    if i == j:
                        hij += -2.0 * (w * zi).sum((1, 2)) + 2.0 * yi * (2.0 * yi - 1.0) / si**2
                    h[:, i, j] = h[:, j, i] = hij
            return f, g, h

        def fval(x, idx):
            return evaluate(x, idx, False)

        def fun(x, idx):
            return evaluate(x, idx, True)

        return fun, fval


__all__ = ["STEADY_STATE_MODELS", "CsiFullLikelihood", "profile_flat_background"]
