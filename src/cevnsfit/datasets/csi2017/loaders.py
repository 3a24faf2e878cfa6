"""Loaders of the CsI[Na] 2017 release (Zenodo 10.5281/zenodo.1228631), read through the
verified registry (:func:`cevnsfit.data.fetch`); units those of the files (PE, µs).

>>> load_csi2017_histogram(window="X")
Traceback (most recent call last):
...
cevnsfit.errors.UnknownNameError: window='X' is not known; choose one of ['AC', 'C']
"""

from __future__ import annotations

import numpy as np

from ...data.loaders import bin_centres, check_grid, choose, read_table, regular_edges
from ...errors import DataFileError

#: CsI 2017 histograms: 25 bins of 2 PE (0-50 PE) x 24 bins of 0.5 µs (0-12 µs).
_CSI2017_PE_EDGES = regular_edges(0.0, 2.0, 25)
_CSI2017_T_EDGES_US = regular_edges(0.0, 0.5, 24)


def load_csi2017_histogram(window: str = "C", beam: str = "on") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CsI 2017 event histogram: (pe_edges (26,), t_edges_us (25,), counts (25, 24)).

    ``window`` is ``"C"`` (coincidence, signal) or ``"AC"`` (anti-coincidence); ``beam`` is
    ``"on"`` or ``"off"``. ``counts`` are integers indexed [PE bin, time bin]; the PE
    labels 1, 3, ..., 49 of the file are read as centres of 2-PE bins (release README).
    """
    choose("window", window, ("C", "AC"))
    choose("beam", beam, ("on", "off"))
    w = {"C": "coincidence", "AC": "anticoincidence"}[window]
    relpath = f"coherent-csi-2017/data_{w}_beam{beam.capitalize()}.txt"
    table = read_table(relpath, ncols=3, nrows=600, delimiter=",")
    pe_c, t_c = bin_centres(_CSI2017_PE_EDGES), bin_centres(_CSI2017_T_EDGES_US)
    check_grid(relpath, table[:, 0], np.repeat(pe_c, t_c.size), "PE bin centres (column 1)")
    check_grid(relpath, table[:, 1], np.tile(t_c, pe_c.size), "time bin centres (column 2)")
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
    choose("kind", kind, files)
    relpath = f"coherent-csi-2017/arrivalTimePDF_{files[kind]}.txt"
    table = read_table(relpath, ncols=2, nrows=24, delimiter=",")
    check_grid(relpath, table[:, 0], bin_centres(_CSI2017_T_EDGES_US), "time bin centres")
    return _CSI2017_T_EDGES_US.copy(), table[:, 1]


def load_csi2017_prompt_neutron_pe() -> tuple[np.ndarray, np.ndarray]:
    """Prompt-neutron PE spectrum: (pe_edges (51,), neutrons per GWhr per 1-PE bin (50,)).

    Values are before the acceptance is applied (``promptPDF.txt`` header).
    """
    relpath = "coherent-csi-2017/promptPDF.txt"
    table = read_table(relpath, ncols=2, nrows=50, delimiter=",")
    edges = regular_edges(0.0, 1.0, 50)
    check_grid(relpath, table[:, 0], bin_centres(edges), "PE bin centres")
    return edges, table[:, 1]
