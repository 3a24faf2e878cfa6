"""The gauged U(1) family declared by charges (docs: physics/models, the U(1) family).

The regression compares the ``lmu-ltau`` and ``b-l`` presets with a frozen copy of the classes
they replace (cevnsfit at commit 24d0c1a, ``models/lmu_ltau.py`` and ``models/others.py``),
at many parameter points and on every experiment, to 1e-12. The new presets are checked
against closed forms: tree-level charges, the lepton-loop mixing by direct quadrature, and
the finiteness rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from cevnsfit.constants import E_CHARGE, G_F, M_E, M_MU, M_TAU, Q_EM_D, Q_EM_U
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.experiments import EXPERIMENTS, get_experiment
from cevnsfit.models import MODELS, U1_PRESETS, U1Charges, model_from_name, u1_class
from cevnsfit.models.base import VectorMediator, check_flavour, check_param, check_q2
from cevnsfit.models.lmu_ltau import lepton_loop_integral
from cevnsfit.models.u1 import GaugedU1

C_PAPER = 2.0 * math.sqrt(2.0)

# ----------------------------------------------------------------- frozen reference (24d0c1a)


class LegacyLmuLtau(VectorMediator):
    """The L_mu - L_tau class as it was before the family (arithmetic unchanged)."""

    def __init__(self, mzp_mev, gx, r=1.0, paper_sign=False):
        self.mzp_mev = check_param("mzp_mev", mzp_mev, positive=True)
        self.gx = check_param("gx", gx)
        self.r = check_param("r", r, positive=True)
        self.shape = np.broadcast_shapes(self.mzp_mev.shape, self.gx.shape, self.r.shape)
        self.mzp_mev, self.gx, self.r = (np.broadcast_to(a, self.shape) for a in (self.mzp_mev, self.gx, self.r))
        self.values = {}
        self.paper_sign = paper_sign

    def kinetic_mixing(self, q2):
        loop = lepton_loop_integral(q2, paper_sign=self.paper_sign)
        loop_prefactor = E_CHARGE / (4.0 * math.pi) ** 2
        g, r = self._expand(self.gx, q2), self._expand(self.r, q2)
        return self._full(loop_prefactor * g * (8.0 * loop + (4.0 / 3.0) * np.log(r)), q2)

    def neutrino_coupling(self, flavour, q2_mev2):
        charge = {"nue": 0.0, "numu": 1.0, "nutau": -1.0}[check_flavour(flavour)]
        q2 = check_q2(q2_mev2)
        return self._full(charge * self._expand(self.gx, q2), q2)

    def quark_couplings(self, q2_mev2):
        eps_e = self.kinetic_mixing(check_q2(q2_mev2)) * E_CHARGE
        return eps_e * Q_EM_U, eps_e * Q_EM_D


class LegacyBminusL(VectorMediator):
    """The B - L class as it was before the family."""

    def __init__(self, mzp_mev, g, eps=0.0):
        arrays = np.broadcast_arrays(*(check_param(k, v) for k, v in (("m", mzp_mev), ("g", g), ("eps", eps))))
        self.mzp_mev, self.g, self.eps = arrays
        self.shape = arrays[0].shape
        self.values = {}

    def neutrino_coupling(self, flavour, q2_mev2):
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        return self._full(-self._expand(self.g, q2), q2)

    def quark_couplings(self, q2_mev2):
        q2 = check_q2(q2_mev2)
        g3 = self._expand(self.g, q2) / 3.0
        eps_e = self._expand(self.eps, q2) * E_CHARGE
        return self._full(g3 + eps_e * Q_EM_U, q2), self._full(g3 + eps_e * Q_EM_D, q2)


# Many points: masses 1 MeV - 10 GeV, couplings 1e-6 - 1, both signs, r and eps both ways.
_RNG = np.random.default_rng(20261203)
N_POINTS = 60
MZP = 10 ** _RNG.uniform(0.0, 4.0, N_POINTS)
G = 10 ** _RNG.uniform(-6.0, 0.0, N_POINTS) * _RNG.choice([-1.0, 1.0], N_POINTS)
R = 10 ** _RNG.uniform(-2.0, 2.0, N_POINTS)
EPS = _RNG.uniform(-1e-3, 1e-3, N_POINTS)


def _assert_close(new, old):
    np.testing.assert_allclose(new, old, rtol=1e-12, atol=1e-12 * np.max(np.abs(old)))


@pytest.mark.parametrize("name", [e for e in EXPERIMENTS if e != "xenonnt"])
@pytest.mark.parametrize("matching", ["paper", "full"])
def test_presets_equal_the_classes_they_replace_on_every_experiment(name, matching):
    exp = get_experiment(name, "paper")
    pairs = [
        (model_from_name("lmu-ltau", mzp_mev=MZP, gx=G, r=R), LegacyLmuLtau(MZP, G, R)),
        (model_from_name("b-l", mzp_mev=MZP, g=G, eps=EPS), LegacyBminusL(MZP, G, EPS)),
        (model_from_name("b-l", mzp_mev=MZP, g=G), LegacyBminusL(MZP, G)),
    ]
    for new, old in pairs:
        a = exp.predict(new, by_flavour=True, matching=matching)
        b = exp.predict(old, by_flavour=True, matching=matching)
        assert a.shape[0] == N_POINTS
        _assert_close(a, b)


def test_lmu_ltau_paper_sign_preset_equals_the_old_class():
    exp = get_experiment("csi2017", "paper")
    m, g = MZP[:20], G[:20]
    _assert_close(
        exp.predict(model_from_name("lmu-ltau", mzp_mev=m, gx=g, paper_sign=True)),
        exp.predict(LegacyLmuLtau(m, g, paper_sign=True)),
    )


@pytest.mark.slow
def test_presets_equal_the_classes_they_replace_at_xenonnt():
    exp = get_experiment("xenonnt", "paper")
    for new, old in (
        (model_from_name("lmu-ltau", mzp_mev=MZP[:12], gx=G[:12], r=R[:12]), LegacyLmuLtau(MZP[:12], G[:12], R[:12])),
        (model_from_name("b-l", mzp_mev=MZP[:12], g=G[:12], eps=EPS[:12]), LegacyBminusL(MZP[:12], G[:12], EPS[:12])),
    ):
        _assert_close(exp.predict(new), exp.predict(old))


def test_presets_keep_their_parameters_and_options():
    lm, bl = MODELS["lmu-ltau"], MODELS["b-l"]
    assert lm.parameter_names() == ("mzp_mev", "gx", "r") and bl.parameter_names() == ("mzp_mev", "g", "eps")
    assert [(p.default, p.low, p.high, p.prior_low, p.prior_high) for p in lm.PARAMETERS] == [
        (20.0, 0.0, 1e5, 10**0.5, 1e3),
        (0.0, -4 * math.pi, 4 * math.pi, 1e-4, 1e-1),
        (1.0, 0.0, 1e6, 1e-2, 1e2),
    ]
    m = model_from_name("lmu-ltau", mzp_mev=[10.0, 20.0], gx=1e-3, paper_sign=True)
    sub = m.take([1])
    assert sub.paper_sign and sub.shape == (1,) and float(sub.gx[0]) == 1e-3
    assert model_from_name("b-l", mzp_mev=10.0, g=1e-4).take([0]).eps[0] == 0.0
    with pytest.raises(ParameterError, match="needs mzp_mev"):
        model_from_name("b-l", g=1e-4)


# ----------------------------------------------------------------- the new presets


def _lepton_loop_quad(q2, weights):
    """sum_l w_l Int x(1-x) ln(m_l^2 + x(1-x) Q^2) dx by adaptive quadrature."""
    masses = {"nue": M_E, "numu": M_MU, "nutau": M_TAU}

    def f(x):
        w = x * (1 - x)
        return sum(c * w * math.log(masses[fl] ** 2 + w * q2) for fl, c in weights.items())

    return quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize(
    "name, weights",
    [("le-lmu", {"nue": -1.0, "numu": 1.0}), ("le-ltau", {"nue": -1.0, "nutau": 1.0})],
)
def test_finite_lepton_flavour_presets_have_the_loop_mixing(name, weights):
    """eps = (e g / 2 pi^2) sum_f Q_X Q_em Int x(1-x) ln(m_f^2 + x(1-x) Q^2) dx, with Q_em = -1."""
    g, mzp = 3e-4, 25.0
    q2 = np.array([0.0, 0.1, 10.0, 1e3, 3e4])
    model = model_from_name(name, mzp_mev=mzp, g=g)
    assert model.parameter_names() == ("mzp_mev", "g")
    eps = np.array([E_CHARGE * g / (2 * math.pi**2) * _lepton_loop_quad(v, weights) for v in q2])
    np.testing.assert_allclose(model.kinetic_mixing(q2), eps, rtol=1e-10)
    # Q^2 = 0: e g ln(m_heavy^2/m_e^2)/(12 pi^2)
    heavy = M_MU if name == "le-lmu" else M_TAU
    assert model.kinetic_mixing(0.0) == pytest.approx(E_CHARGE * g * math.log(heavy**2 / M_E**2) / (12 * math.pi**2))
    # delta Q for nu_e (charge +1) and the other flavour (charge -1): Z g eps e / (c G_F (Q^2 + M^2))
    dq = model.delta_qv("nue", 55, 78, q2)
    np.testing.assert_allclose(dq, 55 * g * eps * E_CHARGE / (C_PAPER * G_F * (q2 + mzp**2)), rtol=1e-10)
    other = "numu" if name == "le-lmu" else "nutau"
    np.testing.assert_allclose(model.delta_qv(other, 55, 78, q2), -dq, rtol=1e-14)


def test_lmu_ltau_loop_is_the_family_sum():
    """The family's sum over the mu and tau loops equals the reference analysis's I(Q^2)."""
    q2 = np.geomspace(1e-3, 1e6, 40)
    m = model_from_name("lmu-ltau", mzp_mev=10.0, gx=2e-3)
    np.testing.assert_allclose(
        m.kinetic_mixing(q2), 8 * E_CHARGE * 2e-3 / (4 * math.pi) ** 2 * lepton_loop_integral(q2), rtol=1e-12
    )


@pytest.mark.parametrize(
    "name, b, leptons",
    [
        ("b-3le", 1, (-3, 0, 0)),
        ("b-3lmu", 1, (0, -3, 0)),
        ("b-3ltau", 1, (0, 0, -3)),
        ("b-le-2ltau", 1, (-1, 0, -2)),
        ("b-2lmu-ltau", 1, (0, -2, -1)),
    ],
)
def test_baryon_presets_are_tree_level_closed_forms(name, b, leptons):
    """delta Q_alpha = g l_alpha (b g A + eps e Z) / (c G_F (Q^2 + M^2)); anomaly free: sum l = -3 b."""
    mzp, g, eps = 40.0, 2e-5, 3e-6
    q2 = np.array([0.0, 500.0, 3e4])
    model = model_from_name(name, mzp_mev=mzp, g=g, eps=eps)
    assert model.parameter_names() == ("mzp_mev", "g", "eps") and model.charges.anomaly_free
    assert sum(leptons) == -3 * b
    for fl, lq in zip(("nue", "numu", "nutau"), leptons):
        expect = g * lq * (b * g * 133 + eps * E_CHARGE * 55) / (C_PAPER * G_F * (q2 + mzp**2))
        np.testing.assert_allclose(model.delta_qv(fl, 55, 78, q2), expect, rtol=1e-12, atol=0)


def test_b_minus_3l_alpha_touches_only_its_flavour_and_raises_the_rate():
    exp = get_experiment("csi2017", "paper")
    sm = exp.predict(None, by_flavour=True).sum(axis=(1, 2))
    by = exp.predict(model_from_name("b-3lmu", mzp_mev=30.0, g=1e-4), by_flavour=True).sum(axis=(1, 2))
    # groups (numu_prompt, nue, numubar): nu_e untouched; nu_mu constructive (same sign as Q_SM)
    assert by[1] == sm[1] and by[0] > sm[0] and by[2] > sm[2]


@pytest.mark.parametrize("name", [n for n in U1_PRESETS])
def test_every_preset_at_zero_coupling_is_the_sm(name):
    exp = get_experiment("cenns10", "paper")
    cls = U1_PRESETS[name]
    kw = {cls.COUPLING: 0.0, "mzp_mev": 30.0}
    assert np.array_equal(exp.predict(model_from_name(name, **kw)), exp.predict(None))


def test_scaling_with_the_coupling_at_fixed_eps_zero():
    """With eps = 0 (or a loop mixing ~ g) every preset's delta Q scales as g^2."""
    q2 = np.array([10.0, 1e4])
    for name in ("le-lmu", "b-3ltau", "b-2le-lmu"):
        d1 = model_from_name(name, mzp_mev=15.0, g=1e-4).delta_qv("nue", 18, 22, q2)
        d3 = model_from_name(name, mzp_mev=15.0, g=-3e-4).delta_qv("nue", 18, 22, q2)
        np.testing.assert_allclose(d3, 9.0 * d1, rtol=1e-13)


