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
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cevnsfit.constants import E_CHARGE, M_MU, M_TAU, Q_EM_D, Q_EM_U
from cevnsfit.errors import ParameterError
from cevnsfit.models.base import VectorMediator, check_flavour, check_param, check_q2
from cevnsfit.models.parameters import G_MAX, Parameter

#: Declared parameters shared by the Z' models: mass (MeV) and coupling ranges.
MZP_PARAMETER = Parameter("mzp_mev", "MeV", 20.0, 0.0, 1e5, "log-uniform", 10**0.5, 1e3, "mediator mass", low_open=True)

#: L_mu - L_tau charge Q_X of each neutrino flavour.
CHARGES = {"nue": 0.0, "numu": 1.0, "nutau": -1.0}

# Loop prefactor e / (4 pi)^2 shared by the lepton and slepton terms.
_LOOP = E_CHARGE / (4.0 * math.pi) ** 2

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


_LOOP_CACHE: dict = {}


def _cached_loop(q2: np.ndarray, paper_sign: bool) -> np.ndarray:
    """:func:`lepton_loop_integral` memoised on the Q^2 grid: it does not depend on the
    parameters, and the rate engine asks for the same quadrature nodes on every call."""
    key = (q2.shape, q2.tobytes(), paper_sign)
    out = _LOOP_CACHE.get(key)
    if out is None:
        if len(_LOOP_CACHE) > 64:
            _LOOP_CACHE.clear()
        out = lepton_loop_integral(q2, paper_sign=paper_sign)
        out.setflags(write=False)
        _LOOP_CACHE[key] = out
    return out


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


class LmuLtau(VectorMediator):
    r"""U(1)_{L_mu - L_tau} Z' of mass ``mzp_mev`` [MeV] and coupling ``gx`` (docs: physics/models).

    Neutrino couplings g_x Q_X: +g_x (nu_mu), -g_x (nu_tau), 0 (nu_e). Quark couplings
    through kinetic mixing only: g_q = eps(Q^2) e Q_em^q (:func:`kinetic_mixing`), so for
    a nucleus Q_V^BSM = Z g_x Q_X eps e / (c G_F (Q^2 + M^2)) (the Z' couples to the
    proton number). Since eps is proportional to g_x, Q_V^BSM ~ g_x^2 > 0 for nu_mu
    (r >= 1): destructive against the negative Q_V^SM.

    ``mzp_mev`` (finite, > 0), ``gx`` (finite) and ``r`` = m_stau/m_smuon (finite, > 0)
    are scalars or arrays broadcast together into ``self.shape``. ``paper_sign`` selects
    the printed sign of the loop logarithm (see :func:`lepton_loop_integral`).

    >>> m = LmuLtau(mzp_mev=[10.0, 100.0], gx=1e-3)
    >>> q2 = np.array([100.0, 1000.0, 5000.0])
    >>> m.delta_qv("numu", Z=55, N=78, q2_mev2=q2).shape
    (2, 3)
    >>> bool(np.all(m.delta_qv("numu", 55, 78, q2) > 0)), float(m.delta_qv("nue", 55, 78, q2).max())
    (True, 0.0)
    """

    NAME = "lmu-ltau"
    PARAMETERS = (
        MZP_PARAMETER,
        Parameter("gx", "", 0.0, -G_MAX, G_MAX, "log-uniform", 1e-4, 1e-1, "U(1)_{L_mu-L_tau} gauge coupling"),
        Parameter(
            "r", "", 1.0, 0.0, 1e6, "log-uniform", 1e-2, 1e2, "r = m_stau/m_smuon (1: no slepton loop)", low_open=True
        ),
    )

    def __init__(self, mzp_mev=None, gx=None, r=1.0, paper_sign: bool = False):
        if mzp_mev is None or gx is None:
            raise ParameterError("lmu-ltau needs mzp_mev (Z' mass, MeV) and gx (coupling)")
        m = check_param("mzp_mev", mzp_mev, positive=True, allowed="finite, > 0 (Z' mass in MeV)")
        g = check_param("gx", gx, allowed="finite real coupling")
        rr = check_param("r", r, positive=True, allowed="finite, > 0 (r = m_stau/m_smuon)")
        if not isinstance(paper_sign, (bool, np.bool_)):
            raise ParameterError(f"paper_sign must be True or False, got {paper_sign!r}")
        self._init_params({"mzp_mev": m, "gx": g, "r": rr})
        self.mzp_mev, self.gx, self.r = self.values["mzp_mev"], self.values["gx"], self.values["r"]
        self.paper_sign = bool(paper_sign)

    def __repr__(self) -> str:
        return f"LmuLtau(shape={self.shape}, paper_sign={self.paper_sign})"

    def _options(self) -> dict:
        return {"paper_sign": self.paper_sign}

    def kinetic_mixing(self, q2_mev2) -> np.ndarray:
        """eps(Q^2) at every point, shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        loop = _cached_loop(q2, self.paper_sign)
        return self._full(_kinetic_mixing(loop, self._expand(self.gx, q2), self._expand(self.r, q2)), q2)

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """g_x Q_X(flavour), constant in Q^2; full shape ``self.shape + q2.shape``."""
        charge = CHARGES[check_flavour(flavour)]
        q2 = check_q2(q2_mev2)
        return self._full(charge * self._expand(self.gx, q2), q2)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g_u, g_d) = eps(Q^2) e (Q_em^u, Q_em^d); full shape ``self.shape + q2.shape``."""
        eps_e = self.kinetic_mixing(q2_mev2) * E_CHARGE
        return eps_e * Q_EM_U, eps_e * Q_EM_D

    def _quark_charge(self, z: float, n: float, q2: np.ndarray) -> np.ndarray:
        """(2Z+N) g_u + (Z+2N) g_d = eps e [(2Z+N) Q_em^u + (Z+2N) Q_em^d] = eps e Z: one
        (points x Q^2) product on the cached loop integral (ln r per point, not per node)."""
        loop = _cached_loop(q2, self.paper_sign)
        charge = E_CHARGE * ((2.0 * z + n) * Q_EM_U + (z + 2.0 * n) * Q_EM_D)
        return _kinetic_mixing(loop, self._expand(self.gx, q2) * charge, self._expand(self.r, q2))

    def _nonzero_neutrino_couplings(self, q2: np.ndarray) -> dict:
        """g_x Q_X per point (constant in Q^2): nu_mu and nu_tau unless every g_x is 0."""
        if not np.any(self.gx):
            return {}
        g = self._expand(self.gx, q2)
        return {fl: q * g for fl, q in CHARGES.items() if q != 0.0}
