"""The toy detector: 100 kg of argon 30 m from a stopped-pion source (1e23 POT, 0.09 neutrinos per
flavour per POT), 20-100 keVnr in 8 bins of recoil energy, perfect efficiency, no background."""

from __future__ import annotations

import numpy as np

from cevnsfit.constants import ISOTOPES, SIN2_THETA_W
from cevnsfit.experiments.base import Axis, Experiment, check_mode, n_targets
from cevnsfit.likelihoods.datasets import DatasetTerm
from cevnsfit.likelihoods.paper import AsimovPoisson
from cevnsfit.physics.flux import StoppedPionSource
from cevnsfit.physics.nucleus import Nucleus
from cevnsfit.rates.binned import SpectrumEngine
from cevnsfit.rates.kernels import er_endpoints
from cevnsfit.rates.response import gauss_legendre_grid, response_matrix


def build(mode: str = "paper", mass_kg: float = 100.0) -> Experiment:
    check_mode(mode)
    nuc = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    source = StoppedPionSource(1e23, 0.09, 30.0)
    edges = np.linspace(20.0, 100.0, 9)
    ends = er_endpoints(nuc)
    bps = sorted({*edges, ends["prompt"] * 1e3})
    er_kev, w_kev = gauss_legendre_grid([b for b in bps if b <= 100.0], 6)
    resp = response_matrix(er_kev, edges, edges, "none")
    nt = n_targets(mass_kg, ISOTOPES["Ar40"]["atomic_mass_u"])
    engine = SpectrumEngine(source, [(nuc, nt, er_kev * 1e-3, w_kev * 1e-3, resp)], SIN2_THETA_W)
    return Experiment("toydet", mode, (Axis("recoil", edges, "keVnr"),), engine, info={"mass_kg": mass_kg})


def term(mode, matching, **options):
    from cevnsfit.experiments import get_experiment

    exp = get_experiment("toydet", mode, **options)
    return DatasetTerm("toydet", exp, AsimovPoisson(exp.predict(None), n_bin_axes=1), matching=matching)
