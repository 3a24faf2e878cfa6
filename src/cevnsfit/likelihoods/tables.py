"""Per-bin ln L tables for the `paper`-mode terms (docs/performance.md).

With the data fixed, each bin's marginalised ln L_b of a per-bin marginalised term (a data-set unit's per-bin term,
which passes :func:`get_table` its kind, data arrays, options and exact evaluation) is a function
of one number,
the bin's expected CEvNS signal N_b >= 0. :class:`BinTable` tabulates it once per data set
with the exact evaluation (truncated Gaussian moments,
:mod:`cevnsfit.likelihoods.gaussian_poisson`, vectorised over bins) and interpolates:

- variable: x = ln(1 + N/C), C = 1e-3; nodes every h1 = 1/32 below x = 19 and every h2 = 1/4
  up to x = 35, covering 0 <= N <= ``n_top`` (1e12, far above the ~3e7 counts per bin reached
  over the prior box); points with entries outside (N < 0, N > n_top, not finite) are
  evaluated exactly; N = 0 exactly is served with the exact value at 0;
- interpolant: per bin, the degree-7 interpolating spline through the node values (scipy's
  ``make_interp_spline``), stored as Horner coefficients of each interval;
- error bound: at build time the exact ln L_b is evaluated at every interval midpoint, where
  the leading interpolation error of an odd-degree spline (~ h^8 f^(8)(x) times a polynomial
  in the position inside the interval, symmetric about the midpoint) peaks. The stored per-bin
  bound is ``eps_b = SAFETY * max_midpoints |spline - exact|`` (+ rounding; SAFETY = 2 covers
  the higher-order terms); h1, h2 are halved until ``sum_b eps_b <= budget`` (2.5e-7). Hence,
  for any prediction,

      |sum_b ln L_b(table) - sum_b ln L_b(exact)| <= sum_b eps_b <= budget,

  and two terms together stay below 5e-7 (``BinTable.bound`` holds the sum; measured values in
  docs/performance.md).

Tables are cached in memory (per key) and on disk under the package cache (``lnl-tables`` in
``$CEVNSFIT_CACHE`` or ``platformdirs.user_cache_dir("cevnsfit")``; ``$CEVNSFIT_CACHE_DIR``
overrides it); a build is announced on stderr with its progress, and done by one process at a
time (a lock file beside the table; the others wait and read it) (docs/performance.md, "First
run"). The key
is a SHA-256 of the term's data arrays, its options, the table format and the package
version. Files are written atomically (temporary file + rename); a file that cannot be read,
has the wrong key or shape, or holds non-finite numbers is rebuilt, never trusted.

Evaluation is a fused loop over (points x bins) compiled with numba when it is importable
(``pip install cevnsfit[fast]``), with a pure-numpy fallback (same formula and operation
order; the two agree to rounding) working in chunks of points so memory stays bounded.
``CEVNSFIT_NO_NUMBA=1`` forces the fallback.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._firstuse import FirstUse, notice
from .._numba import compile_or_none, readonly

#: Bump when the table layout or the build recipe changes (part of the cache key).
TABLE_FORMAT = 3
#: Safety factor between the largest midpoint error and the stored per-bin bound.
SAFETY = 2.0
#: Default bound on sum_b eps_b per term.
BUDGET = 2.5e-7
#: Largest N covered by a table.
N_TOP = 1e12
#: Entries per chunk (points x bins) for the numpy paths: bounded working memory.
CHUNK_ENTRIES = 1 << 18
#: Points per block of the compiled kernel (each bin's table is reused by a block's points;
#: measured on CENNS-10's 960 bins: 23 ns per bin and point with blocks of 64, 13.6 with 4096).
BLOCK = 4096

#: Tables kept in memory and files kept on disk (least recently used dropped first): toy data
#: sets each get their own table, which must not pile up.
MAX_MEMORY = 8
MAX_FILES = 16

_MEMORY: OrderedDict[str, BinTable] = OrderedDict()
#: Number of tables built in this process (tests check that a cached table is not rebuilt).
BUILDS = {"count": 0}
#: Guards _MEMORY: likelihoods may be evaluated from several threads of one process.
_MEMORY_LOCK = threading.Lock()


def _version() -> str:
    from .. import __version__

    return __version__


def cache_dir() -> Path:
    """Directory of the on-disk table cache: ``lnl-tables`` under ``$CEVNSFIT_CACHE_DIR`` if set,
    else under the package's cache (``$CEVNSFIT_CACHE`` or the user cache directory, where the
    downloaded data and the assembled XENONnT templates are kept too)."""
    env = os.environ.get("CEVNSFIT_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "lnl-tables"
    from ..data.registry import cache_dir as package_cache

    return package_cache() / "lnl-tables"


def clear_cache(memory: bool = True, disk: bool = True) -> int:
    """Remove cached tables (and their lock files); returns the number of tables deleted."""
    if memory:
        _MEMORY.clear()
    n = 0
    if disk and cache_dir().is_dir():
        for f in [*cache_dir().glob("*.npz"), *cache_dir().glob("*.lock")]:
            try:
                f.unlink()
                n += f.suffix == ".npz"
            except OSError:
                pass
    return n


def table_key(kind: str, arrays: dict, options: dict) -> str:
    """SHA-256 over the term kind, its data arrays (dtype, shape, bytes), options, format, version."""
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"kind": kind, "options": options, "format": TABLE_FORMAT, "version": _version()},
            sort_keys=True,
            default=repr,
        ).encode()
    )
    for name in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[name], dtype=float))
        h.update(f"{name}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# grid: x = ln(1 + N); spacing h1 on [0, X1), h2 on [X1, X2]
# ---------------------------------------------------------------------------------------------

#: Spline degree of the tables and the split of the x range (fine below X1, coarse above).
DEGREE = 7
#: x = ln(1 + N/C): C resolves the structure of bins with tiny backgrounds (scale ~0.01 events).
C_SCALE = 1e-3
X1 = 19.0  # N = 1.8e5
X2 = 35.0  # ln(1 + N_TOP/C) = 34.5


def grid_nodes(h1: float, h2: float) -> np.ndarray:
    k1 = int(round(X1 / h1))
    k2 = int(round((X2 - X1) / h2))
    return np.concatenate([np.arange(k1) * h1, X1 + np.arange(k2 + 1) * h2])


def _locate_numpy(v, inv_h1, inv_h2, k1, k_tot):
    x = np.log1p(v * (1.0 / C_SCALE))
    u1 = x * inv_h1
    u2 = (x - X1) * inv_h2
    fine = x < X1
    i = np.where(fine, u1.astype(np.int64), k1 + np.minimum(np.maximum(u2, 0.0).astype(np.int64), k_tot - k1 - 1))
    t = np.where(fine, u1, u2 + k1) - i
    return i, t


# ---------------------------------------------------------------------------------------------
# evaluation kernels: sum over bins of the interpolated ln L_b, per point
# ---------------------------------------------------------------------------------------------


def _sum_numpy(n: np.ndarray, coef: np.ndarray, f0: np.ndarray, inv_h1: float, inv_h2: float, k1: int, n_top: float):
    """(sums (P,), ok (P,)): ok[p] is False when a bin of point p lies outside the table."""
    p_tot, nb = n.shape
    _, k_tot, nc = coef.shape
    flat = coef.reshape(-1, nc)
    out = np.empty(p_tot)
    ok = np.empty(p_tot, dtype=bool)
    step = max(1, CHUNK_ENTRIES // max(nb, 1))
    cols = np.arange(nb)[None, :]
    for lo in range(0, p_tot, step):
        v = n[lo : lo + step]
        good = (v >= 0.0) & (v <= n_top)
        ok[lo : lo + step] = good.all(axis=1)
        i, t = _locate_numpy(np.where(good, v, 0.0), inv_h1, inv_h2, k1, k_tot)
        c = flat[cols * k_tot + i]  # (p, bins, nc)
        val = c[..., 0].copy()
        for d in range(1, nc):
            val *= t
            val += c[..., d]
        out[lo : lo + step] = np.where(v == 0.0, f0, val).sum(axis=1)
    return out, ok


def _sum_loop(n, coef, f0, inv_h1, inv_h2, k1, n_top, x1, inv_c, out, ok, block):  # compiled by numba when available
    # coef is (bins, intervals, nc): bins outer, points inner in blocks of BLOCK points, so one
    # bin's table (~40 kB) is fetched into cache once per block and reused by all its points
    # (the table of all bins, tens of MB, does not fit in cache: smaller blocks refetch it)
    p_tot, nb = n.shape
    k_tot = coef.shape[1]
    nc = coef.shape[2]
    for p in range(p_tot):
        out[p] = 0.0
        ok[p] = True
    for lo in range(0, p_tot, block):
        hi = min(lo + block, p_tot)
        for b in range(nb):
            for p in range(lo, hi):
                v = n[p, b]
                if v == 0.0:
                    out[p] += f0[b]
                    continue
                if not (v >= 0.0 and v <= n_top):
                    ok[p] = False
                    v = 0.0
                x = np.log1p(v * inv_c)
                if x < x1:
                    u = x * inv_h1
                    i = int(u)
                else:
                    u = (x - x1) * inv_h2
                    j = min(int(u), k_tot - k1 - 1)
                    u = u + k1
                    i = k1 + j
                t = u - i
                val = coef[b, i, 0]
                for d in range(1, nc):
                    val = val * t + coef[b, i, d]
                out[p] += val


_NUMBA_KERNEL = compile_or_none(_sum_loop)
HAVE_NUMBA = _NUMBA_KERNEL is not None


def _sum_numba(n, coef, f0, inv_h1, inv_h2, k1, n_top):
    n = readonly(np.ascontiguousarray(n, dtype=float))  # read-only inputs: one compiled signature
    out = np.empty(n.shape[0])
    ok = np.empty(n.shape[0], dtype=np.bool_)
    _NUMBA_KERNEL(
        n,
        readonly(coef),
        readonly(f0),
        float(inv_h1),
        float(inv_h2),
        int(k1),
        float(n_top),
        X1,
        1.0 / C_SCALE,
        out,
        ok,
        BLOCK,
    )
    return out, ok


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------


@dataclass
class BinTable:
    """Degree-7 spline tables of ln L_b(N_b) on x = ln(1 + N), one column per bin (module doc).

    ``coef[b, k]``: Horner coefficients (t^7, ..., t, 1) on interval k, t in [0, 1] the position
    inside it; ``eps[b]``: the verified per-bin error bound; ``bound`` = sum_b eps_b.
    """

    h1: float
    h2: float
    n_top: float
    coef: np.ndarray
    eps: np.ndarray
    f0: np.ndarray
    key: str = ""

    @property
    def bound(self) -> float:
        return float(self.eps.sum())

    @property
    def k1(self) -> int:
        return int(round(X1 / self.h1))

    def sum_bins(self, n: np.ndarray, exact: Callable | None = None, use_numba: bool | None = None) -> np.ndarray:
        """sum_b ln L_b(N_b) for ``n`` of shape (points, bins); rows with entries outside the
        table are evaluated with ``exact`` (per-bin values, (points, bins) -> (points, bins))."""
        n = np.asarray(n, dtype=float)
        use = HAVE_NUMBA if use_numba is None else use_numba
        if use and not HAVE_NUMBA:
            raise RuntimeError("numba is not available")
        kernel = _sum_numba if use else _sum_numpy
        out = np.empty(n.shape[0])
        ok = np.empty(n.shape[0], dtype=bool)
        # bounded copies of a non-contiguous input; the compiled kernel reads a contiguous one in place
        step = n.shape[0] if use and n.flags.c_contiguous else max(BLOCK, 4 * CHUNK_ENTRIES // max(n.shape[1], 1))
        for lo in range(0, n.shape[0], step):
            out[lo : lo + step], ok[lo : lo + step] = kernel(
                n[lo : lo + step], self.coef, self.f0, 1.0 / self.h1, 1.0 / self.h2, self.k1, self.n_top
            )
        if not ok.all():
            if exact is None:
                raise ValueError("prediction outside the table and no exact evaluator given")
            bad = np.nonzero(~ok)[0]
            out[bad] = exact_sum(exact, n[bad])
        return out

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    h1=self.h1,
                    h2=self.h2,
                    n_top=self.n_top,
                    coef=self.coef,
                    eps=self.eps,
                    f0=self.f0,
                    key=np.array(self.key),
                    format=TABLE_FORMAT,
                )
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    @classmethod
    def load(cls, path: Path, key: str, nbins: int) -> BinTable | None:
        """The table stored at ``path`` if it is intact and belongs to ``key``; else None."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) != key or int(z["format"]) != TABLE_FORMAT:
                    return None
                tab = cls(
                    float(z["h1"]),
                    float(z["h2"]),
                    float(z["n_top"]),
                    np.ascontiguousarray(z["coef"], dtype=float),
                    np.asarray(z["eps"], dtype=float),
                    np.asarray(z["f0"], dtype=float),
                    key,
                )
        except Exception:  # noqa: BLE001 - unreadable, truncated, foreign: rebuild
            return None
        if not (tab.h1 > 0 and tab.h2 > 0 and tab.n_top <= C_SCALE * np.expm1(X2)):
            return None
        k_expect = grid_nodes(tab.h1, tab.h2).size - 1
        if (
            tab.coef.shape != (nbins, k_expect, DEGREE + 1)
            or tab.eps.shape != (nbins,)
            or tab.f0.shape != (nbins,)
            or not np.all(np.isfinite(tab.f0))
            or not np.all(np.isfinite(tab.coef))
            or not np.all(np.isfinite(tab.eps))
        ):
            return None
        return tab


