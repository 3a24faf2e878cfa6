"""XENONnT solar-8B CEvNS search, SR0-SR2 data release (docs: datasets, xenonnt --
``docs/datasets/xenonnt.md``; XENONnT, PRL 133 (2024) 191002 and arXiv:2604.06002; data
Zenodo DOI 10.5281/zenodo.20576156, CC-BY-4.0).

Signal model. Natural xenon (nine isotopes, NIST abundances), the SM CEvNS cross section
with the Helm form factor in the Lewin-Smith parameterisation (c = 1.23 A^1/3 - 0.60 fm,
a = 0.52 fm, s = 0.9 fm), and a :class:`~cevnsfit.physics.flux.Source` (default the solar
8B source, :class:`~cevnsfit.physics.sources.SolarB8Source`, three flavour groups). The
experiment's "energy axis" is the 46 mono-energetic template energies T = 0.5, 0.6, ...,
5.0 keV_NR with an identity response: the prediction is the number of CEvNS events per
tonne-year in each 0.1-keV slot, dR/dT(T) x 0.1 keV (a rectangle rule, as XENONnT's
recasting does). The detector response -- folding with the mono-energetic efficiency
templates per run and (t_ly, t_qy) anchor, exposures and backgrounds -- is applied by the
likelihood (:mod:`cevnsfit.datasets.xenonnt.backend`) using the templates in ``exp.data``.

Units. B_g from the source is in MeV^-1 s^-1 per target per unit Q_V^2 (flux in MeV^2
s^-1 = cm^-2 s^-1 / CM2_IN_INV_MEV2); times the targets per tonne, the seconds per year
(Julian year, 365.25 d) and 1e-3 MeV/keV gives events/(t y keV).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ...constants import ISOTOPES, N_A, SIN2_THETA_W, XENON_ABUNDANCE
from ...errors import UnknownNameError
from ...experiments.base import Axis, Experiment, check_mode
from ...physics.nucleus import HELM_S_FM, Nucleus
from ...rates.binned import SpectrumEngine
from . import loaders

RUNS = loaders.XENONNT_RUNS
#: Exposures [t y] per science run (release ``plot.ipynb``, variable ``livetimes``).
EXPOSURE_TY = {"sr0": 1.174398, "sr1": 2.342593, "sr2": 3.249665}
#: Template recoil energies [keV_NR] and the slot width of the rectangle rule.
GRID_KEV = loaders.XENONNT_MONO_KEV
SLOT_KEV = 0.1
#: Upper end of the templates [keV_NR]; rate beyond it cannot be described (warning).
TEMPLATE_MAX_KEV = 5.0
#: Fraction of the in-range rate above TEMPLATE_MAX_KEV that triggers the warning.
BEYOND_TEMPLATES_WARN_FRACTION = 1e-3
SECONDS_PER_YEAR = 365.25 * 86400.0
XENON_Z = 54


def lewin_smith_rn_fm(A: float, s_fm: float = HELM_S_FM) -> float:
    """rms radius R_n of the Helm form factor whose box radius follows Lewin & Smith,
    Astropart. Phys. 6 (1996) 87: R0^2 = c^2 + 7/3 pi^2 a^2 - 5 s^2, c = 1.23 A^1/3 - 0.60 fm,
    a = 0.52 fm; :class:`~cevnsfit.physics.nucleus.Nucleus` takes R_n^2 = 3/5 R0^2 + 3 s^2.

    >>> round(lewin_smith_rn_fm(131), 3)
    4.782
    """
    c = 1.23 * A ** (1.0 / 3.0) - 0.60
    r0_sq = c * c + 7.0 / 3.0 * math.pi**2 * 0.52**2 - 5.0 * s_fm**2
    return math.sqrt(0.6 * r0_sq + 3.0 * s_fm**2)


def xenon_targets_per_tonne() -> dict[str, float]:
    """Nuclei of each isotope per tonne of natural xenon: f_A 1e6 g N_A / m_bar, with
    m_bar = sum f_A m_A (131.293 g/mol; 4.587e27 nuclei per tonne in total).

    >>> round(sum(xenon_targets_per_tonne().values()) / 1e27, 3)
    4.587
    """
    mbar = sum(f * ISOTOPES[k]["atomic_mass_u"] for k, f in XENON_ABUNDANCE.items())
    return {k: f * 1e6 * N_A / mbar for k, f in XENON_ABUNDANCE.items()}


def xenon_isotopes(form_factor: str = "helm") -> list[tuple[Nucleus, float]]:
    """(Nucleus, targets per tonne) of natural xenon with Lewin-Smith Helm radii."""
    n_t = xenon_targets_per_tonne()
    return [(Nucleus.from_table(k, lewin_smith_rn_fm(ISOTOPES[k]["A"]), form_factor), n_t[k]) for k in XENON_ABUNDANCE]


class XenonEngine(SpectrumEngine):
    """The project's :class:`~cevnsfit.rates.binned.SpectrumEngine` on the 46 template energies:
    per isotope an identity response and rectangle weights of one 0.1-keV slot, targets per
    tonne times the seconds of a year, so ``energy_counts`` is events per (t y) per slot and flux
    group for any model and interaction structure. It also integrates the rate above
    ``TEMPLATE_MAX_KEV`` (a second engine on check nodes with trapezoid weights) and warns when a
    model puts more than ``BEYOND_TEMPLATES_WARN_FRACTION`` of its rate there.
    """

    def __init__(self, source, isotopes, er_kev=GRID_KEV, slot_kev=SLOT_KEV, sin2_theta_w=SIN2_THETA_W, check_kev=None):
        self.er_kev = np.asarray(er_kev, dtype=float)
        self.slot_kev = float(slot_kev)
        self.isotopes = list(isotopes)
        super().__init__(
            source,
            _blocks(self.isotopes, self.er_kev, np.full(self.er_kev.size, self.slot_kev), np.eye(self.er_kev.size)),
            sin2_theta_w,
        )
        check = (
            np.linspace(TEMPLATE_MAX_KEV + 0.05, 20.0, 60) if check_kev is None else np.asarray(check_kev, dtype=float)
        )
        self.check_kev = check
        self._check = (
            SpectrumEngine(
                source, _blocks(self.isotopes, check, _trapezoid(check), np.ones((check.size, 1))), sin2_theta_w
            )
            if check.size > 1
            else None
        )

    def energy_counts(self, model=None, matching: str = "paper") -> np.ndarray:
        """Events per (t y) per slot and group, ``model.shape + (n_groups, n_nodes)``."""
        counts = super().energy_counts(model, matching)
        self.warn_beyond_templates(model, matching, counts)
        return counts

    def recoil_spectrum_kev(self, er_kev, model=None, matching: str = "paper") -> np.ndarray:
        """dR/dT [events/(t y keV)] per group at ``er_kev``."""
        return self.recoil_spectrum(np.asarray(er_kev, dtype=float) * 1e-3, model, matching) * 1e-3

    def warn_beyond_templates(self, model=None, matching="paper", counts=None) -> float:
        """Warn (``UserWarning``) if the rate above the templates' 5 keV exceeds
        ``BEYOND_TEMPLATES_WARN_FRACTION`` of the in-range rate; returns the largest fraction."""
        if self._check is None:
            return 0.0
        if counts is None:
            counts = super().energy_counts(model, matching)
        worst = beyond_fraction(self._check.energy_counts(model, matching), counts)
        if worst > BEYOND_TEMPLATES_WARN_FRACTION:
            warnings.warn(
                f"xenonnt: the recoil spectrum has {worst:.3g} of its 0.5-5 keV rate above "
                f"{TEMPLATE_MAX_KEV} keV_NR, where the XENONnT templates stop; that rate is left "
                "out of the prediction (the templates cannot describe it)",
                UserWarning,
                stacklevel=3,
            )
        return worst


def beyond_fraction(above_counts, counts) -> float:
    """The largest ratio over points of the rate beyond a response's range (``above_counts``) to
    the rate inside it (``counts``), both ``points + (groups, nodes)``; inf where only the rate
    beyond is non-zero, 0 for no points."""
    above = np.asarray(above_counts).sum(axis=(-1, -2))
    inside = np.asarray(counts).sum(axis=(-1, -2))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(inside > 0, above / inside, np.where(above > 0, np.inf, 0.0))
    return float(np.max(frac)) if np.size(frac) else 0.0


def _trapezoid(x_kev) -> np.ndarray:
    w = np.zeros_like(x_kev)
    d = np.diff(x_kev)
    w[:-1] += 0.5 * d
    w[1:] += 0.5 * d
    return w


def _blocks(isotopes, er_kev, weights_kev, response):
    """Engine isotope blocks: targets per tonne x seconds per year, nodes and weights in MeV."""
    return [(nuc, n_t * SECONDS_PER_YEAR, er_kev * 1e-3, weights_kev * 1e-3, response) for nuc, n_t in isotopes]


def check_runs(runs) -> tuple[str, ...]:
    """Validate a selection of science runs (order kept, duplicates rejected).

    >>> check_runs(["sr0", "sr3"])
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: unknown XENONnT science run 'sr3'; allowed runs: sr0, sr1, sr2
    """
    if isinstance(runs, str):
        runs = (runs,)
    runs = tuple(runs)
    for r in runs:
        if r not in RUNS:
            raise UnknownNameError(f"unknown XENONnT science run {r!r}; allowed runs: {', '.join(RUNS)}")
    if not runs or len(set(runs)) != len(runs):
        raise UnknownNameError(
            f"runs must be a non-empty selection of distinct runs from {', '.join(RUNS)}, got {runs}"
        )
    return runs


def load_run(run: str) -> dict:
    """Observed counts (81,), exposure, and the templates of one run (see
    :func:`~cevnsfit.data.loaders.load_xenonnt_templates`)."""
    tpl = loaders.load_xenonnt_templates(run)
    return {"counts": loaders.load_xenonnt_counts(run).ravel(), "exposure_ty": EXPOSURE_TY[run], **tpl}


def build(
    mode: str = "paper", runs=RUNS, source=None, sin2_theta_w: float = SIN2_THETA_W, form_factor: str = "helm"
) -> Experiment:
    """The ``xenonnt`` experiment: prediction = 8B CEvNS events per (t y) per 0.1-keV slot at
    the 46 template energies (module docstring); ``data`` holds, per selected run, the
    observed counts, exposure and templates. ``source`` defaults to
    :class:`~cevnsfit.physics.sources.SolarB8Source` (flux 5.25e6 cm^-2 s^-1).
    """
    check_mode(mode)
    runs = check_runs(runs)
    if source is None:
        from ...physics.sources import SolarB8Source

        source = SolarB8Source()
    engine = XenonEngine(source, xenon_isotopes(form_factor), sin2_theta_w=sin2_theta_w)
    edges = np.round(np.concatenate([GRID_KEV - 0.5 * SLOT_KEV, [GRID_KEV[-1] + 0.5 * SLOT_KEV]]), 10)
    data = {
        "runs": runs,
        "run_data": {r: load_run(r) for r in runs},
        "grid_kev": GRID_KEV.copy(),
        "yield_anchors": loaders.XENONNT_YIELD_ANCHORS.copy(),
    }
    data.update(declared_arrays(data["run_data"], runs))
    info = {
        "target": "natural xenon",
        "runs": runs,
        "exposure_ty": {r: EXPOSURE_TY[r] for r in runs},
        "flux_groups": [g.name for g in source.groups],
        "prediction_unit": "events/(t y) per 0.1-keV slot",
        "sin2_theta_w": sin2_theta_w,
        "form_factor": "helm (Lewin-Smith)",
    }
    exp = Experiment("xenonnt", mode, (Axis("recoil", edges, "keVnr"),), engine, data=data, info=info, matching=mode)
    # the prediction is a rate; what a reader wants is events per run (outputs.predictions)
    exp.info["events_per_run"] = _events_per_run(exp)
    exp.info["events_unit"] = "events in the selected runs at nominal nuisances"
    return exp


def declared_arrays(run_data: dict, runs) -> dict:
    """The arrays the unit's declared likelihood (``dataset.yaml``) names, per run r: observed
    ``counts_r`` (81,), the expected accidental-coincidence and ER templates ``ac_r``, ``er_r``
    and the neutron templates at the 7 x 7 (t_ly, t_qy) anchors ``neutron_r`` (7, 7, 81) (events
    in the run: template x exposure) with the nominal one ``neutron_nominal_r`` (the anchor
    (0, 0)); and ``fold`` (46, 7, 7, 81 x runs): the mono-energetic efficiency templates x
    exposure, which fold the prediction (events per t y per 0.1-keV slot) into the runs' bins
    at each anchor."""
    out: dict = {}
    centre = N_ANCHOR_CENTRE
    for r in runs:
        rd, x = run_data[r], run_data[r]["exposure_ty"]
        out[f"counts_{r}"] = np.asarray(rd["counts"], dtype=float)
        out[f"ac_{r}"] = x * np.asarray(rd["ac"], dtype=float)
        out[f"er_{r}"] = x * np.asarray(rd["er"], dtype=float)
        out[f"neutron_{r}"] = x * np.asarray(rd["rg"], dtype=float)
        out[f"neutron_nominal_{r}"] = out[f"neutron_{r}"][centre, centre]
    out["fold"] = np.concatenate([run_data[r]["exposure_ty"] * np.asarray(run_data[r]["mono"]) for r in runs], axis=-1)
    return out


#: Index of the anchor t = 0 on the integer (t_ly, t_qy) grid -3..3.
N_ANCHOR_CENTRE = 3


def _events_per_run(exp):
    """``events(model) -> {run: 8B CEvNS events}`` at nominal nuisances (templates and
    exposures of the selected runs); the likelihood is built on first use."""
    cache: dict = {}

    def events(model=None) -> dict:
        from .backend import XenonLikelihood

        if "like" not in cache:
            cache["like"] = XenonLikelihood(exp)
        like = cache["like"]
        sig = like.signal(exp.predict(model))[0]
        return {r: float(sig[like.run_of_bin == i].sum()) for i, r in enumerate(like.runs)}

    return events


def sm_rate(
    source=None, lo_kev: float = 0.45, hi_kev: float = 10.0, n: int = 2000, sin2_theta_w: float = SIN2_THETA_W
) -> float:
    """SM CEvNS rate [events/(t y)] of ``source`` on natural xenon over [lo, hi] keV_NR
    (trapezoid rule on ``n`` recoil nodes), for comparison with XENONnT's 335.6 over 0.45-10 keV."""
    if source is None:
        from ...physics.sources import SolarB8Source

        source = SolarB8Source()
    er = np.linspace(lo_kev, hi_kev, n)
    eng = SpectrumEngine(source, _blocks(xenon_isotopes(), er, _trapezoid(er), np.ones((n, 1))), sin2_theta_w)
    return float(eng.energy_counts().sum())


__all__ = [
    "BEYOND_TEMPLATES_WARN_FRACTION",
    "EXPOSURE_TY",
    "GRID_KEV",
    "RUNS",
    "SLOT_KEV",
    "XenonEngine",
    "TEMPLATE_MAX_KEV",
    "build",
    "check_runs",
    "declared_arrays",
    "lewin_smith_rn_fm",
    "load_run",
    "sm_rate",
    "xenon_isotopes",
    "xenon_targets_per_tonne",
]
