"""Reading the XENONnT S2-only release (``xenonnt-s2only-2026``; docs: datasets, xenonnt_s2only).

Everything the likelihood needs is read from the release at run time, through the package's
verified fetch (:func:`cevnsfit.data.registry.fetch`):

* the alea statistical model ``s2_only_statistical_model.yaml`` -- parameters (nominal value,
  Gaussian uncertainty, fit limits, shape anchors), the likelihood terms (one per science run),
  their livetime parameter and analysis space, and every source (template file pattern, rate
  multiplier, efficiency, shape parameters). No number of it is retyped here, so a corrected
  release needs no code;
* the binned templates (``data/templates/*_1d.h5``, events/(t y) per cS2 bin);
* the nuclear-recoil response matrices (``response/response_nr_tqy_{t}_srN.csv``: expected
  count in each cS2 bin per unit mono-energetic recoil rate, on 50 recoil energies);
* the observed events (``data/real_data.pkl``, read with an unpickler that admits only numpy's
  array reconstruction: unpickling arbitrary data can run code) and the ancillary measurements
  (the centres of the Gaussian constraints).

Source of the release: XENON Collaboration, "Light Dark Matter Search with 7.8 Tonne-Year of
Ionization-Only Data in XENONnT", arXiv:2601.11296 (2026); github.com/XENONnT/s2_only_data_release
(commit dd00e045), MIT licence per its ``.zenodo.json``.
"""

from __future__ import annotations

import csv
import importlib
import io
import pickle
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import yaml

from cevnsfit.data.registry import fetch
from cevnsfit.errors import DataFileError, UnknownNameError

RELEASE = "xenonnt-s2only-2026"
MODEL_FILE = "s2_only_statistical_model.yaml"
TEMPLATE_DIR = "data/templates"
DATA_FILE = "data/real_data.pkl"
#: Response files: one per science run and charge-yield anchor.
RESPONSE_PATTERN = "response/response_nr_tqy_{t}_{run}.csv"
#: The release's source that holds the solar-8B CEvNS expectation: the model's folded spectrum
#: replaces its templates.
CEVNS_SOURCE = "cevns"
#: The shape parameter of the CEvNS source that selects the response file (charge yield).
CHARGE_YIELD = "t_qy"
#: Sources of the dark-matter search that are not part of the CEvNS model (the WIMP signal).
EXCLUDED_SOURCES = ("wimp",)
#: Response entries at or below this value are the release's "empty" floor (1e-10), read as 0.
RESPONSE_FLOOR = 1e-10


def relpath(name: str) -> str:
    return f"{RELEASE}/{name}"


@dataclass(frozen=True)
class Parameter:
    """One parameter of the statistical model, as the yaml states it."""

    name: str
    nominal: float
    ptype: str
    sigma: float | None  # absolute Gaussian width (relative ones times the nominal value); None: free
    bounds: tuple[float, float]
    fittable: bool
    anchors: tuple[float, ...] = ()


@dataclass
class Source:
    """One source of one likelihood term (science run)."""

    name: str
    run: str
    rate: str | None  # rate-multiplier parameter (blueice: ``<source>_rate_multiplier``)
    efficiency: str | None  # efficiency parameter (``apply_efficiency``)
    shape: str | None  # the one fittable shape parameter it morphs with (or None)
    anchors: np.ndarray  # anchor values of ``shape`` (or [nan])
    templates: np.ndarray  # (n_anchors, n_bins) events/(t y) per bin
    files: tuple[str, ...] = ()


@dataclass
class Run:
    """One likelihood term: a science run."""

    name: str  # e.g. "SR0"
    key: str  # e.g. "sr0"
    livetime_parameter: str
    exposure_ty: float
    edges: np.ndarray
    observable: str
    sources: list[Source] = field(default_factory=list)


def _linspace(spec, where: str) -> np.ndarray:
    """An analysis-space binning: a list of edges or the string ``np.linspace(a, b, n)``
    (parsed, never evaluated)."""
    if isinstance(spec, (list, tuple)):
        return np.asarray(spec, dtype=float)
    m = re.fullmatch(r"\s*(?:np|numpy)\.linspace\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*,\s*(\d+)\s*\)\s*", str(spec))
    if not m:
        raise DataFileError(
            f"{where}: cannot read the binning {spec!r} (expected a list of edges or np.linspace(a, b, n))"
        )
    return np.linspace(float(m.group(1)), float(m.group(2)), int(m.group(3)))


