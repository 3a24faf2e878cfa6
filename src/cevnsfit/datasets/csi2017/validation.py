"""CsI 2017 validation rows (``cevnsfit validate``; declared in the unit's ``dataset.yaml``)."""

from __future__ import annotations


def sm_events() -> float:
    """Our SM CEvNS events in the published window, 6-30 PE and 0-12 us (published: 173 +- 48)."""
    from ...experiments import get_experiment

    return float(get_experiment("csi2017", "paper", pe_window=(6, 30), t_window_us=(0.0, 12.0)).predict().sum())
