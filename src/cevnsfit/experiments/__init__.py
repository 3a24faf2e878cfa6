"""Experiments by name: ``get_experiment("csi2017", mode="paper", **options)``.

Builders are cached per (name, mode, options): building kernels and responses is done once
per process.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import UnknownNameError
from . import ccm, cenns10, csi2017, csi2020_totals, csi2021, xenonnt
from .base import MODES, Axis, Experiment, check_mode

BUILDERS = {
    "csi2017": csi2017.build,
    "cenns10": cenns10.build,
    "csi2020_totals": csi2020_totals.build,
    "ccm": ccm.build,
    "csi2021": csi2021.build,
    "xenonnt": xenonnt.build,
    "xenonnt_s2only": lambda mode="paper", **o: __import__(
        "cevnsfit.datasets.xenonnt_s2only", fromlist=["experiment"]
    ).experiment(mode, **o),  # TEMP unit
}
EXPERIMENTS = tuple(BUILDERS)


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@lru_cache(maxsize=64)
def _cached(name, mode, frozen_options):
    return BUILDERS[name](mode=mode, **dict(frozen_options))


def get_experiment(name: str, mode: str = "paper", **options) -> Experiment:
    """The experiment ``name`` in fidelity ``mode`` ("paper" or "full").

    >>> get_experiment("lhc")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: unknown experiment 'lhc'; known: csi2017, cenns10, csi2020_totals, ccm, csi2021, xenonnt, xenonnt_s2only
    """
    if name not in BUILDERS:
        raise UnknownNameError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    check_mode(mode)
    frozen = tuple(sorted((k, _freeze(v)) for k, v in options.items()))
    return _cached(name, mode, frozen)


__all__ = ["Axis", "EXPERIMENTS", "Experiment", "MODES", "get_experiment"]
