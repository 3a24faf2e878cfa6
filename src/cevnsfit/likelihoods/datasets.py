"""Dataset likelihoods by name: each couples an experiment's prediction to a likelihood term.

A dataset term has ``logl_model(model) -> ln L`` (shape ``model.shape``) and
``logl_prediction(pred)``. Adding a detector adds a builder here; the combination code does
not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import published
from ..errors import UnknownNameError
from ..experiments import cenns10 as ar_experiment
from ..experiments import get_experiment
from .paper import AsimovPoisson, CennsPaperLikelihood, CsiPaperLikelihood, TotalsChi2

#: Argon totals used by the chi-square of totals (docs: datasets/csi2020-totals).
_BF = {k: published.pair(f"cenns10_best_fit_{k}") for k in ("cevns", "ss", "prompt_brn", "delayed_brn")}
AR_TOTALS = {
    "observed": _BF["cevns"][0],
    "var_obs": sum(_BF[k][1] ** 2 for k in ("cevns", "prompt_brn", "ss", "delayed_brn")),
    "sigma_norm": published.get("cenns10_totals_sigma_norm").value,
    "sm_published": published.get("cenns10_cv_cevns").value,
}
CSI_TOTALS = {
    "observed": published.get("coherent_csi2021_cevns_fit").value,
    "var_obs": sum(
        published.pair(k)[1] ** 2
        for k in (
            "coherent_csi2021_cevns_fit",
            "coherent_csi2021_steady_state",
            "coherent_csi2021_brn",
            "coherent_csi2021_nin",
        )
    ),
    "sigma_norm": published.get("csi2021_prediction_sigma").value,
}


@dataclass
class DatasetTerm:
    """One dataset's contribution to ln L: the term protocol (docs: statistics, likelihood terms).

    Every term states its expected counts for a model (:meth:`expected`), its ln L
    (:meth:`logl`, :meth:`logl_prediction`), its nuisance parameters with priors and their
    treatment in paper and full mode (:meth:`nuisances`), the detector exposures it uses
    (:attr:`exposures`), and draws its own pseudo-data (:meth:`pseudo_data`). Inference uses
    these and nothing else.
    """

    name: str
    experiment: Any
    term: Any
    transform: Callable | None = None  # prediction -> what the term consumes
    matching: str = "paper"
    info: dict = field(default_factory=dict)

    def prediction(self, model=None) -> np.ndarray:
        pred = self.experiment.predict(model, matching=self.matching)
        return self.transform(pred) if self.transform is not None else pred

    def logl_prediction(self, pred) -> np.ndarray:
        return self.term.logl(pred)

    def logl_model(self, model=None) -> np.ndarray:
        return self.term.logl(self.prediction(model))

    # -- the term protocol, by its names --
    def expected(self, model=None) -> np.ndarray:
        """Expected signal counts per bin for ``model`` (None: the SM), shape ``model.shape + bins``."""
        return self.prediction(model)

    def logl(self, model=None) -> np.ndarray:
        """ln L of the data for ``model``, shape ``model.shape``."""
        return self.logl_model(model)

    @property
    def exposures(self) -> tuple:
        """Detector exposures the dataset uses (:data:`EXPOSURES`)."""
        return EXPOSURES.get(self.name, (self.name,))

    def nuisances(self) -> list[dict]:
        """Nuisance parameters: name, prior, and treatment (``paper``: marginalised; ``full``: profiled)."""
        return [dict(n) for n in getattr(self.term, "NUISANCES", ())]

    def pseudo_data(self, rng: np.random.Generator, expected=None) -> DatasetTerm:
        """A copy of this dataset holding toy data drawn at ``expected`` (default: the SM), with
        the nuisances drawn from their constraints (each term's ``pseudo_data``)."""
        from ..errors import ParameterError

        if not hasattr(self.term, "pseudo_data"):
            raise ParameterError(
                f"dataset {self.name!r} ({type(self.term).__name__}) cannot draw pseudo-data; "
                "toys are defined for the paper-mode terms"
            )
        exp = self.prediction(None) if expected is None else expected
        return replace(self, term=self.term.pseudo_data(exp, rng))


def _csi2017(
    mode,
    matching,
    quadrature: str = "exact",
    n_nodes: int = 24,
    background_prior: str = "flat",
    exact: bool = False,
    **opt,
):
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


def cenns10_background_templates(exp) -> tuple[dict, dict]:
    """Release background templates scaled to the release's best-fit totals, and their
    relative uncertainties (s_2 = 23/3131, s_3 = 34/553, s_4 = 11/10)."""
    bkg, sig = {}, {}
    for name in ("ss", "prompt_brn", "delayed_brn"):
        best, err = ar_experiment.BEST_FIT[name]
        tmpl = exp.data[name]
        bkg[name] = tmpl * (best / tmpl.sum())
        sig[name] = err / best
    return bkg, sig


def _cenns10(mode, matching, quadrature: str = "exact", n_nodes: int = 16, exact: bool = False, **opt):
    exp = get_experiment("cenns10", "paper", **opt)
    bkg, sig = cenns10_background_templates(exp)
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


def _csi2020_totals(mode, matching, **opt):
    exp = get_experiment("csi2020_totals", mode, **opt)
    term = TotalsChi2(CSI_TOTALS["observed"], CSI_TOTALS["var_obs"], CSI_TOTALS["sigma_norm"])
    return DatasetTerm("csi2020_totals", exp, term, matching=matching)


def _cenns10_totals(mode, matching, normalisation: str = "published", **opt):
    """Argon totals for the chi-square: N_th,Ar = 128 N_Ar(theta)/N_Ar(SM) (``published``) or
    our computed N_Ar(theta) (``computed``); docs: datasets/csi2020-totals shows both. In ``full`` mode the
    experiment's SM total is the release's 128, so the two nearly coincide."""
    if normalisation not in ("published", "computed"):
        raise UnknownNameError(f"normalisation must be 'published' or 'computed', got {normalisation!r}")
    exp = get_experiment("cenns10", mode, **opt)
    sm_total = float(exp.predict(None).sum())
    scale = AR_TOTALS["sm_published"] / sm_total if normalisation == "published" else 1.0

    def transform(pred):
        return pred.reshape(pred.shape[: pred.ndim - 3] + (-1,)).sum(-1, keepdims=True) * scale

    term = TotalsChi2(AR_TOTALS["observed"], AR_TOTALS["var_obs"], AR_TOTALS["sigma_norm"])
    return DatasetTerm(
        "cenns10_totals", exp, term, transform=transform, matching=matching, info={"normalisation": normalisation}
    )


def _ccm(mode, matching, **opt):
    exp = get_experiment("ccm", mode, **opt)
    term = AsimovPoisson(exp.predict(None), n_bin_axes=len(exp.shape))
    return DatasetTerm("ccm", exp, term, matching=matching)


#: Detector exposures each dataset uses (docs: data sets). Two datasets that share one may not be
#: multiplied: the same events would count twice. The CsI 2021 release contains the 2017 run
#: (2015-2016 beam time) and extends it; the CsI 2020 totals are the 2021 release's totals.
EXPOSURES = {
    "csi2017": ("coherent-csi-run-2015-2016",),
    "csi2021": ("coherent-csi-run-2015-2016", "coherent-csi-run-2017-2019"),
    "csi2020_totals": ("coherent-csi-run-2015-2016", "coherent-csi-run-2017-2019"),
    "cenns10": ("coherent-cenns10-analysis-a",),
    "cenns10_totals": ("coherent-cenns10-analysis-a",),
    "ccm": ("ccm-projection",),
    "xenonnt": ("xenonnt-8b-sr0-sr2",),
    "xenonnt_s2only": ("xenonnt-8b-sr0-sr2",),  # TEMP (data-set unit xenonnt_s2only) until registry discovery
}


def check_exposures(names, allow_overlap: bool = False) -> None:
    """Refuse a combination of datasets that uses one detector exposure twice.

    >>> check_exposures(["csi2017", "cenns10"])
    >>> check_exposures(["csi2017", "csi2021"])
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: datasets 'csi2017' and 'csi2021' both use the exposure 'coherent-csi-run-2015-2016': combining them counts the same events twice (choose one; experts: allow_overlap=True)
    """
    from ..errors import ParameterError

    seen: dict = {}
    for n in names:
        for e in EXPOSURES.get(n, (n,)):
            if e in seen and not allow_overlap:
                first = seen[e]
                what = (
                    f"dataset {n!r} is listed twice (exposure {e!r})"
                    if first == n
                    else f"datasets {first!r} and {n!r} both use the exposure {e!r}"
                )
                raise ParameterError(
                    f"{what}: combining them counts the same events twice (choose one; experts: allow_overlap=True)"
                )
            seen[e] = n


def _xenonnt(
    mode, matching, runs=("sr0", "sr1", "sr2"), sr2_ac_sigma: float | None = None, flux: str = "constrained", **opt
):
    """XENONnT solar 8B (docs: datasets, xenonnt). ``flux``: ``"constrained"`` (the 8B flux a
    nuisance with the SNO constraint N(1, 0.0381), for new-physics fits) or ``"free"`` (the 8B
    measurement). ``sr2_ac_sigma``: the unpublished SR2 accidental-coincidence uncertainty
    (default 0.0576, an assumption). The same profiled likelihood in both modes."""
    from .xenonnt import SR2_AC_SIGMA_DEFAULT, XenonLikelihood

    if flux not in ("constrained", "free"):
        raise UnknownNameError(f"xenonnt flux must be 'constrained' or 'free', got {flux!r}")
    exp = get_experiment("xenonnt", "paper", runs=tuple(runs) if not isinstance(runs, str) else (runs,), **opt)
    term = XenonLikelihood(
        exp, phi_free=flux == "free", sr2_ac_sigma=SR2_AC_SIGMA_DEFAULT if sr2_ac_sigma is None else sr2_ac_sigma
    )
    return DatasetTerm(
        "xenonnt",
        exp,
        term,
        matching=matching,
        info={"runs": list(exp.data["runs"]), "flux": flux, "sr2_ac_sigma": term.sr2_ac_sigma},
    )


PAPER_BUILDERS = {
    "csi2017": _csi2017,
    "cenns10": _cenns10,
    "csi2020_totals": _csi2020_totals,
    "cenns10_totals": _cenns10_totals,
    "ccm": _ccm,
    "xenonnt": _xenonnt,
    "xenonnt_s2only": lambda m, mt, **o: __import__("cevnsfit.datasets.xenonnt_s2only", fromlist=["term"]).term(
        m, mt, **o
    ),  # TEMP unit
}
#: Full-mode builders register here (module ``likelihoods.full``).
FULL_BUILDERS: dict[str, Callable] = {"xenonnt": _xenonnt, "xenonnt_s2only": PAPER_BUILDERS["xenonnt_s2only"]}


def dataset_term(name: str, mode: str = "paper", matching: str | None = None, **options) -> DatasetTerm:
    builders = PAPER_BUILDERS if mode == "paper" else FULL_BUILDERS
    if mode not in ("paper", "full"):
        raise UnknownNameError(f"mode must be 'paper' or 'full', got {mode!r}")
    if name not in builders:
        raise UnknownNameError(f"unknown dataset {name!r} for mode {mode!r}; known: {', '.join(builders)}")
    return builders[name](mode, matching or mode, **options)
