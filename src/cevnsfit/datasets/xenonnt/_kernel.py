"""Per-point profile of the XENONnT 8B likelihood (docs: datasets, xenonnt -- ``docs/datasets/xenonnt.md``).

The objective is the one of :class:`~cevnsfit.datasets.xenonnt.backend.XenonLikelihood`,

    -2 ln L = 2 sum_b [mu_b - n_b ln mu_b] + const + sum_k (theta_k - c_k)^2 / sigma_k^2,

rewritten so that a parameter point costs little:

* Only bins with events need a per-bin term: sum_b mu_b is a sum of per-run totals, and the
  totals follow the same blueice interpolation as the bins (the total of run r at t is
  m_r(t) P_r(t), P_r the bilinear interpolation of the per-anchor pmf sums, 1 or 0). With 37
  events in 162 bins (SR0+SR1) that is 32 bins instead of 162.
* The prediction is folded with the mono-energetic templates lazily, at the anchors of the
  (t_ly, t_qy) cells the minimiser visits (usually 4-9 of the 49), and only at those bins.
* Each point is minimised by projected Newton steps with the exact Hessian (the signal and
  neutron terms are products of two bilinear functions of t, so every second derivative is
  analytic); where it is not positive definite on the free parameters the Gauss-Newton
  curvature of :func:`~cevnsfit.likelihoods.profile.batched_newton` is used instead. A
  backtracking line search keeps every accepted step non-increasing. The interpolation is
  only continuous across the edges of a (t_ly, t_qy) cell, so cell edges act as bounds of a
  step and are crossed when the gradient points across them; a minimum on an edge (a kink,
  found at some points near the SM) is then found like one on a bound.
* Points with several starts (very large predictions, where the profile in (t_ly, t_qy) is
  multimodal; docs: datasets, xenonnt) profile every start at its fixed (t_ly, t_qy) first,
  with phi set where the signal is about the SM's number of events, and release only the
  lowest of them (plus one chosen start) in t.

The algorithm exists once; the evaluation of -2 ln L and its derivatives exists twice: an
explicit loop over the bins compiled with numba (when it is importable and
``CEVNSFIT_NO_NUMBA`` is unset), and a numpy version vectorised over the bins that the same
driver functions, run as plain Python (:func:`_numpy_driver`), call instead. The two agree to
rounding (tested); the numpy one is about a hundred times slower.

Parameter order (as in ``XenonLikelihood.names``): phi, eps, a_run..., r_er, r_n, t_ly, t_qy.
"""

from __future__ import annotations

import math
import types

import numpy as np

from ..._numba import jit, numba_module

N_ANCHORS = 7
ANCHOR_MIN = -3.0
MU_FLOOR = 1e-300
#: Relative damping of the Gauss-Newton fallback curvature (as in ``batched_newton``).
DAMPING = 1e-9
#: A Cholesky pivot below this fraction of its diagonal entry counts as not positive definite.
PIVOT_RTOL = 1e-12
MAX_HALVINGS = 40
#: Multi-start points: tolerance of the first profile at fixed (t_ly, t_qy) of every start.
TOL_INNER = 1e-1
#: Multi-start points: how many starts (lowest fixed-t profile first) are then released in t
#: (besides the one always released): 1 found the best of 37 released starts at all of ~14500
#: points above 5x the SM (two samples of 10^4 prior-box points, SR0+SR1 and SR0-SR2).
N_RELEASE = 1


#: ``numba.njit(cache=True, nogil=True)`` when numba is available, else the identity.
_jit = jit()
HAVE_NUMBA = numba_module() is not None


class KernelTables:
    """The parameter-independent arrays of the profile for one set of observed counts.

    ``mono`` (46, 7, 7, B) and ``nn`` (7, 7, B) are the exposure-weighted mono-energetic and
    neutron templates, ``ac``/``er`` (B,) the exposure-weighted AC and ER templates,
    ``counts`` (B,), ``run_of_bin`` (B,), ``n_runs`` and ``const`` = 2 sum ln Gamma(n + 1).
    """

    def __init__(self, mono, nn, ac, er, counts, run_of_bin, n_runs, const):
        nz = np.flatnonzero(counts > 0)
        na = N_ANCHORS * N_ANCHORS
        nt = mono.shape[0]
        m = mono.reshape(nt, na, -1)
        self.n_slots = nt
        self.n_runs = int(n_runs)
        self.nz = nz
        #: mono at the bins with events, (anchor, slot, bin)
        self.mono_nz = np.ascontiguousarray(m[:, :, nz].transpose(1, 0, 2))
        #: per-run totals of mono over all bins, (anchor, slot, run)
        tot = np.stack([m[:, :, run_of_bin == r].sum(-1) for r in range(n_runs)], axis=-1)
        self.mono_tot = np.ascontiguousarray(tot.transpose(1, 0, 2))
        self.run_nz = np.ascontiguousarray(run_of_bin[nz], dtype=np.int64)
        self.n_nz = np.ascontiguousarray(counts[nz], dtype=float)
        self.ac_nz = np.ascontiguousarray(ac[nz], dtype=float)
        self.er_nz = np.ascontiguousarray(er[nz], dtype=float)
        self.ac_tot = np.array([ac[run_of_bin == r].sum() for r in range(n_runs)])
        n2 = nn.reshape(na, -1)
        nmu = np.stack([n2[:, run_of_bin == r].sum(-1) for r in range(n_runs)], axis=-1)
        pos = nmu[:, run_of_bin] > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            npmf = np.where(pos, n2 / np.where(pos, nmu[:, run_of_bin], 1.0), 0.0)
        self.nmu = np.ascontiguousarray(nmu)
        self.npsum = np.ascontiguousarray((nmu > 0).astype(float))
        self.npmf = np.ascontiguousarray(npmf[:, nz])
        self.scal = np.array([float(er.sum()), float(const)])

    def tuple(self):
        """The arrays in the order the kernel unpacks them."""
        return (
            self.mono_nz,
            self.mono_tot,
            self.run_nz,
            self.n_nz,
            self.ac_nz,
            self.er_nz,
            self.ac_tot,
            self.nmu,
            self.npsum,
            self.npmf,
            self.scal,
        )


