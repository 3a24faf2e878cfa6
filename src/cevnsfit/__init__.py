"""cevnsfit: test light Z' models against coherent elastic neutrino-nucleus scattering data.

Layers (each imports only from earlier ones): ``constants`` -> ``physics`` -> ``models``
-> ``rates`` -> ``experiments`` -> ``likelihoods`` -> ``inference`` -> ``outputs`` -> ``cli``.

The front door is :class:`Analysis` (docs: getting started, the library)::

    import cevnsfit
    a = cevnsfit.Analysis("csi2017,cenns10", "lmu-ltau", poi="gx", fixed={"mzp_mev": 20.0})
    a.fit()

Every name below is imported on first use, so ``import cevnsfit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public names and the modules they come from (imported lazily, PEP 562).
_LAZY = {
    "Analysis": "cevnsfit.analysis",
    "LogDensity": "cevnsfit.inference.density",
    "Problem": "cevnsfit.inference.problem",
    "Likelihood": "cevnsfit.likelihoods",
    "Model": "cevnsfit.models",
    "VectorMediator": "cevnsfit.models",
    "Parameter": "cevnsfit.models",
    "custom_vector": "cevnsfit.models.custom",
    "model_from_name": "cevnsfit.models",
    "errors": "cevnsfit.errors",
    "models": "cevnsfit.models",
    "results": "cevnsfit.inference.results",
}

__all__ = [
    "Analysis",
    "LogDensity",
    "Likelihood",
    "Model",
    "Parameter",
    "Problem",
    "VectorMediator",
    "__version__",
    "custom_vector",
    "errors",
    "likelihood",
    "model_from_name",
    "models",
    "results",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from . import errors, models
    from .analysis import Analysis
    from .inference import results
    from .inference.density import LogDensity
    from .inference.problem import Problem
    from .likelihoods import Likelihood
    from .models import Model, Parameter, VectorMediator, model_from_name
    from .models.custom import custom_vector


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'cevnsfit' has no attribute {name!r}")
    module = importlib.import_module(target)
    value = module if target.rsplit(".", 1)[-1] == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def likelihood(*args, **kwargs):
    """Shortcut for :func:`cevnsfit.likelihoods.likelihood`."""
    from .likelihoods import likelihood as _likelihood

    return _likelihood(*args, **kwargs)


def dataset_from_spec(path):
    """Shortcut for :func:`cevnsfit.datasets.registry.dataset_from_spec`: a data set declared in one file."""
    from .datasets.registry import dataset_from_spec as _from_spec

    return _from_spec(path)
