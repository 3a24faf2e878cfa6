"""The chi-square of the argon total (docs: datasets/csi2020-totals, the argon total), named
by the unit's ``dataset.yaml``."""

from __future__ import annotations

from ... import published
from ...errors import UnknownNameError
from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm


def totals() -> dict:
    """Observed argon total (the release's best-fit CEvNS count), its variance (the best-fit
    errors in quadrature), the normalisation width and the collaboration's SM total."""
    comps = ("cevns", "prompt_brn", "ss", "delayed_brn")
    return {
        "observed": published.pair("cenns10_best_fit_cevns")[0],
        "var_obs": sum(published.pair(f"cenns10_best_fit_{k}")[1] ** 2 for k in comps),
        "sigma_norm": published.get("cenns10_totals_sigma_norm").value,
        "sm_published": published.get("cenns10_cv_cevns").value,
    }


def build(mode, matching, normalisation: str = "published", **opt):
    """Argon totals for the chi-square: N_th,Ar = 128 N_Ar(theta)/N_Ar(SM) (``published``) or
    our computed N_Ar(theta) (``computed``); docs: datasets/csi2020-totals shows both. In ``full``
    mode the experiment's SM total is the release's 128, so the two nearly coincide."""
    from ...likelihoods.paper import TotalsChi2

    if normalisation not in ("published", "computed"):
        raise UnknownNameError(f"normalisation must be 'published' or 'computed', got {normalisation!r}")
    t = totals()
    exp = get_experiment("cenns10", mode, **opt)
    sm_total = float(exp.predict(None).sum())
    scale = t["sm_published"] / sm_total if normalisation == "published" else 1.0

    def transform(pred):
        return pred.reshape(pred.shape[: pred.ndim - 3] + (-1,)).sum(-1, keepdims=True) * scale

    term = TotalsChi2(t["observed"], t["var_obs"], t["sigma_norm"])
    return DatasetTerm(
        "cenns10_totals", exp, term, transform=transform, matching=matching, info={"normalisation": normalisation}
    )
