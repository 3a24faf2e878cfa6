"""The XENONnT likelihood builder (named by the unit's ``dataset.yaml``): it applies the unit's
options to the declared likelihood (channels of the selected runs, the 8B flux constraint, the
SR2 accidental-coincidence width) and builds the term with the generic engine
(:func:`cevnsfit.likelihoods.declared.build_term`), whose ``fast_path`` is this unit's compiled
backend (:mod:`cevnsfit.datasets.xenonnt.fast`). The statistical model: docs, datasets, xenonnt."""

from __future__ import annotations

import copy

from ...errors import ParameterError, UnknownNameError
from ...experiments import get_experiment
from .experiment import RUNS, check_runs

#: Default (assumed, unpublished) SR2 accidental-coincidence uncertainty (as SR1).
SR2_AC_SIGMA_DEFAULT = 0.0576
#: Bounds of the 8B flux multiplier phi when it is free (the 8B measurement).
PHI_FREE_BOUNDS = [0.0, 100.0]


def declared_section(decl: dict, mode: str, runs=RUNS, sr2_ac_sigma: float | None = None, flux: str = "constrained"):
    """The declared likelihood section of ``mode`` with the options applied: the channels of
    ``runs`` in that order, ``a_sr2``'s width ``sr2_ac_sigma`` (None: the declared 0.0576) and,
    with ``flux="free"``, phi a normfactor (unconstrained) in [0, 100]."""
    if flux not in ("constrained", "free"):
        raise UnknownNameError(f"xenonnt flux must be 'constrained' or 'free', got {flux!r}")
    if sr2_ac_sigma is not None and not 0.0 < float(sr2_ac_sigma) < 10.0:
        raise ParameterError(f"sr2_ac_sigma must be a positive relative uncertainty, got {sr2_ac_sigma}")
    runs = check_runs(runs)
    section = copy.deepcopy(decl["likelihood"][mode])
    by_name = {ch["name"]: ch for ch in section["channels"]}
    section["channels"] = [by_name[r] for r in runs]
    for ch in section["channels"]:
        for smp in ch["samples"]:
            for i, mod in enumerate(smp.get("modifiers", [])):
                if mod["name"] == "a_sr2" and sr2_ac_sigma is not None:
                    mod["constraint"]["sigma"] = float(sr2_ac_sigma)
                if mod["name"] == "phi" and flux == "free":
                    smp["modifiers"][i] = {"name": "phi", "type": "normfactor", "bounds": list(PHI_FREE_BOUNDS)}
    return section


def build(
    mode,
    matching,
    runs=RUNS,
    sr2_ac_sigma: float | None = None,
    flux: str = "constrained",
    share=(),
    engine: str = "newton",
    tol: float = 1e-4,
    backend: str = "auto",
    **opt,
):
    """XENONnT solar 8B (docs: datasets, xenonnt). ``flux``: ``"constrained"`` (the 8B flux a
    nuisance with the SNO constraint N(1, 0.0381), for new-physics fits) or ``"free"`` (the 8B
    measurement). ``sr2_ac_sigma``: the unpublished SR2 accidental-coincidence uncertainty
    (default 0.0576, an assumption). ``backend``: ``"auto"`` (the compiled backend) or
    ``"generic"`` (the declared engine). The same profiled likelihood in both modes."""
    from ...likelihoods.declared import build_term
    from .. import get_dataset

    unit = get_dataset("xenonnt")
    runs = check_runs(runs)
    section = declared_section(unit.declaration, mode, runs, sr2_ac_sigma, flux)
    decl = {**unit.declaration, "likelihood": {mode: section}, "_source": unit.origin}
    exp = get_experiment("xenonnt", mode, runs=runs, **opt)
    term = build_term(decl, exp, mode, matching, share=share, engine=engine, tol=tol, backend=backend)
    term.info.update(
        {
            "runs": list(runs),
            "flux": flux,
            "sr2_ac_sigma": SR2_AC_SIGMA_DEFAULT if sr2_ac_sigma is None else float(sr2_ac_sigma),
        }
    )
    return term
