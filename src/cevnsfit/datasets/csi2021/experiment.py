"""COHERENT CsI[Na] full data set, 2021 release (docs: datasets/csi2021).

14.6 kg CsI at 19.3 m, 3.198e23 POT (arXiv:2110.07730), Helm form factor R_n = 4.7 fm.
Quenching: the release's polynomial E_ee(E_nr) (MeV, 4th order); light yield 13.35 PE/keVee;
the number of PE follows a Gamma distribution with mean 13.35 E_ee and shape 1 + 9.56 E_ee
(E_ee in keVee); efficiency eff(PE) = a/(1 + exp(-b(PE - c))) + d (clipped to [0, 1]).
Timing: the release carries no neutrino arrival-time PDFs, so the SNS prompt/delayed shapes
of the 2017 release are used (0.5-us bins). The release document (not among these files)
gives a timing efficiency eff_T(t) = 1 for t < 0.52 us and exp(-0.0494 (t/us - 0.52)) after
(values as used by public forward models of this release; not verifiable from the files
here); it is on by default (``timing_efficiency=True``) and lowers the SM total by 7.6 %.

Binning (our choice): 5-PE bins from 0 to 60 PE (about the PE resolution at 20 PE,
sigma ~ 5 PE) x 0.5-us bins from 0 to 6 us (the arrival-time PDFs' grid), 144 bins.
"""

from __future__ import annotations

import numpy as np

from ... import published
from ...constants import MOLAR_MASS_G, SIN2_THETA_W
from ...errors import UnknownNameError
from ...experiments.base import Axis, Experiment, check_mode, n_targets
from ...physics.flux import FLAVOUR_GROUPS, GROUP_TIMING, StoppedPionSource
from ...physics.nucleus import Nucleus
from ...rates.binned import SpectrumEngine
from ...rates.kernels import er_endpoints
from ...rates.response import gauss_legendre_grid, response_matrix
from ..csi2017.loaders import load_csi2017_arrival_pdf
from . import loaders

MASS_KG = 14.6
DISTANCE_M = 19.3
POT = 3.198e23
NU_PER_POT = 0.0848  # arXiv:2110.07730 (0.0848 +- 10 % per flavour per POT)
RN_FM = 4.7
LIGHT_YIELD_PE_PER_KEVEE = 13.35
GAMMA_B_PER_KEVEE = 9.56
PE_EDGES = np.arange(0.0, 60.0 + 1e-9, 5.0)
T_EDGES_US = np.arange(0.0, 6.0 + 1e-9, 0.5)
#: Published numbers (arXiv:2110.07730), inputs to the likelihood where marked.
TIMING_EFFICIENCY = {"t0_us": 0.52, "slope_per_us": 0.0494}
PUBLISHED = {
    "cevns_observed": published.pair("coherent_csi2021_cevns_fit"),
    "sm_prediction": published.get("coherent_csi2021_sm_events").value,
    "ss": published.pair("coherent_csi2021_steady_state"),
    "brn": published.pair("coherent_csi2021_brn"),
    "nin": published.pair("coherent_csi2021_nin"),
}


def quench_mevee(enr_mev, coeffs):
    """E_ee = a x + b x^2 + c x^3 + d x^4 with x = E_nr [MeV] (release's scintillation response)."""
    x = np.asarray(enr_mev, dtype=float)
    a, b, c, d = coeffs
    return x * (a + x * (b + x * (c + x * d)))


def efficiency_function(coeffs):
    a, b, c, d = coeffs

    def eff(pe):
        return np.clip(a / (1.0 + np.exp(-b * (np.asarray(pe) - c))) + d, 0.0, 1.0)

    return eff


def timing_efficiency_per_bin(
    t_edges_us, t0_us=TIMING_EFFICIENCY["t0_us"], slope=TIMING_EFFICIENCY["slope_per_us"]
) -> np.ndarray:
    """Bin average of eff_T(t) = 1 (t < t0), exp(-slope (t - t0)) (t >= t0), in closed form.

    >>> timing_efficiency_per_bin(np.array([0.0, 0.5]))
    array([1.])
    """
    lo, hi = np.asarray(t_edges_us[:-1], float), np.asarray(t_edges_us[1:], float)

    def integral(t):  # int_0^t eff_T
        return np.where(t < t0_us, t, t0_us + (1.0 - np.exp(-slope * (t - t0_us))) / slope)

    return (integral(hi) - integral(lo)) / (hi - lo)


