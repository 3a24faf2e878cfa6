"""Toy-MC calibration of the SM test: reproducibility, and cases where the asymptotic law is exact."""

import numpy as np
import pytest
from scipy import stats

import cevnsfit
from cevnsfit.datasets.cenns10.paper import CennsPaperLikelihood
from cevnsfit.datasets.csi2017.paper import CsiPaperLikelihood
from cevnsfit.errors import ParameterError
from cevnsfit.inference.toys import lrt_statistic, toy_calibration, toy_likelihood
from cevnsfit.likelihoods import DatasetTerm, Likelihood
from cevnsfit.likelihoods.paper import TotalsChi2


class LinearCount:
    """A one-bin 'experiment' whose expected count rises linearly with g_x >= 0:
    N(g) = n0 + k g. With a Gaussian measurement this is the textbook boundary case, where
    t = 2 [max_{g >= 0} ln L - ln L(0)] ~ (1/2) delta(0) + (1/2) chi2_1 exactly (Chernoff)."""

    shape = (1,)

    def __init__(self, n0=100.0, k=1e3):
        self.n0, self.k = n0, k

    def predict(self, model=None, matching=None):
        if model is None:
            return np.array([self.n0])
        return (self.n0 + self.k * np.asarray(model.gx, float))[..., None]


def linear_likelihood(observed, n0=100.0, sigma=10.0):
    # k g spans 0.1 (0.01 sigma) at g = 1e-4 to 100 (10 sigma) at g = 0.1: the grid covers the law
    term = TotalsChi2(observed, sigma**2, 0.0)
    return Likelihood([DatasetTerm("linear", LinearCount(n0), term)], "paper")


def test_same_seed_same_toys_and_chunks_are_independent_streams():
    a = toy_calibration("csi2017", 20.0, n_toys=12, seed=4, chunk_size=6)
    b = toy_calibration("csi2017", 20.0, n_toys=12, seed=4, chunk_size=6)
    c = toy_calibration("csi2017", 20.0, n_toys=12, seed=5, chunk_size=6)
    assert np.array_equal(a["t_toys"], b["t_toys"]) and a["p_toys"] == b["p_toys"]
    assert not np.array_equal(a["t_toys"], c["t_toys"])
    # chunk k draws from default_rng([seed, k]): the first chunk does not depend on the others
    first = toy_calibration("csi2017", 20.0, n_toys=6, seed=4, chunk_size=6)
    assert np.array_equal(first["t_toys"], a["t_toys"][:6])
    assert np.all(a["t_toys"] >= 0) and a["seed"] == 4 and a["n_toys"] == 12
    # observed statistic: the same procedure on the data, with Wilks and Chernoff p-values
    assert a["t_obs"] == pytest.approx(lrt_statistic(cevnsfit.likelihood("csi2017"), 20.0)["t"])
    assert a["p_wilks"] == pytest.approx(stats.chi2.sf(a["t_obs"], 1))
    assert a["p_wilks_half"] == pytest.approx(a["p_wilks"] / 2)
    assert a["z_wilks"] == pytest.approx(stats.norm.isf(a["p_wilks"] / 2))


