"""Typed exceptions of cevnsfit, in one place.

Every error names the offending parameter (or file) and what would have been accepted,
so that a user can fix the call without reading the source.
"""

from __future__ import annotations


class CevnsfitError(Exception):
    """Base class of every error raised on purpose by cevnsfit."""


class ParameterError(CevnsfitError, ValueError):
    """A physical or numerical parameter is outside its allowed range (or NaN)."""


class UnknownNameError(CevnsfitError, KeyError):
    """An experiment, dataset, model, preset or mode name is not known."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DataFileError(CevnsfitError, OSError):
    """A data file is missing, corrupted (checksum mismatch) or cannot be parsed."""


class ScanMismatchError(CevnsfitError, ValueError):
    """A scan directory holds a scan of a different grid, chunking or evaluator."""


def check_finite(name: str, value, *, positive: bool = False, nonnegative: bool = False,
                 low=None, high=None, low_inclusive: bool = True):
    """Validate a scalar or array parameter and return it as a float ndarray.

    Raises :class:`ParameterError` naming ``name`` and the allowed range.

    >>> check_finite("mzp_mev", 20.0, positive=True)
    array(20.)
    >>> check_finite("gx", float("nan"))
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: gx must be a finite number, got nan
    """
    import numpy as np

    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ParameterError(f"{name} must be a finite number, got {bad}")
    if positive and np.any(arr <= 0):
        raise ParameterError(f"{name} must be > 0, got {arr[arr <= 0].ravel()[0]}")
    if nonnegative and np.any(arr < 0):
        raise ParameterError(f"{name} must be >= 0, got {arr[arr < 0].ravel()[0]}")
    if low is not None:
        bad = arr < low if low_inclusive else arr <= low
        if np.any(bad):
            op = ">=" if low_inclusive else ">"
            raise ParameterError(f"{name} must be {op} {low}, got {arr[bad].ravel()[0]}")
    if high is not None and np.any(arr > high):
        raise ParameterError(f"{name} must be <= {high}, got {arr[arr > high].ravel()[0]}")
    return arr