# --------------------------------------------------------------------------------------------
# compiled per-point kernel (plain Python when numba is missing; then only the numpy path runs)
# --------------------------------------------------------------------------------------------


@_jit
def _bil(v00, v10, v01, v11, fx, fy):
    """Bilinear value, d/dx, d/dy and d2/dxdy on the unit cell (corners 00, 10, 01, 11)."""
    gx = 1.0 - fx
    gy = 1.0 - fy
    v = v00 * gx * gy + v10 * fx * gy + v01 * gx * fy + v11 * fx * fy
    vx = (v10 - v00) * gy + (v11 - v01) * fy
    vy = (v01 - v00) * gx + (v11 - v10) * fx
    return v, vx, vy, v00 - v10 - v01 + v11


@_jit
def _cell(t):
    """Cell index (0..5) and fraction of one yield nuisance t on the integer anchor grid."""
    u = min(max(t - ANCHOR_MIN, 0.0), N_ANCHORS - 1.0)
    i = min(int(math.floor(u)), N_ANCHORS - 2)
    return i, u - i


@_jit
def _run_product(mean, psum, r, a00, a10, a01, a11, fx, fy, row):
    """Run r's interpolated mean m (value and x, y, xy derivatives stored in ``row``) times its
    interpolated pmf sum p: returns m p and its derivatives (x, y, xx, yy, xy; bilinear, so
    m_xx = p_xx = 0)."""
    m, mx, my, mxy = _bil(mean[a00, r], mean[a10, r], mean[a01, r], mean[a11, r], fx, fy)
    p, px, py, pxy = _bil(psum[a00, r], psum[a10, r], psum[a01, r], psum[a11, r], fx, fy)
    row[0] = m
    row[1] = mx
    row[2] = my
    row[3] = mxy
    return (
        m * p,
        mx * p + m * px,
        my * p + m * py,
        2.0 * mx * px,
        2.0 * my * py,
        mxy * p + mx * py + my * px + m * pxy,
    )


@_jit
def _fold(a, pred, tab, ws):
    """Fold pred at anchor a: per-run totals, pmf sums and the pmf at the bins with events."""
    mono_nz, mono_tot, run_nz = tab[0], tab[1], tab[2]
    flags, sig_m, sig_psum, sig_pmf = ws[0], ws[1], ws[2], ws[3]
    nt = pred.size
    nr = mono_tot.shape[2]
    nz = mono_nz.shape[2]
    for r in range(nr):
        sig_m[a, r] = 0.0
    for z in range(nz):
        sig_pmf[a, z] = 0.0
    for t in range(nt):
        p = pred[t]
        if p != 0.0:
            for r in range(nr):
                sig_m[a, r] += p * mono_tot[a, t, r]
            for z in range(nz):
                sig_pmf[a, z] += p * mono_nz[a, t, z]
    for r in range(nr):
        sig_psum[a, r] = 1.0 if sig_m[a, r] > 0 else 0.0
    for z in range(nz):
        m = sig_m[a, run_nz[z]]
        sig_pmf[a, z] = sig_pmf[a, z] / m if m > 0 else 0.0
    flags[a] = True


@_jit
def _signal_total(x, pred, tab, ws):
    """Folded signal summed over all bins at x's (t_ly, t_qy) (phi = eps = 1)."""
    sig_m, sig_psum = ws[1], ws[2]
    k = x.size
    ci, fx = _cell(x[k - 2])
    cj, fy = _cell(x[k - 1])
    a00 = ci * N_ANCHORS + cj
    corners = (a00, a00 + N_ANCHORS, a00 + 1, a00 + N_ANCHORS + 1)
    for a in corners:
        if not ws[0][a]:
            _fold(a, pred, tab, ws)
    st = 0.0
    for r in range(sig_m.shape[1]):
        m = _bil(sig_m[a00, r], sig_m[corners[1], r], sig_m[corners[2], r], sig_m[corners[3], r], fx, fy)[0]
        q = _bil(sig_psum[a00, r], sig_psum[corners[1], r], sig_psum[corners[2], r], sig_psum[corners[3], r], fx, fy)[0]
        st += m * q
    return st


