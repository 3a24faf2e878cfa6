"""Notices on stderr for the work a first run does once and then caches (docs: performance,
"First run"): the per-bin likelihood tables, numba's compilations, the assembled XENONnT
templates. Plain lines, whether or not stderr is a terminal: one when the work starts (what,
and where its result is kept), one every few seconds with the fraction done, one at the end
with the time it took.
"""

from __future__ import annotations

import os
import sys
import time

#: Seconds between two progress lines of one task.
INTERVAL = 3.0


def notice(text: str) -> None:
    """Write ``cevnsfit: text`` on stderr (never raises: a closed stderr must not break a
    computation). ``CEVNSFIT_QUIET=1`` silences the notices."""
    if os.environ.get("CEVNSFIT_QUIET"):
        return
    try:
        print(f"cevnsfit: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class FirstUse:
    """Progress of one piece of first-run work: ``FirstUse("building ...", where, total)``,
    then :meth:`advance` as parts finish and :meth:`done` at the end."""

    def __init__(self, what: str, where: str, total: int, unit: str = "parts"):
        self.what = what
        self.total = max(int(total), 1)
        self.unit = unit
        self.count = 0
        self.t0 = time.perf_counter()
        self._last = self.t0
        notice(f"{what} (first run only, cached in {where}) ..." if where else f"{what} (not cached) ...")

    def grow(self, extra: int) -> None:
        """More parts than announced (e.g. a table refined once more)."""
        self.total += max(int(extra), 0)

    def advance(self, n: int = 1) -> None:
        self.count += n
        now = time.perf_counter()
        if now - self._last >= INTERVAL:
            self._last = now
            pct = 100.0 * min(self.count, self.total) / self.total
            notice(f"  {pct:3.0f} % ({self.count} of {self.total} {self.unit}, {now - self.t0:.0f} s)")

    def done(self) -> float:
        dt = time.perf_counter() - self.t0
        notice(f"  done in {dt:.1f} s")
        return dt


__all__ = ["INTERVAL", "FirstUse", "notice"]
