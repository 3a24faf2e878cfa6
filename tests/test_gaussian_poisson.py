"""The exact Gaussian-smeared Poisson integrals: compiled (numba) and numpy recurrences agree
over the whole range the likelihoods meet (forward and Miller regimes, tiny and huge means),
and both equal direct numerical integration.

The two paths compute T_1/T_0 with different erfcx implementations (scipy's and the kernel's,
both within ~1e-15); the forward recurrence, which loses up to ~6 digits by j = 45 for
m slightly below 0 (module doc of gaussian_poisson), amplifies that last-bit difference, so
the paths agree to ~1e-11 relative there and to ~1e-15 elsewhere: the bound is 1e-10."""

import numpy as np
import pytest
from scipy import integrate, stats

from cevnsfit.likelihoods import gaussian_poisson as gp

pytestmark = pytest.mark.skipif(not gp.HAVE_NUMBA, reason="numba not installed (pip install cevnsfit[fast])")


def _stress(rng, nb=40):
    mu = np.concatenate(
        [rng.uniform(0, 60, (60, nb)), 10 ** rng.uniform(-8, 7, (60, nb)), -rng.uniform(0, 30, (20, nb))]
    )
    s = np.concatenate(
        [rng.uniform(0, 10, (60, nb)), 10 ** rng.uniform(-3, 4, (60, nb)), rng.uniform(0.1, 10, (20, nb))]
    )
    return mu, s


def test_plain_compiled_equals_numpy():
    rng = np.random.default_rng(0)
    n = rng.integers(0, 46, 40)
    mu, s = _stress(rng)
    a = gp.log_smeared_poisson(n, mu, s, use_numba=False)
    b = gp.log_smeared_poisson(n, mu, s, use_numba=True)
    assert np.array_equal(np.isfinite(a), np.isfinite(b))
    ok = np.isfinite(a)
    assert np.max(np.abs(a - b)[ok] / np.maximum(1.0, np.abs(a[ok]))) < 1e-10


def test_sum_compiled_equals_numpy():
    rng = np.random.default_rng(1)
    nb = 30
    counts = rng.integers(0, 25, nb)
    j = np.arange(counts.max() + 1)[:, None]
    log_coef = np.where(j <= counts, rng.normal(-3, 2, (j.size, nb)), -np.inf)
    x, s = _stress(rng, nb)
    x = np.abs(x)
    m0 = rng.uniform(0.5, 1.5, x.shape)
    a = gp.log_smeared_poisson_sum(m0, s * 0.05, x, log_coef, counts, use_numba=False)
    b = gp.log_smeared_poisson_sum(m0, s * 0.05, x, log_coef, counts, use_numba=True)
    assert np.array_equal(np.isfinite(a), np.isfinite(b))
    ok = np.isfinite(a)
    assert np.max(np.abs(a - b)[ok] / np.maximum(1.0, np.abs(a[ok]))) < 1e-10


@pytest.mark.parametrize("n, mu, s", [(0, 3.0, 1.0), (6, 4.0, 1.5), (20, 2.0, 0.5), (3, 40.0, 5.0), (12, -2.0, 3.0)])
def test_compiled_plain_equals_quadrature(n, mu, s):
    f = lambda lam: stats.norm.pdf(lam, mu, s) * stats.poisson.pmf(n, lam)  # noqa: E731
    ref = integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
    got = gp.log_smeared_poisson(np.array([n]), np.array([mu]), np.array([s]), use_numba=True)[0]
    assert np.isclose(np.exp(got), ref, rtol=1e-9, atol=0)