@_jit
def _evaluate(x, ci, cj, want, pred, tab, ws, centres, inv_var, g, h, hgn):
    """-2 ln L at x with (t_ly, t_qy) interpolated in the cell (ci, cj) (x's t must lie in it).

    ``want`` 1: also the gradient g, the exact Hessian h and the Gauss-Newton curvature hgn
    (without the (phi, eps) term, which is returned as the second value); 2: the same, except
    that the (t_ly, t_qy) entries are left at zero (for profiles at fixed t); 0: f only.

    Kept long: one compiled pass over the bins per evaluation; splitting it into calls would add
    per-bin call overhead inside the minimiser's hot loop."""
    run_nz, n_nz, ac_nz, er_nz, ac_tot = tab[2], tab[3], tab[4], tab[5], tab[6]
    nmu, npsum, npmf, scal = tab[7], tab[8], tab[9], tab[10]
    flags, sig_m, sig_psum, sig_pmf, srun, nrun, hc, gu = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7]
    k = x.size
    nr = ac_tot.size
    nz = run_nz.size
    ix = k - 2
    iy = k - 1
    phi = x[0]
    eps = x[1]
    rer = x[2 + nr]
    ren = x[3 + nr]
    kk = phi * eps
    fx = x[ix] - ANCHOR_MIN - ci
    fy = x[iy] - ANCHOR_MIN - cj
    a00 = ci * N_ANCHORS + cj
    a10 = a00 + N_ANCHORS
    a01 = a00 + 1
    a11 = a00 + N_ANCHORS + 1
    if not flags[a00]:
        _fold(a00, pred, tab, ws)
    if not flags[a10]:
        _fold(a10, pred, tab, ws)
    if not flags[a01]:
        _fold(a01, pred, tab, ws)
    if not flags[a11]:
        _fold(a11, pred, tab, ws)
    st = stx = sty = stxx = stxy = styy = 0.0
    nt_ = ntx = nty = ntxx = ntxy = ntyy = 0.0
    smu = rer * scal[0]
    for r in range(nr):
        v, vx, vy, vxx, vyy, vxy = _run_product(sig_m, sig_psum, r, a00, a10, a01, a11, fx, fy, srun[r])
        st += v
        stx += vx
        sty += vy
        stxx += vxx
        styy += vyy
        stxy += vxy
        v, vx, vy, vxx, vyy, vxy = _run_product(nmu, npsum, r, a00, a10, a01, a11, fx, fy, nrun[r])
        nt_ += v
        ntx += vx
        nty += vy
        ntxx += vxx
        ntyy += vyy
        ntxy += vxy
        smu += x[2 + r] * ac_tot[r]
    smu += kk * st + ren * nt_
    f = 2.0 * smu + scal[1]
    for q in range(k):
        d = x[q] - centres[q]
        f += d * d * inv_var[q]
    h00 = h01 = h02 = h03 = h04 = h05 = h11 = h12 = h13 = h14 = h15 = 0.0
    h22 = h23 = h24 = h25 = h33 = h34 = h35 = h44 = h45 = h55 = 0.0
    g0 = g1 = g2 = g3 = g4 = g5 = 0.0
    if want:
        for r in range(nr):
            gu[r, 0] = 0.0
            for a in range(7):
                hc[r, a] = 0.0
    a_s = a_sx = a_sy = a_nx = a_ny = 0.0
    a_sxx = a_sxy = a_syy = a_nxx = a_nxy = a_nyy = 0.0
    for z in range(nz):
        r = run_nz[z]
        p, px, py, pxy = _bil(sig_pmf[a00, z], sig_pmf[a10, z], sig_pmf[a01, z], sig_pmf[a11, z], fx, fy)
        m = srun[r, 0]
        s = m * p
        q_, qx, qy, qxy = _bil(npmf[a00, z], npmf[a10, z], npmf[a01, z], npmf[a11, z], fx, fy)
        nm = nrun[r, 0]
        nb = nm * q_
        mu = kk * s + x[2 + r] * ac_nz[z] + rer * er_nz[z] + ren * nb
        if mu < MU_FLOOR:
            mu = MU_FLOOR
        n = n_nz[z]
        f -= 2.0 * n * math.log(mu)
        if want:
            w = n / mu
            c = w / mu
            u0 = eps * s
            u1 = phi * s
            u2 = er_nz[z]
            u3 = nb
            # Gauss-Newton sums over the shared parameters (phi, eps, r_er, r_n, t_ly, t_qy)
            c0 = c * u0
            c1 = c * u1
            c2 = c * u2
            c3 = c * u3
            h00 += c0 * u0
            h01 += c0 * u1
            h02 += c0 * u2
            h03 += c0 * u3
            h11 += c1 * u1
            h12 += c1 * u2
            h13 += c1 * u3
            h22 += c2 * u2
            h23 += c2 * u3
            h33 += c3 * u3
            g0 += w * u0
            g1 += w * u1
            g2 += w * u2
            g3 += w * u3
            # the AC scale of this bin's run
            ca = c * ac_nz[z]
            gu[r, 0] += w * ac_nz[z]
            hc[r, 0] += ca * ac_nz[z]
            hc[r, 1] += ca * u0
            hc[r, 2] += ca * u1
            hc[r, 3] += ca * u2
            hc[r, 4] += ca * u3
            a_s += w * s
            if want == 1:  # (t_ly, t_qy) derivatives (skipped while t is held)
                mx, my, mxy = srun[r, 1], srun[r, 2], srun[r, 3]
                nmx, nmy, nmxy = nrun[r, 1], nrun[r, 2], nrun[r, 3]
                sx = mx * p + m * px
                sy = my * p + m * py
                nx = nmx * q_ + nm * qx
                ny = nmy * q_ + nm * qy
                u4 = kk * sx + ren * nx
                u5 = kk * sy + ren * ny
                c4 = c * u4
                h04 += c0 * u4
                h05 += c0 * u5
                h14 += c1 * u4
                h15 += c1 * u5
                h24 += c2 * u4
                h25 += c2 * u5
                h34 += c3 * u4
                h35 += c3 * u5
                h44 += c4 * u4
                h45 += c4 * u5
                h55 += c * u5 * u5
                g4 += w * u4
                g5 += w * u5
                hc[r, 5] += ca * u4
                hc[r, 6] += ca * u5
                a_sx += w * sx
                a_sy += w * sy
                a_nx += w * nx
                a_ny += w * ny
                a_sxx += w * 2.0 * mx * px
                a_syy += w * 2.0 * my * py
                a_sxy += w * (mxy * p + mx * py + my * px + m * pxy)
                a_nxx += w * 2.0 * nmx * qx
                a_nyy += w * 2.0 * nmy * qy
                a_nxy += w * (nmxy * q_ + nmx * qy + nmy * qx + nm * qxy)
    cross = 0.0
    if want:
        # map the compact (phi, eps, a, er, n, t_ly, t_qy) blocks onto the parameters
        for q in range(k):
            g[q] = 0.0
            for q2 in range(k):
                hgn[q, q2] = 0.0
        ie = 2 + nr
        i_n = 3 + nr
        g[0] = -g0
        g[1] = -g1
        g[ie] = -g2
        g[i_n] = -g3
        g[ix] = -g4
        g[iy] = -g5
        hgn[0, 0] = h00
        hgn[0, 1] = h01
        hgn[0, ie] = h02
        hgn[0, i_n] = h03
        hgn[0, ix] = h04
        hgn[0, iy] = h05
        hgn[1, 1] = h11
        hgn[1, ie] = h12
        hgn[1, i_n] = h13
        hgn[1, ix] = h14
        hgn[1, iy] = h15
        hgn[ie, ie] = h22
        hgn[ie, i_n] = h23
        hgn[ie, ix] = h24
        hgn[ie, iy] = h25
        hgn[i_n, i_n] = h33
        hgn[i_n, ix] = h34
        hgn[i_n, iy] = h35
        hgn[ix, ix] = h44
        hgn[ix, iy] = h45
        hgn[iy, iy] = h55
        for r in range(nr):
            ia = 2 + r
            g[ia] = -gu[r, 0]
            hgn[ia, ia] = hc[r, 0]
            hgn[0, ia] = hc[r, 1]
            hgn[1, ia] = hc[r, 2]
            hgn[ia, ie] = hc[r, 3]
            hgn[ia, i_n] = hc[r, 4]
            hgn[ia, ix] = hc[r, 5]
            hgn[ia, iy] = hc[r, 6]
        g[0] += eps * st
        g[1] += phi * st
        for r in range(nr):
            g[2 + r] += ac_tot[r]
        g[2 + nr] += scal[0]
        g[3 + nr] += nt_
        g[ix] += kk * stx + ren * ntx
        g[iy] += kk * sty + ren * nty
        for q in range(k):
            g[q] = 2.0 * g[q] + 2.0 * inv_var[q] * (x[q] - centres[q])
            hgn[q, q] += inv_var[q]
            for q2 in range(q, k):
                hgn[q, q2] *= 2.0
                hgn[q2, q] = hgn[q, q2]
        for q in range(k):
            for q2 in range(k):
                h[q, q2] = hgn[q, q2]
        cross = 2.0 * (st - a_s)
        h[0, 1] += cross
        h[0, ix] += 2.0 * eps * (stx - a_sx)
        h[0, iy] += 2.0 * eps * (sty - a_sy)
        h[1, ix] += 2.0 * phi * (stx - a_sx)
        h[1, iy] += 2.0 * phi * (sty - a_sy)
        h[3 + nr, ix] += 2.0 * (ntx - a_nx)
        h[3 + nr, iy] += 2.0 * (nty - a_ny)
        h[ix, ix] += 2.0 * (kk * (stxx - a_sxx) + ren * (ntxx - a_nxx))
        h[ix, iy] += 2.0 * (kk * (stxy - a_sxy) + ren * (ntxy - a_nxy))
        h[iy, iy] += 2.0 * (kk * (styy - a_syy) + ren * (ntyy - a_nyy))
        for q, q2 in ((0, 1), (0, ix), (0, iy), (1, ix), (1, iy), (3 + nr, ix), (3 + nr, iy), (ix, iy)):
            h[q2, q] = h[q, q2]
    return f, cross


