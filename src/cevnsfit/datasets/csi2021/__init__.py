"""COHERENT CsI[Na] full data set, 2021 release (``csi2021``): the unit of this data set
(docs: datasets/csi2021). ``dataset.yaml`` declares it; :mod:`.loaders`, :mod:`.experiment`,
:mod:`.likelihood` (its paper- and full-mode likelihoods) and :mod:`.validation` hold its code.
"""
