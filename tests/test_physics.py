"""Physics invariants of the SM core: flux, form factors, cross section, kernels."""

import math

import numpy as np
import pytest
from scipy import integrate

from cevnsfit.constants import CM2_IN_INV_MEV2, E_DELAYED_MAX, E_PROMPT, G_F, M_MU, M_PI
from cevnsfit.errors import ParameterError
from cevnsfit.physics.cross_section import dsigma_der, kinematic_bracket, qv_sm
from cevnsfit.physics.flux import DELAYED_POLY, StoppedPionSource, poly_integral
from cevnsfit.physics.nucleus import Nucleus, _three_j1_over_x, helm, klein_nystrand
from cevnsfit.rates.kernels import flux_averaged_bracket, kernel

CS = Nucleus.from_table("Cs133", 4.7, "helm")
AR = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
SRC = StoppedPionSource(1.76e23, 0.08, 19.3)


def test_prompt_energy_two_body_kinematics():
    assert E_PROMPT == pytest.approx(29.79, abs=0.005)
    # energy conservation: E_nu + sqrt(p^2 + m_mu^2) = m_pi with p = E_nu
    assert E_PROMPT + math.hypot(E_PROMPT, M_MU) == pytest.approx(M_PI, rel=1e-12)


@pytest.mark.parametrize("group", ["nue", "numubar"])
def test_delayed_spectra_integrate_to_eta(group):
    total, _ = integrate.quad(lambda e: SRC.spectrum(group, e), 0, E_DELAYED_MAX)
    assert total == pytest.approx(SRC.eta, rel=1e-10)
    assert poly_integral(DELAYED_POLY[group], 0, E_DELAYED_MAX) == pytest.approx(1.0, rel=1e-13)


def test_michel_mean_energies():
    # <E> of anti-nu_mu is 7/20 m_mu, of nu_e 3/10 m_mu (closed forms of the Michel spectra)
    for group, mean in (("numubar", 0.35 * M_MU), ("nue", 0.3 * M_MU)):
        m1, _ = integrate.quad(lambda e: e * SRC.spectrum(group, e) / SRC.eta, 0, E_DELAYED_MAX)
        assert m1 == pytest.approx(mean, rel=1e-10)


def test_fluence_units():
    # 0.08 * 1.76e23 / (4 pi (1930 cm)^2), and the natural-unit value converts back
    expected = 0.08 * 1.76e23 / (4 * math.pi * 1930.0**2)
    assert SRC.eta_per_cm2 == pytest.approx(expected, rel=1e-12)
    assert SRC.eta * CM2_IN_INV_MEV2 == pytest.approx(expected, rel=1e-9)


def test_bad_source_inputs():
    with pytest.raises(ParameterError, match="distance_m"):
        StoppedPionSource(1e23, 0.08, -1.0)
    with pytest.raises(ParameterError, match="pot"):
        StoppedPionSource(float("nan"), 0.08, 19.3)


def test_form_factors_at_zero_and_first_zero():
    assert helm(0.0, 4.7) == 1.0
    assert klein_nystrand(0.0, 4.1) == 1.0
    # 3 j1(x)/x vanishes at the first root of tan x = x, x = 4.493409457909064
    r0 = math.sqrt(5 / 3 * (4.7**2 - 3 * 0.9**2))
    q = 4.493409457909064 / r0 * 197.3269804
    assert abs(helm(q, 4.7)) < 1e-8
    # series and exact expression agree across the switch point
    x = np.array([0.0099999, 0.0100001])
    exact = 3 * (np.sin(x) / x**2 - np.cos(x) / x) / x
    assert np.allclose(_three_j1_over_x(x), exact, rtol=1e-9)


def test_form_factor_radius_validation():
    with pytest.raises(ParameterError, match="rn_fm"):
        helm(1.0, 1.0)
    with pytest.raises(ParameterError, match="rn_fm"):
        Nucleus.from_table("Ar40", -4.1)


def test_qv_sm_closed_form():
    s2 = 0.23857
    assert qv_sm(55, 78, s2) == pytest.approx(-(78 - (1 - 4 * s2) * 55) / 2, rel=1e-14)
    assert qv_sm(18, 22, s2) < 0


def test_bracket_nonnegative_up_to_endpoint_and_zero_beyond():
    for e in (10.0, E_PROMPT, 52.0):
        er_max = 2 * e**2 / (CS.mass_mev + 2 * e)
        er = np.linspace(0, er_max, 10001)
        b = kinematic_bracket(e, er, CS.mass_mev)
        assert np.all(b >= 0)
        assert b[-1] == pytest.approx((er_max / e) ** 2, rel=1e-6)
        assert np.all(kinematic_bracket(e, er_max * (1 + 1e-9) + er, CS.mass_mev) == 0)


def test_cross_section_textbook_form():
    # G_F^2 m Q_W^2/(4 pi) [1 - m E_r/(2E^2) - E_r/E + E_r^2/(2E^2)] F^2 with Q_W = N - (1 - 4 s^2) Z
    e, er = 30.0, 5e-3
    qw = 78 - (1 - 4 * 0.23857) * 55
    textbook = (
        G_F**2
        * CS.mass_mev
        * qw**2
        / (4 * math.pi)
        * (1 - CS.mass_mev * er / (2 * e**2) - er / e + er**2 / (2 * e**2))
        * CS.form_factor_sq(er)
    )
    assert dsigma_der(e, er, CS) == pytest.approx(textbook, rel=1e-12)


@pytest.mark.parametrize("group", ["nue", "numubar"])
@pytest.mark.parametrize("nucleus", [CS, AR])
def test_kernel_closed_form_against_quadrature(group, nucleus):
    for er in (1e-4, 3e-3, 1e-2, 0.9 * float(nucleus.er_max(E_DELAYED_MAX))):
        emin = float(nucleus.e_min(er))
        brute, _ = integrate.quad(
            lambda e: SRC.spectrum(group, e) / SRC.eta * float(kinematic_bracket(e, er, nucleus.mass_mev)),
            emin,
            E_DELAYED_MAX,
            epsabs=0,
            epsrel=1e-12,
        )
        assert flux_averaged_bracket(group, er, nucleus) == pytest.approx(brute, rel=1e-9)


def test_kernel_zero_beyond_endpoints():
    er_p = float(CS.er_max(E_PROMPT))
    assert kernel("numu_prompt", er_p * 1.0001, CS, SRC, 1.0) == 0
    assert kernel("numu_prompt", er_p * 0.9999, CS, SRC, 1.0) > 0
    assert kernel("nue", float(CS.er_max(E_DELAYED_MAX)) * 1.0001, CS, SRC, 1.0) == 0


def test_prompt_kernel_is_delta_line_times_cross_section():
    er = 2e-3
    k = kernel("numu_prompt", er, CS, SRC, 1.0)
    direct = SRC.eta * dsigma_der(E_PROMPT, er, CS, qv=1.0)
    assert k == pytest.approx(direct, rel=1e-13)