@_jit
def _chol_solve(a, g, held, lmat, d, damp):
    """Solve (a + damping) d = -g on the parameters not held (held: d = 0) by Cholesky; False
    if a is not positive definite there."""
    k = g.size
    for q in range(k):
        for q2 in range(q + 1):
            if held[q] or held[q2]:
                v = 1.0 if q == q2 else 0.0
            else:
                v = a[q, q2]
                if q == q2 and damp:
                    v += DAMPING * abs(v) + DAMPING
            for s in range(q2):
                v -= lmat[q, s] * lmat[q2, s]
            if q == q2:
                ref = 1.0 if held[q] else a[q, q]
                if not (v > PIVOT_RTOL * abs(ref)) or v <= 0.0:
                    return False
                lmat[q, q] = math.sqrt(v)
            else:
                lmat[q, q2] = v / lmat[q2, q2]
    for q in range(k):
        v = 0.0 if held[q] else -g[q]
        for s in range(q):
            v -= lmat[q, s] * d[s]
        d[q] = v / lmat[q, q]
    for q in range(k - 1, -1, -1):
        v = d[q]
        for s in range(q + 1, k):
            v -= lmat[s, q] * d[s]
        d[q] = v / lmat[q, q]
    for q in range(k):
        if held[q]:
            d[q] = 0.0
    return True


