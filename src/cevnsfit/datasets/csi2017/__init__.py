"""COHERENT CsI[Na] 2017 (``csi2017``): the unit of this data set (docs: datasets/csi2017).

``dataset.yaml`` declares the release, exposure, options, nuisances, published numbers and
validation rows; :mod:`.loaders` reads the release, :mod:`.experiment` builds the detector,
:mod:`.likelihood` couples it to the paper-mode term and applies the options to the declared
full-mode likelihood (evaluated by the generic engine); ``docs.md`` is its page.
"""
