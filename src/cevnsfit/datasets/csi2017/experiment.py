"""COHERENT CsI[Na] 2017 (docs: datasets/csi2017; arXiv:1708.01294).

14.6 kg CsI at 19.3 m, 1.76e23 POT, 0.08 neutrinos per flavour per POT; Helm form factor
with R_n = 4.7 fm. n_PE = 1.17 E_r/keVnr (QF 0.0878 x 13.348 PE/keVee); the release's
acceptance on 1-PE bins; prompt nu_mu with the prompt arrival-time PDF, nu_e and
anti-nu_mu with the delayed one. Bins: the data's 2-PE x 0.5-us grid inside a window.
"""

from __future__ import annotations

import numpy as np

from ... import published
from ...constants import MOLAR_MASS_G, SIN2_THETA_W
from ...errors import ParameterError, check_finite
from ...experiments.base import Axis, Experiment, check_mode, n_targets
from ...physics.flux import FLAVOUR_GROUPS, GROUP_TIMING, StoppedPionSource
from ...physics.nucleus import Nucleus
from ...rates.binned import SpectrumEngine
from ...rates.kernels import er_endpoints
from ...rates.response import gauss_legendre_grid, response_matrix
from . import loaders

MASS_KG = 14.6
DISTANCE_M = 19.3
POT = 1.76e23
NU_PER_POT = 0.08
RN_FM = 4.7
PE_PER_KEVNR = 1.17
EXPOSURE_GWH = 7.47594
ACCEPTANCE = {"a": 0.6655, "k": 0.4942, "x0": 10.8507}


def acceptance(pe, a=ACCEPTANCE["a"], k=ACCEPTANCE["k"], x0=ACCEPTANCE["x0"]) -> np.ndarray:
    """Release acceptance f(x) = a/(1 + exp(-k(x - x0))) H(x - 5), H = 0 below 5 PE, 1/2 on [5, 6), 1 above.

    >>> round(float(acceptance(10.5)), 4), float(acceptance(4.5)), round(float(acceptance(5.5)), 4)
    (0.304, 0.0, 0.0221)
    """
    x = np.asarray(pe, dtype=float)
    step = np.where(x < 5, 0.0, np.where(x < 6, 0.5, 1.0))
    return a / (1.0 + np.exp(-k * (x - x0))) * step


def _check_window(name, window, lo, hi, step):
    w = check_finite(name, window)
    if w.shape != (2,) or not (lo <= w[0] < w[1] <= hi):
        raise ParameterError(f"{name} must be (low, high) with {lo} <= low < high <= {hi}, got {tuple(window)}")
    if np.any(np.abs(w / step - np.round(w / step)) > 1e-9):
        raise ParameterError(f"{name} edges must be multiples of the {step} bin width, got {tuple(window)}")
    return float(w[0]), float(w[1])


def _isotope(name, rn_fm, nt, window, pe_per_kevnr, smearing, nodes_per_segment, sub_edges, pe_edges) -> tuple:
    """One isotope of the CsI crystal: (nucleus, targets, recoil nodes and weights, response)."""
    pe_lo, pe_hi = window
    kev_per_pe = 1.0 / pe_per_kevnr
    nuc = Nucleus.from_table(name, rn_fm, "helm")
    ends = er_endpoints(nuc)
    if smearing == "none":  # nodes never straddle a 1-PE edge: exact binning
        lo_kev, hi_kev = pe_lo * kev_per_pe, min(pe_hi * kev_per_pe, ends["delayed"] * 1e3)
        bps = [b for b in np.arange(pe_lo, pe_hi + 1) * kev_per_pe if lo_kev <= b <= hi_kev]
    else:
        lo_kev, hi_kev = 1e-3, ends["delayed"] * 1e3
        bps = list(np.arange(0, 51) * kev_per_pe)
        bps = [b for b in bps if lo_kev < b < hi_kev] + [lo_kev, hi_kev]
    bps += [ends["prompt"] * 1e3] if lo_kev < ends["prompt"] * 1e3 < hi_kev else []
    bps += [lo_kev, hi_kev]
    er_kev, w_kev = gauss_legendre_grid(sorted(bps), nodes_per_segment)
    resp = response_matrix(pe_per_kevnr * er_kev, sub_edges, pe_edges, smearing, efficiency=acceptance)
    return (nuc, nt, er_kev * 1e-3, w_kev * 1e-3, resp)


def _arrival_pdfs(t_sel) -> dict:
    """The release's arrival-time PDFs (prompt, delayed, neutrons) in the selected time bins."""
    pdfs = {}
    for grp, kind in (
        ("prompt", "prompt_neutrinos"),
        ("delayed", "delayed_neutrinos"),
        ("neutrons", "prompt_neutrons"),
    ):
        _, p = loaders.load_csi2017_arrival_pdf(kind)
        pdfs[grp] = p[t_sel]
    return pdfs


