"""XENONnT 8B likelihood, one thread: the profile over 10^4 points of the L_mu - L_tau prior box
(log10 g in [-4, -1], log10 M/MeV in [0.5, 3], r = 1; target <= 50 us per point for SR0+SR1),
near the SM, and the prediction cost separately. Predictions are computed once, outside the
timed calls. Run: OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python -m pytest
benchmarks/test_bench_xenon.py --benchmark-enable"""

import numpy as np
import pytest

import cevnsfit
from cevnsfit.models import LmuLtau

N = 10_000
RUNS = {"sr01": ("sr0", "sr1"), "sr012": ("sr0", "sr1", "sr2")}


def _box(n, seed=7):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


@pytest.fixture(scope="module", params=list(RUNS))
def term(request):
    lk = cevnsfit.likelihood("xenonnt", options={"xenonnt": {"runs": RUNS[request.param]}})
    t = lk.terms[0]
    t.logl_prediction(t.prediction(LmuLtau(*_box(8), 1.0)))  # compile the kernel, cache the SM start
    return t


@pytest.fixture(scope="module")
def box_preds(term):
    return term.prediction(LmuLtau(*_box(N), 1.0))


def test_xenon_logl_prior_box_10k(benchmark, term, box_preds):
    out = benchmark.pedantic(term.logl_prediction, args=(box_preds,), rounds=3, iterations=1)
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / N * 1e6
    assert out.shape == (N,) and np.all(np.isfinite(out))


def test_xenon_logl_near_sm_10k(benchmark, term):
    sm = term.prediction(None)
    preds = sm * np.linspace(0.5, 2.0, N)[:, None]
    out = benchmark.pedantic(term.logl_prediction, args=(preds,), rounds=3, iterations=1)
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / N * 1e6
    assert np.all(np.isfinite(out))


def test_xenon_prediction_prior_box_10k(benchmark, term):
    model = LmuLtau(*_box(N), 1.0)
    out = benchmark.pedantic(term.prediction, args=(model,), rounds=3, iterations=1)
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / N * 1e6
    assert out.shape == (N, 46)


def test_xenon_logl_single_point(benchmark, term):
    pred = term.prediction(None)
    out = benchmark(term.logl_prediction, pred)
    assert np.isfinite(out)
