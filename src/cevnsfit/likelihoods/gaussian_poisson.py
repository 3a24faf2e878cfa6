"""Exact Gaussian-smeared Poisson integrals through truncated Gaussian moments.

Both `paper`-mode likelihoods need integrals of the form

    I = Int_0^inf dy N(y; m0, s^2) e^{-y X} sum_j c_j (y X)^j        (Poisson mean y X >= 0).

Completing the square, N(y; m0, s^2) e^{-yX} = e^{-m0 X + s^2 X^2/2} N(y; m, s^2) with
m = m0 - s^2 X, so I = e^{-m0 X + s^2 X^2/2} sum_j c_j X^j T_j, where
T_j = Int_0^inf y^j N(y; m, s^2) dy are moments of a truncated Gaussian. They obey the exact
recurrence (integration by parts)

    T_0 = Phi(m/s),  T_1 = m T_0 + s phi(m/s),  T_j = m T_{j-1} + (j - 1) s^2 T_{j-2}.

The truncation at y = 0 (Poisson mean >= 0) is thereby exact, which Gauss-Hermite rules
cannot reproduce (the integrand jumps at the cut). For m >= -s the forward recurrence is
stable (T is the dominant solution); for m < -s it is the minimal one and is computed with
Miller's backward recurrence (m < -s). Everything runs on scaled ratios t_j = T_j/(T_0 S^j),
S = max(|m|, s), and logarithms, so huge or tiny rates neither overflow nor underflow.

Bins are processed sorted by count, so step j touches only bins with n_b >= j: the cost
per parameter point is about sum_b n_b operations.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .._numba import compile_or_none, readonly

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _miller_log_scaled(rho: np.ndarray, sig: np.ndarray, jmax: int, mu_min: float = 1.0) -> np.ndarray:
    """ln of the scaled ratios t_j (j = 0..jmax) by backward recurrence, for entries with m < 0.

    In scaled form t_{k-1} = (t_{k+1} - rho t_k) / (k sig^2), rho = m/S, sig = s/S. The values
    are renormalised on the way down and stored as logarithms with the running scale.
    """
    # start index from the bucket's lower edge |m/s| >= mu_min (not from the batch), so a value
    # does not depend on which other points share the call
    k_start = int(np.ceil((np.sqrt(jmax) + 18.0 / max(mu_min, 1.0)) ** 2)) + 10
    sig2 = sig * sig
    hi = np.zeros_like(rho)
    cur = np.ones_like(rho)
    log_off = np.zeros_like(rho)  # ln of the factor divided out so far
    table = np.zeros((jmax + 1,) + rho.shape)
    for k in range(k_start, 0, -1):
        lo = (hi - rho * cur) / (k * sig2)
        hi, cur = cur, lo
        mag = np.abs(cur)
        off = (mag > 1e100) | (mag < 1e-100)
        if np.any(off):
            f = np.where(off, np.where(mag > 0, mag, 1.0), 1.0)
            hi, cur = hi / f, cur / f
            log_off = log_off + np.log(f)
        if k - 1 <= jmax:
            with np.errstate(divide="ignore"):
                table[k - 1] = np.log(cur) + log_off
    return table - table[0]


def _log_moment_ratios(m, s, log_cdf, counts, nmax, consume):
    """Call ``consume(j, a, log_r)`` for j = 0..nmax; ``log_r(lo, hi)`` returns ln(T_j/T_0) for
    sorted bins lo:hi (< a, the bins with n_b >= j).

    Arrays are laid out (bins, points) with bins sorted by count, descending, so the bins still
    active at step j are a contiguous leading block. ``log_cdf`` = ln Phi(m/s).
    """
    scale = np.maximum(np.abs(m), s)
    log_scale = np.log(scale)
    rho, sig = m / scale, s / scale
    fwd = rho >= -sig  # m >= -s: the forward recurrence loses at most ~6 digits by j = 45
    active = np.searchsorted(-counts, -np.arange(nmax + 1), side="right")
    miller = None
    if not np.all(fwd):
        idx = np.nonzero(~fwd)
        r, g = rho[idx], sig[idx]
        table = np.empty((nmax + 1, r.size))
        # the start index Miller needs falls with |m/s|: bucket entries so few pay for many
        mu_abs = np.abs(r / g)
        edges = [1.0, 2.0, 4.0, 8.0, 16.0, np.inf]
        for lo_, hi_ in zip(edges[:-1], edges[1:]):
            b = (mu_abs >= lo_) & (mu_abs < hi_) if lo_ > 1.0 else mu_abs < hi_
            if np.any(b):
                table[:, b] = _miller_log_scaled(r[b], g[b], nmax, lo_)
        miller = (idx, table)
    t_prev = np.ones_like(m)
    # T_1/T_0 = m + s phi(m/s)/Phi(m/s), scaled by S
    # phi(z)/Phi(z) = sqrt(2/pi)/erfcx(-z/sqrt 2), free of the ~z^2/2 cancellation
    t_cur = rho + sig * (np.sqrt(2.0 / np.pi) / special.erfcx(-(m / s) / np.sqrt(2.0)))
    sig2 = sig * sig
    state = {}

    def log_r(lo, hi):
        j = state["j"]
        if j == 0:
            out = np.zeros((hi - lo,) + m.shape[1:])
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # Miller entries are replaced below
                out = np.log(state["t"][lo:hi]) + j * log_scale[lo:hi]
        if miller is not None:
            idx, table = miller
            sel = (idx[0] >= lo) & (idx[0] < hi)
            if np.any(sel):
                pos = (idx[0][sel] - lo,) + tuple(i[sel] for i in idx[1:])
                out[pos] = table[j][sel] + j * log_scale[tuple(i[sel] for i in idx)]
        return out

    for j in range(nmax + 1):
        a = active[j]
        if a == 0:
            break
        if j >= 2:
            t_new = rho[:a] * t_cur[:a] + (j - 1) * sig2[:a] * t_prev[:a]
            t_prev, t_cur = t_cur[:a], t_new
        state["j"], state["t"] = j, t_cur
        consume(j, a, log_r)


def _prepare(m0, s, X, order):
    """Broadcast, floor s, complete the square; return (bins, points)-ordered arrays and the
    log prefactor in the caller's layout."""
    m0 = np.asarray(m0, dtype=float)
    X = np.broadcast_to(np.asarray(X, dtype=float), m0.shape)
    # a vanishing envelope is a plain Poisson: floor s far below any scale that matters
    s = np.maximum(np.broadcast_to(np.asarray(s, dtype=float), m0.shape), 1e-9 * np.maximum(np.abs(m0), 1.0))
    m = m0 - s * s * X
    z = m / s
    log_cdf = special.log_ndtr(z)
    # -m0 X + (s X)^2/2 = (z^2 - z0^2)/2 with z0 = m0/s; for z < 0, z^2/2 + ln Phi(z) =
    # ln(erfcx(-z/sqrt 2)/2) without the cancellation of two ~z^2/2 terms (huge X)
    z0 = m0 / s
    with np.errstate(over="ignore", invalid="ignore"):
        tail = np.log(0.5 * special.erfcx(-z / np.sqrt(2.0))) - 0.5 * z0 * z0
        log_pref = np.where(z < 0, tail, -m0 * X + 0.5 * (s * X) ** 2 + log_cdf)
    nb = m0.shape[-1]

    def to_bins_first(a):
        return np.ascontiguousarray(a[..., order].reshape(-1, nb).T)

    return [to_bins_first(a) for a in (m, s, X, log_cdf)], log_pref


