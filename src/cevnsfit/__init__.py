"""cevnsfit: test light Z' models against coherent elastic neutrino-nucleus scattering data.

Layers (each imports only from earlier ones): ``constants`` -> ``physics`` -> ``models``
-> ``rates`` -> ``experiments`` -> ``likelihoods`` -> ``inference`` -> ``outputs`` -> ``cli``.
"""

__version__ = "0.1.0"


def likelihood(*args, **kwargs):
    """Shortcut for :func:`cevnsfit.likelihoods.likelihood`."""
    from .likelihoods import likelihood as _likelihood

    return _likelihood(*args, **kwargs)


def dataset_from_spec(path):
    """Shortcut for :func:`cevnsfit.datasets.registry.dataset_from_spec`: a data set declared in one file."""
    from .datasets.registry import dataset_from_spec as _from_spec

    return _from_spec(path)
