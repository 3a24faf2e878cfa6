"""The CsI 2021 `full` likelihood, declared in src/cevnsfit/datasets/csi2021/dataset.yaml and
evaluated by the generic engine, against an independent implementation: the paper's formula
(docs: datasets/csi2021)

    -2 ln L = -2 sum_b [n_b ln lam_b - lam_b - ln n_b!] + (a/0.12)^2 + (beta sqrt(N_AC))^2
              + (b/(4/17))^2 + (nu/(2/5))^2 + sum_v alpha_v^2 + sum_k [2 ln sigma_k + ln 2 pi] + 3 ln 2 pi,
    lam_b = (1 + a) N_b (1 + sum_v delta_vb(alpha_v)) + (1 + beta) SS_b + (1 + b) BRN_b + (1 + nu) NIN_b,

SS_b = rho E_pe T_t / N_AC (the AC window's marginals), delta_vb(alpha) = alpha (r+_vb - 1) for
alpha >= 0 and alpha (1 - r-_vb) below, r+-_vb the SM ratios of the release's variants to the
nominal, written out here from the experiments built at each variant and minimised directly with
scipy (L-BFGS-B, analytic gradient, in each of the 8 orthants of the three morphs, which makes the
kinks at alpha = 0 bounds). pyhf through the export is the other independent implementation
(tests/test_pyhf_export.py)."""

import itertools

import numpy as np
import pytest
from scipy import optimize, special

from cevnsfit import published
from cevnsfit.datasets.csi2021.experiment import exposure_ratio
from cevnsfit.datasets.registry import get_dataset
from cevnsfit.experiments import get_experiment
from cevnsfit.models import LmuLtau, UniversalVector

LN_2PI = np.log(2.0 * np.pi)
VARIANTS = (
    ("efficiency", "plus", "minus"),
    ("quenching", "model0_plus", "model0_minus"),
    ("quenching", "model1_plus", "model1_minus"),
)


class Reference:
    """The formula of the module docstring, minimised with scipy (parameters in units of their
    widths)."""

    def __init__(self, **opt):
        exp = get_experiment("csi2021", "paper", **opt)
        d = exp.data
        self.n = d["C"].ravel()
        ac = d["AC"]
        rho = exposure_ratio()[0]
        brn, nin = published.get("coherent_csi2021_brn"), published.get("coherent_csi2021_nin")
        self.bkg = [
            (rho * np.outer(ac.sum(1), ac.sum(0)) / ac.sum()).ravel(),
            (d["brn_shape"] / d["brn_shape"].sum() * brn.value).ravel(),
            (d["nin_shape"] / d["nin_shape"].sum() * nin.value).ravel(),
        ]
        self.width = np.array([0.12, 1 / np.sqrt(ac.sum()), brn.sigma / brn.value, nin.sigma / nin.value, 1, 1, 1])
        nom = exp.predict().ravel()
        self.sm_total = float(nom.sum())
        ratios = {}
        for key, hi, lo in VARIANTS:
            for v in (hi, lo):
                r = get_experiment("csi2021", "paper", **{**opt, key: v}).predict().ravel()
                ratios[v] = np.where(nom > 0, r / np.where(nom > 0, nom, 1.0), 1.0)
        self.up = np.array([ratios[hi] - 1.0 for _, hi, _ in VARIANTS])
        self.dn = np.array([1.0 - ratios[lo] for _, _, lo in VARIANTS])
        gauss = sum(2 * np.log(s) + LN_2PI for s in self.width[:4]) + 3 * LN_2PI
        self.const = 2 * special.gammaln(self.n + 1).sum() + gauss

    def _f(self, t, sig, slope):
        p = t * self.width
        a, al = p[0], p[4:]
        m = 1.0 + al @ slope
        lam = (1 + a) * sig * m + sum((1 + r) * b for r, b in zip(p[1:4], self.bkg))
        lam = np.maximum(lam, 1e-300)
        w = self.n / lam - 1.0
        jac = np.vstack([sig * m, *self.bkg, (1 + a) * sig * slope])
        with np.errstate(over="ignore", invalid="ignore"):  # a line search's far trial points
            return -2 * np.sum(special.xlogy(self.n, lam) - lam) + t @ t, (-2 * jac @ w) * self.width + 2 * t

    def twice_nll(self, sig, start=None) -> float:
        """The minimum over the 8 orthants from all nuisances at 0, from the SM total when the
        signal is far above it, and from ``start`` (parameters in units of their widths)."""
        sig = np.asarray(sig, float).ravel()
        starts = [np.zeros(7)] + ([] if start is None else [np.asarray(start, float)])
        if sig.sum() > 2 * self.sm_total:  # far above the SM: also start at the SM's total
            starts.append(np.r_[(self.sm_total / sig.sum() - 1.0) / 0.12, np.zeros(6)])
        best = np.inf
        opts = {"ftol": 1e-16, "gtol": 1e-10, "maxiter": 5000, "maxcor": 30}
        for sides, x0 in itertools.product(itertools.product((1.0, -1.0), repeat=3), starts):
            slope = np.where(np.array(sides)[:, None] > 0, self.up, self.dn)
            bounds = [(-1 / 0.12, 50.0)] + [(-50.0, 50.0)] * 3 + [(0.0, 50.0) if s > 0 else (-50.0, 0.0) for s in sides]
            x0 = np.clip(x0, [b[0] if b[0] is not None else -np.inf for b in bounds], [b[1] for b in bounds])
            for _ in range(2):  # a second pass from the first one's end
                x0 = optimize.minimize(
                    self._f, x0, args=(sig, slope), jac=True, method="L-BFGS-B", bounds=bounds, options=opts
                ).x
            best = min(best, float(self._f(x0, sig, slope)[0]))
        return best + self.const


