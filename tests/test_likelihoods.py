"""Likelihood pieces against scipy and brute-force integration, and the public API."""

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

import cevnsfit
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.likelihoods.gaussian_poisson import log_smeared_poisson, log_smeared_poisson_sum
from cevnsfit.likelihoods.paper import TotalsChi2
from cevnsfit.likelihoods.stats import gauss_hermite_normal, log_negbin_half, log_poisson


def test_poisson_and_negbin_against_scipy():
    n = np.arange(0, 40)
    for lam in (0.3, 4.0, 27.5):
        assert np.allclose(log_poisson(n, lam), stats.poisson.logpmf(n, lam), rtol=1e-12, atol=1e-12)
    for n_ac in (0, 3, 17):
        assert np.allclose(log_negbin_half(n, n_ac), stats.nbinom.logpmf(n, n_ac + 1, 0.5), rtol=1e-12)
    # non-integer Asimov counts: the gammaln form interpolates the factorial
    assert log_poisson(2.5, 3.0) == pytest.approx(2.5 * np.log(3.0) - 3.0 - special.gammaln(3.5))


def test_gauss_hermite_rule_moments():
    z, lw = gauss_hermite_normal(20)
    w = np.exp(lw)
    for k, mom in ((0, 1.0), (2, 1.0), (4, 3.0), (6, 15.0)):
        assert np.sum(w * z**k) == pytest.approx(mom, rel=1e-12)


def test_negative_binomial_background_marginalisation_brute_force():
    # Int dB P(k; B) Gamma(B; n_AC + 1, 1) = NB(k; n_AC + 1, 1/2)  (flat prior on B)
    for n_ac, k in ((5, 3), (12, 20), (0, 2)):
        brute, _ = integrate.quad(lambda b: stats.poisson.pmf(k, b) * stats.gamma.pdf(b, n_ac + 1), 0, np.inf)
        assert np.exp(log_negbin_half(k, n_ac)) == pytest.approx(brute, rel=1e-9)


def _quad_smeared(m0, s, x, coef):
    f = lambda y: stats.norm.pdf(y, m0, s) * np.exp(-y * x) * sum(c * (y * x) ** j for j, c in enumerate(coef))  # noqa: E731
    return np.log(integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=400)[0])


@pytest.mark.parametrize(
    "m0,s,x,n",
    [
        (1, 0.28, 3, 10),
        (1, 0.28, 15, 20),
        (1, 0.28, 40, 12),
        (1, 0.28, 200, 30),  # CsI: up to the Miller regime
        (5, 1.2, 1, 30),
        (3, 0.05, 1, 45),
        (50, 8, 1, 45),
        (60, 30, 1, 20),
        (100, 60, 1, 40),
    ],
)  # CENNS-like
def test_truncated_moment_integrals_against_quad(m0, s, x, n):
    rng = np.random.default_rng(n)
    coef = rng.uniform(0.1, 1, n + 1) / special.factorial(np.arange(n + 1))
    ours = log_smeared_poisson_sum(np.array([m0]), np.array([s]), np.array([x]), np.log(coef)[:, None], np.array([n]))
    assert ours[0] == pytest.approx(_quad_smeared(m0, s, x, coef), abs=1e-9)
    if x == 1:
        single = np.zeros(n + 1)
        single[n] = 1 / special.factorial(n)
        assert log_smeared_poisson(np.array([n]), np.array([m0]), np.array([s]))[0] == pytest.approx(
            _quad_smeared(m0, s, 1.0, single), abs=1e-9
        )


def test_extreme_rates_stay_finite():
    v = log_smeared_poisson(np.array([3, 0, 45]), np.array([1e7, 1e9, 5.0]), np.array([1.3e6, 1e8, 1e-4]))
    assert np.all(np.isfinite(v))
    # a Gaussian envelope of width 1e-4 around 5 is a Poisson with mean 5
    assert v[2] == pytest.approx(stats.poisson.logpmf(45, 5.0), rel=1e-6)


def test_csi_bins_against_brute_force_double_integral():
    like = cevnsfit.likelihood("csi2017")
    term = like.terms[0].term
    pred = like.terms[0].prediction(None).ravel()
    ours = term._logl_bins(pred[None, :])[0]
    n, n_ac = term.n.ravel(), term.n_ac.ravel()
    for b in (0, 7, 40, 100):

        def inner(a):
            lam = (1 + a) * pred[b]
            f = lambda bg: stats.poisson.pmf(n[b], lam + bg) * stats.poisson.pmf(n_ac[b], bg)  # noqa: E731
            return integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0] * stats.norm.pdf(a, 0, 0.28)

        brute = integrate.quad(inner, -1, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]
        assert np.exp(ours[b]) == pytest.approx(brute, rel=1e-8)


