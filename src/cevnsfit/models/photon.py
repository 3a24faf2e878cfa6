r"""Photon-exchange structures: the neutrino charge radius and a neutrino millicharge
(docs: physics/models, photon exchange; physics/cross-section).

A neutrino with electromagnetic vertex e F_Q(q^2) gamma^mu (charge form factor
F_Q(q^2) = q_nu + q^2 <r^2>/6 + ..., q^2 = -Q^2 the spacelike four-momentum transfer squared)
scatters on the nuclear charge through photon exchange. The helicity-conserving amplitude has
the Lorentz structure of the SM vector one and interferes with it: it is a Z' of mass 0 with
neutrino coupling e F_Q(-Q^2) and quark couplings e Q_em^q (docs: physics/conventions, matching
factor, with the tree-level c = sqrt 2), which shifts the proton vector coupling,

.. math::

    g_p \;\to\; g_p - \tilde Q_{\alpha\alpha},\qquad
    \tilde Q_{\alpha\beta} = \frac{\sqrt2\,\pi\alpha}{3 G_F}\langle r^2_{\alpha\beta}\rangle
                           - \frac{2\sqrt2\,\pi\alpha}{G_F Q^2}\, q_{\alpha\beta},

so for a nucleus Q_alpha = Z (g_p - Q~_aa) + N g_n: dq_alpha = -Z Q~_aa. The charge-radius
term is that of Cadeddu, Giunti, Kouzakov, Li, Studenikin, Zhang, PRD 98 (2018) 113010,
arXiv:1810.05606 (there written (2/3) m_W^2 s_W^2 <r^2>, equal at tree level since
m_W^2 s_W^2 = pi alpha/(sqrt2 G_F)), with the same sign convention (the SM radii,
<r^2_nue> = -0.83e-32 cm^2, raise g_p). The millicharge term follows from the same vertex
(Q~ = (2 sqrt2 pi alpha/G_F) F_Q(q^2)/q^2 at q^2 = -Q^2), as in Cadeddu et al., PRD 102 (2020)
015030, arXiv:2005.01645 and Atzori Corona et al., JHEP 09 (2022) 164, arXiv:2205.09484: a
positive q_nu on the positive nuclear charge is a repulsive force, destructive against the
(attractive) SM amplitude. Flavour-changing (transition) radii and charges, beta != alpha,
change the final neutrino and add incoherently, C_vector,alpha += Z^2 sum_beta |Q~_ab|^2 (same
references). Antineutrinos: <r^2> and q flip sign together with the SM amplitude, so the
shift is the one of the neutrino of the same flavour (the package's convention).

The charge-radius parameters are in units of 1e-32 cm^2 and the default 0 is the package's
SM, whose g_p = 1/2 - 2 s_W^2 carries no radiative correction: a fitted <r^2> therefore holds
the SM radius as well. Both models use the weak form factor of the experiment for the whole
vector charge, as every vector model of the package does (docs: physics/models). The matching
option (paper/full) of the Z' models does not apply: these are the literature's formulas.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from cevnsfit.constants import ALPHA_EM, CM2_IN_INV_MEV2, G_F
from cevnsfit.errors import ParameterError
from cevnsfit.models.base import Couplings, Model, check_q2
from cevnsfit.models.nsi import PAIRS
from cevnsfit.models.parameters import Parameter

_SHORT = {"nue": "e", "numu": "mu", "nutau": "tau"}

#: Q~ per unit <r^2> [1e-32 cm^2]: sqrt2 pi alpha / (3 G_F) x 1e-32 cm^2 in MeV^-2 (~0.0238).
CHARGE_RADIUS_UNIT = math.sqrt(2.0) * math.pi * ALPHA_EM / (3.0 * G_F) * 1e-32 * CM2_IN_INV_MEV2
#: Q~ Q^2 per unit neutrino charge [e]: 2 sqrt2 pi alpha / G_F [MeV^2] (Q~ = -this x q / Q^2).
MILLICHARGE_UNIT = 2.0 * math.sqrt(2.0) * math.pi * ALPHA_EM / G_F


def _pname(prefix: str, a: str, b: str) -> str:
    return f"{prefix}_{_SHORT[a]}{_SHORT[b]}"


class _PhotonExchange(Model):
    """Shared engine of the photon-exchange models: one parameter per flavour pair
    (alpha <= beta, as the NSI), Q~_ab(Q^2) from :meth:`_qtilde`."""

    STRUCTURES = ("vector",)
    PREFIX = ""

    def __init__(self, **values):
        self._init_params(values)

    @abc.abstractmethod
    def _qtilde(self, value: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Q~(Q^2) of one flavour pair's parameter ``value`` (each model's own formula)."""

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        """dq[alpha] = -Z Q~_aa; fc[alpha] = Z^2 sum_{beta != alpha} Q~_ab^2 (module docstring)."""
        q2 = check_q2(q2_mev2)
        z = float(nucleus.Z)
        dq: dict = {}
        fc: dict = {}
        for a, b in PAIRS:
            value = self.values[_pname(self.PREFIX, a, b)]
            if not np.any(value):
                continue
            zq = self._full(z * self._qtilde(self._expand(value, q2), q2), q2)
            if a == b:
                dq[a] = -zq
            else:
                for f in (a, b):
                    fc[f] = fc[f] + zq * zq if f in fc else zq * zq
        return Couplings(dq=dq, fc=fc)


