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
from cevnsfit.models.custom import ChargedVector, custom_vector
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


#: Entry-point group through which installed packages add models (docs: models, adding a model).
ENTRY_POINT_GROUP = "cevnsfit.models"
_ENTRY_POINT_MODELS: dict[str, type[Model]] | None = None


def _entry_points() -> list:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def load_entry_points(eps=None) -> dict[str, type[Model]]:
    """Models that installed packages declare in the ``cevnsfit.models`` entry-point group
    (``name = "package.module:ModelClass"``), loaded once per process (``eps``: entry points to
    load instead, e.g. in a test). An entry point that fails to import, or that is not a
    :class:`~cevnsfit.models.base.Model` subclass with declared parameters, is skipped with a
    warning naming its package; the others keep working. Built-in names win over entry points."""
    import warnings

    global _ENTRY_POINT_MODELS
    if eps is None and _ENTRY_POINT_MODELS is not None:
        return _ENTRY_POINT_MODELS
    found: dict[str, type[Model]] = {}
    for ep in _entry_points() if eps is None else eps:
        dist = getattr(ep, "dist", None)
        package = getattr(dist, "name", None) or ep.value.split(":")[0].split(".")[0]
        try:
            cls = ep.load()
            check_model_class(cls)
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the catalogue
            warnings.warn(
                f"model entry point {ep.name!r} of package {package!r} ({ep.value}) failed to load and is "
                f"skipped: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        if ep.name in MODELS:
            warnings.warn(
                f"model entry point {ep.name!r} of package {package!r} clashes with a built-in model; ignored",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        found[ep.name] = cls
    if eps is None:
        _ENTRY_POINT_MODELS = found
    return found


def registry() -> dict[str, type[Model]]:
    """Every model by name: the built-in catalogue (:data:`MODELS`) and the entry points."""
    return {**MODELS, **load_entry_points()}


def check_model_class(cls) -> type[Model]:
    """``cls`` if it is a :class:`Model` subclass that declares its parameters; else a clear error."""
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise UnknownNameError(
            f"a model must be a catalogue name, a subclass of cevnsfit.models.Model or an instance of one; got {cls!r}"
        )
    if cls is not StandardModel and not tuple(getattr(cls, "PARAMETERS", ())):
        raise ParameterError(
            f"model class {cls.__qualname__} declares no parameters: set PARAMETERS to a tuple of "
            "cevnsfit.models.Parameter records (name, unit, default, range, prior)"
        )
    bad = [p for p in cls.PARAMETERS if not isinstance(p, Parameter)]
    if bad:
        raise ParameterError(f"model class {cls.__qualname__}: PARAMETERS must hold Parameter records, got {bad[0]!r}")
    return cls


def model_class(name) -> type[Model]:
    """The class of catalogue model ``name`` (or of an entry point); a Model class is returned
    as it is and an instance gives its class. The error lists the allowed names."""
    if isinstance(name, Model):
        return check_model_class(type(name))
    if isinstance(name, type):
        return check_model_class(name)
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if isinstance(key, str) and key in MODELS:
        return MODELS[key]
    plugins = load_entry_points() if isinstance(key, str) else {}
    if key in plugins:
        return plugins[key]
    raise UnknownNameError(
        f"unknown model {name!r}; allowed: {', '.join([*MODELS, *plugins])} (combine with '+', e.g. "
        "'lmu-ltau+neutron-radius'), or pass a Model subclass or instance"
    )


def _parts(model) -> list:
    """The parts of a model given as a name ('+' combines), a Model class, a Model instance (one
    parameter point) or a list of those: a list of (label, class, base values, base options)."""
    if isinstance(model, (list, tuple)) and model:
        return [part for m in model for part in _parts(m)]
    if isinstance(model, str):
        if not model.strip():
            raise UnknownNameError(f"model must be a name, one of: {', '.join(registry())}; got {model!r}")
        out: list[tuple] = []
        for name in (p.strip() for p in model.split("+")):
            cls = model_class(name)
            out.append((name, cls, {}, {}))
        return out
    if isinstance(model, Model):
        cls = model_class(model)
        if tuple(model.shape) != ():
            raise ParameterError(
                f"a model instance given as the model must be one parameter point; {model!r} has shape {model.shape}"
            )
        values = {k: float(v) for k, v in model.values.items()}
        return [(model_label(model), cls, values, dict(model._options()))]
    if isinstance(model, type):
        return [(model_label(model), model_class(model), {}, {})]
    raise UnknownNameError(
        f"model must be a name ({', '.join(registry())}), a Model subclass or instance; got {model!r}"
    )


def _option_names(label: str, cls) -> set:
    """Constructor options that are not parameters: declared in :data:`OPTIONS` for catalogue
    names, else the keyword-only arguments of the class's ``__init__``."""
    key = ALIASES.get(label, label)
    if key in OPTIONS:
        return set(OPTIONS[key])
    if MODELS.get(key) is cls:
        return set()
    import inspect

    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return set()
    return {p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY} - set(cls.parameter_names())


def model_label(model) -> str:
    """The name a model is reported under (results, manifests): a catalogue name as given; a
    catalogue (or entry-point) class by its name; another class by its own ``NAME`` if no
    catalogue model uses it (e.g. a :func:`custom_vector` class), else by ``module.qualname``;
    an instance by its class's label and its parameter values; a list by its parts joined
    with '+'."""
    if isinstance(model, str):
        return model
    if isinstance(model, (list, tuple)):
        return "+".join(model_label(m) for m in model)
    if isinstance(model, Model):
        vals = ", ".join(f"{k}={float(v):.12g}" for k, v in model.values.items())
        opts = "".join(f", {k}={v!r}" for k, v in sorted(model._options().items()))
        return f"{model_label(type(model))}({vals}{opts})"
    if isinstance(model, type):
        name = getattr(model, "NAME", "")
        known = registry()
        if name and known.get(name) is model:
            return name
        for key, cls in known.items():
            if cls is model:
                return key
        if name and name not in known and "." not in name:
            return name  # e.g. a custom_vector class, by the name it was given
        return f"{model.__module__}.{model.__qualname__}"
    return repr(model)


def parameters_of(model) -> tuple[Parameter, ...]:
    """Declared parameters of ``model`` (a name or '+' combination, a Model class or instance)."""
    return tuple(p for _, cls, _, _ in _parts(model) for p in cls.PARAMETERS)


def model_from_name(name, **params) -> Model:
    """Build a model from its catalogue name (or a '+' combination), a Model class or a Model
    instance (its values are the defaults here), and keyword parameters.

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
    remaining = dict(params)
    assigned = []
    allowed: list[str] = []
    for label, cls, base, opts in parts:
        names = set(cls.parameter_names()) | _option_names(label, cls) | set(opts)
        allowed += [*cls.parameter_names(), *sorted(names - set(cls.parameter_names()))]
        assigned.append({**base, **opts, **{k: remaining.pop(k) for k in list(remaining) if k in names}})
    if remaining:
        raise UnknownNameError(
            f"unknown parameter {sorted(remaining)[0]!r} for model {model_label(name)!r}; "
            f"allowed: {', '.join(allowed) or '(none)'}"
        )
    models: list[Model] = []
    for (label, cls, _, _), mine in zip(parts, assigned):
        if cls is StandardModel:
            models.append(StandardModel())
            continue
        try:
            models.append(cls(**mine))
        except TypeError as err:
            raise ParameterError(f"model {label!r}: {err}") from None
    return models[0] if len(models) == 1 else Combined(models)


def catalogue() -> list[dict]:
    """The model catalogue: a list of ``{"name", "description", "structures", "parameters"}``."""
    out = []
    for name, cls in registry().items():
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
    "ENTRY_POINT_GROUP",
    "ChargedVector",
    "catalogue",
    "check_model_class",
    "custom_vector",
    "load_entry_points",
    "model_class",
    "model_label",
    "model_from_name",
    "parameters_of",
    "registry",
]
