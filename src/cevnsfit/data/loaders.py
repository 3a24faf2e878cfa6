"""Loaders of the curated COHERENT releases and limit curves, returning numpy arrays.

Every loader reads through :func:`cevnsfit.data.registry.fetch`, so checksums are enforced,
and raises :class:`~cevnsfit.errors.DataFileError` naming the file when the content does
not parse or does not sit on the binning documented in the release READMEs. Units are
those of the files (PE, µs, keVee); :func:`load_limit_curve` converts GeV to MeV.

>>> CENNS10_EDGES["f90"]
array([0.5 , 0.55, 0.6 , 0.65, 0.7 , 0.75, 0.8 , 0.85, 0.9 ])
>>> load_csi2017_histogram(window="X")
Traceback (most recent call last):
...
cevnsfit.errors.UnknownNameError: window='X' is not known; choose one of ['AC', 'C']
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from cevnsfit.data.registry import fetch
from cevnsfit.errors import DataFileError, UnknownNameError

__all__ = [
    "CENNS10_EDGES",
    "LIMIT_CURVES",
    "load_yaml",
    "load_csi2017_histogram",
    "load_csi2017_arrival_pdf",
    "load_csi2017_prompt_neutron_pe",
    "load_cenns10_grid",
    "load_cenns10_efficiency",
    "load_cenns10_projection",
    "load_csi2021_events",
    "load_csi2021_shape",
    "load_csi2021_efficiency",
    "load_csi2021_quenching",
    "load_limit_curve",
]

_GEV_IN_MEV = 1e3
_NO_SENSITIVITY = 1e5  # DarkCast sentinel: no sensitivity at this mass


def _edges(start: float, step: float, n: int) -> np.ndarray:
    return np.round(start + step * np.arange(n + 1), 10)


def _centres(edges: np.ndarray) -> np.ndarray:
    return np.round(0.5 * (edges[1:] + edges[:-1]), 10)


#: CsI 2017 histograms: 25 bins of 2 PE (0-50 PE) x 24 bins of 0.5 µs (0-12 µs).
_CSI2017_PE_EDGES = _edges(0.0, 2.0, 25)
_CSI2017_T_EDGES_US = _edges(0.0, 0.5, 24)

#: CENNS-10 Analysis A 3D grid (companion Table 1): keVee, F90, t_trig in µs.
CENNS10_EDGES: dict[str, np.ndarray] = {
    "energy_kevee": _edges(0.0, 10.0, 12),
    "f90": _edges(0.5, 0.05, 8),
    "t_us": _edges(-0.1, 0.5, 10),
}

#: Limit curves of the L_mu - L_tau Z' in the registry: name -> legend label with citation.
LIMIT_CURVES: dict[str, str] = {
    "babar_2016_4mu": "BaBar 4μ (PRD 94, 011102 (2016), arXiv:1606.03501; via DarkCast)",
    "borexino_bauer2018_recast": (
        "Borexino (recast by Bauer, Foldenauer, Jaeckel, JHEP 07 (2018) 094, arXiv:1803.05466; via DarkCast)"
    ),
    "charm2_bauer2018_recast": (
        "CHARM-II (recast by Bauer, Foldenauer, Jaeckel, JHEP 07 (2018) 094, arXiv:1803.05466; via DarkCast)"
    ),
}


def _choose(what: str, value: str, allowed) -> None:
    if value not in allowed:
        raise UnknownNameError(f"{what}={value!r} is not known; choose one of {sorted(allowed)}")


def _parse(path: Path, label: str, ncols: int, nrows: int | None = None, delimiter: str | None = None) -> np.ndarray:
    """Numeric table of a text file: skips ``#`` comments, blank lines and the title lines
    before the first numeric row (the curated copies and the original releases differ in
    their header lines, docs/data.md). With ``delimiter=","`` whitespace separates fields too."""
    try:
        lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if delimiter == ",":
            lines, delimiter = [re.sub(r"\s*,\s*|\s+", " ", ln.strip()) for ln in lines], None
        while lines:
            try:
                np.loadtxt(lines[:1], delimiter=delimiter)
                break
            except ValueError:  # a column-title line (CsI 2017 beam-off, CENNS-10 1D files)
                lines = lines[1:]
        table = np.loadtxt(lines, delimiter=delimiter, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot parse data file {label} ({path}): {exc}") from exc
    if table.shape[1] != ncols or (nrows is not None and table.shape[0] != nrows):
        want = f"{nrows if nrows is not None else 'n'} x {ncols}"
        raise DataFileError(f"data file {label} ({path}) has a table of shape {table.shape}, expected {want}")
    return table


def _table(relpath: str, ncols: int, nrows: int | None = None, delimiter: str | None = None) -> np.ndarray:
    return _parse(fetch(relpath), relpath, ncols, nrows, delimiter)


def _check_grid(relpath: str, got: np.ndarray, expected: np.ndarray, what: str) -> None:
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=0.0, atol=1e-9):
        raise DataFileError(f"data file {relpath}: {what} are not the expected grid {np.unique(expected).tolist()}")


def load_yaml(relpath: str) -> dict:
    """Parse a registered YAML file (e.g. ``coherent-csi-2017/coherent_parameters.yaml``)."""
    import yaml

    path = fetch(relpath)
    try:
        content = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot parse YAML file {relpath} ({path}): {exc}") from exc
    if not isinstance(content, dict):
        raise DataFileError(f"YAML file {relpath} ({path}) is not a mapping")
    return content


# --- CsI[Na] 2017 (Zenodo 10.5281/zenodo.1228631) -----------------------------------------


def load_csi2017_histogram(window: str = "C", beam: str = "on") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CsI 2017 event histogram: (pe_edges (26,), t_edges_us (25,), counts (25, 24)).

    ``window`` is ``"C"`` (coincidence, signal) or ``"AC"`` (anti-coincidence); ``beam`` is
    ``"on"`` or ``"off"``. ``counts`` are integers indexed [PE bin, time bin]; the PE
    labels 1, 3, ..., 49 of the file are read as centres of 2-PE bins (release README).
    """
    _choose("window", window, ("C", "AC"))
    _choose("beam", beam, ("on", "off"))
    w = {"C": "coincidence", "AC": "anticoincidence"}[window]
    relpath = f"coherent-csi-2017/data_{w}_beam{beam.capitalize()}.txt"
    table = _table(relpath, ncols=3, nrows=600, delimiter=",")
    pe_c, t_c = _centres(_CSI2017_PE_EDGES), _centres(_CSI2017_T_EDGES_US)
    _check_grid(relpath, table[:, 0], np.repeat(pe_c, t_c.size), "PE bin centres (column 1)")
    _check_grid(relpath, table[:, 1], np.tile(t_c, pe_c.size), "time bin centres (column 2)")
    counts = table[:, 2]
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise DataFileError(f"data file {relpath}: counts are not non-negative integers")
    shape = (pe_c.size, t_c.size)
    return _CSI2017_PE_EDGES.copy(), _CSI2017_T_EDGES_US.copy(), counts.astype(int).reshape(shape)


