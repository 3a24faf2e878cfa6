"""Likelihoods of CEvNS data for vector-mediator models (docs: datasets; docs: statistics).

>>> import cevnsfit
>>> like = cevnsfit.likelihood(["csi2017", "cenns10"])       # doctest: +SKIP
>>> like.logl(20.0, [1e-4, 5e-4], r=1.0)                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..datasets.registry import names as _dataset_names
from ..errors import UnknownNameError, check_finite_result
from .datasets import DatasetTerm, check_exposures, dataset_term


def __getattr__(name: str):
    if name == "DATASETS":  # the data-set names, from the registry (cevnsfit.datasets)
        return _dataset_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _parse(datasets) -> list[str]:
    """Dataset names from a list or a comma-separated string; at least one, each a string.

    >>> _parse(" csi2017, cenns10 ")
    ['csi2017', 'cenns10']
    >>> _parse(",")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: datasets is empty (got ','); give at least one of: ccm, cenns10, cenns10_totals, coh_ar_750, csi2017, csi2020_totals, csi2021, xenonnt, xenonnt_s2only
    """
    allowed = ", ".join(_dataset_names())
    original = datasets
    if isinstance(datasets, str):
        datasets = [d.strip() for d in datasets.split(",") if d.strip()]
    elif isinstance(datasets, Iterable) and not isinstance(datasets, (bytes, dict)):
        datasets = list(datasets)
    else:
        raise UnknownNameError(
            f"datasets must be dataset names (a list or a comma-separated string) from: {allowed}; got {original!r}"
        )
    if not datasets:
        raise UnknownNameError(f"datasets is empty (got {original!r}); give at least one of: {allowed}")
    bad = [d for d in datasets if not isinstance(d, str) or not d.strip()]
    if bad:
        raise UnknownNameError(f"dataset names must be non-empty strings, got {bad[0]!r}; allowed: {allowed}")
    return [d.strip() for d in datasets]


def _is_projection(dt) -> bool:
    """A data-set term of a projection: its data set's ``kind`` (the unit's declaration), or an
    Asimov term (data = the SM expectation)."""
    from .paper import AsimovPoisson

    for obj in (dt, getattr(dt, "term", None)):
        if obj is not None and getattr(obj, "kind", None) == "projection":
            return True
    if (getattr(dt, "info", None) or {}).get("kind") == "projection":
        return True
    return isinstance(getattr(dt, "term", None), AsimovPoisson)


def projection_mix(like_or_terms) -> tuple[list[str], list[str]]:
    """(projections, measurements) among the terms of a likelihood (or a list of terms)."""
    terms = getattr(like_or_terms, "terms", like_or_terms)
    proj: list[str] = []
    real: list[str] = []
    for dt in terms:
        (proj if _is_projection(dt) else real).append(getattr(dt, "name", "?"))
    return proj, real


def warn_projection_mix(terms) -> None:
    """One warning when projections (Asimov data) are multiplied with measured data: the result
    is a forecast mixed with a measurement (issue 22: a reader must see it)."""
    import warnings

    from ..errors import CevnsfitWarning

    proj, real = projection_mix(terms)
    if proj and real:
        warnings.warn(
            f"{', '.join(proj)} {'is a projection' if len(proj) == 1 else 'are projections'} (Asimov data: the SM "
            f"expectation, not a measurement) combined with measured data ({', '.join(real)}): the result mixes a "
            "forecast with a measurement and is neither",
            CevnsfitWarning,
            stacklevel=3,
        )


class Likelihood:
    """Product of dataset likelihoods. ``logl`` broadcasts over arrays of parameter points and
    returns ln L with the same additive constant for every call of one object."""

    def __init__(self, terms: list[DatasetTerm], mode: str):
        from .declared import merge_shared  # declared terms sharing a nuisance: one term

        self.terms = merge_shared(list(terms))
        warn_projection_mix(self.terms)
        self.mode = mode
        self.names = [t.name for t in self.terms]

    #: Points per chunk when a batch is evaluated: bounds the memory of the (points x bins)
    #: predictions whatever the batch size (docs: performance).
    chunk_points = 4096

    def logl_model(self, model=None) -> np.ndarray:
        """ln L for a model object (``None``: the SM), shape ``model.shape``. Batches larger than
        :attr:`chunk_points` are evaluated chunk by chunk (:meth:`~cevnsfit.models.base.Model.take`).

        Raises :class:`~cevnsfit.errors.ParameterError` if ln L is not finite (valid but
        absurd parameters overflow float64): never a NaN.
        """
        shape = () if model is None else tuple(model.shape)
        n = int(np.prod(shape)) if shape else 1
        if n > self.chunk_points and hasattr(model, "take"):
            flat = np.empty(n)
            for lo in range(0, n, self.chunk_points):
                sl = slice(lo, min(lo + self.chunk_points, n))
                flat[sl] = sum(t.logl_model(model.take(sl)) for t in self.terms)
            out = flat.reshape(shape)
        else:
            out = np.asarray(sum(t.logl_model(model) for t in self.terms), dtype=float)
        return check_finite_result(
            "ln L", out, f"{model!r} lies so far outside the perturbative range that the prediction overflows float64"
        )

    def logl(self, model=None, *point, **kw) -> np.ndarray:
        """ln L of a model: ``logl(model)`` (a model object; ``None``: the SM) is
        :meth:`logl_model`. The reference analysis's shorthand ``logl(mzp_mev, gx, r=1.0,
        paper_sign=False)`` (numbers: L_mu - L_tau at that point, broadcasting) is
        :func:`cevnsfit.inference.reference.logl`."""
        if hasattr(model, "couplings") or (model is None and not point and not kw):
            if point or kw:
                raise TypeError("logl(model) takes one model object; give the point to the model instead")
            return self.logl_model(model)
        from ..inference.reference import logl as reference_logl

        return reference_logl(self, model, *point, **kw)

    def logl_sm(self) -> float:
        return float(self.logl_model(None))

    def components(self, model=None) -> dict[str, np.ndarray]:
        return {t.name: t.logl_model(model) for t in self.terms}

    def __repr__(self) -> str:
        return f"Likelihood({'+'.join(self.names)}, mode={self.mode!r})"


def likelihood(
    datasets: Iterable[str] | str,
    mode: str = "paper",
    matching: str | None = None,
    options: dict | None = None,
    allow_overlap: bool = False,
) -> Likelihood:
    """The combined likelihood of ``datasets`` (names or a comma-separated string).

    ``options`` maps a dataset name to keyword options of its builder (e.g.
    ``{"csi2017": {"pe_window": (16, 30)}, "cenns10_totals": {"normalisation": "computed"}}``).
    ``matching`` overrides the BSM normalisation (default: the mode's). A combination that uses
    one detector exposure twice (``"csi2017,csi2021"``, a name repeated) is refused unless
    ``allow_overlap`` (:func:`~cevnsfit.datasets.check_exposures`). The names and their options
    are those of the data-set registry (``cevnsfit datasets``).
    """
    options = options or {}
    names = _parse(datasets)
    if not names:
        raise UnknownNameError(f"no dataset given; allowed: {', '.join(_dataset_names())} (comma-separated to combine)")
    check_exposures(names, allow_overlap)
    stray = sorted(set(options) - set(names))
    if stray:  # options for a data set that is not combined would be silently ignored
        raise UnknownNameError(
            f"options given for data set(s) {', '.join(map(repr, stray))} that are not in the combination "
            f"{'+'.join(names)}; options may name: {', '.join(names)}"
        )
    terms = [dataset_term(n, mode, matching, **options.get(n, {})) for n in names]
    return Likelihood(terms, mode)


__all__ = ["DATASETS", "Likelihood", "check_exposures", "likelihood"]
