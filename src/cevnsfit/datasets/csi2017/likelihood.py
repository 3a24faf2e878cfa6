"""CsI 2017 likelihood builders (named by the unit's ``dataset.yaml``): the paper mode's per-bin
marginalised :class:`~cevnsfit.datasets.csi2017.paper.CsiPaperLikelihood` and the full mode's
declared likelihood (``dataset.yaml``) with the options applied, profiled by the generic engine
(:class:`~cevnsfit.likelihoods.declared.ProfiledBinned`; docs: datasets/csi2017)."""

from __future__ import annotations

import copy

import numpy as np

from ...errors import ParameterError, UnknownNameError
from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm

#: Steady-state models of the full mode: one mean per PE bin flat in time, or one per bin.
STEADY_STATE_MODELS = ("flat", "per_bin")


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


def declared_section(
    decl: dict,
    mode: str = "full",
    sigma_norm: float | None = None,
    sigma_neutrons: float | None = None,
    prompt_neutrons: bool = True,
    steady_state: str = "flat",
) -> dict:
    """The declared full-mode section with the options applied: the CEvNS and prompt-neutron
    widths (None: the declared records), the prompt-neutron sample dropped with
    ``prompt_neutrons=False``, and with ``steady_state="per_bin"`` one steady-state factor per
    PE x time bin (the shapefactor without ``groups``: each bin measured by its own AC count)."""
    if steady_state not in STEADY_STATE_MODELS:
        raise UnknownNameError(f"csi2017 steady_state must be one of {STEADY_STATE_MODELS}, got {steady_state!r}")
    for name, value in (("sigma_norm", sigma_norm), ("sigma_neutrons", sigma_neutrons)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ParameterError(f"csi2017 {name} must be a positive relative width, got {value!r}")
    section = copy.deepcopy(decl["likelihood"][mode])
    (channel,) = section["channels"]
    if not prompt_neutrons:
        channel["samples"] = [s for s in channel["samples"] if s["name"] != "prompt_neutrons"]
    for smp in channel["samples"]:
        for mod in smp.get("modifiers", []):
            if mod["name"] == "cevns_norm" and sigma_norm is not None:
                mod["constraint"] = {"type": "normal", "sigma": float(sigma_norm)}
            if mod["name"] == "prompt_neutron_norm" and sigma_neutrons is not None:
                mod["constraint"] = {"type": "normal", "sigma": float(sigma_neutrons)}
            if mod["type"] == "shapefactor" and steady_state == "per_bin":
                mod.pop("groups", None)
    return section


def full(
    mode,
    matching,
    sigma_norm: float | None = None,
    sigma_neutrons: float | None = None,
    prompt_neutrons: bool = True,
    steady_state: str = "flat",
    share=(),
    engine: str = "newton",
    tol: float | None = None,
    backend: str = "auto",
    **opt,
):
    """CsI 2017 `full` (docs: datasets/csi2017): the unit's declared likelihood (``dataset.yaml``)
    with the options applied (:func:`declared_section`), built by the generic engine
    (:func:`cevnsfit.likelihoods.declared.build_term`) on the full-mode experiment (Poisson-smeared
    PE). Options: the experiment's (``pe_window``, ``smearing``, ...) and ``sigma_norm`` (0.28),
    ``sigma_neutrons`` (0.25), ``prompt_neutrons`` (True), ``steady_state`` ("flat" or
    "per_bin"), ``engine`` ("newton" or "migrad"), ``tol`` (MIGRAD), ``backend``."""
    from ...likelihoods.declared import build_term
    from .. import get_dataset

    unit = get_dataset("csi2017")
    section = declared_section(unit.declaration, mode, sigma_norm, sigma_neutrons, prompt_neutrons, steady_state)
    decl = {**unit.declaration, "likelihood": {mode: section}, "_source": unit.origin}
    exp = get_experiment("csi2017", mode, **opt)
    term = build_term(
        decl, exp, mode, matching, share=share, engine=engine, tol=1e-4 if tol is None else tol, backend=backend
    )
    term.info.update({"likelihood": "profile", "steady_state": steady_state, "prompt_neutrons": bool(prompt_neutrons)})
    return term
