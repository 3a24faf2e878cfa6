"""Full-mode profile likelihoods, one thread (OPENBLAS_NUM_THREADS=1): 10^3 points of the
L_mu-L_tau prior box (log10 g_x in [-4, -1], log10 M_Z'/MeV in [0.5, 3], r = 1), term only
(predictions precomputed), for CsI 2017, CENNS-10 and CsI 2021. Target: <= 1 ms per point.
``engine="migrad"`` (the MIGRAD path, point by point) is timed on 10^2 points for reference.
Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/test_bench_full.py --benchmark-enable."""

import numpy as np
import pytest

import cevnsfit
from cevnsfit.models import LmuLtau

N = 1_000
N_MIGRAD = 100


def _box(n, seed=7):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


@pytest.fixture(scope="module", params=["csi2017", "cenns10", "csi2021"])
def term_and_pred(request):
    term = cevnsfit.likelihood(request.param, mode="full").terms[0]
    m, g = _box(N)
    pred = term.prediction(LmuLtau(m, g, 1.0))
    term.term.logl(pred[:2])  # compile the kernel (numba) outside the timing
    return term, pred


def test_full_profile_batched_1k(benchmark, term_and_pred):
    term, pred = term_and_pred
    out = benchmark.pedantic(term.term.logl, args=(pred,), rounds=3, iterations=1)
    benchmark.extra_info["ms_per_point"] = benchmark.stats.stats.min / N * 1e3
    benchmark.extra_info["migrad_fallbacks"] = term.term.last_fallbacks
    assert out.shape == (N,) and np.all(np.isfinite(out))


def test_full_profile_migrad_reference(benchmark, term_and_pred):
    term, pred = term_and_pred
    t = term.term
    t.engine = "migrad"
    try:
        out = benchmark.pedantic(t.logl, args=(pred[:N_MIGRAD],), rounds=1, iterations=1)
    finally:
        t.engine = "newton"
    benchmark.extra_info["ms_per_point"] = benchmark.stats.stats.min / N_MIGRAD * 1e3
    assert np.all(np.isfinite(out))
