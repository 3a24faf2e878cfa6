"""Loaders of the XENONnT solar-8B CEvNS release (Zenodo 10.5281/zenodo.20576156), read through
the verified registry. Layout and units: the data set's docs page (``docs.md`` of this unit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...data.loaders import choose, load_yaml, parse_table
from ...data.registry import fetch
from ...errors import DataFileError, UnknownNameError

# Layout and units: docs/datasets/xenonnt.md. Templates are HDF5 files (read with h5py):
# ``bins/0..3`` (4 edges each) and ``templates/template`` float64[3, 3, 3, 3], axis k <-> bins/k.

XENONNT_RELEASE = "xenonnt-8b-2026"
#: Science runs of the release.
XENONNT_RUNS = ("sr0", "sr1", "sr2")
#: Observables in the order of the binning YAML and of the template axes.
XENONNT_OBSERVABLES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
#: Mono-energetic recoil energies of the templates [keV_NR]: 0.5, 0.6, ..., 5.0.
XENONNT_MONO_KEV = np.round(np.linspace(0.5, 5.0, 46), 3)
#: (t_ly, t_qy) anchor values of the light- and charge-yield nuisances.
XENONNT_YIELD_ANCHORS = np.arange(-3.0, 3.0 + 0.5, 1.0)
#: Constant floors written where the efficiency vanishes (per bin; release curation notes).
_XENONNT_FLOOR = 1e-9


def _check_run(run: str) -> str:
    choose("run", run, XENONNT_RUNS)
    return run


def _read_h5_template(relpath: str) -> tuple[list[np.ndarray], np.ndarray]:
    path = fetch(relpath)
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise DataFileError(f"reading {relpath} needs h5py (pip install h5py)") from exc
    try:
        with h5py.File(path, "r") as h5:
            edges = [np.asarray(h5[f"bins/{k}"][()], dtype=float) for k in range(4)]
            hist = np.asarray(h5["templates/template"][()], dtype=float)
    except (OSError, KeyError) as exc:
        raise DataFileError(f"cannot read template {relpath} ({path}): {exc}") from exc
    if hist.shape != (3, 3, 3, 3) or any(e.shape != (4,) for e in edges):
        raise DataFileError(f"template {relpath}: expected a [3,3,3,3] histogram on 4 x 4 edges, got {hist.shape}")
    return edges, hist


def load_xenonnt_binning(run: str) -> list[np.ndarray]:
    """Bin edges of ``run`` (4 arrays of 4 edges, in :data:`XENONNT_OBSERVABLES` order).

    >>> [e.size for e in load_xenonnt_binning("sr0")]
    [4, 4, 4, 4]
    """
    relpath = f"{XENONNT_RELEASE}/binning/{_check_run(run)}.yaml"
    content = load_yaml(relpath)
    if tuple(content) != XENONNT_OBSERVABLES:
        raise DataFileError(f"data file {relpath}: axes {list(content)} are not {list(XENONNT_OBSERVABLES)}")
    return [np.asarray(content[k], dtype=float) for k in XENONNT_OBSERVABLES]


def load_xenonnt_events(run: str) -> np.ndarray:
    """Observed events of ``run`` after all selections, shape (n, 4) in observable order.

    >>> [len(load_xenonnt_events(r)) for r in XENONNT_RUNS]
    [9, 28, 25]
    """
    relpath = f"{XENONNT_RELEASE}/data/{_check_run(run)}.csv"
    path = fetch(relpath)
    lines = path.read_text().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    if header[1:] != list(XENONNT_OBSERVABLES):
        raise DataFileError(f"data file {relpath}: columns {header[1:]} are not {list(XENONNT_OBSERVABLES)}")
    table = parse_table(path, relpath, ncols=5, delimiter=",")
    return table[:, 1:]


def load_xenonnt_counts(run: str) -> np.ndarray:
    """Observed counts per bin of ``run``, shape (3, 3, 3, 3) (``numpy.histogramdd`` on the
    release binning). Raises DataFileError if an event lies outside the binning."""
    events = load_xenonnt_events(run)
    edges = load_xenonnt_binning(run)
    counts, _ = np.histogramdd(events, bins=edges)
    if counts.sum() != len(events):
        raise DataFileError(f"{len(events) - int(counts.sum())} events of {run} lie outside its binning")
    return counts


def xenonnt_template_path(
    run: str, component: str, energy_kev: float | None = None, tly: float = 0.0, tqy: float = 0.0
) -> str:
    """Release path of one template: ``component`` in ac, er, rg (neutrons), mono.

    >>> xenonnt_template_path("sr1", "mono", 0.5, -3, 2)
    'xenonnt-8b-2026/templates/sr1/mono/template_XENONnT_sr1_mono_0.500_cevns_tly_-3.0_tqy_2.0.h5'
    """
    _check_run(run)
    choose("component", component, ("ac", "er", "rg", "mono"))
    base = f"{XENONNT_RELEASE}/templates/{run}/{component}/template_XENONnT_{run}_{component}"
    if component in ("ac", "er"):
        return f"{base}_cevns.h5"
    suffix = f"_cevns_tly_{float(tly):.1f}_tqy_{float(tqy):.1f}.h5"
    if component == "rg":
        return base + suffix
    if energy_kev is None:
        raise UnknownNameError("a mono template needs energy_kev (0.5 ... 5.0 in steps of 0.1)")
    return f"{base}_{float(energy_kev):.3f}" + suffix


def load_xenonnt_template(
    run: str, component: str, energy_kev: float | None = None, tly: float = 0.0, tqy: float = 0.0
) -> np.ndarray:
    """One template as a (3, 3, 3, 3) array; its edges are checked against the run's binning.

    AC, ER and neutron (``rg``) templates are in events/(t y) per bin; ``mono`` templates are
    dimensionless detection efficiencies per bin (floors below 1e-9 per bin set to zero).
    """
    return _xenonnt_template(run, component, energy_kev, tly, tqy, None)


def _xenonnt_template(run, component, energy_kev, tly, tqy, binning) -> np.ndarray:
    """:func:`load_xenonnt_template` with the run's binning already read (the set of 2305 files
    of a run is checked against one parse of the binning file)."""
    relpath = xenonnt_template_path(run, component, energy_kev, tly, tqy)
    edges, hist = _read_h5_template(relpath)
    if binning is None:
        binning = load_xenonnt_binning(run)
    for k, (got, want) in enumerate(zip(edges, binning)):
        if not np.allclose(got, want, rtol=0.0, atol=1e-9):
            raise DataFileError(
                f"template {relpath}: bins/{k} {got.tolist()} differ from the binning of {run} {want.tolist()}"
            )
    if component == "mono":
        hist = np.where(hist < _XENONNT_FLOOR, 0.0, hist)
    return hist


_XENONNT_CACHE: dict[str, dict[str, np.ndarray]] = {}


def load_xenonnt_templates(run: str) -> dict[str, np.ndarray]:
    """All templates of ``run`` flattened over the 81 bins (C order of the (3,3,3,3) arrays):

    ``ac`` (81,), ``er`` (81,) [events/(t y)], ``rg`` (7, 7, 81) [events/(t y)] and ``mono``
    (46, 7, 7, 81) [efficiency], anchor axes (t_ly, t_qy) in :data:`XENONNT_YIELD_ANCHORS`
    order, energies in :data:`XENONNT_MONO_KEV` order. Read once per process (2305 files per run).
    """
    _check_run(run)
    if run not in _XENONNT_CACHE:
        stored = _xenonnt_stored(run)
        if stored is not None:
            _XENONNT_CACHE[run] = stored
    if run not in _XENONNT_CACHE:
        n_a = len(XENONNT_YIELD_ANCHORS)
        rg = np.empty((n_a, n_a, 81))
        mono = np.empty((len(XENONNT_MONO_KEV), n_a, n_a, 81))
        binning = load_xenonnt_binning(run)
        from cevnsfit._firstuse import FirstUse

        where = str(_xenonnt_store_path(run).parent)
        progress = FirstUse(f"assembling the XENONnT templates of {run}", where, n_a * n_a, unit="anchors")
        for i, tly in enumerate(XENONNT_YIELD_ANCHORS):
            for j, tqy in enumerate(XENONNT_YIELD_ANCHORS):
                rg[i, j] = _xenonnt_template(run, "rg", None, tly, tqy, binning).ravel()
                for k, e in enumerate(XENONNT_MONO_KEV):
                    mono[k, i, j] = _xenonnt_template(run, "mono", e, tly, tqy, binning).ravel()
                progress.advance()
        progress.done()
        _XENONNT_CACHE[run] = {
            "ac": _xenonnt_template(run, "ac", None, 0.0, 0.0, binning).ravel(),
            "er": _xenonnt_template(run, "er", None, 0.0, 0.0, binning).ravel(),
            "rg": rg,
            "mono": mono,
        }
        _xenonnt_store(run, _XENONNT_CACHE[run])
    return {k: v.copy() for k, v in _XENONNT_CACHE[run].items()}


#: Version of the assembled-template file (part of its name).
_XENONNT_STORE_FORMAT = 1
_XENONNT_SHAPES = {"ac": (81,), "er": (81,), "rg": (7, 7, 81), "mono": (46, 7, 7, 81)}


def _xenonnt_store_path(run: str) -> Path:
    """Where the assembled templates of ``run`` are kept: the data cache directory, under a
    name made from the registered checksums of the run's template and binning files (so a new
    release or a changed registry entry never reads an old file)."""
    import hashlib

    from cevnsfit.data.registry import FILES, cache_dir

    prefix, binning = f"{XENONNT_RELEASE}/templates/{run}/", f"{XENONNT_RELEASE}/binning/{run}.yaml"
    sums = sorted(f"{f.path}:{f.sha256}" for f in FILES if f.path.startswith(prefix) or f.path == binning)
    key = hashlib.sha256("\n".join(sums + [str(_XENONNT_STORE_FORMAT), str(_XENONNT_FLOOR)]).encode()).hexdigest()
    return cache_dir() / "derived" / f"xenonnt-{run}-templates-{key[:24]}.npz"


def _xenonnt_stored(run: str) -> dict | None:
    """The assembled templates of ``run`` from the data cache (read from the 2305 verified files
    once, then kept): None if absent, unreadable or of the wrong shape (then they are re-read)."""
    path = _xenonnt_store_path(run)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: np.asarray(z[k], dtype=float) for k in _XENONNT_SHAPES}
    except Exception:  # noqa: BLE001 - truncated or foreign file: read the templates again
        return None
    if any(out[k].shape != shape or not np.all(np.isfinite(out[k])) for k, shape in _XENONNT_SHAPES.items()):
        return None
    return out


def _xenonnt_store(run: str, arrays: dict) -> None:
    """Keep the assembled templates (atomic write; a read-only cache is not an error)."""
    import os
    import tempfile

    path = _xenonnt_store_path(run)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass


__all__ = [
    "XENONNT_RUNS",
    "XENONNT_OBSERVABLES",
    "XENONNT_MONO_KEV",
    "XENONNT_YIELD_ANCHORS",
    "load_xenonnt_binning",
    "load_xenonnt_events",
    "load_xenonnt_counts",
    "xenonnt_template_path",
    "load_xenonnt_template",
    "load_xenonnt_templates",
]
