"""XENONnT S2-only likelihood (data-set unit ``xenonnt_s2only``), one thread: the profile of all 16
nuisances over 10^4 points of the L_mu - L_tau prior box (log10 g in [-4, -1], log10 M/MeV in
[0.5, 3], r = 1; target <= 100 us per point) with the unit's term (the declared likelihood's
fast path: the compiled per-point kernel built from the compiled declaration), with the
hand-written code term (the same kernel reading the release itself) and with the batched numpy
path, near the SM, and the prediction cost separately. Predictions are computed once, outside the timed calls; the kernel is compiled
(or loaded from numba's cache) before. Each result records the machine load (``os.getloadavg``)
when it was taken. Run: NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m
pytest benchmarks/test_bench_s2only.py --benchmark-enable"""

import os

import numpy as np
import pytest

from cevnsfit.datasets import get_dataset, xenonnt_s2only
from cevnsfit.models import LmuLtau

N = 10_000


def _box(n, seed=7):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


def _record(benchmark, n):
    benchmark.extra_info["us_per_point"] = benchmark.stats.stats.min / n * 1e6
    benchmark.extra_info["load_1_5_15"] = [round(v, 2) for v in os.getloadavg()]


@pytest.fixture(scope="module")
def term():
    t = get_dataset("xenonnt_s2only").term("paper")  # the declared likelihood's fast path
    t.logl_prediction(t.prediction(LmuLtau(*_box(8), 1.0)))  # cache the SM start, compile the kernel
    return t


@pytest.fixture(scope="module")
def box_preds(term):
    return term.prediction(LmuLtau(*_box(N), 1.0))


def test_s2only_logl_prior_box_10k(benchmark, term, box_preds):
    out = benchmark.pedantic(term.logl_prediction, args=(box_preds,), rounds=3, iterations=1)
    _record(benchmark, N)
    assert out.shape == (N,) and np.all(np.isfinite(out))


def test_s2only_logl_prior_box_10k_code(benchmark, box_preds):
    t = xenonnt_s2only.term()  # S2OnlyLikelihood reading the release
    t.logl_prediction(box_preds[:8])
    out = benchmark.pedantic(t.logl_prediction, args=(box_preds,), rounds=3, iterations=1)
    _record(benchmark, N)
    assert out.shape == (N,) and np.all(np.isfinite(out))


def test_s2only_logl_prior_box_10k_batched(benchmark, term, box_preds):
    like = term.term

    def run():
        return -0.5 * like.fit(box_preds, method="batched")["twice_nll"]

    out = benchmark.pedantic(run, rounds=2, iterations=1)
    _record(benchmark, N)
    assert out.shape == (N,) and np.all(np.isfinite(out))


def test_s2only_logl_near_sm_10k(benchmark, term):
    preds = term.prediction(None) * np.linspace(0.5, 2.0, N)[:, None]
    out = benchmark.pedantic(term.logl_prediction, args=(preds,), rounds=3, iterations=1)
    _record(benchmark, N)
    assert np.all(np.isfinite(out))


def test_s2only_prediction_prior_box_10k(benchmark, term):
    model = LmuLtau(*_box(N), 1.0)
    out = benchmark.pedantic(term.prediction, args=(model,), rounds=2, iterations=1)
    _record(benchmark, N)
    assert out.shape == (N, 50)