def _from_bins_first(acc, order, shape):
    out = np.empty(shape)
    out[..., order] = acc.T.reshape(shape[:-1] + (shape[-1],))
    return out


# ---------------------------------------------------------------------------------------------
# compiled path: the same recurrences entry by entry (numba), no sorting, no Python loop over j
# ---------------------------------------------------------------------------------------------


def _erfcx(x):  # compiled by numba: exp(x^2) erfc(x), no overflow for large x
    if x < 0.0:
        return 2.0 * math.exp(x * x) - _erfcx(-x)
    if x < 25.0:
        # x^2 = hi + lo exactly (Dekker), so exp(x^2) carries no rounding of x^2 (~x^2 ulp)
        c = 134217729.0 * x
        xh = c - (c - x)
        xl = x - xh
        hi = x * x
        lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl
        return math.exp(hi) * (1.0 + lo) * math.erfc(x)
    # asymptotic series 1/(x sqrt(pi)) sum_n (-1)^n (2n-1)!!/(2x^2)^n, below 1e-17 by n = 8 at x = 25
    v = 1.0 / (2.0 * x * x)
    term = 1.0
    total = 1.0
    for n in range(1, 9):
        term *= -(2 * n - 1) * v
        total += term
    return total / (x * math.sqrt(math.pi))


