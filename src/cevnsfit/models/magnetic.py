r"""Neutrino magnetic moments (docs: models, magnetic moment).

A magnetic moment mu_alpha of nu_alpha (in Bohr magnetons) scatters on the nuclear charge
through photon exchange, flips helicity (no interference with the SM) and adds

.. math::

    \frac{d\sigma}{dE_r} \supset \frac{\pi\alpha^2}{m_e^2}\,\mu_\alpha^2 Z^2
    \left(\frac{1}{E_r} - \frac{1}{E}\right) F_p^2(q)

(Vogel & Engel, PRD 39 (1989) 3378; for CEvNS e.g. Miranda et al., JHEP 05 (2020) 130,
arXiv:2003.12050), F_p the charge (proton) form factor. The bracket here leaves out the
E_r/(4E^2) term some authors keep (suppressed by E_r/E ~ 1e-3). Antineutrinos use the
moment of the neutrino of the same flavour (an effective moment per flavour).
"""

from __future__ import annotations

import numpy as np

from .base import FLAVOURS, Couplings, Model, check_q2
from .parameters import Parameter


class MagneticMoment(Model):
    """Effective magnetic moments ``mu_nue``, ``mu_numu``, ``mu_nutau`` [mu_B] (default 0).

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> c = MagneticMoment(mu_numu=1e-9).couplings(ar, np.array([1.0, 2.0]))
    >>> sorted(c.magnetic), float(c.magnetic["numu"][0]) == (1e-9 * 18) ** 2
    (['numu'], True)
    """

    NAME = "magnetic-moment"
    STRUCTURES = ("magnetic",)
    PARAMETERS = tuple(
        Parameter(f"mu_{f}", "mu_B", 0.0, 0.0, 1e-3, "log-uniform", 1e-11, 1e-7, f"effective magnetic moment of {f}")
        for f in FLAVOURS
    )

    def __init__(self, mu_nue=None, mu_numu=None, mu_nutau=None):
        self._init_params({"mu_nue": mu_nue, "mu_numu": mu_numu, "mu_nutau": mu_nutau})

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        """C_magnetic,alpha = mu_alpha^2 Z^2 (constant in Q^2); flavours with mu = 0 are left out."""
        q2 = check_q2(q2_mev2)
        out = {}
        for f in FLAVOURS:
            mu = self.values[f"mu_{f}"]
            if np.any(mu):
                out[f] = self._full(self._expand((mu * nucleus.Z) ** 2, q2), q2)
        return Couplings(magnetic=out)