@_jit
def _direction(h, hgn, cross, g, held, lmat, d, tmp):
    """Newton direction with the exact Hessian, else Gauss-Newton with the (phi, eps) term
    (the curvature of ``batched_newton``), else plain Gauss-Newton, else steepest descent."""
    if _chol_solve(h, g, held, lmat, d, False):
        return 0
    k = g.size
    for q in range(k):
        for q2 in range(k):
            tmp[q, q2] = hgn[q, q2]
    tmp[0, 1] += cross
    tmp[1, 0] += cross
    if _chol_solve(tmp, g, held, lmat, d, True):
        return 1
    if _chol_solve(hgn, g, held, lmat, d, True):
        return 2
    for q in range(k):
        d[q] = 0.0 if held[q] else -g[q] / (abs(hgn[q, q]) + 1.0)
    return 3


@_jit
def _descend(x, free, lower, upper, centres, inv_var, pred, tab, ws, tol, max_iter, bufs):
    """Minimise from x (in place): returns (f, converged, iterations).

    The interpolation is smooth inside a (t_ly, t_qy) cell and only continuous across its
    edges, so the edges of the current cell act as bounds of the step; a point on an edge moves
    into the neighbouring cell when the gradient there points outward. A minimum on an edge
    (a kink) is then found like one on a bound.

    Kept long: the whole descent (cell moves, bounds, Newton steps) is one compiled loop, so no
    call crosses back into Python per iteration."""
    g, h, hgn, xt, d, lmat, tmp, held, lo, hi, gt, ht, hgnt = bufs
    k = x.size
    ix = k - 2
    iy = k - 1
    for q in range(k):
        x[q] = min(max(x[q], lower[q]), upper[q])
        lo[q] = lower[q]
        hi[q] = upper[q]
    ci, _ = _cell(x[ix])
    cj, _ = _cell(x[iy])
    mode = 1 if (free[ix] or free[iy]) else 2
    f, cross = _evaluate(x, ci, cj, mode, pred, tab, ws, centres, inv_var, g, h, hgn)
    ok = False
    it = 0
    while it < max_iter:
        it += 1
        # move to the neighbouring cell where the gradient points out of the current one
        ni = ci
        nj = cj
        if free[ix]:
            if ci > 0 and x[ix] <= ci + ANCHOR_MIN and g[ix] > 0:
                ni = ci - 1
            elif ci < N_ANCHORS - 2 and x[ix] >= ci + 1 + ANCHOR_MIN and g[ix] < 0:
                ni = ci + 1
        if free[iy]:
            if cj > 0 and x[iy] <= cj + ANCHOR_MIN and g[iy] > 0:
                nj = cj - 1
            elif cj < N_ANCHORS - 2 and x[iy] >= cj + 1 + ANCHOR_MIN and g[iy] < 0:
                nj = cj + 1
        if ni != ci or nj != cj:
            ci = ni
            cj = nj
            f, cross = _evaluate(x, ci, cj, mode, pred, tab, ws, centres, inv_var, g, h, hgn)
        lo[ix] = max(lower[ix], ci + ANCHOR_MIN)
        hi[ix] = min(upper[ix], ci + 1 + ANCHOR_MIN)
        lo[iy] = max(lower[iy], cj + ANCHOR_MIN)
        hi[iy] = min(upper[iy], cj + 1 + ANCHOR_MIN)
        for q in range(k):
            held[q] = (not free[q]) or (x[q] <= lo[q] and g[q] > 0) or (x[q] >= hi[q] and g[q] < 0)
        _direction(h, hgn, cross, g, held, lmat, d, tmp)
        pdec = 0.0
        for q in range(k):
            pdec -= 0.5 * g[q] * d[q]
        # line search: the full step with derivatives (usually accepted), halvings f only
        alpha = 1.0
        accepted = False
        derivs = False
        ft = f
        crt = 0.0
        for hv in range(1 if pdec <= tol else MAX_HALVINGS):
            for q in range(k):
                xt[q] = min(max(x[q] + alpha * d[q], lo[q]), hi[q])
            ft, crt = _evaluate(xt, ci, cj, mode if hv == 0 else 0, pred, tab, ws, centres, inv_var, gt, ht, hgnt)
            if ft <= f:
                accepted = True
                derivs = hv == 0
                break
            alpha *= 0.5
        df = f - ft
        edge = False
        if accepted:
            for q in range(k):
                x[q] = xt[q]
            for q in (ix, iy):
                if (x[q] <= lo[q] and lo[q] > lower[q] and d[q] < 0) or (
                    x[q] >= hi[q] and hi[q] < upper[q] and d[q] > 0
                ):
                    edge = True
            if derivs:
                g, gt = gt, g
                h, ht = ht, h
                hgn, hgnt = hgnt, hgn
                f = ft
                cross = crt
            else:
                f, cross = _evaluate(x, ci, cj, mode, pred, tab, ws, centres, inv_var, g, h, hgn)
        if pdec <= tol or not accepted or (not edge and df <= tol and (alpha == 1.0 or df <= tol * 1e-2)):
            ok = True
            break
    return f, ok, it


