"""CsI 2020 totals (``csi2020_totals``): the unit of this data set (docs: datasets/csi2020-totals).
``dataset.yaml`` declares it; :mod:`.experiment` and :mod:`.likelihood` hold its code.
"""