def exposure_ratio() -> tuple[float, float]:
    """rho = (C - BRN - NIN)/AC from the PE >= 60 side band (0-6 us), and its statistical error
    (BRN and NIN expected there from their release shapes, normalised to the published 17 and 5
    events below 60 PE)."""
    c = loaders.load_csi2021_events("C")
    ac = loaders.load_csi2021_events("AC")
    side = lambda ev: int(np.sum((ev[:, 0] >= 60.0) & (ev[:, 1] < 6.0)))  # noqa: E731
    n_c, n_ac = side(c), side(ac)
    expected = 0.0
    for comp in ("brn", "nin"):
        centres, values = loaders.load_csi2021_shape(f"{comp}_pe")
        roi = values[centres < 60.0].sum()
        expected += PUBLISHED[comp][0] * values[centres >= 60.0].sum() / roi
    rho = (n_c - expected) / n_ac
    return float(rho), float(rho * np.sqrt(1.0 / n_c + 1.0 / n_ac))


def steady_state_template(ac, rho: float) -> np.ndarray:
    """The smooth steady state in the coincidence window: rho x the product of the AC window's PE
    and time marginals over its total, rho E_pe T_t / N_AC (the SS falls by ~30 % over 6 us)."""
    ac = np.asarray(ac, dtype=float)
    return rho * np.outer(ac.sum(axis=1), ac.sum(axis=0)) / ac.sum()


#: The release's +-1 sigma variants: nuisance -> (option, plus variant, minus variant).
VARIANTS = {
    "efficiency": ("efficiency", "plus", "minus"),
    "quenching0": ("quenching", "model0_plus", "model0_minus"),
    "quenching1": ("quenching", "model1_plus", "model1_minus"),
}


def variant_predictions(efficiency: str = "nominal", quenching: str = "nominal", **opt) -> dict:
    """SM predictions (144 bins) at the chosen variants (``sm``) and at each +-1 sigma variant of
    :data:`VARIANTS` (``sm_<option>_<variant>``), the other options as given: the templates of
    the full likelihood's efficiency and quenching morphs (their ratios to ``sm``)."""
    from ...experiments import get_experiment  # the experiments' cache (built on first use)

    base = {"efficiency": efficiency, "quenching": quenching, **opt}
    base = {k: v for k, v in base.items() if k not in _DEFAULTS or v != _DEFAULTS[k]}  # the cache's keys
    out = {"sm": get_experiment("csi2021", "paper", **base).predict()}
    for key, up, dn in VARIANTS.values():
        for variant in (up, dn):
            out[f"sm_{key}_{variant}"] = get_experiment("csi2021", "paper", **{**base, key: variant}).predict()
    return out


#: Defaults of :func:`build`'s options (a default passed explicitly would be another cache entry).
_DEFAULTS = {
    "efficiency": "nominal",
    "quenching": "nominal",
    "timing_efficiency": True,
    "rn_fm": RN_FM,
    "sin2_theta_w": SIN2_THETA_W,
    "nodes_per_segment": 8,
    "max_width_kev": 2.0,
}


