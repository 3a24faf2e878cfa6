"""Per-point profile of the XENONnT S2-only likelihood (docs: datasets, xenonnt_s2only, "Kernel").

The objective is the one of :class:`~.likelihood.S2OnlyLikelihood`,

    -2 ln L = 2 sum_b [mu_b - n_b ln mu_b] + const + sum_k (theta_k - c_k)^2 inv_var_k,
    mu_b = sum_j r_j e_j T_{j,b}(z_j),

with the blueice anchor morphing of T_j in its shape parameter z_j (linear in the total and in
the normalised pmf between neighbouring anchors). The algorithm is the same as the batched numpy
path of that class (``S2OnlyLikelihood._newton`` with
:func:`~cevnsfit.likelihoods.profile.projected_newton`), run point by point in one compiled loop:

* projected Newton with the exact gradient and Hessian, parameters at a bound whose gradient
  points outward held, the Hessian scaled to unit diagonal and made positive definite by taking
  its eigenvalues by absolute value (floored at 1e-10 of the largest), Armijo backtracking;
* every shape parameter is confined to one anchor cell per Newton run (the cell edges are
  bounds); a point ending on an edge where the one-sided derivative of the neighbouring cell
  still points outward moves to that cell and is profiled again;
* points flagged by the caller (predictions far above the SM) are profiled again from each
  extra charge-yield start, the lowest -2 ln L kept.

The modified-Newton direction needs no eigendecomposition where the scaled Hessian is positive
definite and well conditioned: a Cholesky factorisation gives it, and trace(A) trace(A^-1) <
1e10 (A^-1 from the factor) proves that no eigenvalue is below the floor (lambda_min >=
1 / trace(A^-1), lambda_max <= trace(A)), so the direction is exactly the eigen-based one.
Elsewhere ``np.linalg.eigh`` is called as in the batched path.

The evaluation of -2 ln L and its derivatives exists twice: loops compiled with numba (when it
is importable and ``CEVNSFIT_NO_NUMBA`` is unset) and a numpy version vectorised over the bins
(:func:`_evaluate_numpy`), which the same driver functions, run as plain Python, call instead
(:func:`_numpy_driver`). The two agree to rounding (tested); the plain-Python drivers are slow
and only serve that check: without numba the likelihood uses its batched numpy path.
"""

from __future__ import annotations

import math
import types

import numpy as np

from cevnsfit._numba import jit, numba_module, readonly

MU_FLOOR = 1e-50
#: Armijo constant, largest number of step halvings and Newton iterations (as the batched path).
ARMIJO = 1e-4
MAX_HALVINGS = 40
MAX_ITER = 100
#: Largest trace(A) trace(A^-1) of the scaled Hessian for which the Cholesky solve is used.
COND_LIMIT = 1e10
#: A restart replaces the first descent only when lower by more than this (as the batched path).
BETTER = 1e-9

#: ``error_model="numpy"``: a division by zero gives inf/nan (as in numpy), no exception branch.
_jit = jit(error_model="numpy")
#: The same, inlined into the caller (a call passing the tables' 14 arrays costs more than the body).
_jit_inline = jit(error_model="numpy", inline="always")
HAVE_NUMBA = numba_module() is not None


