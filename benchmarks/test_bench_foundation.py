"""Kernel build per experiment (target < 1 s) and SM prediction from cached kernels
(target < 5 ms), one core. Run: python -m pytest benchmarks --benchmark-enable"""

import pytest

from cevnsfit.experiments import BUILDERS, EXPERIMENTS, get_experiment


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_kernel_build(benchmark, name):
    get_experiment(name)  # warm the data-file verification cache
    exp = benchmark(BUILDERS[name], mode="paper")
    assert exp.predict().sum() > 0


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_sm_prediction(benchmark, name):
    exp = get_experiment(name)
    pred = benchmark(exp.predict)
    assert pred.sum() > 0
