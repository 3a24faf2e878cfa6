"""CENNS-10 validation rows (``cevnsfit validate``; declared in the unit's ``dataset.yaml``):
our SM prediction against the release (total and energy bins) and the argon cross-check
(Table I of the reference analysis) against the release's best fit (docs: datasets/cenns10)."""

from __future__ import annotations

import numpy as np

from ...published import validation_row as row


def sm_events() -> float:
    """Our SM CEvNS events on the release's full grid (published central value: 128 +- 17)."""
    from ...experiments import get_experiment

    return float(get_experiment("cenns10", "paper").predict().sum())


def energy_bins() -> list[dict]:
    """Our SM prediction per energy bin against the release CEvNS template (bins above 5 events)."""
    from ...experiments import get_experiment

    ar = get_experiment("cenns10", "paper")
    ours_e = ar.predict().sum(axis=(1, 2))
    tmpl_e = ar.data["cevns_template"].sum(axis=(1, 2))
    edges = ar.axes[0].edges
    return [
        row(
            f"cenns10 SM energy bin {edges[i]:.0f}-{edges[i + 1]:.0f} keVee",
            ours_e[i],
            tmpl_e[i],
            0.25,
            "release CEvNS template",
        )
        for i in np.flatnonzero(tmpl_e > 5.0)
    ]


def release_best_fit() -> dict:
    """COHERENT's unrounded CENNS-10 best-fit totals from the release's 1D projection files
    (Table 2 rounds them: 159, 3131, 553, 10). Delayed BRN sits alone in the 1.4-1.9 us bin."""
    from ...experiments import get_experiment
    from .loaders import load_cenns10_projection

    t = load_cenns10_projection("time")
    ss_subtracted = t["data"].sum()
    data_total = get_experiment("cenns10").data["data"].sum()
    return {
        "cevns": float(t["cevns"].sum()),
        "ss": float(data_total - ss_subtracted),
        "prompt_brn": float(t["brn"].sum() - t["brn"][3]),
        "delayed_brn": float(t["brn"][3]),
    }


def crosscheck_rows() -> list[dict]:
    """The argon cross-check's best fits and errors against the release (docs: datasets/cenns10)."""
    from .crosscheck import argon_crosscheck

    rows = []
    ar = argon_crosscheck()
    unrounded = release_best_fit()
    for comp in ("cevns", "ss", "prompt_brn", "delayed_brn"):
        best, err = ar[comp]
        pub_best, pub_err = ar["published"][comp]
        rows.append(
            row(
                f"argon cross-check {comp} best fit",
                best,
                unrounded[comp],
                0.05,
                f"release's unrounded best fit (1D projections); Table 2: {pub_best:g}",
            )
        )
        rows.append(row(f"argon cross-check {comp} error", err, pub_err, 0.20, "COHERENT companion Table 2"))
    return rows