def tables(like) -> tuple:
    """The parameter-independent arrays of ``like`` (an S2OnlyLikelihood) in the kernel's order:
    per source its run, rate, efficiency and shape indices (-1: none) and whether it is the CEvNS
    source, the background totals (J, A) and pmfs (J, A, B) per anchor, the shape anchors (S, A)
    and their counts, the shape parameters' indices, the counts, per run the parameters its bins
    depend on, and 2 sum ln Gamma(n + 1)."""
    srcs = like.sources
    nb = like.n_bins_run
    na = max([1] + [a.size for a in like.shape_anchors] + [s.anchors.size for s in srcs])
    nj = len(srcs)
    bkg_mu = np.zeros((nj, na))
    bkg_pmf = np.zeros((nj, na, nb))
    for j, s in enumerate(srcs):
        if s.mu is not None:
            bkg_mu[j, : s.mu.size] = s.mu
            bkg_pmf[j, : s.mu.size] = s.pmf
    ns = len(like.shape_anchors)
    anchors = np.zeros((max(ns, 1), na))
    n_anch = np.zeros(max(ns, 1), dtype=np.int64)
    for i, a in enumerate(like.shape_anchors):
        anchors[i, : a.size] = a
        n_anch[i] = a.size
    nr = len(like.runs)
    cols: list[list[int]] = []
    for r in range(nr):
        used: set[int] = set()
        for s in srcs:
            if s.run == r:
                used |= {s.rate, s.eff, int(like.shape_index[s.shape]) if s.shape >= 0 else -1}
        cols.append(sorted(used - {-1}))
    ncol = max(len(c) for c in cols)
    run_cols = np.full((nr, ncol), -1, dtype=np.int64)
    for r, c in enumerate(cols):
        run_cols[r, : len(c)] = c
    i64 = np.int64
    return (
        np.array([s.run for s in srcs], dtype=i64),
        np.array([s.rate for s in srcs], dtype=i64),
        np.array([s.eff for s in srcs], dtype=i64),
        np.array([s.shape for s in srcs], dtype=i64),
        np.array([1 if s.mu is None else 0 for s in srcs], dtype=i64),
        bkg_mu,
        bkg_pmf,
        anchors,
        n_anch,
        np.ascontiguousarray(like.shape_index, dtype=i64),
        np.ascontiguousarray(like.counts, dtype=float),
        run_cols,
        np.array([len(c) for c in cols], dtype=i64),
        np.array([like.const]),
    )


# --------------------------------------------------------------------------------------------
# compiled per-point kernel (plain Python when numba is missing)
# --------------------------------------------------------------------------------------------


@_jit
def _cell(anchors, n_anch, s, z):
    """Anchor cell of shape s at value z: the number of anchors <= z minus one, in [0, n - 2]."""
    n = n_anch[s]
    c = -1
    for i in range(n):
        if anchors[s, i] <= z:
            c = i
    return min(max(c, 0), n - 2)


@_jit_inline
def _source_terms(j, x, cells, sig_mu, sig_pmf, tab, t, t1, t2):
    """T_j (B,) of source j at x (and dT/dz, d2T/dz2 in t1, t2; zero without a shape)."""
    src_run, src_shape, src_cevns = tab[0], tab[3], tab[4]
    bkg_mu, bkg_pmf, anchors, shape_par = tab[5], tab[6], tab[7], tab[9]
    r = src_run[j]
    s = src_shape[j]
    nb = bkg_pmf.shape[2]
    cev = src_cevns[j] == 1
    if s < 0:
        m0 = sig_mu[r, 0] if cev else bkg_mu[j, 0]
        for b in range(nb):
            p0 = sig_pmf[r, 0, b] if cev else bkg_pmf[j, 0, b]
            t[j, b] = m0 * p0
            t1[j, b] = 0.0
            t2[j, b] = 0.0
        return
    c = cells[s]
    a0 = anchors[s, c]
    hh = anchors[s, c + 1] - a0
    u = (x[shape_par[s]] - a0) / hh
    if cev:
        m0 = sig_mu[r, c]
        m1 = sig_mu[r, c + 1]
    else:
        m0 = bkg_mu[j, c]
        m1 = bkg_mu[j, c + 1]
    dm = m1 - m0
    m = m0 + u * dm
    inv_h = 1.0 / hh
    dm_h = dm * inv_h
    for b in range(nb):
        if cev:
            p0 = sig_pmf[r, c, b]
            p1 = sig_pmf[r, c + 1, b]
        else:
            p0 = bkg_pmf[j, c, b]
            p1 = bkg_pmf[j, c + 1, b]
        dp = p1 - p0
        p = p0 + u * dp
        dp_h = dp * inv_h
        t[j, b] = m * p
        t1[j, b] = dm_h * p + m * dp_h
        t2[j, b] = 2.0 * dm_h * dp_h


