"""Projected Coherent CAPTAIN-Mills (CCM) liquid-argon detector (docs: datasets/ccm).

5 t fiducial argon at 20 m from the Lujan target, 0.04 neutrinos per flavour per POT,
3e22 POT (three years of 5000 h); 25 keVnr threshold, 100 % efficiency, 1 PE/keVnr, no
background. Binning (our choice, documented): recoil energy 25-150 keVnr in 5-keVnr bins
(the delayed endpoint for argon is 149.6 keVnr), no timing axis.
"""

from __future__ import annotations

import numpy as np

from ..constants import ISOTOPES, SIN2_THETA_W
from ..physics.flux import StoppedPionSource
from ..physics.nucleus import Nucleus
from ..rates.binned import SpectrumEngine
from ..rates.kernels import er_endpoints
from ..rates.response import gauss_legendre_grid, response_matrix
from .base import Axis, Experiment, check_mode, n_targets

MASS_KG = 5000.0
DISTANCE_M = 20.0
POT = 3e22
NU_PER_POT = 0.04
THRESHOLD_KEVNR = 25.0
BIN_WIDTH_KEVNR = 5.0
RN_FM = 4.1


def build(
    mode: str = "paper", rn_fm: float = RN_FM, sin2_theta_w: float = SIN2_THETA_W, nodes_per_segment: int = 6
) -> Experiment:
    check_mode(mode)
    nuc = Nucleus.from_table("Ar40", rn_fm, "klein_nystrand")
    source = StoppedPionSource(POT, NU_PER_POT, DISTANCE_M)
    nt = n_targets(MASS_KG, ISOTOPES["Ar40"]["atomic_mass_u"])
    edges = np.arange(THRESHOLD_KEVNR, 150.0 + 1e-9, BIN_WIDTH_KEVNR)
    ends = er_endpoints(nuc)
    bps = [e for e in edges if e < ends["delayed"] * 1e3] + [ends["prompt"] * 1e3, ends["delayed"] * 1e3]
    er_kev, w_kev = gauss_legendre_grid(sorted(bps), nodes_per_segment)
    resp = response_matrix(er_kev, edges, edges, "none")
    engine = SpectrumEngine(source, [(nuc, nt, er_kev * 1e-3, w_kev * 1e-3, resp)], sin2_theta_w)
    info = {
        "mass_kg": MASS_KG,
        "distance_m": DISTANCE_M,
        "pot": POT,
        "nu_per_pot": NU_PER_POT,
        "threshold_kevnr": THRESHOLD_KEVNR,
        "rn_fm": rn_fm,
        "form_factor": "klein_nystrand",
        "binning": "25-150 keVnr, 5 keVnr bins",
    }
    return Experiment("ccm", mode, (Axis("recoil", edges, "keVnr"),), engine, info=info, matching=mode)
