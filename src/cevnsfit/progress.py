"""Progress of long computations on stderr (docs: cli, progress and interruption).

On a terminal a rich progress bar; otherwise (a log file, a pipe, a batch job) one plain line
every :data:`INTERVAL_S` seconds (``$CEVNSFIT_PROGRESS_INTERVAL`` overrides it), so a run that
takes minutes is never silent. Progress never goes to stdout, where results (``--json``) are.

>>> with Progress(3, "demo", enabled=False) as bar:
...     bar.advance(3)
>>> bar.completed
3
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

#: Seconds between two plain progress lines when stderr is not a terminal.
INTERVAL_S = 5.0

#: Grid points above which a command warns about the size of a computation before it starts.
LARGE_GRID_POINTS = 1_000_000
#: Toy fits above which a command warns the same way (each toy is a fit: ~ms to ~s).
LARGE_TOYS = 100_000


#: Counted progress displays open now, innermost last (the heartbeat reports the innermost).
_OPEN: list = []


def _interval() -> float:
    try:
        return max(float(os.environ.get("CEVNSFIT_PROGRESS_INTERVAL", INTERVAL_S)), 0.0)
    except ValueError:
        return INTERVAL_S


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return (
        f"{seconds // 60:02d}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    )


class Progress:
    """``total`` units of work called ``description``; ``advance(n)`` after each piece.

    ``completed`` counts work already done (a resumed scan). ``enabled=False`` prints nothing.
    Without a terminal a line is printed at most every :data:`INTERVAL_S` seconds (on an
    advance, or by :func:`heartbeat` while nothing advances), and one closing ``[done]`` line:
    a run shorter than the interval prints just that line.
    """

    def __init__(self, total: int, description: str, enabled: bool = True, completed: int = 0, unit: str = ""):
        self.total = int(total)
        self.description = description
        self.completed = int(completed)
        self.enabled = enabled
        self.unit = unit
        self._rich: Any = None
        self._task: Any = None
        self._start = time.monotonic()
        self._last_line = self._start
        self._printed = False
        self._mark: tuple[float, int] | None = None  # (time, count) at the first advance
        self._err = sys.stderr
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        if self._err.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._rich.__enter__()
            self._task = self._rich.add_task(self.description, total=self.total, completed=self.completed)
        _OPEN.append(self)
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        if self in _OPEN:
            _OPEN.remove(self)
        if self._rich is not None:
            self._rich.__exit__(*exc)
        elif exc[0] is None and (self._printed or self._mark is not None):
            self._line("done")  # one closing line for any run that did work

    def _line(self, state: str) -> None:
        with self._lock:
            now = time.monotonic()
            elapsed = now - self._start
            left = self.total - self.completed
            eta = ""
            if self._mark is not None and self.completed > self._mark[1] and left > 0:
                # rate since the first finished piece: start-up (a cluster, table builds) is not work
                rate = (now - self._mark[0]) / (self.completed - self._mark[1])
                eta = f", about {_clock(rate * left)} left"
            pct = f" ({100.0 * self.completed / self.total:.0f} %)" if self.total else ""
            unit = f" {self.unit}" if self.unit else ""
            text = f"{self.description}: {self.completed}/{self.total}{unit}{pct}, {_clock(elapsed)} elapsed{eta} [{state}]"
            try:
                print(text, file=self._err, flush=True)
            except ValueError:  # the stream was closed under us
                return
            self._last_line = now
            self._printed = True

    def due(self) -> bool:
        """A plain line is due (no terminal, nothing printed for an interval)."""
        return self._rich is None and time.monotonic() - self._last_line >= _interval()

    def advance(self, n: int = 1) -> None:
        self.completed += int(n)
        if self._mark is None:
            self._mark = (time.monotonic(), self.completed)
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.advance(self._task, n)
        elif self.due():
            self._line("running")


@contextlib.contextmanager
def heartbeat(description: str):
    """While the block runs, a line on stderr after :data:`INTERVAL_S` seconds (at least 0.5 s),
    then at doubling intervals (at most 30 s apart):
    the innermost open :class:`Progress`'s state if one is open and has printed nothing for an
    interval (a rich bar on a terminal needs no help), else ``<description>: working, MM:SS
    elapsed``. A computation without a natural count (a fit, a sampler, the validation table)
    or waiting for its first piece (a cluster starting) is never silent for long; a block
    shorter than the interval prints nothing."""
    stop = threading.Event()
    start = time.monotonic()
    err = sys.stderr  # the stream of the caller (e.g. a test runner's capture)

    def loop() -> None:
        base = max(_interval(), 0.5)
        wait = base
        while not stop.wait(base):
            inner = _OPEN[-1] if _OPEN else None
            if inner is not None:
                if inner.due():
                    inner._line("running")
                continue
            if time.monotonic() - start < wait:
                continue
            # the interval doubles up to 30 s: a long uncounted step stays visible, not chatty
            wait = min(2 * wait, wait + max(30.0, base))
            try:
                print(f"{description}: working, {_clock(time.monotonic() - start)} elapsed", file=err, flush=True)
            except ValueError:  # the stream was closed under us
                return

    thread = threading.Thread(target=loop, name="cevnsfit-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2.0)


def warn_large(points: int, what: str, threshold: int | None = None, unit: str = "points") -> None:
    """One line on stderr before a computation of ``points`` evaluations larger than ``threshold``
    (default :data:`LARGE_GRID_POINTS`)."""
    threshold = LARGE_GRID_POINTS if threshold is None else threshold
    if points > threshold:
        print(
            f"warning: {what} has {points:,} {unit} ({points / threshold:.3g} x {threshold:,}); this can take "
            "minutes to hours and much memory; progress follows on stderr",
            file=sys.stderr,
            flush=True,
        )


__all__ = ["INTERVAL_S", "LARGE_GRID_POINTS", "LARGE_TOYS", "Progress", "heartbeat", "warn_large"]
