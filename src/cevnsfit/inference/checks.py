"""Checks shared by the statistical methods and the command line (docs: cli, what is refused
and what warns): declared defaults of parameters nobody gave, a projection mixed with real
data, unconstrained parameters of interest, toy counts too small for a p-value.

Warnings are :class:`CevnsfitWarning` (a :class:`UserWarning`); the command line prints each
as one ``warning: ...`` line on stderr.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

#: A POI whose profile -2 ln L varies by less than this across its declared prior range is
#: *unconstrained*: the data do not even give a 68.3 % (Delta chi2 = 1) interval inside the range,
#: so no MLE and no significance are quoted for it.
UNCONSTRAINED_DELTA = 1.0

#: A toy p-value needs at least this many toys ...
MIN_TOYS = 100
#: ... and at least this many toys with t >= t_obs (relative error <= 1/sqrt(10) ~ 32 %).
MIN_EXCEED = 10


from ..errors import CevnsfitWarning  # noqa: E402  (one module of typed errors and warnings)


def warn(message: str) -> None:
    warnings.warn(message, CevnsfitWarning, stacklevel=3)


def required_parameters(model_name: str) -> list[str]:
    """Parameters a model cannot be built without: none if the model builds with no arguments,
    else the declared parameters whose constructor default is ``None`` (e.g. lmu-ltau's
    ``mzp_mev`` and ``gx``)."""
    from ..errors import CevnsfitError
    from ..models import model_class

    out = []
    for part in model_name.split("+"):
        cls = model_class(part.strip())
        try:
            cls()
            continue  # every parameter has a usable default
        except (CevnsfitError, TypeError):
            pass
        try:
            sig = inspect.signature(cls.__init__)
        except (TypeError, ValueError):
            continue
        names = set(cls.parameter_names())
        out += [
            n
            for n, p in sig.parameters.items()
            if n in names and (p.default is None or p.default is inspect.Parameter.empty)
        ]
    return out


def declared_defaults(model_name: str, poi, given: dict) -> dict:
    """{name: declared default} for every parameter the model needs that is neither a POI nor
    in ``given`` (docs: models, the catalogue's ``default`` column)."""
    from ..models import parameters_of
    from ..models.parameters import lookup

    pars = parameters_of(model_name)
    return {n: lookup(pars, n).default for n in required_parameters(model_name) if n not in poi and n not in given}


def describe_defaults(model_name: str, filled: dict) -> str:
    from ..models import parameters_of
    from ..models.parameters import lookup

    pars = parameters_of(model_name)
    parts = []
    for n, v in filled.items():
        unit = lookup(pars, n).unit
        parts.append(f"{n} = {v:g}{' ' + unit if unit else ''}")
    return ", ".join(parts)


def with_declared_defaults(problem):
    """``problem`` (a Problem or ProblemSpec) with every needed, not given, non-POI parameter at
    its declared default, warning which; the same object when nothing is missing."""
    model = getattr(problem, "model_spec", None) or getattr(problem, "model", None)
    if not isinstance(model, str):  # a model object: its instance values or class defaults are declared
        return problem
    filled = declared_defaults(model, tuple(problem.poi) + tuple(problem.profile), problem.fixed)
    if not filled:
        return problem
    warn(
        f"not given: {', '.join(filled)}; using the declared default{'s' if len(filled) > 1 else ''} "
        f"{describe_defaults(model, filled)} (`cevnsfit models`)"
    )
    fixed = {**problem.fixed, **filled}
    from .problem import Problem

    if isinstance(problem, Problem):
        return Problem(problem.like, model, problem.poi, fixed=fixed, profile=problem.profile, options=problem.options)
    import dataclasses

    return dataclasses.replace(problem, fixed=fixed)


from ..likelihoods import projection_mix  # noqa: E402  (the detection lives with the combination)


def warn_projection_mix(like) -> None:
    """Warn when a likelihood multiplies a projection (Asimov data) with measured data (the
    warning :class:`~cevnsfit.likelihoods.Likelihood` gives when it is built)."""
    from ..likelihoods import warn_projection_mix as _warn

    _warn(like.terms)


def profile_deltas(axes, logl) -> list[float]:
    """Delta(-2 ln L) of each axis's profile (max of ln L over the other axes) across the grid."""
    logl = np.asarray(logl, dtype=float)
    out = []
    for k in range(logl.ndim):
        other = tuple(i for i in range(logl.ndim) if i != k)
        prof = np.max(logl, axis=other) if other else logl
        prof = prof[np.isfinite(prof)]
        out.append(float(2.0 * (prof.max() - prof.min())) if prof.size else 0.0)
    return out


def toy_count_note(n_toys: int, n_exceed: int) -> str | None:
    """Why a toy p-value is not meaningful yet, or None: fewer than :data:`MIN_TOYS` toys or
    fewer than :data:`MIN_EXCEED` toys at or beyond t_obs (then p ~ n_exceed/n_toys has a
    relative error above ~30 %; about 10/p toys are needed)."""
    if n_toys >= MIN_TOYS and n_exceed >= MIN_EXCEED:
        return None
    p = n_exceed / n_toys
    need = max(MIN_TOYS, int(np.ceil(MIN_EXCEED / p)) if p > 0 else 10 * n_toys)
    bound = f"p = {p:.3g}" if n_exceed else f"only p < {1.0 / n_toys:.2g} (no toy reached t_obs)"
    return (
        f"toy p-value from {n_toys} toys with {n_exceed} at or beyond t_obs: {bound} is not meaningful "
        f"(criterion: >= {MIN_TOYS} toys and >= {MIN_EXCEED} beyond t_obs); run about {need} toys"
    )


__all__ = [
    "MIN_EXCEED",
    "MIN_TOYS",
    "UNCONSTRAINED_DELTA",
    "CevnsfitWarning",
    "declared_defaults",
    "profile_deltas",
    "projection_mix",
    "required_parameters",
    "toy_count_note",
    "warn_projection_mix",
    "with_declared_defaults",
]
