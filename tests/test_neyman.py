"""Neyman construction with Feldman-Cousins ordering, Chernoff boundary, coverage (issue 12).

The toy-calibrated critical values are compared with the closed form of Feldman & Cousins's
Gaussian mean with a physical boundary, and the intervals' coverage with its nominal rate."""

import numpy as np
import pytest
from scipy import optimize, stats

from cevnsfit.inference.neyman import (
    chernoff,
    chernoff_threshold,
    cl_from_z,
    coverage,
    neyman_belt,
    neyman_exclusion,
    neyman_interval,
    profile_interval_boundary,
)
from cevnsfit.inference.problem import Problem
from cevnsfit.likelihoods import Likelihood
from cevnsfit.likelihoods.datasets import DatasetTerm
from cevnsfit.likelihoods.paper import TotalsChi2


class _LinearExperiment:
    """A one-bin 'experiment' whose prediction is mu = scale * g_x (0 for the SM)."""

    def __init__(self, scale):
        self.scale = scale

    def predict(self, model=None, matching=None):
        if model is None:
            return np.zeros(1)
        return self.scale * np.asarray(model.gx, dtype=float)[..., None]


def gaussian_problem(x_obs: float, scale: float = 50.0) -> Problem:
    """x ~ N(mu, 1), mu = scale * g_x >= 0: Feldman & Cousins's Gaussian with a boundary."""
    term = DatasetTerm("gauss", _LinearExperiment(scale), TotalsChi2(x_obs, 1.0, 0.0))
    return Problem(Likelihood([term], "paper"), "lmu-ltau", poi=["gx"], fixed={"mzp_mev": 20.0, "r": 1.0})


def fc_critical(mu: float, cl: float) -> float:
    """Closed form: t(mu; x) = (x - mu)^2 for x >= 0, mu^2 - 2 x mu for x < 0; P(t <= c) = cl."""

    def content(c):
        r = np.sqrt(c)
        upper = stats.norm.cdf(mu + r, mu) - stats.norm.cdf(max(0.0, mu - r), mu)
        lower = (stats.norm.cdf(0.0, mu) - stats.norm.cdf((mu * mu - c) / (2 * mu), mu)) if c > mu * mu else 0.0
        return upper + max(lower, 0.0)

    return optimize.brentq(lambda c: content(c) - cl, 1e-9, 50.0)


def test_chernoff_closed_forms():
    assert chernoff(0.0)["p"] == 1.0
    r = chernoff(2.7055)
    assert abs(r["p"] - 0.05) < 1e-4 and abs(r["z"] - np.sqrt(2.7055)) < 1e-12
    assert abs(chernoff_threshold(0.95) - stats.norm.isf(0.05) ** 2) < 1e-9
    assert abs(cl_from_z(2.0) - 0.9545) < 1e-4


@pytest.mark.parametrize("mu", [0.3, 1.5])
def test_toy_critical_values_match_feldman_cousins_closed_form(mu):
    """Toy t_c at mu against the closed form, within the order-statistic band (3 sigma)."""
    p = gaussian_problem(0.7)
    x = np.linspace(-4, -1, 3001)  # fine log grid: the grid maximum ~ the true one
    k = int(np.argmin(np.abs(10**x * 50.0 - mu)))
    belt = neyman_belt(p, axes=[x], cl=0.9, n_toys=4000, scheduler="synchronous", construct_at=[k], seed=3)
    exact = fc_critical(10 ** x[k] * 50.0, 0.9)
    lo, hi = belt["t_critical_band"][0][k], belt["t_critical_band"][1][k]
    half = 3.0 * max(hi - lo, 1e-3) / 2
    assert abs(belt["t_critical"][k] - exact) < half, (belt["t_critical"][k], exact, lo, hi)
    # and it is not Wilks's 2.706 for mu = 0.3 (the boundary lowers it)
    if mu < 0.5:
        assert exact < 2.3 and belt["t_critical"][k] < 2.5


