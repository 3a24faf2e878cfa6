"""The chi-square of the CsI total (docs: datasets/csi2020-totals), named by the unit's
``dataset.yaml``; the same closed-form profile serves both modes."""

from __future__ import annotations

from ... import published
from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm


def totals() -> dict:
    """Observed total, its variance (CEvNS fit, steady state, BRN and NIN errors in quadrature)
    and the normalisation width of the reference analysis."""
    keys = (
        "coherent_csi2021_cevns_fit",
        "coherent_csi2021_steady_state",
        "coherent_csi2021_brn",
        "coherent_csi2021_nin",
    )
    return {
        "observed": published.get("coherent_csi2021_cevns_fit").value,
        "var_obs": sum(published.pair(k)[1] ** 2 for k in keys),
        "sigma_norm": published.get("csi2021_prediction_sigma").value,
    }


def build(mode, matching, **opt):
    from ...likelihoods.paper import TotalsChi2

    exp = get_experiment("csi2020_totals", mode, **opt)
    t = totals()
    return DatasetTerm(
        "csi2020_totals", exp, TotalsChi2(t["observed"], t["var_obs"], t["sigma_norm"]), matching=matching
    )