def test_cenns_one_gaussian_rewrite_against_four_envelopes():
    # for bins far from the truncation a 4D product Gauss-Hermite rule is exact to ~1e-12
    like = cevnsfit.likelihood("cenns10")
    dt = like.terms[0]
    term = dt.term
    from cevnsfit.datasets.cenns10.likelihood import background_templates as cenns10_background_templates

    bkg, sig = cenns10_background_templates(dt.experiment)
    pred = dt.prediction(None).ravel()
    comps = [pred] + [bkg[k].ravel() for k in ("ss", "prompt_brn", "delayed_brn")]
    sigmas = [0.13, sig["ss"], sig["prompt_brn"], sig["delayed_brn"]]
    z, lw = gauss_hermite_normal(12)
    w = np.exp(lw)
    exact = log_smeared_poisson(term.counts, pred + term.bkg, np.sqrt((0.13 * pred) ** 2 + term.bkg_var))
    checked = 0
    for b in np.argsort(-pred)[:40]:
        if comps[3][b] > 0:  # the 110 % delayed-BRN envelope is truncated: skip those bins
            continue
        grids = np.meshgrid(*([z] * 3), indexing="ij")
        lam = sum((1 + s_i * g) * c[b] for s_i, g, c in zip(sigmas[:3], grids, comps[:3])) + comps[3][b]
        ww = w[:, None, None] * w[None, :, None] * w[None, None, :]
        brute = np.sum(ww * stats.poisson.pmf(term.n[b], lam))
        assert np.exp(exact[b]) == pytest.approx(brute, rel=1e-8)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("gx", [0.0, 1.5e-3])
def test_gauss_hermite_converges_to_exact_cenns(gx):
    exact = -2 * cevnsfit.likelihood("cenns10").logl(20.0, gx)
    gh = [
        -2
        * cevnsfit.likelihood("cenns10", options={"cenns10": {"quadrature": "gauss-hermite", "n_nodes": n}}).logl(
            20.0, gx
        )
        for n in (16, 32)
    ]
    assert abs(gh[1] - gh[0]) < 0.01  # doubling the nodes moves -2 ln L by < 0.01
    assert abs(gh[1] - exact) < 1e-3


@pytest.mark.parametrize("gx", [0.0, 1.8e-3])
def test_gauss_hermite_csi_is_limited_by_the_truncation(gx):
    # The CsI envelope is cut at 1 + a = 0 where the integrand does not vanish: a Hermite rule
    # converges slowly and non-monotonically there; the exact truncated-moment result (checked
    # against brute force above) is what the likelihood uses. The rule stays within 0.025.
    exact = -2 * cevnsfit.likelihood("csi2017").logl(20.0, gx)
    for n in (50, 100, 150, 200):
        gh = cevnsfit.likelihood("csi2017", options={"csi2017": {"quadrature": "gauss-hermite", "n_nodes": n}})
        assert abs(-2 * gh.logl(20.0, gx) - exact) < 0.025


def test_totals_chi2_closed_form_against_numeric_minimum():
    t = TotalsChi2(306.0, 20.0**2 + 38**2 + 4**2 + 2**2, 0.13)
    for n in (250.0, 333.0, 410.0):
        num = optimize.minimize_scalar(lambda a: (306 - (1 + a) * n) ** 2 / t.var_obs + (a / 0.13) ** 2).fun
        assert t.chi2(n) == pytest.approx(num, rel=1e-9)


def test_ccm_asimov_is_maximal_at_sm():
    like = cevnsfit.likelihood("ccm")
    g = np.array([0.0, 1e-4, 3e-4, 1e-3])
    ll = like.logl(20.0, g)
    assert ll[0] == pytest.approx(like.logl_sm())
    assert np.all(np.diff(ll) < 0)


def test_api_broadcasting_and_constant():
    like = cevnsfit.likelihood("csi2017,cenns10")
    m = np.array([10.0, 20.0, 100.0])[:, None]
    g = np.array([1e-4, 5e-4, 1e-3, 3e-3])[None, :]
    grid = like.logl(m, g)
    assert grid.shape == (3, 4)
    assert grid[1, 2] == like.logl(20.0, 1e-3)  # same additive constant on every call
    assert like.logl(20.0, 0.0) == pytest.approx(like.logl_sm(), abs=1e-12)
    comps = like.components()
    assert sum(comps.values()) == pytest.approx(like.logl_sm())


def test_bad_inputs():
    with pytest.raises(UnknownNameError, match="unknown dataset"):
        cevnsfit.likelihood("csi2017,lhc")
    like = cevnsfit.likelihood("csi2017")
    with pytest.raises(ParameterError, match="mzp_mev"):
        like.logl(float("nan"), 1e-3)
    with pytest.raises(ParameterError, match="r"):
        like.logl(20.0, 1e-3, r=-1.0)


def test_jeffreys_background_prior_brute_force_and_effect():
    # Int dB B^(-1/2) e^{-B} B^n_AC / Gamma(n_AC + 1/2) P(k; B) = NB(k; n_AC + 1/2, 1/2)
    from cevnsfit.likelihoods.stats import log_negbin

    for n_ac, k in ((0, 2), (6, 4)):
        brute, _ = integrate.quad(lambda b: stats.poisson.pmf(k, b) * stats.gamma.pdf(b, n_ac + 0.5), 0, np.inf)
        assert np.exp(log_negbin(k, n_ac, 1.0, 0.5)) == pytest.approx(brute, rel=1e-8)
    # the flat prior's extra background count per bin drives the CsI preference for a deficit
    flat = cevnsfit.likelihood("csi2017")
    jeff = cevnsfit.likelihood("csi2017", options={"csi2017": {"background_prior": "jeffreys"}})
    from cevnsfit.inference.fits import fit_gx

    assert fit_gx(jeff, 20.0)["t"] < fit_gx(flat, 20.0)["t"] - 2.0
    with pytest.raises(UnknownNameError, match="background_prior"):
        cevnsfit.likelihood("csi2017", options={"csi2017": {"background_prior": "uniform-ish"}})
