"""Declared parameter spaces of the models (docs: models, parameters).

Every model lists its parameters as :class:`Parameter` records: name, unit, default,
allowed range, default prior (``"log-uniform"`` or ``"uniform"``) and the prior's range.
Values outside the allowed range are refused with a message naming the range; inference
takes parameters of interest by name and draws its default grids and priors from here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ParameterError, UnknownNameError, check_finite

PRIORS = ("log-uniform", "uniform")
#: Largest allowed |coupling| of a mediator: 4 pi, beyond which perturbation theory (and the
#: tree-level cross sections used here) make no sense.
G_MAX = 4.0 * math.pi


@dataclass(frozen=True)
class Parameter:
    """One declared model parameter.

    ``low``/``high``: the allowed range (inclusive; ``low_open`` excludes ``low``).
    ``prior_low``/``prior_high``: the default prior range (and default scan range);
    ``prior``: ``"log-uniform"`` (needs prior_low > 0) or ``"uniform"``.

    >>> p = Parameter("gx", "", 0.0, 0.0, 1.0, "log-uniform", 1e-4, 1e-1, "Z' coupling")
    >>> p.validate(2.0)
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: gx = 2 is outside its allowed range [0, 1] (Z' coupling)
    """

    name: str
    unit: str
    default: float
    low: float
    high: float
    prior: str
    prior_low: float
    prior_high: float
    description: str = ""
    low_open: bool = False

    def __post_init__(self):
        if self.prior not in PRIORS:
            raise UnknownNameError(f"prior of {self.name} must be one of {PRIORS}, got {self.prior!r}")
        if self.prior == "log-uniform" and self.prior_low <= 0:
            raise ParameterError(f"log-uniform prior of {self.name} needs prior_low > 0")

    @property
    def range_text(self) -> str:
        lo = "(" if self.low_open else "["
        return f"{lo}{self.low:g}, {self.high:g}]"

    def validate(self, value) -> np.ndarray:
        """Return ``value`` as a float array if every entry lies in the allowed range."""
        arr = check_finite(self.name, value)
        if arr.ndim == 0:  # fast path of a scalar inside the range
            v = float(arr)
            if (v > self.low if self.low_open else v >= self.low) and v <= self.high:
                return arr
        bad = (arr <= self.low if self.low_open else arr < self.low) | (arr > self.high)
        if np.any(bad):
            v = arr[bad].ravel()[0]
            unit = f" {self.unit}" if self.unit else ""
            msg = f"{self.name} = {v:g}{unit} is outside its allowed range {self.range_text}{unit}"
            raise ParameterError(f"{msg} ({self.description})" if self.description else msg)
        return arr

    @property
    def log_scale(self) -> bool:
        return self.prior == "log-uniform"

    def grid(self, n: int) -> np.ndarray:
        """``n`` points over the prior range, log-spaced for a log-uniform prior."""
        if self.log_scale:
            return np.geomspace(self.prior_low, self.prior_high, n)
        return np.linspace(self.prior_low, self.prior_high, n)

    def to_internal(self, value):
        """The sampling/fit coordinate: log10 of the value for log-uniform priors."""
        return np.log10(value) if self.log_scale else np.asarray(value, dtype=float)

    def from_internal(self, x):
        return 10.0 ** np.asarray(x, dtype=float) if self.log_scale else np.asarray(x, dtype=float)

    @property
    def internal_range(self) -> tuple[float, float]:
        if self.log_scale:
            return math.log10(self.prior_low), math.log10(self.prior_high)
        return self.prior_low, self.prior_high

    def as_dict(self) -> dict:
        return asdict(self)


def lookup(parameters, name: str) -> Parameter:
    """The parameter called ``name`` in ``parameters``; the error lists the allowed names."""
    for p in parameters:
        if p.name == name:
            return p
    raise UnknownNameError(
        f"unknown parameter {name!r}; this model has: {', '.join(p.name for p in parameters) or '(none)'}"
    )


__all__ = ["G_MAX", "PRIORS", "Parameter", "lookup"]
