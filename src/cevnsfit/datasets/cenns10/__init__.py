"""COHERENT CENNS-10 liquid argon, Analysis A (``cenns10``): the unit of this data set
(docs: datasets/cenns10). ``dataset.yaml`` declares it; :mod:`.loaders`, :mod:`.experiment`,
:mod:`.likelihood` and :mod:`.validation` hold its code; ``docs.md`` is its page.
"""
