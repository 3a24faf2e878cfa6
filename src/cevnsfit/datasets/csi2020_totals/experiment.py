"""COHERENT CsI 2020 totals as used by the reference analysis (docs: datasets/csi2020-totals).

One bin: N_th(theta) = 333 x N_csi(theta) / N_csi(SM), the ratio taken with the CsI 2017
response over 6-30 PE and all arrival times (0-12 us).
"""

from __future__ import annotations

import numpy as np

from ... import published
from ...constants import SIN2_THETA_W
from ...experiments.base import Axis, Experiment
from ..csi2017 import experiment as csi2017

#: Published inputs (arXiv:2110.07730 as quoted by the reference analysis), from :mod:`cevnsfit.published`.
OBSERVED = published.pair("coherent_csi2021_cevns_fit")
SM_PREDICTION = published.get("coherent_csi2021_sm_events").value
PREDICTION_SIGMA = published.get("csi2021_prediction_sigma").value
BACKGROUNDS = {
    "ss": published.pair("coherent_csi2021_steady_state"),
    "brn": published.pair("coherent_csi2021_brn"),
    "nin": published.pair("coherent_csi2021_nin"),
}


def build(mode: str = "paper", sin2_theta_w: float = SIN2_THETA_W) -> Experiment:
    ref = csi2017.build("paper", pe_window=(6, 30), t_window_us=(0.0, 12.0), sin2_theta_w=sin2_theta_w)
    sm_total = ref.engine.energy_counts(None).sum()

    def layout(energy):
        # energy: (..., 3, n_e) CsI 2017 counts -> (..., 3, 1) scaled to the published SM total
        return energy.sum(axis=-1, keepdims=True) * (SM_PREDICTION / sm_total)

    info = {
        "observed": OBSERVED,
        "sm_prediction": SM_PREDICTION,
        "prediction_sigma": PREDICTION_SIGMA,
        "backgrounds": BACKGROUNDS,
        "reference_response": "csi2017 paper, 6-30 PE, 0-12 us",
    }
    return Experiment(
        "csi2020_totals",
        mode,
        (Axis("total", np.array([0.0, 1.0]), ""),),
        ref.engine,
        layout=layout,
        data={"observed": np.array([OBSERVED[0]])},
        info=info,
        matching=mode,
    )
