"""Tests of the muon g-2 Z' contribution and the favoured band (PHYSICS.md section 4)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from cevnsfit.constants import M_MU
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.models import PRESETS, delta_amu, g2_band
from cevnsfit.models.g2 import G2Discrepancy


def delta_amu_quad(mzp, gx):
    """PHYSICS.md section 4 integral by adaptive quadrature, with its scales as breakpoints."""
    rho = (mzp / M_MU) ** 2

    def f(x):
        return x * x * (1.0 - x) / (x * x + (1.0 - x) * rho)

    points = sorted({min(math.sqrt(rho), 0.5), max(1.0 - 1.0 / rho, 0.5)})
    val = quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-13, limit=500, points=points)[0]
    return gx**2 / (4.0 * math.pi**2) * val


def test_matches_quadrature_over_mass_range():
    masses = np.geomspace(1e-3, 1e6, 91)
    code = delta_amu(masses, 1e-3)
    ref = np.array([delta_amu_quad(m, 1e-3) for m in masses])
    np.testing.assert_allclose(code, ref, rtol=1e-10, atol=0)


@pytest.mark.parametrize("mzp, gx", [(20.0, 5.56e-4), (100.0, 9.46e-4)])
def test_published_couplings_for_the_2021_central_value(mzp, gx):
    """Delta a_mu = 2.51e-9 needs g_x = 5.56e-4 at 20 MeV and 9.46e-4 at 100 MeV."""
    needed = math.sqrt(2.51e-9 / float(delta_amu(mzp, 1.0)))
    assert float(f"{needed:.3g}") == gx


def test_heavy_and_light_mediator_limits():
    g = 1e-3
    heavy = 1e5  # M >> m_mu: g^2 m_mu^2 / (12 pi^2 M^2), corrections O(m^2/M^2 ln)
    assert delta_amu(heavy, g) == pytest.approx(g**2 * M_MU**2 / (12 * math.pi**2 * heavy**2), rel=1e-5)
    light = 1e-3  # M -> 0: g^2 / (8 pi^2), corrections O(M/m_mu)
    assert delta_amu(light, g) == pytest.approx(g**2 / (8 * math.pi**2), rel=1e-4)


def test_scaling_shape_and_monotonicity():
    masses = np.geomspace(1.0, 1e4, 50)
    d = delta_amu(masses, 2e-3)
    assert np.all(np.diff(d) < 0) and np.all(d > 0)
    np.testing.assert_allclose(delta_amu(masses, -6e-3), 9.0 * d, rtol=1e-14)
    assert delta_amu(masses[:, None], np.array([1e-4, 1e-3])).shape == (50, 2)
    assert delta_amu(20.0, 1e-3).shape == ()


def test_band_2021():
    p = PRESETS["2021"]
    assert (p.central, p.sigma) == (251e-11, 59e-11)
    band = g2_band(np.array([20.0, 100.0]), "2021")
    np.testing.assert_allclose(band["gx_central"], [5.56e-4, 9.46e-4], rtol=5e-3)
    for key, target in (("gx_central", 251e-11), ("gx_low", 133e-11), ("gx_high", 369e-11)):
        for m, g in zip((20.0, 100.0), band[key]):
            assert delta_amu_quad(m, g) == pytest.approx(target, rel=1e-10)
    assert np.all(band["gx_low"] < band["gx_central"]) and np.all(band["gx_central"] < band["gx_high"])


def test_band_2025_is_an_upper_bound():
    p = PRESETS["2025"]
    assert (p.central, p.sigma) == (38e-11, 63e-11)
    band = g2_band(np.array([20.0, 100.0]), "2025")
    assert np.array_equal(band["gx_low"], [0.0, 0.0])  # 38 - 2*63 < 0
    for key, target in (("gx_central", 38e-11), ("gx_high", 164e-11)):
        for m, g in zip((20.0, 100.0), band[key]):
            assert delta_amu_quad(m, g) == pytest.approx(target, rel=1e-10)


def test_band_custom_pair_and_non_positive_targets():
    band = g2_band([20.0], (-1e-10, 1e-10), nsigma=1.0)
    assert np.isnan(band["gx_central"][0]) and band["gx_low"][0] == 0.0
    assert np.isnan(band["gx_high"][0])  # -1e-10 + 1e-10 = 0: not reachable
    band = g2_band(20.0, (251e-11, 59e-11), nsigma=1.0)
    assert delta_amu_quad(20.0, float(band["gx_low"])) == pytest.approx(192e-11, rel=1e-10)


def test_presets_are_frozen_and_cited():
    assert set(PRESETS) >= {"2021", "2025"}
    assert "141801" in PRESETS["2021"].source and "887" in PRESETS["2021"].source
    assert "2506.03069" in PRESETS["2025"].source and "2505.21476" in PRESETS["2025"].source
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["2021"].central = 0.0
    custom = G2Discrepancy("x", 1e-9, 1e-10, "test")
    assert g2_band(20.0, custom)["gx_central"] == pytest.approx(math.sqrt(1e-9 / delta_amu_quad(20.0, 1.0)))


def test_band_errors():
    with pytest.raises(UnknownNameError, match="'2021', '2025'"):
        g2_band(20.0, "2019")
    with pytest.raises(ParameterError, match="sigma"):
        g2_band(20.0, (1e-9, 0.0))
    with pytest.raises(ParameterError, match="nsigma"):
        g2_band(20.0, "2021", nsigma=-1.0)
    with pytest.raises(ParameterError, match="preset"):
        g2_band(20.0, 3.0)


@settings(max_examples=40, deadline=None)
@given(mass=st.one_of(st.floats(max_value=0.0), st.sampled_from([math.nan, math.inf])))
def test_bad_mass_is_rejected_by_name(mass):
    with pytest.raises(ParameterError, match="mzp_mev"):
        delta_amu(mass, 1e-3)
    with pytest.raises(ParameterError, match="mzp_mev"):
        g2_band([10.0, mass])


@settings(max_examples=10, deadline=None)
@given(gx=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_bad_coupling_is_rejected_by_name(gx):
    with pytest.raises(ParameterError, match="gx"):
        delta_amu(10.0, gx)
