"""10,000 parameter points x the CENNS-10 paper-mode binned prediction (target < 1 s, one core)."""

import numpy as np

from cevnsfit.experiments import get_experiment
from cevnsfit.models import LmuLtau


def test_cenns10_10k_points(benchmark):
    exp = get_experiment("cenns10", "paper")
    n = 10_000
    rng = np.random.default_rng(1)
    mzp = 10 ** rng.uniform(0.5, 3, n)
    gx = 10 ** rng.uniform(-4, -1, n)

    def run():
        return exp.predict(LmuLtau(mzp, gx, 1.0))

    out = benchmark.pedantic(run, rounds=5, iterations=1)
    assert out.shape == (n,) + exp.shape