def build(
    mode: str = "paper",
    efficiency: str = "nominal",
    quenching: str = "nominal",
    timing_efficiency: bool = True,
    rn_fm: float = RN_FM,
    sin2_theta_w: float = SIN2_THETA_W,
    nodes_per_segment: int = 8,
    max_width_kev: float = 2.0,
) -> Experiment:
    check_mode(mode)
    effs = loaders.load_csi2021_efficiency()
    qfs = loaders.load_csi2021_quenching()
    if efficiency not in effs:
        raise UnknownNameError(f"efficiency variant must be one of {sorted(effs)}, got {efficiency!r}")
    if quenching not in qfs:
        raise UnknownNameError(f"quenching variant must be one of {sorted(qfs)}, got {quenching!r}")
    source = StoppedPionSource(POT, NU_PER_POT, DISTANCE_M)
    nt = n_targets(MASS_KG, MOLAR_MASS_G["CsI"])
    sub_edges = np.arange(0.0, 60.0 + 1e-9, 0.5)
    eff = efficiency_function(effs[efficiency])
    isotopes = []
    for name in ("Cs133", "I127"):
        nuc = Nucleus.from_table(name, rn_fm, "helm")
        ends = er_endpoints(nuc)
        bps = [1e-3, ends["prompt"] * 1e3, ends["delayed"] * 1e3]
        er_kev, w_kev = gauss_legendre_grid(sorted(bps), nodes_per_segment, max_width=max_width_kev)
        eee_kev = quench_mevee(er_kev * 1e-3, qfs[quenching]) * 1e3
        mean_pe = LIGHT_YIELD_PE_PER_KEVEE * np.maximum(eee_kev, 1e-9)
        shape = lambda mu: 1.0 + GAMMA_B_PER_KEVEE * mu / LIGHT_YIELD_PE_PER_KEVEE  # noqa: E731
        resp = response_matrix(mean_pe, sub_edges, PE_EDGES, "gamma", efficiency=eff, gamma_shape=shape)
        isotopes.append((nuc, nt, er_kev * 1e-3, w_kev * 1e-3, resp))
    engine = SpectrumEngine(source, isotopes, sin2_theta_w)

    pdfs = {}
    for grp, kind in (("prompt", "prompt_neutrinos"), ("delayed", "delayed_neutrinos")):
        t_edges, p = load_csi2017_arrival_pdf(kind)
        pdfs[grp] = p[: len(T_EDGES_US) - 1]
        if timing_efficiency:
            pdfs[grp] = pdfs[grp] * timing_efficiency_per_bin(T_EDGES_US)
    group_shapes = {g: pdfs[GROUP_TIMING[g]] for g in FLAVOUR_GROUPS}

    data = {}
    for window in ("C", "AC"):
        ev = loaders.load_csi2021_events(window)
        data[window] = np.histogram2d(ev[:, 0], ev[:, 1], bins=[PE_EDGES, T_EDGES_US])[0]
    for comp in ("brn", "nin"):
        c_pe, v_pe = loaders.load_csi2021_shape(f"{comp}_pe")
        c_t, v_t = loaders.load_csi2021_shape(f"{comp}_time")
        h_pe = np.histogram(c_pe, bins=PE_EDGES, weights=v_pe)[0] / v_pe.sum()
        h_t = np.histogram(c_t, bins=T_EDGES_US, weights=v_t)[0] / v_t.sum()
        data[f"{comp}_shape"] = np.outer(h_pe, h_t)  # fraction of the total in each bin
    data["ss"] = steady_state_template(data["AC"], exposure_ratio()[0])
    if mode == "full":  # the release's variants, for the full likelihood's morphs (docs: datasets/csi2021)
        opts = dict(timing_efficiency=timing_efficiency, rn_fm=rn_fm, sin2_theta_w=sin2_theta_w)
        opts.update(nodes_per_segment=nodes_per_segment, max_width_kev=max_width_kev)
        data.update(variant_predictions(efficiency, quenching, **opts))
    info = {
        "mass_kg": MASS_KG,
        "distance_m": DISTANCE_M,
        "pot": POT,
        "nu_per_pot": NU_PER_POT,
        "rn_fm": rn_fm,
        "form_factor": "helm",
        "efficiency": efficiency,
        "quenching": quenching,
        "timing_efficiency": TIMING_EFFICIENCY if timing_efficiency else None,
        "published": PUBLISHED,
        "binning": "5-PE bins 0-60 PE x 0.5-us bins 0-6 us",
    }
    axes = (Axis("pe", PE_EDGES.copy(), "PE"), Axis("t", T_EDGES_US.copy(), "us"))
    return Experiment("csi2021", mode, axes, engine, group_shapes=group_shapes, data=data, info=info, matching=mode)
