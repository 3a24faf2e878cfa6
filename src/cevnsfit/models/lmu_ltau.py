r"""Gauged U(1)_{L_mu - L_tau} Z' with loop-induced kinetic mixing (docs: physics/models).

The Z' couples to nu_mu with +g_x, to nu_tau with -g_x, not to nu_e, and reaches quarks
only through the one-loop kinetic mixing eps(Q^2) with the photon (mu and tau loops, plus
smuon and stau loops in the SUSY variant, taken in the heavy-slepton limit):

.. math::

    \epsilon(Q^2) = \frac{8 e g_x}{(4\pi)^2} I(Q^2)
                  + \frac{2 e g_x}{(4\pi)^2}\,\frac{1}{3}\ln r^2,
    \qquad
    I(Q^2) = \int_0^1 x(1-x)
             \ln\frac{m_\tau^2 + x(1-x) Q^2}{m_\mu^2 + x(1-x) Q^2}\,dx,

with r = m_stau / m_smuon (r = 1: no slepton term). Quarks then couple with
g_q = eps e Q_em^q, so Q_V^BSM = Z g_x Q_X eps e / (c G_F (Q^2 + M^2)).

Reference: Banerjee, Dutta, Roy, arXiv:2103.10196 (the reference analysis).

The model class is the ``lmu-ltau`` preset of the U(1) family (:mod:`cevnsfit.models.u1`),
re-exported here; this module keeps the closed-form loop integral and eps(Q^2) of the
reference analysis as functions (the family computes the same loop as a sum over leptons).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cevnsfit.constants import E_CHARGE, M_MU, M_TAU  # noqa: F401  (E_CHARGE: used by the doctests)
from cevnsfit.errors import ParameterError
from cevnsfit.models.base import check_param, check_q2
from cevnsfit.models.loops import LOOP as _LOOP
from cevnsfit.models.loops import _k_printed, _k_spacelike
from cevnsfit.models.u1 import MZP_PARAMETER, LmuLtau

#: L_mu - L_tau charge Q_X of each neutrino flavour.
CHARGES = {"nue": 0.0, "numu": 1.0, "nutau": -1.0}


def lepton_loop_integral(q2_mev2, paper_sign: bool = False) -> np.ndarray:
    r"""The mu/tau loop integral I(Q^2) of eps (docs: physics/conventions, kinetic mixing in closed form).

    Physical (spacelike) sign, the default:

    .. math::

        I(Q^2) = \int_0^1 x(1-x)\ln\frac{m_\tau^2 + x(1-x)Q^2}{m_\mu^2 + x(1-x)Q^2}dx
               = \tfrac16 \ln\frac{m_\tau^2}{m_\mu^2} + K(Q^2/m_\tau^2) - K(Q^2/m_\mu^2),

    K(t) = Int x(1-x) ln(1 + t x(1-x)) dx
         = -5/18 + 2/(3t) + (1/6)(1 - 2/t) beta ln[(beta+1)/(beta-1)],
    beta = sqrt(1 + 4/t) (derivation: integrate by parts; Taylor series for t <= 1).
    I(0) = ln(m_tau^2/m_mu^2)/6 and I -> 0 as Q^2 -> infinity.

    ``paper_sign=True`` evaluates the form printed in arXiv:2103.10196,
    ln[(m_tau^2 - x(1-x)q^2)/(m_mu^2 - x(1-x)q^2)] with q^2 = Q^2, via the continuation
    K_-(s) = -5/18 - 2/(3s) + (1/6)(1 + 2/s) 2 gamma arctan(1/gamma), gamma = sqrt(4/s - 1).
    Its logarithm's argument turns non-positive at q^2 >= 4 m_mu^2, which raises
    :class:`~cevnsfit.errors.ParameterError`.

    ``q2_mev2``: Q^2 [MeV^2], finite and >= 0, any shape; returns the same shape.

    >>> round(float(lepton_loop_integral(0.0)), 6)  # ln(m_tau^2/m_mu^2)/6
    0.940797
    >>> bool(lepton_loop_integral(5000.0, paper_sign=True) > lepton_loop_integral(5000.0))
    True
    """
    q2 = check_q2(q2_mev2)
    k: Callable[[np.ndarray], np.ndarray]
    if paper_sign:
        limit = 4.0 * M_MU**2
        if np.any(q2 >= limit):
            bad = q2[q2 >= limit].ravel()[0]
            raise ParameterError(
                f"q2_mev2 must be < 4 m_mu^2 = {limit:.6g} MeV^2 with paper_sign=True "
                f"(the printed logarithm's argument m_mu^2 - x(1-x) q^2 turns non-positive), "
                f"got {bad}"
            )
        k = _k_printed
    else:
        k = _k_spacelike
    flat = q2.ravel()
    out = math.log(M_TAU**2 / M_MU**2) / 6.0 + k(flat / M_TAU**2) - k(flat / M_MU**2)
    return out.reshape(q2.shape)


def _kinetic_mixing(loop: np.ndarray, gx: np.ndarray, r: np.ndarray) -> np.ndarray:
    """eps from the lepton loop integral, g_x and r (validated, broadcastable inputs)."""
    return _LOOP * gx * (8.0 * loop + (4.0 / 3.0) * np.log(r))


def kinetic_mixing(q2_mev2, gx, r=1.0, paper_sign: bool = False) -> np.ndarray:
    r"""One-loop kinetic mixing eps(Q^2) of the L_mu - L_tau Z' (docs: physics/models; arXiv:2103.10196).

    .. math::

        \epsilon = \frac{8 e g_x}{(4\pi)^2} I(Q^2) + \frac{2 e g_x}{(4\pi)^2}\frac13\ln r^2

    I(Q^2) is :func:`lepton_loop_integral`; the second term is the smuon/stau loop in the
    heavy-slepton limit, r = m_stau/m_smuon (Int (1-2x)^2 dx = 1/3). At Q^2 = 0 and r = 1,
    eps = e g_x ln(m_tau^2/m_mu^2)/(12 pi^2) ~ 0.0477 e g_x; r = 100 raises it by ~1.82,
    r = 0.01 lowers it to ~0.18.

    ``q2_mev2`` [MeV^2], ``gx`` and ``r`` broadcast together (ordinary numpy rules); the
    result has the broadcast shape. Raises ParameterError for non-finite input, Q^2 < 0
    or r <= 0 (and see ``paper_sign`` in :func:`lepton_loop_integral`).

    >>> round(float(kinetic_mixing(0.0, gx=1.0) / E_CHARGE), 4)
    0.0477
    >>> kinetic_mixing(np.array([0.0, 1e3, 1e4]), gx=np.array([[1e-3], [1e-2]])).shape
    (2, 3)
    """
    loop = lepton_loop_integral(q2_mev2, paper_sign=paper_sign)
    g = check_param("gx", gx, allowed="finite real coupling")
    rr = check_param("r", r, positive=True, allowed="finite, > 0 (r = m_stau/m_smuon)")
    return _kinetic_mixing(loop, g, rr)


__all__ = ["CHARGES", "MZP_PARAMETER", "LmuLtau", "kinetic_mixing", "lepton_loop_integral"]
