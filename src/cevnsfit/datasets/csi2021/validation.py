"""CsI 2021 validation rows (``cevnsfit validate``; declared in the unit's ``dataset.yaml``)."""

from __future__ import annotations

from ... import published
from ...published import validation_row as row


def sm_events() -> float:
    """Our SM CEvNS events, 0-60 PE and 0-6 us (published: 333 +- 11 (th) +- 42 (exp))."""
    from ...experiments import get_experiment

    return float(get_experiment("csi2021", "paper").predict().sum())


def fit_rows() -> list[dict]:
    """The fitted CEvNS events (SM shape, free normalisation) against COHERENT's 306 +- 20."""
    from .likelihood import sm_normalisation_fit

    fit = sm_normalisation_fit("simple")
    rec = published.get("coherent_csi2021_cevns_fit")
    return [
        row(
            "csi2021 fitted CEvNS events (SM shape, free normalisation)",
            fit["cevns"][0],
            rec.value,
            0.10,
            f"{rec.source}: {rec.value:g} +- {rec.sigma:g}; ours +- {fit['cevns'][1]:.0f}",
        )
    ]
