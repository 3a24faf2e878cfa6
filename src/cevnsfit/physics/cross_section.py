"""CEvNS cross sections: the SM and the interaction structures (docs: physics, cross section).

Standard Model (docs: physics/cross-section):

    dsigma/dE_r = G_F^2 m_N / (2 pi) Q_V^2 [1 - m_N E_r/E^2 + (1 - E_r/E)^2] F(q)^2,

zero beyond the kinematic endpoint E_r = 2E^2/(m_N + 2E).

Interaction structures (docs: physics/cross-section, interaction structures): every model's cross section is a sum over
structures s of C_s(theta; q^2) b_s(E, E_r) F_s(q)^2, with a fixed kinematic bracket b_s
(:func:`structure_bracket`) and a coefficient C_s that depends on E_r only through q^2:

========= ============================================ ============== ============
structure b_s(E, E_r) [MeV^-2 per unit C]               form factor    interferes
========= ============================================ ============== ============
vector    G_F^2 m/(2 pi) [1 - m E_r/E^2 + (1-E_r/E)^2]  weak           C = Q^2
scalar    m^2 E_r / (4 pi E^2)                          weak           no (adds)
magnetic  pi alpha^2 / m_e^2 (1/E_r - 1/E)              charge         no (adds)
========= ============================================ ============== ============

References: vector, Freedman PRD 9 (1974) 1389 in the normalisation of docs: physics/cross-section;
scalar, Dent et al., PRD 96 (2017) 095007 (arXiv:1701.07443) with C_scalar =
Q_S^2/(q^2 + m_S^2)^2; magnetic moment, Vogel & Engel, PRD 39 (1989) 3378 with
C_magnetic = (mu_nu/mu_B)^2 Z^2 (the E_r/(4E^2) term some authors add inside the
bracket is left out: it is suppressed by E_r/E ~ 1e-3 at these energies).
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import ALPHA_EM, G_F, M_E, SIN2_THETA_W
from .nucleus import Nucleus


def qv_sm(Z: int, N: int, sin2_theta_w: float = SIN2_THETA_W) -> float:
    """SM weak vector charge Q_V = Z(2 g_V^u + g_V^d) + N(g_V^u + 2 g_V^d) = -(N - (1 - 4 s_W^2) Z)/2.

    >>> round(qv_sm(55, 78), 4)
    -37.7427
    """
    gu = 0.5 - 4.0 / 3.0 * sin2_theta_w
    gd = -0.5 + 2.0 / 3.0 * sin2_theta_w
    return Z * (2 * gu + gd) + N * (gu + 2 * gd)


def kinematic_bracket(e_mev, er_mev, mass_mev: float) -> np.ndarray:
    """[1 - m_N E_r/E^2 + (1 - E_r/E)^2], set to zero beyond the kinematic endpoint.

    At the endpoint it equals (E_r/E)^2 >= 0 (a check in the tests).
    """
    e = np.asarray(e_mev, dtype=float)
    er = np.asarray(er_mev, dtype=float)
    allowed = er <= 2.0 * e * e / (mass_mev + 2.0 * e)
    b = 1.0 - mass_mev * er / (e * e) + (1.0 - er / e) ** 2
    return np.where(allowed, b, 0.0)


def dsigma_der(e_mev, er_mev, nucleus: Nucleus, qv=None) -> np.ndarray:
    """dsigma/dE_r [MeV^-3] for neutrino energy ``e_mev`` and recoil ``er_mev``.

    ``qv`` defaults to the SM value; pass Q_V^SM + Q_V^BSM for a model.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> float(dsigma_der(30.0, 0.2, ar))   # beyond the endpoint (0.048 MeV)
    0.0
    """
    if qv is None:
        qv = qv_sm(nucleus.Z, nucleus.N)
    pref = G_F**2 * nucleus.mass_mev / (2.0 * math.pi)
    return (
        pref * np.asarray(qv) ** 2 * kinematic_bracket(e_mev, er_mev, nucleus.mass_mev) * nucleus.form_factor_sq(er_mev)
    )


#: The interaction structures: name -> (form factor kind, interferes with the SM vector).
STRUCTURES = {
    "vector": ("weak", True),
    "scalar": ("weak", False),
    "magnetic": ("charge", False),
}


def check_structure(structure: str) -> str:
    """Return ``structure`` if it is a key of :data:`STRUCTURES`, else raise UnknownNameError."""
    from ..errors import UnknownNameError

    if not isinstance(structure, str) or structure not in STRUCTURES:
        raise UnknownNameError(
            f"unknown interaction structure {structure!r}; allowed: {', '.join(map(repr, STRUCTURES))}"
        )
    return structure


def structure_bracket(structure: str, e_mev, er_mev, mass_mev: float) -> np.ndarray:
    """Kinematic bracket b_s(E, E_r) [MeV^-3 per unit coefficient], zero beyond the endpoint.

    dsigma/dE_r = sum_s C_s b_s F_s^2 (module docstring). For ``"vector"`` with C = Q_V^2 this
    is :func:`dsigma_der` without the form factor.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> b = structure_bracket("vector", 30.0, 0.01, ar.mass_mev) * qv_sm(18, 22) ** 2
    >>> bool(np.isclose(b * ar.form_factor_sq(0.01), dsigma_der(30.0, 0.01, ar), rtol=1e-14))
    True
    >>> float(structure_bracket("magnetic", 30.0, 0.2, ar.mass_mev))   # beyond the endpoint
    0.0
    """
    check_structure(structure)
    e = np.asarray(e_mev, dtype=float)
    er = np.asarray(er_mev, dtype=float)
    allowed = er <= 2.0 * e * e / (mass_mev + 2.0 * e)
    with np.errstate(divide="ignore", invalid="ignore"):
        if structure == "vector":
            b = G_F**2 * mass_mev / (2.0 * math.pi) * kinematic_bracket(e, er, mass_mev)
        elif structure == "scalar":
            b = mass_mev**2 * er / (4.0 * math.pi * e * e)
        else:
            b = math.pi * ALPHA_EM**2 / M_E**2 * (1.0 / er - 1.0 / e)
            allowed = allowed & (er > 0)
    return np.where(allowed, b, 0.0)
