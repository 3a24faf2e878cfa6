"""Per-bin ln L tables against the exact evaluation (docs/performance.md)."""

import numpy as np
import pytest

import cevnsfit
from cevnsfit.likelihoods import tables


def _box(rng, n):
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


@pytest.mark.parametrize("datasets", ["csi2017,cenns10", "csi2021,cenns10"])
def test_tables_match_exact_over_the_prior_box_and_at_the_sm(datasets):
    names = datasets.split(",")
    fast = cevnsfit.likelihood(datasets)
    exact = cevnsfit.likelihood(datasets, options={n: {"exact": True} for n in names})
    assert all(t.term.exact for t in exact.terms) and not any(t.term.exact for t in fast.terms)
    assert sum(t.term.table().bound for t in fast.terms) <= 1e-6
    rng = np.random.default_rng(11)
    for r in (0.01, 1.0, 100.0):
        m, g = _box(rng, 150)
        assert np.max(np.abs(fast.logl(m, g, r) - exact.logl(m, g, r))) <= 1e-6
    assert abs(fast.logl_sm() - exact.logl_sm()) <= 1e-6


@pytest.mark.skipif(not tables.HAVE_NUMBA, reason="numba not installed")
def test_numba_and_numpy_kernels_agree():
    term = cevnsfit.likelihood("cenns10").terms[0].term
    tab = term.table()
    rng = np.random.default_rng(3)
    n = rng.uniform(0, 1, (300, term.n.size)) * 10 ** rng.uniform(-3, 6, (300, 1))
    n[0] = 0.0
    a = tab.sum_bins(n, use_numba=True)
    b = tab.sum_bins(n, use_numba=False)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_outside_the_table_falls_back_to_exact():
    term = cevnsfit.likelihood("csi2017").terms[0].term
    pred = np.full((2,) + term.bin_shape, 1.0)
    pred[1, 0, 0] = 1e13  # above N_TOP
    exact = tables.exact_sum(term._logl_bins, pred.reshape(2, -1))
    np.testing.assert_allclose(term.logl(pred), exact, rtol=0, atol=1e-6)


def test_cache_roundtrip_and_corrupt_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("CEVNSFIT_CACHE_DIR", str(tmp_path))
    tables.clear_cache(disk=False)
    term = cevnsfit.likelihood("csi2017").terms[0].term
    tab = term.table()
    files = list((tmp_path / "lnl-tables").glob("*.npz"))
    assert len(files) == 1
    tables.clear_cache(disk=False)
    term._table = None  # the term memoises its table; forget it too
    again = term.table()  # from disk
    np.testing.assert_array_equal(again.coef, tab.coef)
    files[0].write_bytes(b"not a table")  # corrupt: never trusted, rebuilt
    tables.clear_cache(disk=False)
    term._table = None
    rebuilt = term.table()
    np.testing.assert_array_equal(rebuilt.coef, tab.coef)
    assert tables.BinTable.load(files[0], rebuilt.key, term.counts.size) is not None
    assert tables.BinTable.load(files[0], "other key", term.counts.size) is None
    assert tables.clear_cache() == 1


def test_chunked_logl_keeps_shapes():
    like = cevnsfit.likelihood("csi2017,cenns10")
    out = like.logl(np.full((3, 4), 20.0), 5e-4)
    assert out.shape == (3, 4)
    assert np.allclose(out, like.logl(20.0, 5e-4))