def _entry_loop(m0, s_in, x_in, counts, log_coef, jmax, mode, out):  # compiled by numba
    """The per-entry log-likelihood loop (compiled by numba).

    Kept long: one compiled pass over the entries; splitting it into calls would add a call per
    entry inside the hot loop."""
    # per entry: floor s, complete the square, the log prefactor, then the scaled moment ratios
    # (forward or Miller, module doc); mode 0: ln(T_n/T_0) at j = n_b (plain Poisson); mode 1:
    # logaddexp over j <= n_b of ln c_bj + j ln X + ln(T_j/T_0). Entries are in C order over
    # (..., B): bin b = e % B. Same formulas and branches as the numpy path.
    nb = counts.shape[0]
    ne = m0.shape[0]
    ratios = np.empty(jmax + 1)
    rt2 = math.sqrt(2.0)
    for e in range(ne):
        b = e % nb
        n = counts[b]
        a0 = m0[e]
        xx = x_in[e]
        s = max(s_in[e], 1e-9 * max(abs(a0), 1.0))
        m = a0 - s * s * xx
        z = m / s
        z0 = a0 / s
        ex = _erfcx(-z / rt2)
        if z < 0.0:
            log_pref = math.log(0.5 * ex) - 0.5 * z0 * z0
        else:
            log_pref = -a0 * xx + 0.5 * (s * xx) ** 2 + math.log1p(-0.5 * math.erfc(z / rt2))
        scale = max(abs(m), s)
        r = m / scale
        g = s / scale
        g2 = g * g
        ls = math.log(scale)
        if r >= -g:  # forward recurrence, the dominant solution
            ratios[0] = 0.0
            t_prev = 1.0
            t_cur = r + g * (math.sqrt(2.0 / math.pi) / ex)
            if n >= 1 and mode == 1:
                ratios[1] = np.log(t_cur) + ls
            for j in range(2, n + 1):
                t_new = r * t_cur + (j - 1) * g2 * t_prev
                t_prev = t_cur
                t_cur = t_new
                if mode == 1:  # the plain Poisson needs j = n only (t_j stays below ~45!!)
                    ratios[j] = np.log(t_cur) + j * ls
            if n >= 1 and mode == 0:
                ratios[n] = np.log(t_cur) + n * ls
        else:  # Miller's backward recurrence, start index from the |m/s| bucket's lower edge
            mu_abs = abs(r / g)
            edge = 1.0
            if mu_abs >= 16.0:
                edge = 16.0
            elif mu_abs >= 8.0:
                edge = 8.0
            elif mu_abs >= 4.0:
                edge = 4.0
            elif mu_abs >= 2.0:
                edge = 2.0
            k_start = int(math.ceil((math.sqrt(n) + 18.0 / edge) ** 2)) + 10  # this entry's n, not the call's
            hi = 0.0
            cur = 1.0
            log_off = 0.0
            for k in range(k_start, 0, -1):
                lo = (hi - r * cur) / (k * g2)
                hi = cur
                cur = lo
                mag = abs(cur)
                if mag > 1e100 or mag < 1e-100:
                    f = mag if mag > 0 else 1.0
                    hi = hi / f
                    cur = cur / f
                    log_off = log_off + math.log(f)
                if k - 1 <= n:
                    ratios[k - 1] = np.log(cur) + log_off
            base = ratios[0]
            for j in range(n + 1):
                ratios[j] = ratios[j] - base + j * ls
        if mode == 0:
            out[e] = log_pref + ratios[n]
        else:
            # ln sum_j exp(a_j) in two passes (the largest term factored out): one exp per j
            log_x = np.log(xx)
            big = -np.inf
            for j in range(n + 1):
                term = log_coef[j, b] + ratios[j]
                if j > 0:
                    term += j * log_x
                ratios[j] = term
                if term > big:
                    big = term
            if big == -np.inf or big == np.inf or big != big:  # not finite (or a NaN): as numpy's logaddexp
                acc = big
                for j in range(n + 1):
                    if ratios[j] != ratios[j]:
                        acc = ratios[j]
            else:
                total = 0.0
                for j in range(n + 1):
                    total += math.exp(ratios[j] - big)
                acc = big + math.log(total)
            out[e] = log_pref + acc


