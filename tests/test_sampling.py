"""Nested sampling of the g_x posterior against deterministic quadrature, and the credible-set helpers."""

import numpy as np
import pytest
from scipy import stats

import cevnsfit
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.inference.regions import (
    credible_regions_2d,
    density_level,
    hpd_intervals_1d,
    region_polylines,
    shortest_interval,
)
from cevnsfit.inference.sampling import PRIOR_LOG10_GX, PRIOR_LOG10_MZP, posterior_1d, posterior_1d_grid, posterior_2d

MZP = 20.0


@pytest.fixture(scope="module")
def csi():
    return cevnsfit.likelihood("csi2017")


@pytest.fixture(scope="module")
def csi_grid(csi):
    return posterior_1d_grid(csi, MZP)


class GaussianInLog10G:
    """ln L = -(log10 g - mu)^2 / (2 s^2): the posterior is a Gaussian truncated to the prior."""

    def __init__(self, mu=-2.5, s=0.2):
        self.mu, self.s = mu, s

    def logl(self, mzp_mev, gx, r=1.0):
        x = np.log10(np.asarray(gx, float))
        return -0.5 * ((x - self.mu) / self.s) ** 2 + 0.0 * np.asarray(mzp_mev, float)

    def logl_model(self, model):  # the likelihood protocol: ln L of a model object
        return self.logl(model.values["mzp_mev"], model.values["gx"])

    def logl_sm(self):
        return 0.0


def _area(ring):
    x, y = np.asarray(ring).T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


# --- credible-set helpers -----------------------------------------------------------------------


def test_shortest_interval_is_the_gaussian_hpd():
    x = stats.norm(1.0, 2.0).rvs(200_000, random_state=np.random.default_rng(3))
    lo, hi = shortest_interval(x, 0.683)
    assert lo == pytest.approx(1.0 - 2.0 * 1.0006, abs=0.03) and hi == pytest.approx(1.0 + 2.0 * 1.0006, abs=0.03)
    # weighted version on a grid: exact up to the grid step
    g = np.linspace(-9, 11, 20001)
    assert shortest_interval(g, 0.954, weights=stats.norm(1, 2).pdf(g)) == pytest.approx((1 - 4.0, 1 + 4.0), abs=0.01)
    # skewed: the HPD interval of an exponential starts at 0 and holds the mass
    e = np.linspace(0, 30, 30001)
    lo, hi = shortest_interval(e, 0.683, weights=np.exp(-e))
    assert lo == pytest.approx(0.0, abs=1e-3) and hi == pytest.approx(-np.log(1 - 0.683), abs=2e-3)
    with pytest.raises(ParameterError):
        shortest_interval(x, 1.2)


def test_hpd_region_of_a_bimodal_density_is_two_intervals():
    x = np.linspace(-10, 10, 20001)
    p = stats.norm(-4, 1).pdf(x) + stats.norm(4, 1).pdf(x)
    (a, b), (c, d) = hpd_intervals_1d(x, p, 0.683)
    assert (a, b, c, d) == pytest.approx((-5.0, -3.0, 3.0, 5.0), abs=0.01)
    assert density_level(np.array([4.0, 3.0, 2.0, 1.0]), 0.9) == pytest.approx(2.0)


def test_2d_hpd_region_of_a_gaussian_is_the_right_circle():
    # 2D standard normal: the HPD region of mass m is the disc r^2 <= -2 ln(1 - m)
    xs = np.linspace(-5, 5, 401)
    dens = np.exp(-0.5 * (xs[:, None] ** 2 + xs[None, :] ** 2))
    for m in (0.683, 0.954):
        rings = region_polylines(xs, xs, dens, density_level(dens, m))
        assert len(rings) == 1 and rings[0][0] == rings[0][-1]
        assert _area(rings[0]) == pytest.approx(np.pi * -2 * np.log(1 - m), rel=0.01)
    # from samples: smoothed histogram, same answer within histogram/smoothing resolution
    rng = np.random.default_rng(5)
    pts = rng.normal([1.75, -2.5], [0.25, 0.3], size=(200_000, 2))
    reg = credible_regions_2d(pts[:, 0], pts[:, 1], bins=(50, 50), smoothing_bins=1.0)
    ring = reg["regions"][0.683][0]
    assert _area(ring) == pytest.approx(np.pi * 0.25 * 0.3 * -2 * np.log(1 - 0.683), rel=0.05)
    h = reg["histogram"]
    assert np.sum(h["density"]) * np.diff(h["x_edges"])[0] * np.diff(h["y_edges"])[0] == pytest.approx(1.0)


