"""Standard-Model CEvNS cross section, PHYSICS.md section 3.

dsigma/dE_r = G_F^2 m_N / (2 pi) Q_V^2 [1 - m_N E_r/E^2 + (1 - E_r/E)^2] F(q)^2,
zero beyond the kinematic endpoint E_r = 2E^2/(m_N + 2E).
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import G_F, SIN2_THETA_W
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
    return pref * np.asarray(qv) ** 2 * kinematic_bracket(e_mev, er_mev, nucleus.mass_mev) * nucleus.form_factor_sq(er_mev)
