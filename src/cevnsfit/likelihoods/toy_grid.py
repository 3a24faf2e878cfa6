"""ln L of many pseudo-data sets at one fixed set of predictions (docs: statistics, toys).

A toy calibration (Neyman construction, Feldman-Cousins sets, the toy p-value of a
significance) evaluates ln L of thousands of pseudo-data sets at the same predictions (the
construction grid and the null): the predictions do not depend on the data. For a term whose
ln L is a sum of per-bin terms, ln L_b depends on the bin's prediction N_b and on the bin's
data only, and toy data are small integers (counts, anti-coincidence counts) that repeat from
toy to toy. :class:`PerBinGrid` keeps, for every (bin, data value) met so far, the column
ln L_b(N_b(theta_j); data) over the fixed predictions theta_j, computed once with the term's
exact per-bin evaluation; a toy's ln L at every theta_j is then a sum of cached columns.
The result is the exact evaluation (same formula, same per-bin values) up to the order of the
final summation over bins (rounding, ~1e-13).

A term offers this through two methods of the term protocol (optional; a term without them
is evaluated with its ``logl``):

- ``bin_keys()``: an int64 array, one key per bin, equal for two data sets exactly when the
  bin's data (and hence ln L_b as a function of N_b) are equal, for pseudo-data sets drawn by
  one parent term's ``pseudo_data`` (the parent fixes everything else: backgrounds, widths);
- ``logl_bins_at(sig, index)``: the exact per-bin ln L_b of the bins ``index`` (an int array)
  for signals ``sig`` of shape (points, len(index)).
"""

from __future__ import annotations

import numpy as np

from .._numba import compile_or_none

#: Largest number of cached columns per grid (memory: columns x points x 8 bytes); beyond it
#: the cache starts again empty (results do not change, only the time).
MAX_ENTRIES = 2.5e7
#: Keys are non-negative and below 2^42 (the bin index takes the bits above); a term returns
#: -1 for a bin whose data do not fit, and such a data set is evaluated directly.
KEY_LIMIT = 1 << 42


def supports(term) -> bool:
    """True if ``term`` (a likelihood term object) offers per-bin keys (module doc) and
    evaluates exactly (a Gauss-Hermite comparison rule is evaluated with its own ``logl``)."""
    return (
        hasattr(term, "bin_keys") and hasattr(term, "logl_bins_at") and getattr(term, "quadrature", "exact") == "exact"
    )


class PerBinGrid:
    """sum_b ln L_b at fixed predictions ``preds`` (shape (points, *bins)) for many data sets
    of one per-bin term kind (module doc). Call with a term holding the data: returns the
    summed ln L at every point, shape (points,)."""

    def __init__(self, preds: np.ndarray, bin_ndim: int):
        preds = np.asarray(preds, dtype=float)
        self.shape = preds.shape[: preds.ndim - bin_ndim]
        self.preds = np.ascontiguousarray(preds.reshape((int(np.prod(self.shape, dtype=int)), -1)))
        self.n_points, self.n_bins = self.preds.shape
        self._offset = np.arange(self.n_bins, dtype=np.int64) << np.int64(42)
        self._reset()

    def _reset(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)  # known (bin, key) codes, sorted
        self._key_rows = np.empty(0, dtype=np.int64)  # their rows in _values
        self._values = np.empty((max(64, self.n_bins), self.n_points))
        self._used = 0

    def _store(self, cols: np.ndarray) -> np.ndarray:
        """Append columns (points, m) as rows; return their row numbers."""
        m = cols.shape[1]
        if self._used + m > self._values.shape[0]:
            grown = np.empty((max(2 * self._values.shape[0], self._used + m), self.n_points))
            grown[: self._used] = self._values[: self._used]
            self._values = grown
        self._values[self._used : self._used + m] = cols.T
        rows = np.arange(self._used, self._used + m)
        self._used += m
        return rows

    def __call__(self, term) -> np.ndarray:
        keys = np.asarray(term.bin_keys(), dtype=np.int64)
        if keys.shape != (self.n_bins,):
            raise ValueError(f"bin_keys() must give one key per bin ({self.n_bins}), got shape {keys.shape}")
        if np.any(keys < 0) or np.any(keys >= KEY_LIMIT):  # data outside the key range: direct
            return np.asarray(term.logl(self.preds), dtype=float).reshape(self.shape)
        if (self._used + self.n_bins) * self.n_points > MAX_ENTRIES:
            self._reset()
        codes = self._offset | keys
        pos = np.minimum(np.searchsorted(self._keys, codes), max(self._keys.size - 1, 0))
        found = (self._keys[pos] == codes) if self._keys.size else np.zeros(self.n_bins, bool)
        rows = np.where(found, self._key_rows[pos] if self._keys.size else 0, -1)
        missing = np.flatnonzero(~found)
        if missing.size:
            cols = np.asarray(term.logl_bins_at(self.preds[:, missing], missing), dtype=float)
            new = self._store(cols)
            rows[missing] = new
            keys_all = np.concatenate([self._keys, codes[missing]])
            order = np.argsort(keys_all, kind="stable")
            self._keys = keys_all[order]
            self._key_rows = np.concatenate([self._key_rows, new])[order]
        return _sum_rows(self._values, rows).reshape(self.shape)