# --- 1D posterior -------------------------------------------------------------------------------


def test_grid_posterior_of_a_gaussian_likelihood_is_analytic():
    like = GaussianInLog10G(-2.5, 0.2)
    post = posterior_1d_grid(like, MZP)
    assert post["log10_gx_68"] == pytest.approx([-2.5 - 0.2 * 1.0006, -2.5 + 0.2 * 1.0006], abs=2e-3)
    assert post["log10_gx_mle"] == pytest.approx(-2.5, abs=1e-4) and post["gx_mle"] == pytest.approx(10**-2.5, rel=1e-3)
    # Z = (1/3) Int exp(-x^2 / 2 s^2) dx = s sqrt(2 pi) / 3 (the Gaussian lies well inside the prior)
    assert post["log_evidence"] == pytest.approx(np.log(0.2 * np.sqrt(2 * np.pi) / 3), abs=1e-6)
    assert np.trapezoid(post["density"], post["log10_gx"]) == pytest.approx(1.0)


def test_nested_sampling_agrees_with_grid_integration(csi, csi_grid, capsys):
    post = posterior_1d(csi, MZP, min_num_live_points=400, seed=1)
    assert capsys.readouterr().out == ""  # quiet by default
    # same definition of the interval (shortest 68.3 % in log10 g_x): edges within sampling noise
    assert post["log10_gx_68"] == pytest.approx(csi_grid["log10_gx_68"], abs=0.05)
    assert np.allclose(np.log10(post["gx_68"]), post["log10_gx_68"])
    assert post["log10_gx_mle"] == pytest.approx(csi_grid["log10_gx_mle"], abs=1e-3)
    assert post["log_evidence"] == pytest.approx(csi_grid["log_evidence"], abs=max(4 * post["log_evidence_err"], 0.2))
    # the MLE is a maximum: no grid point beats it, and it beats the SM
    assert post["logl_max"] >= csi.logl(MZP, 10 ** np.linspace(*PRIOR_LOG10_GX, 301)).max() - 1e-9
    assert post["logl_max"] > post["logl_sm"]
    assert post["seed"] == 1 and post["sampler"] == "ultranest" and post["n_calls"] > 400
    s = post["samples"]
    assert s.ndim == 1 and len(s) > 400 and np.all((s >= -4) & (s <= -1))
    assert post["gx_68"][0] < post["gx_mle"] < post["gx_68"][1]


def test_seeded_runs_are_reproducible_and_resumable(csi, tmp_path):
    a = posterior_1d(csi, MZP, min_num_live_points=100, quick=True, seed=7)
    b = posterior_1d(csi, MZP, min_num_live_points=100, quick=True, seed=7)
    c = posterior_1d(csi, MZP, min_num_live_points=100, quick=True, seed=8)
    assert np.array_equal(a["samples"], b["samples"]) and a["log_evidence"] == b["log_evidence"]
    assert not np.array_equal(a["samples"], c["samples"])
    # the caller's global numpy state is untouched
    np.random.seed(123)
    posterior_1d(csi, MZP, min_num_live_points=100, quick=True)
    assert np.random.random() == np.random.RandomState(123).random_sample()
    # with a log_dir the stored run is picked up again
    d = tmp_path / "un"
    first = posterior_1d(csi, MZP, min_num_live_points=100, quick=True, seed=7, log_dir=d)
    assert (d / "results").is_dir()
    again = posterior_1d(csi, MZP, min_num_live_points=100, quick=True, seed=7, log_dir=d, resume=True)
    assert again["gx_68"] == pytest.approx(first["gx_68"], abs=0) and again["log_evidence"] == first["log_evidence"]
    fresh = posterior_1d(csi, MZP, min_num_live_points=100, quick=True, seed=7, log_dir=d, resume="overwrite")
    assert fresh["gx_68"] == pytest.approx(first["gx_68"], abs=0)