@_jit
def _profile_loop(
    preds,
    x_first,
    x_base,
    n_starts,
    t_starts,
    free,
    lower,
    upper,
    centres,
    inv_var,
    tab,
    tol,
    max_iter,
    tol_inner,
    n_release,
    signal_target,
    always_release,
):
    """The loop over points behind :func:`profile` (arguments in its order, tables as a tuple).

    Kept long: one compiled function holds the work buffers and the restarts of every point, so
    nothing is allocated or dispatched from Python per point."""
    npts, k = x_first.shape
    nr = tab[6].size
    nz = tab[2].size
    na = N_ANCHORS * N_ANCHORS
    ws = (
        np.zeros(na, dtype=np.bool_),
        np.zeros((na, nr)),
        np.zeros((na, nr)),
        np.zeros((na, nz)),
        np.zeros((nr, 4)),
        np.zeros((nr, 4)),
        np.zeros((nr, 7)),
        np.zeros((nr, 1)),
    )
    bufs = (
        np.zeros(k),
        np.zeros((k, k)),
        np.zeros((k, k)),
        np.zeros(k),
        np.zeros(k),
        np.zeros((k, k)),
        np.zeros((k, k)),
        np.zeros(k, dtype=np.bool_),
        np.zeros(k),
        np.zeros(k),
        np.zeros(k),
        np.zeros((k, k)),
        np.zeros((k, k)),
    )
    out_x = np.empty((npts, k))
    out_f = np.empty(npts)
    out_ok = np.zeros(npts, dtype=np.bool_)
    out_it = np.zeros(npts, dtype=np.int64)
    x = np.empty(k)
    free_in = free.copy()
    free_in[k - 2] = False
    free_in[k - 1] = False
    ns_max = t_starts.shape[0] + 1
    x_in = np.empty((ns_max, k))
    f_in = np.empty(ns_max)
    for p in range(npts):
        ws[0][:] = False
        pred = preds[p]
        nst = n_starts[p]
        for s in range(nst):
            if s == 0:
                x_in[s] = x_first[p]
            else:
                x_in[s] = x_base[p]
                x_in[s, k - 2] = t_starts[s - 1, 0]
                x_in[s, k - 1] = t_starts[s - 1, 1]
            f_in[s] = 0.0
            if nst > 1 and free[0] and signal_target > 0:
                # start phi where the signal is about the target number of events at this t
                st = _signal_total(x_in[s], pred, tab, ws) * x_in[s, 1]
                if st > 0:
                    x_in[s, 0] = min(max(signal_target / st, lower[0]), upper[0])
            if nst > 1:
                f_in[s], ok, it = _descend(
                    x_in[s], free_in, lower, upper, centres, inv_var, pred, tab, ws, tol_inner, max_iter, bufs
                )
                out_it[p] += it
        order = np.argsort(f_in[:nst], kind="mergesort")
        n_rel = min(nst, n_release)
        if 0 <= always_release < nst:
            # the lowest fixed-t profiles, plus one start released in any case
            found = False
            for j in range(n_rel):
                found = found or order[j] == always_release
            if not found:
                order[n_rel] = always_release
                n_rel += 1
        best = np.inf
        for j in range(n_rel):
            s = order[j]
            x[:] = x_in[s]
            f, ok, it = _descend(x, free, lower, upper, centres, inv_var, pred, tab, ws, tol, max_iter, bufs)
            out_it[p] += it
            if j == 0 or f < best - 1e-9:
                best = f
                out_x[p] = x
                out_f[p] = f
                out_ok[p] = ok
    return out_x, out_f, out_ok, out_it


def _fold_numpy(a, pred, tab, ws):
    """:func:`_fold` with numpy."""
    mono_nz, mono_tot, run_nz = tab[:3]
    flags, sig_m, sig_psum, sig_pmf = ws[:4]
    m = pred @ mono_tot[a]
    sig_m[a] = m
    sig_psum[a] = (m > 0).astype(float)
    folded = pred @ mono_nz[a]
    mz = m[run_nz]
    sig_pmf[a] = np.where(mz > 0, folded / np.where(mz > 0, mz, 1.0), 0.0)
    flags[a] = True