def _box(n, seed, g_range):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(*g_range, n)


def _check(generic, ref, pred, tol=1e-8):
    """The generic profile is never above the direct minimum (1e-8) and equal to it to ``tol``."""
    pred = np.asarray(pred, float).reshape(-1, 144)
    lnl, best = generic.term.profile(pred)
    ours = -2.0 * lnl
    # the engine's best fit, in the formula's parameters (a = e^u - 1) and units, as one more start
    lin = np.concatenate([np.expm1(best[:, :4]), best[:, 4:]], axis=1) / ref.width
    theirs = np.array([ref.twice_nll(p, x) for p, x in zip(pred, lin)])
    diff = ours - theirs
    assert np.all(diff <= 1e-8), float(diff.max())
    assert np.all(diff >= -tol), float(diff.min())
    assert generic.term.last_fallbacks == 0


@pytest.fixture(scope="module")
def pair():
    return get_dataset("csi2021").term("full", backend="generic"), Reference()


def test_declared_full_likelihood_is_the_generic_engine(pair):
    generic, _ = pair
    assert type(generic.term).__name__ == "ProfiledBinned"
    assert generic.term.names == ("a", "beta", "brn", "nin", "efficiency", "quenching0", "quenching1")
    # the default backend is the same engine (no fast path is declared)
    assert type(get_dataset("csi2021").term("full").term).__name__ == "ProfiledBinned"


def test_generic_engine_equals_a_direct_minimisation_at_the_sm_and_a_few_points(pair):
    generic, ref = pair
    sm = generic.prediction(None)
    _check(generic, ref, sm, tol=1e-8)
    m, g = _box(5, 11, (-4, -1))
    _check(generic, ref, generic.prediction(LmuLtau(m, g, 1.0)))


@pytest.mark.slow
def test_generic_engine_equals_a_direct_minimisation_over_prior_boxes(pair):
    generic, ref = pair
    m, g = _box(100, 11, (-4, -1))
    _check(generic, ref, generic.prediction(LmuLtau(m, g, 1.0)))
    m, g = _box(100, 12, (-6, -3))
    _check(generic, ref, generic.prediction(UniversalVector(m, g)))


@pytest.mark.slow
@pytest.mark.parametrize(
    "opt",
    [{"timing_efficiency": False}, {"rn_fm": 5.0}, {"quenching": "model0_plus"}, {"efficiency": "plus"}],
)
def test_generic_engine_equals_a_direct_minimisation_for_the_options(opt):
    """The options reach the experiment (its prediction and the variants' templates); with a
    variant as the nominal one side of that morph is flat."""
    generic = get_dataset("csi2021").term("full", backend="generic", **opt)
    ref = Reference(**opt)
    m, g = _box(20, 13, (-4, -1))
    _check(generic, ref, generic.prediction(LmuLtau(np.r_[m, 20.0], np.r_[g, 0.0], 1.0)))
