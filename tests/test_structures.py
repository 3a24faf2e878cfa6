"""Interaction structures and the new models against independent numbers (docs: models;
MODELS.md-style checks: zero couplings = SM, closed-form limits, quadrature, scaling laws)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import integrate

import cevnsfit
from cevnsfit.cli import main
from cevnsfit.constants import G_F
from cevnsfit.errors import CevnsfitError, ParameterError, UnknownNameError
from cevnsfit.experiments import get_experiment
from cevnsfit.inference.fits import fit
from cevnsfit.inference.problem import Problem
from cevnsfit.models import MODELS, catalogue, model_from_name
from cevnsfit.physics.cross_section import structure_bracket
from cevnsfit.physics.flux import StoppedPionSource
from cevnsfit.physics.nucleus import Nucleus

SRC = StoppedPionSource(1.76e23, 0.08, 19.3)
CS = Nucleus.from_table("Cs133", 4.7, "helm")


@pytest.mark.parametrize("structure", ["vector", "scalar", "magnetic"])
@pytest.mark.parametrize("group", ["nue", "numubar"])
def test_closed_form_kernels_match_quadrature(structure, group):
    for er in (1e-4, 3e-3, 1.2e-2):
        lo = float(CS.e_min(er))
        f = lambda e: SRC.spectrum(group, e) * structure_bracket(structure, e, er, CS.mass_mev)  # noqa: E731
        num = integrate.quad(f, lo, SRC.delayed_endpoint, epsabs=0, epsrel=1e-12, limit=200)[0]
        assert SRC.flux_averaged(group, structure, er, CS) == pytest.approx(num, rel=1e-6)


def test_prompt_line_is_exact():
    er = np.array([1e-3, 5e-3])
    assert np.allclose(
        SRC.flux_averaged("numu_prompt", "scalar", er, CS),
        SRC.eta * CS.mass_mev**2 * er / (4 * np.pi * SRC.prompt_energy**2),
        rtol=1e-13,
    )


@pytest.mark.parametrize("name", [n for n in MODELS if n != "sm"])
def test_zero_couplings_give_the_sm_bit_for_bit(name):
    exp = get_experiment("csi2017", "paper")
    required = {
        "lmu-ltau": {"mzp_mev": 20.0, "gx": 0.0},
        "b-l": {"mzp_mev": 20.0, "g": 0.0},
        "universal": {"mzp_mev": 20.0, "g": 0.0},
        "vector": {"mzp_mev": 20.0},
        "scalar": {"ms_mev": 5.0, "gs": 0.0},
    }.get(name, {})
    pred = exp.predict(model_from_name(name, **required))
    assert np.array_equal(pred, exp.predict(None))


def test_heavy_vector_mediator_is_nsi():
    """M >> q: Q^BSM -> g_nu [(2Z+N) g_u + (Z+2N) g_d] / (c G_F M^2) = NSI with eps_q = g_nu g_q/(c G_F M^2)."""
    exp = get_experiment("cenns10", "paper")
    m, gnu, gu, gd = 2.0e4, 3e-3, 2e-3, -1e-3
    c = 2 * np.sqrt(2)  # paper matching (the experiment's default)
    vec = model_from_name("vector", mzp_mev=m, g_numu=gnu, g_u=gu, g_d=gd)
    nsi = model_from_name("nsi", eps_u_mumu=gnu * gu / (c * G_F * m**2), eps_d_mumu=gnu * gd / (c * G_F * m**2))
    a, b = exp.predict(vec).sum(), exp.predict(nsi).sum()
    assert a != pytest.approx(exp.predict().sum(), rel=1e-3)  # a visible effect
    assert a == pytest.approx(b, rel=1e-5)  # q^2/M^2 < 1e-5 here


def test_scalar_scales_as_gs4_and_magnetic_as_mu2():
    exp = get_experiment("csi2017", "paper")
    sm = exp.predict().sum()
    s1 = exp.predict(model_from_name("scalar", ms_mev=10.0, gs=1e-5)).sum() - sm
    s2 = exp.predict(model_from_name("scalar", ms_mev=10.0, gs=2e-5)).sum() - sm
    assert s2 / s1 == pytest.approx(16.0, rel=1e-10)
    m1 = exp.predict(model_from_name("magnetic-moment", mu_numu=1e-9)).sum() - sm
    m2 = exp.predict(model_from_name("magnetic-moment", mu_numu=3e-9)).sum() - sm
    assert m2 / m1 == pytest.approx(9.0, rel=1e-10)
    # nu_e moment touches only the nu_e group
    by = exp.predict(model_from_name("magnetic-moment", mu_nue=1e-9), by_flavour=True).sum(axis=(1, 2))
    by_sm = exp.predict(None, by_flavour=True).sum(axis=(1, 2))
    assert by[0] == by_sm[0] and by[2] == by_sm[2] and by[1] > by_sm[1]


def test_flavour_changing_nsi_only_raises_the_rate():
    exp = get_experiment("csi2017", "paper")
    sm = exp.predict().sum()
    for eps in (-0.3, -0.05, 0.05, 0.3):
        assert exp.predict(model_from_name("nsi", eps_u_emu=eps)).sum() > sm
        assert exp.predict(model_from_name("nsi", eps_d_mutau=eps)).sum() > sm


def test_nsi_point_removes_the_coherent_rate_of_one_flavour():
    """2 eps_u + eps_d = -g_p and eps_u + 2 eps_d = -g_n cancel Q_alpha for that flavour."""
    s = 0.23857
    gp, gn = 0.5 - 2 * s, -0.5
    eu, ed = (2 * gp - gn) / -3.0, (2 * gn - gp) / -3.0
    assert 2 * eu + ed == pytest.approx(-gp) and eu + 2 * ed == pytest.approx(-gn)
    exp = get_experiment("csi2017", "paper")
    by = exp.predict(model_from_name("nsi", eps_u_ee=eu, eps_d_ee=ed), by_flavour=True).sum(axis=(1, 2))
    assert abs(by[1]) < 1e-12 * exp.predict().sum()


def test_weak_mixing_at_its_default_is_the_sm_and_shifts_the_charge():
    exp = get_experiment("cenns10", "paper")
    assert np.array_equal(exp.predict(model_from_name("weak-mixing")), exp.predict())
    # Q_V = -(N - (1 - 4 s) Z)/2: a larger s raises |Q_V| and the rate, by the ratio of squares
    r = exp.predict(model_from_name("weak-mixing", s2w=0.25)).sum() / exp.predict().sum()
    q = lambda s: -(22 - (1 - 4 * s) * 18) / 2  # noqa: E731
    assert r == pytest.approx((q(0.25) / q(0.23857)) ** 2, rel=1e-12)


def test_neutron_radius_combines_and_rescales_the_form_factor():
    exp = get_experiment("csi2017", "paper")
    same = model_from_name("lmu-ltau+neutron-radius", mzp_mev=20.0, gx=5e-4, rn_cs=4.7, rn_i=4.7)
    alone = model_from_name("lmu-ltau", mzp_mev=20.0, gx=5e-4)
    assert exp.predict(same).sum() == pytest.approx(exp.predict(alone).sum(), rel=1e-12)
    bigger = exp.predict(model_from_name("neutron-radius", rn_cs=5.5, rn_i=5.5)).sum()
    assert bigger < exp.predict().sum()  # a larger radius suppresses F^2 at q > 0


def test_declared_parameter_space_refuses_bad_values():
    with pytest.raises(ParameterError, match=r"allowed range \(0, 100000\] MeV"):
        model_from_name("scalar", ms_mev=-1.0, gs=1e-5)
    with pytest.raises(UnknownNameError, match="allowed: mu_nue, mu_numu, mu_nutau"):
        model_from_name("magnetic-moment", mu_nux=1e-9)
    with pytest.raises(UnknownNameError, match="allowed: sm, lmu-ltau"):
        model_from_name("axion")
    with pytest.raises(ParameterError, match="needs mzp_mev"):
        model_from_name("lmu-ltau", gx=1e-3)
    with pytest.raises(UnknownNameError, match="this model has: s2w"):
        Problem(cevnsfit.likelihood("ccm"), "weak-mixing", poi=["gx"])


def test_catalogue_lists_every_model_with_declared_parameters():
    cat = catalogue()
    assert [m["name"] for m in cat] == list(MODELS)
    out = CliRunner().invoke(main, ["models", "--json"])
    assert out.exit_code == 0
    js = json.loads(out.output)
    nsi = next(m for m in js if m["name"] == "nsi")
    assert len(nsi["parameters"]) == 12 and {"eps_u_emu", "eps_d_tautau"} <= {p["name"] for p in nsi["parameters"]}
    for m in js:
        for p in m["parameters"]:
            assert p["prior"] in ("log-uniform", "uniform") and p["low"] <= p["default"] <= p["high"]


def test_generic_fit_recovers_the_truth_on_asimov_data():
    """CCM is an Asimov projection of the SM: the MLE of s_W^2 is its SM value and t = 0."""
    res = fit(Problem(cevnsfit.likelihood("ccm"), "weak-mixing", poi=["s2w"]))
    assert res["mle"]["s2w"] == pytest.approx(0.23857, abs=2e-4)
    assert res["t"] == pytest.approx(0.0, abs=1e-6)


def test_two_poi_fit_and_profiled_nuisance():
    like = cevnsfit.likelihood("ccm")
    res = fit(Problem(like, "nsi", poi=["eps_u_ee", "eps_d_ee"]))
    assert res["t"] == pytest.approx(0.0, abs=1e-6)
    p = Problem(like, "weak-mixing+neutron-radius", poi=["s2w"], profile=["rn_ar"])
    # profiling can only raise ln L relative to fixing the nuisance at the experiment's value
    fixed = Problem(like, "weak-mixing", poi=["s2w"])
    assert float(p.logl(0.245)) >= float(fixed.logl(0.245)) - 1e-6


def test_cli_model_param_poi():
    r = CliRunner()
    out = r.invoke(main, ["predict", "cenns10", "--mzp", "20", "--gx", "1e-3", "--json"])
    js = json.loads(out.output)
    assert js["model"]["name"] == "lmu-ltau" and js["ratio_to_sm"] < 1  # not the SM
    out = r.invoke(main, ["fit", "--datasets", "ccm", "--model", "weak-mixing", "--poi", "s2w", "--json"])
    assert out.exit_code == 0 and "s2w" in json.loads(out.output)["mle"]
    out = r.invoke(main, ["fit", "--model", "scalar", "--poi", "mass"])
    assert out.exit_code != 0 and "allowed: ms_mev, gs" in out.output
    out = r.invoke(main, ["fit", "--model", "scalar", "--poi", "gs", "--poi", "ms_mev", "--poi", "gs"])
    assert out.exit_code != 0


def test_duplicate_exposures_are_refused():
    for bad in ("csi2017,csi2017", "csi2017,csi2021", "cenns10,cenns10_totals"):
        with pytest.raises(CevnsfitError, match="counts the same events twice"):
            cevnsfit.likelihood(bad)
    with pytest.raises(CevnsfitError, match="no dataset given|datasets is empty"):
        cevnsfit.likelihood("")


def test_checkpointed_scan_of_any_model_equals_the_direct_map(tmp_path):
    from cevnsfit.inference.exclusion import exclusion
    from cevnsfit.inference.problem import ProblemSpec
    from cevnsfit.inference.scan import ProblemEvaluator, grid_scan

    spec = ProblemSpec(("csi2017", "cenns10"), model="magnetic-moment", poi=("mu_nue", "mu_numu"))
    ev = ProblemEvaluator(spec)
    problem = spec.build()
    axes = {k: np.linspace(*b, 6) for k, b in zip(ev.keys, problem.internal_box)}
    grid = np.asarray(grid_scan(ev, axes, tmp_path / "scan", scheduler="synchronous", chunk_size=10)).reshape(6, 6)
    direct = exclusion(problem, (6, 6))
    via_scan = exclusion(problem, (6, 6), logl_grid=grid)
    assert np.allclose(direct["t"], via_scan["t"], rtol=0, atol=1e-9)
