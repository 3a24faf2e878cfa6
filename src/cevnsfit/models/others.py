"""Other vector mediators: the B-L gauge boson and a flavour-universal vector.

Both couple at tree level to neutrinos and quarks; Q_V^BSM follows from
:meth:`~cevnsfit.models.base.VectorMediator.delta_qv` (PHYSICS.md section 4, with the
same matching options). Their couplings do not depend on Q^2.
"""

from __future__ import annotations

import numpy as np

from cevnsfit.constants import E_CHARGE, Q_EM_D, Q_EM_U
from cevnsfit.models.base import VectorMediator, broadcast_params, check_flavour, check_param, check_q2

_MASS_RANGE = "finite, > 0 (Z' mass in MeV)"
_COUPLING_RANGE = "finite real coupling"


class BminusL(VectorMediator):
    """Gauged U(1)_{B-L} boson of mass ``mzp_mev`` [MeV] and coupling ``g``.

    Charges: every lepton -1, so all neutrino flavours couple with -g; every quark
    +1/3, so g_u = g_d = g/3. For a nucleus, (2Z+N + Z+2N) g/3 = (Z+N) g and

        Q_V^BSM = -(Z + N) g^2 / (c G_F (Q^2 + M^2))   (< 0 like Q_V^SM: constructive).

    Kinetic mixing with the photon is neglected by default (it is loop-suppressed against
    the tree-level quark charge, and model dependent); a constant mixing can be supplied
    as ``eps``, which adds eps e Q_em^q to g_q.

    ``mzp_mev`` (finite, > 0), ``g`` and ``eps`` (finite) broadcast into ``self.shape``.

    >>> from cevnsfit.constants import G_F
    >>> m = BminusL(mzp_mev=50.0, g=1e-4)
    >>> q2 = np.array([0.0, 1e3])
    >>> expect = -(55 + 78) * 1e-8 / (2 * np.sqrt(2) * G_F * (q2 + 50.0**2))
    >>> bool(np.allclose(m.delta_qv("numu", 55, 78, q2), expect, rtol=1e-12, atol=0))
    True
    """

    def __init__(self, mzp_mev, g, *, eps=0.0):
        m = check_param("mzp_mev", mzp_mev, positive=True, allowed=_MASS_RANGE)
        gg = check_param("g", g, allowed=_COUPLING_RANGE)
        ee = check_param("eps", eps, allowed="finite kinetic mixing")
        self.shape, p = broadcast_params(mzp_mev=m, g=gg, eps=ee)
        self.mzp_mev, self.g, self.eps = p["mzp_mev"], p["g"], p["eps"]

    def __repr__(self) -> str:
        return f"BminusL(shape={self.shape})"

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """-g for every flavour; full shape ``self.shape + q2.shape``."""
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        return self._full(-self._expand(self.g, q2), q2)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g/3 + eps e Q_em^u, g/3 + eps e Q_em^d); full shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        g3 = self._expand(self.g, q2) / 3.0
        eps_e = self._expand(self.eps, q2) * E_CHARGE
        return self._full(g3 + eps_e * Q_EM_U, q2), self._full(g3 + eps_e * Q_EM_D, q2)


class UniversalVector(VectorMediator):
    """Vector of mass ``mzp_mev`` [MeV] with one coupling ``g`` to every nu, u and d.

    For a nucleus (2Z+N + Z+2N) g = 3(Z+N) g, so

        Q_V^BSM = 3 (Z + N) g^2 / (c G_F (Q^2 + M^2)).

    ``mzp_mev`` (finite, > 0) and ``g`` (finite) broadcast into ``self.shape``.

    >>> UniversalVector(mzp_mev=[[10.0], [20.0]], g=[1e-4, 2e-4, 3e-4]).shape
    (2, 3)
    """

    def __init__(self, mzp_mev, g):
        m = check_param("mzp_mev", mzp_mev, positive=True, allowed=_MASS_RANGE)
        gg = check_param("g", g, allowed=_COUPLING_RANGE)
        self.shape, p = broadcast_params(mzp_mev=m, g=gg)
        self.mzp_mev, self.g = p["mzp_mev"], p["g"]

    def __repr__(self) -> str:
        return f"UniversalVector(shape={self.shape})"

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """g for every flavour; full shape ``self.shape + q2.shape``."""
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        return self._full(self._expand(self.g, q2), q2)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g, g); full shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        g = self._full(self._expand(self.g, q2), q2)
        return g, g.copy()