def _evaluate_numpy(x, ci, cj, want, pred, tab, ws, centres, inv_var, g, h, hgn):
    """:func:`_evaluate` vectorised over the bins with numpy (the fallback without numba).

    Kept long: it mirrors the compiled kernel step by step so that the two can be compared
    line by line."""
    mono_nz, mono_tot, run_nz, n_nz, ac_nz, er_nz, ac_tot = tab[:7]
    nmu, npsum, npmf, scal = tab[7:11]
    flags, sig_m, sig_psum, sig_pmf = ws[:4]
    k = x.size
    nr = ac_tot.size
    ix, iy = k - 2, k - 1
    phi, eps, rer, ren = x[0], x[1], x[2 + nr], x[3 + nr]
    kk = phi * eps
    fx = x[ix] - ANCHOR_MIN - ci
    fy = x[iy] - ANCHOR_MIN - cj
    a00 = ci * N_ANCHORS + cj
    corners = (a00, a00 + N_ANCHORS, a00 + 1, a00 + N_ANCHORS + 1)
    for a in corners:
        if not flags[a]:
            _fold_numpy(a, pred, tab, ws)

    cl = list(corners)
    gx, gy = 1.0 - fx, 1.0 - fy
    wv = np.array([gx * gy, fx * gy, gx * fy, fx * fy])
    wd = np.array([[-gy, gy, -fy, fy], [-gx, -fx, gx, fx], [1.0, -1.0, -1.0, 1.0]])

    def bil(arr):
        c4 = arr[cl]
        v = wv @ c4
        if not want:
            return v, None, None, None
        dx, dy, dxy = wd @ c4
        return v, dx, dy, dxy

    m, mx, my, mxy = bil(sig_m)
    p, px, py, pxy = bil(sig_psum)
    nm, nmx, nmy, nmxy = bil(nmu)
    q, qx, qy, qxy = bil(npsum)
    st, nt_ = m @ p, nm @ q
    smu = rer * scal[0] + x[2 : 2 + nr] @ ac_tot + kk * st + ren * nt_
    dev = x - centres
    pz, pzx, pzy, pzxy = bil(sig_pmf)
    qz, qzx, qzy, qzxy = bil(npmf)
    mz, nmz = m[run_nz], nm[run_nz]
    s = mz * pz
    nb = nmz * qz
    mu = np.maximum(kk * s + x[2 + run_nz] * ac_nz + rer * er_nz + ren * nb, MU_FLOOR)
    f = 2.0 * smu + scal[1] + (dev * dev) @ inv_var - 2.0 * (n_nz @ np.log(mu))
    if not want:
        return f, 0.0
    mxz, myz, mxyz = mx[run_nz], my[run_nz], mxy[run_nz]
    nmxz, nmyz, nmxyz = nmx[run_nz], nmy[run_nz], nmxy[run_nz]
    sx = mxz * pz + mz * pzx
    sy = myz * pz + mz * pzy
    nx = nmxz * qz + nmz * qzx
    ny = nmyz * qz + nmz * qzy
    w = n_nz / mu
    c = w / mu
    jac = np.zeros((run_nz.size, k))
    jac[:, 0] = eps * s
    jac[:, 1] = phi * s
    jac[np.arange(run_nz.size), 2 + run_nz] = ac_nz
    jac[:, 2 + nr] = er_nz
    jac[:, 3 + nr] = nb
    jac[:, ix] = kk * sx + ren * nx
    jac[:, iy] = kk * sy + ren * ny
    g[:] = -(w @ jac)
    g[0] += eps * st
    g[1] += phi * st
    g[2 : 2 + nr] += ac_tot
    g[2 + nr] += scal[0]
    g[3 + nr] += nt_
    g[ix] += kk * (mx * p + m * px).sum() + ren * (nmx * q + nm * qx).sum()
    g[iy] += kk * (my * p + m * py).sum() + ren * (nmy * q + nm * qy).sum()
    g[:] = 2.0 * g + 2.0 * inv_var * dev
    hgn[:] = 2.0 * ((jac * c[:, None]).T @ jac) + 2.0 * np.diag(inv_var)
    h[:] = hgn
    stx = (mx * p + m * px).sum()
    sty = (my * p + m * py).sum()
    ntx = (nmx * q + nm * qx).sum()
    nty = (nmy * q + nm * qy).sum()
    stxx, styy = (2.0 * mx * px).sum(), (2.0 * my * py).sum()
    stxy = (mxy * p + mx * py + my * px + m * pxy).sum()
    ntxx, ntyy = (2.0 * nmx * qx).sum(), (2.0 * nmy * qy).sum()
    ntxy = (nmxy * q + nmx * qy + nmy * qx + nm * qxy).sum()
    a_sx, a_sy, a_nx, a_ny = w @ sx, w @ sy, w @ nx, w @ ny
    a_sxx, a_syy = w @ (2.0 * mxz * pzx), w @ (2.0 * myz * pzy)
    a_sxy = w @ (mxyz * pz + mxz * pzy + myz * pzx + mz * pzxy)
    a_nxx, a_nyy = w @ (2.0 * nmxz * qzx), w @ (2.0 * nmyz * qzy)
    a_nxy = w @ (nmxyz * qz + nmxz * qzy + nmyz * qzx + nmz * qzxy)
    cross = 2.0 * (st - w @ s)
    extra = np.zeros((k, k))
    extra[0, 1] = cross
    extra[0, ix] = 2.0 * eps * (stx - a_sx)
    extra[0, iy] = 2.0 * eps * (sty - a_sy)
    extra[1, ix] = 2.0 * phi * (stx - a_sx)
    extra[1, iy] = 2.0 * phi * (sty - a_sy)
    extra[3 + nr, ix] = 2.0 * (ntx - a_nx)
    extra[3 + nr, iy] = 2.0 * (nty - a_ny)
    extra[ix, iy] = 2.0 * (kk * (stxy - a_sxy) + ren * (ntxy - a_nxy))
    h += extra + extra.T
    h[ix, ix] += 2.0 * (kk * (stxx - a_sxx) + ren * (ntxx - a_nxx))
    h[iy, iy] += 2.0 * (kk * (styy - a_syy) + ren * (ntyy - a_nyy))
    return f, cross


