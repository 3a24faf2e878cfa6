"""XENONnT 8B: the per-point Newton profile (``method="newton"``, the default) against the earlier
batched Gauss-Newton (``method="reference"``), the compiled kernel against its numpy twin, the
package without numba, and the cached SM start under pseudo-data."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cevnsfit.datasets.xenonnt import _kernel as _xenon_kernel
from cevnsfit.datasets.xenonnt import experiment as xe
from cevnsfit.datasets.xenonnt.backend import XenonLikelihood
from cevnsfit.errors import UnknownNameError
from cevnsfit.models import LmuLtau, model_from_name

# the L_mu - L_tau point of test_xenonnt: ~130x the SM 8B rate, multimodal in (t_ly, t_qy)
BIG = {"mzp_mev": 344.38638, "gx": 0.0927033}


@pytest.fixture(scope="module")
def exp01():
    return xe.build(runs=("sr0", "sr1"))


@pytest.fixture(scope="module")
def exp012(exp01):
    return xe.build(runs=("sr0", "sr1", "sr2"), source=exp01.engine.source)


def _box_predictions(exp, n, seed):
    """Predictions over the L_mu - L_tau prior box (log10 g in [-4, -1], log10 M/MeV in
    [0.5, 3], r = 1), plus the SM and the ~130x-SM point."""
    rng = np.random.default_rng(seed)
    m, g = 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)
    pred = exp.predict(LmuLtau(m, g, 1.0))
    big = exp.predict(model_from_name("lmu-ltau", **BIG))
    return np.concatenate([pred, exp.predict()[None], big[None]])


@pytest.mark.parametrize("runs", ["sr01", "sr012"])
def test_newton_matches_or_beats_reference(runs, exp01, exp012):
    exp = exp01 if runs == "sr01" else exp012
    like = XenonLikelihood(exp)
    preds = _box_predictions(exp, 300, seed=11 if runs == "sr01" else 12)
    rate = preds.sum(-1) / exp.predict().sum()
    assert rate[-1] > 100 and rate.max() > 1e4 and np.sum(rate > like.RESTART_ABOVE_SM) > 50
    new = like.fit(preds)
    ref = like.fit(preds, method="reference")
    assert new["converged"].all()
    diff = new["twice_nll"] - ref["twice_nll"]
    # never worse than the reference beyond 1e-6; lower is allowed (a better maximum of ln L)
    assert diff.max() <= 1e-6, (np.argmax(diff), diff.max())
    # at and near the SM both find the same minimum (the reference stops within ~1e-6 of it)
    near = rate < 2
    assert near[-2] and np.abs(diff[near]).max() < 1e-5
    # the reported nuisances reproduce the reported -2 ln L
    x = np.stack([new[k] for k in like.names], axis=-1)
    for i in (0, 1, len(preds) - 2, len(preds) - 1):
        assert like.twice_nll(preds[i], x[i])[0] == pytest.approx(new["twice_nll"][i], abs=1e-9)


def test_newton_with_fixed_nuisances_and_pseudo_data(exp01):
    like = XenonLikelihood(exp01, phi_free=True)
    pred = exp01.predict()
    grid = np.linspace(0.0, 3.0, 13)
    new = like.fit(np.broadcast_to(pred, grid.shape + pred.shape), fixed={"phi": grid})
    ref = like.fit(np.broadcast_to(pred, grid.shape + pred.shape), fixed={"phi": grid}, method="reference")
    assert np.all(new["phi"] == grid)
    assert np.all(new["twice_nll"] <= ref["twice_nll"] + 1e-6)
    assert new["twice_nll"] == pytest.approx(ref["twice_nll"], abs=1e-4)
    # fixed yields: no restarts, same answer as the reference
    preds = np.stack([pred, 20.0 * pred])
    fix = {"t_ly": 0.5, "t_qy": -1.0}
    a, b = like.fit(preds, fixed=fix), like.fit(preds, fixed=fix, method="reference")
    assert np.all(a["t_ly"] == 0.5) and np.all(a["t_qy"] == -1.0)
    assert np.all(a["twice_nll"] <= b["twice_nll"] + 1e-6)
    # toys: new counts and constraint centres (the cached SM start must follow them)
    rng = np.random.default_rng(5)
    for _ in range(3):
        toy = like.pseudo_data(pred, rng)
        p = np.stack([pred, 0.5 * pred, 8.0 * pred])
        a, b = toy.fit(p), toy.fit(p, method="reference")
        assert np.all(a["twice_nll"] <= b["twice_nll"] + 1e-6)
        assert a["twice_nll"] == pytest.approx(b["twice_nll"], abs=1e-4)
        assert a["twice_nll"][0] == pytest.approx(toy.fit_migrad(pred)["twice_nll"], abs=1e-4)


@pytest.mark.skipif(not _xenon_kernel.HAVE_NUMBA, reason="numba not installed")
def test_numba_and_numpy_kernels_agree(exp01):
    like = XenonLikelihood(exp01)
    preds = _box_predictions(exp01, 25, seed=3)
    a = like.fit(preds, use_numba=True)
    b = like.fit(preds, use_numba=False)
    assert np.abs(a["twice_nll"] - b["twice_nll"]).max() < 1e-9
    for k in like.names:
        assert a[k] == pytest.approx(b[k], abs=1e-5)


def test_method_option(exp01):
    with pytest.raises(UnknownNameError, match="newton, reference"):
        XenonLikelihood(exp01, method="migrad")
    like = XenonLikelihood(exp01, method="reference")
    pred = exp01.predict()
    assert like.logl(pred) == pytest.approx(XenonLikelihood(exp01).logl(pred), abs=1e-6)
    with pytest.raises(UnknownNameError):
        like.fit(pred, method="fast")


def test_without_numba_same_numbers(exp01, tmp_path):
    """The package imports and profiles without numba (CEVNSFIT_NO_NUMBA: the numpy twin)."""
    like = XenonLikelihood(exp01)
    preds = _box_predictions(exp01, 4, seed=9)
    here = like.fit(preds)["twice_nll"]
    code = (
        "import numpy as np, sys\n"
        "from cevnsfit.datasets.xenonnt import _kernel as _xenon_kernel\n"
        "from cevnsfit.datasets.xenonnt import experiment as xe\n"
        "from cevnsfit.datasets.xenonnt.backend import XenonLikelihood\n"
        "assert not _xenon_kernel.HAVE_NUMBA\n"
        "preds = np.load(sys.argv[1])\n"
        "f = XenonLikelihood(xe.build(runs=('sr0', 'sr1'))).fit(preds)['twice_nll']\n"
        "np.save(sys.argv[2], f)\n"
    )
    src, out = tmp_path / "preds.npy", tmp_path / "f.npy"
    np.save(src, preds)
    env = dict(os.environ, CEVNSFIT_NO_NUMBA="1")
    src_dir = str(Path(_xenon_kernel.__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join([src_dir, env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True, env=env, timeout=600)
    there = np.load(out)
    assert np.abs(here - there).max() < 1e-9
