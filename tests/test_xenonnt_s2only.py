"""XENONnT S2-only data set (unit ``cevnsfit.datasets.xenonnt_s2only``): the release read from its
files, the nominal expectation from its templates, the observed counts, the SM CEvNS expectation
against an independent integration, the profile against MIGRAD, the overlap refusal and bad options.
The comparison numbers are the release's own tables (``data/background_srN.csv``) and the
curator's arithmetic in the release's README-curation (sections 2 and 4), not our output."""

import csv
import shutil

import numpy as np
import pytest

import cevnsfit
from cevnsfit.data.registry import fetch
from cevnsfit.datasets import get_dataset
from cevnsfit.datasets import xenonnt_s2only as unit
from cevnsfit.datasets.xenonnt_s2only import release
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.models import LmuLtau


@pytest.fixture(scope="module")
def term():
    return unit.term()


@pytest.fixture(scope="module")
def like(term):
    return term.term


def _csv_rows(run):
    with open(fetch(f"xenonnt-s2only-2026/data/background_{run}.csv"), newline="") as fh:
        rows = list(csv.reader(fh))
    return {r[0]: np.array([float(v) for v in r[1:]]) for r in rows[1:]}


def test_nominal_expectation_is_the_release_templates(like):
    # The expectation at the nominal nuisances, built from the h5 templates through the yaml,
    # equals the release's own table (MakeTemplate wrote it from the same templates) times the
    # livetimes (to the rounding of a product); the totals are the curator's (README-curation section 4).
    parts = like.expectation_folded(like.release_cevns, by_source=True)
    livetime = {"sr0": 1.50, "sr1": 2.44, "sr2": 3.89}
    for run in like.runs:
        table = _csv_rows(run)
        for comp in ("cevns", "de", "ae", "cathode"):
            key = comp if comp == "cevns" else f"{comp}_{run}"
            if (run, key) not in parts:
                assert comp == "ae" and run == "sr2"  # no ae source in SR2 (yaml)
                continue
            # exact up to the rounding of mu x pmf (blueice's form): at most 2 ulp
            np.testing.assert_allclose(parts[(run, key)], table[comp] * livetime[run], rtol=4.5e-16, atol=0)
    total = like.expectation_folded(like.release_cevns)
    per_run = total.reshape(3, 7).sum(1)
    cevns = {r: parts[(r, "cevns")].sum() for r in like.runs}
    np.testing.assert_allclose(per_run, [595.697, 798.555, 1256.619], atol=1e-3)  # incl. CEvNS, as the curator's
    np.testing.assert_allclose(list(cevns.values()), [20.566, 29.444, 32.306], atol=1e-3)
    # per-bin expectation of all sources, SR0 (curator's table, 2 decimals)
    np.testing.assert_allclose(total[:7], [241.85, 167.45, 76.92, 48.51, 27.85, 22.44, 10.68], atol=0.006)


def test_observed_counts(like):
    assert like.observed() == {"sr0": 583.0, "sr1": 864.0, "sr2": 1107.0}
    assert like.counts.reshape(3, 7).tolist() == [
        [220, 171, 85, 48, 28, 21, 10],
        [239, 243, 160, 90, 69, 43, 20],
        [239, 391, 222, 107, 83, 37, 28],
    ]


def test_statistical_model_is_read_not_retyped(like):
    # 16 nuisances with the yaml's widths (relative x nominal), limits and the shared parameters.
    assert len(like.names) == 16
    sig = dict(zip(like.names, like.sigma))
    assert sig["cevns_rate_multiplier"] == 0.0381 and sig["cathode_sr2_rate_multiplier"] == 0.074
    assert sig["t_qy"] == 1.0 and sig["signal_efficiency_sr1"] == 0.112
    assert [s.name for s in like.sources].count("cevns") == 3  # one CEvNS source per run ...
    assert len({s.rate for s in like.sources if s.name == "cevns"}) == 1  # ... one shared rate


def test_corrected_release_needs_no_code(tmp_path, monkeypatch):
    # A release with another constraint width is read as such (the yaml, not code, holds it).
    src = fetch("xenonnt-s2only-2026/s2_only_statistical_model.yaml")
    text = src.read_text().replace("uncertainty: 0.0381", "uncertainty: 0.05")
    (tmp_path / "m.yaml").write_text(text)
    real = release.fetch

    def fake(rel):
        return tmp_path / "m.yaml" if rel.endswith("statistical_model.yaml") else real(rel)

    monkeypatch.setattr(release, "fetch", fake)
    params, runs = release.read_statistical_model()
    assert params["cevns_rate_multiplier"].sigma == 0.05
    assert [r.exposure_ty for r in runs] == [1.50, 2.44, 3.89]


def test_sm_expectation_against_direct_integration(term, like):
    # Independent estimate: dR/dE on a fine grid (the engine's recoil spectrum) times the SR0
    # response at t_qy = 0 interpolated linearly in energy, integrated by the trapezoid rule over
    # 0.495-5.05 keV. The release's slot rule differs from it only by quadrature (~1 %).
    exp = term.experiment
    resp = exp.data["response"]["sr0"][3]  # (50, 7), t_qy = 0
    e_grid = exp.data["energies_kev"]
    e = np.linspace(0.495, 5.05, 911)
    rate = exp.engine.recoil_spectrum(e * 1e-3).sum(0) * 1e-3  # events/(t y keV)
    r_e = np.stack([np.interp(e, e_grid, resp[:, b]) for b in range(7)], 1)
    direct = 1.50 * np.trapezoid(rate[:, None] * r_e, e, axis=0).sum()
    ours = like.fold(exp.predict())[0, 3].sum()
    assert ours == pytest.approx(direct, rel=0.015)
    # and the release's own template total (different flux/yield inputs, README-curation section 5)
    assert ours == pytest.approx(20.566, rel=0.05)


