"""Prepare every cache a run needs, in one go (docs: performance, "First run").

A first run does work that later runs read from disk: numba compiles the hot loops (cached by
numba next to the sources or in its cache directory), the `paper`-mode terms build their
per-bin likelihood tables (:mod:`cevnsfit.likelihoods.tables`), and the XENONnT templates are
assembled from the release's 2305 files per run (:mod:`cevnsfit.data.loaders`). :func:`warmup`
does all of it for every registered data set and mode (and the analysis variants the
reproduction uses), so that the first real run is as fast as the second. ``cevnsfit warmup``
is its command.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .._firstuse import notice
from .._numba import COMPILES, numba_module
from ..likelihoods import likelihood
from ..likelihoods import tables as _tables

MODES = ("paper", "full")


def warmup_steps(
    datasets: Iterable[str] | None = None, modes: Iterable[str] = MODES, reproduction: bool = True
) -> list[tuple[str, str, dict]]:
    """(dataset, mode, options) of every likelihood to prepare: each registered data set in each
    mode, plus (``reproduction``) the option variants the reproduction evaluates (its CsI PE
    windows and background prior)."""
    from ..datasets.registry import registry
    from .reproduce import PE_WINDOWS

    modes = tuple(modes)
    for m in modes:
        if m not in MODES:
            from ..errors import UnknownNameError

            raise UnknownNameError(f"mode must be one of {', '.join(MODES)}, got {m!r}")
    units = registry()
    chosen = list(units) if datasets is None else list(datasets)
    for d in chosen:
        if d not in units:
            from ..errors import UnknownNameError

            raise UnknownNameError(f"unknown dataset {d!r}; known: {', '.join(units)}")
    steps: list[tuple[str, str, dict]] = []
    for mode in modes:
        steps += [(d, mode, {}) for d in chosen if mode in units[d].modes]
    if reproduction and "paper" in modes and "csi2017" in chosen:
        steps += [("csi2017", "paper", {"pe_window": w}) for w in PE_WINDOWS]
        steps += [("csi2017", "paper", {"background_prior": "jeffreys"})]
    return steps


def warmup(
    datasets: Iterable[str] | None = None,
    modes: Iterable[str] = MODES,
    reproduction: bool = True,
    progress: bool = True,
) -> list[dict]:
    """Build (or load) every likelihood of :func:`warmup_steps` and evaluate it at the SM, which
    compiles the kernels it uses, builds its tables and assembles its templates. Returns one
    record per step: ``dataset``, ``mode``, ``options``, ``seconds``, ``tables_built``,
    ``compiled`` (numba compilations; 0 and 0 when everything was cached already)."""
    numba_module()  # installs the compilation notices
    steps = warmup_steps(datasets, modes, reproduction)
    records = []
    t_all = time.perf_counter()
    for i, (name, mode, options) in enumerate(steps, 1):
        label = f"{name} ({mode}" + "".join(f", {k}={v}" for k, v in options.items()) + ")"
        if progress:
            notice(f"warm-up [{i}/{len(steps)}] {label}")
        builds, compiles = _tables.BUILDS["count"], COMPILES["count"]
        t0 = time.perf_counter()
        like = likelihood(name, mode=mode, options={name: options} if options else None)
        like.logl_model(None)
        records.append(
            {
                "dataset": name,
                "mode": mode,
                "options": options,
                "seconds": time.perf_counter() - t0,
                "tables_built": _tables.BUILDS["count"] - builds,
                "compiled": COMPILES["count"] - compiles,
            }
        )
    if progress:
        notice(f"warm-up done in {time.perf_counter() - t_all:.1f} s")
    return records


__all__ = ["MODES", "warmup", "warmup_steps"]
