"""XENONnT solar-8B likelihood: extended binned Poisson over 81 bins per science run with the
nuisances of the XENONnT statistical model (docs: datasets, xenonnt -- ``docs/datasets/xenonnt.md``).

Per run s and bin b,

    mu_{s,b} = eps phi S_{s,b}(t) + a_s X_s AC_{s,b} + r_ER X_s ER_{s,b} + r_n X_s N_{s,b}(t),

    -2 ln L = 2 sum_{s,b} [mu - n ln mu + ln Gamma(n + 1)] + sum_k ((theta_k - c_k)/sigma_k)^2,

with S_{s,b}(t) = X_s sum_T pred(T) M_{s,T,b}(t) the 46-slot prediction folded with the
mono-energetic efficiency templates, t = (t_ly, t_qy). The (t_ly, t_qy) dependence follows
blueice (Aalbers et al., ``BinnedLogLikelihood`` with the ``GridInterpolator`` morpher):
for the signal and the neutron source of each run separately, the total expectation and the
normalised bin pmf are each interpolated bilinearly on the integer 7 x 7 anchor grid and then
multiplied. The interpolation is exact at the anchors.

Nuisances and constraints (XENONnT, PRL 133 (2024) 191002, statistical model of its
light-WIMP data release): phi (8B flux multiplier; free in the 8B measurement, N(1, 0.0381)
from SNO when 8B is a background), eps N(1, 0.25) in [0.5, 1.5], a_SR0 N(1, 0.0904),
a_SR1 N(1, 0.0576), a_SR2 N(1, ``sr2_ac_sigma``), r_ER N(1, 1), r_n N(1, 0.58), t_ly and t_qy
N(0, 1) in [-3, 3]. **The SR2 accidental-coincidence uncertainty is not published**: the
default 0.0576 (as SR1) is an assumption; the docs page shows how the results move with it.

Profiling (``method="newton"``, the default) runs a per-point projected Newton with the exact
Hessian in :mod:`cevnsfit.datasets.xenonnt._kernel` (compiled with numba when available, a
numpy twin of the same algorithm otherwise): only the bins with events carry a per-bin term,
the prediction is folded lazily at the (t_ly, t_qy) anchors the minimiser visits, and points
near the SM start from the SM best fit. ``method="reference"`` keeps the earlier profile with
:func:`~cevnsfit.likelihoods.profile.batched_newton` (vectorised over points, Gauss-Newton
curvature sum n/mu^2 J J^T exact for the linear parameters); the tests check the default
against it and both against :func:`~cevnsfit.likelihoods.profile.minimise` (MIGRAD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ... import published
from ...errors import ParameterError, UnknownNameError
from ...likelihoods.profile import batched_newton, minimise
from . import _kernel as _xenon_kernel

N_ANCHORS = 7
ANCHOR_MIN = -3.0
#: Relative AC uncertainties of SR0 and SR1 (XENONnT statistical model; :mod:`cevnsfit.published`).
AC_SIGMA = {r: published.get(f"xenonnt_ac_sigma_{r}").value for r in ("sr0", "sr1")}
#: Default (assumed, unpublished) SR2 AC uncertainty.
SR2_AC_SIGMA_DEFAULT = 0.0576
_CHUNK = 512
_MU_FLOOR = 1e-300
#: Profile methods: the per-point exact-Hessian Newton (default) and the earlier batched one.
METHODS = ("newton", "reference")
#: Iteration cap of one descent of the per-point Newton.
_MAX_ITER = 200


@dataclass(frozen=True)
class Nuisance:
    name: str
    nominal: float
    sigma: float | None  # Gaussian constraint width (None: unconstrained)
    bounds: tuple[float, float]


def _bilinear(t):
    """Cell index (i0, j0) in 0..5 and fractions (x, y) of t = (t_ly, t_qy) on the integer grid."""
    u = np.clip(t - ANCHOR_MIN, 0.0, N_ANCHORS - 1.0)
    i0 = np.minimum(np.floor(u).astype(int), N_ANCHORS - 2)
    return i0[..., 0], i0[..., 1], u[..., 0] - i0[..., 0], u[..., 1] - i0[..., 1]


class XenonLikelihood:
    """The XENONnT 8B likelihood term for an ``xenonnt`` experiment (``exp.data``).

    ``phi_free``: phi unconstrained (the 8B measurement); otherwise a Gaussian constraint of
    width ``phi_sigma`` (default 0.20/5.25 = 0.0381, SNO). ``sr2_ac_sigma``: the assumed SR2 AC uncertainty. ``counts``: replace
    the observed counts (dict run -> (81,)), e.g. for pseudo-data.

    ``method``: how :meth:`fit` profiles, ``"newton"`` (per-point exact-Hessian Newton, the
    default) or ``"reference"`` (the earlier batched Gauss-Newton, kept as the cross-check).

    ``pred`` everywhere is the experiment's prediction, shape points + (46,), in events per
    (t y) per 0.1-keV slot.
    """

    #: The SM prediction when built without an experiment (:mod:`cevnsfit.datasets.xenonnt.fast`).
    _sm_pred: np.ndarray | None = None
    #: Constant added to -2 ln L (the Gaussian normalisations, when built from a declaration).
    _norm_const: float = 0.0
    sr2_ac_sigma: float | None

    def __init__(
        self,
        exp,
        phi_free: bool = False,
        phi_sigma: float | None = None,
        sr2_ac_sigma: float = SR2_AC_SIGMA_DEFAULT,
        counts: dict | None = None,
        centres: dict | None = None,
        method: str = "newton",
    ):
        if method not in METHODS:
            raise UnknownNameError(f"xenonnt profile method must be one of {', '.join(METHODS)}, got {method!r}")
        self.method = method
        if phi_sigma is None:
            phi_sigma = published.get("xenonnt_b8_flux_sno").sigma / published.get("xenonnt_b8_flux_sno").value
        self.exp = exp
        self._sm_pred = None
        runs = tuple(exp.data["runs"])
        self.phi_sigma = None if phi_free else float(phi_sigma)
        if sr2_ac_sigma is None or not (0 < float(sr2_ac_sigma) < 10):
            raise ParameterError(f"sr2_ac_sigma must be a positive relative uncertainty, got {sr2_ac_sigma}")
        self.sr2_ac_sigma = float(sr2_ac_sigma)
        rd = exp.data["run_data"]
        sig = {k: published.get(f"xenonnt_{k}_sigma").value for k in ("signal_eff", "er", "neutron")}
        nus = [Nuisance("phi", 1.0, self.phi_sigma, (0.0, 100.0)), Nuisance("eps", 1.0, sig["signal_eff"], (0.5, 1.5))]
        for r in runs:
            nus.append(Nuisance(f"a_{r}", 1.0, AC_SIGMA.get(r, self.sr2_ac_sigma), (0.0, 100.0)))
        nus += [
            Nuisance("r_er", 1.0, sig["er"], (0.0, 100.0)),
            Nuisance("r_n", 1.0, sig["neutron"], (0.0, 100.0)),
            Nuisance("t_ly", 0.0, 1.0, (-3.0, 3.0)),
            Nuisance("t_qy", 0.0, 1.0, (-3.0, 3.0)),
        ]
        self._setup(
            runs,
            np.concatenate([np.asarray((counts or {}).get(r, rd[r]["counts"]), float) for r in runs]),
            np.concatenate([rd[r]["exposure_ty"] * rd[r]["ac"] for r in runs]),
            np.concatenate([rd[r]["exposure_ty"] * rd[r]["er"] for r in runs]),
            np.concatenate([rd[r]["exposure_ty"] * rd[r]["rg"] for r in runs], axis=-1),
            np.concatenate([rd[r]["exposure_ty"] * rd[r]["mono"] for r in runs], axis=-1),
            nus,
            centres,
        )
        self.exposure = np.array([rd[r]["exposure_ty"] for r in runs])

    def _setup(self, runs, counts, ac, er, nn, mono, nus, centres) -> None:
        """The arrays of the term (events in the selected runs, runs' bins concatenated): counts
        (B,), ac, er (B,), neutron anchors nn (7, 7, B), mono (46, 7, 7, B), nuisances."""
        nb = 81
        self.runs = tuple(runs)
        self.n_bins = nb * len(self.runs)
        self.run_of_bin = np.repeat(np.arange(len(self.runs)), nb)
        self.counts = np.asarray(counts, dtype=float)
        self.ac, self.er = np.asarray(ac, dtype=float), np.asarray(er, dtype=float)
        # neutron anchors: mu (7, 7, R) and pmf (7, 7, B)
        self._nn = nn
        self.n_mu, self.n_pmf = self._mu_pmf(nn[None])
        self.n_mu, self.n_pmf = self.n_mu[0], self.n_pmf[0]
        # mono templates times exposure: (46, 7*7*B)
        self.mono = np.ascontiguousarray(mono.reshape(mono.shape[0], -1))
        self.n_slots = mono.shape[0]
        self._nuisances = nus
        self.names = tuple(n.name for n in nus)
        self.nominal = np.array([n.nominal for n in nus])
        self.centres = self.nominal.copy()
        for k, v in (centres or {}).items():
            self.centres[self.names.index(k)] = v
        self.inv_var = np.array([0.0 if n.sigma is None else 1.0 / n.sigma**2 for n in nus])
        self.lower = np.array([n.bounds[0] for n in nus])
        self.upper = np.array([n.bounds[1] for n in nus])
        self._runs_idx = {r: i for i, r in enumerate(self.runs)}
        self._set_counts(self.counts)

    def _set_counts(self, counts):
        self.counts = np.asarray(counts, dtype=float)
        # Poisson ln Gamma terms (plus the Gaussian normalisations when built from a declaration)
        self.const = 2.0 * gammaln(self.counts + 1.0).sum() + self._norm_const
        self._nonzero = np.flatnonzero(self.counts > 0)
        nr = len(self.runs)
        ac_nz = np.zeros((self._nonzero.size, nr))
        ac_nz[np.arange(self._nonzero.size), self.run_of_bin[self._nonzero]] = self.ac[self._nonzero]
        self._ac_nz = ac_nz
        mono = self.mono.reshape(self.n_slots, N_ANCHORS, N_ANCHORS, self.n_bins)
        self._ktab = _xenon_kernel.KernelTables(
            mono, self._nn, self.ac, self.er, self.counts, self.run_of_bin, nr, self.const
        )

    # --- bookkeeping -----------------------------------------------------------------------
    @property
    def NUISANCES(self) -> list[dict]:  # noqa: N802  (the term protocol's name)
        """Nuisance declarations in the term protocol's form (profiled in both modes)."""
        out = []
        how = "batched Newton" if self.method == "reference" else "Newton per point"
        for n in self._nuisances:
            prior = "free" if n.sigma is None else f"normal({n.nominal:g}, {n.sigma:g})"
            out.append(
                {
                    "name": n.name,
                    "prior": f"{prior} in [{n.bounds[0]:g}, {n.bounds[1]:g}]",
                    "paper": f"profiled ({how})",
                    "full": f"profiled ({how})",
                }
            )
        return out

    @property
    def nuisances(self) -> list[tuple]:
        """(name, nominal, constraint sigma or None, bounds) of every nuisance."""
        return [(n.name, n.nominal, n.sigma, n.bounds) for n in self._nuisances]

    def _mu_pmf(self, anchors):
        """anchors (P, 7, 7, B) -> per-run totals (P, 7, 7, R) and pmf (P, 7, 7, B)."""
        shape = anchors.shape
        per_run = anchors.reshape(shape[:-1] + (len(self.runs), 81))
        mu = per_run.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pmf = np.where(mu[..., None] > 0, per_run / mu[..., None], 0.0)
        return mu, pmf.reshape(shape)

    def fold(self, pred) -> np.ndarray:
        """Signal expectation per (t_ly, t_qy) anchor and bin, (P, 7, 7, B), for pred (P, 46)."""
        pred = np.asarray(pred, dtype=float)
        if pred.shape[-1] != self.n_slots:
            raise ParameterError(f"pred must have {self.n_slots} recoil slots in its last axis, got {pred.shape}")
        return (pred @ self.mono).reshape(pred.shape[:-1] + (N_ANCHORS, N_ANCHORS, self.n_bins))

    def signal(self, pred, t_ly: float = 0.0, t_qy: float = 0.0) -> np.ndarray:
        """Folded signal (P, B) at (t_ly, t_qy), blueice interpolation."""
        pred = np.atleast_2d(pred)
        mu, pmf = self._prepare(pred)
        t = np.broadcast_to(np.array([t_ly, t_qy], float), (pred.shape[0], 2))
        s, _, _ = self._interp(mu, pmf, t, np.arange(pred.shape[0]))
        return s

    def _interp(self, mu, pmf, t, idx):
        """Blueice interpolation at t (P, 2) for points idx of (mu, pmf): value (P, B) and its
        derivatives d/dt_ly, d/dt_qy."""
        i0, j0, x, y = _bilinear(t)
        rb = self.run_of_bin

        def corner(a, di, dj, per_run):
            if a.ndim == 3:  # shared by all points (neutron templates)
                return a[i0 + di, j0 + dj]
            return a[idx, i0 + di, j0 + dj]

        m00, m10, m01, m11 = (corner(mu, a, b, True) for a, b in ((0, 0), (1, 0), (0, 1), (1, 1)))
        p00, p10, p01, p11 = (corner(pmf, a, b, False) for a, b in ((0, 0), (1, 0), (0, 1), (1, 1)))
        if pmf.ndim == 4:  # signal: folded counts at the corners -> pmf
            with np.errstate(invalid="ignore", divide="ignore"):
                p00, p10, p01, p11 = (
                    np.where(m[:, rb] > 0, p / m[:, rb], 0.0)
                    for p, m in ((p00, m00), (p10, m10), (p01, m01), (p11, m11))
                )
        x_, y_ = x[:, None], y[:, None]
        m = m00 * (1 - x_) * (1 - y_) + m10 * x_ * (1 - y_) + m01 * (1 - x_) * y_ + m11 * x_ * y_
        mx = (m10 - m00) * (1 - y_) + (m11 - m01) * y_
        my = (m01 - m00) * (1 - x_) + (m11 - m10) * x_
        p = p00 * (1 - x_) * (1 - y_) + p10 * x_ * (1 - y_) + p01 * (1 - x_) * y_ + p11 * x_ * y_
        px = (p10 - p00) * (1 - y_) + (p11 - p01) * y_
        py = (p01 - p00) * (1 - x_) + (p11 - p10) * x_
        m, mx, my = m[:, rb], mx[:, rb], my[:, rb]
        return m * p, mx * p + m * px, my * p + m * py

    # --- objective -------------------------------------------------------------------------
    def _prepare(self, pred):
        """(anchor totals (P, 7, 7, R), folded anchors (P, 7, 7, B)); the pmf is formed at the
        four corners of the current cell only (:meth:`_interp`)."""
        folded = self.fold(pred)
        mu = folded.reshape(folded.shape[:-1] + (len(self.runs), 81)).sum(-1)
        return mu, folded

    def _terms(self, x, idx, mu_s, pmf_s, with_derivs=True):
        """-2 ln L, gradient and Gauss-Newton curvature at nuisances x (P, K) for points idx."""
        k = len(self.names)
        t = x[:, -2:]
        s, sx, sy = self._interp(mu_s, pmf_s, t, idx)
        nn, nx, ny = self._interp(self.n_mu, self.n_pmf, t, idx)
        phi, eps = x[:, 0:1], x[:, 1:2]
        nr = len(self.runs)
        a = x[:, 2 : 2 + nr][:, self.run_of_bin]
        r_er, r_n = x[:, 2 + nr : 3 + nr], x[:, 3 + nr : 4 + nr]
        mu = eps * phi * s + a * self.ac + r_er * self.er + r_n * nn
        mu = np.maximum(mu, _MU_FLOOR)
        n = self.counts
        dev = x - self.centres
        f = 2.0 * (mu - n * np.log(mu)).sum(-1) + self.const + (dev * dev * self.inv_var).sum(-1)
        if not with_derivs:
            return f, None, None
        resid = 1.0 - n / mu
        kk = eps * phi
        g = np.empty((x.shape[0], k))
        rs = resid * s
        g[:, 0] = (rs * eps).sum(-1)
        g[:, 1] = (rs * phi).sum(-1)
        ra = resid * self.ac
        for r in range(nr):
            g[:, 2 + r] = ra[:, self.run_of_bin == r].sum(-1)
        g[:, 2 + nr] = resid @ self.er
        g[:, 3 + nr] = (resid * nn).sum(-1)
        dx = kk * sx + r_n * nx
        dy = kk * sy + r_n * ny
        g[:, 4 + nr] = (resid * dx).sum(-1)
        g[:, 5 + nr] = (resid * dy).sum(-1)
        g = 2.0 * g + 2.0 * dev * self.inv_var
        # Gauss-Newton curvature sum_b n/mu^2 J J^T: only bins with events contribute
        nz = self._nonzero
        jac = np.empty((x.shape[0], nz.size, k))
        snz = s[:, nz]
        jac[..., 0] = eps * snz
        jac[..., 1] = phi * snz
        jac[..., 2 : 2 + nr] = self._ac_nz
        jac[..., 2 + nr] = self.er[nz]
        jac[..., 3 + nr] = nn[:, nz]
        jac[..., 4 + nr] = dx[:, nz]
        jac[..., 5 + nr] = dy[:, nz]
        sw = np.sqrt(n[nz]) / mu[:, nz]
        jw = jac * sw[..., None]
        h = 2.0 * np.matmul(jw.transpose(0, 2, 1), jw)
        # exact second derivative of the bilinear (phi, eps) coupling
        h[:, 0, 1] += 2.0 * rs.sum(-1)
        h[:, 1, 0] = h[:, 0, 1]
        h[:, np.arange(k), np.arange(k)] += 2.0 * self.inv_var
        return f, g, h

    def twice_nll(self, pred, x) -> np.ndarray:
        """-2 ln L at nuisances x (P, K) (or (K,)) for pred (P, 46)."""
        pred = np.atleast_2d(pred)
        x = np.broadcast_to(np.asarray(x, float), (pred.shape[0], len(self.names)))
        mu_s, pmf_s = self._prepare(pred)
        return self._terms(np.array(x), np.arange(pred.shape[0]), mu_s, pmf_s, False)[0]

    def _start(self, pred_chunk, fixed_vals):
        x0 = np.broadcast_to(self.nominal, (pred_chunk.shape[0], len(self.names))).copy()
        for k, v in fixed_vals.items():
            x0[:, self.names.index(k)] = v
        return x0

    def fit(
        self,
        pred,
        fixed: dict | None = None,
        tol: float = 1e-7,
        method: str | None = None,
        use_numba: bool | None = None,
    ) -> dict:
        """Profile the nuisances for every point: dict name -> best fit (points,), plus
        ``twice_nll`` (points,) and ``converged``. ``fixed`` maps nuisance names to values
        (scalars or arrays over points) held fixed. ``method`` overrides the term's (``"newton"``
        or ``"reference"``); ``use_numba`` picks the compiled or the numpy version of the
        Newton (None: compiled when numba is available; the numbers agree to rounding)."""
        method = self.method if method is None else method
        if method not in METHODS:
            raise UnknownNameError(f"xenonnt profile method must be one of {', '.join(METHODS)}, got {method!r}")
        pred = np.asarray(pred, dtype=float)
        if pred.shape[-1] != self.n_slots:
            raise ParameterError(f"pred must have {self.n_slots} recoil slots in its last axis, got {pred.shape}")
        shape = pred.shape[:-1]
        flat = pred.reshape(-1, pred.shape[-1])
        fixed = dict(fixed or {})
        for k in fixed:
            if k not in self.names:
                raise UnknownNameError(f"unknown xenonnt nuisance {k!r}; known: {', '.join(self.names)}")
        fixed_flat = {k: np.broadcast_to(np.asarray(v, float), shape).reshape(-1) for k, v in fixed.items()}
        free = np.array([k not in fixed for k in self.names])
        if method == "reference":
            xs, fs, ok = self._fit_reference(flat, fixed_flat, free, tol)
        else:
            xs, fs, ok = self._fit_newton(flat, fixed_flat, free, tol, use_numba)
        out = {k: xs[:, i].reshape(shape) for i, k in enumerate(self.names)}
        out["twice_nll"] = fs.reshape(shape)
        out["converged"] = ok.reshape(shape)
        return out

    def _sm_start(self, use_numba):
        """Best-fit nuisances for the SM prediction (the start of points that are not far above
        it), cached for the current counts and constraint centres."""
        key = (self.counts.tobytes(), self.centres.tobytes(), self.inv_var.tobytes())
        cached = self.__dict__.get("_sm_fit")
        if cached is not None and cached[0] == key:
            return cached[1]
        sm = np.atleast_2d(self._sm_prediction())
        x0 = self.nominal[None].copy()
        free = np.ones(len(self.names), bool)
        x, _, _, _ = _xenon_kernel.profile(
            sm, x0, x0, np.ones(1, int), np.zeros((0, 2)), free, self.lower, self.upper, self.centres,
            self.inv_var, self._ktab, 1e-9, _MAX_ITER, use_numba=use_numba,
        )  # fmt: skip
        self._sm_fit = (key, x[0])
        return x[0]

    def _sm_prediction(self) -> np.ndarray:
        """The SM prediction (46,): the experiment's, or the one the term was built with."""
        return self.exp.predict() if self._sm_pred is None else self._sm_pred

    def _sm_total(self) -> float:
        if self.__dict__.get("_sm_rate") is None:
            self._sm_rate = float(np.sum(self._sm_prediction()))
        return self._sm_rate

    def _sm_signal(self) -> float:
        """Expected SM 8B events at the nominal nuisances (where the restarts start phi)."""
        if self.__dict__.get("_sm_events") is None:
            self._sm_events = float(self.signal(self._sm_prediction()).sum())
        return self._sm_events

    def _fit_newton(self, flat, fixed_flat, free, tol, use_numba):
        """The per-point Newton (:func:`cevnsfit.datasets.xenonnt._kernel.profile`).

        Points up to ``RESTART_ABOVE_SM`` times the SM rate start from the SM best fit. Larger
        ones start from the nominal nuisances and from the six ``_T_STARTS``, with phi (when
        free) started where the signal is the SM's number of events; each start is first profiled at its
        fixed (t_ly, t_qy), the lowest and the ``_T_CORNER`` start are then released in t, and
        the lowest -2 ln L is kept (``_xenon_kernel.profile``)."""
        npts = flat.shape[0]
        x_nom = self._start(flat, fixed_flat)
        rate = flat.sum(-1)
        multi = bool(free[-1] and free[-2])
        big = (rate > self.RESTART_ABOVE_SM * self._sm_total()) & multi
        x_first = x_nom.copy()
        if not big.all():
            warm = self._sm_start(use_numba)
            x_first[:, free] = np.where(big[:, None], x_nom[:, free], warm[free])
        x_base = x_nom.copy()
        if free[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                x_base[:, 0] = np.where(big, np.minimum(1.0, self._sm_total() / rate), x_nom[:, 0])
        x_first[big] = x_base[big]
        n_starts = np.where(big, 1 + len(self._T_STARTS), 1)
        x, f, ok, _ = _xenon_kernel.profile(
            flat, x_first, x_base, n_starts, np.array(self._T_STARTS, float), free, self.lower, self.upper,
            self.centres, self.inv_var, self._ktab, tol, _MAX_ITER, signal_target=self._sm_signal(),
            always_release=1 + self._T_STARTS.index(self._T_CORNER), use_numba=use_numba,
        )  # fmt: skip
        if npts and not np.all(np.isfinite(flat)):
            bad = ~np.all(np.isfinite(flat), axis=-1)
            x[bad], f[bad], ok[bad] = np.nan, np.nan, False
        return x, f, ok

    def _fit_reference(self, flat, fixed_flat, free, tol):
        """The earlier profile: :func:`~cevnsfit.likelihoods.profile.batched_newton` over chunks of
        points from the nominal nuisances, plus the restarts of :meth:`_restart_large`."""
        npts = flat.shape[0]
        xs = np.empty((npts, len(self.names)))
        fs = np.empty(npts)
        ok = np.empty(npts, bool)
        for lo in range(0, npts, _CHUNK):
            sl = slice(lo, min(lo + _CHUNK, npts))
            mu_s, pmf_s = self._prepare(flat[sl])
            x0 = self._start(flat[sl], {k: v[sl] for k, v in fixed_flat.items()})

            def fun(x, idx, mu_s=mu_s, pmf_s=pmf_s):
                return self._terms(x, idx, mu_s, pmf_s)

            xs[sl], fs[sl], ok[sl] = batched_newton(fun, x0, self.lower, self.upper, free=free, tol=tol)
            self._restart_large(flat[sl], mu_s, pmf_s, free, x0, tol, xs[sl], fs[sl], ok[sl])
        return xs, fs, ok

    #: Why :func:`cevnsfit.outputs.pyhf_export.export_pyhf` cannot translate this term.
    PYHF_REFUSAL = "the two-dimensional (t_ly, t_qy) anchor interpolation of the templates (blueice's rule)"

    #: Predictions above this multiple of the SM 8B rate are profiled from several starts: there the
    #: light/charge-yield nuisances can move a large signal out of the region of interest, and the
    #: profile over (t_ly, t_qy) becomes multimodal. From the SM best fit, one Newton descent
    #: finds the best of 37 released starts at every point below 517x the SM (4 x 10^4 prior-box
    #: points, both run sets; docs: datasets, xenonnt): the threshold keeps a factor 10 below that.
    RESTART_ABOVE_SM = 50.0
    #: The same for the earlier batched profile (``method="reference"``), which needs restarts
    #: from ~9x the SM (it stops in local minima from a single start there).
    REFERENCE_RESTART_ABOVE_SM = 5.0
    _T_STARTS: tuple[tuple[float, ...], ...] = (
        (-2.5, -2.5),
        (-2.5, 0.0),
        (-2.5, 2.5),
        (0.0, -2.5),
        (2.5, -2.5),
        (2.5, 2.5),
    )
    #: The start always released in t by the Newton: at the lowest light and charge yields a
    #: large signal falls below threshold, a minimum the fixed-t ranking undervalues because
    #: its constraint cost (t_ly^2 + t_qy^2 = 12.5) is paid up front.
    _T_CORNER: tuple[float, ...] = (-2.5, -2.5)

    def _restart_large(self, pred, mu_s, pmf_s, free, x0, tol, xs, fs, ok):
        """Re-profile the points with a very large prediction from starts spread over the
        (t_ly, t_qy) square and keep the lowest -2 ln L (in place on xs, fs, ok)."""
        big = np.flatnonzero(pred.sum(-1) > self.REFERENCE_RESTART_ABOVE_SM * self._sm_total())
        if big.size == 0 or not (free[-1] and free[-2]):
            return
        mu_b, pmf_b = mu_s[big], pmf_s[big]

        def fun(x, idx):
            return self._terms(x, idx, mu_b, pmf_b)

        for t_ly, t_qy in self._T_STARTS:
            start = x0[big].copy()
            start[:, -2], start[:, -1] = t_ly, t_qy
            x, f, conv = batched_newton(fun, start, self.lower, self.upper, free=free, tol=tol)
            better = f < fs[big] - 1e-9
            xs[big[better]], fs[big[better]], ok[big[better]] = x[better], f[better], conv[better]

    def logl(self, pred, fixed: dict | None = None, method: str | None = None) -> np.ndarray:
        """Profile ln L over the nuisances per point (ln L = -twice_nll / 2, Poisson ln Gamma
        terms included, Gaussian normalisations left out). Shape: pred.shape[:-1]."""
        return -0.5 * self.fit(pred, fixed, method=method)["twice_nll"]

    def fit_migrad(self, pred, fixed: dict | None = None) -> dict:
        """The same profile for ONE point with :func:`~cevnsfit.likelihoods.profile.minimise`
        (MIGRAD; the reference the batched Newton is tested against)."""
        pred = np.atleast_2d(np.asarray(pred, float))[:1]
        mu_s, pmf_s = self._prepare(pred)
        idx = np.arange(1)

        def f(x):
            return float(self._terms(np.asarray(x)[None], idx, mu_s, pmf_s, False)[0][0])

        def g(x):
            return self._terms(np.asarray(x)[None], idx, mu_s, pmf_s)[1][0]

        m = minimise(
            f,
            self.nominal.copy(),
            grad=g,
            names=list(self.names),
            errors=[0.1] * len(self.names),
            limits=list(zip(self.lower, self.upper)),
            fixed=fixed,
            strategy=1,
        )
        out = {k: float(m.values[k]) for k in self.names}
        out["twice_nll"] = float(m.fval)
        return out

    # --- pseudo-data -----------------------------------------------------------------------
    def expectation(self, pred, x=None) -> np.ndarray:
        """mu per bin (B,) for one pred (46,) at nuisances x (default nominal)."""
        x = self.nominal if x is None else np.asarray(x, float)
        pred = np.atleast_2d(pred)[:1]
        mu_s, pmf_s = self._prepare(pred)
        t = x[None, -2:]
        s = self._interp(mu_s, pmf_s, t, np.arange(1))[0][0]
        nn = self._interp(self.n_mu, self.n_pmf, t, np.arange(1))[0][0]
        nr = len(self.runs)
        a = x[2 : 2 + nr][self.run_of_bin]
        return x[1] * x[0] * s + a * self.ac + x[2 + nr] * self.er + x[3 + nr] * nn

    def pseudo_data(self, pred, rng, x=None) -> XenonLikelihood:
        """A copy of this term with Poisson counts drawn at the expectation of ``pred`` at
        nuisances ``x`` (default nominal) and the constraint centres drawn from their
        Gaussians (clipped to the bounds)."""
        mu = self.expectation(pred, x)
        counts = rng.poisson(mu)
        new = object.__new__(XenonLikelihood)
        new.__dict__.update(self.__dict__)
        new._set_counts(counts.astype(float))
        centres = self.nominal.copy()
        sig = np.array([0.0 if n.sigma is None else n.sigma for n in self._nuisances])
        centres = np.where(sig > 0, centres + sig * rng.standard_normal(centres.size), centres)
        new.centres = np.clip(centres, self.lower, self.upper)
        return new

    def observed(self) -> dict:
        """Observed events per run."""
        return {r: float(self.counts[self.run_of_bin == i].sum()) for i, r in enumerate(self.runs)}

    def background(self, x=None) -> dict:
        """Expected background per run and component at nuisances x (default nominal)."""
        zero = np.zeros(self.n_slots)
        x = self.nominal if x is None else np.asarray(x, float)
        nr = len(self.runs)
        t = x[None, -2:]
        nn = self._interp(self.n_mu, self.n_pmf, t, np.arange(1))[0][0]
        out = {}
        for i, r in enumerate(self.runs):
            sel = self.run_of_bin == i
            out[r] = {
                "ac": float(x[2 + i] * self.ac[sel].sum()),
                "er": float(x[2 + nr] * self.er[sel].sum()),
                "neutron": float(x[3 + nr] * nn[sel].sum()),
            }
        del zero
        return out


__all__ = ["AC_SIGMA", "METHODS", "Nuisance", "SR2_AC_SIGMA_DEFAULT", "XenonLikelihood"]
