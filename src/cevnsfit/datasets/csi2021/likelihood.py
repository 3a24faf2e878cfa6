"""Likelihoods of the full COHERENT CsI 2021 data set (docs: datasets/csi2021), and their builders
(named by the unit's ``dataset.yaml``).

Bins: the ``csi2021`` experiment's 5-PE x 0.5-us grid (0-60 PE, 0-6 us). Components per bin:
CEvNS N_b(theta), steady state (SS) measured by the anti-coincidence (AC) window, beam-related
neutrons (BRN, 17 +- 4 in the region) and neutrino-induced neutrons (NIN, 5 +- 2) with the
release's energy and time shapes.

Exposure ratio of the two windows (our determination, documented): above the region
(PE >= 60, 0-6 us) there is no CEvNS, and C = 3564, AC = 3595 events; subtracting the BRN and
NIN expected there (8.5 and 1.7 from their shapes) gives rho = SS_C/SS_AC = 0.989 +- 0.024,
consistent with equal windows. SS_b = rho B_b with B_b the AC mean in bin b.

``paper``-style (per-bin marginalisation, as the reference analysis did for CsI 2017):

    L_b = Int dy N(y; mu_b, s_b^2) sum_k P(n_b - k; y) NB(k; n_AC,b + 1, 1/(1 + rho)),
    mu_b = N_b + BRN_b + NIN_b,  s_b^2 = (0.13 N_b)^2 + (4/17 BRN_b)^2 + (2/5 NIN_b)^2,

(the three Gaussian envelopes combine into one Gaussian in the mean, the flat-prior SS
integral is a negative binomial), evaluated exactly with truncated Gaussian moments.

``full``: one set of nuisances for all bins, profiled (batched Newton with MIGRAD for any point
it does not converge on, or MIGRAD alone: option ``engine``): CEvNS normalisation a
(sigma 0.12: the 13 % prediction uncertainty less the efficiency and quenching parts that
are explicit nuisances), BRN and NIN normalisations, and the release's efficiency and
quenching +-1 sigma variants as piecewise-linear morphs of the CEvNS prediction (unit
Gaussian nuisances). The SS is smooth: SS_b = rho (1 + beta) E_pe T_t / N_AC, the product of
the AC window's PE and time marginals (the SS falls by ~30 % over 6 us, so it is not flat in
time), with beta ~ N(0, 1/sqrt(N_AC)). A per-bin SS estimate (each bin's own AC count) is
kept as the ``paper``-style choice; it fluctuates bin by bin and widens the CEvNS error.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import special

from ... import published
from ...errors import UnknownNameError
from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm
from ...likelihoods.gaussian_poisson import log_smeared_poisson_sum
from ...likelihoods.paper import _pair_keys, _tabulated_logl
from ...likelihoods.profile import minimise, projected_newton
from ...likelihoods.stats import log_negbin
from ...likelihoods.tables import get_table
from . import experiment

BRN = published.pair("coherent_csi2021_brn")
NIN = published.pair("coherent_csi2021_nin")
PREDICTION_SIGMA = published.get("csi2021_prediction_sigma").value
FULL_NORM_SIGMA = published.get("csi2021_full_norm_sigma").value
VARIANTS = {
    "efficiency": ("plus", "minus"),
    "quenching0": ("model0_plus", "model0_minus"),
    "quenching1": ("model1_plus", "model1_minus"),
}


def exposure_ratio(exp=None) -> tuple[float, float]:
    """rho = (C - BRN - NIN)/AC from the PE >= 60 side band (0-6 us), and its statistical error
    (:func:`cevnsfit.datasets.csi2021.experiment.exposure_ratio`; ``exp`` is not needed)."""
    return experiment.exposure_ratio()


def background_templates(exp) -> dict:
    """BRN and NIN expected counts per bin, normalised to 17 and 5 in the region."""
    return {
        "brn": exp.data["brn_shape"] / exp.data["brn_shape"].sum() * BRN[0],
        "nin": exp.data["nin_shape"] / exp.data["nin_shape"].sum() * NIN[0],
    }


class Csi2021PaperLikelihood:
    """Per-bin marginalised likelihood (module docstring). ``logl`` interpolates per-bin tables of
    ln L_b(N_b) (:mod:`cevnsfit.likelihoods.tables`); ``exact=True`` evaluates directly."""

    def __init__(
        self, observed, anti_coincidence, brn, nin, rho: float, sigma: float = PREDICTION_SIGMA, exact: bool = False
    ):
        self.n = np.asarray(observed, dtype=float)
        self.n_ac = np.asarray(anti_coincidence, dtype=float)
        self.brn, self.nin, self.rho = brn, nin, rho
        self.bin_shape = self.n.shape
        self.counts = self.n.ravel().astype(int)
        self.sigma = sigma
        self.bkg = (brn + nin).ravel()
        self.bkg_var = ((BRN[1] / BRN[0] * brn) ** 2 + (NIN[1] / NIN[0] * nin) ** 2).ravel()
        self.exact = exact

    @cached_property
    def log_coef(self) -> np.ndarray:
        """ln c_bj, shape (nmax+1, bins), -inf where j > n_b (computed on first use: a toy data
        set served from cached per-bin columns never needs it)."""
        j = np.arange(self.counts.max() + 1)
        k = self.counts[None, :] - j[:, None]
        logc = log_negbin(np.maximum(k, 0), self.n_ac.ravel()[None, :], self.rho) - special.gammaln(j + 1.0)[:, None]
        return np.where(k >= 0, logc, -np.inf)

    def table(self):
        """The per-bin ln L table of this data set (:func:`cevnsfit.likelihoods.tables.get_table`)."""
        if self.__dict__.get("_table") is None:  # the data are fixed: look the table up once
            self._table = get_table(
                "csi2021",
                {"n": self.n, "n_ac": self.n_ac, "bkg": self.bkg, "bkg_var": self.bkg_var},
                {"rho": self.rho, "sigma": self.sigma},
                self._logl_bins,
                self.counts.size,
            )
        return self._table

    def logl(self, pred):
        return _tabulated_logl(self, pred, self._logl_bins, self.table)

    def _logl_bins(self, sig: np.ndarray) -> np.ndarray:
        """Per-bin ln L_b for signals ``sig`` (points, bins), evaluated directly."""
        mu = sig + self.bkg
        s = np.maximum(np.sqrt((self.sigma * sig) ** 2 + self.bkg_var), 1e-9 * np.maximum(mu, 1.0))
        return log_smeared_poisson_sum(mu, s, 1.0, self.log_coef, self.counts)

    def bin_keys(self) -> np.ndarray:
        """Per-bin data keys (:mod:`cevnsfit.likelihoods.toy_grid`): (count, AC count)."""
        return _pair_keys(self.counts, self.n_ac.ravel())

    def logl_bins_at(self, sig: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Exact per-bin ln L_b of the bins ``index`` for signals ``sig`` (points, len(index))."""
        mu = sig + self.bkg[index]
        s = np.maximum(np.sqrt((self.sigma * sig) ** 2 + self.bkg_var[index]), 1e-9 * np.maximum(mu, 1.0))
        return log_smeared_poisson_sum(mu, s, 1.0, self.log_coef[:, index], self.counts[index])

    def pseudo_data(self, expected, rng: np.random.Generator) -> Csi2021PaperLikelihood:
        """A copy with toy data: per bin B_b = the observed AC count, y_b ~ N(N_b + BRN_b + NIN_b,
        s_b^2) truncated at y_b >= 0, C'_b ~ Poisson(y_b + rho B_b), AC'_b ~ Poisson(B_b)."""
        n_sm = np.asarray(expected, float).ravel()
        mu = n_sm + self.bkg
        s = np.sqrt((self.sigma * n_sm) ** 2 + self.bkg_var)
        y = mu + rng.normal(0.0, 1.0, mu.shape) * s
        while np.any(bad := y < 0):  # truncated envelope
            y[bad] = mu[bad] + rng.normal(0.0, 1.0, int(bad.sum())) * s[bad]
        b = self.n_ac.ravel()
        counts = rng.poisson(y + self.rho * b).reshape(self.bin_shape)
        anti = rng.poisson(b).reshape(self.bin_shape)
        # exact evaluation: a table would be built for every toy data set (0.2-1 s each)
        return Csi2021PaperLikelihood(counts, anti, self.brn, self.nin, self.rho, sigma=self.sigma, exact=True)


