"""Experiments: SM predictions against published numbers, internal conservation laws,
grid convergence and input validation."""

import numpy as np
import pytest

from cevnsfit.constants import MOLAR_MASS_G, N_A
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.experiments import get_experiment
from cevnsfit.experiments.base import n_targets
from cevnsfit.outputs.validation import prediction_checks


def test_validation_rows_pass():
    rows = prediction_checks()
    names = [r["name"] for r in rows]
    assert any("csi2017" in n for n in names) and any("csi2021" in n for n in names)
    failed = [r for r in rows if not r["pass"]]
    assert not failed, failed


def test_csi2017_sm_close_to_coherent():
    e = get_experiment("csi2017", "paper", pe_window=(6, 30), t_window_us=(0, 12))
    assert e.predict().sum() == pytest.approx(173.0, rel=0.10)  # arXiv:1708.01294


def test_cenns10_paper_energy_projection_matches_release_where_populated():
    e = get_experiment("cenns10", "paper")
    ours = e.predict().sum(axis=(1, 2))
    tmpl = e.data["cevns_template"].sum(axis=(1, 2))
    big = tmpl > 5
    assert np.all(np.abs(ours[big] / tmpl[big] - 1) < 0.25)
    assert e.predict().sum() == pytest.approx(128.0, rel=0.10)


def test_cenns10_paper_marginals_are_release_shapes():
    e = get_experiment("cenns10", "paper")
    pred = e.predict()
    tmpl = e.data["cevns_template"]
    assert np.allclose(pred.sum(axis=(0, 2)) / pred.sum(), tmpl.sum(axis=(0, 2)) / tmpl.sum(), rtol=1e-12)
    assert np.allclose(pred.sum(axis=(0, 1)) / pred.sum(), tmpl.sum(axis=(0, 1)) / tmpl.sum(), rtol=1e-12)


def test_cenns10_full_sm_is_the_release_template():
    e = get_experiment("cenns10", "full")
    assert np.allclose(e.predict(), e.data["cevns_template"], rtol=1e-12, atol=1e-12)


def test_cenns10_arrival_shapes_match_release_timing():
    # prompt + delayed shapes weighted by the SM flavour shares reproduce the shape of the
    # release's CEvNS time projection; 91.5 % of the delayed-weighted sum falls in the window
    e = get_experiment("cenns10", "paper")
    by = e.predict(by_flavour=True).sum(axis=(1, 2, 3))
    shapes = e.info["arrival_time_shapes"]
    ours = (by[0] * shapes["prompt"] + (by[1] + by[2]) * shapes["delayed"]) / by.sum()
    assert 0.85 < ours.sum() < 0.95  # delayed tail beyond 4.9 us (muon lifetime 2.2 us)
    ours = ours / ours.sum()
    tmpl = e.data["cevns_template"].sum(axis=(0, 1)) / 128.0
    assert np.max(np.abs(ours - tmpl)) < 0.06


def test_csi2020_totals_sm_is_333():
    assert get_experiment("csi2020_totals").predict() == pytest.approx([333.0], rel=1e-12)


def test_csi2017_prompt_neutrons_match_release_total():
    # promptPDF x 7.47594 GWh x acceptance: 7.62 events over 0-50 PE (data README)
    e = get_experiment("csi2017", "paper", pe_window=(0, 50), t_window_us=(0, 12))
    assert e.data["prompt_neutrons"].sum() == pytest.approx(7.62, abs=0.01)
    assert e.data["C"].sum() == 1207 and e.data["AC"].sum() == 1032


def test_flavour_shares_and_prompt_timing():
    e = get_experiment("csi2017", "paper", pe_window=(6, 30), t_window_us=(0, 12))
    by = e.predict(by_flavour=True)
    # prompt nu_mu only in early bins: its time profile is the prompt PDF
    prompt_t = by[0].sum(axis=0) / by[0].sum()
    assert prompt_t[:3].sum() > 0.99
    # three groups add up to the total
    assert np.allclose(by.sum(axis=0), e.predict(), rtol=1e-13)


def test_isotope_sum():
    e = get_experiment("csi2017", "paper")
    eng = e.engine
    total = eng.energy_counts(None)
    parts = sum(
        (blk.nucleus.Z * 0 + 1)
        * np.stack(
            [
                (
                    __import__("cevnsfit.physics.cross_section", fromlist=["qv_sm"]).qv_sm(
                        blk.nucleus.Z, blk.nucleus.N, eng.sin2_theta_w
                    )
                    ** 2
                )
                * blk.colsums[g]
                for g in ("numu_prompt", "nue", "numubar")
            ]
        )
        for blk in eng.blocks
    )
    assert np.allclose(total, parts, rtol=1e-13)
    assert len(eng.blocks) == 2
    # Cs and I have nearly equal target numbers and Q_V^2 ~ N^2: Cs gives more (N=78 vs 74)
    cs, i = eng.blocks
    assert cs.n_targets == i.n_targets == pytest.approx(14.6e3 * N_A / MOLAR_MASS_G["CsI"], rel=1e-12)


def test_n_targets_units():
    assert n_targets(14.6, MOLAR_MASS_G["CsI"]) == pytest.approx(3.384e25, rel=1e-3)


@pytest.mark.parametrize(
    "name,coarse,fine",
    [
        ("csi2017", {"nodes_per_segment": 6}, {"nodes_per_segment": 12}),
        ("cenns10", {}, {"max_width_kev": 2.0, "nodes_per_segment": 16}),
        ("csi2021", {}, {"max_width_kev": 1.0, "nodes_per_segment": 16}),
        ("ccm", {}, {"nodes_per_segment": 12}),
    ],
)
def test_recoil_grid_converged(name, coarse, fine):
    a = get_experiment(name, "paper", **coarse).predict()
    b = get_experiment(name, "paper", **fine).predict()
    populated = b > 1e-3 * b.max()
    assert np.max(np.abs(a[populated] / b[populated] - 1)) < 1e-3


def test_poisson_smearing_conserves_events_before_acceptance():
    e = get_experiment("csi2017", "full", pe_window=(0, 50), t_window_us=(0, 12))
    # with smearing the 0-50 PE window gets more events than deterministic binning
    # (upward fluctuations cross the acceptance threshold), but less than twice as many
    det = get_experiment("csi2017", "paper", pe_window=(0, 50), t_window_us=(0, 12)).predict().sum()
    assert det < e.predict().sum() < 2 * det


def test_input_validation():
    with pytest.raises(UnknownNameError, match="known"):
        get_experiment("xenon1t")
    with pytest.raises(UnknownNameError, match="mode"):
        get_experiment("csi2017", "best")
    with pytest.raises(ParameterError, match="pe_window"):
        get_experiment("csi2017", pe_window=(7, 30))
    with pytest.raises(ParameterError, match="t_window_us"):
        get_experiment("csi2017", t_window_us=(0, 20))
    with pytest.raises(ParameterError, match="pe_window"):
        get_experiment("csi2017", pe_window=(6, float("nan")))
