"""Compiled kernel of the declared binned likelihood's Newton profile (docs: datasets/format,
performance).

:class:`cevnsfit.likelihoods.declared.ProfiledBinned` needs, per Newton iteration and point,
-2 ln L with its exact gradient and Hessian in the normalisations u_k = ln y_k and the histosys
nuisances alpha_j, summed over the bins. The numpy implementation
(:meth:`~cevnsfit.likelihoods.declared.ProfiledBinned._fun`) builds (points x parameters x
bins) arrays; :func:`declared_loop` does the same sums in one pass per point, bin by bin, when
numba is importable (:mod:`cevnsfit._numba`; ``CEVNSFIT_NO_NUMBA=1`` forces numpy). The two
agree to rounding (``tests/test_declaration.py``). The formulas are those of the module
docstring of :mod:`cevnsfit.likelihoods.declared`:

    lam_b = sum_s Y_s X_sb,  Y_s = exp(sum_k M_sk u_k),
    X_sb = sig_b (mask_sb + shifts_sb) on a signal sample, N_sb + shifts_sb on a template,
    shifts_sb = sum_{entries e on s} f_+(alpha_e) D+_eb + f_-(alpha_e) D-_eb,

with the constraint terms ``normal`` (0), ``lognormal`` (1), ``gamma`` (2) and none (3) per
normalisation (codes of :data:`CTYPE_CODES`).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import compile_or_none

#: kernel codes of the constraint types (``none`` last)
CTYPE_CODES = {"normal": 0, "lognormal": 1, "gamma": 2, "none": 3}


def declared_loop(
    x,
    sig,
    n,
    base,
    is_sig,
    inc,
    ctype,
    s2,
    ls,
    kk,
    e_sample,
    e_alpha,
    dplus,
    dminus,
    quad,
    g_sample,
    g_p1,
    g_p2,
    g_anch,
    g_nanch,
    g_diff,
    t_nominal,
    t_s2,
    t_con,
    const,
    lam_floor,
    u_max,
    want,
    f,
    g,
    h,
):
    """-2 ln L (``f`` (P,)) and, if ``want``, gradient ``g`` (P, K+J) and Hessian ``h``
    (P, K+J, K+J) at ``x`` (P, K+J) for signals ``sig`` (P, B). ``base`` (S, B): the channel
    mask of a signal sample (``is_sig`` 1), the nominal template of a background; ``inc``
    (S, K) the normalisation incidence; ``ctype``/``s2``/``ls``/``kk`` (K,) the constraints
    (type code, sigma^2, ln(1 + sigma), 1/sigma^2); histosys entries e: sample ``e_sample``,
    nuisance ``e_alpha``, differences ``dplus``/``dminus`` (E, B) (relative to the signal on a
    signal sample), ``quad`` 1 = quadratic (pyhf code 2) else linear (code 0); ``const`` the
    additive constant of -2 ln L. Gridsys entries (G of them): sample ``g_sample``, parameters
    ``g_p1``/``g_p2`` (indices among the T grid parameters; ``g_p2`` -1 in 1D), anchors
    ``g_anch`` (G, 2, M) with counts ``g_nanch`` (G, 2), templates minus their nominal
    interpolation ``g_diff`` (G, M, M, B) (relative on a signal sample); grid constraints
    ``t_nominal``/``t_s2``/``t_con`` (T,). Compiled by numba when available.

    Kept long: one compiled pass per point over the bins; splitting it into calls would add a
    call per bin and per nuisance inside the hot loop."""
    n_pts, n_bins = sig.shape
    n_s, n_k = inc.shape
    n_e = e_sample.shape[0]
    n_par = x.shape[1]
    n_g = g_sample.shape[0]
    n_t = t_nominal.shape[0]
    n_j = n_par - n_k - n_t
    base_t = n_k + n_j
    gval = np.empty((n_g, n_bins))
    gd1 = np.empty((n_g, n_bins))
    gd2 = np.empty((n_g, n_bins))
    gx = np.empty((n_g, n_bins))
    u = np.empty(n_k)
    ys = np.empty(n_s)
    fp = np.empty(n_e)
    fm = np.empty(n_e)
    sp = np.empty(n_e)
    sm = np.empty(n_e)
    inside = np.empty(n_e)
    yx = np.empty((n_s, n_bins))  # Y_s X_s
    jac = np.empty((n_par, n_bins))
    wv = np.empty(n_bins)
    qv = np.empty(n_bins)
    for p in range(n_pts):
        for k in range(n_k):
            u[k] = min(x[p, k], u_max)
        for s in range(n_s):
            acc = 0.0
            for k in range(n_k):
                acc += inc[s, k] * u[k]
            ys[s] = math.exp(acc)
        pen = 0.0
        for j in range(n_j):
            pen += x[p, n_k + j] * x[p, n_k + j]
        for e in range(n_e):
            a = x[p, n_k + e_alpha[e]]
            if quad[e] != 0:
                if a > 1.0:
                    fp[e], fm[e], sp[e], sm[e], inside[e] = 1.5 * a - 0.5, 0.5 * (1.0 - a), 1.5, -0.5, 0.0
                elif a < -1.0:
                    fp[e], fm[e], sp[e], sm[e], inside[e] = -0.5 * (a + 1.0), 1.5 * a + 0.5, -0.5, 1.5, 0.0
                else:
                    fp[e], fm[e], sp[e], sm[e], inside[e] = 0.5 * (a + a * a), 0.5 * (a - a * a), 0.5 + a, 0.5 - a, 1.0
            else:
                inside[e] = 0.0
                if a >= 0.0:
                    fp[e], fm[e], sp[e], sm[e] = a, 0.0, 1.0, 0.0
                else:
                    fp[e], fm[e], sp[e], sm[e] = 0.0, a, 0.0, 1.0
        for s in range(n_s):
            for b in range(n_bins):
                yx[s, b] = base[s, b]
        for q in range(n_g):
            # the anchor cell (the one right of an interior anchor) and fractions, as grid_cell
            m1 = g_nanch[q, 0]
            t1 = x[p, base_t + g_p1[q]]
            i = 0
            while i < m1 - 2 and t1 >= g_anch[q, 0, i + 1]:
                i += 1
            hx = g_anch[q, 0, i + 1] - g_anch[q, 0, i]
            fx = (t1 - g_anch[q, 0, i]) / hx
            if g_p2[q] < 0:
                for b in range(n_bins):
                    d0 = g_diff[q, i, 0, b]
                    dd = g_diff[q, i + 1, 0, b] - d0
                    gval[q, b] = d0 + fx * dd
                    gd1[q, b] = dd / hx
                    gd2[q, b] = 0.0
                    gx[q, b] = 0.0
            else:
                m2 = g_nanch[q, 1]
                t2 = x[p, base_t + g_p2[q]]
                j = 0
                while j < m2 - 2 and t2 >= g_anch[q, 1, j + 1]:
                    j += 1
                hy = g_anch[q, 1, j + 1] - g_anch[q, 1, j]
                fy = (t2 - g_anch[q, 1, j]) / hy
                for b in range(n_bins):
                    t00 = g_diff[q, i, j, b]
                    t10 = g_diff[q, i + 1, j, b]
                    t01 = g_diff[q, i, j + 1, b]
                    t11 = g_diff[q, i + 1, j + 1, b]
                    gval[q, b] = (1 - fx) * (1 - fy) * t00 + fx * (1 - fy) * t10 + (1 - fx) * fy * t01 + fx * fy * t11
                    gd1[q, b] = ((1 - fy) * (t10 - t00) + fy * (t11 - t01)) / hx
                    gd2[q, b] = ((1 - fx) * (t01 - t00) + fx * (t11 - t10)) / hy
                    gx[q, b] = (t11 - t10 - t01 + t00) / (hx * hy)
            s = g_sample[q]
            for b in range(n_bins):
                yx[s, b] += gval[q, b]
        for e in range(n_e):
            s = e_sample[e]
            for b in range(n_bins):
                yx[s, b] += fp[e] * dplus[e, b] + fm[e] * dminus[e, b]
        for s in range(n_s):
            if is_sig[s] != 0:
                for b in range(n_bins):
                    yx[s, b] *= ys[s] * sig[p, b]
            else:
                for b in range(n_bins):
                    yx[s, b] *= ys[s]
        ll = 0.0
        for b in range(n_bins):
            lam_raw = 0.0
            for s in range(n_s):
                lam_raw += yx[s, b]
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
        for k in range(n_k):
            y = math.exp(u[k])
            t = ctype[k]
            if t == 0:
                pen += (y - 1.0) * (y - 1.0) / s2[k]
            elif t == 1:
                pen += (u[k] / ls[k]) ** 2
            elif t == 2:
                pen += -2.0 * ((kk[k] - 1.0) * u[k] - kk[k] * y)
        for t in range(n_t):
            if t_con[t] != 0.0:
                dt = x[p, base_t + t] - t_nominal[t]
                pen += dt * dt / t_s2[t]
        f[p] = -2.0 * ll + pen + const
        if not want:
            continue
        # dlam/du_k = sum_s M_sk Y_s X_s; dlam/dalpha_j = sum_{e of j} Y_s (f_+' D+ + f_-' D-) (x sig)
        for i in range(n_par):
            for b in range(n_bins):
                jac[i, b] = 0.0
        for s in range(n_s):
            for k in range(n_k):
                m = inc[s, k]
                if m != 0.0:
                    for b in range(n_bins):
                        jac[k, b] += m * yx[s, b]
        for e in range(n_e):
            s = e_sample[e]
            i = n_k + e_alpha[e]
            c = ys[s]
            if is_sig[s] != 0:
                for b in range(n_bins):
                    jac[i, b] += c * (sp[e] * dplus[e, b] + sm[e] * dminus[e, b]) * sig[p, b]
            else:
                for b in range(n_bins):
                    jac[i, b] += c * (sp[e] * dplus[e, b] + sm[e] * dminus[e, b])
        for q in range(n_g):
            s = g_sample[q]
            c = ys[s]
            for b in range(n_bins):
                sc = c * (sig[p, b] if is_sig[s] != 0 else 1.0)
                jac[base_t + g_p1[q], b] += sc * gd1[q, b]
                if g_p2[q] >= 0:
                    jac[base_t + g_p2[q], b] += sc * gd2[q, b]
        for i in range(n_par):
            acc = 0.0
            for b in range(n_bins):
                acc += wv[b] * jac[i, b]
            g[p, i] = -2.0 * acc
            for m2 in range(i + 1):
                acc = 0.0
                for b in range(n_bins):
                    acc += qv[b] * jac[i, b] * jac[m2, b]
                h[p, i, m2] = 2.0 * acc
                h[p, m2, i] = 2.0 * acc
        # - 2 sum_b w_b d2lam_b: normalisations (sum_s M_sk M_sl Y_s X_s . w)
        for s in range(n_s):
            z = 0.0
            for b in range(n_bins):
                z += yx[s, b] * wv[b]
            for k in range(n_k):
                if inc[s, k] != 0.0:
                    for l2 in range(n_k):
                        if inc[s, l2] != 0.0:
                            h[p, k, l2] -= 2.0 * inc[s, k] * inc[s, l2] * z
        for e in range(n_e):
            s = e_sample[e]
            i = n_k + e_alpha[e]
            c = ys[s]
            v = 0.0
            cv = 0.0
            if is_sig[s] != 0:
                for b in range(n_bins):
                    ws = wv[b] * sig[p, b]
                    v += (sp[e] * dplus[e, b] + sm[e] * dminus[e, b]) * ws
                    cv += (dplus[e, b] - dminus[e, b]) * ws
            else:
                for b in range(n_bins):
                    v += (sp[e] * dplus[e, b] + sm[e] * dminus[e, b]) * wv[b]
                    cv += (dplus[e, b] - dminus[e, b]) * wv[b]
            v *= c
            for k in range(n_k):
                if inc[s, k] != 0.0:
                    h[p, k, i] -= 2.0 * inc[s, k] * v
                    h[p, i, k] -= 2.0 * inc[s, k] * v
            h[p, i, i] -= 2.0 * c * inside[e] * cv
        for q in range(n_g):
            s = g_sample[q]
            c = ys[s]
            v1 = 0.0
            v2 = 0.0
            vx = 0.0
            for b in range(n_bins):
                ws = wv[b] * c * (sig[p, b] if is_sig[s] != 0 else 1.0)
                v1 += gd1[q, b] * ws
                v2 += gd2[q, b] * ws
                vx += gx[q, b] * ws
            i1 = base_t + g_p1[q]
            for k in range(n_k):
                if inc[s, k] != 0.0:
                    h[p, k, i1] -= 2.0 * inc[s, k] * v1
                    h[p, i1, k] -= 2.0 * inc[s, k] * v1
            if g_p2[q] >= 0:
                i2 = base_t + g_p2[q]
                for k in range(n_k):
                    if inc[s, k] != 0.0:
                        h[p, k, i2] -= 2.0 * inc[s, k] * v2
                        h[p, i2, k] -= 2.0 * inc[s, k] * v2
                h[p, i1, i2] -= 2.0 * vx
                h[p, i2, i1] -= 2.0 * vx
        for t in range(n_t):
            if t_con[t] != 0.0:
                g[p, base_t + t] += 2.0 * (x[p, base_t + t] - t_nominal[t]) / t_s2[t]
                h[p, base_t + t, base_t + t] += 2.0 / t_s2[t]
        for k in range(n_k):
            y = math.exp(u[k])
            t = ctype[k]
            if t == 0:
                g[p, k] += 2.0 * (y - 1.0) * y / s2[k]
                h[p, k, k] += 2.0 * y * (2.0 * y - 1.0) / s2[k]
            elif t == 1:
                g[p, k] += 2.0 * u[k] / ls[k] ** 2
                h[p, k, k] += 2.0 / ls[k] ** 2
            elif t == 2:
                g[p, k] += -2.0 * ((kk[k] - 1.0) - kk[k] * y)
                h[p, k, k] += 2.0 * kk[k] * y
        for j in range(n_j):
            g[p, n_k + j] += 2.0 * x[p, n_k + j]
            h[p, n_k + j, n_k + j] += 2.0


DECLARED_KERNEL = compile_or_none(declared_loop, fastmath={"reassoc", "contract", "nsz"})
HAVE_NUMBA = DECLARED_KERNEL is not None

__all__ = ["CTYPE_CODES", "DECLARED_KERNEL", "HAVE_NUMBA", "declared_loop"]
