"""Data layer: registry of the curated releases (checksums, sources, download) and generic
loaders returning numpy arrays.

``fetch(relpath)`` gives a verified local path. The releases are declared by the data-set
units (``cevnsfit.datasets.<name>/dataset.yaml``) and, for inputs that are not data sets, in
``data/releases/``; see :mod:`cevnsfit.data.registry` for the lookup order and environment
variables (``CEVNSFIT_DATA``, ``CEVNSFIT_CACHE``, ``CEVNSFIT_MIRROR``).
"""

from cevnsfit.data.loaders import LIMIT_CURVES, load_limit_curve, load_yaml
from cevnsfit.data.registry import (
    FILES,
    RELEASES,
    DataFile,
    Release,
    cache_dir,
    fetch,
    source_of,
    url_of,
    verify_all,
)

__all__ = [
    "LIMIT_CURVES",
    "FILES",
    "RELEASES",
    "DataFile",
    "Release",
    "cache_dir",
    "fetch",
    "source_of",
    "url_of",
    "verify_all",
    "load_yaml",
    "load_limit_curve",
]
