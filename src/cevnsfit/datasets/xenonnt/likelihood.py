"""The XENONnT likelihood builder (named by the unit's ``dataset.yaml``): the backend
:class:`~cevnsfit.datasets.xenonnt.backend.XenonLikelihood` on this unit's experiment."""

from __future__ import annotations

from ...errors import UnknownNameError
from ...experiments import get_experiment
from ...likelihoods.datasets import DatasetTerm


def build(
    mode, matching, runs=("sr0", "sr1", "sr2"), sr2_ac_sigma: float | None = None, flux: str = "constrained", **opt
):
    """XENONnT solar 8B (docs: datasets, xenonnt). ``flux``: ``"constrained"`` (the 8B flux a
    nuisance with the SNO constraint N(1, 0.0381), for new-physics fits) or ``"free"`` (the 8B
    measurement). ``sr2_ac_sigma``: the unpublished SR2 accidental-coincidence uncertainty
    (default 0.0576, an assumption). The same profiled likelihood in both modes."""
    from .backend import SR2_AC_SIGMA_DEFAULT, XenonLikelihood

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
