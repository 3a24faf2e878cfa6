r"""Muon g-2: one-loop Z' contribution and the g_x band favoured by a discrepancy.

docs: physics/g2. A vector coupling g_x to the muon gives

.. math::

    \Delta a_\mu = \frac{g_x^2}{4\pi^2} \int_0^1
        \frac{m_\mu^2 x^2 (1-x)}{x^2 m_\mu^2 + (1-x) M_{Z'}^2}\,dx,

which tends to g_x^2/(8 pi^2) for M_Z' -> 0 and to g_x^2 m_mu^2/(12 pi^2 M_Z'^2) for
M_Z' >> m_mu. The favoured band is a statement about the input discrepancy, so the
discrepancy is an input: a named preset of :data:`PRESETS` or a (central, sigma) pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cevnsfit.constants import M_MU
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.models.base import check_param


@dataclass(frozen=True)
class G2Discrepancy:
    """A measured Delta a_mu = a_mu(exp) - a_mu(SM): central value, 1 sigma, source."""

    name: str
    central: float
    sigma: float
    source: str


#: Named Delta a_mu discrepancies.
PRESETS = {
    "2021": G2Discrepancy(
        name="2021",
        central=251e-11,
        sigma=59e-11,
        source=(
            "Muon g-2 Collaboration, PRL 126, 141801 (2021), against the 2020 Theory "
            "Initiative white paper, Phys. Rept. 887 (2020) 1; used by arXiv:2103.10196"
        ),
    ),
    "2025": G2Discrepancy(
        name="2025",
        central=38e-11,
        sigma=63e-11,
        source=(
            "final Fermilab world average, arXiv:2506.03069, against the 2025 Theory "
            "Initiative white paper, arXiv:2505.21476"
        ),
    ),
}

# Fixed Gauss-Legendre rule on [-1, 1]. The integral is split at x = 1/2 and each half is
# mapped so that its near singularity moves to infinity (see _loop_function); the mapped
# integrands are analytic in a strip of half-width >= ~pi/2, and 64 nodes reach ~1e-15
# relative accuracy for 1e-3 MeV <= M_Z' <= 1e6 MeV (tests/test_g2.py checks 1e-10).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


def _loop_function(rho: np.ndarray) -> np.ndarray:
    r"""F(rho) = Int_0^1 x^2 (1-x) / (x^2 + (1-x) rho) dx, rho = M^2/m_mu^2 > 0.

    Small rho: the denominator nearly vanishes at x ~ +-i sqrt(rho); on [0, 1/2] use
    x = sqrt(rho) sinh(s). Large rho: a root sits at x ~ 1 + 1/rho; on [1/2, 1] use
    1 - x = (e^s - 1)/rho. Each maps the pole to Re s -> -inf or Im s = +-pi.
    """
    rho = rho[..., None]
    # [0, 1/2]: x = gam sinh(s), s in [0, asinh(1/(2 gam))]
    gam = np.sqrt(rho)
    s_max = np.arcsinh(0.5 / gam)
    s = 0.5 * s_max * (_GL_X + 1.0)
    x = gam * np.sinh(s)
    f = x * x * (1.0 - x) / (x * x + (1.0 - x) * rho) * gam * np.cosh(s)
    low = 0.5 * s_max[..., 0] * (f @ _GL_W)
    # [1/2, 1]: 1 - x = y = delta (e^s - 1), delta = 1/rho, s in [0, ln(1 + rho/2)]
    delta = 1.0 / rho
    s_max = np.log1p(0.5 * rho)
    s = 0.5 * s_max * (_GL_X + 1.0)
    y = delta * np.expm1(s)
    x = 1.0 - y
    f = x * x * y / (x * x + y * rho) * delta * np.exp(s)
    high = 0.5 * s_max[..., 0] * (f @ _GL_W)
    return low + high


def delta_amu(mzp_mev, gx) -> np.ndarray:
    r"""One-loop Z' contribution to the muon anomalous magnetic moment (docs: physics/g2).

    Delta a_mu = (g_x^2/(4 pi^2)) Int_0^1 m_mu^2 x^2 (1-x)/(x^2 m_mu^2 + (1-x) M^2) dx,
    evaluated with a fixed mapped Gauss-Legendre rule (no adaptive quadrature).

    ``mzp_mev`` (finite, > 0) [MeV] and ``gx`` (finite) broadcast together; the result
    has the broadcast shape.

    >>> round(float(delta_amu(20.0, 5.56e-4)) * 1e9, 3)
    2.51
    >>> delta_amu([10.0, 100.0], [[1e-4], [1e-3]]).shape
    (2, 2)
    """
    m = check_param("mzp_mev", mzp_mev, positive=True, allowed="finite, > 0 (Z' mass in MeV)")
    g = check_param("gx", gx, allowed="finite real coupling")
    m, g = np.broadcast_arrays(m, g)
    rho = np.atleast_1d((m / M_MU) ** 2)
    f = _loop_function(rho).reshape(m.shape)
    return g**2 / (4.0 * math.pi**2) * f


def resolve_preset(preset) -> G2Discrepancy:
    """Turn a preset name, a (central, sigma) pair or a G2Discrepancy into a G2Discrepancy.

    >>> resolve_preset("2021").central
    2.51e-09
    >>> resolve_preset((1e-9, 2e-10)).name
    'custom'
    """
    if isinstance(preset, G2Discrepancy):
        central, sigma = preset.central, preset.sigma
        result = preset
    elif isinstance(preset, str):
        if preset not in PRESETS:
            raise UnknownNameError(
                f"unknown g-2 preset {preset!r}; allowed: {', '.join(map(repr, PRESETS))} or a (central, sigma) pair"
            )
        return PRESETS[preset]
    else:
        try:
            central, sigma = preset
        except (TypeError, ValueError):
            raise ParameterError(
                f"preset must be one of {', '.join(map(repr, PRESETS))} or a (central, sigma) pair, got {preset!r}"
            ) from None
        result = None
    central = float(check_param("central", central, allowed="finite Delta a_mu"))
    sigma = float(check_param("sigma", sigma, positive=True, allowed="finite, > 0"))
    return result or G2Discrepancy("custom", central, sigma, "user input")


def g2_band(mzp_mev, preset="2021", nsigma: float = 2.0) -> dict[str, np.ndarray]:
    r"""Couplings g_x for which Delta a_mu hits a discrepancy and its +-nsigma edges.

    Since Delta a_mu = g_x^2 f(M), g_x = sqrt(target / f(M)) for each target:

    - ``gx_central``: target = central;
    - ``gx_low``: target = central - nsigma * sigma;
    - ``gx_high``: target = central + nsigma * sigma.

    Where a target is <= 0 no real g_x reaches it: ``gx_low`` is then 0 (the band reaches
    down to g_x = 0) and ``gx_central`` / ``gx_high`` are NaN. Hence for ``"2025"``
    (38 +- 63 x 1e-11) the 2 sigma "band" is [0, gx_high]: an upper bound on g_x, not a
    favoured region. ``preset`` is a key of :data:`PRESETS`, a (central, sigma) pair or a
    :class:`G2Discrepancy`; ``nsigma`` must be finite and > 0. Arrays have the shape of
    ``mzp_mev`` [MeV].

    >>> band = g2_band([20.0, 100.0], "2021")
    >>> [round(float(v), 7) for v in band["gx_central"]]
    [0.000556, 0.0009462]
    >>> float(g2_band(20.0, "2025")["gx_low"])
    0.0
    """
    p = resolve_preset(preset)
    ns = float(check_param("nsigma", nsigma, positive=True, allowed="finite, > 0"))
    per_g2 = delta_amu(mzp_mev, 1.0)
    out = {}
    for key, target, empty in (
        ("gx_central", p.central, np.nan),
        ("gx_low", p.central - ns * p.sigma, 0.0),
        ("gx_high", p.central + ns * p.sigma, np.nan),
    ):
        out[key] = np.sqrt(target / per_g2) if target > 0 else np.full(per_g2.shape, empty)
    return out