@_jit
def _evaluate(x, cells, want, sig_mu, sig_pmf, tab, centres, inv_var, g, h, ws):
    """-2 ln L at x with the shape parameters interpolated in ``cells``; with ``want`` also the
    gradient g and the exact Hessian h (filled in place).

    Kept long: one compiled pass over the sources and bins per evaluation, the Jacobian rows
    and the Hessian accumulated on the parameters each run's bins depend on (at most 7 of 16)."""
    src_run, src_rate, src_eff, src_shape = tab[0], tab[1], tab[2], tab[3]
    shape_par, counts, run_cols, run_ncols, scal = tab[9], tab[10], tab[11], tab[12], tab[13]
    t, t1, t2, mu, jac, wv, cv = ws
    k = x.size
    nj = src_run.size
    nb = t.shape[1]
    nbt = counts.size
    for b in range(nbt):
        mu[b] = 0.0
    for j in range(nj):
        _source_terms(j, x, cells, sig_mu, sig_pmf, tab, t, t1, t2)
        re = (x[src_rate[j]] if src_rate[j] >= 0 else 1.0) * (x[src_eff[j]] if src_eff[j] >= 0 else 1.0)
        o = src_run[j] * nb
        for b in range(nb):
            mu[o + b] += re * t[j, b]
    f = 0.0
    for b in range(nbt):
        if mu[b] < MU_FLOOR:
            mu[b] = MU_FLOOR
        f += mu[b] - counts[b] * math.log(mu[b])
    f = 2.0 * f + scal[0]
    for q in range(k):
        dv = x[q] - centres[q]
        f += dv * dv * inv_var[q]
    if not want:
        return f
    for q in range(k):
        g[q] = 0.0
        for q2 in range(k):
            h[q, q2] = 0.0
    for b in range(nbt):
        for q in range(k):
            jac[b, q] = 0.0
    # Jacobian rows and the second-derivative terms sum_b w_b d2mu_b (w = 1 - n / mu)
    for b in range(nbt):
        nm = counts[b] / mu[b]
        wv[b] = 1.0 - nm
        cv[b] = nm / mu[b]
    for j in range(nj):
        ir = src_rate[j]
        ie = src_eff[j]
        s = src_shape[j]
        rr = x[ir] if ir >= 0 else 1.0
        ee = x[ie] if ie >= 0 else 1.0
        o = src_run[j] * nb
        iz = shape_par[s] if s >= 0 else -1
        v_t = 0.0
        v_t1 = 0.0
        v_t2 = 0.0
        for b in range(nb):
            w = wv[o + b]
            if ir >= 0:
                jac[o + b, ir] += ee * t[j, b]
            if ie >= 0:
                jac[o + b, ie] += rr * t[j, b]
            v_t += w * t[j, b]
            if iz >= 0:
                jac[o + b, iz] += rr * ee * t1[j, b]
                v_t1 += w * t1[j, b]
                v_t2 += w * t2[j, b]
        if ir >= 0 and ie >= 0:
            h[ir, ie] += v_t
            h[ie, ir] += v_t
        if iz >= 0:
            h[iz, iz] += rr * ee * v_t2
            if ir >= 0:
                h[ir, iz] += ee * v_t1
                h[iz, ir] += ee * v_t1
            if ie >= 0:
                h[ie, iz] += rr * v_t1
                h[iz, ie] += rr * v_t1
    # gradient and Gauss-Newton part on each run's parameters
    for b in range(nbt):
        r = b // nb
        w = wv[b]
        cw = cv[b]
        nc = run_ncols[r]
        for i in range(nc):
            qa = run_cols[r, i]
            ja = jac[b, qa]
            g[qa] += w * ja
            cja = cw * ja
            h[qa, qa] += cja * ja
            for i2 in range(i + 1, nc):
                qb = run_cols[r, i2]
                v = cja * jac[b, qb]
                h[qa, qb] += v
                h[qb, qa] += v
    for q in range(k):
        g[q] = 2.0 * g[q] + 2.0 * (x[q] - centres[q]) * inv_var[q]
        for q2 in range(k):
            h[q, q2] *= 2.0
        h[q, q] += 2.0 * inv_var[q]
    return f