def _parameter(name: str, d: dict, where: str) -> Parameter:
    try:
        nominal = float(d["nominal_value"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFileError(f"{where}: parameter {name!r} has no numeric nominal_value") from exc
    unc = d.get("uncertainty")
    sigma = None
    if unc is not None:
        if not isinstance(unc, (int, float)):
            raise DataFileError(f"{where}: parameter {name!r} has a non-Gaussian uncertainty {unc!r} (not supported)")
        sigma = float(unc) * (nominal if d.get("relative_uncertainty", True) else 1.0)
        if not sigma > 0:
            raise DataFileError(f"{where}: parameter {name!r} has a non-positive constraint width {sigma}")
    anchors = tuple(float(a) for a in d.get("blueice_anchors", []) or [])
    lim = d.get("fit_limits")
    if lim is None:
        lim = (min(anchors), max(anchors)) if anchors else (-np.inf, np.inf)
    return Parameter(
        name,
        nominal,
        str(d.get("ptype", "")),
        sigma,
        (float(lim[0]), float(lim[1])),
        bool(d.get("fittable", True)),
        anchors,
    )


def read_h5_template(rel: str, edges: np.ndarray) -> np.ndarray:
    """``templates/template`` of a release histogram (alea/inference_interface layout), after
    checking that its ``bins/0`` edges are the analysis space's."""
    import h5py

    path = fetch(relpath(rel))
    with h5py.File(path, "r") as f:
        try:
            bins = np.asarray(f["bins/0"], dtype=float)
            tpl = np.asarray(f["templates/template"], dtype=float)
        except KeyError as exc:
            raise DataFileError(f"{path}: expected datasets bins/0 and templates/template ({exc})") from exc
    if bins.shape != edges.shape or not np.allclose(bins, edges, rtol=0, atol=1e-9):
        raise DataFileError(f"{path}: bin edges {bins.tolist()} differ from the analysis space {edges.tolist()}")
    if tpl.shape != (edges.size - 1,) or np.any(tpl < 0) or not np.all(np.isfinite(tpl)):
        raise DataFileError(f"{path}: template must be {edges.size - 1} finite non-negative numbers, got {tpl}")
    return tpl


def _format(pattern: str, values: dict) -> str:
    return pattern.format(**{k: int(v) if float(v).is_integer() else v for k, v in values.items()})


def read_statistical_model(runs=None) -> tuple[dict[str, Parameter], list[Run]]:
    """The statistical model: parameters by name and the science runs with their sources and
    templates (the sources of ``EXCLUDED_SOURCES`` left out). ``runs``: keys like ``"sr0"``
    to keep (default all, in the file's order)."""
    path = fetch(relpath(MODEL_FILE))
    where = str(path)
    with open(path) as fh:
        cfg = yaml.safe_load(fh)
    try:
        pdef = cfg["parameter_definition"]
        terms = cfg["likelihood_config"]["likelihood_terms"]
    except (KeyError, TypeError) as exc:
        raise DataFileError(f"{where}: expected parameter_definition and likelihood_config.likelihood_terms") from exc
    params = {k: _parameter(k, v or {}, where) for k, v in pdef.items()}
    all_keys = [str(t["name"]).lower() for t in terms]
    if runs is not None:
        for r in runs:
            if r not in all_keys:
                raise UnknownNameError(
                    f"unknown XENONnT S2-only science run {r!r}; allowed runs: {', '.join(all_keys)}"
                )
    out = []
    for t in terms:
        key = str(t["name"]).lower()
        if runs is not None and key not in runs:
            continue
        space = t["analysis_space"]
        if len(space) != 1:
            raise DataFileError(f"{where}: term {t['name']}: only one-dimensional analysis spaces are supported")
        ((obs, spec),) = space[0].items()
        edges = _linspace(spec, f"{where}: term {t['name']}")
        lt = t["livetime_parameter"]
        if not t.get("in_events_per_bin", False):
            raise DataFileError(f"{where}: term {t['name']}: templates must be in events per bin")
        run = Run(t["name"], key, lt, params[lt].nominal, edges, obs)
        for s in t["sources"]:
            name = s["name"]
            if name in EXCLUDED_SOURCES:
                continue
            plist = list(s.get("parameters", []))
            rate = f"{name}_rate_multiplier" if f"{name}_rate_multiplier" in plist else None
            eff = s.get("efficiency_name") if s.get("apply_efficiency", False) else None
            named = list(s.get("named_parameters", []))
            fixed_named = {n: params[n].nominal for n in named if not params[n].fittable}
            shapes = [n for n in named if params[n].fittable]
            if len(shapes) > 1:
                raise DataFileError(f"{where}: source {name} of {t['name']}: more than one shape parameter")
            shape = shapes[0] if shapes else None
            anchors = np.array(params[shape].anchors if shape else [np.nan], dtype=float)
            files, tpls = [], []
            for a in anchors:
                vals = dict(fixed_named)
                if shape:
                    vals[shape] = a
                fname = _format(s["template_filename"], vals)
                files.append(f"{TEMPLATE_DIR}/{fname}")
                tpls.append(read_h5_template(files[-1], edges))
            run.sources.append(Source(name, key, rate, eff, shape, anchors, np.array(tpls), tuple(files)))
        out.append(run)
    return params, out


@lru_cache(maxsize=1)
def statistical_model() -> tuple[dict[str, Parameter], list[Run]]:
    """:func:`read_statistical_model` of all runs, read once per process."""
    return read_statistical_model()


def read_response(run: str, anchors) -> tuple[np.ndarray, np.ndarray]:
    """Recoil energies E [keV_NR] (n_E,) and response R (n_anchors, n_E, n_bins) of one run at
    the charge-yield anchors; entries at the release's empty floor (1e-10) are set to 0."""
    energies, mats = None, []
    for a in anchors:
        rel = RESPONSE_PATTERN.format(t=int(a), run=run)
        path = fetch(relpath(rel))
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        head = rows[0]
        if head[0] != "energy_kev":
            raise DataFileError(f"{path}: first column must be energy_kev, got {head[0]!r}")
        tab = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=float)
        e, m = tab[:, 0], tab[:, 1:]
        if energies is None:
            energies = e
        elif not np.array_equal(e, energies):
            raise DataFileError(f"{path}: recoil energies differ from the other response files")
        mats.append(np.where(m <= RESPONSE_FLOOR, 0.0, m))
    assert energies is not None
    return energies, np.array(mats)


def slot_widths(energies) -> np.ndarray:
    """Widths [keV] of the recoil slots of the release's rule (``utils.centers_to_edges``):
    edges at the midpoints between grid energies and half a step beyond each end.

    >>> slot_widths([0.5, 0.51, 0.55, 0.6]).round(4).tolist()
    [0.01, 0.025, 0.045, 0.05]
    """
    return np.diff(slot_edges(energies))


def slot_edges(energies) -> np.ndarray:
    e = np.asarray(energies, dtype=float)
    mid = 0.5 * (e[1:] + e[:-1])
    return np.concatenate([[e[0] - 0.5 * (e[1] - e[0])], mid, [e[-1] + 0.5 * (e[-1] - e[-2])]])


_ALLOWED_GLOBALS = {
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
}


class _NumpyOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name} in the S2-only data file")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module.removeprefix("numpy.core.")
        return getattr(importlib.import_module(module), name)


