"""The compiled per-point profile of the S2-only likelihood (``xenonnt_s2only/_kernel.py``)
against the batched numpy path of the same likelihood (``method="batched"``: an independent
implementation, vectorised over points, of the same profile): the same -2 ln L to 1e-8 over
prior-box points of three models, at the SM, at large couplings, with fixed nuisances, with the
flux free and under pseudo-data; the numba kernel against its numpy twin; the package without
numba."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cevnsfit.datasets import xenonnt_s2only as unit
from cevnsfit.datasets.xenonnt_s2only import _kernel
from cevnsfit.datasets.xenonnt_s2only.likelihood import S2OnlyLikelihood
from cevnsfit.errors import UnknownNameError
from cevnsfit.models import LmuLtau, Scalar, UniversalVector

#: The kernel's profile equals the batched path's to this (absolute, in -2 ln L).
SAME = 1e-8


@pytest.fixture(scope="module")
def term():
    return unit.term()


@pytest.fixture(scope="module")
def like(term):
    return term.term


def _box(term, n, seed):
    """Prior-box predictions: L_mu - L_tau, universal vector and scalar (the docs' maps)."""
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            term.prediction(LmuLtau(10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n), 1.0)),
            term.prediction(UniversalVector(10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-6, -2, n))),
            term.prediction(Scalar(10 ** rng.uniform(-0.5, 3, n), 10 ** rng.uniform(-7, -3, n))),
        ]
    )


def _same(like, folded, **kw):
    a = like.fit_folded(folded, method="kernel", **kw)
    b = like.fit_folded(folded, method="batched", **kw)
    d = a["twice_nll"] - b["twice_nll"]
    assert np.all(np.isfinite(a["twice_nll"])) and np.all(a["converged"])
    assert np.abs(d).max() <= SAME, f"largest difference {np.abs(d).max():.3g}"
    return a, b


def test_kernel_matches_batched_prior_box(term, like):
    # 3 x 120 prior-box points, many of them far above the SM (the two-minimum regime)
    folded = like.fold(_box(term, 120, seed=21))
    a, b = _same(like, folded)
    big = like._mu_pmf(folded)[0][:, :, like._nominal_anchor()].sum(-1) > like.RESTART_ABOVE_SM * like._sm_total()
    assert 20 < big.sum() < big.size  # both regimes are tested
    # where the minimum is unique the nuisances agree too
    for k in ("cevns_rate_multiplier", "signal_efficiency_sr0", "de_sr1_rate_multiplier"):
        assert np.median(np.abs(a[k] - b[k])) < 1e-5


def test_kernel_matches_batched_sm_and_large_couplings(term, like):
    sm = like.fold(term.prediction(None))
    _same(like, sm)
    _same(like, sm * np.array([0.0, 0.2, 1.0, 2.5, 40.0, 1e3, 1e6])[:, None, None, None])
    rng = np.random.default_rng(4)
    n = 60
    big = term.prediction(UniversalVector(10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-2, -0.5, n)))
    big2 = term.prediction(LmuLtau(10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-1, 0, n), 1.0))
    _same(like, like.fold(np.concatenate([big, big2])))


def test_kernel_with_fixed_nuisances_free_flux_and_pseudo_data(term, like):
    sm = like.fold(term.prediction(None))
    grid = np.linspace(0.0, 4.0, 17)
    _same(like, np.broadcast_to(sm, grid.shape + sm.shape), fixed={"cevns_rate_multiplier": grid})
    _same(like, np.broadcast_to(sm, (7,) + sm.shape), fixed={"t_qy": np.linspace(-3, 3, 7), "t_sys_sr1": 0.5})
    folded = like.fold(_box(term, 15, seed=5))
    free = unit.term(flux="free").term
    _same(free, folded)
    toy = like.pseudo_data(term.prediction(None), np.random.default_rng(8))
    assert toy._tables is None  # new counts: the kernel's tables are rebuilt
    _same(toy, folded)


