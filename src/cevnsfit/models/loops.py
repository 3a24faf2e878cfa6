r"""Fermion-loop integrals of the kinetic mixing of a gauged U(1) with the photon
(docs: physics/conventions, kinetic mixing in closed form; physics/models, the U(1) family).

For a U(1)_X gauge boson the one-loop mixing with the photon at spacelike momentum transfer
Q^2 is, summed over the charged fermions f (colour N_c, charges Q_X and Q_em),

.. math::

    \epsilon(Q^2) = \frac{e g}{2\pi^2} \sum_f N_c^f Q_X^f Q_{em}^f
                    \int_0^1 x(1-x) \ln\frac{m_f^2 + x(1-x) Q^2}{\mu^2}\,dx ,

finite (independent of mu) exactly when sum_f N_c Q_X Q_em = 0. Each integral is
ln(m_f^2/mu^2)/6 + K(Q^2/m_f^2) with K in closed form (:func:`_k_spacelike`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cevnsfit.constants import E_CHARGE, M_E, M_MU, M_TAU
from cevnsfit.errors import ParameterError

#: Charged-lepton masses [MeV] by neutrino flavour of the same generation.
LEPTON_MASS = {"nue": M_E, "numu": M_MU, "nutau": M_TAU}

#: Loop prefactor e / (4 pi)^2 shared by the lepton and slepton terms.
LOOP = E_CHARGE / (4.0 * math.pi) ** 2

# Taylor coefficients of K(t) = Int_0^1 x(1-x) ln(1 + t x(1-x)) dx = sum_k a_k t^k,
# a_k = (-1)^(k+1)/k * Int_0^1 [x(1-x)]^(k+1) dx = (-1)^(k+1)/k * ((k+1)!)^2/(2k+3)!.
# Successive terms shrink by ~|t|/4, so 30 terms give < 1e-18 relative for |t| <= 1.
_SERIES_TMAX = 1.0
_SERIES = np.array([(-1) ** (k + 1) / k * math.factorial(k + 1) ** 2 / math.factorial(2 * k + 3) for k in range(1, 31)])


def _series(t: np.ndarray) -> np.ndarray:
    """sum_k a_k t^k by Horner's rule (valid for |t| <= 1; loop over coefficients only)."""
    acc = np.zeros_like(t)
    for a in _SERIES[::-1]:
        acc = (acc + a) * t
    return acc


def _k_spacelike(t: np.ndarray) -> np.ndarray:
    r"""K(t) = Int_0^1 x(1-x) ln(1 + t x(1-x)) dx for t >= 0, in closed form.

    With beta = sqrt(1 + 4/t):
    K = -5/18 + 2/(3t) + (1/6)(1 - 2/t) beta ln[(beta+1)/(beta-1)],
    and ln[(beta+1)/(beta-1)] = ln(t/4) + 2 ln(1+beta) (no cancellation at large t).
    The Taylor series replaces it for t <= 1, where the closed form cancels.
    """
    out = np.empty_like(t)
    small = t <= _SERIES_TMAX
    out[small] = _series(t[small])
    tb = t[~small]
    beta = np.sqrt(1.0 + 4.0 / tb)
    log_ratio = np.log(tb / 4.0) + 2.0 * np.log1p(beta)
    out[~small] = -5.0 / 18.0 + 2.0 / (3.0 * tb) + (1.0 - 2.0 / tb) * beta * log_ratio / 6.0
    return out


def _k_printed(s: np.ndarray) -> np.ndarray:
    r"""K_-(s) = Int_0^1 x(1-x) ln(1 - s x(1-x)) dx for 0 <= s < 4, in closed form.

    Analytic continuation t -> -s of :func:`_k_spacelike`: beta -> i gamma with
    gamma = sqrt(4/s - 1) and beta ln[(beta+1)/(beta-1)] -> 2 gamma arctan(1/gamma):
    K_- = -5/18 - 2/(3s) + (1/6)(1 + 2/s) 2 gamma arctan(1/gamma).
    """
    out = np.empty_like(s)
    small = s <= _SERIES_TMAX
    out[small] = _series(-s[small])
    sb = s[~small]
    gamma = np.sqrt(4.0 / sb - 1.0)
    out[~small] = -5.0 / 18.0 - 2.0 / (3.0 * sb) + (1.0 + 2.0 / sb) * 2.0 * gamma * np.arctan(1.0 / gamma) / 6.0
    return out


def lepton_loop_sum(q2: np.ndarray, weights: dict[str, float], paper_sign: bool = False) -> np.ndarray:
    r"""sum_alpha w_alpha Int_0^1 x(1-x) ln(m_alpha^2 + x(1-x) Q^2) dx over the charged leptons,
    ``weights`` = {flavour: w} with sum w = 0 (so the mu-dependence cancels):

        sum_alpha w_alpha [ln(m_alpha^2)/6 + K(Q^2/m_alpha^2)].

    For L_mu - L_tau (w_mu = -1, w_tau = +1) this is the I(Q^2) of
    :func:`~cevnsfit.models.lmu_ltau.lepton_loop_integral`. ``paper_sign`` uses the printed
    sign of arXiv:2103.10196 (ln(m^2 - x(1-x) q^2), :func:`_k_printed`); its logarithm's
    argument turns non-positive at Q^2 >= 4 m^2 of the lightest charged lepton, refused.
    ``q2``: validated Q^2 [MeV^2], any shape; returns the same shape.
    """
    total = sum(weights.values())
    if abs(total) > 1e-12:
        raise ParameterError(f"lepton loop weights must sum to 0 for a finite loop, got {weights} (sum {total:g})")
    k: Callable[[np.ndarray], np.ndarray] = _k_spacelike
    if paper_sign:
        m_min = min(LEPTON_MASS[f] for f, w in weights.items() if w)
        limit = 4.0 * m_min**2
        if np.any(q2 >= limit):
            bad = q2[q2 >= limit].ravel()[0]
            raise ParameterError(
                f"q2_mev2 must be < 4 m^2 = {limit:.6g} MeV^2 (lightest charged lepton in the loop) with "
                f"paper_sign=True (the printed logarithm's argument m^2 - x(1-x) q^2 turns non-positive), got {bad}"
            )
        k = _k_printed
    flat = np.asarray(q2, dtype=float).ravel()
    out = np.zeros(flat.shape)
    for flavour, w in weights.items():
        if w:
            m2 = LEPTON_MASS[flavour] ** 2
            out = out + w * (math.log(m2) / 6.0 + k(flat / m2))
    return out.reshape(np.shape(q2))


_CACHE: dict = {}


def cached_lepton_loop_sum(q2: np.ndarray, weights: dict[str, float], paper_sign: bool) -> np.ndarray:
    """:func:`lepton_loop_sum` memoised on the Q^2 grid (read-only result): it does not depend
    on the parameters, and the rate engine asks for the same quadrature nodes on every call."""
    key = (q2.shape, q2.tobytes(), tuple(sorted(weights.items())), paper_sign)
    out = _CACHE.get(key)
    if out is None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        out = lepton_loop_sum(q2, weights, paper_sign)
        out.setflags(write=False)
        _CACHE[key] = out
    return out


__all__ = ["LEPTON_MASS", "cached_lepton_loop_sum", "lepton_loop_sum"]
