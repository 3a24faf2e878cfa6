"""XENONnT validation rows (``cevnsfit validate``; declared in the unit's ``dataset.yaml``)."""

from __future__ import annotations

from ... import published
from ...published import validation_row as row


def rows() -> list[dict]:
    """XENONnT SR0+SR1 against the 2024 letter (exposure, events, background) and the SM 8B
    rate over 0.45-10 keV_NR against XENONnT's spectrum (docs: datasets, xenonnt). The rate
    differs by a few per cent through sin^2 theta_W, the form factor and the flux table: the
    tolerance states that, it is not tuned."""
    from .analysis import validation

    v = validation(("sr0", "sr1"))
    rec = {
        k: published.get(k)
        for k in ("xenonnt_sr01_exposure", "xenonnt_sr01_observed", "xenonnt_sr01_background", "xenonnt_sm_b8_rate")
    }
    return [
        row(
            "xenonnt SR0+SR1 exposure (t y)",
            v["exposure_ty"],
            rec["xenonnt_sr01_exposure"].value,
            0.01,
            rec["xenonnt_sr01_exposure"].source,
        ),
        row(
            "xenonnt SR0+SR1 observed events",
            v["observed"],
            rec["xenonnt_sr01_observed"].value,
            0.0,
            rec["xenonnt_sr01_observed"].source,
        ),
        row(
            "xenonnt SR0+SR1 expected background",
            v["background"],
            rec["xenonnt_sr01_background"].value,
            0.06,
            "published 26.4 +1.4 -1.3 (2024 templates); the 2026 ER/neutron templates differ slightly",
        ),
        row(
            "xenonnt SM 8B CEvNS rate, 0.45-10 keV (per t y)",
            v["sm_rate_045_10kev"],
            rec["xenonnt_sm_b8_rate"].value,
            0.05,
            "XENONnT cevns_spectrum.json (wimprates); sin^2 theta_W, form factor and flux table differ",
        ),
    ]
