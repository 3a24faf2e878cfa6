"""Sources: MSW survival probability against its limits and reference values, quadrature
convergence of tabulated sources, the Michel spectra as a table against the closed forms,
and the reactor source against direct integration."""

import math

import numpy as np
import pytest
from scipy import integrate

from cevnsfit.constants import E_DELAYED_MAX
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.physics.cross_section import structure_bracket
from cevnsfit.physics.flux import DELAYED_POLY, STOPPED_PION_GROUPS, StoppedPionSource
from cevnsfit.physics.nucleus import Nucleus
from cevnsfit.physics.sources import (
    OSCILLATION,
    ReactorSource,
    SolarB8Source,
    TabulatedSource,
    huber_mueller,
    production_averaged_pee,
    survival_probability,
)

S12, S13 = OSCILLATION["sin2_th12"], OSCILLATION["sin2_th13"]
STRUCTURES = ("vector", "scalar", "magnetic")


@pytest.fixture(scope="module")
def b8():
    return SolarB8Source()


@pytest.fixture(scope="module")
def xe131():
    return Nucleus.from_table("Xe131", 4.78)


def test_pee_vacuum_limit():
    # beta -> 0: averaged vacuum oscillations, 1 - sin^2(2 th12)/2, with the th13 factors
    sin2_2th12 = 4 * S12 * (1 - S12)
    expected = (1 - S13) ** 2 * (1 - 0.5 * sin2_2th12) + S13**2
    assert survival_probability(1e-4, 100.0) == pytest.approx(expected, rel=1e-5)
    assert survival_probability(10.0, 0.0) == pytest.approx(expected, rel=1e-12)


def test_pee_adiabatic_limit():
    # beta -> infinity: nu_e produced as nu_2, P = cos^4 th13 sin^2 th12 + sin^4 th13
    expected = (1 - S13) ** 2 * S12 + S13**2
    assert survival_probability(1e5, 100.0) == pytest.approx(expected, rel=1e-5)


def test_pee_reference_values():
    got = production_averaged_pee([1.0, 5.0, 10.0, 15.0])
    assert got == pytest.approx([0.520, 0.394, 0.327, 0.309], abs=1.5e-3)
    # a single n_e = 87.9 N_A/cm^3 changes P_ee by about 1e-3 at most
    single = survival_probability([1.0, 5.0, 10.0, 15.0], 87.9)
    assert np.max(np.abs(single - got)) < 2.5e-3


def test_pee_spectrum_average(b8):
    assert b8.spectrum_averaged_pee() == pytest.approx(0.374, abs=1e-3)


def test_b8_flavour_split(b8):
    e = np.linspace(0.5, 15.0, 30)
    total = b8.total_spectrum(e)
    grid, phi = b8.table("b8_nue")
    assert total == pytest.approx(np.interp(e, grid, phi), rel=1e-12)
    ratio = b8.spectrum("b8_nutau", e) / b8.spectrum("b8_numu", e)
    assert ratio == pytest.approx(OSCILLATION["sin2_th23"] / (1 - OSCILLATION["sin2_th23"]), rel=1e-12)
    # 5.25e6 per cm^2 per s in natural units
    from cevnsfit.constants import CM2_IN_INV_MEV2

    assert np.trapezoid(phi, grid) * CM2_IN_INV_MEV2 == pytest.approx(5.25e6, rel=1e-4)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_tabulated_quadrature_converges(xe131, structure):
    er = np.array([2e-4, 1e-3, 2.5e-3, 3.5e-3])  # MeV (endpoint of 15.5 MeV: 3.9 keV)
    coarse = SolarB8Source(n_gl=4).flux_averaged("b8_nue", structure, er, xe131)
    fine = SolarB8Source(n_gl=8).flux_averaged("b8_nue", structure, er, xe131)
    assert np.all(coarse > 0)
    assert np.max(np.abs(fine / coarse - 1)) < 1e-6


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("group", ["nue", "numubar"])
def test_michel_table_matches_closed_form(structure, group):
    pion = StoppedPionSource(1.76e23, 0.08, 19.3)
    e = np.linspace(0.0, E_DELAYED_MAX, 41)
    groups = [g for g in STOPPED_PION_GROUPS if g.name == group]
    # the polynomial itself (spectrum() is zero at the open endpoint m_mu/2)
    values = pion.eta * sum(c * e**n for n, c in DELAYED_POLY[group].items())
    table = TabulatedSource(groups, {group: (e, values)}, interpolation="cubic", n_gl=8)
    cs = Nucleus.from_table("Cs133", 4.7)
    er = np.array([1e-3, 5e-3, 1.5e-2, 3e-2])
    exact = pion.flux_averaged(group, structure, er, cs)
    assert table.flux_averaged(group, structure, er, cs) == pytest.approx(exact, rel=1e-8)


def test_reactor_against_direct_integration():
    src = ReactorSource(power_mw=3000.0, distance_m=30.0)
    ge = Nucleus.from_table("Ar40", 3.4)
    er = 2e-4
    f = src.fractions
    e_fission = 0.564 * 202.36 + 0.076 * 205.99 + 0.304 * 211.12 + 0.056 * 214.26
    rate = 3000.0 * 1e6 / 1.602176634e-13 / e_fission
    from cevnsfit.constants import CM2_IN_INV_MEV2

    norm = rate / (4 * math.pi * 3000.0**2) / CM2_IN_INV_MEV2

    def integrand(e):
        return (
            norm
            * sum(fi * huber_mueller(e, iso) for iso, fi in f.items())
            * structure_bracket("vector", e, er, ge.mass_mev)
        )

    direct = integrate.quad(integrand, max(float(ge.e_min(er)), 0.5), 10.0, epsrel=1e-10)[0]
    # the table is linear between 0.05-MeV nodes: agreement to the interpolation error
    assert src.flux_averaged("reactor_nuebar", "vector", er, ge) == pytest.approx(direct, rel=2e-4)
    assert src.groups[0].antineutrino and src.groups[0].flavour == "nue"


def test_bad_inputs():
    with pytest.raises(UnknownNameError, match="fissile"):
        ReactorSource(fractions={"Th232": 1.0})
    with pytest.raises(ParameterError, match="sum to 1"):
        ReactorSource(fractions={"U235": 0.5})
    with pytest.raises(UnknownNameError, match="oscillation"):
        survival_probability(1.0, 1.0, {"theta": 1.0})
    with pytest.raises(UnknownNameError, match="flux group"):
        SolarB8Source().flux_averaged("numu_prompt", "vector", 1e-3, Nucleus.from_table("Xe131", 4.78))
