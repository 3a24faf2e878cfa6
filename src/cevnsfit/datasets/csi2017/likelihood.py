"""CsI 2017 likelihood builders (named by the unit's ``dataset.yaml``): the paper mode's per-bin
marginalised :class:`~cevnsfit.datasets.csi2017.paper.CsiPaperLikelihood` and the full mode's
profiled :class:`~cevnsfit.datasets.csi2017.full.CsiFullLikelihood` (docs: datasets/csi2017)."""

from __future__ import annotations

from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm, split_options

_FULL_KEYS = ("sigma_norm", "sigma_neutrons", "prompt_neutrons", "steady_state", "tol", "engine")


def paper(
    mode,
    matching,
    quadrature: str = "exact",
    n_nodes: int = 24,
    background_prior: str = "flat",
    exact: bool = False,
    **opt,
):
    from .paper import CsiPaperLikelihood

    exp = get_experiment("csi2017", "paper", **opt)
    term = CsiPaperLikelihood(
        exp.data["C"],
        exp.data["AC"],
        sigma=exp.info["prediction_sigma"],
        quadrature=quadrature,
        n_nodes=n_nodes,
        background_prior=background_prior,
        exact=exact,
    )
    return DatasetTerm("csi2017", exp, term, matching=matching)


def full(mode, matching, **options):
    """CsI 2017 `full`: :class:`~cevnsfit.datasets.csi2017.full.CsiFullLikelihood` on the full-mode
    experiment (Poisson-smeared PE). Options: the experiment's (``pe_window``, ``smearing``, ...)
    and ``sigma_norm`` (0.28), ``sigma_neutrons`` (0.25), ``prompt_neutrons`` (True),
    ``steady_state`` ("flat"), ``tol`` (MIGRAD), ``engine`` ("newton" or "migrad")."""
    from .full import CsiFullLikelihood

    like, exp_opt = split_options(options, _FULL_KEYS)
    exp = get_experiment("csi2017", "full", **exp_opt)
    pn = exp.data["prompt_neutrons"] if like.pop("prompt_neutrons", True) else None
    term = CsiFullLikelihood(
        exp.data["C"],
        exp.data["AC"],
        pn,
        sigma_norm=like.pop("sigma_norm", exp.info["prediction_sigma"]),
        sigma_neutrons=like.pop("sigma_neutrons", exp.info["prompt_neutron_norm_sigma"]),
        reference_total=float(exp.predict(None).sum()),
        **like,
    )
    return DatasetTerm("csi2017", exp, term, matching=matching, info={"likelihood": "profile"})
