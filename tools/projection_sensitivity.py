"""Projected sensitivity of the COH-Ar-750 projection beside today's COHERENT limits
(docs: datasets/coh_ar_750): the L_mu - L_tau 2 sigma exclusion (Wilks, 2 dof, paper mode)
and 90 % CL upper limits on the nu_mu magnetic moment (Wilks, 1 dof).

    CEVNSFIT_DATA=... python tools/projection_sensitivity.py [--quick]

Writes docs/gallery/projection_coh_ar_750.png and prints the numbers as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import cevnsfit
from cevnsfit.datasets import get_dataset
from cevnsfit.inference.exclusion import exclusion_map
from cevnsfit.inference.fits import profile_interval
from cevnsfit.inference.problem import Problem
from cevnsfit.outputs.figures import plot_exclusions

ROOT = Path(__file__).resolve().parents[1]
COMBINATIONS = {
    "COHERENT CsI 2017 + CENNS-10 (today)": "csi2017,cenns10",
    "CCM (projection)": "ccm",
    "COH-Ar-750 (projection)": "coh_ar_750",
}


def main(quick: bool = False) -> dict:
    get_dataset("coh_ar_750")
    n_mzp, n_gx = (21, 31) if quick else (41, 61)
    maps = {label: exclusion_map(ds, n_mzp=n_mzp, n_gx=n_gx) for label, ds in COMBINATIONS.items()}
    out: dict = {"lmu_ltau": {}, "mu_numu_90cl": {}}
    for label, m in maps.items():
        t = np.asarray(m["t"])
        lg = np.asarray(m["log10_gx"])
        lm = np.asarray(m["log10_mzp"])
        # the lowest excluded g_x at M_Z' = 10 MeV and 100 MeV (grid columns nearest to them)
        row = {}
        for mass in (10.0, 100.0):
            i = int(np.argmin(np.abs(lm - np.log10(mass))))
            excl = np.flatnonzero(t[i] > m["t_threshold"])
            row[f"gx_min_excluded_at_{mass:g}_MeV"] = float(10 ** lg[excl[0]]) if excl.size else None
        out["lmu_ltau"][label] = row
    for label, ds in [*COMBINATIONS.items(), ("CsI 2017 + CENNS-10 + COH-Ar-750", "csi2017,cenns10,coh_ar_750")]:
        iv = profile_interval(Problem(cevnsfit.likelihood(ds), "magnetic-moment", poi=["mu_numu"]), delta=2.706)
        out["mu_numu_90cl"][label] = iv.get("upper_limit")
    plot_exclusions(
        maps,
        [ROOT / "docs" / "gallery" / "projection_coh_ar_750.png"],
        title=r"$L_\mu - L_\tau$, $2\sigma$ (Wilks, 2 dof): today's COHERENT data and two projections",
    )
    return out


if __name__ == "__main__":
    print(json.dumps(main("--quick" in sys.argv), indent=1))
