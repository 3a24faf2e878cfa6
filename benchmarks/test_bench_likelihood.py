"""Combined paper-mode likelihood (CsI 2017 + CENNS-10) per parameter point: single call
(target <= 2 ms) and batched over 1,000 points (target <= 0.1 ms per point), one core; plus
the CsI 2021 likelihood."""

import numpy as np
import pytest

import cevnsfit


@pytest.fixture(scope="module")
def combined():
    like = cevnsfit.likelihood("csi2017,cenns10")
    like.logl(20.0, 5e-4)
    return like


def test_combined_single_point(benchmark, combined):
    out = benchmark(combined.logl, 20.0, 5.6e-4, 1.0)
    assert np.isfinite(out)


@pytest.mark.parametrize("region", ["prior box", "g_x < 3e-3"])
def test_combined_batched_1000(benchmark, combined, region):
    rng = np.random.default_rng(2)
    m = 10 ** rng.uniform(0.5, 3, 1000)
    g = 10 ** rng.uniform(-4, -1 if region == "prior box" else np.log10(3e-3), 1000)
    out = benchmark(combined.logl, m, g, 1.0)
    assert np.all(np.isfinite(out))


def test_csi2021_batched_1000(benchmark):
    like = cevnsfit.likelihood("csi2021")
    rng = np.random.default_rng(3)
    m = 10 ** rng.uniform(0.5, 3, 1000)
    g = 10 ** rng.uniform(-4, -1, 1000)
    out = benchmark(like.logl, m, g, 1.0)
    assert np.all(np.isfinite(out))
