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
from collections.abc import Callable
from dataclasses import dataclass

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


# --- the interaction structures: one record each ------------------------------------------


def poly_moment(poly: dict[int, float], power: int, lo, hi) -> np.ndarray:
    """Int_lo^hi f(E) E^power dE for f = sum_n c_n E^n (all n + power >= 0): the polynomial
    moments in which the stopped-pion closed forms are written (docs: physics/sources)."""
    return sum(c * (hi ** (n + power + 1) - lo ** (n + power + 1)) / (n + power + 1) for n, c in poly.items())


def _vector_bracket(e, er, m):
    return G_F**2 * m / (2.0 * math.pi) * (1.0 - m * er / (e * e) + (1.0 - er / e) ** 2)


def _vector_stopped_pion(poly, lo, hi, er, m):
    # f(E) = c2 E^2 + c3 E^3 times [2 - 2 E_r/E + (E_r^2 - m E_r)/E^2]: a cubic in E.
    c2, c3 = poly[2], poly[3]
    k = er * er - m * er
    coeffs = {3: 2.0 * c3 + 0 * er, 2: 2.0 * c2 - 2.0 * er * c3, 1: -2.0 * er * c2 + k * c3, 0: k * c2}
    total = sum(c * (hi ** (n + 1) - lo ** (n + 1)) / (n + 1) for n, c in coeffs.items())
    return G_F**2 * m / (2.0 * math.pi) * np.maximum(total, 0.0)


def _scalar_bracket(e, er, m):
    return m**2 * er / (4.0 * math.pi * e * e)


def _scalar_stopped_pion(poly, lo, hi, er, m):
    return m * m * er / (4.0 * math.pi) * poly_moment(poly, -2, lo, hi)


def _magnetic_bracket(e, er, m):
    return math.pi * ALPHA_EM**2 / M_E**2 * (1.0 / er - 1.0 / e)


def _magnetic_stopped_pion(poly, lo, hi, er, m):
    with np.errstate(divide="ignore", invalid="ignore"):
        val = math.pi * ALPHA_EM**2 / M_E**2 * (poly_moment(poly, 0, lo, hi) / er - poly_moment(poly, -1, lo, hi))
    return np.where(er > 0, np.maximum(val, 0.0), 0.0)


@dataclass(frozen=True)
class Structure:
    """One interaction structure (docs: physics/cross-section, interaction structures).

    ``name``: its key; ``bracket(e, er, m)``: b_s(E, E_r) [MeV^-3 per unit coefficient] inside
    the kinematic region (:func:`structure_bracket` applies the endpoint); ``reference``: where
    the bracket comes from; ``form_factor``: ``"weak"`` or ``"charge"``
    (:meth:`~cevnsfit.physics.nucleus.Nucleus.form_factor_sq_of`); ``interferes``: whether its
    amplitude adds to the SM vector one (only the vector structure does: the engine expands
    (Q_V^SM + dq)^2); ``coefficient``: the :class:`~cevnsfit.models.base.Couplings` entry it
    reads (the vector reads ``dq`` and ``fc``); ``stopped_pion``: optional closed form
    ``(poly, lo, hi, er, m) -> Int_lo^hi f(E) b_s(E, E_r) dE`` for a polynomial spectrum f
    (:data:`~cevnsfit.physics.flux.DELAYED_POLY`); without it the stopped-pion source integrates
    the bracket by Gauss-Legendre quadrature; ``pole_at_zero_recoil``: the bracket diverges as
    E_r -> 0 (it is then zero at E_r = 0 instead of infinite).
    """

    name: str
    bracket: Callable[..., np.ndarray]
    reference: str
    form_factor: str
    interferes: bool
    coefficient: str
    stopped_pion: Callable[..., np.ndarray] | None = None
    pole_at_zero_recoil: bool = False

    def __post_init__(self):
        from ..errors import ParameterError

        if self.form_factor not in ("weak", "charge"):
            raise ParameterError(
                f"structure {self.name!r}: form_factor must be 'weak' or 'charge', got {self.form_factor!r}"
            )


#: The interaction structures, one record each (docs: physics/cross-section). Adding a structure
#: is adding a record here (CONTRIBUTING, "An interaction structure"): the engine, the couplings
#: and the flux averages loop over this table.
STRUCTURES: dict[str, Structure] = {
    s.name: s
    for s in (
        Structure(
            "vector",
            _vector_bracket,
            "Freedman, PRD 9 (1974) 1389, in the normalisation of docs: physics/cross-section",
            "weak",
            True,
            "dq",
            _vector_stopped_pion,
        ),
        Structure(
            "scalar",
            _scalar_bracket,
            "Dent et al., PRD 96 (2017) 095007, arXiv:1701.07443",
            "weak",
            False,
            "scalar",
            _scalar_stopped_pion,
        ),
        Structure(
            "magnetic",
            _magnetic_bracket,
            "Vogel & Engel, PRD 39 (1989) 3378 (without the E_r/(4E^2) term)",
            "charge",
            False,
            "magnetic",
            _magnetic_stopped_pion,
            pole_at_zero_recoil=True,
        ),
    )
}


def get_structure(structure: str) -> Structure:
    """The record of ``structure``; UnknownNameError naming the known ones otherwise."""
    from ..errors import UnknownNameError

    rec = STRUCTURES.get(structure) if isinstance(structure, str) else None
    if rec is None:
        raise UnknownNameError(
            f"unknown interaction structure {structure!r}; allowed: {', '.join(map(repr, STRUCTURES))}"
        )
    return rec


def check_structure(structure: str) -> str:
    """Return ``structure`` if it is a key of :data:`STRUCTURES`, else raise UnknownNameError."""
    return get_structure(structure).name


def incoherent_structures() -> tuple[Structure, ...]:
    """The structures that add to the rate without interfering (all but the vector)."""
    return tuple(s for s in STRUCTURES.values() if not s.interferes)


def coefficient_names() -> tuple[str, ...]:
    """The :class:`~cevnsfit.models.base.Couplings` entries of the incoherent structures."""
    return tuple(s.coefficient for s in incoherent_structures())


def structure_bracket(structure: str, e_mev, er_mev, mass_mev: float) -> np.ndarray:
    """Kinematic bracket b_s(E, E_r) [MeV^-3 per unit coefficient], zero beyond the endpoint.

    dsigma/dE_r = sum_s C_s b_s F_s^2 (module docstring). For ``"vector"`` with C = Q_V^2 this
    is :func:`dsigma_der` without the form factor. An unknown ``structure`` raises
    :class:`~cevnsfit.errors.UnknownNameError` naming the known ones.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> b = structure_bracket("vector", 30.0, 0.01, ar.mass_mev) * qv_sm(18, 22) ** 2
    >>> bool(np.isclose(b * ar.form_factor_sq(0.01), dsigma_der(30.0, 0.01, ar), rtol=1e-14))
    True
    >>> float(structure_bracket("magnetic", 30.0, 0.2, ar.mass_mev))   # beyond the endpoint
    0.0
    """
    rec = get_structure(structure)
    e = np.asarray(e_mev, dtype=float)
    er = np.asarray(er_mev, dtype=float)
    allowed = er <= 2.0 * e * e / (mass_mev + 2.0 * e)
    if rec.pole_at_zero_recoil:
        allowed = allowed & (er > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = rec.bracket(e, er, mass_mev)
    return np.where(allowed, b, 0.0)
