"""Vector-mediator interface shared by every BSM model (PHYSICS.md section 4).

A model object holds one or many parameter points (all parameters broadcast together
into ``model.shape``) and answers, for an array of spacelike momentum transfers
``q2_mev2`` (Q^2 = 2 m_N E_r > 0, MeV^2), the vector couplings of its Z' to neutrinos and
to u and d quarks. From these the concrete :meth:`VectorMediator.delta_qv` builds the
shift of the CEvNS weak charge Q_V that the rate code adds to Q_V^SM. Every array it
returns has shape ``model.shape + q2.shape``: parameter points first, momentum
transfers last.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from cevnsfit.constants import G_F
from cevnsfit.errors import ParameterError, UnknownNameError, check_finite, check_finite_result

#: Neutrino flavours a model answers for. Antineutrinos use the coupling of the neutrino
#: of the same flavour: the sign flip of the neutrino current multiplies the SM and the
#: Z' amplitudes alike (PHYSICS.md section 4).
FLAVOURS = ("nue", "numu", "nutau")

#: Factor c in the denominator c G_F (Q^2 + M_Z'^2) of Q_V^BSM (PHYSICS.md section 4).
#: "paper": 2 sqrt(2), as written in the reference analysis (arXiv:2103.10196);
#: "full": sqrt(2), the tree-level matching derived in :meth:`VectorMediator.delta_qv`.
MATCHING = {"paper": 2.0 * math.sqrt(2.0), "full": math.sqrt(2.0)}


def matching_factor(matching: str) -> float:
    """Return the denominator factor c of ``matching`` (a key of :data:`MATCHING`).

    >>> round(matching_factor("paper") / matching_factor("full"), 12)
    2.0
    """
    try:
        return MATCHING[matching]
    except (KeyError, TypeError):
        raise UnknownNameError(
            f"unknown matching {matching!r}; allowed: {', '.join(map(repr, MATCHING))}"
        ) from None


def check_flavour(flavour: str) -> str:
    """Return ``flavour`` if it is one of :data:`FLAVOURS`, else raise UnknownNameError."""
    if not isinstance(flavour, str) or flavour not in FLAVOURS:
        raise UnknownNameError(
            f"unknown neutrino flavour {flavour!r}; allowed: {', '.join(map(repr, FLAVOURS))}"
            " (antineutrinos use the coupling of the neutrino of the same flavour)"
        )
    return flavour


def check_q2(q2_mev2) -> np.ndarray:
    """Validate spacelike momentum transfers squared Q^2 [MeV^2]: finite and >= 0."""
    try:
        return check_finite("q2_mev2", q2_mev2, nonnegative=True)
    except ParameterError as err:
        raise ParameterError(f"{err} (allowed: finite Q^2 >= 0 in MeV^2)") from None


def check_nucleons(Z, N) -> tuple[float, float]:
    """Validate proton and neutron numbers: finite scalars >= 0."""
    out = []
    for name, value in (("Z", Z), ("N", N)):
        arr = check_finite(name, value, nonnegative=True)
        if arr.ndim != 0:
            raise ParameterError(f"{name} must be a scalar (one nucleus per call), got shape {arr.shape}")
        out.append(float(arr))
    return out[0], out[1]


def check_param(name: str, value, *, positive: bool = False, allowed: str = "") -> np.ndarray:
    """Validate a model parameter; the error names it and its allowed range.

    >>> check_param("mzp_mev", [10.0, -1.0], positive=True, allowed="finite, > 0 MeV")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: mzp_mev must be > 0, got -1.0 (allowed: finite, > 0 MeV)
    """
    try:
        return check_finite(name, value, positive=positive, allow_empty=False)
    except ParameterError as err:
        raise ParameterError(f"{err} (allowed: {allowed})" if allowed else str(err)) from None


def broadcast_params(**params: np.ndarray) -> tuple[tuple, dict[str, np.ndarray]]:
    """Broadcast validated parameter arrays together; return (shape, full-shape arrays)."""
    try:
        arrays = np.broadcast_arrays(*params.values())
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in params.items())
        raise ParameterError(f"model parameters do not broadcast together: {shapes}") from None
    shape = arrays[0].shape if arrays else ()
    return shape, {k: np.array(a, dtype=float) for k, a in zip(params, arrays)}


class VectorMediator(abc.ABC):
    """A vector Z' coupling to left-handed neutrinos and vectorially to u and d quarks.

    Subclasses set ``shape`` (broadcast shape of the parameter points) and ``mzp_mev``
    (mediator masses, shape ``shape``) and implement the two coupling methods. Both return
    arrays of the full shape ``self.shape + q2.shape`` (writable, not views), so callers
    may combine them freely.
    """

    shape: tuple
    mzp_mev: np.ndarray

    def _expand(self, param: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Reshape a parameter array of shape ``self.shape`` to broadcast against q2."""
        return np.reshape(param, self.shape + (1,) * q2.ndim)

    def _full(self, value: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Materialise ``value`` (broadcastable) at the full shape self.shape + q2.shape."""
        return np.array(np.broadcast_to(value, self.shape + q2.shape), dtype=float)

    @abc.abstractmethod
    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """Coupling g_nu of the Z' to nu_flavour (L ⊃ g_nu Z'_mu nubar gamma^mu P_L nu).

        Returns an array of shape ``self.shape + q2.shape``.
        """

    @abc.abstractmethod
    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vector couplings (g_u, g_d) of the Z' (L ⊃ g_q Z'_mu qbar gamma^mu q).

        Returns two arrays, each of the full shape ``self.shape + q2.shape``.
        """

    def delta_qv(self, flavour: str, Z, N, q2_mev2, matching: str = "paper") -> np.ndarray:
        r"""BSM shift of the CEvNS weak charge, Q_V^BSM (PHYSICS.md section 4).

        .. math::

            Q_V^{BSM} = \frac{[(2Z+N) g_u + (Z+2N) g_d]\, g_{\nu_f}}
                             {c\, G_F\, (Q^2 + M_{Z'}^2)}

        for a nucleus with Z protons and N neutrons (2Z+N up and Z+2N down valence
        quarks), Q^2 = ``q2_mev2`` > 0 the spacelike momentum transfer squared [MeV^2].
        It is added to Q_V^SM = (2Z+N) g_V^u + (Z+2N) g_V^d of PHYSICS.md section 3.

        Matching (the factor c, :data:`MATCHING`). The SM neutral current of section 3 is

            L_SM = -(G_F/sqrt2) [nubar g^mu (1-g5) nu] g_V^q [qbar g_mu q]
                 = -sqrt2 G_F g_V^q [nubar g^mu P_L nu][qbar g_mu q]      (1-g5 = 2 P_L).

        With L ⊃ Z'_mu J^mu + (1/2) M^2 Z'^2, J = g_nu nubar g P_L nu + g_q qbar g q,
        the Z' equation of motion at momentum transfer q (q^2 = -Q^2) gives
        Z' = -J/(M^2 - q^2), so the exchange adds -J^2 / (2 (M^2 + Q^2)), whose
        neutrino-quark cross term is

            L_Z' = -g_nu g_q / (Q^2 + M^2) [nubar g^mu P_L nu][qbar g_mu q].

        Comparing the two operators (same sign convention, the SM one being Z exchange)
        gives g_V^q -> g_V^q + g_nu g_q / (sqrt2 G_F (Q^2 + M^2)): c = sqrt2, ``"full"``.
        The reference analysis (arXiv:2103.10196) writes 2 sqrt2 G_F, ``"paper"`` (the
        default, needed to reproduce its numbers); it halves the BSM amplitude.

        Returns an array of shape ``self.shape + q2.shape``. Raises
        :class:`~cevnsfit.errors.UnknownNameError` for an unknown ``flavour`` or
        ``matching`` and :class:`~cevnsfit.errors.ParameterError` for Z, N < 0 or
        Q^2 < 0. Vectorised over (points x Q^2), no loops, no quadrature.

        >>> from cevnsfit.models import UniversalVector
        >>> m = UniversalVector(mzp_mev=[10.0, 20.0], g=1e-4)
        >>> m.delta_qv("nue", Z=18, N=22, q2_mev2=np.array([0.0, 100.0, 400.0])).shape
        (2, 3)
        """
        c = matching_factor(matching)
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        z, n = check_nucleons(Z, N)
        g_nu = self.neutrino_coupling(flavour, q2)
        g_u, g_d = self.quark_couplings(q2)
        m2 = self._expand(self.mzp_mev, q2) ** 2
        with np.errstate(over="ignore", invalid="ignore"):
            out = ((2.0 * z + n) * g_u + (z + 2.0 * n) * g_d) * g_nu / (c * G_F * (q2 + m2))
        return check_finite_result("Q_V^BSM", out, f"{self!r} lies so far outside the perturbative range "
                                   "that the weak-charge shift overflows float64")


class StandardModel(VectorMediator):
    """No mediator: every coupling vanishes and ``delta_qv`` returns exact zeros.

    ``shape`` is ``()`` (one point) and ``mzp_mev`` is ``inf`` (decoupled).

    >>> StandardModel().delta_qv("numu", 55, 78, np.array([1.0, 2.0]))
    array([0., 0.])
    """

    def __init__(self) -> None:
        self.shape = ()
        self.mzp_mev = np.array(np.inf)

    def __repr__(self) -> str:
        return "StandardModel()"

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        check_flavour(flavour)
        return np.zeros(check_q2(q2_mev2).shape)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q2 = check_q2(q2_mev2)
        return np.zeros(q2.shape), np.zeros(q2.shape)

    def delta_qv(self, flavour: str, Z, N, q2_mev2, matching: str = "paper") -> np.ndarray:
        matching_factor(matching)
        check_flavour(flavour)
        check_nucleons(Z, N)
        return np.zeros(check_q2(q2_mev2).shape)