@_jit
def _chol(a, m, lmat, dinv):
    """Cholesky factor of the leading m x m block of a (lower, in lmat; the reciprocal diagonal
    in dinv); False if it is not positive definite."""
    for q in range(m):
        for q2 in range(q + 1):
            v = a[q, q2]
            for s in range(q2):
                v -= lmat[q, s] * lmat[q2, s]
            if q == q2:
                if not v > 0.0:
                    return False
                lmat[q, q] = math.sqrt(v)
                dinv[q] = 1.0 / lmat[q, q]
            else:
                lmat[q, q2] = v * dinv[q2]
    return True


@_jit
def _chol_ok(a, m, n_held, lmat, dinv, tmp):
    """Cholesky of the leading m x m block of a, accepted only if trace(A) trace(A^-1) <
    COND_LIMIT for A = that block plus ``n_held`` unit rows (the held parameters), i.e. no
    eigenvalue of A is below the floor of the eigen-based direction; trace = |L^-1|_F^2."""
    if not _chol(a, m, lmat, dinv):
        return False
    tr = float(n_held)
    for q in range(m):
        tr += a[q, q]
    tr_inv = float(n_held)
    for c in range(m):  # column c of L^-1 (zero above the diagonal) by forward substitution
        for q in range(c, m):
            v = 1.0 if q == c else 0.0
            for s in range(c, q):
                v -= lmat[q, s] * tmp[s]
            tmp[q] = v * dinv[q]
            tr_inv += tmp[q] * tmp[q]
    return tr * tr_inv < COND_LIMIT


@_jit
def _chol_apply(lmat, m, dinv, rhs, out):
    """Solve L L^T out = rhs on the leading m entries."""
    for q in range(m):
        v = rhs[q]
        for s in range(q):
            v -= lmat[q, s] * out[s]
        out[q] = v * dinv[q]
    for q in range(m - 1, -1, -1):
        v = out[q]
        for s in range(q + 1, m):
            v -= lmat[s, q] * out[s]
        out[q] = v * dinv[q]


@_jit
def _direction(h, g, held, bufs):
    """Modified Newton direction d = -S (S H S)_mod^-1 S g on the free parameters (held: 0);
    returns the Newton decrement -g.d. The scaled Hessian is built on the free parameters only
    (the held ones are unit rows in the batched path: eigenvalue 1, no coupling)."""
    sc, gg, d, a, lmat, tmp, rhs, stats, dinv, idx = (
        bufs[0],
        bufs[1],
        bufs[2],
        bufs[3],
        bufs[4],
        bufs[5],
        bufs[6],
        bufs[7],
        bufs[8],
        bufs[9],
    )
    k = g.size
    stats[0] += 1
    m = 0
    for q in range(k):
        dg = abs(h[q, q])
        sc[q] = 1.0 / math.sqrt(dg) if (not held[q] and dg > 0.0) else 1.0
        gg[q] = 0.0 if held[q] else g[q]
        if not held[q]:
            idx[m] = q
            m += 1
    for i in range(m):
        q = idx[i]
        rhs[i] = gg[q] * sc[q]
        for i2 in range(m):
            q2 = idx[i2]
            a[i, i2] = 0.5 * (h[q, q2] + h[q2, q]) * sc[q] * sc[q2]
    finite = True
    for i in range(m):
        for i2 in range(m):
            finite = finite and math.isfinite(a[i, i2])
    if not finite:  # no direction (a non-finite Hessian): not converged
        for i in range(m):
            tmp[i] = np.nan
    elif not _chol_ok(a, m, k - m, lmat, dinv, tmp):
        stats[2] += 1
        w, v = np.linalg.eigh(np.ascontiguousarray(a[:m, :m]))
        wmax = 1.0 if m < k else 0.0  # the held parameters' unit eigenvalues
        for i in range(m):
            wmax = max(wmax, abs(w[i]))
        for i in range(m):
            w[i] = max(abs(w[i]), 1e-10 * wmax + 1e-300)
        for i in range(m):
            tmp[i] = 0.0
        for c in range(m):
            pc = 0.0
            for i in range(m):
                pc += v[i, c] * rhs[i]
            pc /= w[c]
            for i in range(m):
                tmp[i] += v[i, c] * pc
    else:
        _chol_apply(lmat, m, dinv, rhs, tmp)
    for q in range(k):
        d[q] = 0.0
    for i in range(m):
        q = idx[i]
        d[q] = -sc[q] * tmp[i]
    dec = 0.0
    for q in range(k):
        dec -= gg[q] * d[q]
    return dec