def test_scheduler_does_not_change_the_toys():
    distributed = pytest.importorskip("distributed")
    kw = dict(n_toys=8, seed=2, chunk_size=4)
    sync = toy_calibration("csi2020_totals", 20.0, scheduler="synchronous", **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        dist = toy_calibration("csi2020_totals", 20.0, scheduler=cluster.scheduler_address, **kw)
    assert np.allclose(dist["t_toys"], sync["t_toys"], rtol=1e-9, atol=1e-12)


def test_toy_data_come_from_each_terms_sm_model():
    like = cevnsfit.likelihood("csi2017,cenns10,csi2020_totals", allow_overlap=True)  # term types, not physics
    toys = [toy_likelihood(like, np.random.default_rng([9, i])) for i in range(200)]
    csi, ar, tot = (like.terms[k] for k in range(3))
    assert all(isinstance(t.terms[0].term, CsiPaperLikelihood) for t in toys)
    assert all(isinstance(t.terms[1].term, CennsPaperLikelihood) for t in toys)
    # CsI: <C'> = N_SM + AC_obs, <AC'> = AC_obs (per bin; here summed)
    c = np.mean([t.terms[0].term.n.sum() for t in toys])
    ac = np.mean([t.terms[0].term.n_ac.sum() for t in toys])
    n_sm, b = csi.prediction(None).sum(), csi.term.n_ac.sum()
    var_c = (n_sm + b) + 0.28**2 * (csi.prediction(None) ** 2).sum()  # Poisson + envelope, per toy
    assert c == pytest.approx(n_sm + b, abs=4 * np.sqrt(var_c / 200))
    assert ac == pytest.approx(b, abs=4 * np.sqrt(b / 200))
    # CENNS-10: the toy term keeps the background model exactly; <n'> = N_SM + backgrounds
    assert np.allclose(toys[0].terms[1].term.bkg, ar.term.bkg)
    assert np.allclose(toys[0].terms[1].term.bkg_var, ar.term.bkg_var)
    mu = ar.prediction(None).sum() + ar.term.bkg.sum()
    assert np.mean([t.terms[1].term.n.sum() for t in toys]) == pytest.approx(mu, rel=0.01)
    # totals: O' ~ N(333, s_obs^2 + (0.13 x 333)^2)
    o = np.array([t.terms[2].term.observed for t in toys])
    assert o.mean() == pytest.approx(333.0, abs=4 * 62 / np.sqrt(200))
    assert o.std() == pytest.approx(np.sqrt(tot.term.var_obs + (0.13 * 333) ** 2), rel=0.15)
    # the observed data are untouched
    assert like.terms[2].term.observed == 306.0


def test_wilks_is_exact_for_the_totals_chi_square_and_toys_agree():
    # chi2 = (O - N(g))^2 / (s^2 + s_a^2 N^2) is 0 where N(g) = O, and N(g) sweeps through the
    # data's range (destructive interference below 333, growth above), so t = (O - 333)^2 / V_SM
    # ~ chi2_1 exactly under the toys' O ~ N(333, V_SM).
    res = toy_calibration("csi2020_totals", 20.0, n_toys=400, seed=1, chunk_size=100)
    assert res["t_obs"] == pytest.approx((306 - 333) ** 2 / (20**2 + 38**2 + 4**2 + 2**2 + (0.13 * 333) ** 2), rel=1e-6)
    assert abs(res["p_toys"] - res["p_wilks"]) < 3 * np.sqrt(res["p_wilks"] * (1 - res["p_wilks"]) / 400)
    assert res["p_toys_err"] == pytest.approx(np.sqrt(res["p_toys"] * (1 - res["p_toys"]) / 400))
    assert stats.kstest(res["t_toys"], stats.chi2(1).cdf).pvalue > 0.01
    assert np.mean(res["t_toys"] > 2.71) == pytest.approx(0.10, abs=3 * np.sqrt(0.09 / 400))


def test_boundary_case_follows_chernoff_and_toys_calibrate_it():
    # observed 1.645 sigma above the SM: t_obs = 2.706, p = 0.05 for the (1/2) chi2_1 mixture
    res = toy_calibration(linear_likelihood(100.0 + 16.45), 20.0, n_toys=1000, seed=3, chunk_size=250)
    assert res["t_obs"] == pytest.approx(1.645**2, rel=1e-4)
    assert res["p_wilks_half"] == pytest.approx(0.05, abs=1e-3) and res["p_wilks"] == pytest.approx(0.10, abs=2e-3)
    err = np.sqrt(0.05 * 0.95 / 1000)
    assert abs(res["p_toys"] - 0.05) < 3 * err
    assert abs(np.mean(res["t_toys"] > 2.71) - 0.05) < 3 * err
    assert abs(np.mean(res["t_toys"] == 0) - 0.5) < 3 * np.sqrt(0.25 / 1000)  # half the toys: SM best
    assert res["z_toys"] == pytest.approx(stats.norm.isf(res["p_toys"] / 2))
    # a deficit: the SM is the best fit, t = 0, p = 1
    low = toy_calibration(linear_likelihood(90.0), 20.0, n_toys=10)
    assert low["t_obs"] == 0.0 and low["gx_hat"] == 0.0 and low["p_toys"] == 1.0 and low["p_wilks_half"] == 1.0


def test_asimov_and_bad_arguments_are_errors():
    with pytest.raises(ParameterError, match="Asimov"):
        toy_calibration("csi2017,ccm", 20.0, n_toys=2)
    with pytest.raises(ParameterError):
        toy_calibration("csi2017", 20.0, n_toys=0)
    with pytest.raises(ParameterError):
        toy_calibration("csi2017", -1.0, n_toys=2)


def test_csi2021_toys_reproducible_and_bounded():
    from cevnsfit.inference.toys import toy_calibration

    a = toy_calibration("csi2021", 100.0, n_toys=20, seed=3, chunk_size=10)
    b = toy_calibration("csi2021", 100.0, n_toys=20, seed=3, chunk_size=10)
    assert np.array_equal(a["t_toys"], b["t_toys"])
    assert np.all(a["t_toys"] >= 0) and 0 <= a["p_toys"] <= 1


def test_toy_chunks_resume_from_a_checkpoint(tmp_path):
    """Finished chunks are read back, not recomputed: a killed run resumes (issue 13)."""
    import time

    from cevnsfit.inference.toys import toy_calibration

    kw = dict(n_toys=6, seed=3, scheduler="synchronous", chunk_size=2, n_grid=21, checkpoint=tmp_path)
    first = toy_calibration("csi2020_totals", 20.0, **kw)
    files = sorted(tmp_path.rglob("toys_*.npy"))
    assert len(files) == 3
    files[1].unlink()  # as if killed before chunk 1 was written
    stamp = files[0].stat().st_mtime_ns
    time.sleep(0.01)
    second = toy_calibration("csi2020_totals", 20.0, **kw)
    assert files[0].stat().st_mtime_ns == stamp  # reused, not rewritten
    assert files[1].exists()  # recomputed
    assert np.array_equal(first["t_toys"], second["t_toys"])
