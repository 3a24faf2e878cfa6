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


class DeclarationError(CevnsfitError, ValueError):
    """A data-set declaration (``dataset.yaml``, docs: datasets/format) is invalid: the message
    names the file, the key path (``likelihood.full.channels[0].samples[1]``) and the allowed
    values. Raised on load, before any computation."""


class ScanMismatchError(CevnsfitError, ValueError):
    """A scan directory holds a scan of a different grid, chunking or evaluator."""


def as_real_array(name: str, value, *, allow_empty: bool = True):
    """``value`` as a float64 ndarray, or :class:`ParameterError` naming ``name``.

    Rejects ``None``, strings, booleans, complex numbers and anything else that is not a
    real number or an array of real numbers (numpy would silently drop an imaginary part or
    parse ``"1e3"``), and empty arrays unless ``allow_empty``.

    >>> as_real_array("gx", 1 + 2j)
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: gx must be a real number (or an array of real numbers), got complex (1+2j)
    """
    import numbers

    import numpy as np

    def _bad(what) -> ParameterError:
        text = repr(value)
        text = text if len(text) <= 60 else text[:57] + "..."
        return ParameterError(f"{name} must be a real number (or an array of real numbers), got {what} {text}")

    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise _bad(type(value).__name__)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):  # ragged sequences and the like
        raise _bad(type(value).__name__) from None
    if raw.dtype.kind == "c":
        raise _bad("complex")
    if raw.dtype.kind == "O":
        flat = raw.ravel().tolist()
        if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in flat):
            kinds = sorted(
                {type(v).__name__ for v in flat if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_))}
            )
            raise _bad("elements of type " + ", ".join(kinds) + ":")
    elif raw.dtype.kind not in "iuf":
        raise _bad(f"dtype {raw.dtype}")
    arr = raw.astype(float)
    if not allow_empty and arr.size == 0:
        raise ParameterError(f"{name} must not be empty (got an array of shape {arr.shape})")
    return arr


def check_finite(
    name: str,
    value,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    low=None,
    high=None,
    low_inclusive: bool = True,
    allow_empty: bool = True,
):
    """Validate a scalar or array parameter and return it as a float ndarray.

    Raises :class:`ParameterError` naming ``name`` and the allowed range; non-numeric,
    complex and (unless ``allow_empty``) empty input is refused by :func:`as_real_array`.

    >>> check_finite("mzp_mev", 20.0, positive=True)
    array(20.)
    >>> check_finite("gx", float("nan"))
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: gx must be a finite number, got nan
    >>> check_finite("gx", "abc")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: gx must be a real number (or an array of real numbers), got str 'abc'
    """
    import math

    import numpy as np

    if type(value) is float or type(value) is int:  # fast path of a plain scalar that passes
        v = float(value)
        if (
            math.isfinite(v)
            and (not positive or v > 0)
            and (not nonnegative or v >= 0)
            and (low is None or (v >= low if low_inclusive else v > low))
            and (high is None or v <= high)
        ):
            return np.array(v)
    arr = as_real_array(name, value, allow_empty=allow_empty)
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


def check_finite_result(what: str, value, hint: str = ""):
    """Return ``value`` (an array) if every entry is finite, else raise :class:`ParameterError`.

    Used on outputs (predictions, ln L) whose inputs were valid but so extreme that float64
    overflows (e.g. couplings g_x ~ 1e200): a clear error instead of a NaN or an infinity.

    >>> check_finite_result("ln L", [1.0, float("nan")], "couplings too large")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: ln L is not finite (nan) at 1 of 2 points: couplings too large
    """
    import numpy as np

    arr = np.asarray(value)
    bad = ~np.isfinite(arr)
    if np.any(bad):
        msg = f"{what} is not finite ({arr[bad].ravel()[0]}) at {int(bad.sum())} of {arr.size} points"
        raise ParameterError(msg + (f": {hint}" if hint else ""))
    return value


class CevnsfitWarning(UserWarning):
    """An input or a result that is allowed but deserves the user's attention."""
