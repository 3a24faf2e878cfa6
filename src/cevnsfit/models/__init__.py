"""New-physics models (docs: models): each declares its parameters and returns the
coefficients of the interaction structures; the rate engine never names a model.

>>> import numpy as np
>>> from cevnsfit.models import LmuLtau, StandardModel
>>> LmuLtau(mzp_mev=np.geomspace(3.0, 1e3, 5), gx=1e-3).delta_qv("numu", 55, 78, np.zeros(4)).shape
(5, 4)
>>> float(StandardModel().delta_qv("nue", 18, 22, 10.0))
0.0
>>> model_from_name("lmu-ltau+neutron-radius", mzp_mev=20.0, gx=5e-4, rn_cs=5.0).parameter_names()[:3]
('mzp_mev', 'gx', 'r')
"""

from __future__ import annotations

from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.models.base import FLAVOURS, MATCHING, Couplings, Model, StandardModel, VectorMediator
from cevnsfit.models.g2 import PRESETS, G2Discrepancy, delta_amu, g2_band
from cevnsfit.models.lmu_ltau import LmuLtau, kinetic_mixing, lepton_loop_integral
from cevnsfit.models.magnetic import MagneticMoment
from cevnsfit.models.nsi import NSI
from cevnsfit.models.nuclear import Combined, NeutronRadius, WeakMixing
from cevnsfit.models.others import BminusL, GeneralVector, UniversalVector
from cevnsfit.models.parameters import Parameter
from cevnsfit.models.photon import ChargeRadius, Millicharge
from cevnsfit.models.scalar import Scalar
from cevnsfit.models.u1 import U1_PRESETS, GaugedU1, U1Charges, u1_class

#: Model classes by catalogue name (CLI ``--model``).
MODELS: dict[str, type[Model]] = {
    "sm": StandardModel,
    "lmu-ltau": LmuLtau,
    "b-l": BminusL,
    "universal": UniversalVector,
    "vector": GeneralVector,
    "scalar": Scalar,
    "magnetic-moment": MagneticMoment,
    "nsi": NSI,
    "weak-mixing": WeakMixing,
    "neutron-radius": NeutronRadius,
    "charge-radius": ChargeRadius,
    "millicharge": Millicharge,
    **{k: v for k, v in U1_PRESETS.items() if k not in ("lmu-ltau", "b-l")},  # the U(1) family (models/u1.py)
}
#: Older spellings accepted by :func:`model_from_name`.
ALIASES = {
    "lmu_ltau": "lmu-ltau",
    "b_minus_l": "b-l",
    "universal_vector": "universal",
    "magnetic": "magnetic-moment",
    "weak_mixing": "weak-mixing",
    "neutron_radius": "neutron-radius",
}
#: Constructor options that are not parameters (no range, not estimable).
OPTIONS = {"lmu-ltau": ("paper_sign",)}


def model_class(name: str) -> type[Model]:
    """The class of catalogue model ``name``; the error lists the allowed names."""
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    try:
        return MODELS[key]
    except (KeyError, TypeError):
        raise UnknownNameError(
            f"unknown model {name!r}; allowed: {', '.join(MODELS)} (combine with '+', e.g. 'lmu-ltau+neutron-radius')"
        ) from None


def parameters_of(name: str) -> tuple[Parameter, ...]:
    """Declared parameters of ``name`` (a catalogue name or a '+' combination)."""
    return tuple(p for part in _parts(name) for p in model_class(part).PARAMETERS)


def _parts(name) -> list[str]:
    if not isinstance(name, str) or not name.strip():
        raise UnknownNameError(f"model must be a name, one of: {', '.join(MODELS)}; got {name!r}")
    return [p.strip() for p in name.split("+")]


def model_from_name(name: str, **params) -> Model:
    """Build a model from its catalogue name (or a '+' combination) and keyword parameters.

    Every keyword must be a declared parameter of one of the parts (or a constructor option
    such as ``paper_sign``); missing ones take their declared default.

    >>> model_from_name("lmu_ltau", mzp_mev=20.0, gx=5e-4).shape
    ()
    >>> model_from_name("scalar", ms_mev=5.0, mass=1.0)
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: unknown parameter 'mass' for model 'scalar'; allowed: ms_mev, gs
    """
    parts = _parts(name)
    classes = [model_class(p) for p in parts]
    remaining = dict(params)
    assigned = []
    for part, cls in zip(parts, classes):
        names = set(cls.parameter_names()) | set(OPTIONS.get(ALIASES.get(part, part), ()))
        assigned.append({k: remaining.pop(k) for k in list(remaining) if k in names})
    if remaining:
        allowed = [n for c in classes for n in c.parameter_names()] + [
            o for p in parts for o in OPTIONS.get(ALIASES.get(p, p), ())
        ]
        raise UnknownNameError(
            f"unknown parameter {sorted(remaining)[0]!r} for model {name!r}; allowed: {', '.join(allowed) or '(none)'}"
        )
    models: list[Model] = []
    for part, cls, mine in zip(parts, classes, assigned):
        if cls is StandardModel:
            models.append(StandardModel())
            continue
        try:
            models.append(cls(**mine))
        except TypeError as err:
            raise ParameterError(f"model {part!r}: {err}") from None
    return models[0] if len(models) == 1 else Combined(models)


def catalogue() -> list[dict]:
    """The model catalogue: a list of ``{"name", "description", "structures", "parameters"}``."""
    out = []
    for name, cls in MODELS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append(
            {
                "name": name,
                "description": doc,
                "structures": list(cls.STRUCTURES),
                "options": list(OPTIONS.get(name, ())),
                "parameters": [p.as_dict() for p in cls.PARAMETERS],
            }
        )
    return out


__all__ = [
    "ALIASES",
    "FLAVOURS",
    "MATCHING",
    "MODELS",
    "PRESETS",
    "Model",
    "Couplings",
    "Parameter",
    "VectorMediator",
    "StandardModel",
    "LmuLtau",
    "BminusL",
    "UniversalVector",
    "GeneralVector",
    "Scalar",
    "MagneticMoment",
    "NSI",
    "WeakMixing",
    "NeutronRadius",
    "Combined",
    "ChargeRadius",
    "Millicharge",
    "GaugedU1",
    "U1Charges",
    "U1_PRESETS",
    "u1_class",
    "G2Discrepancy",
    "delta_amu",
    "g2_band",
    "kinetic_mixing",
    "lepton_loop_integral",
    "catalogue",
    "model_class",
    "model_from_name",
    "parameters_of",
]
