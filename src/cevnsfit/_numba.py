"""numba, optional (``pip install cevnsfit[fast]``): the one place that decides whether the hot
loops are compiled (docs/performance.md). Every compiled loop has a numpy twin giving the same
numbers; ``CEVNSFIT_NO_NUMBA=1`` forces the twins (tests compare the two).

Every compiled function is declared with ``cache=True``: numba compiles it on its first call
in a process and writes the machine code to its cache (``__pycache__`` next to the source
file when that is writable, else numba's user-wide cache directory, or ``$NUMBA_CACHE_DIR``),
keyed by the source file (path, modification time, size), the argument types and the CPU.
Later processes load it in milliseconds. A compilation, which only happens on a first run (or
after an upgrade), is announced on stderr with the cache location and its duration
(:func:`install_compile_notices`; docs: performance, "First run"). Where no cache location
is writable, the functions are compiled without a cache (a warning says so) rather than
failing at import.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable

from ._firstuse import notice

#: Options every compiled function shares (``cache=True``: the machine code is kept on disk).
JIT_OPTIONS = {"cache": True, "nogil": True}

_NOTICE_LOCK = threading.Lock()
_NOTICES_INSTALLED = False
#: Number of compilations announced in this process (tests, the warm-up command).
COMPILES = {"count": 0, "seconds": 0.0}


def numba_module():
    """The numba module, or None when it is missing or ``CEVNSFIT_NO_NUMBA`` is set."""
    if os.environ.get("CEVNSFIT_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:
        return None
    install_compile_notices(numba)
    return numba


def jit(**options) -> Callable[[Callable], Callable]:
    """Decorator: ``numba.njit(cache=True, nogil=True, **options)``, or the identity without
    numba. Falls back to an uncached compilation (with a warning) where numba finds no
    writable cache location, instead of failing at import."""
    numba = numba_module()
    if numba is None:
        return lambda fn: fn

    def decorate(fn: Callable) -> Callable:
        try:
            return numba.njit(**JIT_OPTIONS, **options)(fn)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            warnings.warn(
                f"numba cannot cache {fn.__qualname__} ({exc}); it is compiled on every run. "
                "Set NUMBA_CACHE_DIR to a writable directory to keep the compiled code.",
                RuntimeWarning,
                stacklevel=2,
            )
            return numba.njit(**{**JIT_OPTIONS, "cache": False}, **options)(fn)

    return decorate


def compile_or_none(fn: Callable, **options) -> Callable | None:
    """``fn`` compiled with ``numba.njit(cache=True, nogil=True, **options)``, or None without numba."""
    if numba_module() is None:
        return None
    return jit(**options)(fn)


def readonly(a):
    """A read-only view of the array ``a`` (no copy). numba compiles one version per
    combination of argument types, and an array's writeable flag is part of its type: passing
    inputs as read-only views whatever their origin (a ``broadcast_to`` view is read-only, a
    fresh array is not) keeps one compilation per function instead of one per combination."""
    view = a.view()
    view.flags.writeable = False
    return view


def cache_location(dispatcher) -> str:
    """Where numba keeps the compiled code of ``dispatcher`` ("" if it is not cached)."""
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "cache_path", None)
    return str(path) if path else ""


def install_compile_notices(numba) -> None:
    """Announce every top-level numba compilation on stderr (once per process).

    numba fires its ``numba:compile`` event only when a function is really compiled, not when
    it is loaded from the cache, so in a warm run nothing is printed. Compilations of functions
    called by the one being compiled are counted in its time, not announced separately.
    """
    global _NOTICES_INSTALLED
    with _NOTICE_LOCK:
        if _NOTICES_INSTALLED:
            return
        _NOTICES_INSTALLED = True
    from numba.core import event

    local = threading.local()

    class _Notices(event.Listener):
        def on_start(self, ev):
            depth = getattr(local, "depth", 0)
            local.depth = depth + 1
            if depth == 0:
                local.t0 = time.perf_counter()
                disp = (ev.data or {}).get("dispatcher")
                local.name = getattr(getattr(disp, "py_func", None), "__qualname__", "a function")
                where = cache_location(disp)
                notice(
                    f"compiling {local.name} with numba (first run only, "
                    + (f"cached in {where}" if where else "not cached")
                    + ") ..."
                )

        def on_end(self, ev):
            local.depth = getattr(local, "depth", 1) - 1
            if local.depth == 0:
                dt = time.perf_counter() - local.t0
                with _NOTICE_LOCK:
                    COMPILES["count"] += 1
                    COMPILES["seconds"] += dt
                notice(f"  compiled {local.name} in {dt:.1f} s")

    event.register("numba:compile", _Notices())


__all__ = [
    "COMPILES",
    "JIT_OPTIONS",
    "cache_location",
    "compile_or_none",
    "install_compile_notices",
    "jit",
    "numba_module",
    "readonly",
]
