"""The CsI 2021 likelihood: exposure ratio, steady-state treatments, SM fit against COHERENT."""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import cevnsfit
from cevnsfit.datasets.csi2021.likelihood import exposure_ratio, profile_ss, sm_normalisation_fit
from cevnsfit.experiments import get_experiment
from cevnsfit.likelihoods.stats import log_negbin


def test_exposure_ratio_from_side_band():
    rho, err = exposure_ratio(get_experiment("csi2021"))
    # (3564 - BRN - NIN above 60 PE) / 3595, consistent with equal windows
    assert 0.985 < rho < 0.992
    assert abs(rho - 1.0) < 2 * err


def test_negbin_with_exposure_ratio_brute_force():
    for n_ac, k, rho in ((7, 4, 0.8), (20, 25, 1.3)):
        brute, _ = integrate.quad(lambda b: stats.poisson.pmf(k, rho * b) * stats.gamma.pdf(b, n_ac + 1), 0, np.inf)
        assert np.exp(log_negbin(k, n_ac, rho)) == pytest.approx(brute, rel=1e-9)


def test_profiled_steady_state_closed_form():
    for n, m, s, rho in ((12, 9, 3.5, 0.99), (0, 4, 2.0, 1.0), (30, 0, 1.0, 0.9)):
        f = lambda b: -(stats.poisson.logpmf(n, s + rho * b) + stats.poisson.logpmf(m, b))  # noqa: E731
        num = optimize.minimize_scalar(f, bounds=(1e-12, 200), method="bounded", options={"xatol": 1e-10}).x
        assert profile_ss(n, m, s, rho) == pytest.approx(num, abs=1e-5)


def test_paper_bins_against_brute_force():
    like = cevnsfit.likelihood("csi2021")
    dt = like.terms[0]
    term = dt.term
    pred = dt.prediction(None).ravel()
    rho = dt.info["rho"]
    n = term.n.ravel()
    m = dt.experiment.data["AC"].ravel()
    per_bin = cevnsfit.likelihoods.gaussian_poisson.log_smeared_poisson_sum(
        (pred + term.bkg)[None], np.sqrt((0.13 * pred) ** 2 + term.bkg_var)[None], 1.0, term.log_coef, term.counts
    )[0]
    for b in np.argsort(-pred)[:1]:
        mu, s = pred[b] + term.bkg[b], np.sqrt((0.13 * pred[b]) ** 2 + term.bkg_var[b])

        def inner(y):
            g = lambda bg: stats.poisson.pmf(n[b], y + rho * bg) * stats.poisson.pmf(m[b], bg)  # noqa: E731
            return integrate.quad(g, 0, np.inf, epsabs=0, epsrel=1e-10, limit=100)[0] * stats.norm.pdf(y, mu, s)

        brute = integrate.quad(inner, 0, np.inf, epsabs=0, epsrel=1e-10, limit=100)[0]
        assert np.exp(per_bin[b]) == pytest.approx(brute, rel=1e-7)


def test_sm_fit_reproduces_coherent_count():
    res = sm_normalisation_fit("simple")
    assert res["valid"]
    assert res["cevns"][0] == pytest.approx(306.0, rel=0.10)  # arXiv:2110.07730: 306 +- 20
    assert res["ss"] == pytest.approx(1273.0, rel=0.05)  # 1273 +- 38
    assert res["significance_cevns"] > 5


def test_csi2021_likelihood_api():
    like = cevnsfit.likelihood("csi2021")
    assert like.logl(20.0, 0.0) == pytest.approx(like.logl_sm())
    g = np.array([1e-4, 1e-3, 1e-2])
    assert like.logl(20.0, g).shape == (3,)
