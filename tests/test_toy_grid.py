"""Per-bin column cache of toy likelihoods at fixed predictions (likelihoods.toy_grid): it must
give each toy's exact ln L (the term's own full evaluation, an independent code path over all
bins at once) at every prediction, for every paper-mode per-bin term."""

import numpy as np
import pytest

import cevnsfit
from cevnsfit.likelihoods.toy_grid import PerBinGrid, supports
from cevnsfit.models import LmuLtau


@pytest.fixture(scope="module", params=["csi2017", "cenns10", "csi2021"])
def dataset(request):
    return cevnsfit.likelihood(request.param).terms[0]


def _preds(dt, n=12):
    model = LmuLtau(np.geomspace(5.0, 500.0, n), np.geomspace(1e-4, 3e-2, n), 1.0)
    return np.asarray(dt.prediction(model), dtype=float)


def test_cache_equals_exact_evaluation_of_each_toy(dataset):
    assert supports(dataset.term)
    preds = _preds(dataset)
    grid = PerBinGrid(preds, len(dataset.experiment.shape))
    rng = np.random.default_rng(11)
    for k in range(6):  # later toys reuse columns of earlier ones
        toy = dataset.term.pseudo_data(preds[k % len(preds)], rng)
        exact = np.asarray(toy.logl(preds), dtype=float)  # toys evaluate exactly (no table)
        np.testing.assert_allclose(grid(toy), exact, rtol=0, atol=1e-9 * np.abs(exact).max())
    assert grid._used < 6 * grid.n_bins  # columns were shared between toys


def test_observed_data_through_the_cache_matches_the_table(dataset):
    """The observed data set (tables) and its exact per-bin columns agree to the table bound."""
    preds = _preds(dataset)
    grid = PerBinGrid(preds, len(dataset.experiment.shape))
    np.testing.assert_allclose(grid(dataset.term), dataset.term.logl(preds), rtol=0, atol=1e-6)


def test_keys_outside_the_range_fall_back_to_the_direct_evaluation():
    dt = cevnsfit.likelihood("cenns10").terms[0]
    preds = _preds(dt, 4)
    toy = dt.term.pseudo_data(preds[0], np.random.default_rng(2))
    toy.counts = toy.counts.copy()
    toy.counts[0] = 1 << 43  # no key: the direct evaluation is used (and must not crash)
    grid = PerBinGrid(preds, len(dt.experiment.shape))
    sentinel = np.arange(4.0)
    toy.logl = lambda p: sentinel
    np.testing.assert_array_equal(grid(toy), sentinel)
    assert grid._used == 0


def test_gauss_hermite_terms_are_not_cached():
    like = cevnsfit.likelihood("cenns10", options={"cenns10": {"quadrature": "gauss-hermite"}})
    assert not supports(like.terms[0].term)