@_jit
def _projected_newton(x, lo, hi, cells, sig_mu, sig_pmf, tab, centres, inv_var, tol, bufs, ws):
    """:func:`~cevnsfit.likelihoods.profile.projected_newton` for one point inside its cells
    (x updated in place): returns (f, converged)."""
    g, h, gt, ht, held, xt, dbufs = bufs
    d = dbufs[2]
    stats = dbufs[7]
    k = x.size
    for q in range(k):
        x[q] = min(max(x[q], lo[q]), hi[q])
    f = _evaluate(x, cells, True, sig_mu, sig_pmf, tab, centres, inv_var, g, h, ws)
    for _it in range(MAX_ITER):
        for q in range(k):
            span = 1e-12 * (1.0 + abs(x[q]))
            held[q] = (x[q] <= lo[q] + span and g[q] > 0) or (x[q] >= hi[q] - span and g[q] < 0)
        dec = _direction(h, g, held, dbufs)
        if not 0.5 * dec > tol:
            return f, math.isfinite(dec)
        slack = 16.0 * 2.220446049250313e-16 * abs(f)
        step = 1.0
        accepted = False
        for n_cut in range(MAX_HALVINGS + 1):
            gd = 0.0
            for q in range(k):
                xt[q] = min(max(x[q] + step * d[q], lo[q]), hi[q])
                gd += g[q] * (xt[q] - x[q])
            ft = _evaluate(xt, cells, n_cut == 0, sig_mu, sig_pmf, tab, centres, inv_var, gt, ht, ws)
            stats[1] += 1
            if math.isfinite(ft) and ft <= f + ARMIJO * gd + slack:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            return f, False
        for q in range(k):
            x[q] = xt[q]
        f = ft
        if n_cut == 0:
            for q in range(k):
                g[q] = gt[q]
                for q2 in range(k):
                    h[q, q2] = ht[q, q2]
        else:
            _evaluate(x, cells, True, sig_mu, sig_pmf, tab, centres, inv_var, g, h, ws)
    return f, False


