"""Template morphs: a release's +-1 sigma shape variations of a template as interpolated nuisances.

A shape nuisance alpha_j moves the nominal template p of its component k between the
release's -1 sigma (p_j^-) and +1 sigma (p_j^+) variants, bin by bin ("vertical" morph):

    p_k(alpha) = p_k + sum_{j on k} [ f_+(alpha_j) D_j^+ + f_-(alpha_j) D_j^- ],
    D_j^+ = p_j^+ - p_k,   D_j^- = p_k - p_j^-,

with two interpolation rules (pyhf's ``histosys`` interpolation codes, Cranmer et al.,
CERN-OPEN-2012-016, section 4.1):

* ``"linear"`` (code 0): f_+ = max(alpha, 0), f_- = min(alpha, 0). Piecewise linear, with a
  kink at alpha = 0 when D^+ != D^-.
* ``"quadratic"`` (code 2): for |alpha| <= 1 the parabola through the three templates,
  f_+ = (alpha + alpha^2)/2, f_- = (alpha - alpha^2)/2; beyond, the tangent at +-1
  (f_+ = (3 alpha - 1)/2, f_- = (1 - alpha)/2 for alpha > 1; f_+ = -(alpha + 1)/2,
  f_- = (3 alpha + 1)/2 for alpha < -1). Continuously differentiable, which a gradient
  minimiser profiling the morph at every parameter point prefers.

Both rules give p^+ at alpha = +1, p^- at alpha = -1 and p at alpha = 0, and coincide when
the variation is symmetric (D^+ = D^-). All templates are taken at unit sum, so a morph
changes the shape and never the component total (normalisations are separate nuisances).

Single-sided release variations (one "+1 sigma" file only) are mirrored:
p^- = 2 p - p^+, clipped at 0 and renormalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, UnknownNameError

INTERPOLATIONS = ("linear", "quadratic")


def unit_shape(template) -> np.ndarray:
    """A non-negative template normalised to unit sum, flattened.

    >>> unit_shape([[1.0, 3.0]])
    array([0.25, 0.75])
    """
    t = np.asarray(template, dtype=float).ravel()
    total = t.sum()
    if not np.isfinite(total) or total <= 0:
        raise ParameterError(f"template must have a positive finite sum, got {total}")
    return t / total


def mirrored_shape(nominal, plus) -> np.ndarray:
    """-1 sigma shape of a single-sided variation: 2 p_0 - p_+, clipped at 0, unit sum.

    >>> mirrored_shape([0.5, 0.5], [0.6, 0.4])
    array([0.4, 0.6])
    """
    p0, pp = np.asarray(nominal, dtype=float), np.asarray(plus, dtype=float)
    return unit_shape(np.clip(2.0 * p0 - pp, 0.0, None))


def interpolation_weights(alphas, interpolation: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """(f_+, f_-) of the module docstring, entry-wise; alpha = +-1 gives (1, 0) and (0, -1).

    >>> [tuple(map(float, w)) for w in interpolation_weights(np.array([-1.0, 0.5, 2.0]), "quadratic")]
    [(0.0, 0.375, 2.5), (-1.0, 0.125, -0.5)]
    """
    a = np.asarray(alphas, dtype=float)
    if interpolation == "linear":
        return np.maximum(a, 0.0), np.minimum(a, 0.0)
    if interpolation == "quadratic":
        fp = np.where(a > 1.0, 1.5 * a - 0.5, np.where(a < -1.0, -0.5 * (a + 1.0), 0.5 * (a + a * a)))
        fm = np.where(a > 1.0, 0.5 * (1.0 - a), np.where(a < -1.0, 1.5 * a + 0.5, 0.5 * (a - a * a)))
        return fp, fm
    raise UnknownNameError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")


def interpolation_slopes(alphas, interpolation: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """(df_+/dalpha, df_-/dalpha); for ``"linear"`` the right derivative at alpha = 0 is taken
    for f_+ and the left one for f_- (the side the minimiser sees for alpha >= 0)."""
    a = np.asarray(alphas, dtype=float)
    if interpolation == "linear":
        pos = a >= 0.0
        return pos.astype(float), (~pos).astype(float)
    if interpolation == "quadratic":
        dp = np.where(a > 1.0, 1.5, np.where(a < -1.0, -0.5, 0.5 + a))
        dm = np.where(a > 1.0, -0.5, np.where(a < -1.0, 1.5, 0.5 - a))
        return dp, dm
    raise UnknownNameError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")


@dataclass(frozen=True)
class TemplateMorph:
    """Shape nuisances ``names`` acting on components ``component_of`` (indices into the
    caller's component list) through the differences ``delta_plus``/``delta_minus``, each
    (n_nuisances, n_bins); see the module docstring."""

    names: tuple
    component_of: np.ndarray
    delta_plus: np.ndarray
    delta_minus: np.ndarray
    interpolation: str = "linear"

    def __post_init__(self):
        interpolation_weights(0.0, self.interpolation)  # validates the name

    def __len__(self) -> int:
        return len(self.names)

    def shift(self, alphas, scale=None) -> np.ndarray:
        """sum_j s_j [f_+(alpha_j) D_j^+ + f_-(alpha_j) D_j^-], shape (n_bins,); ``scale`` s_j
        (default 1) multiplies each nuisance's term, e.g. the total of its component."""
        fp, fm = interpolation_weights(alphas, self.interpolation)
        if scale is not None:
            fp, fm = fp * scale, fm * scale
        return fp @ self.delta_plus + fm @ self.delta_minus

    def jacobian(self, alphas) -> np.ndarray:
        """d shift / d alpha_j per bin, shape (n_nuisances, n_bins) (unit scale)."""
        dp, dm = interpolation_slopes(alphas, self.interpolation)
        return dp[:, None] * self.delta_plus + dm[:, None] * self.delta_minus

    def relative_to(self, nominal) -> TemplateMorph:
        """The same morph divided bin by bin by ``nominal`` (0 where nominal = 0): turns an
        additive shift of a unit template p into the multiplicative factor p(alpha)/p - 1."""
        p = np.asarray(nominal, dtype=float).ravel()
        inv = np.divide(1.0, p, out=np.zeros_like(p), where=p > 0)
        return TemplateMorph(
            self.names, self.component_of, self.delta_plus * inv, self.delta_minus * inv, self.interpolation
        )


__all__ = [
    "INTERPOLATIONS",
    "TemplateMorph",
    "interpolation_slopes",
    "interpolation_weights",
    "mirrored_shape",
    "unit_shape",
]
