"""COHERENT CsI[Na] 2017 (``csi2017``): the unit of this data set (docs: datasets/csi2017).

``dataset.yaml`` declares the release, exposure, options, nuisances, published numbers and
validation rows; :mod:`.loaders` reads the release, :mod:`.experiment` builds the detector,
:mod:`.likelihood` couples it to the paper- and full-mode terms, :mod:`.full` holds the full
mode's backend :class:`~.full.CsiFullLikelihood`; ``docs.md`` is its page.
"""
