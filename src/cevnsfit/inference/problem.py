"""An inference problem: a likelihood, a model, its fixed parameters and the parameters of
interest, by name (docs: statistics, inference over any model).

Every statistical method of :mod:`cevnsfit.inference` (fits, scans, exclusions, posteriors,
toys) takes a :class:`Problem`; none names a particular model. Parameters of interest (POIs)
are estimated, parameters listed in ``profile`` are maximised over at every POI point (with
the one minimiser, :func:`cevnsfit.likelihoods.profile.minimise`), all others are fixed at
the value given in ``fixed`` or at their declared default. The null hypothesis of a
significance test is the model with every POI at its declared default (for couplings and
moments: 0, the SM; for s_W^2: its SM value).

Coordinates: methods work in *internal* coordinates, log10 of a parameter whose declared
prior is log-uniform and the value itself otherwise (:meth:`Parameter.to_internal`); the
default box is the declared prior range.

>>> import numpy as np
>>> from cevnsfit.likelihoods import Likelihood
>>> p = Problem(Likelihood([], "paper"), "lmu-ltau", poi=["gx"], fixed={"mzp_mev": 20.0})
>>> p.poi, p.internal_names, p.internal_box
(('gx',), ('log10_gx',), ((-4.0, -1.0),))
>>> Problem(Likelihood([], "paper"), "lmu-ltau", poi=["mass"])
Traceback (most recent call last):
...
cevnsfit.errors.UnknownNameError: unknown parameter 'mass'; this model has: mzp_mev, gx, r
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError, UnknownNameError
from ..models import model_from_name, model_label, parameters_of
from ..models.parameters import Parameter, lookup


class Problem:
    """``like``: a :class:`~cevnsfit.likelihoods.Likelihood`; ``model``: a catalogue name (or a
    '+' combination), a :class:`~cevnsfit.models.base.Model` subclass (e.g. one defined in a
    notebook), an instance of one (one parameter point: its values are the defaults) or a list
    of these (combined); ``poi``: names of the parameters of interest (1 or 2 for most methods);
    ``fixed``: values of other parameters; ``profile``: parameters maximised over at each point;
    ``options``: model constructor options that are not parameters (e.g. ``paper_sign``).

    ``model_name`` is the model's label in results (:func:`cevnsfit.models.model_label`: the
    catalogue name, or ``module.Class`` for a class defined elsewhere); ``model_spec`` is the
    model as given."""

    def __init__(
        self,
        like,
        model,
        poi: Sequence[str],
        fixed: dict | None = None,
        profile: Sequence[str] = (),
        options: dict | None = None,
    ):
        self.like = like
        self.parameters: tuple[Parameter, ...] = parameters_of(model)
        self.model_spec = model
        self.model_name = model_label(model)
        if isinstance(poi, str):
            poi = [poi]
        self.poi = tuple(poi)
        if not self.poi:
            raise ParameterError(
                "at least one parameter of interest (poi) is needed; "
                f"{self.model_name} has: {', '.join(p.name for p in self.parameters)}"
            )
        for n in self.poi:
            if not isinstance(n, str):
                raise UnknownNameError(
                    f"a parameter of interest is named by a string, got {n!r}; "
                    f"{self.model_name} has: {', '.join(p.name for p in self.parameters)}"
                )
        self.profile = tuple(profile)
        self.fixed = dict(fixed or {})
        self.options = dict(options or {})
        for n in self.poi + self.profile + tuple(self.fixed):
            lookup(self.parameters, n)
        if len(set(self.poi)) != len(self.poi):
            raise ParameterError(f"parameters of interest repeat: {self.poi}")
        clash = (set(self.poi) | set(self.profile)) & set(self.fixed)
        if clash or set(self.poi) & set(self.profile):
            raise ParameterError(
                f"parameter(s) {sorted(clash or set(self.poi) & set(self.profile))} cannot be "
                "both estimated/profiled and fixed"
            )
        for k, v in self.fixed.items():
            lookup(self.parameters, k).validate(v)

    # -- declarations ---------------------------------------------------------------------
    @property
    def poi_parameters(self) -> tuple[Parameter, ...]:
        return tuple(lookup(self.parameters, n) for n in self.poi)

    @property
    def internal_names(self) -> tuple[str, ...]:
        return tuple(("log10_" + p.name) if p.log_scale else p.name for p in self.poi_parameters)

    @property
    def internal_box(self) -> tuple[tuple[float, float], ...]:
        return tuple(p.internal_range for p in self.poi_parameters)

    def describe(self) -> dict:
        return {
            "model": self.model_name,
            "poi": list(self.poi),
            "fixed": self.fixed,
            "profile": list(self.profile),
            "options": self.options,
            "datasets": list(getattr(self.like, "names", [])),
            "mode": getattr(self.like, "mode", None),
        }

    # -- evaluation -----------------------------------------------------------------------
    def model(self, **values):
        """The model at POI (and profiled) ``values`` (arrays broadcast), the rest fixed."""
        return model_from_name(self.model_spec, **self.fixed, **self.options, **values)

    def null_values(self) -> dict:
        """POIs at their declared defaults: the null hypothesis of significance tests."""
        return {p.name: p.default for p in self.poi_parameters}

    def logl(self, *values) -> np.ndarray:
        """ln L at POI values (natural units, in the order of ``poi``), broadcasting; profiled
        parameters are maximised at every point."""
        if len(values) != len(self.poi):
            raise ParameterError(f"expected {len(self.poi)} value(s) for {self.poi}, got {len(values)}")
        kw = dict(zip(self.poi, values))
        if not self.profile:
            return np.asarray(self.like.logl_model(self.model(**kw)), dtype=float)
        return self._profiled(kw)

    def logl_internal(self, x) -> np.ndarray:
        """ln L at internal coordinates ``x`` (shape (..., n_poi))."""
        x = np.asarray(x, dtype=float)
        vals = [p.from_internal(x[..., i]) for i, p in enumerate(self.poi_parameters)]
        return self.logl(*vals)

    def logl_null(self) -> float:
        """ln L of the null hypothesis (profiled parameters maximised)."""
        return float(self.logl(*[np.asarray(v) for v in self.null_values().values()]))

    def _profiled(self, kw: dict) -> np.ndarray:
        from ..likelihoods.profile import minimise

        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in kw.values()])
        shape = arrays[0].shape
        pars = [lookup(self.parameters, n) for n in self.profile]
        lo = [p.internal_range[0] for p in pars]
        hi = [p.internal_range[1] for p in pars]
        out = np.empty(shape)
        for idx in np.ndindex(shape):
            point = {k: a[idx] for k, a in zip(kw, arrays)}

            def f(y, point=point):
                vals = {p.name: p.from_internal(v) for p, v in zip(pars, y)}
                return -2.0 * float(self.like.logl_model(self.model(**point, **vals)))

            start = [
                p.to_internal(p.default) if p.low < p.default or not p.log_scale else 0.5 * (a + b)
                for p, a, b in zip(pars, lo, hi)
            ]
            start = [min(max(s, a), b) for s, a, b in zip(start, lo, hi)]
            m = minimise(
                f,
                start,
                names=list(self.profile),
                limits=list(zip(lo, hi)),
                errors=[0.1 * (b - a) for a, b in zip(lo, hi)],
            )
            out[idx] = -0.5 * m.fval
        return out


@dataclass(frozen=True)
class ProblemSpec:
    """A :class:`Problem` by names, for sending to workers: each process builds the likelihood
    once (:func:`cevnsfit.inference.scan.cached_likelihood`) and keeps it."""

    datasets: tuple
    mode: str = "paper"
    options: dict = field(default_factory=dict)
    model: object = "sm"
    poi: tuple = ()
    fixed: dict = field(default_factory=dict)
    profile: tuple = ()
    model_options: dict = field(default_factory=dict)
    #: Data sets registered at run time in the sending process (``--dataset-spec``,
    #: :func:`cevnsfit.datasets.registry.register`), filled in on creation and registered by the
    #: worker that builds the problem.
    units: tuple = ()

    def __post_init__(self):
        if not self.units:
            from ..datasets.registry import runtime_units

            object.__setattr__(self, "units", runtime_units(self.datasets))

    def build(self) -> Problem:
        from ..datasets.registry import ensure_registered
        from .scan import cached_likelihood

        ensure_registered(self.units)
        like = cached_likelihood(list(self.datasets), self.mode, self.options)
        return Problem(like, self.model, self.poi, self.fixed, self.profile, self.model_options)

    def describe(self) -> dict:
        return {
            "datasets": list(self.datasets),
            "mode": self.mode,
            "options": self.options,
            "model": model_label(self.model),
            "poi": list(self.poi),
            "fixed": self.fixed,
            "profile": list(self.profile),
            "model_options": self.model_options,
        }

    def memo_key(self) -> str:
        """Its description, plus for a model object a digest of the pickled object: a worker
        that kept a problem for a class a notebook has since redefined builds it afresh."""
        import json

        key = json.dumps(self.describe(), sort_keys=True, default=str)
        if not isinstance(self.model, str):
            key += "|" + _model_digest(self.model)
        return key

    # a model object travels by value (cloudpickle), whatever pickler the scheduler picks
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if not isinstance(self.model, str):
            state["model"] = _ShippedModel(ship_model(self.model))
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("model"), _ShippedModel):
            state = {**state, "model": unship_model(state["model"].payload)}
        self.__dict__.update(state)


@dataclass(frozen=True)
class _ShippedModel:
    payload: bytes


def _outside_package(obj) -> list[str]:
    """Modules (other than cevnsfit's and ``__main__``) defining the classes of a model object."""
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    mods = []
    for m in items:
        cls = m if isinstance(m, type) else type(m)
        name = getattr(cls, "__module__", "") or ""
        if name != "__main__" and name.split(".")[0] != "cevnsfit":
            mods.append(name)
    return mods


def ship_model(model) -> bytes:
    """``model`` (a class, instance or list) pickled *by value* with cloudpickle: a class
    defined in a notebook, a script or a test module reaches Dask workers that cannot import
    its module. (Classes of ``__main__`` and classes made at run time, e.g. by
    :func:`cevnsfit.models.custom_vector`, are pickled by value anyway; a class of another
    importable module is registered with ``cloudpickle.register_pickle_by_value`` for this one
    call.)"""
    import sys

    import cloudpickle

    registered = []
    try:
        for name in _outside_package(model):
            module = sys.modules.get(name)
            if module is not None and name not in cloudpickle.list_registry_pickle_by_value():
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
        return cloudpickle.dumps(model)
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def unship_model(payload: bytes):
    import pickle

    return pickle.loads(payload)


def _model_digest(model) -> str:
    import hashlib

    try:
        return hashlib.sha256(ship_model(model)).hexdigest()[:16]
    except Exception:  # noqa: BLE001 - an unpicklable model is still usable in-process
        return f"id{id(model):x}"


def memo_in_process(cache: dict, problem_or_spec, tag: str, build: Callable, keep: int = 4) -> tuple:
    """(problem, ``build(problem)``) for a :class:`Problem` or :class:`ProblemSpec`, kept in
    ``cache`` for this process: a worker then reuses the problem, its likelihood and what
    ``build`` made (e.g. predictions on a construction grid) over all the chunks it runs. A spec
    is keyed by its description plus ``tag``, a Problem by identity; at most ``keep`` entries."""
    is_spec = isinstance(problem_or_spec, ProblemSpec)
    who = problem_or_spec.memo_key() if is_spec else f"id{id(problem_or_spec)}"
    key = f"{who}|{tag}"
    hit = cache.get(key)
    if hit is not None and (is_spec or hit[0] is problem_or_spec):
        return hit[1], hit[2]
    problem = problem_or_spec.build() if is_spec else problem_or_spec
    while len(cache) >= keep:
        cache.pop(next(iter(cache)))
    value = build(problem)
    cache[key] = (None if is_spec else problem_or_spec, problem, value)
    return problem, value


__all__ = ["Problem", "ProblemSpec", "memo_in_process", "ship_model", "unship_model"]
