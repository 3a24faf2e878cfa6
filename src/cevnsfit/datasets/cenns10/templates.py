"""CENNS-10 release templates (docs: datasets/cenns10): the fitted components, the experiment
data key of each one's template, the background widths of the argon cross-check and the
release's +-1 sigma shape variations as a :class:`~cevnsfit.likelihoods.morph.TemplateMorph`.

The full mode's declaration (``dataset.yaml``) and the cross-check's (``crosscheck.yaml``) name
the same templates; this module serves code that works on the arrays directly (the cross-check's
:class:`~cevnsfit.inference.crosscheck.CrosscheckModel`, tests).
"""

from __future__ import annotations

import numpy as np

from ...likelihoods.morph import TemplateMorph, mirrored_shape, unit_shape

#: Fitted CENNS-10 components and the ``Experiment.data`` key of each one's template.
COMPONENTS = ("cevns", "ss", "prompt_brn", "delayed_brn")
TEMPLATE_KEYS = {"cevns": "cevns_template", "ss": "ss", "prompt_brn": "prompt_brn", "delayed_brn": "delayed_brn"}
#: Gaussian-constraint widths of the CENNS-10 backgrounds relative to the release central value
#: (docs: datasets/cenns10, the argon cross-check). The SS width is absolute (25 events, companion
#: Table 2; = sqrt(15762)/5 from the off-beam count).
RELATIVE_WIDTHS = {"prompt_brn": 0.30, "delayed_brn": 1.00}
#: CENNS-10 shape nuisances: component, +1 sigma template key, -1 sigma template key (None:
#: single-sided, mirrored).
SHAPE_SYSTEMATICS = {
    "cevns_f90": ("cevns", "cevns_f90_plus", "cevns_f90_minus"),
    "cevns_timing_mean": ("cevns", "cevns_timing_mean", None),
    "prompt_brn_energy": ("prompt_brn", "prompt_brn_energy_plus", "prompt_brn_energy_minus"),
    "prompt_brn_timing_mean": ("prompt_brn", "prompt_brn_timing_mean_plus", "prompt_brn_timing_mean_minus"),
    "prompt_brn_timing_width": ("prompt_brn", "prompt_brn_timing_width", None),
}


def release_morph(data: dict, components=COMPONENTS, systematics=None, interpolation: str = "linear") -> TemplateMorph:
    """The release's shape variations as a :class:`~cevnsfit.likelihoods.morph.TemplateMorph`
    on unit-sum templates (single-sided variations mirrored).

    ``data`` holds the nominal templates (keys :data:`TEMPLATE_KEYS`) and the variants
    (keys of :data:`SHAPE_SYSTEMATICS`, or of ``systematics`` with the same layout).
    """
    systematics = SHAPE_SYSTEMATICS if systematics is None else systematics
    comp, dplus, dminus = [], [], []
    for comp_name, plus_key, minus_key in systematics.values():
        p0 = unit_shape(data[TEMPLATE_KEYS[comp_name]])
        plus = unit_shape(data[plus_key])
        minus = mirrored_shape(p0, plus) if minus_key is None else unit_shape(data[minus_key])
        comp.append(list(components).index(comp_name))
        dplus.append(plus - p0)
        dminus.append(p0 - minus)
    return TemplateMorph(
        tuple(systematics), np.array(comp, dtype=int), np.stack(dplus), np.stack(dminus), interpolation
    )


__all__ = ["COMPONENTS", "RELATIVE_WIDTHS", "SHAPE_SYSTEMATICS", "TEMPLATE_KEYS", "release_morph"]
