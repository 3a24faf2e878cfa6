"""Existing bounds drawn beside exclusion maps, by model (docs: data).

Context curves, never fitted: each :class:`LimitCurve` names a registered file of the
DarkCast ``.lmt`` format (``#`` header; mass in GeV; the smallest excluded coupling, and for
three-column files the largest: excluded *between* them; 1e5 is DarkCast's "no exclusion at
this mass" and breaks the curve, which is never interpolated across it). The files are fetched
through :mod:`cevnsfit.data.registry` like every release; the B-L curves (``limits-b-l``) are
GPL-2.0-or-later and are not part of the package.

B-L selection: DarkCast's B-L recasts whose finite part overlaps the CEvNS plane (a few MeV to
1 GeV). Left out on purpose: ``BaBar_TheBABAR2016rlg`` (a muonic-force search that DarkCast
models as e+e- -> gamma X; its B-L recast rests on a questionable premise, the data README's
caveat 2; ``BaBar_Lees2014xha`` stands for BaBar); the g-2 band edges (not limits); beam dumps
whose excluded couplings lie below the plane's range. The CHARM-II recast differs from its
input at 1.5 and 1.9 MeV (caveat 3), below the masses drawn here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataFileError, UnknownNameError
from .registry import fetch

_NO_EXCLUSION = 1e5  # DarkCast's gmax sentinel
_GEV_IN_MEV = 1e3


@dataclass(frozen=True)
class LimitCurve:
    """One existing bound: registered file, legend label (with its source), the plane it is
    drawn in (x parameter, coupling parameter) and how it excludes."""

    relpath: str
    label: str
    axes: tuple = ("mzp_mev", "g")
    colour: str = ""
    linestyle: str = "-"

    @property
    def excluded(self) -> str:
        return "between" if self.columns() == 3 else "above"

    def table(self) -> np.ndarray:
        path = fetch(self.relpath)
        try:
            tab = np.loadtxt(path, comments="#", ndmin=2)
        except ValueError as exc:
            raise DataFileError(f"limit curve {self.relpath}: not a DarkCast .lmt table ({exc})") from exc
        if tab.shape[1] not in (2, 3):
            raise DataFileError(f"limit curve {self.relpath}: expected 2 or 3 columns, found {tab.shape[1]}")
        return tab

    def columns(self) -> int:
        return int(self.table().shape[1])

    def pieces(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(mass [MeV], coupling) polylines: each run of rows without the 1e5 sentinel, the lower
        edge and (three-column files) the upper edge."""
        tab = self.table()
        m = tab[:, 0] * _GEV_IN_MEV
        ok = np.all(tab[:, 1:] < _NO_EXCLUSION, axis=1)
        out = []
        breaks = np.flatnonzero(np.diff(ok.astype(int))) + 1
        for seg in np.split(np.arange(len(m)), breaks):
            if seg.size >= 2 and ok[seg[0]]:
                out.extend((m[seg], tab[seg, c]) for c in range(1, tab.shape[1]))
        return out


#: Existing bounds by model name (the catalogue's names); labels carry the arXiv number of the search
#: (B-L: DarkCast recasts, arXiv:1801.04847 and 2206.08563; the neutrino-electron bounds by
#: Bauer, Foldenauer, Jaeckel, arXiv:1803.05466).
LIMIT_SETS: dict[str, tuple[LimitCurve, ...]] = {
    "b-l": (
        LimitCurve("limits-b-l/BaBar_Lees2014xha.lmt", "BaBar 2014 (1406.2980)", colour="0.25"),
        LimitCurve("limits-b-l/BaBar_Lees2017lec.lmt", "BaBar invisible (1702.03327)", linestyle="--"),
        LimitCurve("limits-b-l/NA64_NA642019imj.lmt", "NA64 invisible (1906.00176)", linestyle="-."),
        LimitCurve("limits-b-l/LHCb_Aaij2019bvg_prompt.lmt", "LHCb (1910.06926)", linestyle=":"),
        LimitCurve("limits-b-l/KLOE_Babusci2012cr.lmt", "KLOE (1210.3927)", linestyle=(0, (5, 1))),
        LimitCurve("limits-b-l/NA48_Batley2015lha.lmt", "NA48/2 (1504.00607)", linestyle=(0, (1, 1))),
        LimitCurve(
            "limits-b-l/Borexino_Bauer2018onh.lmt",
            "Borexino (1803.05466)",
            linestyle=(0, (3, 1, 1, 1)),
        ),
        LimitCurve("limits-b-l/CHARMII_Bauer2018onh.lmt", "CHARM-II (1803.05466)", linestyle="--"),
        LimitCurve("limits-b-l/Texono_Bauer2018onh.lmt", "TEXONO (1803.05466)", linestyle=":"),
    ),
    "lmu-ltau": (
        LimitCurve("limits-lmu-ltau/babar_2016_4mu.lmt", "BaBar 4mu, arXiv:1606.03501", ("mzp_mev", "gx"), "0.35"),
        LimitCurve(
            "limits-lmu-ltau/borexino_bauer2018_recast.lmt",
            "Borexino (Bauer et al., arXiv:1803.05466)",
            ("mzp_mev", "gx"),
            "0.55",
            "--",
        ),
        LimitCurve(
            "limits-lmu-ltau/charm2_bauer2018_recast.lmt",
            "CHARM-II (Bauer et al., arXiv:1803.05466)",
            ("mzp_mev", "gx"),
            "0.45",
            ":",
        ),
    ),
}


def limit_curves(model) -> tuple[LimitCurve, ...]:
    """The existing bounds registered for ``model`` (a catalogue name; other models: none)."""
    if model is not None and not isinstance(model, str):
        raise UnknownNameError(f"limit_curves takes a model name, got {type(model).__name__}")
    return LIMIT_SETS.get(model or "", ())


__all__ = ["LIMIT_SETS", "LimitCurve", "limit_curves"]
