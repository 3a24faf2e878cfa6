"""CENNS-10 likelihood builders (named by the unit's ``dataset.yaml``): the paper mode's
:class:`~cevnsfit.likelihoods.paper.CennsPaperLikelihood` and the full mode's profiled
:class:`~cevnsfit.likelihoods.full.CennsFullLikelihood` (docs: datasets/cenns10)."""

from __future__ import annotations

import numpy as np

from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm, split_options

_FULL_KEYS = ("cevns_sigma", "shape_systematics", "interpolation", "tol", "engine")


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
    from ...likelihoods.paper import CennsPaperLikelihood

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


def cv_backgrounds(exp) -> tuple[dict, dict]:
    """Release background templates at the release central-value totals (SS 3152, prompt BRN 497,
    delayed BRN 33) and their relative constraint widths (25/3152, 0.30, 1.00)."""
    from ...likelihoods.morph import COMPONENTS, RELATIVE_WIDTHS, TEMPLATE_KEYS

    cv = exp.info["cv"]
    bkg, sig = {}, {}
    for k in COMPONENTS[1:]:
        tmpl = np.asarray(exp.data[TEMPLATE_KEYS[k]], dtype=float)
        bkg[k] = tmpl * (cv[k][0] / tmpl.sum())
        sig[k] = RELATIVE_WIDTHS.get(k, cv[k][1] / cv[k][0])
    return bkg, sig


def full(mode, matching, **options):
    """CENNS-10 `full`: :class:`~cevnsfit.likelihoods.full.CennsFullLikelihood` on the full-mode
    experiment. Options: the experiment's and ``cevns_sigma`` (0.13; None: flat),
    ``shape_systematics`` (True), ``interpolation`` ("quadratic"), ``tol`` (MIGRAD), ``engine``
    ("newton", the default with the quadratic morph, or "migrad", the default with the linear one)."""
    from ...likelihoods.full import CennsFullLikelihood
    from ...likelihoods.morph import COMPONENTS, release_morph

    like, exp_opt = split_options(options, _FULL_KEYS)
    exp = get_experiment("cenns10", "full", **exp_opt)
    bkg, sig = cv_backgrounds(exp)
    interpolation = like.pop("interpolation", "quadratic")
    morph = (
        release_morph(exp.data, COMPONENTS, interpolation=interpolation)
        if like.pop("shape_systematics", True)
        else None
    )
    term = CennsFullLikelihood(
        exp.data["data"],
        bkg,
        sig,
        morph,
        cevns_nominal=exp.data["cevns_template"],
        cevns_sigma=like.pop("cevns_sigma", exp.info["prediction_sigma"]),
        reference_total=float(exp.predict(None).sum()),
        **like,
    )
    return DatasetTerm("cenns10", exp, term, matching=matching, info={"likelihood": "profile"})
