"""cevnsfit: test light Z' models against coherent elastic neutrino-nucleus scattering data.

Layers (each imports only from earlier ones): ``constants`` -> ``physics`` -> ``models``
-> ``rates`` -> ``experiments`` -> ``likelihoods`` -> ``inference`` -> ``outputs`` -> ``cli``.
"""

__version__ = "0.1.0"