class FixedPredictions:
    """ln L of any data set of a likelihood's terms on a grid of points and at the null, both
    fixed (a toy calibration's construction grid): per-bin terms through :class:`PerBinGrid`,
    any other term through its own ``logl``.

    ``dataset_terms``: the likelihood's :class:`~cevnsfit.likelihoods.datasets.DatasetTerm` objects;
    ``grid``: per term, the predictions at the n grid points, shape (n, *bins); ``null``: per term,
    the prediction at the null. Calling it with term objects holding data (one per dataset term,
    in order; e.g. pseudo-data) returns (ln L at the grid points (n,), ln L at the null)."""

    def __init__(self, dataset_terms, grid, null):
        self.grid = [np.asarray(g, dtype=float) for g in grid]
        self.n = self.grid[0].shape[0]
        shapes = [g.shape[1:] for g in self.grid]
        self.null = [np.reshape(np.asarray(q, dtype=float), (1,) + sh) for q, sh in zip(null, shapes)]
        self.kinds = [type(dt.term) for dt in dataset_terms]
        self.cached = [
            PerBinGrid(np.concatenate([g, q]), len(sh)) if supports(dt.term) else None
            for dt, g, q, sh in zip(dataset_terms, self.grid, self.null, shapes)
        ]

    def __call__(self, terms) -> tuple[np.ndarray, float]:
        total = np.zeros(self.n + 1)
        for term, kind, cache, g, q in zip(terms, self.kinds, self.cached, self.grid, self.null):
            if cache is not None and type(term) is kind:
                total += cache(term)
            else:
                total[: self.n] += np.asarray(term.logl(g), dtype=float).reshape(self.n)
                total[self.n] += float(np.asarray(term.logl(q), dtype=float).ravel()[0])
        return total[: self.n], float(total[self.n])


def _sum_rows_loop(values, rows, out):  # compiled by numba when available
    for p in range(out.shape[0]):
        out[p] = 0.0
    for r in rows:
        for p in range(out.shape[0]):
            out[p] += values[r, p]


_SUM_ROWS = compile_or_none(_sum_rows_loop)


def _sum_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """sum_r values[r] over ``rows`` (in order): a compiled loop without the (rows, points) copy
    when numba is available, else numpy (same order of additions)."""
    if _SUM_ROWS is None:
        return values[rows].sum(axis=0)
    out = np.empty(values.shape[1])
    _SUM_ROWS(values, np.ascontiguousarray(rows, dtype=np.int64), out)
    return out


__all__ = ["KEY_LIMIT", "MAX_ENTRIES", "FixedPredictions", "PerBinGrid", "supports"]
