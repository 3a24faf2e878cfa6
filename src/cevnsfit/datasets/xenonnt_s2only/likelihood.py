"""The XENONnT S2-only likelihood: the release's alea model with the CEvNS source replaced by any
model's folded spectrum (docs: datasets, xenonnt_s2only).

Per science run s and cS2 bin b (7 bins per run),

    mu_{s,b} = sum_j r_j e_j T_{j,b}(z_j),
    -2 ln L = 2 sum_{s,b} [mu - n ln mu + ln Gamma(n + 1)] + sum_k ((theta_k - c_k) / sigma_k)^2,

over the sources j of the release's statistical-model file (cathode, ``de``, ``ae`` per run and
``cevns``): r_j the source's rate multiplier, e_j its efficiency (``apply_efficiency``; the
CEvNS source only), T_j the template in events per bin (template x livetime of the run) morphed
in the source's shape parameter z_j (charge yield ``t_qy`` for CEvNS, shared by all runs; the
cathode systematic ``t_sys_srN`` per run). Constraint widths, centres (the release's ancillary
measurements), fit limits and anchors are read from the release. This is the function alea
(``BlueiceExtendedModel``) and blueice (``BinnedLogLikelihood``) evaluate: the Poisson terms of
blueice, the Gaussian ancillary terms of alea, and blueice's ``GridInterpolator`` morphing, which
interpolates a source's total expectation and its normalised bin pmf linearly between anchors
and multiplies them (exact at the anchors).

The CEvNS templates are ours: the model's recoil spectrum (events/(t y) per recoil slot, the
experiment's prediction) times the release's response matrix at each ``t_qy`` anchor and the
run's livetime. :meth:`S2OnlyLikelihood.fit_folded` takes folded anchors directly, so the
release's own CEvNS templates give the release's model exactly (the alea cross-check).

Profiling: all nuisances per point by projected Newton steps (exact gradient and Hessian of
-2 ln L), with one of two engines running the same algorithm (``method``): the compiled
per-point kernel of :mod:`._kernel` (``"kernel"``; the default ``"auto"`` when numba is
installed) or :func:`~cevnsfit.likelihoods.profile.projected_newton` vectorised over points
(``"batched"``). The morphing has a kink at
every anchor, so each shape parameter is confined to one anchor cell per Newton run; a point that
ends on a cell edge moves to the neighbouring cell when the one-sided derivative there still
points outward, and is profiled again. Points whose CEvNS prediction exceeds
``RESTART_ABOVE_SM`` times the SM start with the CEvNS rate multiplier scaled to the SM count,
and again from the lowest charge yield ``t_qy`` = -3 (the lowest -2 ln L is kept): far above the
SM the profile has two minima, the CEvNS rate pulled to ~0 (any t_qy) and a small rate at
t_qy = -3, and a descent from elsewhere finds only the first. Points the Newton does not converge are profiled with MIGRAD
(:func:`~cevnsfit.likelihoods.profile.minimise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.likelihoods.profile import minimise, projected_newton

from . import _kernel, release

FLUX_OPTIONS = ("constrained", "free")
#: Profile engines: ``kernel`` (the compiled per-point kernel, :mod:`._kernel`), ``batched`` (the
#: numpy path vectorised over points), ``auto`` (the kernel when numba is available).
METHODS = ("auto", "kernel", "batched")
_MU_FLOOR = 1e-50
_CHUNK = 2048


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise UnknownNameError(f"xenonnt_s2only method must be one of {', '.join(METHODS)}, got {method!r}")
    return method


@dataclass
class _Src:
    name: str
    run: int
    rate: int  # parameter index or -1
    eff: int
    shape: int  # index into the shape list (-1: none)
    anchors: np.ndarray
    mu: np.ndarray | None  # (n_a,) totals (None: the CEvNS source, per point)
    pmf: np.ndarray | None  # (n_a, B)


class S2OnlyLikelihood:
    """The S2-only term for an ``xenonnt_s2only`` experiment.

    ``flux``: ``"constrained"`` (the CEvNS rate multiplier with the release's Gaussian
    constraint) or ``"free"`` (no constraint, within its fit limits). ``counts``: replace the
    observed counts ({run: (7,)}); ``centres``: replace constraint centres ({name: value}).
    ``pred`` everywhere is the experiment's prediction, shape points + (n_E,).
    """

    #: Predictions whose CEvNS total exceeds this multiple of the SM's also start from ``_T_STARTS``.
    RESTART_ABOVE_SM = 3.0
    _T_STARTS: tuple[float, ...] = (-3.0,)
    #: Skip a t_qy start in the anchor cell where the first descent ended.
    SKIP_SAME_CELL = True
    #: The CEvNS source's shape parameter (the restarts' and the nominal anchor's).
    charge_yield = release.CHARGE_YIELD

    def __init__(
        self,
        exp,
        flux: str = "constrained",
        counts: dict | None = None,
        centres: dict | None = None,
        method: str = "auto",
    ):
        if flux not in FLUX_OPTIONS:
            raise UnknownNameError(f"xenonnt_s2only flux must be one of {', '.join(FLUX_OPTIONS)}, got {flux!r}")
        self.method = _check_method(method)
        self.exp = exp
        self.flux = flux
        params = exp.data["params"]
        runs = exp.data["runs"]
        self.runs = tuple(r.key for r in runs)
        self.n_bins_run = runs[0].edges.size - 1
        nb = self.n_bins_run
        self.n_bins = nb * len(runs)
        # parameters used by the selected runs, in the file's order
        used = set()
        for r in runs:
            for s in r.sources:
                used |= {p for p in (s.rate, s.efficiency, s.shape) if p}
        names = [k for k in params if k in used]
        self.names = tuple(names)
        self.k = len(names)
        idx = {n: i for i, n in enumerate(names)}
        self.params = [params[n] for n in names]
        self.nominal = np.array([p.nominal for p in self.params])
        self.sigma = np.array([np.nan if p.sigma is None else p.sigma for p in self.params])
        cevns_rate = f"{release.CEVNS_SOURCE}_rate_multiplier"
        if flux == "free" and cevns_rate in idx:
            self.sigma[idx[cevns_rate]] = np.nan
        self.inv_var = np.where(
            np.isfinite(self.sigma), 1.0 / np.where(np.isfinite(self.sigma), self.sigma, 1.0) ** 2, 0.0
        )
        self.lower = np.array([p.bounds[0] for p in self.params])
        self.upper = np.array([p.bounds[1] for p in self.params])
        anc = release.ancillary_centres()
        self.centres = np.array([anc.get(n, p.nominal) for n, p in zip(names, self.params)])
        for key, v in (centres or {}).items():
            if key not in idx:
                raise UnknownNameError(f"unknown xenonnt_s2only nuisance {key!r}; known: {', '.join(names)}")
            self.centres[idx[key]] = float(v)
        self.shapes = tuple(n for n in names if params[n].anchors)
        self.shape_index = np.array([idx[n] for n in self.shapes], dtype=int)
        self.shape_anchors = [np.array(params[n].anchors) for n in self.shapes]
        self.cevns_rate = idx.get(cevns_rate, -1)
        # sources
        self.sources: list[_Src] = []
        fold: list[np.ndarray] = []
        self.exposure = np.array([r.exposure_ty for r in runs])
        self.cevns_src: list[int] = []
        rel_cevns: list[np.ndarray] = []
        for ri, r in enumerate(runs):
            self._add_run_sources(exp, ri, r, idx, fold, rel_cevns)
        if len(self.cevns_src) != len(runs):
            raise ParameterError("every run needs exactly one CEvNS source")
        self.n_anchor = fold[0].shape[0]
        self.n_energy = fold[0].shape[1]
        # (n_E, R * n_a * B)
        self.fold_matrix = np.ascontiguousarray(np.stack(fold, 0).transpose(2, 0, 1, 3).reshape(self.n_energy, -1))
        #: The release's own CEvNS templates x livetime, (R, n_a, B): the release's model exactly.
        self.release_cevns: np.ndarray = np.array(rel_cevns)
        self._set_counts(
            np.concatenate([np.asarray((counts or {}).get(r, exp.data["counts"][r]), float) for r in self.runs])
        )
        self._sm_cache: float | None = None

    def _add_run_sources(self, exp, ri, r, idx, fold, rel_cevns) -> None:
        """Run ``r``'s sources appended to ``self.sources`` (its CEvNS response to ``fold``)."""
        for s in r.sources:
            shp = self.shapes.index(s.shape) if s.shape else -1
            if shp >= 0 and not np.array_equal(s.anchors, self.shape_anchors[shp]):
                raise ParameterError(f"source {s.name} of {r.name}: anchors differ from the parameter's")
            src = _Src(
                s.name,
                ri,
                idx.get(s.rate, -1) if s.rate else -1,
                idx[s.efficiency] if s.efficiency else -1,
                shp,
                s.anchors,
                None,
                None,
            )
            if s.name == release.CEVNS_SOURCE:
                resp = exp.data["response"][r.key]  # (n_a, n_E, B)
                if resp.shape[0] != s.anchors.size:
                    raise ParameterError(f"{r.name}: {resp.shape[0]} response files for {s.anchors.size} anchors")
                fold.append(r.exposure_ty * resp)
                self.cevns_src.append(len(self.sources))
                rel_cevns.append(r.exposure_ty * s.templates)
            else:
                tpl = r.exposure_ty * s.templates
                mu = tpl.sum(-1)
                src.mu = mu
                src.pmf = np.where(mu[:, None] > 0, tpl / np.where(mu > 0, mu, 1.0)[:, None], 0.0)
            self.sources.append(src)

    # --- bookkeeping ----------------------------------------------------------------------
    def _set_counts(self, counts):
        counts = np.asarray(counts, dtype=float)
        if counts.shape != (self.n_bins,) or np.any(counts < 0):
            raise ParameterError(f"counts must be {self.n_bins} non-negative numbers, got shape {counts.shape}")
        self.counts = counts
        self.const = 2.0 * float(gammaln(counts + 1.0).sum())
        self._tables: tuple | None = None

    @property
    def NUISANCES(self) -> list[dict]:  # noqa: N802  (the term protocol's name)
        out = []
        for n, p, s, c in zip(self.names, self.params, self.sigma, self.centres):
            prior = "free" if not np.isfinite(s) else f"normal({c:g}, {s:g})"
            how = "profiled (projected Newton per point)"
            out.append(
                {"name": n, "prior": f"{prior} in [{p.bounds[0]:g}, {p.bounds[1]:g}]", "paper": how, "full": how}
            )
        return out

    @property
    def nuisances(self) -> list[tuple]:
        return [
            (n, p.nominal, None if not np.isfinite(s) else float(s), p.bounds)
            for n, p, s in zip(self.names, self.params, self.sigma)
        ]

    # --- the model ------------------------------------------------------------------------
    def fold(self, pred) -> np.ndarray:
        """CEvNS expectation per run, t_qy anchor and bin (events), (P, R, n_a, B), for pred (P, n_E)."""
        pred = np.asarray(pred, dtype=float)
        if pred.shape[-1] != self.n_energy:
            raise ParameterError(f"pred must have {self.n_energy} recoil slots in its last axis, got {pred.shape}")
        shape = pred.shape[:-1] + (len(self.runs), self.n_anchor, self.n_bins_run)
        return (pred @ self.fold_matrix).reshape(shape)

    @staticmethod
    def _mu_pmf(folded):
        mu = folded.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pmf = np.where(mu[..., None] > 0, folded / mu[..., None], 0.0)
        return mu, pmf

    def _cells(self, x):
        """Anchor cell of each shape parameter at x (n, S): floor, clipped to the last cell."""
        out = np.empty((x.shape[0], len(self.shapes)), dtype=int)
        for j, a in enumerate(self.shape_anchors):
            out[:, j] = np.clip(np.searchsorted(a, x[:, self.shape_index[j]], side="right") - 1, 0, a.size - 2)
        return out

    def _source_terms(self, src: _Src, x, cells, rows, sig_mu, sig_pmf, derivs: bool):
        """T (n, B) of one source at x and, with ``derivs``, dT/dz and d2T/dz2."""
        if src.mu is None:  # the CEvNS source: per-point anchors
            mu_a, pmf_a = sig_mu[rows, src.run], sig_pmf[rows, src.run]  # (n, n_a), (n, n_a, B)
        else:
            mu_a, pmf_a = src.mu, src.pmf
        n = x.shape[0]
        if src.shape < 0:
            if src.mu is None:
                t = mu_a[:, 0, None] * pmf_a[:, 0]
            else:
                t = np.broadcast_to(mu_a[0] * pmf_a[0], (n, pmf_a.shape[-1]))
            return t, None, None
        a = src.anchors
        c = cells[:, src.shape]
        h = a[c + 1] - a[c]
        u = (x[:, self.shape_index[src.shape]] - a[c]) / h
        ar = np.arange(n)
        if src.mu is None:
            m0, m1 = mu_a[ar, c], mu_a[ar, c + 1]
            p0, p1 = pmf_a[ar, c], pmf_a[ar, c + 1]
        else:
            m0, m1, p0, p1 = mu_a[c], mu_a[c + 1], pmf_a[c], pmf_a[c + 1]
        dm, dp = m1 - m0, p1 - p0
        m = m0 + u * dm
        p = p0 + u[:, None] * dp
        t = m[:, None] * p
        if not derivs:
            return t, None, None
        dm_h, dp_h = dm / h, dp / h[:, None]
        t1 = dm_h[:, None] * p + m[:, None] * dp_h
        t2 = 2.0 * dm_h[:, None] * dp_h
        return t, t1, t2

    def _objective(self, x, cells, rows, sig_mu, sig_pmf, derivs=True):
        """-2 ln L at x (n, K) with the given anchor cells; with ``derivs`` its gradient and Hessian."""
        n, k, nb = x.shape[0], self.k, self.n_bins_run
        mu = np.zeros((n, self.n_bins))
        parts = []
        for src in self.sources:
            t, t1, t2 = self._source_terms(src, x, cells, rows, sig_mu, sig_pmf, derivs)
            r = x[:, src.rate] if src.rate >= 0 else np.ones(n)
            e = x[:, src.eff] if src.eff >= 0 else np.ones(n)
            sl = slice(src.run * nb, (src.run + 1) * nb)
            mu[:, sl] += (r * e)[:, None] * t
            parts.append((src, sl, r, e, t, t1, t2))
        mu = np.maximum(mu, _MU_FLOOR)
        nobs = self.counts
        dev = x - self.centres
        f = 2.0 * (mu - nobs * np.log(mu)).sum(-1) + self.const + (dev * dev * self.inv_var).sum(-1)
        if not derivs:
            return f, None, None
        w = 1.0 - nobs / mu  # d(mu - n ln mu)/dmu
        jac = np.zeros((n, self.n_bins, k))
        h2 = np.zeros((n, k, k))
        for src, sl, r, e, t, t1, t2 in parts:
            ws = w[:, sl]
            if src.rate >= 0:
                jac[:, sl, src.rate] += e[:, None] * t
            if src.eff >= 0:
                jac[:, sl, src.eff] += r[:, None] * t
            if src.rate >= 0 and src.eff >= 0:
                v = (ws * t).sum(-1)
                h2[:, src.rate, src.eff] += v
                h2[:, src.eff, src.rate] += v
            if src.shape >= 0:
                z = self.shape_index[src.shape]
                jac[:, sl, z] += (r * e)[:, None] * t1
                h2[:, z, z] += (r * e) * (ws * t2).sum(-1)
                for other, fac in ((src.rate, e), (src.eff, r)):
                    if other >= 0:
                        v = fac * (ws * t1).sum(-1)
                        h2[:, other, z] += v
                        h2[:, z, other] += v
        g = 2.0 * np.einsum("pb,pbk->pk", w, jac) + 2.0 * dev * self.inv_var
        jw = jac * (np.sqrt(nobs) / mu)[:, :, None]
        h = 2.0 * (np.matmul(jw.transpose(0, 2, 1), jw) + h2)
        h[:, np.arange(k), np.arange(k)] += 2.0 * self.inv_var
        return f, g, h

    # --- profiling ------------------------------------------------------------------------
    def _bounds(self, cells, fixed_lo, fixed_hi):
        lo, hi = fixed_lo.copy(), fixed_hi.copy()
        for j, a in enumerate(self.shape_anchors):
            z = self.shape_index[j]
            c = cells[:, j]
            lo[:, z] = np.maximum(lo[:, z], a[c])
            hi[:, z] = np.minimum(hi[:, z], a[c + 1])
        return lo, hi

    def _newton(self, x0, rows, sig_mu, sig_pmf, lo_all, hi_all, tol):
        """Profile from x0 with the cell logic (module docstring); returns x, f, converged."""
        x = np.clip(x0, lo_all, hi_all)
        cells = self._cells(x)
        f = np.full(x.shape[0], np.nan)
        conv = np.zeros(x.shape[0], bool)
        todo = np.arange(x.shape[0])
        for _ in range(4 * sum(a.size for a in self.shape_anchors)):
            if todo.size == 0:
                break
            c_t, r_t = cells[todo], rows[todo]

            def fun(xx, ii, c_t=c_t, r_t=r_t):
                return self._objective(xx, c_t[ii], r_t[ii], sig_mu, sig_pmf)

            def fval(xx, ii, c_t=c_t, r_t=r_t):
                return self._objective(xx, c_t[ii], r_t[ii], sig_mu, sig_pmf, False)[0]

            lo, hi = self._bounds(c_t, lo_all[todo], hi_all[todo])
            xt, ft, ok, _ = projected_newton(fun, fval, x[todo], lo, hi, tol=tol, max_iter=100)
            x[todo], f[todo], conv[todo] = xt, ft, ok
            # cell edges: move to the neighbour cell where the descent continues there
            moved = np.zeros(todo.size, bool)
            for j, a in enumerate(self.shape_anchors):
                z = self.shape_index[j]
                cj = c_t[:, j]
                for step, edge, can in ((-1, a[cj], cj > 0), (1, a[cj + 1], cj < a.size - 2)):
                    at = np.flatnonzero(
                        can & (xt[:, z] == edge) & ~moved & (lo_all[todo, z] < edge) & (hi_all[todo, z] > edge)
                    )
                    if at.size == 0:
                        continue
                    c_new = c_t[at].copy()
                    c_new[:, j] += step
                    g = self._objective(xt[at], c_new, r_t[at], sig_mu, sig_pmf)[1][:, z]
                    go = at[(g > 0) if step < 0 else (g < 0)]
                    cells[todo[go], j] += step
                    moved[go] = True
            todo = todo[moved]
        return x, f, conv

    def _max_rounds(self) -> int:
        """Largest number of Newton runs per start (cell moves + 1), as in :meth:`_newton`."""
        return 4 * sum(a.size for a in self.shape_anchors)

    def _kernel_tables(self) -> tuple:
        """The kernel's parameter-independent arrays (:func:`._kernel.tables`), for these counts."""
        if self._tables is None:
            self._tables = _kernel.tables(self)
        return self._tables

    def _sm_total(self) -> float:
        if self._sm_cache is None:
            self._sm_cache = float(self.fold(self._sm_prediction())[..., self._nominal_anchor(), :].sum())
        return self._sm_cache

    def _sm_start(self) -> np.ndarray:
        """Nuisances at the best fit of the SM prediction (the start of every unconstrained profile)."""
        key = (self.counts.tobytes(), self.centres.tobytes(), self.inv_var.tobytes())
        cached = self.__dict__.get("_sm_fit")
        if cached is None or cached[0] != key:
            folded = self.fold(self._sm_prediction())[None]
            mu_a, pmf_a = self._mu_pmf(folded)
            x0 = np.clip(self.centres, self.lower, self.upper)[None]
            lo, hi = self.lower[None].copy(), self.upper[None].copy()
            x, _, _ = self._newton(x0, np.zeros(1, int), mu_a, pmf_a, lo, hi, 1e-10)
            self._sm_fit = cached = (key, x[0])
        return cached[1]

    def _sm_prediction(self) -> np.ndarray:
        """The experiment's SM prediction (n_E,)."""
        return self.exp.predict()

    def _nominal_anchor(self) -> int:
        cy = self.charge_yield
        a = self.shape_anchors[self.shapes.index(cy)] if cy in self.shapes else None
        return int(np.argmin(np.abs(a))) if a is not None else 0

    def _engine(self, method: str | None, use_numba: bool | None) -> tuple[bool, bool | None]:
        """(use the kernel, its use_numba) for a ``method`` (None: the likelihood's)."""
        method = self.method if method is None else _check_method(method)
        if method == "auto":
            return (_kernel.HAVE_NUMBA if use_numba is None else True), use_numba
        return method == "kernel", use_numba

    def fit_folded(
        self,
        folded,
        fixed: dict | None = None,
        tol: float = 1e-9,
        migrad_fallback: bool = True,
        starts=None,
        method: str | None = None,
        use_numba: bool | None = None,
    ) -> dict:
        """Profile -2 ln L over every nuisance not in ``fixed`` for CEvNS anchors ``folded``
        (points + (R, n_a, B), events). ``fixed`` maps nuisance names to values (scalars or
        arrays broadcast to the points). ``starts``: the extra t_qy starts of large predictions
        (default ``_T_STARTS``). ``method``: one of :data:`METHODS` (default: the likelihood's);
        ``use_numba`` (kernel only): False runs the kernel's plain-Python twin (tests). Returns
        the nuisances at the minimum per point, ``twice_nll`` and ``converged``, each of shape
        points.

        Kept long: the starts, restarts and fallback of both engines in one place, so that they
        share every rule."""
        folded = np.asarray(folded, dtype=float)
        pshape = folded.shape[:-3]
        flat = folded.reshape((-1,) + folded.shape[-3:])
        npts = flat.shape[0]
        lo_all = np.broadcast_to(self.lower, (npts, self.k)).copy()
        hi_all = np.broadcast_to(self.upper, (npts, self.k)).copy()
        x0 = np.broadcast_to(np.clip(self.centres, self.lower, self.upper), (npts, self.k)).copy()
        for key, v in (fixed or {}).items():
            if key not in self.names:
                raise UnknownNameError(f"unknown xenonnt_s2only nuisance {key!r}; known: {', '.join(self.names)}")
            j = self.names.index(key)
            val = np.broadcast_to(np.asarray(v, float), pshape).reshape(-1)
            if np.any(val < self.lower[j]) or np.any(val > self.upper[j]):
                raise ParameterError(f"fixed {key} must lie in [{self.lower[j]:g}, {self.upper[j]:g}]")
            lo_all[:, j] = hi_all[:, j] = x0[:, j] = val
        if not fixed:  # start from the SM best fit (most points are near it)
            x0[:] = self._sm_start()
        xs = np.empty((npts, self.k))
        fs = np.empty(npts)
        ok = np.empty(npts, bool)
        sm = self._sm_total()
        qy = self.names.index(self.charge_yield) if self.charge_yield in self.names else -1
        c_free = self.cevns_rate >= 0 and not (fixed and self.names[self.cevns_rate] in fixed)
        starts = self._T_STARTS if starts is None else tuple(starts)
        use_kernel, use_numba = self._engine(method, use_numba)
        for lo in range(0, npts, _CHUNK):
            sl = slice(lo, min(lo + _CHUNK, npts))
            mu_a, pmf_a = self._mu_pmf(flat[sl])
            rows = np.arange(sl.stop - sl.start)
            total = mu_a[:, :, self._nominal_anchor()].sum(-1)
            big = np.flatnonzero(total > self.RESTART_ABOVE_SM * sm)
            xa = x0[sl].copy()
            if c_free and big.size:  # a large prediction: start where the CEvNS signal is the SM's
                j = self.cevns_rate
                xa[big, j] = np.clip(xa[big, j] * sm / total[big], self.lower[j], self.upper[j])
            if use_kernel:
                restart = np.zeros(rows.size, bool)
                restart[big] = True
                x, f, conv, _ = _kernel.profile(
                    mu_a, pmf_a, xa, lo_all[sl], hi_all[sl], restart, np.asarray(starts, float), qy,
                    self.SKIP_SAME_CELL, self.centres, self.inv_var, self._kernel_tables(), tol, self._max_rounds(),
                    use_numba=use_numba,
                )  # fmt: skip
                xs[sl], fs[sl], ok[sl] = x, f, conv
                continue
            x, f, conv = self._newton(xa, rows, mu_a, pmf_a, lo_all[sl], hi_all[sl], tol)
            if qy >= 0:
                big = big[lo_all[sl][big, qy] < hi_all[sl][big, qy]]
            if qy >= 0 and big.size:
                a_qy = self.shape_anchors[self.shapes.index(self.charge_yield)]
                for tq in starts:
                    # a start in the anchor cell where the first descent already ended is skipped
                    cell = np.clip(np.searchsorted(a_qy, tq, side="right") - 1, 0, a_qy.size - 2)
                    end = np.clip(np.searchsorted(a_qy, x[big, qy], side="right") - 1, 0, a_qy.size - 2)
                    sub = big[end != cell] if self.SKIP_SAME_CELL else big
                    if sub.size == 0:
                        continue
                    start = xa[sub].copy()
                    start[:, qy] = tq
                    xb, fb, cb = self._newton(start, rows[sub], mu_a, pmf_a, lo_all[sl][sub], hi_all[sl][sub], tol)
                    better = fb < f[sub] - 1e-9
                    x[sub[better]], f[sub[better]], conv[sub[better]] = xb[better], fb[better], cb[better]
            xs[sl], fs[sl], ok[sl] = x, f, conv
        bad = np.flatnonzero(~ok & np.isfinite(flat.reshape(npts, -1)).all(-1))
        if migrad_fallback:
            for i in bad:
                res = self._migrad(
                    flat[i],
                    {k: float(lo_all[i, j]) for j, k in enumerate(self.names) if lo_all[i, j] == hi_all[i, j]},
                    xs[i],
                )
                if res["twice_nll"] < fs[i]:
                    fs[i] = res["twice_nll"]
                    xs[i] = [res[k] for k in self.names]
                ok[i] = True
        out: dict = {k: xs[:, j].reshape(pshape) for j, k in enumerate(self.names)}
        out["twice_nll"] = fs.reshape(pshape)
        out["converged"] = ok.reshape(pshape)
        out["n_fallback"] = int(bad.size)
        return out

    def fit(self, pred, fixed: dict | None = None, tol: float = 1e-9, method: str | None = None) -> dict:
        """:meth:`fit_folded` for predictions ``pred`` (points + (n_E,))."""
        return self.fit_folded(self.fold(pred), fixed, tol, method=method)

    def logl(self, pred) -> np.ndarray:
        """Profile ln L per point (= -twice_nll / 2; Poisson ln Gamma terms included, the
        Gaussian normalisations left out). Shape pred.shape[:-1]."""
        return -0.5 * self.fit(pred)["twice_nll"]

    def twice_nll_folded(self, folded, x) -> np.ndarray:
        """-2 ln L at nuisances x ((K,) or points + (K,)) for CEvNS anchors ``folded``."""
        folded = np.asarray(folded, dtype=float)
        flat = folded.reshape((-1,) + folded.shape[-3:])
        xx = np.broadcast_to(np.asarray(x, float), (flat.shape[0], self.k)).copy()
        bad = (xx < self.lower) | (xx > self.upper)
        if np.any(bad):
            j = int(np.argwhere(bad)[0][1])
            raise ParameterError(f"nuisance {self.names[j]} must lie in [{self.lower[j]:g}, {self.upper[j]:g}]")
        mu_a, pmf_a = self._mu_pmf(flat)
        f = self._objective(xx, self._cells(xx), np.arange(flat.shape[0]), mu_a, pmf_a, False)[0]
        return f.reshape(folded.shape[:-3])

    def _migrad(self, folded_one, fixed, start) -> dict:
        mu_a, pmf_a = self._mu_pmf(folded_one[None])
        rows = np.zeros(1, int)

        def f(x):
            xx = np.asarray(x, float)[None]
            return float(self._objective(xx, self._cells(xx), rows, mu_a, pmf_a, False)[0][0])

        def g(x):
            xx = np.asarray(x, float)[None]
            return self._objective(xx, self._cells(xx), rows, mu_a, pmf_a)[1][0]

        m = minimise(
            f, np.asarray(start, float), grad=g, names=list(self.names), errors=[0.05] * self.k,
            limits=list(zip(self.lower, self.upper)), fixed=fixed, strategy=1,
        )  # fmt: skip
        out = {k: float(m.values[k]) for k in self.names}
        out["twice_nll"] = float(m.fval)
        return out

    def fit_migrad(self, pred, fixed: dict | None = None, start=None) -> dict:
        """The same profile for ONE prediction with MIGRAD (the reference the Newton is tested against)."""
        folded = self.fold(np.asarray(pred, float).reshape(-1, self.n_energy)[0])
        x0 = np.clip(self.centres if start is None else np.asarray(start, float), self.lower, self.upper)
        for key, v in (fixed or {}).items():
            x0[self.names.index(key)] = v
        return self._migrad(folded, fixed or {}, x0)

    # --- expectations and pseudo-data -----------------------------------------------------
    def expectation_folded(self, folded, x=None, by_source: bool = False):
        """Expected events per bin (R*B,) for one set of CEvNS anchors at nuisances x (default
        the nominal values); ``by_source``: {(run, source): (B,)}."""
        x = self.nominal if x is None else np.asarray(x, float)
        xx = x[None]
        mu_a, pmf_a = self._mu_pmf(np.asarray(folded, float)[None])
        cells = self._cells(xx)
        out = np.zeros(self.n_bins)
        parts = {}
        nb = self.n_bins_run
        for src in self.sources:
            t = self._source_terms(src, xx, cells, np.zeros(1, int), mu_a, pmf_a, False)[0][0]
            r = x[src.rate] if src.rate >= 0 else 1.0
            e = x[src.eff] if src.eff >= 0 else 1.0
            out[src.run * nb : (src.run + 1) * nb] += r * e * t
            parts[(self.runs[src.run], src.name)] = r * e * t
        return parts if by_source else out

    def expectation(self, pred, x=None, by_source: bool = False):
        """:meth:`expectation_folded` for one prediction (n_E,)."""
        return self.expectation_folded(self.fold(np.asarray(pred, float).reshape(-1, self.n_energy)[0]), x, by_source)

    def pseudo_data(self, pred, rng, x=None) -> S2OnlyLikelihood:
        """A copy with Poisson counts drawn at the expectation of ``pred`` at nuisances x
        (default nominal) and the constraint centres drawn from their Gaussians (clipped)."""
        mu = self.expectation(pred, x)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._set_counts(rng.poisson(mu).astype(float))
        sig = np.where(np.isfinite(self.sigma), self.sigma, 0.0)
        new.centres = np.clip(self.nominal + sig * rng.standard_normal(self.k), self.lower, self.upper)
        return new

    def observed(self) -> dict:
        nb = self.n_bins_run
        return {r: float(self.counts[i * nb : (i + 1) * nb].sum()) for i, r in enumerate(self.runs)}


__all__ = ["FLUX_OPTIONS", "S2OnlyLikelihood"]
