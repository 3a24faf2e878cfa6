"""Model predictions through the rate engine: SM limit, sign of the L_mu - L_tau effect,
vectorisation, matching and sign options, CLI."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cevnsfit.cli import main
from cevnsfit.experiments import EXPERIMENTS, get_experiment
from cevnsfit.models import BminusL, LmuLtau, UniversalVector

POINT = dict(mzp_mev=20.0, gx=5.6e-4, r=1.0)


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("mode", ["paper", "full"])
def test_gx_zero_is_sm_bit_for_bit(name, mode):
    exp = get_experiment(name, mode)
    assert np.array_equal(exp.predict(LmuLtau(20.0, 0.0)), exp.predict(None))
    assert np.array_equal(exp.predict(LmuLtau(20.0, 0.0), by_flavour=True), exp.predict(None, by_flavour=True))


@pytest.mark.parametrize("name", ["csi2017", "cenns10", "ccm", "csi2021"])
def test_lmu_ltau_lowers_numu_and_leaves_nue(name):
    exp = get_experiment(name)
    sm = exp.predict(None, by_flavour=True).reshape(3, -1).sum(1)
    bsm = exp.predict(LmuLtau(**POINT), by_flavour=True).reshape(3, -1).sum(1)
    assert bsm[0] < sm[0] and bsm[2] < sm[2]  # prompt nu_mu, anti-nu_mu: destructive
    assert bsm[1] == sm[1]  # nu_e untouched, exactly
    # the prompt line has the lower momentum transfer on average -> larger relative effect
    assert bsm[0] / sm[0] < bsm[2] / sm[2]


def test_large_coupling_flips_qv_sign_and_restores_rate():
    # Q_V -> Q_V^SM + d with d ~ g^2: at some g the nu_mu Q_V is -Q_V^SM (rate back to SM)
    exp = get_experiment("ccm")
    g = np.logspace(-4, -1, 400)
    tot = exp.predict(LmuLtau(np.full_like(g, 100.0), g), by_flavour=True)[:, 0].sum(-1)
    sm = exp.predict(None, by_flavour=True)[0].sum()
    i_min = np.argmin(tot)
    assert tot[i_min] < 0.05 * sm  # near-total cancellation of the coherent nu_mu rate
    assert tot[-1] > sm  # beyond: larger than SM


def test_vectorised_equals_loop():
    exp = get_experiment("cenns10")
    m = np.array([5.0, 20.0, 300.0])
    g = np.array([1e-4, 5.6e-4, 3e-3])
    r = np.array([0.01, 1.0, 100.0])
    batch = exp.predict(LmuLtau(m, g, r))
    loop = np.stack([exp.predict(LmuLtau(mi, gi, ri)) for mi, gi, ri in zip(m, g, r)])
    assert batch.shape == (3,) + exp.shape
    assert np.allclose(batch, loop, rtol=1e-12, atol=0)


def test_grid_broadcast_shape():
    exp = get_experiment("csi2017")
    m = LmuLtau(np.logspace(0.5, 3, 7)[:, None], np.logspace(-4, -1, 5)[None, :])
    assert exp.predict(m).shape == (7, 5) + exp.shape


def test_full_matching_doubles_the_amplitude():
    # d_full = 2 d_paper; the rate deficit is 2 Q d + d^2 and its linear part doubles
    exp = get_experiment("csi2017")
    sm = exp.total()
    small = LmuLtau(20.0, 1e-5)
    dp = sm - exp.total(small, matching="paper")
    df = sm - exp.total(small, matching="full")
    assert df / dp == pytest.approx(2.0, rel=1e-4)  # d^2/(2 Q d) ~ 3e-6 here
    assert df / dp < 2.0  # and that correction is negative (d > 0, Q < 0)


def test_paper_sign_moves_rates_by_a_small_amount():
    exp = get_experiment("cenns10")
    sm = exp.total()
    phys = sm - exp.total(LmuLtau(20.0, 5.6e-4))
    printed = sm - exp.total(LmuLtau(20.0, 5.6e-4, paper_sign=True))
    assert printed != phys
    assert abs(printed / phys - 1) < 0.05  # percent-level on the deficit


def test_slepton_ratio_enhances_effect():
    exp = get_experiment("csi2017")
    sm = exp.total()
    d = {r: sm - exp.total(LmuLtau(20.0, 3e-4, r=r)) for r in (0.01, 1.0, 100.0)}
    assert d[0.01] < d[1.0] < d[100.0]


def test_other_mediators_run_through_the_same_engine():
    exp = get_experiment("csi2017")
    sm = exp.total()
    # B-L: Q_V^BSM = -A g^2/(...) < 0 adds to the negative SM charge: the rate rises
    assert exp.total(BminusL(50.0, 1e-4)) > sm
    # universal vector: +3A g^2/(...) > 0, destructive, and flavour-blind (nu_e changes too)
    by = exp.predict(UniversalVector(50.0, 1e-4), by_flavour=True).reshape(3, -1).sum(1)
    assert by[1] < exp.predict(None, by_flavour=True).reshape(3, -1).sum(1)[1]


def test_cli_predict_model_json():
    res = CliRunner().invoke(
        main, ["predict", "csi2017", "--model", "lmu-ltau", "--mzp", "20", "--gx", "5.6e-4", "--r", "1", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("experiment", "mode", "total", "by_flavour", "bins", "sm_total", "ratio_to_sm"):
        assert key in out
    assert 0.9 < out["ratio_to_sm"] < 1.0
    assert out["total"] == pytest.approx(sum(out["by_flavour"].values()), rel=1e-12)


def test_cli_rejects_bad_parameters():
    runner = CliRunner()
    res = runner.invoke(main, ["predict", "cenns10", "--model", "lmu-ltau", "--mzp", "-5", "--gx", "1e-3"])
    assert res.exit_code != 0 and "mzp_mev" in res.output
    res = runner.invoke(main, ["predict", "cenns10", "--model", "lmu-ltau", "--mzp", "5", "--gx", "nan"])
    assert res.exit_code != 0 and "gx" in res.output
    res = runner.invoke(main, ["predict", "nosuch"])
    assert res.exit_code != 0 and "unknown experiment" in res.output


def test_cli_g2_json():
    res = CliRunner().invoke(main, ["g2", "--mzp", "20", "--json"])
    out = json.loads(res.output)
    assert out["gx_central"] == pytest.approx(5.56e-4, rel=2e-3)  # PHYSICS.md check
    assert out["gx_low"] < out["gx_central"] < out["gx_high"]


def test_cli_predict_plot(tmp_path):
    f = tmp_path / "spec.png"
    res = CliRunner().invoke(
        main, ["predict", "cenns10", "--model", "lmu-ltau", "--mzp", "20", "--gx", "5.6e-4", "--plot", str(f)]
    )
    assert res.exit_code == 0, res.output
    assert f.stat().st_size > 10_000
