"""BSM vector-mediator models (PHYSICS.md section 4) and the muon g-2 band.

Every model is a :class:`VectorMediator`: it holds parameter points (broadcast into
``model.shape``) and returns, via :meth:`VectorMediator.delta_qv`, the shift Q_V^BSM of
the CEvNS weak charge on a grid of momentum transfers, shape ``model.shape + q2.shape``.

>>> import numpy as np
>>> from cevnsfit.models import LmuLtau, StandardModel
>>> LmuLtau(mzp_mev=np.geomspace(3.0, 1e3, 5), gx=1e-3).delta_qv("numu", 55, 78, np.zeros(4)).shape
(5, 4)
>>> float(StandardModel().delta_qv("nue", 18, 22, 10.0))
0.0
"""

from cevnsfit.errors import UnknownNameError
from cevnsfit.models.base import FLAVOURS, MATCHING, StandardModel, VectorMediator
from cevnsfit.models.g2 import PRESETS, G2Discrepancy, delta_amu, g2_band
from cevnsfit.models.lmu_ltau import LmuLtau, kinetic_mixing, lepton_loop_integral
from cevnsfit.models.others import BminusL, UniversalVector

#: Model classes by name (for configuration files and the CLI).
MODELS = {
    "sm": StandardModel,
    "lmu_ltau": LmuLtau,
    "b_minus_l": BminusL,
    "universal": UniversalVector,
}


def model_from_name(name: str, **params) -> VectorMediator:
    """Build a model from its name in :data:`MODELS` and its parameters.

    >>> model_from_name("lmu_ltau", mzp_mev=20.0, gx=5e-4).shape
    ()
    """
    try:
        cls = MODELS[name]
    except (KeyError, TypeError):
        raise UnknownNameError(
            f"unknown model {name!r}; allowed: {', '.join(map(repr, MODELS))}"
        ) from None
    return cls(**params)


__all__ = [
    "FLAVOURS", "MATCHING", "MODELS", "PRESETS",
    "VectorMediator", "StandardModel", "LmuLtau", "BminusL", "UniversalVector",
    "G2Discrepancy", "delta_amu", "g2_band", "kinetic_mixing", "lepton_loop_integral",
    "model_from_name",
]
