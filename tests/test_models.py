"""Tests of the BSM vector-mediator models (PHYSICS.md section 4).

Reference values come from the closed forms and numbers of PHYSICS.md and from direct
numerical integration of the section-4 formulas with scipy.integrate.quad, never from the
code under test.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from cevnsfit.constants import E_CHARGE, G_F, M_MU, M_TAU, SIN2_THETA_W
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.models import (
    FLAVOURS,
    MATCHING,
    BminusL,
    LmuLtau,
    StandardModel,
    UniversalVector,
    kinetic_mixing,
    lepton_loop_integral,
    model_from_name,
)

CS = {"Z": 55, "N": 78}
AR = {"Z": 18, "N": 22}
# CsI/Ar momentum transfers: Q^2 = 2 m_N E_r up to ~2 * 124 GeV * 50 keV (in MeV^2).
Q2_COHERENT_MAX = 2.0 * 124000.0 * 0.05
C_PAPER = 2.0 * math.sqrt(2.0)
C_FULL = math.sqrt(2.0)


def loop_integral_quad(q2, sign=+1.0):
    """PHYSICS.md section 4 x-integral by adaptive quadrature (sign=-1: printed form)."""

    def f(x):
        w = x * (1.0 - x)
        return w * math.log((M_TAU**2 + sign * w * q2) / (M_MU**2 + sign * w * q2))

    return quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-13, limit=200)[0]


def eps_quad(q2, gx, r=1.0):
    """eps(Q^2) of PHYSICS.md section 4 (heavy-slepton limit) from quad."""
    lepton = 8.0 * E_CHARGE * gx / (4.0 * math.pi) ** 2 * loop_integral_quad(q2)
    slepton = 2.0 * E_CHARGE * gx / (4.0 * math.pi) ** 2 * math.log(r**2) / 3.0
    return lepton + slepton


# --------------------------------------------------------------------------- kinetic mixing


def test_eps_at_zero_momentum_transfer_matches_closed_form():
    gx = 3e-3
    expected = E_CHARGE * gx * math.log(M_TAU**2 / M_MU**2) / (12.0 * math.pi**2)
    assert kinetic_mixing(0.0, gx) == pytest.approx(expected, rel=1e-13)
    assert kinetic_mixing(0.0, gx) / (E_CHARGE * gx) == pytest.approx(0.0477, abs=5e-5)
    # continuous at Q^2 -> 0 (series branch)
    assert kinetic_mixing(1e-9, gx) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("r, ratio", [(100.0, 1.82), (0.01, 0.18)])
def test_slepton_ratio_r_at_zero_q2(r, ratio):
    ratio_code = kinetic_mixing(0.0, 1e-3, r=r) / kinetic_mixing(0.0, 1e-3)
    assert ratio_code == pytest.approx(ratio, abs=0.006)
    # heavy-slepton closed form: eps(r)/eps(1) = 1 + ln r / ln(m_tau^2/m_mu^2)
    assert ratio_code == pytest.approx(1.0 + math.log(r) / math.log(M_TAU**2 / M_MU**2), rel=1e-13)


@pytest.mark.parametrize("r", [0.01, 0.5, 3.0, 100.0])
def test_slepton_term_is_heavy_slepton_limit(r):
    """(2 e g/(4pi)^2) Int (1-2x)^2 ln[(m_stau^2 + ..)/(m_smu^2 + ..)] -> (1/3) ln r^2."""
    gx, q2, m_smu = 1e-3, 5000.0, 1e6
    full = quad(
        lambda x: (1 - 2 * x) ** 2 * math.log(((r * m_smu) ** 2 + x * (1 - x) * q2) / (m_smu**2 + x * (1 - x) * q2)),
        0.0,
        1.0,
        epsabs=0.0,
        epsrel=1e-13,
    )[0]
    slepton = 2.0 * E_CHARGE * gx / (4.0 * math.pi) ** 2 * full
    shift = kinetic_mixing(q2, gx, r=r) - kinetic_mixing(q2, gx)
    assert shift == pytest.approx(slepton, rel=1e-6)


def test_lepton_loop_closed_form_matches_quad():
    q2 = np.concatenate([[0.0], np.geomspace(1e-3, 1e6, 61)])
    code = lepton_loop_integral(q2)
    ref = np.array([loop_integral_quad(v) for v in q2])
    np.testing.assert_allclose(code, ref, rtol=1e-10, atol=0)


def test_printed_sign_closed_form_matches_quad():
    q2 = np.concatenate([[0.0], np.geomspace(1e-3, 0.999 * 4.0 * M_MU**2, 41)])
    code = lepton_loop_integral(q2, paper_sign=True)
    ref = np.array([loop_integral_quad(v, sign=-1.0) for v in q2])
    np.testing.assert_allclose(code, ref, rtol=1e-10, atol=0)


def test_eps_closed_form_matches_quad_with_sleptons():
    q2 = np.array([0.0, 10.0, 1e3, Q2_COHERENT_MAX, 1e5])
    for r in (0.01, 1.0, 100.0):
        ref = np.array([eps_quad(v, 2e-3, r) for v in q2])
        np.testing.assert_allclose(kinetic_mixing(q2, 2e-3, r=r), ref, rtol=1e-10)


def test_loop_integral_decreases_towards_zero_at_large_q2():
    q2 = np.geomspace(1.0, 1e12, 200)
    loop = lepton_loop_integral(q2)
    assert np.all(np.diff(loop) < 0) and np.all(loop > 0)
    # Q^2 >> m_tau^2: K(t) = ln(t)/6 - 5/18 + 1/t + O(ln t/t^2), so I -> (m_tau^2 - m_mu^2)/Q^2
    assert loop[-1] == pytest.approx((M_TAU**2 - M_MU**2) / q2[-1], rel=1e-3)


def test_paper_sign_moves_eps_by_percent_level_at_coherent_momenta():
    q2 = np.linspace(0.0, Q2_COHERENT_MAX, 200)
    phys = kinetic_mixing(q2, 1e-3)
    paper = kinetic_mixing(q2, 1e-3, paper_sign=True)
    rel = paper / phys - 1.0
    assert rel[0] == 0.0
    assert np.all(rel[1:] > 0)  # the printed sign always raises eps (for Q^2 > 0)
    # grows like 2 Q^2 / (30 m_mu^2 * I(0)): ~3% at E_r = 20 keV on CsI, ~8% at 50 keV
    typical = q2 <= 2.0 * 124000.0 * 0.02
    assert 0.005 < rel[typical].max() < 0.04
    assert rel.max() < 0.10


def test_paper_sign_rejects_momenta_beyond_printed_log_domain():
    with pytest.raises(ParameterError, match="q2_mev2"):
        lepton_loop_integral(4.0 * M_MU**2, paper_sign=True)
    with pytest.raises(ParameterError, match="q2_mev2"):
        LmuLtau(10.0, 1e-3, paper_sign=True).delta_qv("numu", 55, 78, [10.0, 5e4])


def test_kinetic_mixing_broadcasts():
    q2 = np.array([0.0, 100.0, 1e4])
    gx = np.array([[1e-3], [2e-3]])
    out = kinetic_mixing(q2, gx)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1], 2.0 * out[0], rtol=1e-15)


# --------------------------------------------------------------------------- L_mu - L_tau


def test_zero_coupling_gives_exactly_the_standard_model():
    q2 = np.linspace(0.0, Q2_COHERENT_MAX, 7)
    for model in (LmuLtau(20.0, 0.0, r=100.0), BminusL(20.0, 0.0), UniversalVector(20.0, 0.0)):
        for flavour in FLAVOURS:
            for matching in MATCHING:
                d = model.delta_qv(flavour, **CS, q2_mev2=q2, matching=matching)
                assert np.array_equal(d, np.zeros_like(q2))


def test_lmu_ltau_flavour_structure():
    model = LmuLtau(np.array([5.0, 50.0, 500.0]), np.array([1e-4, 1e-3, 1e-2]))
    q2 = np.linspace(0.0, Q2_COHERENT_MAX, 11)
    numu = model.delta_qv("numu", **CS, q2_mev2=q2)
    assert np.all(numu > 0)  # destructive: Q_V^SM < 0
    assert np.array_equal(model.delta_qv("nue", **CS, q2_mev2=q2), np.zeros((3, 11)))
    np.testing.assert_array_equal(model.delta_qv("nutau", **CS, q2_mev2=q2), -numu)


def test_lmu_ltau_couples_to_proton_number():
    """Q_V^BSM = Z g_x eps e / (c G_F (Q^2 + M^2)) with eps from quad (PHYSICS.md sec. 4)."""
    mzp, gx = 30.0, 7e-4
    q2 = np.array([0.0, 50.0, 2000.0, Q2_COHERENT_MAX])
    model = LmuLtau(mzp, gx)
    eps = np.array([eps_quad(v, gx) for v in q2])
    for matching, c in (("paper", C_PAPER), ("full", C_FULL)):
        expected = CS["Z"] * gx * eps * E_CHARGE / (c * G_F * (q2 + mzp**2))
        got = model.delta_qv("numu", **CS, q2_mev2=q2, matching=matching)
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    # and it is the same for Ar (Z = 18): only Z enters
    expected_ar = AR["Z"] * gx * eps * E_CHARGE / (C_PAPER * G_F * (q2 + mzp**2))
    np.testing.assert_allclose(model.delta_qv("numu", **AR, q2_mev2=q2), expected_ar, rtol=1e-10)


def test_lmu_ltau_scales_as_gx_squared_and_lowers_the_rate():
    q2 = np.array([100.0, 3000.0])
    d1 = LmuLtau(20.0, 1e-4).delta_qv("numu", **CS, q2_mev2=q2)
    d2 = LmuLtau(20.0, -3e-4).delta_qv("numu", **CS, q2_mev2=q2)
    np.testing.assert_allclose(d2, 9.0 * d1, rtol=1e-13)
    qv_sm = -(CS["N"] - (1.0 - 4.0 * SIN2_THETA_W) * CS["Z"]) / 2.0
    assert np.all(np.abs(qv_sm + d1) < abs(qv_sm))


def test_paper_and_full_matching_differ_by_exactly_two():
    q2 = np.geomspace(1.0, Q2_COHERENT_MAX, 9)
    for model in (LmuLtau([3.0, 300.0], 1e-3, r=[[0.01], [100.0]]), BminusL(10.0, 1e-4), UniversalVector(1e3, 1e-3)):
        paper = model.delta_qv("numu", **CS, q2_mev2=q2, matching="paper")
        full = model.delta_qv("numu", **CS, q2_mev2=q2, matching="full")
        np.testing.assert_allclose(full / paper, 2.0, rtol=1e-14)


# --------------------------------------------------------------------------- B-L, universal


@pytest.mark.parametrize("matching, c", [("paper", C_PAPER), ("full", C_FULL)])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_b_minus_l_and_universal_closed_forms(matching, c, flavour):
    mzp, g = 17.0, 3e-5
    q2 = np.array([0.0, 100.0, Q2_COHERENT_MAX])
    for nucleus in (CS, AR):
        a = nucleus["Z"] + nucleus["N"]
        denom = c * G_F * (q2 + mzp**2)
        np.testing.assert_allclose(
            BminusL(mzp, g).delta_qv(flavour, **nucleus, q2_mev2=q2, matching=matching), -a * g**2 / denom, rtol=1e-13
        )
        np.testing.assert_allclose(
            UniversalVector(mzp, g).delta_qv(flavour, **nucleus, q2_mev2=q2, matching=matching),
            3.0 * a * g**2 / denom,
            rtol=1e-13,
        )


def test_b_minus_l_optional_kinetic_mixing_adds_proton_coupling():
    mzp, g, eps = 17.0, 3e-5, 1e-6
    q2 = np.array([0.0, 500.0])
    base = BminusL(mzp, g).delta_qv("nue", **CS, q2_mev2=q2)
    mixed = BminusL(mzp, g, eps=eps).delta_qv("nue", **CS, q2_mev2=q2)
    # extra quark coupling eps e Q_em sums to Z eps e over the nucleus; neutrino coupling -g
    np.testing.assert_allclose(mixed - base, -g * CS["Z"] * eps * E_CHARGE / (C_PAPER * G_F * (q2 + mzp**2)), rtol=1e-9)


# --------------------------------------------------------------------------- shapes


def test_broadcasting_points_by_q2_equals_loop():
    mzp = np.geomspace(3.0, 1e3, 6)
    gx = np.geomspace(1e-4, 1e-1, 6)
    r = np.array([0.01, 1.0, 100.0, 1.0, 2.0, 0.5])
    q2 = np.linspace(0.0, Q2_COHERENT_MAX, 13)
    for cls, kwargs in ((LmuLtau, {"r": r}), (BminusL, {}), (UniversalVector, {})):
        model = cls(mzp, gx, **kwargs)
        assert model.shape == (6,) and model.mzp_mev.shape == (6,)
        got = model.delta_qv("numu", **CS, q2_mev2=q2)
        assert got.shape == (6, 13)
        for i in range(6):
            one = cls(mzp[i], gx[i], **{k: v[i] for k, v in kwargs.items()})
            assert one.shape == ()
            np.testing.assert_allclose(got[i], one.delta_qv("numu", **CS, q2_mev2=q2), rtol=1e-14)


def test_parameter_grid_and_multidimensional_q2():
    model = LmuLtau(np.geomspace(3.0, 1e3, 4)[:, None], np.geomspace(1e-4, 1e-1, 5)[None, :])
    q2 = np.linspace(0.0, 1e4, 6).reshape(2, 3)
    assert model.shape == (4, 5)
    assert model.delta_qv("numu", **CS, q2_mev2=q2).shape == (4, 5, 2, 3)
    assert model.delta_qv("numu", **CS, q2_mev2=10.0).shape == (4, 5)


def test_couplings_have_full_writable_shape():
    q2 = np.linspace(0.0, 1e4, 7)
    for model in (
        LmuLtau([10.0, 20.0], 1e-3),
        BminusL([10.0, 20.0], 1e-3),
        UniversalVector([10.0, 20.0], 1e-3),
        StandardModel(),
    ):
        for arr in (model.neutrino_coupling("numu", q2), *model.quark_couplings(q2)):
            assert arr.shape == model.shape + q2.shape
            assert arr.flags.writeable


def test_lmu_ltau_quark_couplings_follow_electric_charge():
    q2 = np.array([0.0, 1e3])
    g_u, g_d = LmuLtau(10.0, 1e-3).quark_couplings(q2)
    np.testing.assert_allclose(g_u, -2.0 * g_d, rtol=1e-15)
    np.testing.assert_allclose(g_u, kinetic_mixing(q2, 1e-3) * E_CHARGE * 2.0 / 3.0, rtol=1e-14)


def test_standard_model_is_exactly_zero():
    sm = StandardModel()
    assert sm.shape == ()
    q2 = np.linspace(0.0, 1e4, 5)
    for flavour in FLAVOURS:
        assert np.array_equal(sm.delta_qv(flavour, **CS, q2_mev2=q2, matching="full"), np.zeros(5))


def test_delta_qv_is_cheap_for_a_scan():
    """Hot path: 10^4 points x 200 recoil energies well under a second (no loops)."""
    mzp = np.geomspace(3.0, 1e3, 100)[:, None]
    gx = np.geomspace(1e-4, 1e-1, 100)[None, :]
    model = LmuLtau(mzp, gx)
    q2 = np.linspace(0.0, Q2_COHERENT_MAX, 200)
    start = time.perf_counter()
    out = model.delta_qv("numu", **CS, q2_mev2=q2)
    assert out.shape == (100, 100, 200)
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- errors

bad_masses = st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf), st.just(-math.inf))
bad_numbers = st.sampled_from([math.nan, math.inf, -math.inf])


@settings(max_examples=40, deadline=None)
@given(mass=bad_masses)
def test_bad_mass_is_rejected_by_name(mass):
    for build in (
        lambda: LmuLtau(mass, 1e-3),
        lambda: BminusL(mass, 1e-3),
        lambda: UniversalVector(mass, 1e-3),
        lambda: LmuLtau(np.array([10.0, mass]), 1e-3),
    ):
        with pytest.raises(ParameterError, match="mzp_mev") as err:
            build()
        assert "> 0" in str(err.value)


@settings(max_examples=20, deadline=None)
@given(value=bad_numbers)
def test_non_finite_couplings_are_rejected_by_name(value):
    with pytest.raises(ParameterError, match="gx"):
        LmuLtau(10.0, value)
    with pytest.raises(ParameterError, match="gx"):
        kinetic_mixing(0.0, value)
    with pytest.raises(ParameterError, match="^g "):
        BminusL(10.0, value)
    with pytest.raises(ParameterError, match="^g "):
        UniversalVector(10.0, [1e-3, value])


@settings(max_examples=40, deadline=None)
@given(r=st.one_of(st.floats(max_value=0.0), bad_numbers))
def test_bad_slepton_ratio_is_rejected_by_name(r):
    with pytest.raises(ParameterError, match="^r ") as err:
        LmuLtau(10.0, 1e-3, r=r)
    assert "> 0" in str(err.value)
    with pytest.raises(ParameterError, match="^r "):
        kinetic_mixing(0.0, 1e-3, r=r)


@settings(max_examples=30, deadline=None)
@given(q2=st.one_of(st.floats(max_value=-1e-300), bad_numbers))
def test_bad_momentum_transfer_is_rejected(q2):
    with pytest.raises(ParameterError, match="q2_mev2"):
        LmuLtau(10.0, 1e-3).delta_qv("numu", 55, 78, [1.0, q2])


def test_unknown_names_list_allowed_values():
    model = LmuLtau(10.0, 1e-3)
    with pytest.raises(UnknownNameError, match="'nue', 'numu', 'nutau'"):
        model.delta_qv("numubar", 55, 78, 1.0)
    with pytest.raises(UnknownNameError, match="'paper', 'full'"):
        model.delta_qv("numu", 55, 78, 1.0, matching="half")
    with pytest.raises(UnknownNameError, match="lmu-ltau"):
        model_from_name("dark_photon", mzp_mev=1.0)


def test_non_broadcasting_parameters_and_bad_nuclei():
    with pytest.raises(ParameterError, match="broadcast"):
        LmuLtau([1.0, 2.0], [1e-3, 2e-3, 3e-3])
    with pytest.raises(ParameterError, match="^N "):
        LmuLtau(10.0, 1e-3).delta_qv("numu", 55, -1, 1.0)
    with pytest.raises(ParameterError, match="paper_sign"):
        LmuLtau(10.0, 1e-3, paper_sign="yes")