def load_csi2017_arrival_pdf(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """SNS arrival-time PDF: (t_edges_us (25,), probability per 0.5-µs bin (24,)).

    ``kind`` is ``"prompt_neutrinos"``, ``"delayed_neutrinos"`` or ``"prompt_neutrons"``.
    """
    files = {
        "prompt_neutrinos": "promptNeutrinos",
        "delayed_neutrinos": "delayedNeutrinos",
        "prompt_neutrons": "promptNeutrons",
    }
    _choose("kind", kind, files)
    relpath = f"coherent-csi-2017/arrivalTimePDF_{files[kind]}.txt"
    table = _table(relpath, ncols=2, nrows=24, delimiter=",")
    _check_grid(relpath, table[:, 0], _centres(_CSI2017_T_EDGES_US), "time bin centres")
    return _CSI2017_T_EDGES_US.copy(), table[:, 1]


def load_csi2017_prompt_neutron_pe() -> tuple[np.ndarray, np.ndarray]:
    """Prompt-neutron PE spectrum: (pe_edges (51,), neutrons per GWhr per 1-PE bin (50,)).

    Values are before the acceptance is applied (``promptPDF.txt`` header).
    """
    relpath = "coherent-csi-2017/promptPDF.txt"
    table = _table(relpath, ncols=2, nrows=50, delimiter=",")
    edges = _edges(0.0, 1.0, 50)
    _check_grid(relpath, table[:, 0], _centres(edges), "PE bin centres")
    return edges, table[:, 1]


# --- CENNS-10 Analysis A (Zenodo 10.5281/zenodo.3903810) ----------------------------------

_CENNS10_GRIDS = {
    "data": "datanobkgsub.txt",
    "ss": "bkgpdf.txt",
    "cevns": "cevnspdf.txt",
    "prompt_brn": "brnpdf.txt",
    "delayed_brn": "delbrnpdf.txt",
    "cevns_f90_plus": "SystErrors/cevnspdf+1sigF90.txt",
    "cevns_f90_minus": "SystErrors/cevnspdf-1sigF90.txt",
    "cevns_timing_mean": "SystErrors/cevnspdfCEvNSTimingMeanSyst.txt",
    "prompt_brn_energy_plus": "SystErrors/brnpdf+1sigEnergy.txt",
    "prompt_brn_energy_minus": "SystErrors/brnpdf-1sigEnergy.txt",
    "prompt_brn_timing_mean_plus": "SystErrors/brnpdf+1sigBRNTimingMean.txt",
    "prompt_brn_timing_mean_minus": "SystErrors/brnpdf-1sigBRNTimingMean.txt",
    "prompt_brn_timing_width": "SystErrors/brnpdfBRNTimingWidthSyst.txt",
}


def load_cenns10_grid(name: str) -> np.ndarray:
    """A CENNS-10 3D histogram, shape (12, 8, 10) indexed [energy, F90, t_trig].

    Values as in the file: event counts (``"data"``) or expected events at the CV
    normalisation. ``"prompt_brn_timing_mean_plus"`` totals 523.67, not 497 (release
    README, inconsistency 3); it is returned unscaled.
    """
    _choose("name", name, _CENNS10_GRIDS)
    relpath = f"coherent-cenns10-analysisA/{_CENNS10_GRIDS[name]}"
    table = _table(relpath, ncols=4, nrows=960)
    cols = np.meshgrid(*(_centres(CENNS10_EDGES[k]) for k in ("energy_kevee", "f90", "t_us")), indexing="ij")
    for i, (col, axis) in enumerate(zip(cols, ("energy", "F90", "t_trig"))):
        _check_grid(relpath, table[:, i], col.ravel(), f"{axis} bin centres (column {i + 1})")
    return table[:, 3].reshape(12, 8, 10)


def load_cenns10_efficiency() -> tuple[np.ndarray, np.ndarray]:
    """CENNS-10 acceptance: (edges_kevee (81,) = 0, 0.5, ..., 40, efficiency (80,)).

    Above 40 keVee the companion says to use the last value.
    """
    relpath = "coherent-cenns10-analysisA/CENNS10AnlAEfficiency.txt"
    table = _table(relpath, ncols=3, nrows=80)
    edges = _edges(0.0, 0.5, 80)
    _check_grid(relpath, table[:, 0], _centres(edges), "energy bin centres")
    return edges, table[:, 2]


def load_cenns10_projection(axis: str) -> dict[str, np.ndarray]:
    """1D projection behind Fig. 4 of arXiv:2003.10630 (``axis``: energy, f90 or time).

    Keys ``centre``, ``data`` (SS-subtracted), ``stat_err``, ``cevns``, ``brn``,
    ``cevns_brn`` (best-fit components) and ``syst_low``/``syst_high`` (absolute edges of
    the band on CEvNS+BRN).
    """
    files = {
        "energy": ("energydata1d.txt", "energy_kevee"),
        "f90": ("f90data1d.txt", "f90"),
        "time": ("timingdata1d.txt", "t_us"),
    }
    _choose("axis", axis, files)
    fname, edges_key = files[axis]
    relpath = f"coherent-cenns10-analysisA/OneDProjections/{fname}"
    centres = _centres(CENNS10_EDGES[edges_key])
    table = _table(relpath, ncols=8, nrows=centres.size)
    _check_grid(relpath, table[:, 0], centres, "bin centres")
    keys = ("centre", "data", "stat_err", "cevns", "brn", "cevns_brn", "syst_low", "syst_high")
    return {k: table[:, i].copy() for i, k in enumerate(keys)}


# --- CsI[Na] 2021 (arXiv:2110.07730 ancillary files) --------------------------------------


def load_csi2021_events(window: str = "C") -> np.ndarray:
    """Unbinned beam-on events, shape (n, 2): columns PE, recoil time in µs.

    ``window`` is ``"C"`` (coincidence) or ``"AC"`` (anti-coincidence).
    """
    _choose("window", window, ("C", "AC"))
    return _table(f"coherent-csi-2021/dataBeamOn{window}.txt", ncols=2)


def load_csi2021_shape(name: str) -> tuple[np.ndarray, np.ndarray]:
    """BRN/NIN shape: (bin centres, values as in the file, not unit-normalised).

    ``name``: ``"brn_pe"``, ``"nin_pe"`` (1-PE bins) or ``"brn_time"``, ``"nin_time"``
    (0.01-µs bins).
    """
    files = {"brn_pe": "brnPE.txt", "brn_time": "brnTrec.txt", "nin_pe": "ninPE.txt", "nin_time": "ninTrec.txt"}
    _choose("name", name, files)
    table = _table(f"coherent-csi-2021/{files[name]}", ncols=2)
    return table[:, 0], table[:, 1]


def _coefficient_blocks(relpath: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(preceding comment, (a, b, c, d)) for each coefficient line of a CsI 2021 file."""
    path = fetch(relpath)
    blocks, comment = [], ""
    try:
        for line in path.read_text().splitlines():
            line = line.strip()
            if line.startswith("#"):
                comment = line.lstrip("# ")
            elif line:
                values = tuple(float(v) for v in line.split())
                if len(values) != 4:
                    raise ValueError(f"expected 4 coefficients, got {line!r}")
                blocks.append((comment, values))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot parse data file {relpath} ({path}): {exc}") from exc
    return blocks


def load_csi2021_efficiency() -> dict[str, tuple[float, float, float, float]]:
    """Efficiency coefficients (a, b, c, d) of eff(x) = a / (1 + exp(-b (x - c))) + d, x in PE.

    Keys ``"nominal"``, ``"plus"``, ``"minus"``. The file labels both variants
    "+1 sigma"; ``"plus"`` is the one whose efficiency integrated over 0-60 PE is larger
    than the nominal one (the first listed, c = 9.85 PE: higher efficiency at every
    x >= 5 PE), ``"minus"`` the one below (c = 11.88 PE). The formula is negative below
    about 7 PE; clipping is left to the caller.
    """
    relpath = "coherent-csi-2021/effCoefficients.txt"
    blocks = _coefficient_blocks(relpath)
    nominal = [v for c, v in blocks if "nominal" in c.lower()]
    variants = [v for c, v in blocks if "nominal" not in c.lower()]
    if len(nominal) != 1 or len(variants) != 2:
        raise DataFileError(
            f"data file {relpath}: expected one nominal and two variant "
            f"models, found {len(nominal)} and {len(variants)}"
        )
    x = np.linspace(0.0, 60.0, 601)
    area = [
        np.mean(a / (1 + np.exp(-b * (x - c))) + d)  # uniform grid: mean ~ integral
        for a, b, c, d in (nominal[0], *variants)
    ]
    if not (min(area[1:]) < area[0] < max(area[1:])):
        raise DataFileError(f"data file {relpath}: the two variants do not bracket the nominal efficiency")
    hi = int(area[2] > area[1])
    return {"nominal": nominal[0], "plus": variants[hi], "minus": variants[1 - hi]}


def load_csi2021_quenching() -> dict[str, tuple[float, float, float, float]]:
    """Scintillation response (a, b, c, d): E_ee = a T + b T^2 + c T^3 + d T^4, MeVee, T in MeVnr.

    Keys ``"nominal"`` and ``"model0_plus"``, ``"model0_minus"``, ``"model1_plus"``,
    ``"model1_minus"`` for the file's "Syst model <k>, +/-1 sigma" variants. The signs are
    the file's labels: model 0 +1 sigma gives more light than nominal below 11 keVnr and
    less from 11 to 37 keVnr; model 1 +1 sigma gives less light below 31 keVnr.
    """
    relpath = "coherent-csi-2021/scintRespCoefficients.txt"
    out = {}
    for comment, values in _coefficient_blocks(relpath):
        m = re.search(r"model\s*(\d+),\s*([+-])\s*1\s*sigma", comment, re.IGNORECASE)
        if "nominal" in comment.lower():
            key = "nominal"
        elif m:
            key = f"model{m.group(1)}_{'plus' if m.group(2) == '+' else 'minus'}"
        else:
            raise DataFileError(f"data file {relpath}: unrecognised model label {comment!r}")
        out[key] = values
    if "nominal" not in out or len(out) != 5:
        raise DataFileError(f"data file {relpath}: expected a nominal model and four variants, found {sorted(out)}")
    return out


# --- Limit curves (DarkCast collection) ----------------------------------------------------


def load_limit_curve(name_or_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Existing bound on g_x: (mass_mev, g_lower), NaN where there is no sensitivity.

    ``name_or_path`` is a key of :data:`LIMIT_CURVES` (read through the registry) or the
    path of a user file in the DarkCast ``.lmt`` format (``#`` header, columns mass in GeV
    and smallest excluded coupling; 1e5 marks no sensitivity).

    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ccfr.lmt"
    >>> _ = f.write_text("# mass lower\\n0.01 1e5\\n0.1 2e-3\\n")
    >>> load_limit_curve(f)
    (array([ 10., 100.]), array([  nan, 0.002]))
    """
    if isinstance(name_or_path, str) and name_or_path in LIMIT_CURVES:
        relpath = f"limits-lmu-ltau/{name_or_path}.lmt"
        table = _table(relpath, ncols=2)
    else:
        path = Path(name_or_path)
        if not path.is_file():
            if isinstance(name_or_path, str) and not path.suffix and len(path.parts) == 1:
                raise UnknownNameError(
                    f"unknown limit curve {name_or_path!r}; known: "
                    f"{sorted(LIMIT_CURVES)}, or give the path of a .lmt file"
                )
            raise DataFileError(f"limit-curve file {path} not found")
        table = _parse(path, str(path), ncols=2)
    g = table[:, 1].copy()
    g[g >= _NO_SENSITIVITY] = np.nan
    return table[:, 0] * _GEV_IN_MEV, g


# --- XENONnT solar-8B CEvNS release (Zenodo 10.5281/zenodo.20576156) ------------------------
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
    _choose("run", run, XENONNT_RUNS)
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
    table = _parse(path, relpath, ncols=5, delimiter=",")
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
    _choose("component", component, ("ac", "er", "rg", "mono"))
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


# --- Solar 8B inputs (Winter et al. spectrum, B16 SSM; via PEANUTS) -------------------------


def load_b8_spectrum() -> tuple[np.ndarray, np.ndarray]:
    """The 8B neutrino spectrum shape of Winter et al., PRC 73, 025503: (E [MeV], f(E) [1/MeV])
    on 0-15.5 MeV in 0.1-MeV steps, with f = lambda/1000 (unit integral by the trapezoid rule
    up to 3e-5). The padding row at 20 MeV (added by PEANUTS, not in the paper) is dropped.

    >>> e, f = load_b8_spectrum()
    >>> float(e[-1]), round(float(np.trapezoid(f, e)), 4)
    (15.5, 1.0)
    """
    relpath = "solar-8b/8B_shape_Winter_et_al.csv"
    table = _table(relpath, ncols=3, delimiter=",")
    table = table[table[:, 0] <= 15.5 + 1e-9]
    _check_grid(relpath, table[:, 0], np.round(0.1 * np.arange(156), 10), "energies")
    return table[:, 0], table[:, 1] / 1000.0


def load_b8_production() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8B production in the B16-GS98 solar model (Vinyoles et al., arXiv:1611.09867):
    (r/R_sun, n_e [N_A cm^-3], fraction of 8B neutrinos produced per unit r/R_sun)."""
    relpath = "solar-8b/nudistr_b16_gs98.dat"
    table = _table(relpath, ncols=12)
    return table[:, 0], 10.0 ** table[:, 2], table[:, 8]


def load_b16_b8_flux() -> dict[str, tuple[float, float]]:
    """B16 SSM total 8B flux [cm^-2 s^-1] and relative uncertainty per composition
    (``"GS98"``, ``"AGSS09met"``); the 8B row is the fifth of the file.

    >>> load_b16_b8_flux()["GS98"]
    (5460000.0, 0.12)
    """
    table = _table("solar-8b/fluxes_b16.dat", ncols=4)
    if table.shape[0] < 5:
        raise DataFileError("solar-8b/fluxes_b16.dat: fewer than 5 flux rows")
    row = table[4]
    return {"GS98": (float(row[0]) * 1e6, float(row[1])), "AGSS09met": (float(row[2]) * 1e6, float(row[3]))}


__all__ += [
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
    "load_b8_spectrum",
    "load_b8_production",
    "load_b16_b8_flux",
]