class ChargeRadius(_PhotonExchange):
    """Neutrino charge radii <r^2>_ab [1e-32 cm^2]: ``r2_ee``, ``r2_mumu``, ``r2_tautau`` and the
    transition radii ``r2_emu``, ``r2_etau``, ``r2_mutau`` (default 0; module docstring).

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> cs = Nucleus.from_table("Cs133", 4.7, "helm")
    >>> c = ChargeRadius(r2_ee=-2.0).couplings(cs, np.array([100.0]))
    >>> k = np.sqrt(2) * np.pi * ALPHA_EM / (3 * G_F) * 1e-32 * CM2_IN_INV_MEV2   # Q~ per 1e-32 cm^2
    >>> bool(np.isclose(c.dq["nue"][0], -55 * k * -2.0, rtol=1e-14)), sorted(c.dq), c.fc
    (True, ['nue'], {})
    """

    NAME = "charge-radius"
    PREFIX = "r2"
    PARAMETERS = tuple(
        Parameter(
            _pname("r2", a, b),
            "1e-32 cm^2",
            0.0,
            -1e4,
            1e4,
            "uniform",
            -100.0,
            100.0,
            f"neutrino charge radius <r^2> of {a}" if a == b else f"transition charge radius <r^2> of {a}-{b}",
        )
        for a, b in PAIRS
    )

    def _qtilde(self, value, q2):
        return CHARGE_RADIUS_UNIT * value


class Millicharge(_PhotonExchange):
    """Neutrino electric charges q_ab [e]: ``q_ee``, ``q_mumu``, ``q_tautau`` and the transition
    charges ``q_emu``, ``q_etau``, ``q_mutau`` (default 0; module docstring). The photon pole
    makes the shift grow as 1/Q^2: Q^2 = 0 with a nonzero charge is refused.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> c = Millicharge(q_mumu=1e-8).couplings(ar, np.array([400.0, 1600.0]))
    >>> d = c.dq["numu"]   # + Z 2 sqrt2 pi alpha q / (G_F Q^2)
    >>> bool(np.isclose(d[0], 4 * d[1], rtol=1e-14)), bool(np.isclose(d[0], 18 * 2 * np.sqrt(2) * np.pi * ALPHA_EM * 1e-8 / (G_F * 400.0), rtol=1e-14))
    (True, True)
    """

    NAME = "millicharge"
    PREFIX = "q"
    PARAMETERS = tuple(
        Parameter(
            _pname("q", a, b),
            "e",
            0.0,
            -1e-2,
            1e-2,
            "uniform",
            -1e-6,
            1e-6,
            f"electric charge of {a}" if a == b else f"transition charge of {a}-{b}",
        )
        for a, b in PAIRS
    )

    def _qtilde(self, value, q2):
        if np.any(q2 <= 0):
            raise ParameterError(
                "q2_mev2 must be > 0 for a neutrino millicharge (the photon propagator 1/Q^2 diverges at Q^2 = 0)"
            )
        return -MILLICHARGE_UNIT * value / q2


__all__ = ["CHARGE_RADIUS_UNIT", "MILLICHARGE_UNIT", "ChargeRadius", "Millicharge"]
