"""Photon-exchange models (charge radius, millicharge) against closed forms, and the
interaction-structure table (docs: physics/models, photon exchange; physics/cross-section)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevnsfit.constants import ALPHA_EM, E_CHARGE, G_F, HBARC_MEV_FM, SIN2_THETA_W
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.experiments import get_experiment
from cevnsfit.models import model_from_name
from cevnsfit.models.base import Couplings
from cevnsfit.physics import cross_section
from cevnsfit.physics.flux import StoppedPionSource
from cevnsfit.physics.nucleus import Nucleus

# Q~ per unit <r^2>: (2/3) m_W^2 s_W^2 <r^2> with the tree-level m_W^2 s_W^2 = pi alpha/(sqrt2 G_F),
# and 1e-32 cm^2 = 1e-6 fm^2 /(hbar c)^2 in MeV^-2 (computed here, independently of the package).
R2_UNIT = (2.0 / 3.0) * math.pi * ALPHA_EM / (math.sqrt(2.0) * G_F) * 1e-6 / HBARC_MEV_FM**2


def test_charge_radius_unit_is_the_textbook_number():
    # ~0.0238 per 1e-32 cm^2: a radius of 1e-32 cm^2 moves s_W^2 by ~0.012
    assert R2_UNIT == pytest.approx(0.02379, rel=1e-3)


@pytest.mark.parametrize("name", ["csi2017", "cenns10"])
def test_equal_diagonal_charge_radii_are_a_shift_of_the_weak_mixing_angle(name):
    """g_p - Q~ = 1/2 - 2 (s_W^2 + Q~/2): the same radius for every flavour is s_W^2 -> s_W^2 + Q~/2."""
    exp = get_experiment(name, "paper")
    r2 = -3.7
    cr = model_from_name("charge-radius", r2_ee=r2, r2_mumu=r2, r2_tautau=r2)
    wm = model_from_name("weak-mixing", s2w=SIN2_THETA_W + R2_UNIT * r2 / 2.0)
    np.testing.assert_allclose(exp.predict(cr), exp.predict(wm), rtol=1e-11)


def test_one_flavour_radius_moves_only_that_flavour():
    exp = get_experiment("csi2017", "paper")
    r2 = 5.0
    by = exp.predict(model_from_name("charge-radius", r2_mumu=r2), by_flavour=True)
    sm = exp.predict(None, by_flavour=True)
    wm = exp.predict(model_from_name("weak-mixing", s2w=SIN2_THETA_W + R2_UNIT * r2 / 2.0), by_flavour=True)
    # groups (numu_prompt, nue, numubar)
    assert np.array_equal(by[1], sm[1])
    np.testing.assert_allclose(by[[0, 2]], wm[[0, 2]], rtol=1e-11)


def _groups(exp, model):
    """Total counts per flux group (numu_prompt, nue, numubar)."""
    return exp.predict(model, by_flavour=True).reshape(3, -1).sum(axis=1)


def test_transition_radius_adds_incoherently_and_scales_quadratically():
    exp = get_experiment("cenns10", "paper")
    sm = _groups(exp, None)
    d1 = _groups(exp, model_from_name("charge-radius", r2_emu=10.0)) - sm
    d2 = _groups(exp, model_from_name("charge-radius", r2_emu=-20.0)) - sm
    assert np.all(d1 > 0)  # nu_e and nu_mu (both groups) gain rate
    np.testing.assert_allclose(d2, 4.0 * d1, rtol=1e-10)
    # |Q_emu|^2 = (Z Q~)^2 adds to C: relative to the SM coefficient Q_V^2, flavour by flavour
    q_sm = 18 * (0.5 - 2 * SIN2_THETA_W) - 0.5 * 22
    np.testing.assert_allclose(d1 / sm, (18 * R2_UNIT * 10.0) ** 2 / q_sm**2, rtol=1e-10)
    # tau: not in a stopped-pion beam; r2_etau touches nu_e only
    dt = _groups(exp, model_from_name("charge-radius", r2_etau=10.0)) - sm
    assert dt[1] > 0 and dt[0] == 0 and dt[2] == 0


MILLI = 2.0 * math.sqrt(2.0) * math.pi * ALPHA_EM / G_F


def test_millicharge_is_a_massless_vector_with_the_photon_couplings():
    """A Z' with g_nu = e q, g_u = 2e/3, g_d = -e/3 and full matching (c = sqrt2) is photon
    exchange: delta Q = Z e^2 q / (sqrt2 G_F (Q^2 + M^2)) -> the millicharge as M -> 0."""
    cs = Nucleus.from_table("Cs133", 4.7, "helm")
    q2 = 2 * cs.mass_mev * np.linspace(1e-3, 3e-2, 9)
    q = 2.3e-8
    mc = model_from_name("millicharge", q_ee=q).couplings(cs, q2).dq["nue"]
    vec = model_from_name("vector", mzp_mev=1e-3, g_nue=E_CHARGE * q, g_u=2 * E_CHARGE / 3, g_d=-E_CHARGE / 3)
    ref = vec.delta_qv("nue", cs.Z, cs.N, q2, matching="full")
    np.testing.assert_allclose(mc, ref, rtol=1e-8)  # (M/Q)^2 < 1e-8
    np.testing.assert_allclose(mc, 55 * MILLI * q / q2, rtol=1e-14)


def test_millicharge_vanishes_as_one_over_q2_and_is_quadratic_in_q():
    exp = get_experiment("csi2017", "paper")
    cs = Nucleus.from_table("Cs133", 4.7, "helm")
    q2 = np.geomspace(1e2, 1e8, 7)
    dq = model_from_name("millicharge", q_mumu=1e-8).couplings(cs, q2).dq["numu"]
    np.testing.assert_allclose(dq * q2, dq[0] * q2[0], rtol=1e-13)  # Q^2 -> infinity: no effect
    # the rate is a quadratic polynomial in q (interference + square): second differences agree
    n = {k: exp.predict(model_from_name("millicharge", q_mumu=k * 1e-8)).sum() for k in (-1, 0, 1, 2)}
    assert n[2] - 2 * n[1] + n[0] == pytest.approx(n[1] + n[-1] - 2 * n[0], rel=1e-8)
    # a positive charge on the positive nucleus: destructive for small q
    assert n[1] < n[0] < n[-1]


def test_zero_is_the_sm_exactly_and_bad_input_is_refused():
    exp = get_experiment("cenns10", "paper")
    for name in ("charge-radius", "millicharge"):
        assert np.array_equal(exp.predict(model_from_name(name)), exp.predict(None))
    ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    with pytest.raises(ParameterError, match="q2_mev2 must be > 0"):
        model_from_name("millicharge", q_ee=1e-8).couplings(ar, np.array([0.0, 10.0]))
    with pytest.raises(UnknownNameError, match="allowed: r2_ee, r2_emu"):
        model_from_name("charge-radius", r2_ex=1.0)
    with pytest.raises(ParameterError, match="outside its allowed range"):
        model_from_name("millicharge", q_ee=1.0)


# ----------------------------------------------------------------- the structure table


def test_unknown_structure_is_an_error_naming_the_known_ones():
    for call in (
        lambda: cross_section.structure_bracket("tensor", 30.0, 0.01, 1e5),
        lambda: StoppedPionSource(1e23, 0.08, 20.0).flux_averaged(
            "nue", "tensor", 0.01, Nucleus.from_table("Ar40", 4.1)
        ),
    ):
        with pytest.raises(UnknownNameError, match="allowed: 'vector', 'scalar', 'magnetic'"):
            call()
    with pytest.raises(UnknownNameError, match="unknown structure coefficient 'tensor'"):
        Couplings(tensor={"nue": 1.0})


def test_a_structure_is_one_record(monkeypatch):
    """A new record (here a 'tensor'-like bracket with no stopped-pion closed form) is picked up
    by the brackets, the stopped-pion flux average (by quadrature), Couplings and the engine."""
    rec = cross_section.Structure(
        "test-flat",
        lambda e, er, m: 1e-20 * (1.0 + 0.0 * e * er),
        "a test bracket",
        "weak",
        False,
        "test_flat",
    )
    monkeypatch.setitem(cross_section.STRUCTURES, rec.name, rec)
    src = StoppedPionSource(1.76e23, 0.08, 19.3)
    cs = Nucleus.from_table("Cs133", 4.7, "helm")
    er = np.array([1e-3, 1e-2])
    # a constant bracket averages to 1e-20 x the integral of the spectrum above E_min
    lo = cs.e_min(er)
    frac = np.array([src.spectrum("nue", np.linspace(x, src.delayed_endpoint, 20001)) for x in lo])
    expect = 1e-20 * np.trapezoid(frac, np.linspace(lo, src.delayed_endpoint, 20001).T, axis=1)
    np.testing.assert_allclose(src.flux_averaged("nue", rec.name, er, cs), expect, rtol=1e-6)
    # the closed forms of the existing records agree with the quadrature fallback
    for s in ("vector", "scalar", "magnetic"):
        closed = src.flux_averaged("numubar", s, er, cs)
        quadr = src.eta * src._quadrature(
            s, {2: 64 * 0.75 / 105.6583755**3, 3: -64 / 105.6583755**4}, lo, src.delayed_endpoint, er, cs.mass_mev
        )
        np.testing.assert_allclose(quadr, closed, rtol=1e-10)
    c = Couplings(test_flat={"nue": np.ones(2)})
    assert np.array_equal((c + c).test_flat["nue"], 2 * np.ones(2))


def test_the_engine_picks_up_a_new_record(monkeypatch):
    """A model returning the coefficient of a new record changes the binned prediction by
    C x (the record's kernel), built by the engine from the table (no engine edit)."""
    from cevnsfit.models.base import Model
    from cevnsfit.rates.kernels import kernel

    rec = cross_section.Structure(
        "test-scalar-copy", cross_section.STRUCTURES["scalar"].bracket, "copy", "weak", False, "test_copy"
    )
    monkeypatch.setitem(cross_section.STRUCTURES, rec.name, rec)

    class Copy(Model):
        NAME = "copy"

        def __init__(self, c):
            self.shape, self.values, self.c = (), {}, c

        def couplings(self, nucleus, q2_mev2, matching="paper", sin2_theta_w=None):
            return Couplings(test_copy={"nue": np.full(np.shape(q2_mev2), self.c)})

    class Scalar(Copy):
        def couplings(self, nucleus, q2_mev2, matching="paper", sin2_theta_w=None):
            return Couplings(scalar={"nue": np.full(np.shape(q2_mev2), self.c)})

    exp = get_experiment("ccm", "paper")
    sm = exp.predict(None)
    new = exp.predict(Copy(1e-12)) - sm
    assert new.sum() > 0
    # the same bracket through the scalar record (closed form) gives the same counts
    np.testing.assert_allclose(new, exp.predict(Scalar(1e-12)) - sm, rtol=1e-9, atol=1e-12 * new.max())
    src, blk = exp.engine.source, exp.engine.blocks[0]
    k_new = kernel("nue", blk.er_mev, blk.nucleus, src, blk.n_targets, structure=rec.name)
    k_old = kernel("nue", blk.er_mev, blk.nucleus, src, blk.n_targets, structure="scalar")
    np.testing.assert_allclose(k_new, k_old, rtol=1e-9)