@pytest.mark.skipif(not _kernel.HAVE_NUMBA, reason="numba not installed")
def test_numba_and_numpy_twin_agree(term, like):
    folded = like.fold(_box(term, 4, seed=9))
    a = like.fit_folded(folded, method="kernel", use_numba=True)
    b = like.fit_folded(folded, method="kernel", use_numba=False)
    assert np.abs(a["twice_nll"] - b["twice_nll"]).max() < 1e-9
    for k in like.names:
        assert a[k] == pytest.approx(b[k], abs=1e-6)


def test_method_option(term, like):
    with pytest.raises(UnknownNameError, match="auto, kernel, batched"):
        S2OnlyLikelihood(like.exp, method="fast")
    with pytest.raises(UnknownNameError, match="auto, kernel, batched"):
        like.fit(term.prediction(None), method="migrad")
    assert like._engine(None, None)[0] == _kernel.HAVE_NUMBA  # auto: the kernel when numba is there
    batched = S2OnlyLikelihood(like.exp, method="batched")
    assert batched._engine(None, None)[0] is False
    pred = term.prediction(None)
    assert batched.logl(pred) == pytest.approx(like.logl(pred), abs=SAME)


def test_without_numba_same_numbers(term, like, tmp_path):
    """Without numba (CEVNSFIT_NO_NUMBA) the package profiles with the batched path by default
    and the kernel runs as its plain-Python twin: the same numbers."""
    preds = _box(term, 3, seed=13)
    here = like.fit(preds)["twice_nll"]
    code = (
        "import numpy as np, sys\n"
        "from cevnsfit.datasets import xenonnt_s2only as unit\n"
        "from cevnsfit.datasets.xenonnt_s2only import _kernel\n"
        "assert not _kernel.HAVE_NUMBA\n"
        "like = unit.term().term\n"
        "assert like._engine(None, None)[0] is False\n"
        "preds = np.load(sys.argv[1])\n"
        "np.save(sys.argv[2], np.stack([like.fit(preds)['twice_nll'], like.fit(preds, method='kernel')['twice_nll']]))\n"
    )
    src, out = tmp_path / "preds.npy", tmp_path / "f.npy"
    np.save(src, preds)
    env = dict(os.environ, CEVNSFIT_NO_NUMBA="1")
    src_dir = str(Path(_kernel.__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join([src_dir, env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True, env=env, timeout=600)
    there = np.load(out)
    assert np.abs(here - there[0]).max() < SAME
    assert np.abs(here - there[1]).max() < 1e-9


def test_kernel_non_finite_prediction(term, like):
    # a non-finite prediction gives NaN (not converged, not sent to MIGRAD); the others are unaffected
    sm = like.fold(term.prediction(None))
    out = like.fit_folded(np.stack([sm, sm * np.nan, sm * np.inf, 2.0 * sm]), method="kernel")
    assert np.isnan(out["twice_nll"][1:3]).all() and not out["converged"][1:3].any() and out["n_fallback"] == 0
    ref = like.fit_folded(np.stack([sm, 2.0 * sm]), method="batched")["twice_nll"]
    assert np.abs(out["twice_nll"][[0, 3]] - ref).max() <= SAME


@pytest.mark.skipif(not _kernel.HAVE_NUMBA, reason="numba not installed")
def test_kernel_cached_on_disk_and_compiled_once(term, like):
    # cache=True (numba keeps the machine code), and writeable or read-only inputs share one compilation
    disp = _kernel._profile_loop
    assert type(disp._cache).__name__ != "NullCache"
    sm = like.fold(term.prediction(None))
    like.fit_folded(sm, method="kernel")
    like.fit_folded(np.broadcast_to(sm, (3,) + sm.shape), fixed={"t_qy": np.zeros(3)}, method="kernel")
    assert len(disp.signatures) == 1