def test_fc_interval_for_gaussian_matches_table():
    """x_obs = 0 at 90 % CL: FC's Table X gives mu in [0, 1.64]."""
    p = gaussian_problem(0.0)
    res = neyman_interval(p, cl=0.9, n=121, n_toys=600, scheduler="synchronous", seed=5)
    assert res["null_in_set"] and res["upper_limit"] is not None
    mu_up = 50.0 * res["upper_limit"]
    assert abs(mu_up - 1.64) < 0.15, mu_up


def _totals_problem():
    import cevnsfit
    from cevnsfit.inference.reference import reference_problem

    return reference_problem(cevnsfit.likelihood("csi2020_totals"), ("gx",), 20.0, 1.0)


@pytest.mark.parametrize("cl", [0.6827, 0.9545])
def test_coverage_of_toy_calibrated_intervals(cl):
    """CsI 2020 totals (Gaussian count with a normalisation nuisance), g_x at 20 MeV: the
    toy-calibrated set covers the true g_x at the nominal rate within Monte Carlo error."""
    p = _totals_problem()
    x = np.linspace(-4, -1, 121)
    true_idx = 48  # g_x = 10^-2.8: the rate 1 sigma below the SM
    belt = neyman_belt(p, axes=[x], cl=cl, n_toys=1500, scheduler="synchronous", construct_at=[true_idx], seed=7)
    cov = coverage(p, 10 ** x[true_idx], belt, n_experiments=1500, seed=99)
    # MC error of the critical value's content plus that of the coverage estimate
    err = np.sqrt(cl * (1 - cl) / 1500) * np.sqrt(2)
    assert abs(cov["coverage"] - cl) < 3.5 * err, (cov, err)


def test_toys_nominal_where_wilks_is_not():
    """Gaussian mean 0.3 sigma above its boundary, 90 % CL: the Wilks set {t <= 2.706}
    over-covers (the boundary removes half of the fluctuations that would raise t), the toy set
    covers at 90 % (a test that fails if t_c were Wilks's or the toys were drawn elsewhere)."""
    p = gaussian_problem(0.0)
    x = np.linspace(-4, -1, 1201)
    k = int(np.argmin(np.abs(50 * 10**x - 0.3)))
    belt = neyman_belt(p, axes=[x], cl=0.9, n_toys=3000, scheduler="synchronous", construct_at=[k], seed=11)
    cov = coverage(p, 10 ** x[k], belt, n_experiments=3000, seed=21)
    err = np.sqrt(2 * 0.09 / 3000)
    assert abs(cov["coverage"] - 0.9) < 3.5 * err, cov
    wilks = dict(belt, t_critical=np.where(np.isnan(belt["t_critical"]), np.nan, stats.chi2.ppf(0.9, 1)))
    cov_w = coverage(p, 10 ** x[k], wilks, n_experiments=3000, seed=21)
    assert cov_w["coverage"] > 0.9 + 5 * np.sqrt(0.09 / 3000), cov_w


def test_profile_interval_boundary_gaussian():
    """Gaussian mean mu >= 0, sigma = 1, 95 % CL. x_obs = -1: the restricted MLE is the null,
    t(mu) = mu^2 + 2 mu, the set is an upper limit where t = 3.841; x_obs = 3: the null is
    rejected (t = 9), the set is 3 +- 1.96; x_obs = 1.8: t_null = 3.24 lies between Chernoff's
    2.706 and Wilks's 3.841, so the null is out although the interior set reaches the floor."""
    lo = profile_interval_boundary(gaussian_problem(-1.0), cl=0.95)
    assert lo["null_in_interval"] and lo["t_null"] == 0.0 and abs(lo["delta"] - 3.8415) < 1e-3
    assert abs(50.0 * lo["upper_limit"] - (-1 + np.sqrt(4.8415))) < 0.01
    hi = profile_interval_boundary(gaussian_problem(3.0), cl=0.95)
    assert not hi["null_in_interval"] and abs(hi["t_null"] - 9.0) < 0.01 and hi["upper_limit"] is None
    seg = hi["segments"][0]
    assert abs(50 * seg["low"] - (3 - np.sqrt(3.841))) < 0.02 and abs(50 * seg["high"] - (3 + np.sqrt(3.841))) < 0.02
    assert abs(hi["z_null_chernoff"] - 3.0) < 1e-3
    mid = profile_interval_boundary(gaussian_problem(1.8), cl=0.95)
    assert abs(mid["t_null"] - 3.24) < 0.01 and not mid["null_in_interval"]
    assert mid["segments"][0]["low_at_grid_edge"] and abs(mid["p_null_chernoff"] - 0.5 * stats.chi2.sf(3.24, 1)) < 1e-4


