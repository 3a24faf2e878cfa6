"""XENONnT solar-8B: data, folding, blueice interpolation, the batched profile against MIGRAD,
pseudo-data, warnings and errors, and the validation numbers against the published ones."""

import warnings

import numpy as np
import pytest

from cevnsfit import published
from cevnsfit.datasets.xenonnt import experiment as xe
from cevnsfit.datasets.xenonnt import loaders
from cevnsfit.datasets.xenonnt.analysis import b8_measurement
from cevnsfit.datasets.xenonnt.backend import XenonLikelihood
from cevnsfit.errors import DataFileError, UnknownNameError
from cevnsfit.physics.flux import FluxGroup
from cevnsfit.physics.sources import TabulatedSource


@pytest.fixture(scope="module")
def exp():
    return xe.build(runs=("sr0", "sr1", "sr2"))


@pytest.fixture(scope="module")
def exp01(exp):
    # same templates (cached by the loader), SR0+SR1 only
    return xe.build(runs=("sr0", "sr1"), source=exp.engine.source)


@pytest.fixture(scope="module")
def like(exp):
    return XenonLikelihood(exp)


def test_unknown_run():
    with pytest.raises(UnknownNameError, match="allowed runs: sr0, sr1, sr2"):
        xe.build(runs=("sr0", "sr4"))


def test_missing_template_names_file_and_checksum(monkeypatch, tmp_path):
    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CEVNSFIT_MIRROR", "http://127.0.0.1:9")
    rel = loaders.xenonnt_template_path("sr1", "mono", 2.0, 1, -1)
    with pytest.raises(DataFileError) as err:
        loaders.load_xenonnt_template("sr1", "mono", 2.0, 1, -1)
    from cevnsfit.data.registry import _TABLE

    assert rel in str(err.value) and _TABLE[rel].sha256 in str(err.value)


def test_exposure_and_events_match_published(exp01):
    like = XenonLikelihood(exp01)
    assert like.exposure.sum() == pytest.approx(published.get("xenonnt_sr01_exposure").value, abs=0.01)
    assert sum(like.observed().values()) == published.get("xenonnt_sr01_observed").value
    assert [len(loaders.load_xenonnt_events(r)) for r in xe.RUNS] == [9, 28, 25]


def test_background_within_published_band(exp01):
    rec = published.get("xenonnt_sr01_background")
    bkg = XenonLikelihood(exp01).background()
    total = sum(sum(v.values()) for v in bkg.values())
    assert rec.value - rec.minus <= total <= rec.value + rec.plus
    # the AC templates are unchanged since 2024: 25.25 events
    assert bkg["sr0"]["ac"] + bkg["sr1"]["ac"] == pytest.approx(25.25, abs=0.01)


def test_sm_rate_against_xenonnt(exp):
    ours = xe.sm_rate(exp.engine.source)
    ref = published.get("xenonnt_sm_b8_rate").value
    # a few per cent above XENONnT's spectrum (weak mixing angle, form factor, flux table)
    assert 1.0 < ours / ref < 1.05
    # Q_W^2 scaling with sin^2 theta_W: the rate falls with a smaller value
    assert xe.sm_rate(exp.engine.source, sin2_theta_w=0.2312) < ours


def test_targets_per_tonne():
    assert sum(xe.xenon_targets_per_tonne().values()) == pytest.approx(4.587e27, rel=1e-3)


@pytest.mark.parametrize("slot,anchor", [(25, (0, 0)), (10, (1, -2)), (45, (-3, 3))])
def test_folded_delta_reproduces_template_efficiency(like, slot, anchor):
    pred = np.zeros(46)
    pred[slot] = 1.0  # one event per (t y) at this energy
    sig = like.signal(pred, *anchor)[0]
    for i, run in enumerate(like.runs):
        eff = loaders.load_xenonnt_template(run, "mono", xe.GRID_KEV[slot], *anchor).ravel()
        got = sig[like.run_of_bin == i]
        assert got == pytest.approx(xe.EXPOSURE_TY[run] * eff, rel=1e-12, abs=1e-300)


def test_interpolation_exact_at_anchors(like, exp):
    pred = exp.predict()
    for anchor in [(2, -1), (-3, -3), (0, 3)]:
        x = like.nominal.copy()
        x[-2:] = anchor
        x[0] = 0.0  # no signal: background only
        mu = like.expectation(pred, x)
        for i, run in enumerate(like.runs):
            sel = like.run_of_bin == i
            rd = exp.data["run_data"][run]
            n = loaders.load_xenonnt_template(run, "rg", None, *anchor).ravel()
            want = rd["exposure_ty"] * (rd["ac"] + rd["er"] + n)
            assert mu[sel] == pytest.approx(want, rel=1e-12)
        # signal: direct fold of the templates at that anchor
        direct = np.concatenate(
            [
                xe.EXPOSURE_TY[r] * pred @ exp.data["run_data"][r]["mono"][:, anchor[0] + 3, anchor[1] + 3]
                for r in like.runs
            ]
        )
        assert like.signal(pred, *anchor)[0] == pytest.approx(direct, rel=1e-12)


