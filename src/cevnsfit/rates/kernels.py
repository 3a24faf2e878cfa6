"""Theta-independent rate kernels K_f,k(E_r) (docs: physics/rates).

dN_f,k/dE_r = Q_V,f,k(E_r; theta)^2 F_k(E_r)^2 K_f,k(E_r), with

    K_f,k(E_r) = N_T,k G_F^2 m_k / (2 pi) Int dE dPhi_f/dE [1 - m_k E_r/E^2 + (1 - E_r/E)^2].

The E-integral is done in closed form: the delayed spectra are polynomials in E and the
bracket is a Laurent polynomial, so the integrand is a polynomial of degree 0..3; the
prompt line contributes eta times the bracket at E_prompt.
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import E_DELAYED_MAX, E_PROMPT, G_F
from ..physics.cross_section import get_structure, kinematic_bracket
from ..physics.flux import DELAYED_POLY, FLAVOUR_GROUPS, StoppedPionSource
from ..physics.nucleus import Nucleus


def flux_averaged_bracket(group: str, er_mev, nucleus: Nucleus) -> np.ndarray:
    """Int dE f(E) [bracket] for a unit-normalised spectrum f of flavour ``group``.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> float(flux_averaged_bracket("nue", 0.0, ar))   # E_r -> 0: bracket -> 2
    2.0
    """
    er = np.asarray(er_mev, dtype=float)
    m = nucleus.mass_mev
    if group == "numu_prompt":
        return kinematic_bracket(E_PROMPT, er, m)
    c2 = DELAYED_POLY[group][2]
    c3 = DELAYED_POLY[group][3]
    k = er * er - m * er
    coeffs = {3: 2.0 * c3 + 0 * er, 2: 2.0 * c2 - 2.0 * er * c3, 1: -2.0 * er * c2 + k * c3, 0: k * c2}
    lo = np.minimum(nucleus.e_min(er), E_DELAYED_MAX)
    hi = E_DELAYED_MAX
    total = sum(c * (hi ** (n + 1) - lo ** (n + 1)) / (n + 1) for n, c in coeffs.items())
    return np.where(lo < hi, np.maximum(total, 0.0), 0.0)


def kernel(
    group: str,
    er_mev,
    nucleus: Nucleus,
    source,
    n_targets: float,
    with_form_factor: bool = True,
    structure: str = "vector",
) -> np.ndarray:
    """K_{g,s}(E_r) F_s(E_r)^2 in events per MeV of recoil per unit coefficient C_s.

    Multiply by C_s (Q_V^2 for the vector structure) to get dN/dE_r. For any
    :class:`~cevnsfit.physics.flux.Source` this is N_T B_{g,s}(E_r) F_s^2 (docs: physics/rates and
    physics/cross-section, interaction structures); the stopped-pion vector kernel keeps its original arithmetic so that the SM
    stays bit for bit what it was.
    """
    rec = get_structure(structure)
    if structure == "vector" and isinstance(source, StoppedPionSource):
        pref = n_targets * G_F**2 * nucleus.mass_mev / (2.0 * math.pi) * source.eta
        k = pref * flux_averaged_bracket(group, er_mev, nucleus)
    else:
        k = n_targets * source.flux_averaged(group, structure, er_mev, nucleus)
    if with_form_factor:
        k = k * nucleus.form_factor_sq_of(rec.form_factor, er_mev)
    return k


def er_endpoints(nucleus: Nucleus) -> dict[str, float]:
    """Recoil endpoints [MeV] of the prompt line and of the delayed spectra for ``nucleus``."""
    return {"prompt": float(nucleus.er_max(E_PROMPT)), "delayed": float(nucleus.er_max(E_DELAYED_MAX))}


__all__ = ["FLAVOUR_GROUPS", "flux_averaged_bracket", "kernel", "er_endpoints"]
