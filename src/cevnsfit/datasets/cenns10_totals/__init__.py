"""The argon total (``cenns10_totals``): the unit of this data set (docs: datasets/csi2020-totals).
``dataset.yaml`` declares it (its experiment is the ``cenns10`` unit's); :mod:`.likelihood`
holds its code.
"""
