"""Loaders of the CENNS-10 Analysis A release (Zenodo 10.5281/zenodo.3903810), read through
the verified registry; units those of the files (keVee, F90, µs).

>>> CENNS10_EDGES["f90"]
array([0.5 , 0.55, 0.6 , 0.65, 0.7 , 0.75, 0.8 , 0.85, 0.9 ])
"""

from __future__ import annotations

import numpy as np

from ...data.loaders import bin_centres, check_grid, choose, read_table, regular_edges

#: CENNS-10 Analysis A 3D grid (companion Table 1): keVee, F90, t_trig in µs.
CENNS10_EDGES: dict[str, np.ndarray] = {
    "energy_kevee": regular_edges(0.0, 10.0, 12),
    "f90": regular_edges(0.5, 0.05, 8),
    "t_us": regular_edges(-0.1, 0.5, 10),
}


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
    choose("name", name, _CENNS10_GRIDS)
    relpath = f"coherent-cenns10-analysisA/{_CENNS10_GRIDS[name]}"
    table = read_table(relpath, ncols=4, nrows=960)
    cols = np.meshgrid(*(bin_centres(CENNS10_EDGES[k]) for k in ("energy_kevee", "f90", "t_us")), indexing="ij")
    for i, (col, axis) in enumerate(zip(cols, ("energy", "F90", "t_trig"))):
        check_grid(relpath, table[:, i], col.ravel(), f"{axis} bin centres (column {i + 1})")
    return table[:, 3].reshape(12, 8, 10)


def load_cenns10_efficiency() -> tuple[np.ndarray, np.ndarray]:
    """CENNS-10 acceptance: (edges_kevee (81,) = 0, 0.5, ..., 40, efficiency (80,)).

    Above 40 keVee the companion says to use the last value.
    """
    relpath = "coherent-cenns10-analysisA/CENNS10AnlAEfficiency.txt"
    table = read_table(relpath, ncols=3, nrows=80)
    edges = regular_edges(0.0, 0.5, 80)
    check_grid(relpath, table[:, 0], bin_centres(edges), "energy bin centres")
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
    choose("axis", axis, files)
    fname, edges_key = files[axis]
    relpath = f"coherent-cenns10-analysisA/OneDProjections/{fname}"
    centres = bin_centres(CENNS10_EDGES[edges_key])
    table = read_table(relpath, ncols=8, nrows=centres.size)
    check_grid(relpath, table[:, 0], centres, "bin centres")
    keys = ("centre", "data", "stat_err", "cevns", "brn", "cevns_brn", "syst_low", "syst_high")
    return {k: table[:, i].copy() for i, k in enumerate(keys)}
