"""Other vector mediators: a flavour-universal vector and a vector with free couplings
(the B-L gauge boson, re-exported here, is a preset of the U(1) family, :mod:`cevnsfit.models.u1`).

Both couple at tree level to neutrinos and quarks; Q_V^BSM follows from
:meth:`~cevnsfit.models.base.VectorMediator.delta_qv` (docs: physics/models and physics/conventions, with the
same matching options). Their couplings do not depend on Q^2.
"""

from __future__ import annotations

import numpy as np

from cevnsfit.errors import ParameterError
from cevnsfit.models.base import VectorMediator, check_flavour, check_param, check_q2
from cevnsfit.models.parameters import G_MAX, Parameter
from cevnsfit.models.u1 import MZP_PARAMETER, BminusL

_MASS_RANGE = "finite, > 0 (Z' mass in MeV)"
_COUPLING_RANGE = "finite real coupling"


class UniversalVector(VectorMediator):
    """Vector of mass ``mzp_mev`` [MeV] with one coupling ``g`` to every nu, u and d.

    For a nucleus (2Z+N + Z+2N) g = 3(Z+N) g, so

        Q_V^BSM = 3 (Z + N) g^2 / (c G_F (Q^2 + M^2)).

    ``mzp_mev`` (finite, > 0) and ``g`` (finite) broadcast into ``self.shape``.

    >>> UniversalVector(mzp_mev=[[10.0], [20.0]], g=[1e-4, 2e-4, 3e-4]).shape
    (2, 3)
    """

    NAME = "universal"
    PARAMETERS = (
        MZP_PARAMETER,
        Parameter("g", "", 0.0, -G_MAX, G_MAX, "log-uniform", 1e-6, 1e-2, "universal vector coupling"),
    )

    def __init__(self, mzp_mev=None, g=None):
        if mzp_mev is None or g is None:
            raise ParameterError("universal needs mzp_mev (mediator mass, MeV) and g (coupling)")
        m = check_param("mzp_mev", mzp_mev, positive=True, allowed=_MASS_RANGE)
        gg = check_param("g", g, allowed=_COUPLING_RANGE)
        self._init_params({"mzp_mev": m, "g": gg})
        self.mzp_mev, self.g = self.values["mzp_mev"], self.values["g"]

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


class GeneralVector(VectorMediator):
    """A vector mediator of mass ``mzp_mev`` [MeV] with free couplings (docs: physics/models):
    ``g_nue``, ``g_numu``, ``g_nutau`` to left-handed neutrinos of each flavour and ``g_u``,
    ``g_d`` to quarks (vector), constant in Q^2. For a nucleus

        Q_alpha^BSM = g_nu^alpha [(2Z + N) g_u + (Z + 2N) g_d] / (c G_F (Q^2 + M^2)).

    The presets ``lmu-ltau``, ``b-l`` and ``universal`` are special cases: e.g. the universal
    vector is g_nue = g_numu = g_nutau = g_u = g_d = g (a test checks it point by point). A
    q^2-dependent coupling (such as loop-induced kinetic mixing) is a subclass overriding
    :meth:`quark_couplings` or :meth:`neutrino_coupling`, as :class:`LmuLtau` does.

    >>> m = GeneralVector(mzp_mev=50.0, g_numu=1e-4, g_u=2e-4, g_d=2e-4)
    >>> u = UniversalVector(mzp_mev=50.0, g=2e-4)
    >>> q2 = np.array([0.0, 1e3])
    >>> bool(np.allclose(2 * m.delta_qv("numu", 55, 78, q2), u.delta_qv("numu", 55, 78, q2), rtol=1e-13))
    True
    >>> float(m.delta_qv("nue", 55, 78, q2)[0])
    0.0
    """

    NAME = "vector"
    PARAMETERS = (MZP_PARAMETER,) + tuple(
        Parameter(f"g_{f}", "", 0.0, -G_MAX, G_MAX, "uniform", -1e-3, 1e-3, f"coupling to {f}")
        for f in ("nue", "numu", "nutau", "u", "d")
    )

    def __init__(self, mzp_mev=None, **couplings):
        if mzp_mev is None:
            raise ParameterError("vector needs mzp_mev (mediator mass, MeV)")
        self._init_params({"mzp_mev": mzp_mev, **couplings})
        self.mzp_mev = self.values["mzp_mev"]

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """g_nu of ``flavour``; full shape ``self.shape + q2.shape``."""
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        return self._full(self._expand(self.values[f"g_{flavour}"], q2), q2)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g_u, g_d); full shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        return (
            self._full(self._expand(self.values["g_u"], q2), q2),
            self._full(self._expand(self.values["g_d"], q2), q2),
        )


__all__ = ["BminusL", "GeneralVector", "UniversalVector"]
