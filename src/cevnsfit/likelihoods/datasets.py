"""The term protocol: a data set's experiment coupled to a likelihood term (docs: statistics).

A dataset term has ``logl_model(model) -> ln L`` (shape ``model.shape``) and
``logl_prediction(pred)``. The terms are built by the data sets' units
(:mod:`cevnsfit.datasets`, each unit's ``dataset.yaml`` names its builders); the combination
code does not change when a data set is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..datasets.registry import check_exposures, get_dataset


@dataclass
class DatasetTerm:
    """One dataset's contribution to ln L: the term protocol (docs: statistics, likelihood terms).

    Every term states its expected counts for a model (:meth:`expected`), its ln L
    (:meth:`logl`, :meth:`logl_prediction`), its nuisance parameters with priors and their
    treatment in paper and full mode (:meth:`nuisances`), the detector exposures it uses
    (:attr:`exposures`), and draws its own pseudo-data (:meth:`pseudo_data`). Inference uses
    these and nothing else.
    """

    name: str
    experiment: Any
    term: Any
    transform: Callable | None = None  # prediction -> what the term consumes
    matching: str = "paper"
    info: dict = field(default_factory=dict)
    #: the unit's declared exposure identities and nuisances (set by DatasetUnit.term)
    exposure_ids: tuple = ()
    nuisance_decl: tuple = ()

    def prediction(self, model=None) -> np.ndarray:
        pred = self.experiment.predict(model, matching=self.matching)
        return self.transform(pred) if self.transform is not None else pred

    def logl_prediction(self, pred) -> np.ndarray:
        return self.term.logl(pred)

    def logl_model(self, model=None) -> np.ndarray:
        return self.term.logl(self.prediction(model))

    # -- the term protocol, by its names --
    def expected(self, model=None) -> np.ndarray:
        """Expected signal counts per bin for ``model`` (None: the SM), shape ``model.shape + bins``."""
        return self.prediction(model)

    def logl(self, model=None) -> np.ndarray:
        """ln L of the data for ``model``, shape ``model.shape``."""
        return self.logl_model(model)

    @property
    def exposures(self) -> tuple:
        """Detector exposures the dataset uses (its unit's ``exposures``)."""
        return tuple(self.exposure_ids) or (self.name,)

    def nuisances(self) -> list[dict]:
        """Nuisance parameters as the unit declares them (``nuisances:`` of its ``dataset.yaml``):
        name, machine-readable ``constraint``, ``prior`` (the constraint in one line) and the
        treatment in this mode (``paper``: marginalised; ``full``: profiled)."""
        if self.nuisance_decl:
            return [dict(n) for n in self.nuisance_decl]
        return [dict(n) for n in getattr(self.term, "NUISANCES", ())]

    def pseudo_data(self, rng: np.random.Generator, expected=None) -> DatasetTerm:
        """A copy of this dataset holding toy data drawn at ``expected`` (default: the SM), with
        the nuisances drawn from their constraints (each term's ``pseudo_data``)."""
        from ..errors import ParameterError

        if not hasattr(self.term, "pseudo_data"):
            raise ParameterError(
                f"dataset {self.name!r} ({type(self.term).__name__}) cannot draw pseudo-data; "
                "toys are defined for the paper-mode terms"
            )
        exp = self.prediction(None) if expected is None else expected
        return replace(self, term=self.term.pseudo_data(exp, rng))


def split_options(options: dict, keys) -> tuple[dict, dict]:
    """(options named in ``keys``, the rest): a builder's own options and its experiment's."""
    options = dict(options)
    return {k: options.pop(k) for k in list(options) if k in keys}, options


def dataset_term(name: str, mode: str = "paper", matching: str | None = None, **options) -> DatasetTerm:
    """The term of data set ``name`` in ``mode`` (:meth:`cevnsfit.datasets.DatasetUnit.term`)."""
    from ..errors import UnknownNameError

    if mode not in ("paper", "full"):
        raise UnknownNameError(f"mode must be 'paper' or 'full', got {mode!r}")
    return get_dataset(name).term(mode, matching, **options)


__all__ = ["DatasetTerm", "check_exposures", "dataset_term", "split_options"]
