"""Data sets not yet moved into a unit folder, declared here until their folder exists.

``ccm`` (the CCM projection) becomes a one-file declaration in its own unit (issue 18, the
declared-likelihood work); until then its experiment (:mod:`cevnsfit.experiments.ccm`) and its
Asimov term are declared here. A unit folder of the same name replaces this declaration.
"""

from __future__ import annotations

from .registry import FORMAT, DatasetUnit

_CCM = {
    "format": FORMAT,
    "name": "ccm",
    "title": "Coherent CAPTAIN-Mills liquid argon, projection (Asimov data)",
    "kind": "projection",
    "exposures": ["ccm-projection"],
    "modes": ["paper", "full"],
    "options": {
        "rn_fm": {"default": 4.1, "type": "float", "doc": "neutron rms radius [fm]"},
        "sin2_theta_w": {"default": 0.23857, "type": "float", "doc": "weak mixing angle"},
        "nodes_per_segment": {"default": 6, "type": "int", "doc": "Gauss-Legendre nodes per segment"},
    },
    "experiment": {"builder": "cevnsfit.experiments.ccm:build"},
    "likelihood": {
        "paper": {
            "backend": "cevnsfit.likelihoods.paper:AsimovPoisson",
            "builder": "cevnsfit.datasets._transitional:ccm",
        },
        "full": {
            "backend": "cevnsfit.likelihoods.paper:AsimovPoisson",
            "builder": "cevnsfit.datasets._transitional:ccm",
        },
    },
    "nuisances": [],
}


def ccm(mode, matching, **opt):
    from ..experiments import get_experiment
    from ..likelihoods.datasets import DatasetTerm
    from ..likelihoods.paper import AsimovPoisson

    exp = get_experiment("ccm", mode, **opt)
    return DatasetTerm("ccm", exp, AsimovPoisson(exp.predict(None), n_bin_axes=len(exp.shape)), matching=matching)


def units() -> list[DatasetUnit]:
    return [DatasetUnit(_CCM, "transitional declaration in cevnsfit.datasets._transitional")]
