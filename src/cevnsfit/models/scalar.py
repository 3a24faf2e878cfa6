r"""A light scalar mediator coupling universally to neutrinos and quarks (docs: models, scalar).

The scalar exchange flips the neutrino helicity, so it does not interfere with the SM and
adds its own structure (:mod:`cevnsfit.physics.cross_section`):

.. math::

    \frac{d\sigma}{dE_r} \supset \frac{Q_S^2}{(q^2 + m_S^2)^2}\,\frac{m_N^2 E_r}{4\pi E^2}\,F^2(q),
    \qquad Q_S = g_S^2\,(14 A + 1.1 Z),

with g_S^2 = g_nu^S g_q^S and the nucleon scalar charges of Cerdeno et al., JHEP 05 (2016)
118 (arXiv:1604.01025, Table IV); cross section as in Dent et al., PRD 96 (2017) 095007
(arXiv:1701.07443). The same for every flavour and for antineutrinos; the weak form factor.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import FLAVOURS, Couplings, Model, check_q2
from .parameters import G_MAX, Parameter

#: Nucleon scalar charges per nucleon and per proton (Cerdeno et al. 2016, Table IV).
SCALAR_CHARGE_PER_NUCLEON = 14.0
SCALAR_CHARGE_PER_PROTON = 1.1


class Scalar(Model):
    """Universal scalar of mass ``ms_mev`` [MeV] and coupling ``gs`` (module docstring).

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> cs = Nucleus.from_table("Cs133", 4.7, "helm")
    >>> c = Scalar(ms_mev=10.0, gs=1e-5).couplings(cs, np.array([0.0]))
    >>> qs = 1e-10 * (14 * 133 + 1.1 * 55)
    >>> bool(np.isclose(c.scalar["numu"][0], qs**2 / 10.0**4, rtol=1e-14))
    True
    """

    NAME = "scalar"
    STRUCTURES = ("scalar",)
    PARAMETERS = (
        Parameter("ms_mev", "MeV", 10.0, 0.0, 1e5, "log-uniform", 10**-0.5, 1e3, "scalar mediator mass", low_open=True),
        Parameter("gs", "", 0.0, -G_MAX, G_MAX, "log-uniform", 1e-7, 1e-3, "scalar coupling, g_S^2 = g_nu^S g_q^S"),
    )

    def __init__(self, ms_mev=None, gs=None):
        if ms_mev is None or gs is None:
            raise ParameterError("scalar needs ms_mev (mediator mass, MeV) and gs (coupling)")
        self._init_params({"ms_mev": ms_mev, "gs": gs})

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        """C_scalar = Q_S^2 / (q^2 + m_S^2)^2 for every flavour (matching does not apply)."""
        q2 = check_q2(q2_mev2)
        gs2 = self._expand(self.values["gs"], q2) ** 2
        if not np.any(gs2):
            return Couplings()
        qs = gs2 * (SCALAR_CHARGE_PER_NUCLEON * nucleus.A + SCALAR_CHARGE_PER_PROTON * nucleus.Z)
        c = self._full(qs**2 / (q2 + self._expand(self.values["ms_mev"], q2) ** 2) ** 2, q2)
        return Couplings(scalar={f: c for f in FLAVOURS})
