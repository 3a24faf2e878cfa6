"""The declared likelihood's generic engine (likelihoods/declared.py, backend="generic") against
the code likelihood it replaces (CennsFullLikelihood), CENNS-10 full mode, 10^3 points of the
L_mu-L_tau prior box (log10 g_x in [-4, -1], log10 M_Z'/MeV in [0.5, 3], r = 1), term only
(predictions precomputed), one thread. Standard (issue 18): the generic engine at most 2x the
code likelihood per point. Both are timed in the same run, compiled (numba) and numpy; compare
``ms_per_point`` of the pairs (the machine may be loaded: ratios, not absolute times).
Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/test_bench_declared.py --benchmark-enable."""

import numpy as np
import pytest

import cevnsfit
from cevnsfit.datasets import get_dataset
from cevnsfit.likelihoods import _declared_kernel, _full_kernels
from cevnsfit.models import LmuLtau

N = 1_000


@pytest.fixture(scope="module")
def terms():
    code = cevnsfit.likelihood("cenns10", mode="full").terms[0]  # backend auto: CennsFullLikelihood
    generic = get_dataset("cenns10").term("full", backend="generic")
    rng = np.random.default_rng(7)
    m, g = 10 ** rng.uniform(0.5, 3, N), 10 ** rng.uniform(-4, -1, N)
    pred = code.prediction(LmuLtau(m, g, 1.0))
    code.term.logl(pred[:2])  # compile the kernels outside the timing
    generic.term.logl(pred[:2])
    return {"code": code.term, "generic": generic.term}, pred


PATHS = ["numpy"] + (["numba"] if _declared_kernel.HAVE_NUMBA and _full_kernels.HAVE_NUMBA else [])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("which", ["code", "generic"])
def test_cenns10_full_1k(benchmark, terms, which, path):
    by_name, pred = terms
    term = by_name[which]
    term.use_numba = path == "numba"
    try:
        out = benchmark.pedantic(term.logl, args=(pred,), rounds=3, iterations=1)
    finally:
        term.use_numba = None
    benchmark.extra_info["ms_per_point"] = benchmark.stats.stats.min / N * 1e3
    benchmark.extra_info["migrad_fallbacks"] = term.last_fallbacks
    assert out.shape == (N,) and np.all(np.isfinite(out))
