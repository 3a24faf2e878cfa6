"""Data sets, one unit (folder) each, and their registry (docs: datasets; CONTRIBUTING).

>>> from cevnsfit.datasets import get_dataset
>>> get_dataset("cenns10").modes
('paper', 'full')
"""

from .registry import DatasetUnit, check_exposures, dataset_from_spec, get_dataset, register, registry, unregister

__all__ = [
    "DatasetUnit",
    "check_exposures",
    "dataset_from_spec",
    "get_dataset",
    "register",
    "registry",
    "unregister",
]
