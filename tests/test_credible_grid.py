"""Credible sets from the posterior density on a grid (issue 12): analytic Gaussian cases and
the refinement check."""

import numpy as np
from scipy import stats

from cevnsfit.inference.problem import Problem
from cevnsfit.inference.sampling import credible_grid, mass_in_grid_region
from cevnsfit.likelihoods import Likelihood
from cevnsfit.likelihoods.datasets import DatasetTerm

MU = np.array([1.5, -2.5])  # centre in (log10 M_Z', log10 g_x)
SIG = np.array([0.12, 0.2])


class _LogExperiment:
    def predict(self, model=None, matching=None):
        if model is None:
            return np.zeros(2)
        m, g = np.broadcast_arrays(np.log10(model.mzp_mev), np.log10(model.gx))
        return np.stack([m, g], axis=-1)


class _Gauss2:
    """ln L = -1/2 sum_i ((pred_i - MU_i) / SIG_i)^2: a Gaussian posterior in internal coordinates."""

    def __init__(self, sig=SIG):
        self.sig = np.asarray(sig)

    def logl(self, pred):
        return -0.5 * np.sum(((np.asarray(pred) - MU) / self.sig) ** 2, axis=-1)


def _problem(poi, sig=SIG):
    like = Likelihood([DatasetTerm("g", _LogExperiment(), _Gauss2(sig))], "paper")
    fixed = {"r": 1.0} if len(poi) == 2 else {"r": 1.0, "mzp_mev": 10 ** MU[0]}
    return Problem(like, "lmu-ltau", poi=poi, fixed=fixed)


def _area(ring):
    r = np.asarray(ring)
    return 0.5 * abs(np.dot(r[:-1, 0], r[1:, 1]) - np.dot(r[1:, 0], r[:-1, 1]))


def test_2d_gaussian_regions_are_single_ellipses_of_the_right_area():
    res = credible_grid(_problem(("mzp_mev", "gx")), n=121)
    for key, m in (("region_68", 0.683), ("region_95", 0.954)):
        assert len(res[key]) == 1  # one ring, no islands
        expected = np.pi * SIG[0] * SIG[1] * (-2 * np.log(1 - m))
        assert abs(_area(res[key][0]) / expected - 1) < 0.02, (key, _area(res[key][0]), expected)
    conv = res["convergence"]
    assert conv["converged"] and max(conv["disagreeing_mass"].values()) < 0.01
    # draws from the exact posterior land in the regions with the nominal mass
    rng = np.random.default_rng(4)
    pts = MU + SIG * rng.normal(size=(40000, 2))
    frac = mass_in_grid_region(res, pts, np.ones(len(pts)))
    assert abs(frac["68"] - 0.683) < 0.01 and abs(frac["95"] - 0.954) < 0.006


def test_1d_gaussian_hpd_and_equal_tailed():
    res = credible_grid(_problem(("gx",)))
    ((lo, hi),) = res["hpd_68"]
    z = stats.norm.ppf(0.5 + 0.683 / 2)
    assert abs(lo - (MU[1] - z * SIG[1])) < 1e-3 and abs(hi - (MU[1] + z * SIG[1])) < 1e-3
    et = res["equal_tailed_68"]
    assert abs(et[0] - (MU[1] - z * SIG[1])) < 1e-3 and abs(et[1] - (MU[1] + z * SIG[1])) < 1e-3
    assert res["convergence"]["converged"]


def test_refinement_check_flags_an_unresolved_density():
    """A peak narrower than the coarse grid spacing: the check must say 'not converged'."""
    res = credible_grid(_problem(("gx",), sig=(0.12, 0.01)), n=21)
    assert not res["convergence"]["converged"]
