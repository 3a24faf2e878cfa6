"""CENNS-10 paper-mode likelihood builder (named by the unit's ``dataset.yaml``):
:class:`~cevnsfit.datasets.cenns10.paper.CennsPaperLikelihood` (docs: datasets/cenns10). The full
mode is declared in ``dataset.yaml`` (channels, samples, modifiers) and profiled by the declared
engine, evaluated by the compiled :class:`~cevnsfit.likelihoods.full.CennsFullLikelihood`."""

from __future__ import annotations

from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm


def background_templates(exp) -> tuple[dict, dict]:
    """Release background templates scaled to the release's best-fit totals, and their
    relative uncertainties (s_2 = 23/3131, s_3 = 34/553, s_4 = 11/10)."""
    bkg, sig = {}, {}
    for name in ("ss", "prompt_brn", "delayed_brn"):
        best, err = exp.info["best_fit"][name]
        tmpl = exp.data[name]
        bkg[name] = tmpl * (best / tmpl.sum())
        sig[name] = err / best
    return bkg, sig


def paper(mode, matching, quadrature: str = "exact", n_nodes: int = 16, exact: bool = False, **opt):
    from .paper import CennsPaperLikelihood

    exp = get_experiment("cenns10", "paper", **opt)
    bkg, sig = background_templates(exp)
    term = CennsPaperLikelihood(
        exp.data["data"],
        bkg,
        sig,
        signal_sigma=exp.info["prediction_sigma"],
        quadrature=quadrature,
        n_nodes=n_nodes,
        exact=exact,
    )
    return DatasetTerm("cenns10", exp, term, matching=matching)