def exact_sum(exact: Callable, n: np.ndarray) -> np.ndarray:
    """sum over bins of ``exact(n)`` in chunks of points (bounded memory)."""
    n = np.asarray(n, dtype=float)
    out = np.empty(n.shape[0])
    step = max(1, CHUNK_ENTRIES // max(n.shape[1], 1))
    for lo in range(0, n.shape[0], step):
        out[lo : lo + step] = exact(n[lo : lo + step]).sum(axis=1)
    return out


def _exact_columns(exact: Callable, grid: np.ndarray, nbins: int, progress: FirstUse | None = None) -> np.ndarray:
    """exact(N) with N = grid[k] in every bin: (len(grid), bins), chunked."""
    out = np.empty((grid.size, nbins))
    step = max(1, CHUNK_ENTRIES // max(nbins, 1))
    for lo in range(0, grid.size, step):
        g = grid[lo : lo + step]
        out[lo : lo + step] = exact(np.repeat(g[:, None], nbins, axis=1))
        if progress is not None:
            progress.advance(g.size)
    return out


def build_table(
    exact: Callable,
    nbins: int,
    h1: float = 1.0 / 32,
    h2: float = 0.25,
    budget: float = BUDGET,
    n_top: float = N_TOP,
    h_min: float = 1.0 / 256,
    key: str = "",
    progress: FirstUse | None = None,
) -> BinTable:
    """Build and verify a :class:`BinTable` for ``exact`` ((points, bins) -> per-bin ln L_b).

    The node spacings start at (``h1``, ``h2``) and are halved until sum_b eps_b <= ``budget``;
    raises if ``h_min`` is reached first. ``progress`` is told of every column of exact
    values evaluated (the nodes, two points near N = 0, the midpoints).
    """
    from math import factorial

    from scipy.interpolate import make_interp_spline

    BUILDS["count"] += 1
    first = True
    while True:
        x = grid_nodes(h1, h2)
        if progress is not None:
            if first:
                progress.total = 2 * x.size + 1
            else:
                progress.grow(2 * x.size + 1)
        first = False
        y = _exact_columns(exact, C_SCALE * np.expm1(x), nbins, progress)
        f0 = y[0].copy()
        # N = 0 is served exactly (f0); the spline's first node is the limit N -> 0+, so a jump at
        # N = 0 (a bin without background: a zero-width envelope at zero mean) does not spoil it
        y1, y2 = _exact_columns(exact, np.array([1e-7, 2e-7]), nbins, progress)
        y[0] = 2.0 * y1 - y2
        if not np.all(np.isfinite(y)):
            raise FloatingPointError("non-finite exact ln L on the table grid")
        spl = make_interp_spline(x, y, k=DEGREE, axis=0)
        left, width = x[:-1], np.diff(x)
        coef = np.empty((left.size, nbins, DEGREE + 1))
        for m in range(DEGREE + 1):  # Taylor coefficients at the left node, in t = (x - x_k)/width
            coef[..., DEGREE - m] = spl(left, nu=m) * (width**m / factorial(m))[:, None]
        xm = left + 0.5 * width
        ym = _exact_columns(exact, C_SCALE * np.expm1(xm), nbins, progress)
        approx = coef[..., 0].copy()
        for d in range(1, DEGREE + 1):
            approx = approx * 0.5 + coef[..., d]
        eps = SAFETY * np.max(np.abs(approx - ym), axis=0) + 16.0 * np.finfo(float).eps * np.max(np.abs(y), axis=0)
        if eps.sum() <= budget:
            return BinTable(h1, h2, n_top, np.ascontiguousarray(np.swapaxes(coef, 0, 1)), eps, f0, key)
        if h1 / 2 < h_min:
            raise FloatingPointError(f"table error {eps.sum():.3g} above budget {budget:.3g} at h1 = {h1}")
        h1, h2 = h1 / 2, h2 / 2


def get_table(
    kind: str, arrays: dict, options: dict, exact: Callable, nbins: int, h1: float = 1.0 / 32, use_disk: bool = True
) -> BinTable:
    """The table of one term from memory, the disk cache, or a new build (saved atomically)."""
    key = table_key(
        kind,
        arrays,
        {
            **options,
            "h1": h1,
            "budget": BUDGET,
            "n_top": N_TOP,
            "safety": SAFETY,
            "degree": DEGREE,
            "x1": X1,
            "x2": X2,
            "c": C_SCALE,
        },
    )
    with _MEMORY_LOCK:
        tab = _MEMORY.get(key)
        if tab is not None:
            _MEMORY.move_to_end(key)
            return tab
    path = cache_dir() / f"{kind}-{key[:32]}.npz"
    if use_disk:
        tab = _load(path, key, nbins)
    if tab is None:
        # one process builds, the others (e.g. the workers of a first reproduction) wait for it
        # and read its file instead of building the same table at the same time
        with _build_lock(path if use_disk else None):
            if use_disk:
                tab = _load(path, key, nbins)
            if tab is None:
                where = str(path.parent) if use_disk else ""
                progress = FirstUse(f"building the likelihood tables of {kind}", where, 1, unit="columns")
                tab = build_table(exact, nbins, h1=h1, key=key, progress=progress)
                progress.done()
                if use_disk:
                    try:
                        tab.save(path)
                        _prune(path.parent)
                    except OSError as exc:  # a read-only cache is not an error: the table lives in memory
                        notice(f"  cannot keep the table in {path.parent} ({exc}): it is rebuilt on every run")
    with _MEMORY_LOCK:
        _MEMORY[key] = tab
        while len(_MEMORY) > MAX_MEMORY:
            _MEMORY.popitem(last=False)
    return tab


def _load(path: Path, key: str, nbins: int) -> BinTable | None:
    if not path.exists():
        return None
    tab = BinTable.load(path, key, nbins)
    if tab is not None:
        try:
            os.utime(path)
        except OSError:
            pass
    return tab


@contextmanager
def _build_lock(path: Path | None):
    """An exclusive lock on ``<table>.lock`` beside the table file (POSIX ``flock``; nothing
    where it is unavailable or the directory is not writable: then two processes may build
    the same table, which is only wasted time)."""
    fh = None
    if path is not None:
        try:
            import fcntl

            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - closed below
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except (ImportError, OSError):
            if fh is not None:
                fh.close()
            fh = None
    try:
        yield
    finally:
        if fh is not None:
            fh.close()  # releases the lock


def _prune(directory: Path) -> None:
    files = sorted(directory.glob("*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
    for f in files[MAX_FILES:]:
        for g in (f, f.with_suffix(".lock")):
            try:
                g.unlink()
            except OSError:
                pass


__all__ = [
    "BUDGET",
    "BUILDS",
    "BinTable",
    "HAVE_NUMBA",
    "build_table",
    "cache_dir",
    "clear_cache",
    "exact_sum",
    "get_table",
    "table_key",
]
