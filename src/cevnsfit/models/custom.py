"""Vector mediators given by their couplings (docs: models, a model from a notebook).

:func:`custom_vector` makes a new model class for a vector boson of mass ``mzp_mev`` whose
couplings to each neutrino flavour and to the u and d quarks are fixed multiples ("charges")
of one coupling ``g``: g_nu^alpha = q_alpha g, g_q = q_q g, constant in Q^2. With
:meth:`~cevnsfit.models.base.VectorMediator.delta_qv`,

    Q_alpha^BSM = q_alpha [(2Z + N) q_u + (Z + 2N) q_d] g^2 / (c G_F (Q^2 + M^2)),

so e.g. charges nue = numu = nutau = -1, u = d = 1/3 are the B-L boson without kinetic
mixing (a test checks it against :class:`~cevnsfit.models.others.BminusL` point by point).

The class is an ordinary :class:`~cevnsfit.models.base.Model` subclass: it goes wherever a
model name goes (:class:`cevnsfit.Analysis`, :class:`~cevnsfit.inference.problem.Problem`),
and pickles by value to Dask workers (its methods live on :class:`ChargedVector`, importable
everywhere; the generated class itself only holds data).

>>> import numpy as np
>>> from cevnsfit.models import BminusL
>>> BL = custom_vector("my-b-l", nue=-1, numu=-1, nutau=-1, u=1 / 3, d=1 / 3)
>>> q2 = np.array([0.0, 1e3])
>>> a = BL(mzp_mev=50.0, g=1e-4).delta_qv("numu", 55, 78, q2)
>>> bool(np.allclose(a, BminusL(mzp_mev=50.0, g=1e-4).delta_qv("numu", 55, 78, q2), rtol=1e-14, atol=0))
True
"""

from __future__ import annotations

import numpy as np

from cevnsfit.errors import ParameterError
from cevnsfit.models.base import FLAVOURS, VectorMediator, check_flavour, check_q2
from cevnsfit.models.lmu_ltau import MZP_PARAMETER
from cevnsfit.models.parameters import G_MAX, Parameter

#: The fields a charge can be given for.
CHARGE_FIELDS = (*FLAVOURS, "u", "d")


class ChargedVector(VectorMediator):
    """A vector mediator with couplings ``CHARGES[field] * g`` (set by :func:`custom_vector`)."""

    CHARGES: dict = {}
    PARAMETERS = (
        MZP_PARAMETER,
        Parameter("g", "", 0.0, -G_MAX, G_MAX, "log-uniform", 1e-6, 1e-2, "vector coupling"),
    )

    def __init__(self, mzp_mev=None, g=None):
        if not self.CHARGES:
            raise ParameterError("ChargedVector has no charges: make a model class with custom_vector(name, ...)")
        self._init_params({"mzp_mev": mzp_mev, "g": g})
        self.mzp_mev, self.g = self.values["mzp_mev"], self.values["g"]

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """q_flavour g; full shape ``self.shape + q2.shape``."""
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        return self._full(self.CHARGES[flavour] * self._expand(self.g, q2), q2)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(q_u g, q_d g); full shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        g = self._expand(self.g, q2)
        return self._full(self.CHARGES["u"] * g, q2), self._full(self.CHARGES["d"] * g, q2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape})"


def custom_vector(
    name: str,
    *,
    nue: float = 0.0,
    numu: float = 0.0,
    nutau: float = 0.0,
    u: float = 0.0,
    d: float = 0.0,
    g_prior: tuple[float, float] = (1e-6, 1e-2),
    description: str = "",
) -> type[ChargedVector]:
    """A new model class: a vector boson of mass ``mzp_mev`` [MeV] and coupling ``g`` with
    charges ``nue``, ``numu``, ``nutau`` (left-handed neutrinos) and ``u``, ``d`` (quarks).

    ``g_prior``: the log-uniform prior range of ``g`` (also the default scan range); the mass
    takes the catalogue's declaration (log-uniform over 10^0.5 .. 10^3 MeV). Charges must be
    finite, with at least one neutrino and one quark charge non-zero (else there is no
    CEvNS signal)."""
    charges = {"nue": nue, "numu": numu, "nutau": nutau, "u": u, "d": d}
    for k, v in charges.items():
        if not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ParameterError(f"charge {k} of {name!r} must be a finite number, got {v!r}")
    if not any(charges[f] for f in FLAVOURS) or not (charges["u"] or charges["d"]):
        raise ParameterError(
            f"{name!r} needs a non-zero charge for at least one neutrino flavour ({', '.join(FLAVOURS)}) "
            "and one quark (u, d): otherwise it does not change CEvNS"
        )
    lo, hi = (float(v) for v in g_prior)
    if not 0.0 < lo < hi <= G_MAX:
        raise ParameterError(f"g_prior must satisfy 0 < low < high <= 4 pi, got {g_prior!r}")
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"a model needs a non-empty name, got {name!r}")
    coupling = Parameter("g", "", 0.0, -G_MAX, G_MAX, "log-uniform", lo, hi, description or f"{name} coupling")
    doc = f"Vector mediator {name!r} with charges " + ", ".join(f"{k}={float(v):g}" for k, v in charges.items())
    return type(
        name.replace("-", "_").replace(" ", "_"),
        (ChargedVector,),
        {
            "NAME": name,
            "CHARGES": {k: float(v) for k, v in charges.items()},
            "PARAMETERS": (MZP_PARAMETER, coupling),
            "__doc__": doc,
            "__module__": __name__,
        },
    )


__all__ = ["CHARGE_FIELDS", "ChargedVector", "custom_vector"]