@_jit
def _newton_cells(x, lo_all, hi_all, sig_mu, sig_pmf, tab, centres, inv_var, tol, max_rounds, bufs, ws, cbufs):
    """``S2OnlyLikelihood._newton`` for one point (x updated in place): projected Newton inside
    the anchor cells of x, then a move to the neighbouring cell of the first shape parameter
    (in order) that ends on an edge where the descent continues, until none does. Returns
    (f, converged)."""
    anchors, n_anch, shape_par = tab[7], tab[8], tab[9]
    cells, c_new, lo, hi = cbufs
    g = bufs[2]
    h = bufs[3]
    k = x.size
    ns = cells.size
    for q in range(k):
        x[q] = min(max(x[q], lo_all[q]), hi_all[q])
    for s in range(ns):
        cells[s] = _cell(anchors, n_anch, s, x[shape_par[s]])
    f = np.nan
    ok = False
    for _round in range(max_rounds):
        for q in range(k):
            lo[q] = lo_all[q]
            hi[q] = hi_all[q]
        for s in range(ns):
            z = shape_par[s]
            lo[z] = max(lo[z], anchors[s, cells[s]])
            hi[z] = min(hi[z], anchors[s, cells[s] + 1])
        f, ok = _projected_newton(x, lo, hi, cells, sig_mu, sig_pmf, tab, centres, inv_var, tol, bufs, ws)
        moved = False
        for s in range(ns):
            z = shape_par[s]
            c = cells[s]
            for step in (-1, 1):
                if moved:
                    break
                edge = anchors[s, c] if step < 0 else anchors[s, c + 1]
                can = c > 0 if step < 0 else c < n_anch[s] - 2
                if not (can and x[z] == edge and lo_all[z] < edge and hi_all[z] > edge):
                    continue
                for s2 in range(ns):
                    c_new[s2] = cells[s2]
                c_new[s] += step
                _evaluate(x, c_new, True, sig_mu, sig_pmf, tab, centres, inv_var, g, h, ws)
                if (g[z] > 0) if step < 0 else (g[z] < 0):
                    cells[s] += step
                    moved = True
        if not moved:
            break
    return f, ok


@_jit
def _profile_loop(
    sig_mu, sig_pmf, x0, lo_all, hi_all, restart, t_starts, qy, skip_same_cell, centres, inv_var, tab, tol, max_rounds
):
    """The loop over points behind :func:`profile` (arguments in its order, tables as a tuple).

    Kept long: one compiled function holds the work buffers and the restarts of every point, so
    nothing is allocated or dispatched from Python per point."""
    npts, k = x0.shape
    nbt = tab[10].size
    nj = tab[0].size
    nb = tab[6].shape[2]
    ns = tab[8].size
    anchors, n_anch, shape_par = tab[7], tab[8], tab[9]
    ws = (
        np.zeros((nj, nb)),
        np.zeros((nj, nb)),
        np.zeros((nj, nb)),
        np.zeros(nbt),
        np.zeros((nbt, k)),
        np.zeros(nbt),
        np.zeros(nbt),
    )
    dbufs = (
        np.zeros(k),
        np.zeros(k),
        np.zeros(k),
        np.zeros((k, k)),
        np.zeros((k, k)),
        np.zeros(k),
        np.zeros(k),
        np.zeros(3, dtype=np.int64),
        np.zeros(k),
        np.zeros(k, dtype=np.int64),
    )
    bufs = (
        np.zeros(k),
        np.zeros((k, k)),
        np.zeros(k),
        np.zeros((k, k)),
        np.zeros(k, dtype=np.bool_),
        np.zeros(k),
        dbufs,
    )
    cbufs = (np.zeros(ns, dtype=np.int64), np.zeros(ns, dtype=np.int64), np.zeros(k), np.zeros(k))
    out_x = np.empty((npts, k))
    out_f = np.empty(npts)
    out_ok = np.zeros(npts, dtype=np.bool_)
    out_stats = np.zeros((npts, 3), dtype=np.int64)
    x = np.empty(k)
    xb = np.empty(k)
    s_qy = -1
    for s in range(ns):
        if shape_par[s] == qy:
            s_qy = s
    for p in range(npts):
        dbufs[7][:] = 0
        x[:] = x0[p]
        if not (np.all(np.isfinite(sig_mu[p])) and np.all(np.isfinite(sig_pmf[p]))):
            out_x[p] = x  # a non-finite prediction: -2 ln L is NaN, not converged
            out_f[p] = np.nan
            continue
        f, ok = _newton_cells(
            x, lo_all[p], hi_all[p], sig_mu[p], sig_pmf[p], tab, centres, inv_var, tol, max_rounds, bufs, ws, cbufs
        )
        if restart[p] and s_qy >= 0 and lo_all[p, qy] < hi_all[p, qy]:
            for tq in t_starts:
                cell = _cell(anchors, n_anch, s_qy, tq)
                end = _cell(anchors, n_anch, s_qy, x[qy])
                if skip_same_cell and end == cell:
                    continue
                xb[:] = x0[p]
                xb[qy] = tq
                fb, okb = _newton_cells(
                    xb, lo_all[p], hi_all[p], sig_mu[p], sig_pmf[p], tab, centres, inv_var, tol, max_rounds, bufs, ws,
                    cbufs,
                )  # fmt: skip
                if fb < f - BETTER:
                    x[:] = xb
                    f = fb
                    ok = okb
        out_x[p] = x
        out_f[p] = f
        out_ok[p] = ok
        out_stats[p] = dbufs[7]
    return out_x, out_f, out_ok, out_stats