def test_neyman_2d_resumes_and_is_chunking_independent(tmp_path):
    import cevnsfit
    from cevnsfit.inference.reference import reference_problem

    p = reference_problem(cevnsfit.likelihood("csi2020_totals"), ("mzp_mev", "gx"))
    kw = dict(n=(4, 5), n_toys=20, seed=2, scheduler="synchronous", fine_n=(9, 11))
    a = neyman_exclusion(p, out_dir=tmp_path / "a", chunk_size=3, **kw)
    files = sorted((tmp_path / "a").glob("chunk_*.npy"))
    files[1].unlink()  # a killed run: one chunk missing
    b = neyman_exclusion(p, out_dir=tmp_path / "a", chunk_size=3, **kw)
    c = neyman_exclusion(p, chunk_size=7, **kw)
    assert a["method"] == "neyman"
    for key in ("t", "t_critical"):
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key]))
        assert np.array_equal(np.asarray(a[key]), np.asarray(c[key]))
    con = a["construction"]
    tc, done = np.asarray(con["t_critical"]), np.asarray(con["constructed"])
    assert done.any() and np.all(np.isfinite(tc[done])) and np.all(tc[done] >= 0)
    # points left out are those with t_obs above t_skip, and they count as excluded
    assert np.all(np.asarray(con["t_obs"])[~done] > con["t_skip"]) and np.all(np.asarray(con["excluded"])[~done])


def test_cli_exclusion_method_neyman(tmp_path):
    import json

    from click.testing import CliRunner

    from cevnsfit.cli import main

    args = [
        "exclusion",
        "--datasets",
        "csi2020_totals",
        "--method",
        "neyman",
        "--n-toys",
        "10",
        "--construction-grid",
        "4,5",
        "--n-mzp",
        "9",
        "--n-gx",
        "11",
        "--json",
        "--scheduler",
        "synchronous",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{") :])
    m = out["csi2020_totals"]
    assert m["method"] == "neyman" and len(m["t_critical"]) == 9 and m["construction"]["n_toys"] == 10
    bad = CliRunner().invoke(main, args[:-2] + ["--construction-grid", "4"])
    assert bad.exit_code != 0 and "construction-grid" in bad.output


@pytest.mark.slow
@pytest.mark.parametrize("cl", [0.6827, 0.9545])
def test_coverage_csi2017_paper_likelihood(cl):
    """The paper-mode CsI 2017 likelihood (per-bin marginalised steady state and normalisation),
    g_x at 20 MeV, true g_x = 10^-2.75: toy-calibrated sets cover at the nominal rate."""
    import cevnsfit
    from cevnsfit.inference.reference import reference_problem

    p = reference_problem(cevnsfit.likelihood("csi2017"), ("gx",), 20.0, 1.0)
    x = np.linspace(-4, -1, 61)
    k = 25  # log10 g_x = -2.75
    belt = neyman_belt(p, axes=[x], cl=cl, n_toys=600, scheduler="synchronous", construct_at=[k], seed=17)
    cov = coverage(p, 10 ** x[k], belt, n_experiments=600, seed=23)
    err = np.sqrt(2 * cl * (1 - cl) / 600)
    assert abs(cov["coverage"] - cl) < 3.5 * err, (cov, err)
