"""The reference analysis's inference problem (Banerjee, Dutta, Roy, arXiv:2103.10196).

The one place in :mod:`cevnsfit.inference` that names a model: the reproduction's
convenience wrappers (``fit_gx``, ``exclusion_map``, ``posterior_1d``, ``toy_calibration``,
...) build their :class:`~cevnsfit.inference.problem.Problem` here, for the L_mu - L_tau
model with M_Z' and r fixed or estimated; the methods themselves are model-independent.
"""

from __future__ import annotations

from .problem import Problem

#: Catalogue name of the reference analysis's model.
REFERENCE_MODEL = "lmu-ltau"


def reference_problem(like, poi=("gx",), mzp_mev=None, r: float = 1.0, paper_sign: bool = False) -> Problem:
    """L_mu - L_tau with ``poi`` estimated, M_Z' (unless a POI) and r fixed.

    >>> from cevnsfit.likelihoods import Likelihood
    >>> reference_problem(Likelihood([], "paper"), mzp_mev=20.0).describe()["fixed"]
    {'r': 1.0, 'mzp_mev': 20.0}
    """
    fixed = {"r": float(r)}
    if "mzp_mev" not in poi:
        fixed["mzp_mev"] = float(mzp_mev)
    return Problem(like, REFERENCE_MODEL, poi=poi, fixed=fixed, options={"paper_sign": True} if paper_sign else None)


__all__ = ["REFERENCE_MODEL", "reference_problem"]