@lru_cache(maxsize=2)
def read_data() -> dict:
    """The observed events ``{"SR0": structured array, ...}`` and ``"ancillary"`` (the
    constraint centres), read from ``data/real_data.pkl`` without running any code."""
    path = fetch(relpath(DATA_FILE))
    try:
        data = _NumpyOnly(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise DataFileError(f"{path}: not a numpy-only pickle of the S2-only events ({exc})") from exc
    if not isinstance(data, dict) or "ancillary" not in data:
        raise DataFileError(f"{path}: expected a dict of per-run event arrays and 'ancillary'")
    return data


def observed_counts(run: Run) -> np.ndarray:
    """Observed events per bin of one run (events binned in the run's analysis space)."""
    data = read_data()
    try:
        ev = data[run.name][run.observable]
    except (KeyError, ValueError) as exc:
        raise DataFileError(f"real_data.pkl: no events {run.name!r}/{run.observable!r}") from exc
    counts, _ = np.histogram(np.asarray(ev, dtype=float), bins=run.edges)
    return counts.astype(float)


def ancillary_centres() -> dict[str, float]:
    """Centres of the Gaussian constraints (the release's ancillary measurements)."""
    anc = read_data()["ancillary"]
    return {k: float(anc[k][0]) for k in anc.dtype.names}


__all__ = [
    "CEVNS_SOURCE",
    "CHARGE_YIELD",
    "EXCLUDED_SOURCES",
    "Parameter",
    "RELEASE",
    "Run",
    "Source",
    "ancillary_centres",
    "observed_counts",
    "read_data",
    "read_response",
    "read_statistical_model",
    "slot_edges",
    "slot_widths",
    "statistical_model",
]