# ----------------------------------------------------------------- declaring a model by charges


def test_a_model_class_declared_by_its_charges():
    cls = u1_class(U1Charges(le=2.0, lmu=-1.0, ltau=-1.0), "my-u1")
    assert cls.NAME == "my-u1" and cls.parameter_names() == ("mzp_mev", "g")
    m = cls(mzp_mev=[10.0, 30.0], g=1e-4)
    assert m.shape == (2,) and m.take([1]).shape == (1,)
    w = {"nue": -2.0, "numu": 1.0, "nutau": 1.0}
    eps = E_CHARGE * 1e-4 / (2 * math.pi**2) * _lepton_loop_quad(1e3, w)
    assert float(m.kinetic_mixing(1e3)[0]) == pytest.approx(eps, rel=1e-10)


def test_infinite_loop_mixing_without_a_constant_is_an_error():
    b3 = u1_class(U1Charges(b=1.0, lmu=-3.0))
    with pytest.raises(ParameterError, match=r"not finite .* = 4 .*give a constant eps"):
        b3(mzp_mev=10.0, g=1e-4)
    assert b3(mzp_mev=10.0, g=1e-4, eps=1e-5).eps == 1e-5
    # an anomalous but lepton-only charge whose trace does not vanish
    with pytest.raises(ParameterError, match="give a constant eps"):
        u1_class(U1Charges(le=1.0))(mzp_mev=10.0, g=1e-4)
    # a finite mixing cannot be overridden
    with pytest.raises(ParameterError, match="eps cannot be given"):
        u1_class(U1Charges(le=1.0, lmu=-1.0))(mzp_mev=10.0, g=1e-4, eps=1e-3)
    with pytest.raises(UnknownNameError, match="allowed: mzp_mev, g"):
        model_from_name("le-lmu", mzp_mev=10.0, g=1e-4, eps=1e-3)
    with pytest.raises(ParameterError, match="all 0"):
        U1Charges()
    with pytest.raises(ParameterError, match="charge b must be a finite number"):
        U1Charges(b=float("nan"))
    with pytest.raises(ParameterError, match="base class"):
        GaugedU1(mzp_mev=10.0, g=1e-4)
    with pytest.raises(ParameterError, match="U1Charges"):
        u1_class({"b": 1})  # type: ignore[arg-type]