def test_validation_rows(like):
    rows = unit.validation()
    for r, quoted in unit.RELEASE_CEVNS_QUOTED.items():
        assert round(rows[r]["cevns_release"], 2) == quoted
        assert 1.0 < rows[r]["ratio_ours_release"] < 1.06
    assert rows["sr2"]["background"].keys() == {"cathode_sr2", "de_sr2"}
    assert "| SR1 |" in unit.validation_table(rows)


def test_overlap_with_xenonnt_refused():
    with pytest.raises(ParameterError, match="xenonnt-8b-sr0-sr2"):
        cevnsfit.likelihood("xenonnt,xenonnt_s2only")
    assert get_dataset("xenonnt_s2only").term().exposures == ("xenonnt-8b-sr0-sr2",)


def test_bad_options():
    with pytest.raises(ParameterError, match="allowed: runs"):
        unit.term(pe_window=(1, 2))
    with pytest.raises(UnknownNameError, match="flux"):
        unit.term(flux="loose")
    with pytest.raises(UnknownNameError, match="sr3"):
        unit.experiment(runs=("sr0", "sr3"))
    with pytest.raises(UnknownNameError, match="mode"):
        unit.term(mode="fast")
    like = unit.term().term
    with pytest.raises(UnknownNameError, match="known: cathode"):
        like.fit(like.exp.predict(), fixed={"phi": 1.0})
    with pytest.raises(ParameterError, match="recoil slots"):
        like.fold(np.ones(46))


def test_single_run_selection():
    t = unit.term(runs="sr1")
    # SR1's own: cathode rate and t_sys, de, ae, efficiency; shared: CEvNS rate and t_qy
    assert t.term.runs == ("sr1",) and t.term.k == 7
    assert np.isfinite(t.logl_model(None))


@pytest.mark.parametrize("scale", [1.0, 0.2, 2.5, 40.0])
def test_profile_matches_migrad(like, scale):
    pred = like.exp.predict() * scale
    newton = like.fit(pred)
    ref = like.fit_migrad(pred)
    assert newton["converged"]
    assert newton["twice_nll"] <= ref["twice_nll"] + 1e-6
    assert newton["twice_nll"] == pytest.approx(ref["twice_nll"], abs=1e-4)


def test_profile_model_points_match_migrad(term, like):
    model = LmuLtau(np.array([10.0, 300.0]), np.array([3e-3, 5e-2]), 1.0)
    preds = term.prediction(model)
    fit = like.fit(preds)
    for i in range(2):
        ref = like.fit_migrad(preds[i])
        assert fit["twice_nll"][i] <= ref["twice_nll"] + 1e-6
        assert fit["twice_nll"][i] == pytest.approx(ref["twice_nll"], abs=1e-4)


def test_profile_finds_the_best_of_many_starts(term, like):
    # prior-box points of L_mu - L_tau (up to ~10^7 x the SM): the default starts give the lowest
    # -2 ln L found from 14 t_qy starts spread over [-3, 3]
    rng = np.random.default_rng(11)
    n = 300
    model = LmuLtau(10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n), 1.0)
    folded = like.fold(term.prediction(model))
    default = like.fit_folded(folded)["twice_nll"]
    many = like.fit_folded(folded, starts=np.concatenate([[-3.0], np.linspace(-2.75, 2.75, 12), [3.0]]))
    assert np.max(default - many["twice_nll"]) < 1e-6


def test_batch_independent_of_order(like):
    base = like.exp.predict()
    preds = base * np.array([0.5, 1.0, 3.0, 10.0, 1.3])[:, None]
    a = like.fit(preds)["twice_nll"]
    b = like.fit(preds[::-1])["twice_nll"][::-1]
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_fixed_and_free_flux():
    free = unit.cevns_rate_fit(flux="free", grid=np.linspace(0, 3, 31))
    assert 0.0 <= free["interval_68"][0] <= free["hat"] < free["interval_68"][1]
    # the free best fit agrees with MIGRAD
    like = unit.term(flux="free").term
    ref = like.fit_migrad(like.exp.predict())
    assert like.fit(like.exp.predict())["twice_nll"] == pytest.approx(ref["twice_nll"], abs=1e-4)
    cons = unit.cevns_rate_fit(flux="constrained", grid=np.linspace(0, 3, 31))
    # the 3.81 % constraint pulls the multiplier to 1
    assert abs(cons["hat"] - 1.0) < abs(free["hat"] - 1.0) + 1e-9


def test_pseudo_data(like):
    rng = np.random.default_rng(3)
    toy = like.pseudo_data(like.exp.predict(), rng)
    assert toy.counts.shape == (21,) and toy.counts.sum() > 2000
    assert np.isfinite(toy.logl(like.exp.predict()))


def test_data_file_is_read_without_code(tmp_path, monkeypatch):
    # a pickle that names any other global is refused (DataFileError), never executed
    import pickle

    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps({"ancillary": shutil.copy}))
    monkeypatch.setattr(release, "fetch", lambda rel: bad)
    release.read_data.cache_clear()
    try:
        with pytest.raises(cevnsfit.errors.DataFileError, match="numpy-only"):
            release.read_data()
    finally:
        release.read_data.cache_clear()
