"""numba, optional (``pip install cevnsfit[fast]``): the one place that decides whether the hot
loops are compiled (docs/performance.md). Every compiled loop has a numpy twin giving the same
numbers; ``CEVNSFIT_NO_NUMBA=1`` forces the twins (tests compare the two)."""

from __future__ import annotations

import os
from collections.abc import Callable


def numba_module():
    """The numba module, or None when it is missing or ``CEVNSFIT_NO_NUMBA`` is set."""
    if os.environ.get("CEVNSFIT_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba


def compile_or_none(fn: Callable, **options) -> Callable | None:
    """``fn`` compiled with ``numba.njit(cache=True, nogil=True, **options)``, or None without numba."""
    numba = numba_module()
    return None if numba is None else numba.njit(cache=True, nogil=True, **options)(fn)


__all__ = ["compile_or_none", "numba_module"]
