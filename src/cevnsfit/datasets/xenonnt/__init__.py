"""XENONnT solar 8B, SR0-SR2 (``xenonnt``): the unit of this data set (docs: datasets/xenonnt).
``dataset.yaml`` declares it; :mod:`.loaders`, :mod:`.experiment`, :mod:`.likelihood`,
:mod:`.analysis` (validation numbers, the 8B measurement) and :mod:`.validation` hold its code.
"""