def _chol_solve_numpy(a, g, held, lmat, d, damp):
    """:func:`_chol_solve` with numpy's Cholesky (same acceptance rule for the pivots)."""
    m = np.array(a, dtype=float)
    if damp:
        m[np.diag_indices_from(m)] += DAMPING * np.abs(np.diag(m)) + DAMPING
    m[held, :] = 0.0
    m[:, held] = 0.0
    m[held, held] = 1.0
    ref = np.where(held, 1.0, np.abs(np.diag(a)))
    try:
        low = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return False
    piv = np.diag(low) ** 2
    if not np.all((piv > PIVOT_RTOL * ref) & (piv > 0.0)):
        return False
    rhs = np.where(held, 0.0, -g)
    y = np.linalg.solve(low, rhs)
    d[:] = np.where(held, 0.0, np.linalg.solve(low.T, y))
    lmat[:] = low
    return True


def _numpy_driver():
    """The driver functions (:func:`_descend`, :func:`_profile_loop`, ...) as plain Python,
    calling :func:`_evaluate_numpy`: one source for the algorithm, two evaluators."""
    env = dict(globals())
    env["_evaluate"] = _evaluate_numpy
    env["_fold"] = _fold_numpy
    env["_chol_solve"] = _chol_solve_numpy
    for name in ("_bil", "_cell", "_signal_total", "_direction", "_descend", "_profile_loop"):
        fun = globals()[name]
        py = getattr(fun, "py_func", fun)
        env[name] = types.FunctionType(py.__code__, env, name, py.__defaults__)
    return env["_profile_loop"]


_PROFILE_NUMPY = _numpy_driver()


def profile(
    preds,
    x_first,
    x_base,
    n_starts,
    t_starts,
    free,
    lower,
    upper,
    centres,
    inv_var,
    tables,
    tol,
    max_iter,
    tol_inner=TOL_INNER,
    n_release=N_RELEASE,
    signal_target=0.0,
    always_release=-1,
    use_numba=None,
):
    """Profile every point: returns (x (P, K), -2 ln L (P,), converged (P,), iterations (P,)).

    Point p is minimised from ``x_first[p]``; if ``n_starts[p] > 1`` also from ``x_base[p]``
    with (t_ly, t_qy) replaced by each row of ``t_starts`` (up to ``n_starts[p] - 1`` of
    them). Then every start is first profiled at its fixed (t_ly, t_qy) (to ``tol_inner``),
    and the ``n_release`` starts with the lowest such value are minimised over all free
    parameters; the lowest -2 ln L is kept. ``free`` (K,) marks the profiled parameters. With
    ``signal_target`` > 0 (and phi free) phi of every multi-start start is first set so that
    the signal at its (t_ly, t_qy) is that many events. Start number ``always_release`` (1 is
    the first row of ``t_starts``; -1: none) is released even when its fixed-t profile is not
    among the ``n_release`` lowest.
    ``use_numba``: None = when available."""
    use = HAVE_NUMBA if use_numba is None else use_numba
    if use and not HAVE_NUMBA:
        raise RuntimeError("numba is not available")
    f64 = np.float64
    args = (
        np.ascontiguousarray(preds, dtype=f64),
        np.ascontiguousarray(x_first, dtype=f64),
        np.ascontiguousarray(x_base, dtype=f64),
        np.ascontiguousarray(n_starts, dtype=np.int64),
        np.ascontiguousarray(t_starts, dtype=f64).reshape(-1, 2),
        np.ascontiguousarray(free, dtype=np.bool_),
        np.ascontiguousarray(lower, dtype=f64),
        np.ascontiguousarray(upper, dtype=f64),
        np.ascontiguousarray(centres, dtype=f64),
        np.ascontiguousarray(inv_var, dtype=f64),
        tables.tuple(),
        float(tol),
        int(max_iter),
        float(tol_inner),
        int(n_release),
        float(signal_target),
        int(always_release),
    )
    return (_profile_loop if use else _PROFILE_NUMPY)(*args)