def profile_ss(n, m, s, rho):
    """Closed-form maximum over B >= 0 of ln P(n; s + rho B) + ln P(m; B) (per bin).

    Stationarity gives rho (rho + 1) B^2 - [rho (n + m) - (rho + 1) s] B - m s = 0.
    """
    b = rho * (n + m) - (rho + 1.0) * s
    return (b + np.sqrt(b * b + 4.0 * rho * (rho + 1.0) * m * s)) / (2.0 * rho * (rho + 1.0))


class Csi2021FullLikelihood:
    """Profile likelihood over shared nuisances (module docstring):

    -2 ln L = -2 sum_b [n_b ln lam_b - lam_b] + (a/0.12)^2 + (beta sqrt(N_AC))^2
              + (b_BRN/(4/17))^2 + (b_NIN/(2/5))^2 + sum_v alpha_v^2,
    lam_b = (1 + a) N_b(theta) (1 + sum_v delta_vb(alpha_v)) + rho (1 + beta) SS_b
            + (1 + b_BRN) BRN_b + (1 + b_NIN) NIN_b.

    Profiled within the bounds a in [-1, 2] (free normalisation: a >= -1), beta in [-0.5, 0.5],
    b_BRN, b_NIN in [-1, 3], alpha_v in [-5, 5], from all nuisances at 0. ``engine="newton"``
    (default): :meth:`_newton_batch`, batched over points, MIGRAD (:meth:`fit`) for any point it
    does not converge on; ``engine="migrad"``: :meth:`fit` point by point.
    """

    PARAMS = ("a", "beta", "brn", "nin", "efficiency", "quenching0", "quenching1")
    ENGINES = ("newton", "migrad")
    newton_tol = 1e-9  # Newton: converged when the decrement / 2 (in -2 ln L) is below this
    chunk = 256  # points per vectorised Newton batch
    max_step = 0.5  # Newton: largest step per parameter and iteration
    last_fallbacks = 0

    def __init__(
        self,
        observed,
        anti_coincidence,
        brn,
        nin,
        rho,
        morphs: dict,
        norm_sigma=FULL_NORM_SIGMA,
        free_norm: bool = False,
        engine: str = "newton",
    ):
        if engine not in self.ENGINES:
            raise UnknownNameError(f"engine must be one of {self.ENGINES}, got {engine!r}")
        self.engine = engine
        self.n = np.asarray(observed, float).ravel()
        ac = np.asarray(anti_coincidence, float)
        self.bin_shape = np.asarray(observed).shape
        self.ss = rho * np.outer(ac.sum(axis=1), ac.sum(axis=0)).ravel() / ac.sum()
        self.beta_sigma = 1.0 / np.sqrt(ac.sum())
        self.brn, self.nin = brn.ravel(), nin.ravel()
        self.rho = rho
        self.morphs = {
            k: (np.asarray(up).ravel() - 1.0, np.asarray(dn).ravel() - 1.0) for k, (up, dn) in morphs.items()
        }
        self.params = self.PARAMS[: 4 + len(self.morphs)]
        self.norm_sigma = norm_sigma
        self.free_norm = free_norm
        self.const = -special.gammaln(self.n + 1).sum()

    def limits(self) -> list:
        """(low, high) per parameter (None: open), in the order of ``params``."""
        return [(-1.0, None if self.free_norm else 2.0), (-0.5, 0.5), (-1.0, 3.0), (-1.0, 3.0)] + [(-5, 5)] * len(
            self.morphs
        )

    def mean(self, pars, sig):
        a, beta, nb, nn, *alphas = pars
        factor = np.ones_like(sig)
        for (up, dn), al in zip(self.morphs.values(), alphas):
            factor = factor + (al * up if al >= 0 else -al * dn)
        return (
            np.maximum((1.0 + a) * sig * factor, 0.0)
            + (1.0 + beta) * self.ss
            + max(1.0 + nb, 0.0) * self.brn
            + max(1.0 + nn, 0.0) * self.nin
        )

    def _nll(self, pars, sig):
        a, beta, nb, nn, *alphas = pars
        lam = np.maximum(self.mean(pars, sig), 1e-300)
        pen = (beta / self.beta_sigma) ** 2 + (nb / (BRN[1] / BRN[0])) ** 2 + (nn / (NIN[1] / NIN[0])) ** 2
        pen += sum(al * al for al in alphas)
        if not self.free_norm:
            pen += (a / self.norm_sigma) ** 2
        return -2.0 * np.sum(special.xlogy(self.n, lam) - lam) + pen

    def fit(self, sig, start=None, fixed: dict | None = None):
        """Minimise -2 ln L over the nuisances for one prediction ``sig`` with the project's one
        minimiser (:func:`~cevnsfit.likelihoods.profile.minimise`); returns the Minuit object.
        The start is all nuisances at 0 (``start`` overrides), never an earlier call's solution."""
        sig = np.asarray(sig, float).ravel()
        x0 = np.zeros(len(self.params)) if start is None else np.asarray(start, float)
        return minimise(
            lambda p: self._nll(p, sig),
            x0,
            names=self.params,
            limits=self.limits(),
            fixed=fixed,
            tol=0.1,
            strategy=1,
            retry=False,
        )

    def profile(self, pred) -> tuple[np.ndarray, np.ndarray]:
        """(ln L_p, best-fit nuisances) per point, shapes ``points`` and ``points + (n_par,)``
        (order of ``params``). Non-finite predictions give NaN."""
        pred = np.asarray(pred, float)
        pts = pred.shape[: pred.ndim - len(self.bin_shape)]
        flat = pred.reshape((-1, int(np.prod(self.bin_shape))))
        twice_nll = np.full(flat.shape[0], np.nan)
        best = np.full((flat.shape[0], len(self.params)), np.nan)
        idx = np.flatnonzero(np.all(np.isfinite(flat), axis=1))
        if self.engine == "migrad":
            twice_nll[idx], best[idx] = self._profile_migrad(flat[idx])
        else:
            failed = []
            for lo in range(0, idx.size, self.chunk):
                sl = idx[lo : lo + self.chunk]
                twice_nll[sl], best[sl], ok = self._newton_batch(flat[sl])
                failed.append(sl[~ok])
            bad = np.concatenate(failed) if failed else np.zeros(0, int)
            self.last_fallbacks = int(bad.size)
            if bad.size:
                f_m, x_m = self._profile_migrad(flat[bad])
                better = ~(twice_nll[bad] <= f_m)
                twice_nll[bad[better]], best[bad[better]] = f_m[better], x_m[better]
        return (-0.5 * twice_nll + self.const).reshape(pts), best.reshape(pts + (len(self.params),))

    def logl(self, pred):
        return self.profile(pred)[0]

    def nuisances(self, pred) -> dict[str, np.ndarray]:
        """Best-fit nuisances by name (``params``), each of shape ``points``."""
        best = self.profile(pred)[1]
        return {k: best[..., j] for j, k in enumerate(self.params)}

    def _profile_migrad(self, flat) -> tuple[np.ndarray, np.ndarray]:
        """(-2 ln L_p without the constant, argmin) per row of ``flat``: :meth:`fit` per point."""
        out = np.empty(flat.shape[0])
        best = np.empty((flat.shape[0], len(self.params)))
        for i, sig in enumerate(flat):
            m = self.fit(sig)
            out[i], best[i] = m.fval, np.array(m.values)
        return out, best

    def _newton_objective(self, flat, side) -> tuple:
        """(fun, fval) for :meth:`_newton_batch`: -2 ln L without the constant, its gradient and
        Hessian (docstring there) for the points ``flat``, with every alpha_v in the orthant
        ``side`` (points x morphs, +1 or -1; read at each call, so the caller may change it)."""
        nv = len(self.morphs)
        up = np.array([m[0] for m in self.morphs.values()]).reshape(nv, -1)
        dn = np.array([m[1] for m in self.morphs.values()]).reshape(nv, -1)
        sig_pen = np.array(
            [0.0 if self.free_norm else 1.0 / self.norm_sigma, 1.0 / self.beta_sigma, BRN[0] / BRN[1], NIN[0] / NIN[1]]
            + [1.0] * nv
        )
        pen2 = sig_pen**2
        fixed_bkg = np.stack([self.ss, self.brn, self.nin])  # (3, B)

        def parts(x, idx):
            sig = flat[idx]
            al = x[:, 4:]
            sd = side[idx]
            slope = np.where((sd > 0)[:, :, None], up, -dn)  # (P, V, B)
            factor = 1.0 + np.einsum("pv,pvb->pb", al, slope)
            cev = (1.0 + x[:, :1]) * sig * factor
            lam = (
                np.maximum(cev, 0.0)
                + (1.0 + x[:, 1:2]) * self.ss
                + np.maximum(1.0 + x[:, 2:3], 0.0) * self.brn
                + np.maximum(1.0 + x[:, 3:4], 0.0) * self.nin
            )
            lam = np.maximum(lam, 1e-300)
            f = -2.0 * (special.xlogy(self.n, lam) - lam).sum(-1) + (x * x * pen2).sum(-1)
            return f, sig, slope, factor, cev, lam

        def fval(x, idx):
            return parts(x, idx)[0]

        def fun(x, idx):
            f, sig, slope, factor, cev, lam = parts(x, idx)
            live = cev > 0.0
            r = self.n / lam
            w = r - 1.0
            q = r / lam
            sig_live = np.where(live, sig, 0.0)
            d_morph = sig_live[:, None, :] * slope  # d2lam/da dalpha_v, (P, V, B)
            jac = np.concatenate(
                [
                    (sig_live * factor)[:, None, :],
                    np.broadcast_to(fixed_bkg, (len(idx),) + fixed_bkg.shape),
                    (1.0 + x[:, 0, None, None]) * d_morph,
                ],
                axis=1,
            )
            g = -2.0 * np.einsum("pb,pkb->pk", w, jac) + 2.0 * x * pen2
            h = 2.0 * np.matmul(jac * q[:, None, :], np.swapaxes(jac, 1, 2))
            h[:, np.arange(x.shape[1]), np.arange(x.shape[1])] += 2.0 * pen2
            cross = -2.0 * np.einsum("pb,pvb->pv", w, d_morph)
            h[:, 0, 4:] += cross
            h[:, 4:, 0] += cross
            return f, g, h

        return fun, fval

    def _newton_batch(self, flat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(-2 ln L_p without the constant, argmin, converged) for a chunk of points: projected
        Newton (:func:`~cevnsfit.likelihoods.profile.projected_newton`) with the exact Hessian

            H = 2 sum_b [n_b/lam_b^2 J_b J_b^T - (n_b/lam_b - 1) d2lam_b] + penalty,

        J_b = dlam_b/d(a, beta, b_BRN, b_NIN, alpha_v) = (N_b m_b, SS_b, BRN_b, NIN_b,
        (1 + a) N_b delta'_vb), m_b = 1 + sum_v delta_vb; the only second derivatives of lam
        are d2lam_b/da dalpha_v = N_b delta'_vb. The morphs are linear on each side of
        alpha_v = 0 with a kink there (slope delta'_v = up_v - 1 above, 1 - dn_v below), so
        every alpha_v is held in one orthant ([0, 5] or [-5, 0]) chosen by where -2 ln L
        descends from its start at 0; a point whose alpha_v ends at the kink while -2 ln L
        descends into the other orthant is re-run there (at most 4 times). CEvNS means clipped
        at 0 (:meth:`mean`) carry no derivative."""
        npts = flat.shape[0]
        nv = len(self.morphs)
        lim = self.limits()
        lower = np.array([lo for lo, _ in lim], float)
        upper = np.array([np.inf if hi is None else hi for _, hi in lim], float)
        side = np.ones((npts, nv))
        fun, fval = self._newton_objective(flat, side)

        def orthant_bounds():
            lo = np.broadcast_to(lower, (npts, lower.size)).copy()
            hi = np.broadcast_to(upper, (npts, upper.size)).copy()
            lo[:, 4:] = np.where(side > 0, 0.0, lower[4:])
            hi[:, 4:] = np.where(side > 0, upper[4:], 0.0)
            return lo, hi

        def descent_sides(x, idx):
            """Per alpha at 0: does -2 ln L descend into alpha > 0 (+1), alpha < 0 (-1), or neither (0)?"""
            keep = side[idx].copy()
            side[idx] = 1.0
            g_plus = fun(x, idx)[1][:, 4:]
            side[idx] = -1.0
            g_minus = fun(x, idx)[1][:, 4:]
            side[idx] = keep
            down_plus, down_minus = g_plus < 0, g_minus > 0
            return np.where(down_plus & (~down_minus | (-g_plus >= g_minus)), 1.0, np.where(down_minus, -1.0, 0.0))

        all_idx = np.arange(npts)
        x = np.zeros((npts, len(self.params)))
        choice = descent_sides(x, all_idx)
        side[:] = np.where(choice < 0, -1.0, 1.0)
        f = np.empty(npts)
        ok = np.zeros(npts, bool)
        todo = all_idx
        for _round in range(5):
            lo, hi = orthant_bounds()
            xt, ft, okt, _ = projected_newton(
                _on_rows(fun, todo),
                _on_rows(fval, todo),
                x[todo],
                lo[todo],
                hi[todo],
                tol=self.newton_tol,
                max_step=self.max_step,
            )
            x[todo], f[todo], ok[todo] = xt, ft, okt
            # alphas sitting on the kink while -2 ln L descends into the other orthant
            at_kink = (x[todo, 4:] == 0.0) & ok[todo, None]
            if not at_kink.any():
                break
            want = descent_sides(x[todo], todo)
            flip = at_kink & (want != 0) & (want != side[todo])
            rows = flip.any(-1)
            if not rows.any():
                break
            side[todo] = np.where(flip, -side[todo], side[todo])
            todo = todo[rows]
            ok[todo] = False
        return f, x, ok


def _on_rows(fn, rows):
    """``fn(x, idx)`` on a subset ``rows`` of a batch: idx indexes ``rows``."""
    return lambda x, idx: fn(x, rows[idx])


def _build_common(**opt):
    exp = get_experiment("csi2021", "paper", **opt)
    bkg = background_templates(exp)
    rho, _ = exposure_ratio(exp)
    return exp, bkg, rho


def paper(mode, matching, exact: bool = False, **opt):
    exp, bkg, rho = _build_common(**opt)
    term = Csi2021PaperLikelihood(exp.data["C"], exp.data["AC"], bkg["brn"], bkg["nin"], rho, exact=exact)
    return DatasetTerm("csi2021", exp, term, matching=matching, info={"rho": rho})


def variant_morphs(**opt) -> dict:
    """SM ratios variant/nominal per bin for the efficiency and quenching +-1 sigma variants."""
    nominal = get_experiment("csi2021", "paper", **opt).predict()
    safe = np.where(nominal > 0, nominal, 1.0)
    morphs = {}
    for name, (up, dn) in VARIANTS.items():
        key = "efficiency" if name == "efficiency" else "quenching"
        r_up = get_experiment("csi2021", "paper", **{**opt, key: up}).predict() / safe
        r_dn = get_experiment("csi2021", "paper", **{**opt, key: dn}).predict() / safe
        morphs[name] = (np.where(nominal > 0, r_up, 1.0), np.where(nominal > 0, r_dn, 1.0))
    return morphs


def full(mode, matching, engine: str = "newton", **opt):
    """:class:`Csi2021FullLikelihood` as a term: the code implementation of the `full` likelihood
    that the unit's declaration (``dataset.yaml``, evaluated by the generic engine) replaced; kept
    as the reference the declaration is tested against (tests/test_csi2021_declared.py) and for
    :func:`sm_normalisation_fit`. ``engine`` "newton" (default) or "migrad"."""
    exp, bkg, rho = _build_common(**opt)
    term = Csi2021FullLikelihood(
        exp.data["C"], exp.data["AC"], bkg["brn"], bkg["nin"], rho, variant_morphs(**opt), engine=engine
    )
    return DatasetTerm("csi2021", exp, term, matching=matching, info={"rho": rho})


def sm_normalisation_fit(mode: str = "full") -> dict:
    """Fit the CEvNS normalisation freely (SM shape) and report the fitted number of CEvNS events
    in the region, to compare with COHERENT's 306 +- 20 (arXiv:2110.07730). ``full`` includes the
    efficiency and quenching nuisances, ``simple`` only the normalisations."""
    exp, bkg, rho = _build_common()
    sm = exp.predict()
    morphs = variant_morphs() if mode == "full" else {}
    term = Csi2021FullLikelihood(exp.data["C"], exp.data["AC"], bkg["brn"], bkg["nin"], rho, morphs, free_norm=True)
    m = term.fit(sm)
    m.hesse()
    m.minos("a")
    m0 = term.fit(sm, fixed={"a": -1.0})
    total = float(sm.sum())
    # fitted CEvNS events: the CEvNS component of the fitted mean (normalisation x morphs)
    pars = np.array(m.values)
    fitted = float(term.mean(pars, sm.ravel()).sum() - term.mean(np.r_[-1.0, pars[1:]], sm.ravel()).sum())
    per_a = fitted / (1.0 + m.values["a"])
    me = m.merrors["a"]
    return {
        "mode": mode,
        "cevns": [fitted, per_a * m.errors["a"]],
        "cevns_minos": [per_a * me.lower, per_a * me.upper],
        "sm_prediction": total,
        "ss": float((1 + m.values["beta"]) * term.ss.sum()),
        "brn": BRN[0] * (1 + m.values["brn"]),
        "nin": NIN[0] * (1 + m.values["nin"]),
        "rho": rho,
        "nuisances": {k: float(m.values[k]) for k in term.params[1:]},
        "published": {
            "cevns": list(published.pair("coherent_csi2021_cevns_fit")),
            "sm_prediction": published.get("coherent_csi2021_sm_events").value,
            "ss": list(published.pair("coherent_csi2021_steady_state")),
        },
        "significance_cevns": float(np.sqrt(max(m0.fval - m.fval, 0.0))),
        "valid": bool(m.valid),
    }


__all__ = ["Csi2021FullLikelihood", "Csi2021PaperLikelihood", "exposure_ratio", "profile_ss", "sm_normalisation_fit"]