# --------------------------------------------------------------------------------------------
# the numpy twin
# --------------------------------------------------------------------------------------------


def _evaluate_numpy(x, cells, want, sig_mu, sig_pmf, tab, centres, inv_var, g, h, ws):
    """:func:`_evaluate` vectorised over the bins with numpy (the twin the tests compare with)."""
    src_run, src_rate, src_eff, src_shape, src_cevns = tab[:5]
    bkg_mu, bkg_pmf, anchors, _n_anch, shape_par, counts, _rc, _rn, scal = tab[5:]
    k, nb, nbt = x.size, bkg_pmf.shape[2], counts.size
    mu = np.zeros(nbt)
    jac = np.zeros((nbt, k))
    terms = []
    for j in range(src_run.size):
        r, s = src_run[j], src_shape[j]
        mus, pmfs = (sig_mu[r], sig_pmf[r]) if src_cevns[j] else (bkg_mu[j], bkg_pmf[j])
        if s < 0:
            t, t1, t2 = mus[0] * pmfs[0], np.zeros(nb), np.zeros(nb)
        else:
            c = cells[s]
            a0, hh = anchors[s, c], anchors[s, c + 1] - anchors[s, c]
            u = (x[shape_par[s]] - a0) / hh
            dm, dp = mus[c + 1] - mus[c], pmfs[c + 1] - pmfs[c]
            m, p = mus[c] + u * dm, pmfs[c] + u * dp
            t, t1, t2 = m * p, dm / hh * p + m * (dp / hh), 2.0 * (dm / hh) * (dp / hh)
        rr = x[src_rate[j]] if src_rate[j] >= 0 else 1.0
        ee = x[src_eff[j]] if src_eff[j] >= 0 else 1.0
        sl = slice(r * nb, (r + 1) * nb)
        mu[sl] += rr * ee * t
        terms.append((j, sl, rr, ee, t, t1, t2))
    mu = np.maximum(mu, MU_FLOOR)
    dev = x - centres
    f = 2.0 * float(np.sum(mu - counts * np.log(mu))) + scal[0] + float(dev * dev @ inv_var)
    if not want:
        return f
    w = 1.0 - counts / mu
    h2 = np.zeros((k, k))
    for j, sl, rr, ee, t, t1, t2 in terms:
        ir, ie, s = src_rate[j], src_eff[j], src_shape[j]
        if ir >= 0:
            jac[sl, ir] += ee * t
        if ie >= 0:
            jac[sl, ie] += rr * t
        if ir >= 0 and ie >= 0:
            h2[ir, ie] += w[sl] @ t
            h2[ie, ir] += w[sl] @ t
        if s >= 0:
            iz = shape_par[s]
            jac[sl, iz] += rr * ee * t1
            h2[iz, iz] += rr * ee * (w[sl] @ t2)
            for other, fac in ((ir, ee), (ie, rr)):
                if other >= 0:
                    h2[other, iz] += fac * (w[sl] @ t1)
                    h2[iz, other] += fac * (w[sl] @ t1)
    g[:] = 2.0 * (w @ jac) + 2.0 * dev * inv_var
    h[:] = 2.0 * ((jac * (counts / mu**2)[:, None]).T @ jac + h2) + 2.0 * np.diag(inv_var)
    return f