def _prompt_neutrons(pe_sel, pdf_neutrons) -> np.ndarray:
    """Prompt beam neutrons: per-GWh 1-PE spectrum x exposure x acceptance, into 2-PE bins, x time PDF."""
    pn_edges, pn_gwh = loaders.load_csi2017_prompt_neutron_pe()
    pn = pn_gwh * EXPOSURE_GWH * acceptance(0.5 * (pn_edges[1:] + pn_edges[:-1]))
    pn_2pe = pn.reshape(-1, 2).sum(axis=1)[pe_sel]
    return pn_2pe[:, None] * pdf_neutrons[None, :]


def build(
    mode: str = "paper",
    pe_window=(6, 30),
    t_window_us=(0.0, 6.0),
    smearing: str | None = None,
    pe_per_kevnr: float = PE_PER_KEVNR,
    rn_fm: float = RN_FM,
    sin2_theta_w: float = SIN2_THETA_W,
    nodes_per_segment: int = 6,
) -> Experiment:
    """Build the CsI 2017 experiment.

    ``smearing``: ``"none"`` (paper default: n_PE is exactly 1.17 E_r) or ``"poisson"`` (full default).
    """
    check_mode(mode)
    smearing = smearing or ("none" if mode == "paper" else "poisson")
    pe_lo, pe_hi = _check_window("pe_window", pe_window, 0, 50, 2)
    t_lo, t_hi = _check_window("t_window_us", t_window_us, 0, 12, 0.5)
    check_finite("pe_per_kevnr", pe_per_kevnr, positive=True)

    pe_edges_all, t_edges_all, c_on = loaders.load_csi2017_histogram("C", "on")
    _, _, ac_on = loaders.load_csi2017_histogram("AC", "on")
    pe_sel = (pe_edges_all[:-1] >= pe_lo - 1e-9) & (pe_edges_all[1:] <= pe_hi + 1e-9)
    t_sel = (t_edges_all[:-1] >= t_lo - 1e-9) & (t_edges_all[1:] <= t_hi + 1e-9)
    pe_edges = np.append(pe_edges_all[:-1][pe_sel], pe_edges_all[1:][pe_sel][-1])
    t_edges = np.append(t_edges_all[:-1][t_sel], t_edges_all[1:][t_sel][-1])

    source = StoppedPionSource(POT, NU_PER_POT, DISTANCE_M)
    nt = n_targets(MASS_KG, MOLAR_MASS_G["CsI"])
    sub_edges = np.arange(0.0, 51.0)  # the release's 1-PE acceptance bins
    isotopes = [
        _isotope(name, rn_fm, nt, (pe_lo, pe_hi), pe_per_kevnr, smearing, nodes_per_segment, sub_edges, pe_edges)
        for name in ("Cs133", "I127")
    ]
    engine = SpectrumEngine(source, isotopes, sin2_theta_w)

    pdfs = _arrival_pdfs(t_sel)
    group_shapes = {g: pdfs[GROUP_TIMING[g]] for g in FLAVOUR_GROUPS}
    prompt_neutrons = _prompt_neutrons(pe_sel, pdfs["neutrons"])

    data = {
        "C": c_on[np.ix_(pe_sel, t_sel)],
        "AC": ac_on[np.ix_(pe_sel, t_sel)],
        "prompt_neutrons": prompt_neutrons,
        # the full mode's steady state (dataset.yaml): one mean per PE bin, flat in time
        "pe_bin": np.repeat(np.arange(int(pe_sel.sum()), dtype=float)[:, None], int(t_sel.sum()), axis=1),
        "unit": np.ones((int(pe_sel.sum()), int(t_sel.sum()))),
    }
    info = {
        "mass_kg": MASS_KG,
        "distance_m": DISTANCE_M,
        "pot": POT,
        "nu_per_pot": NU_PER_POT,
        "rn_fm": rn_fm,
        "form_factor": "helm",
        "pe_per_kevnr": pe_per_kevnr,
        "smearing": smearing,
        "pe_window": (pe_lo, pe_hi),
        "t_window_us": (t_lo, t_hi),
        "prompt_neutrons_included": mode == "full",
        "prompt_neutron_norm_sigma": published.get("csi2017_prompt_neutron_sigma").value,
        "prediction_sigma": published.get("csi2017_prediction_sigma").value,
    }
    axes = (Axis("pe", pe_edges, "PE"), Axis("t", t_edges, "us"))
    return Experiment("csi2017", mode, axes, engine, group_shapes=group_shapes, data=data, info=info, matching=mode)
