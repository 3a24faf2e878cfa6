"""Compiled kernel of :class:`~cevnsfit.likelihoods.full.CennsFullLikelihood`'s Newton profile
(docs: performance).

:meth:`cevnsfit.likelihoods.full.CennsFullLikelihood._profile_newton` needs, per Newton
iteration and point, -2 ln L with its gradient and Hessian in the nuisances summed over the
bins. With numpy that is a few dozen passes over (points x nuisances x bins) arrays;
:func:`cenns_loop` does it in one pass per point, bin by bin, when numba is importable
(``pip install cevnsfit[fast]``). Without numba, or with ``CEVNSFIT_NO_NUMBA=1``, the numpy
implementation in :mod:`cevnsfit.likelihoods.full` is used; the two agree to rounding
(``tests/test_full_batched.py``). The formulas are those of ``CennsFullLikelihood`` (quadratic
morph interpolation only: the linear one is profiled with MIGRAD).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import compile_or_none


def cenns_loop(x, s, n, xb0, dplus, dminus, comp, finite, sig_safe, const, lam_floor, u_max, want, f, g, h):
    """-2 ln L (``f``, shape (P,)) and, if ``want``, its gradient ``g`` (P, K+1+J) and Hessian
    ``h`` (P, K+1+J, K+1+J) at nuisances ``x`` (P, K+1+J) = (u_cevns, u_bkg_1..K, alpha_1..J)
    for signals ``s`` (P, B); ``n`` data (B,), ``xb0`` background templates times totals (K, B),
    ``dplus``/``dminus`` morph differences (J, B) (CEvNS rows relative to the nominal template),
    ``comp`` the component of each morph (J,), ``finite``/``sig_safe`` (K+1,) the Gaussian
    constraints of the normalisations (1.0 where one exists), ``const`` the additive constant of
    ln L. Compiled by numba when available (plain Python otherwise: slow, for reference).

    Kept long: one compiled pass per point over the bins; splitting it into calls would add a
    call per bin inside the hot loop."""
    n_pts, n_bins = s.shape
    k1 = xb0.shape[0] + 1
    n_alpha = dplus.shape[0]
    n_par = k1 + n_alpha
    y = np.empty(k1)
    fp = np.empty(n_alpha)
    fm = np.empty(n_alpha)
    sp = np.empty(n_alpha)
    sm = np.empty(n_alpha)
    inside = np.empty(n_alpha)
    comp_x = np.empty((k1, n_bins))  # per component: its expected counts at unit normalisation
    jac = np.empty((n_par, n_bins))  # dlam_b / dx_i
    wv = np.empty(n_bins)  # n/lam - 1 (0 in floored bins)
    qv = np.empty(n_bins)  # n/lam^2 (0 in floored bins)
    gl = np.empty(n_par)
    curv = np.empty(n_alpha)
    # row-wise passes over the bins (contiguous, vectorisable), one point at a time
    for p in range(n_pts):
        for k in range(k1):
            y[k] = math.exp(min(x[p, k], u_max))
        pen_alpha = 0.0
        for j in range(n_alpha):
            a = x[p, k1 + j]
            pen_alpha += a * a
            if a > 1.0:
                fp[j], fm[j], sp[j], sm[j], inside[j] = 1.5 * a - 0.5, 0.5 * (1.0 - a), 1.5, -0.5, 0.0
            elif a < -1.0:
                fp[j], fm[j], sp[j], sm[j], inside[j] = -0.5 * (a + 1.0), 1.5 * a + 0.5, -0.5, 1.5, 0.0
            else:
                fp[j], fm[j], sp[j], sm[j], inside[j] = 0.5 * (a + a * a), 0.5 * (a - a * a), 0.5 + a, 0.5 - a, 1.0
        for b in range(n_bins):
            comp_x[0, b] = 0.0
        for k in range(1, k1):
            for b in range(n_bins):
                comp_x[k, b] = xb0[k - 1, b]
        for j in range(n_alpha):
            c = comp[j]
            for b in range(n_bins):
                comp_x[c, b] += fp[j] * dplus[j, b] + fm[j] * dminus[j, b]
        for b in range(n_bins):
            comp_x[0, b] = s[p, b] * (1.0 + comp_x[0, b])
        ll = 0.0
        for b in range(n_bins):
            lam_raw = y[0] * comp_x[0, b]
            for k in range(1, k1):
                lam_raw += y[k] * comp_x[k, b]
            lam = max(lam_raw, lam_floor)
            nb = n[b]
            if nb != 0.0:
                ll += nb * math.log(lam)
            ll -= lam
            if lam_raw > lam_floor:
                r = nb / lam
                wv[b] = r - 1.0
                qv[b] = r / lam
            else:
                wv[b] = 0.0
                qv[b] = 0.0
        pen = 0.0
        for k in range(k1):
            if finite[k] != 0.0:
                z = (y[k] - 1.0) / sig_safe[k]
                pen += z * z
        f[p] = -2.0 * (ll - 0.5 * pen - 0.5 * pen_alpha + const)
        if not want:
            continue
        for k in range(k1):
            for b in range(n_bins):
                jac[k, b] = y[k] * comp_x[k, b]
        for j in range(n_alpha):
            c = comp[j]
            cj = 0.0
            for b in range(n_bins):
                sc = y[c] * (s[p, b] if c == 0 else 1.0)
                jac[k1 + j, b] = (sp[j] * dplus[j, b] + sm[j] * dminus[j, b]) * sc
                cj += wv[b] * (dplus[j, b] - dminus[j, b]) * sc
            curv[j] = cj
        for i in range(n_par):
            acc = 0.0
            for b in range(n_bins):
                acc += wv[b] * jac[i, b]
            gl[i] = acc
            for m in range(i + 1):
                acc = 0.0
                for b in range(n_bins):
                    acc += qv[b] * jac[i, b] * jac[m, b]
                h[p, i, m] = 2.0 * acc
                h[p, m, i] = 2.0 * acc
        for i in range(n_par):
            g[p, i] = -2.0 * gl[i]
        for k in range(k1):
            h[p, k, k] += g[p, k]
            if finite[k] != 0.0:
                h[p, k, k] += 2.0 * y[k] * (2.0 * y[k] - 1.0) / sig_safe[k] ** 2
                g[p, k] += 2.0 * (y[k] - 1.0) / sig_safe[k] * y[k] / sig_safe[k]
        for j in range(n_alpha):
            c = comp[j]
            ja = k1 + j
            h[p, c, ja] += g[p, ja]
            h[p, ja, c] += g[p, ja]
            h[p, ja, ja] += -2.0 * curv[j] * inside[j] + 2.0
            g[p, ja] += 2.0 * x[p, ja]


CENNS_KERNEL = compile_or_none(cenns_loop, fastmath={"reassoc", "contract", "nsz"})
HAVE_NUMBA = CENNS_KERNEL is not None

__all__ = ["CENNS_KERNEL", "HAVE_NUMBA", "cenns_loop"]
