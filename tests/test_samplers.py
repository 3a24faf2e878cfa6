"""External samplers (issue 21, item 3): the analysis's log density is usable as-is by emcee,
and an emcee chain reproduces the grid posterior of the magnetic moment within its Monte Carlo
error; the bilby and cobaya adapters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

import cevnsfit
from cevnsfit.errors import ParameterError

emcee = pytest.importorskip("emcee")

Q = 0.90  # the 90 % upper edge: the 0.9 quantile of the posterior of log10 mu_numu


@pytest.fixture(scope="module")
def analysis():
    return cevnsfit.Analysis("csi2017,cenns10", "magnetic-moment", poi="mu_numu")


@pytest.fixture(scope="module")
def grid_edge(analysis):
    """The grid posterior's 90 % upper edge and the density there (quadrature, 4001 points)."""
    post = analysis.posterior(n_grid=4001)
    x, dens = np.array(post["grid"]), np.array(post["density"])
    cdf = cumulative_trapezoid(dens, x, initial=0.0)
    cdf /= cdf[-1]
    edge = float(np.interp(Q, cdf, x))
    return edge, float(np.interp(edge, x, dens)), x[1] - x[0]


def test_log_density_contract(analysis):
    d = analysis.log_density()
    assert d.names == ("log10_mu_numu",) and d.bounds == ((-11.0, -7.0),)
    x = np.array([[-12.0], [-10.0], [-8.0], [-6.0]])
    lp = d(x)
    assert lp.shape == (4,) and np.isneginf(lp[[0, 3]]).all() and np.isfinite(lp[[1, 2]]).all()
    # ln p = ln L + ln pi, ln pi = -ln(4) inside the box; one point gives a float
    assert d(np.array([-10.0])) == pytest.approx(float(analysis.logl(1e-10)) - np.log(4.0), rel=1e-13)
    assert d.log_prior(np.array([-9.0])) == pytest.approx(-np.log(4.0))
    assert np.isneginf(d.log_likelihood(np.array([-6.5])))
    assert d.to_values(np.array([-9.0])) == {"mu_numu": pytest.approx(1e-9)}
    with pytest.raises(ParameterError, match=r"shape \(1,\) or \(n, 1\)"):
        d(np.zeros((3, 2)))


def _chain(analysis, n_walkers: int, n_steps: int, burn: int, seed: int = 3):
    d = analysis.log_density()
    sampler = emcee.EnsembleSampler(n_walkers, d.ndim, d, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(d.sample_prior(n_walkers, seed), n_steps, progress=False)
    tau = float(np.max(sampler.get_autocorr_time(discard=burn, tol=0)))
    return sampler.get_chain(discard=burn, flat=True)[:, 0], tau


def _check_edge(samples, tau, grid_edge, n_walkers):
    edge, density, dx = grid_edge
    n_eff = samples.size / tau
    # Monte Carlo error of a quantile: sqrt(q (1 - q) / N_eff) / p(x_q) (asymptotic normality of
    # the sample quantile; N_eff from the integrated autocorrelation time)
    sigma = np.sqrt(Q * (1 - Q) / n_eff) / density
    mc_edge = float(np.quantile(samples, Q))
    assert abs(mc_edge - edge) < 4.0 * sigma + dx, (mc_edge, edge, sigma, tau)
    return mc_edge, edge, sigma


def test_emcee_reproduces_the_grid_edge_fast(analysis, grid_edge):
    samples, tau = _chain(analysis, n_walkers=16, n_steps=400, burn=100)
    _, _, sigma = _check_edge(samples, tau, grid_edge, 16)
    assert sigma < 0.2  # the check has teeth: a fraction of the 4-decade prior


@pytest.mark.slow
def test_emcee_reproduces_the_grid_edge(analysis, grid_edge):
    samples, tau = _chain(analysis, n_walkers=32, n_steps=3000, burn=300)
    assert samples.size / tau > 1000  # a converged chain (>= 50 tau long per walker)
    _, _, sigma = _check_edge(samples, tau, grid_edge, 32)
    assert sigma < 0.05


def test_cobaya_info_dict(analysis):
    info = analysis.log_density().cobaya()
    like = info["likelihood"]["cevnsfit"]
    assert like["input_params"] == ["log10_mu_numu"]
    assert info["params"] == {"log10_mu_numu": {"prior": {"min": -11.0, "max": -7.0}}}
    assert like["external"](log10_mu_numu=-9.5) == pytest.approx(float(analysis.logl(10**-9.5)), rel=1e-13)
    assert info["sampler"] == {"mcmc": {}}


def test_bilby_adapter(analysis):
    bilby = pytest.importorskip("bilby")
    like, priors = analysis.log_density().bilby()
    assert isinstance(like, bilby.Likelihood) and set(priors) == {"log10_mu_numu"}
    like.parameters["log10_mu_numu"] = -9.5
    assert like.log_likelihood() == pytest.approx(float(analysis.logl(10**-9.5)), rel=1e-13)


def test_bilby_missing_is_a_clear_error(analysis, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_bilby(name, *args, **kwargs):
        if name == "bilby":
            raise ImportError("no bilby here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_bilby)
    with pytest.raises(ImportError, match="pip install bilby"):
        analysis.log_density().bilby()