def test_dynesty_backend(csi, csi_grid, tmp_path):
    pytest.importorskip("dynesty")
    post = posterior_1d(csi, MZP, sampler="dynesty", min_num_live_points=100, quick=True, seed=3, log_dir=tmp_path)
    assert post["sampler"] == "dynesty" and post["seed"] == 3
    assert (tmp_path / "dynesty.save").exists()
    assert post["log10_gx_68"] == pytest.approx(csi_grid["log10_gx_68"], abs=0.1)
    assert post["log_evidence"] == pytest.approx(csi_grid["log_evidence"], abs=0.5)
    resumed = posterior_1d(csi, MZP, sampler="dynesty", min_num_live_points=100, quick=True, seed=3, log_dir=tmp_path)
    assert resumed["log_evidence"] == post["log_evidence"] and np.array_equal(resumed["samples"], post["samples"])


def test_input_validation(csi):
    with pytest.raises(UnknownNameError):
        posterior_1d(csi, MZP, sampler="multinest")
    with pytest.raises(ParameterError):
        posterior_1d(csi, -5.0)
    with pytest.raises(ParameterError):
        posterior_1d(csi, MZP, min_num_live_points=2)
    with pytest.raises(ParameterError):
        posterior_1d(csi, MZP, resume="maybe")


# --- 2D posterior -------------------------------------------------------------------------------


def _inside(rings, pts):
    from matplotlib.path import Path

    ins = np.zeros(len(pts), bool)
    for ring in rings:  # even-odd rule: holes cancel
        ins ^= Path(np.asarray(ring)).contains_points(pts)
    return ins


def test_posterior_2d_regions_hold_their_mass_of_the_exact_posterior(csi):
    post = posterior_2d(csi, r=1.0, min_num_live_points=400, seed=1)
    pts, w = post["samples"], post["weights"]
    assert pts.shape[1] == 2 and w.sum() == pytest.approx(1.0) and post["seed"] == 1
    (m0, m1), (g0, g1) = PRIOR_LOG10_MZP, PRIOR_LOG10_GX
    assert np.all((pts[:, 0] >= m0) & (pts[:, 0] <= m1) & (pts[:, 1] >= g0) & (pts[:, 1] <= g1))
    for key in ("region_68", "region_95"):
        assert post[key], key
        for ring in post[key]:
            ring = np.asarray(ring)
            assert ring.shape[1] == 2 and np.array_equal(ring[0], ring[-1])
            assert np.all((ring[:, 0] >= m0 - 1e-9) & (ring[:, 0] <= m1 + 1e-9))
            assert np.all((ring[:, 1] >= g0 - 1e-9) & (ring[:, 1] <= g1 + 1e-9))
    assert post["levels"]["95"] < post["levels"]["68"]
    # the exact posterior (flat prior in the box) on a grid: the sampled regions hold their mass
    xm, xg = np.linspace(m0, m1, 81), np.linspace(g0, g1, 81)
    logl = csi.logl(10 ** xm[:, None], 10 ** xg[None, :])
    p = np.exp(logl - logl.max()).ravel()
    p /= p.sum()
    grid = np.stack(np.meshgrid(xm, xg, indexing="ij"), -1).reshape(-1, 2)
    assert p[_inside(post["region_68"], grid)].sum() == pytest.approx(0.683, abs=0.05)
    assert p[_inside(post["region_95"], grid)].sum() == pytest.approx(0.954, abs=0.05)
    # the best sampled point is near the best grid point's likelihood
    assert post["map_point"]["logl"] >= logl.max() - 0.5