def _load_numba():
    global _erfcx
    compiled = compile_or_none(_erfcx)
    if compiled is None:
        return None
    _erfcx = compiled  # the entry loop calls the compiled erfcx
    return compile_or_none(_entry_loop)


_ENTRY_KERNEL = _load_numba()
#: True when the compiled entry-by-entry path is used (``pip install cevnsfit[fast]``).
HAVE_NUMBA = _ENTRY_KERNEL is not None


def _compiled(m0, s, X, counts, log_coef, mode: int) -> np.ndarray:
    """Both functions below through :func:`_entry_loop` (ln I; plain: without -ln n!)."""
    m0 = np.asarray(m0, dtype=float)
    # read-only views of every input: one compiled signature (see cevnsfit._numba.readonly)
    flat = [
        readonly(np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=float), m0.shape)).ravel())
        for a in (m0, s, X)
    ]
    counts = readonly(np.ascontiguousarray(counts, dtype=np.int64))
    out = np.empty(m0.size)
    assert _ENTRY_KERNEL is not None
    _ENTRY_KERNEL(
        *flat,
        counts,
        readonly(np.ascontiguousarray(log_coef, dtype=float)),
        int(counts.max()) if counts.size else 0,
        int(mode),
        out,
    )
    return out.reshape(m0.shape)


def log_smeared_poisson_sum(m0, s, X, log_coef, counts, use_numba: bool | None = None):
    """ln Int_0^inf dy N(y; m0, s^2) e^{-yX} sum_{j<=n_b} c_bj (yX)^j, entry-wise over (..., B).

    ``log_coef``: (nmax+1, B) with ln c_bj (-inf where c_bj = 0); ``counts``: (B,) the
    highest power per bin. Compiled entry by entry when numba is available (``use_numba``
    None), else (or with ``use_numba=False``) the vectorised numpy recurrences; the two agree
    to rounding (tests).
    """
    if HAVE_NUMBA if use_numba is None else use_numba:
        return _compiled(m0, s, X, counts, log_coef, 1)
    counts = np.asarray(counts)
    order = np.argsort(-counts, kind="stable")
    (m_, s_, X_, lcdf), log_pref = _prepare(m0, s, X, order)
    lc = log_coef[:, order][:, :, None]
    with np.errstate(divide="ignore"):
        log_x = np.log(X_)
    acc = np.full(m_.shape, -np.inf)

    def consume(j, a, log_r):
        term = lc[j, :a] + (j * log_x[:a] if j else 0.0) + log_r(0, a)
        acc[:a] = np.logaddexp(acc[:a], term)

    _log_moment_ratios(m_, s_, lcdf, counts[order], int(counts.max()), consume)
    return log_pref + _from_bins_first(acc, order, log_pref.shape)


def log_smeared_poisson(n, mu, s, use_numba: bool | None = None):
    """ln Int_0^inf dlam N(lam; mu, s^2) P(n; lam) entry-wise over (..., B), integer n (B,);
    compiled or numpy as :func:`log_smeared_poisson_sum`.

    >>> from scipy import integrate, stats
    >>> f = lambda l: stats.norm.pdf(l, 4.0, 1.5) * stats.poisson.pmf(6, l)
    >>> bool(np.isclose(np.exp(log_smeared_poisson(np.array([6]), np.array([4.0]), np.array([1.5])))[0],
    ...                 integrate.quad(f, 0, np.inf)[0], rtol=1e-10))
    True
    """
    n = np.asarray(n)
    if HAVE_NUMBA if use_numba is None else use_numba:
        mu = np.asarray(mu, dtype=float)
        return _compiled(mu, s, 1.0, n, np.zeros((1, 1)), 0) - special.gammaln(n + 1.0)
    order = np.argsort(-n, kind="stable")
    n_sorted = n[order]
    (m_, s_, _, lcdf), log_pref = _prepare(mu, s, 1.0, order)
    acc = np.empty(m_.shape)
    active = np.searchsorted(-n_sorted, -np.arange(int(n.max()) + 2), side="right")

    def consume(j, a, log_r):
        lo = active[j + 1]  # bins with count exactly j are [active[j+1], active[j])
        if lo < a:
            acc[lo:a] = log_r(lo, a)

    _log_moment_ratios(m_, s_, lcdf, n_sorted, int(n.max()), consume)
    return log_pref + _from_bins_first(acc, order, log_pref.shape) - special.gammaln(n + 1.0)
