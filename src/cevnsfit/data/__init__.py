"""Data layer: registry of the curated COHERENT releases (checksums, sources, download)
and loaders returning numpy arrays.

``fetch(relpath)`` gives a verified local path; the ``load_*`` functions parse the files.
See :mod:`cevnsfit.data.registry` for the lookup order and environment variables
(``CEVNSFIT_DATA``, ``CEVNSFIT_CACHE``, ``CEVNSFIT_MIRROR``).
"""

from cevnsfit.data.loaders import (
    CENNS10_EDGES,
    LIMIT_CURVES,
    load_cenns10_efficiency,
    load_cenns10_grid,
    load_cenns10_projection,
    load_csi2017_arrival_pdf,
    load_csi2017_histogram,
    load_csi2017_prompt_neutron_pe,
    load_csi2021_efficiency,
    load_csi2021_events,
    load_csi2021_quenching,
    load_csi2021_shape,
    load_limit_curve,
    load_yaml,
)
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
    "CENNS10_EDGES",
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
    "load_csi2017_histogram",
    "load_csi2017_arrival_pdf",
    "load_csi2017_prompt_neutron_pe",
    "load_cenns10_grid",
    "load_cenns10_efficiency",
    "load_cenns10_projection",
    "load_csi2021_events",
    "load_csi2021_shape",
    "load_csi2021_efficiency",
    "load_csi2021_quenching",
    "load_limit_curve",
]