def test_interpolation_between_anchors_is_blueice(like, exp):
    # halfway between two anchors in t_ly: mu is the mean of the totals, pmf the mean of the pmfs
    pred = exp.predict()
    s = like.signal(pred, 0.5, 0.0)[0]
    a, b = like.signal(pred, 0.0, 0.0)[0], like.signal(pred, 1.0, 0.0)[0]
    for i in range(len(like.runs)):
        sel = like.run_of_bin == i
        mu = 0.5 * (a[sel].sum() + b[sel].sum())
        pmf = 0.5 * (a[sel] / a[sel].sum() + b[sel] / b[sel].sum())
        assert s[sel] == pytest.approx(mu * pmf, rel=1e-12)


def test_batched_profile_matches_migrad(exp01):
    like = XenonLikelihood(exp01, phi_free=True)
    pred = exp01.predict()
    preds = np.stack([pred, 0.3 * pred, 2.0 * pred])
    fast = like.fit(preds)
    for i, p in enumerate(preds):
        ref = like.fit_migrad(p)
        assert fast["twice_nll"][i] <= ref["twice_nll"] + 1e-5
        assert fast["twice_nll"][i] == pytest.approx(ref["twice_nll"], abs=1e-4)
    ref0 = like.fit_migrad(pred, fixed={"phi": 0.0})
    assert like.fit(pred, fixed={"phi": 0.0})["twice_nll"] == pytest.approx(ref0["twice_nll"], abs=1e-4)
    # scaling pred by 2 and fitting phi returns half the multiplier
    assert fast["phi"][2] == pytest.approx(fast["phi"][0] / 2, rel=1e-3)


def test_logl_shape_and_constrained_flux(like, exp):
    pred = exp.predict()
    ll = like.logl(np.broadcast_to(pred, (2, 3, 46)))
    assert ll.shape == (2, 3) and np.all(np.isfinite(ll))
    names = [n[0] for n in like.nuisances]
    assert names == ["phi", "eps", "a_sr0", "a_sr1", "a_sr2", "r_er", "r_n", "t_ly", "t_qy"]
    assert like.nuisances[0][2] == pytest.approx(0.20 / 5.25, rel=1e-12)


def test_pseudo_data(like, exp):
    pred = exp.predict()
    rng = np.random.default_rng(3)
    before = like.counts.copy()
    toys = [like.pseudo_data(pred, rng) for _ in range(300)]
    assert np.array_equal(like.counts, before)
    totals = np.array([t.counts.sum() for t in toys])
    mu = like.expectation(pred).sum()
    assert abs(totals.mean() - mu) < 5 * np.sqrt(mu / len(toys))
    centres = np.array([t.centres for t in toys])
    assert np.std(centres[:, -1]) == pytest.approx(1.0, rel=0.2)  # t_qy ~ N(0, 1)
    assert np.all(centres[:, 0] != 1.0)  # phi constrained: drawn


def test_sr2_ac_sigma_option(exp):
    assert XenonLikelihood(exp, sr2_ac_sigma=0.10).nuisances[4][2] == 0.10
    assert XenonLikelihood(exp).nuisances[4][2] == 0.0576


def test_b8_measurement_sr01(exp01):
    m = b8_measurement(("sr0", "sr1"), exp=exp01)
    lo, hi = m["phi_68"]
    assert 0.0 < lo < m["phi_hat"] < hi
    # an independent significance: the published (toy-based) 2.73 sigma, within half a sigma
    assert abs(m["z_asymptotic"] - published.get("xenonnt_sr01_significance").value) < 0.5


def test_warning_beyond_templates(exp):
    e = np.linspace(0.0, 60.0, 61)
    hard = TabulatedSource([FluxGroup("hard", "nue")], {"hard": (e, np.full_like(e, 1e-10))})
    eng = xe.XenonEngine(hard, xe.xenon_isotopes())
    with pytest.warns(UserWarning, match="above 5.0 keV_NR"):
        eng.energy_counts()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exp.engine.energy_counts()  # 8B stops at 4.2 keV: no warning


def test_large_signals_are_profiled_from_several_starts(like, exp):
    """Far above the SM the yield nuisances can move signal out of the region of interest and the
    profile over (t_ly, t_qy) is multimodal: the engine's value must be the best of a grid of starts."""
    from cevnsfit.models import model_from_name

    # L_mu - L_tau at (344 MeV, 0.093): ~130x the SM 8B rate; from the nominal start alone the
    # profile stops ~290 above the best minimum
    pred = exp.predict(model_from_name("lmu-ltau", mzp_mev=344.38638, gx=0.0927033))[None, :]
    got = like.fit(pred)["twice_nll"][0]
    best = np.inf
    for t_ly in (-2.5, -1.0, 0.0, 1.0, 2.5):
        for t_qy in (-2.5, -1.0, 0.0, 1.0, 2.5):
            x0 = like.nominal.copy()
            x0[-2], x0[-1] = t_ly, t_qy
            mu_s, pmf_s = like._prepare(pred)
            from cevnsfit.likelihoods.profile import batched_newton

            _, f, _ = batched_newton(
                lambda x, idx: like._terms(x, idx, mu_s, pmf_s), x0[None, :], like.lower, like.upper
            )
            best = min(best, float(f[0]))
    assert got <= best + 1e-3
