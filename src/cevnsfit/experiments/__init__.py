"""Experiments by name: ``get_experiment("csi2017", mode="paper", **options)``.

Each experiment is declared by its data set's unit (:mod:`cevnsfit.datasets`; the unit's
``dataset.yaml`` names its builder). Experiments are cached per (name, mode, options):
building kernels and responses is done once per process.
"""

from __future__ import annotations

from functools import lru_cache

from ..datasets.registry import experiment_names, get_dataset
from ..errors import UnknownNameError
from .base import MODES, Axis, Experiment, check_mode


def __getattr__(name: str):
    if name == "EXPERIMENTS":  # names of the data sets with an experiment of their own
        return experiment_names()
    if name == "BUILDERS":  # name -> uncached builder(mode=..., **options)
        return {n: get_dataset(n).build_experiment for n in experiment_names()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@lru_cache(maxsize=64)
def _cached(name, mode, frozen_options):
    return get_dataset(name).build_experiment(mode=mode, **dict(frozen_options))


def get_experiment(name: str, mode: str = "paper", **options) -> Experiment:
    """The experiment ``name`` in fidelity ``mode`` ("paper" or "full").

    >>> get_experiment("lhc")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: unknown experiment 'lhc'; known: ccm, cenns10, coh_ar_750, csi2017, csi2020_totals, csi2021, xenonnt, xenonnt_s2only
    """
    known = experiment_names()
    if name not in known:
        of = getattr(get_dataset(name), "experiment_of", None) if name in _all() else None
        if of is not None:  # a data set on another one's experiment
            return get_experiment(of, mode, **options)
        raise UnknownNameError(f"unknown experiment {name!r}; known: {', '.join(known)}")
    check_mode(mode)
    frozen = tuple(sorted((k, _freeze(v)) for k, v in options.items()))
    return _cached(name, mode, frozen)


def _all() -> tuple[str, ...]:
    from ..datasets.registry import names

    return names()


__all__ = ["Axis", "EXPERIMENTS", "Experiment", "MODES", "get_experiment"]
