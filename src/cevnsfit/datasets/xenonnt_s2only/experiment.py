"""The ``xenonnt_s2only`` experiment: any model's solar recoil spectrum on the release's 50
recoil energies (docs: datasets, xenonnt_s2only).

The prediction is dR/dE(E_i) x Delta E_i [events/(t y)] at the 50 energies of the release's
nuclear-recoil response (0.5-5.0 keV_NR), with the release's slot widths Delta E_i (edges at
the midpoints, half a step beyond each end: 0.495-5.05 keV; the rule of the release's
``ExampleAnalysis`` notebook). dR/dE is the project's CEvNS rate on natural xenon for any
model (the target, form factor and weak angle of the ``xenonnt`` data set:
:mod:`cevnsfit.experiments.xenonnt`) and any :class:`~cevnsfit.physics.flux.Source` (default
the solar 8B source, 5.25e6 cm^-2 s^-1). The likelihood folds it with the response matrices of
each run at the charge-yield anchors (:mod:`.likelihood`).

Recoils outside 0.495-5.05 keV are not described by the release; a model that puts more than
``BEYOND_WARN_FRACTION`` of its in-range rate above 5.05 keV gets a ``UserWarning``.
"""

from __future__ import annotations

import warnings

import numpy as np

from cevnsfit.constants import SIN2_THETA_W
from cevnsfit.datasets.xenonnt import experiment as xe
from cevnsfit.errors import UnknownNameError
from cevnsfit.experiments.base import Axis, Experiment, check_mode
from cevnsfit.rates.binned import SpectrumEngine

from . import release

#: Fraction of the in-range rate above the response's last edge that triggers the warning.
BEYOND_WARN_FRACTION = 1e-3
NAME = "xenonnt_s2only"


class S2OnlyEngine(SpectrumEngine):
    """Events per (t y) per recoil slot (the release's energies and widths) for any model."""

    def __init__(self, source, isotopes, er_kev, widths_kev, sin2_theta_w=SIN2_THETA_W):
        self.er_kev = np.asarray(er_kev, dtype=float)
        self.widths_kev = np.asarray(widths_kev, dtype=float)
        n = self.er_kev.size
        super().__init__(source, xe._blocks(list(isotopes), self.er_kev, self.widths_kev, np.eye(n)), sin2_theta_w)
        top = float(self.er_kev[-1] + 0.5 * self.widths_kev[-1])
        self.top_kev = top
        check = np.linspace(top, 20.0, 60)
        self._check = SpectrumEngine(
            source, xe._blocks(list(isotopes), check, xe._trapezoid(check), np.ones((check.size, 1))), sin2_theta_w
        )

    def energy_counts(self, model=None, matching: str = "paper") -> np.ndarray:
        counts = super().energy_counts(model, matching)
        worst = xe.beyond_fraction(self._check.energy_counts(model, matching), counts)
        if worst > BEYOND_WARN_FRACTION:
            warnings.warn(
                f"{NAME}: the recoil spectrum has {worst:.3g} of its in-range rate above {self.top_kev:g} keV_NR, "
                "where the release's response stops; that rate is left out of the prediction",
                UserWarning,
                stacklevel=3,
            )
        return counts


def check_runs(runs) -> tuple[str, ...]:
    """A non-empty selection of distinct runs among the release's (order kept)."""
    _, all_runs = _model()
    keys = tuple(r.key for r in all_runs)
    if isinstance(runs, str):
        runs = tuple(s.strip() for s in runs.split(","))
    runs = tuple(runs)
    bad = [r for r in runs if r not in keys]
    if bad or not runs or len(set(runs)) != len(runs):
        raise UnknownNameError(
            f"runs must be a non-empty selection of distinct XENONnT S2-only science runs from "
            f"{', '.join(keys)}, got {runs}"
        )
    return runs


def _model():
    return release.statistical_model()


def _declared_arrays(params, run_objs, response) -> dict:
    """The arrays the declared likelihood names (``{data: key}``; :mod:`.declared`): ``fold``
    (recoil slots, t_qy anchors, 7 x runs cS2 bins; the response x livetime), ``counts_<run>``
    and, per background source, ``<source>_templates`` (anchors, bins) and ``<source>_nominal``
    (bins; the template at the shape parameter's nominal anchor) in events (template x livetime)."""
    out: dict = {}
    fold = []
    for r in run_objs:
        fold.append(r.exposure_ty * np.transpose(response[r.key], (1, 0, 2)))
        out[f"counts_{r.key}"] = release.observed_counts(r)
        for s in r.sources:
            if s.name == release.CEVNS_SOURCE:
                continue
            tpl = r.exposure_ty * np.asarray(s.templates, dtype=float)
            out[f"{s.name}_templates"] = tpl
            k0 = int(np.argmin(np.abs(np.asarray(s.anchors) - params[s.shape].nominal))) if s.shape else 0
            out[f"{s.name}_nominal"] = tpl[k0]
    out["fold"] = np.concatenate(fold, axis=-1)
    return out


def build(mode: str = "paper", runs=None, source=None, sin2_theta_w: float = SIN2_THETA_W, form_factor: str = "helm"):
    """The experiment; ``data`` holds the parsed statistical model (``params``, ``runs``),
    the response per run (``response``: (anchors, 50, bins)), the anchors and observed counts."""
    check_mode(mode)
    params, all_runs = _model()
    keys = check_runs(runs if runs is not None else tuple(r.key for r in all_runs))
    run_objs = [r for r in all_runs if r.key in keys]
    run_objs.sort(key=lambda r: keys.index(r.key))
    if source is None:
        from cevnsfit.physics.sources import SolarB8Source

        source = SolarB8Source()
    cevns = {r.key: next(s for s in r.sources if s.name == release.CEVNS_SOURCE) for r in run_objs}
    anchors = {k: s.anchors for k, s in cevns.items()}
    response, energies = {}, None
    for r in run_objs:
        e, resp = release.read_response(r.key, anchors[r.key])
        if energies is not None and not np.array_equal(e, energies):
            raise UnknownNameError("the response energies differ between runs")
        energies = e
        response[r.key] = resp
    assert energies is not None
    widths = release.slot_widths(energies)
    engine = S2OnlyEngine(source, xe.xenon_isotopes(form_factor), energies, widths, sin2_theta_w)
    data = {
        "params": params,
        "runs": run_objs,
        "response": response,
        "anchors": anchors,
        "counts": {r.key: release.observed_counts(r) for r in run_objs},
        "energies_kev": energies,
        "widths_kev": widths,
    }
    data.update(_declared_arrays(params, run_objs, response))
    info = {
        "target": "natural xenon",
        "runs": keys,
        "exposure_ty": {r.key: r.exposure_ty for r in run_objs},
        "flux_groups": [g.name for g in source.groups],
        "prediction_unit": "events/(t y) per recoil slot (release energies and widths)",
        "sin2_theta_w": sin2_theta_w,
        "form_factor": f"{form_factor} (Lewin-Smith)",
    }
    axis = Axis("recoil", release.slot_edges(energies), "keVnr")
    return Experiment(NAME, mode, (axis,), engine, data=data, info=info, matching=mode)


__all__ = ["BEYOND_WARN_FRACTION", "S2OnlyEngine", "build", "check_runs"]
