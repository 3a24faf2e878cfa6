"""Interaction structures (issue 9): building a new structure's kernels costs no more than the
SM (vector) kernel build, and a batched prediction of 10^4 points of any model stays within
2x the vector-mediator path (one core). Run: pytest benchmarks --benchmark-enable -k structures."""

import numpy as np
import pytest

from cevnsfit.experiments import get_experiment
from cevnsfit.models import model_from_name

N = 10_000
_rng = np.random.default_rng(1)
POINTS = {
    "lmu-ltau": dict(mzp_mev=10 ** _rng.uniform(0.5, 3, N), gx=10 ** _rng.uniform(-4, -1, N)),
    "vector": dict(
        mzp_mev=10 ** _rng.uniform(0.5, 3, N),
        g_numu=_rng.uniform(-1e-3, 1e-3, N),
        g_u=_rng.uniform(-1e-3, 1e-3, N),
        g_d=_rng.uniform(-1e-3, 1e-3, N),
    ),
    "scalar": dict(ms_mev=10 ** _rng.uniform(0, 3, N), gs=10 ** _rng.uniform(-7, -3, N)),
    "magnetic-moment": dict(mu_nue=10 ** _rng.uniform(-11, -7, N), mu_numu=10 ** _rng.uniform(-11, -7, N)),
    "nsi": dict(eps_u_ee=_rng.uniform(-1, 1, N), eps_d_ee=_rng.uniform(-1, 1, N), eps_u_emu=_rng.uniform(-1, 1, N)),
    "weak-mixing": dict(s2w=_rng.uniform(0.1, 0.4, N)),
    "neutron-radius": dict(rn_ar=_rng.uniform(3.0, 5.0, N)),
}


@pytest.mark.parametrize("structure", ["vector", "scalar", "magnetic"])
@pytest.mark.parametrize("experiment", ["csi2017", "cenns10"])
def test_structure_kernel_build(benchmark, experiment, structure):
    eng = get_experiment(experiment, "paper").engine

    def build():
        return [{g: eng._matrix(b, g, structure) for g in eng.group_names} for b in eng.blocks]

    out = benchmark.pedantic(build, rounds=5, iterations=1)
    assert all(np.all(np.isfinite(m)) for blk in out for m in blk.values())


@pytest.mark.parametrize("name", list(POINTS))
def test_batched_prediction_any_model(benchmark, name):
    exp = get_experiment("cenns10", "paper")
    model = model_from_name(name, **POINTS[name])
    exp.predict(model)  # build lazily created structure matrices
    out = benchmark.pedantic(lambda: exp.predict(model), rounds=3, iterations=1)
    assert out.shape == (N,) + exp.shape and np.all(np.isfinite(out))
