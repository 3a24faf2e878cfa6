"""The assembled XENONnT templates kept in the data cache: what comes back from the store equals
the individual release files (read directly), and a damaged store file is read again from the
release, never trusted."""

import numpy as np
import pytest

from cevnsfit.datasets.xenonnt import loaders


@pytest.fixture()
def fresh_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path))
    monkeypatch.setattr(loaders, "_XENONNT_CACHE", {})
    return tmp_path


def _spot_checks(arrays):
    # a few templates straight from their files (the independent path)
    e = loaders.XENONNT_MONO_KEV[7]
    i, j = 2, 5
    tly, tqy = loaders.XENONNT_YIELD_ANCHORS[i], loaders.XENONNT_YIELD_ANCHORS[j]
    np.testing.assert_array_equal(
        arrays["mono"][7, i, j], loaders.load_xenonnt_template("sr1", "mono", e, tly, tqy).ravel()
    )
    np.testing.assert_array_equal(
        arrays["rg"][i, j], loaders.load_xenonnt_template("sr1", "rg", None, tly, tqy).ravel()
    )
    np.testing.assert_array_equal(arrays["ac"], loaders.load_xenonnt_template("sr1", "ac").ravel())


def test_store_round_trip_equals_the_release_files(fresh_store, monkeypatch):
    first = loaders.load_xenonnt_templates("sr1")
    path = loaders._xenonnt_store_path("sr1")
    assert path.exists() and path.is_relative_to(fresh_store)
    monkeypatch.setattr(loaders, "_XENONNT_CACHE", {})
    monkeypatch.setattr(loaders, "_read_h5_template", None)  # must not be needed: served from the store
    again = loaders.load_xenonnt_templates("sr1")
    monkeypatch.undo()
    for k in first:
        np.testing.assert_array_equal(again[k], first[k])
    _spot_checks(again)


def test_damaged_store_is_read_again(fresh_store, monkeypatch):
    loaders.load_xenonnt_templates("sr1")
    path = loaders._xenonnt_store_path("sr1")
    path.write_bytes(b"not an npz file")
    monkeypatch.setattr(loaders, "_XENONNT_CACHE", {})
    arrays = loaders.load_xenonnt_templates("sr1")
    _spot_checks(arrays)
    assert loaders._xenonnt_stored("sr1") is not None  # rewritten
