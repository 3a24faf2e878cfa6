"""Issue 11 targets, one thread (OPENBLAS_NUM_THREADS=1): combined CsI 2017 + Ar paper mode over
10^4 points of the whole prior box (<= 30 us per point), single call (<= 0.3 ms), CsI 2021 + Ar
(<= 40 us per point); term-only costs; peak memory of the terms for a 2x10^5-point batch.
Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks --benchmark-enable -m "not slow"."""

import tracemalloc

import numpy as np
import pytest

import cevnsfit
from cevnsfit.models import LmuLtau

N = 10_000


def _box(n, seed=7):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


@pytest.fixture(scope="module", params=["csi2017,cenns10", "csi2021,cenns10"])
def like(request):
    lk = cevnsfit.likelihood(request.param)
    lk.logl(20.0, 5e-4)  # build/load the tables
    return lk


def test_total_batched_10k(benchmark, like):
    m, g = _box(N)
    out = benchmark.pedantic(like.logl, args=(m, g, 1.0), rounds=3, iterations=1)
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / N * 1e6
    assert np.all(np.isfinite(out))


def test_terms_only_batched_10k(benchmark, like):
    m, g = _box(N)
    model = LmuLtau(m, g, 1.0)
    preds = [t.prediction(model) for t in like.terms]

    def run():
        return sum(t.logl_prediction(p) for t, p in zip(like.terms, preds))

    out = benchmark.pedantic(run, rounds=5, iterations=1)
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / N * 1e6
    assert np.all(np.isfinite(out))


def test_total_single_call(benchmark, like):
    out = benchmark(like.logl, 20.0, 5.6e-4, 1.0)
    assert np.isfinite(out)


@pytest.mark.parametrize("n_points", [1_000, 100_000])
def test_terms_cost_per_point_is_flat(benchmark, n_points):
    like = cevnsfit.likelihood("csi2017,cenns10")
    like.logl(20.0, 5e-4)
    sm = [np.broadcast_to(t.prediction(None), (n_points,) + t.experiment.shape) for t in like.terms]
    scale = np.geomspace(1e-2, 1e5, n_points)
    preds = [s * scale.reshape((-1,) + (1,) * (s.ndim - 1)) for s in sm]
    benchmark.pedantic(lambda: sum(t.logl_prediction(p) for t, p in zip(like.terms, preds)), rounds=2, iterations=1)
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / n_points * 1e6


def test_terms_peak_memory_2e5_points(benchmark):
    """Extra peak memory of the terms for a 2x10^5-point batch (the prediction itself is a
    broadcast view here: its size belongs to the prediction path)."""
    like = cevnsfit.likelihood("csi2017,cenns10")
    like.logl(20.0, 5e-4)
    n = 200_000
    preds = [np.broadcast_to(t.prediction(None), (n,) + t.experiment.shape) for t in like.terms]

    def run():
        tracemalloc.start()
        out = sum(t.logl_prediction(p) for t, p in zip(like.terms, preds))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out, peak

    (out, peak) = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["peak_mb"] = peak / 2**20
    assert peak <= 300 * 2**20
    assert out.shape == (n,)