def _chol_numpy(a, m, lmat, dinv):
    """:func:`_chol` with numpy's Cholesky."""
    try:
        lmat[:m, :m] = np.linalg.cholesky(a[:m, :m])
    except np.linalg.LinAlgError:
        return False
    dinv[:m] = 1.0 / np.diag(lmat[:m, :m])
    return True


def _numpy_driver():
    """The driver functions (:func:`_projected_newton`, :func:`_profile_loop`, ...) as plain
    Python calling :func:`_evaluate_numpy` and numpy's Cholesky: one source for the algorithm,
    two evaluators."""
    env = dict(globals())
    env["_evaluate"] = _evaluate_numpy
    env["_chol"] = _chol_numpy
    for name in (
        "_cell",
        "_chol_ok",
        "_chol_apply",
        "_direction",
        "_projected_newton",
        "_newton_cells",
        "_profile_loop",
    ):
        fun = globals()[name]
        py = getattr(fun, "py_func", fun)
        env[name] = types.FunctionType(py.__code__, env, name, py.__defaults__)
    return env["_profile_loop"]


_PROFILE_NUMPY = _numpy_driver()


def profile(
    sig_mu,
    sig_pmf,
    x0,
    lo_all,
    hi_all,
    restart,
    t_starts,
    qy,
    skip_same_cell,
    centres,
    inv_var,
    tabs,
    tol,
    max_rounds,
    use_numba=None,
):
    """Profile every point: returns (x (P, K), -2 ln L (P,), converged (P,), counts (P, 3)), the
    counts per point being Newton directions, line-search evaluations and eigendecompositions.

    ``sig_mu`` (P, R, A) and ``sig_pmf`` (P, R, A, B) are the CEvNS totals and pmfs per run and
    anchor; point p is minimised from ``x0[p]`` within ``lo_all[p]``, ``hi_all[p]`` (equal for
    a fixed nuisance) and, if ``restart[p]`` (and parameter ``qy`` is free), again from x0[p]
    with parameter ``qy`` set to each of ``t_starts`` (skipped, with ``skip_same_cell``, when
    the best descent so far ended in that start's anchor cell); the lowest -2 ln L is kept.
    ``tabs``: :func:`tables`. ``max_rounds``: largest number of cell moves + 1.
    ``use_numba``: None = when available; False = the plain-Python twin (slow, for tests)."""
    use = HAVE_NUMBA if use_numba is None else use_numba
    if use and not HAVE_NUMBA:
        raise RuntimeError("numba is not available")
    f64 = np.float64
    # inputs are only read: read-only views whatever their origin, one compilation (cevnsfit._numba.readonly)
    args = (
        readonly(np.ascontiguousarray(sig_mu, dtype=f64)),
        readonly(np.ascontiguousarray(sig_pmf, dtype=f64)),
        readonly(np.ascontiguousarray(x0, dtype=f64)),
        readonly(np.ascontiguousarray(lo_all, dtype=f64)),
        readonly(np.ascontiguousarray(hi_all, dtype=f64)),
        readonly(np.ascontiguousarray(restart, dtype=np.bool_)),
        readonly(np.ascontiguousarray(t_starts, dtype=f64).reshape(-1)),
        int(qy),
        bool(skip_same_cell),
        readonly(np.ascontiguousarray(centres, dtype=f64)),
        readonly(np.ascontiguousarray(inv_var, dtype=f64)),
        tuple(readonly(np.ascontiguousarray(a)) for a in tabs),
        float(tol),
        int(max_rounds),
    )
    return (_profile_loop if use else _PROFILE_NUMPY)(*args)


__all__ = ["HAVE_NUMBA", "profile", "tables"]
