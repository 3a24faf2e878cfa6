"""The model interface (docs: models) and the vector-mediator base class.

A model object holds one or many parameter points (all parameters broadcast together
into ``model.shape``) and answers, per target nucleus and for an array of spacelike
momentum transfers ``q2_mev2`` (Q^2 = 2 m_N E_r > 0, MeV^2), the coefficients of the
interaction structures (:meth:`Model.couplings`, a :class:`Couplings`): the shift of the
diagonal vector charge per flavour, the incoherent flavour-changing vector coefficient,
the scalar and magnetic-moment coefficients, and a ratio of weak form factors. The rate
engine (:mod:`cevnsfit.rates.binned`) turns them into spectra; it never names a model.
Every array has shape ``model.shape + q2.shape``: parameter points first, momentum
transfers last.

Models declare their parameters (:class:`~cevnsfit.models.parameters.Parameter`) in the
class attribute ``PARAMETERS`` and their catalogue name in ``NAME``.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from cevnsfit.constants import G_F
from cevnsfit.errors import ParameterError, UnknownNameError, check_finite, check_finite_result

#: Neutrino flavours a model answers for. Antineutrinos use the coupling of the neutrino
#: of the same flavour: the sign flip of the neutrino current multiplies the SM and the
#: Z' amplitudes alike (docs: physics/cross-section, antineutrinos).
FLAVOURS = ("nue", "numu", "nutau")

#: Factor c in the denominator c G_F (Q^2 + M_Z'^2) of Q_V^BSM (docs: physics/conventions, matching factor).
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
        raise UnknownNameError(f"unknown matching {matching!r}; allowed: {', '.join(map(repr, MATCHING))}") from None


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
    if (
        isinstance(q2_mev2, np.ndarray)
        and q2_mev2.dtype == float
        and not q2_mev2.flags.writeable
        and getattr(q2_mev2, "base", None) is None
    ):
        return q2_mev2  # the engine's precomputed, validated nodes (read-only): validated once
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


class Couplings:
    """Structure coefficients of one model for one target nucleus on a Q^2 grid.

    Every entry has shape ``model.shape + q2.shape`` (or broadcasts to it); absent entries
    mean "no contribution" (and no cost):

    * ``dq[flavour]``: shift of the diagonal vector charge, Q_alpha = Q_V^SM + dq (vector
      structure, C = Q_alpha^2; interferes with the SM);
    * ``fc[flavour]``: sum over beta != alpha of |Q_{alpha beta}|^2, flavour-changing vector
      pieces that add incoherently with the vector bracket;
    * one keyword per incoherent structure of the table
      :data:`~cevnsfit.physics.cross_section.STRUCTURES`, named by its record's ``coefficient``
      (today ``scalar`` and ``magnetic``): ``{flavour: C}``, read back as ``c.scalar`` or
      ``c.coefficient("scalar")``; an unknown name raises UnknownNameError naming the known ones;
    * ``weak_ff_ratio``: F_w(q; theta)^2 / F_w(q; default)^2, multiplying every structure that
      uses the weak form factor; None = 1.
    """

    def __init__(self, dq=None, fc=None, *, weak_ff_ratio=None, **coefficients):
        from cevnsfit.physics.cross_section import coefficient_names

        known = coefficient_names()
        unknown = sorted(set(coefficients) - set(known))
        if unknown:
            raise UnknownNameError(
                f"unknown structure coefficient {unknown[0]!r}; allowed: dq, fc, weak_ff_ratio, {', '.join(known)}"
            )
        self.dq: dict = dict(dq or {})
        self.fc: dict = dict(fc or {})
        self.weak_ff_ratio = weak_ff_ratio
        self.coefficients: dict[str, dict] = {k: dict(v) for k, v in coefficients.items() if v}

    def coefficient(self, name: str) -> dict:
        """{flavour: C} of the incoherent structure whose record reads ``name`` ({} if absent)."""
        return self.coefficients.get(name, {})

    def __getattr__(self, name: str):
        from cevnsfit.physics.cross_section import coefficient_names

        if name in coefficient_names():
            return self.__dict__.get("coefficients", {}).get(name, {})
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        parts = [f"dq={sorted(self.dq)}", f"fc={sorted(self.fc)}"]
        parts += [f"{k}={sorted(v)}" for k, v in self.coefficients.items()]
        parts.append(f"weak_ff_ratio={'None' if self.weak_ff_ratio is None else 'array'}")
        return f"Couplings({', '.join(parts)})"

    def map(self, fn) -> Couplings:
        """The same couplings with ``fn`` applied to every array (e.g. a broadcast)."""
        return Couplings(
            {k: fn(v) for k, v in self.dq.items()},
            {k: fn(v) for k, v in self.fc.items()},
            weak_ff_ratio=None if self.weak_ff_ratio is None else fn(self.weak_ff_ratio),
            **{name: {k: fn(v) for k, v in table.items()} for name, table in self.coefficients.items()},
        )

    def __add__(self, other: Couplings) -> Couplings:
        """Combine two models acting together: charge shifts add (amplitudes), incoherent
        coefficients add (rates), form-factor ratios multiply."""

        def merge(a, b):
            out = dict(a)
            for k, v in b.items():
                out[k] = out[k] + v if k in out else v
            return out

        ff = self.weak_ff_ratio
        if other.weak_ff_ratio is not None:
            ff = other.weak_ff_ratio if ff is None else ff * other.weak_ff_ratio
        names = dict.fromkeys([*self.coefficients, *other.coefficients])
        return Couplings(
            merge(self.dq, other.dq),
            merge(self.fc, other.fc),
            weak_ff_ratio=ff,
            **{n: merge(self.coefficient(n), other.coefficient(n)) for n in names},
        )


class Model(abc.ABC):
    """A point set of one new-physics model (docs: models, the model interface).

    Subclasses set the class attributes ``NAME`` (catalogue name), ``PARAMETERS`` (a tuple
    of :class:`~cevnsfit.models.parameters.Parameter`), ``STRUCTURES`` (the structures the
    model touches), ``shape`` and ``values`` (parameter name -> array of shape ``shape``),
    and implement :meth:`couplings`. Construct with keyword parameters; each is validated
    against its declared range and all broadcast together.
    """

    NAME: str = ""
    PARAMETERS: tuple = ()
    STRUCTURES: tuple = ("vector",)
    shape: tuple = ()
    values: dict

    def _init_params(self, given: dict) -> None:
        """Validate and broadcast ``given`` (name -> value; None means the declared default)."""
        from .parameters import lookup

        for k in given:
            lookup(self.PARAMETERS, k)
        arrays = {}
        for p in self.PARAMETERS:
            v = given.get(p.name)
            arrays[p.name] = p.validate(p.default if v is None else v)
        self.shape, self.values = broadcast_params(**arrays)

    @classmethod
    def parameter(cls, name: str):
        from .parameters import lookup

        return lookup(cls.PARAMETERS, name)

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.PARAMETERS)

    def _expand(self, param: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Reshape a parameter array of shape ``self.shape`` to broadcast against q2."""
        return np.reshape(param, self.shape + (1,) * q2.ndim)

    def _full(self, value: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Materialise ``value`` (broadcastable) at the full shape self.shape + q2.shape."""
        return np.array(np.broadcast_to(value, self.shape + q2.shape), dtype=float)

    @abc.abstractmethod
    def couplings(
        self, nucleus, q2_mev2: np.ndarray, matching: str = "paper", sin2_theta_w: float | None = None
    ) -> Couplings:
        """Structure coefficients for ``nucleus`` (a :class:`~cevnsfit.physics.nucleus.Nucleus`)
        at momentum transfers ``q2_mev2`` [MeV^2]; ``sin2_theta_w`` is the experiment's SM value."""

    def _options(self) -> dict:
        """Constructor options that are not parameters (for :meth:`take`)."""
        return {}

    def take(self, index) -> Model:
        """The points ``index`` (a slice or integer array over the flattened ``shape``) as a
        new model of the same kind: how the likelihood evaluates a large batch in chunks."""
        vals = {k: np.broadcast_to(v, self.shape).ravel()[index] for k, v in self.values.items()}
        return type(self)(**vals, **self._options())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape})"


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


class VectorMediator(Model):
    """A vector Z' coupling to left-handed neutrinos and vectorially to u and d quarks.

    Subclasses set ``shape`` (broadcast shape of the parameter points) and ``mzp_mev``
    (mediator masses, shape ``shape``) and implement the two coupling methods. Both return
    arrays of the full shape ``self.shape + q2.shape`` (writable, not views), so callers
    may combine them freely. :meth:`couplings` turns them into the vector-charge shift of
    every flavour (:meth:`delta_qv`).
    """

    STRUCTURES = ("vector",)
    mzp_mev: np.ndarray

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        """dq[flavour] = :meth:`delta_qv` for every flavour whose coupling is not identically 0
        (the quark part and the propagator are computed once for all flavours)."""
        c = matching_factor(matching)
        q2 = check_q2(q2_mev2)
        nu = self._nonzero_neutrino_couplings(q2)
        if not nu:
            return Couplings()
        z, n = float(nucleus.Z), float(nucleus.N)  # a Nucleus is validated when built
        mass = self._expand(self.mzp_mev, q2)
        common = self._quark_charge(z, n, q2) / (c * G_F * (q2 + mass * mass))
        return Couplings(dq={fl: common * g_nu for fl, g_nu in nu.items()})

    def _quark_charge(self, z: float, n: float, q2: np.ndarray) -> np.ndarray:
        """(2Z+N) g_u + (Z+2N) g_d, broadcastable to ``self.shape + q2.shape`` (the hot path's
        form of :meth:`quark_couplings`; subclasses may override it with a cheaper closed form)."""
        g_u, g_d = self.quark_couplings(q2)
        return (2.0 * z + n) * g_u + (z + 2.0 * n) * g_d

    def _nonzero_neutrino_couplings(self, q2: np.ndarray) -> dict:
        """{flavour: g_nu} for the flavours whose coupling is not identically 0, each
        broadcastable to ``self.shape + q2.shape`` (the hot path's form of
        :meth:`neutrino_coupling`; subclasses may override it to skip materialising arrays)."""
        out = {}
        for fl in FLAVOURS:
            g_nu = self.neutrino_coupling(fl, q2)
            if np.any(g_nu):
                out[fl] = g_nu
        return out

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
        r"""BSM shift of the CEvNS weak charge, Q_V^BSM (docs: physics/models, physics/conventions).

        .. math::

            Q_V^{BSM} = \frac{[(2Z+N) g_u + (Z+2N) g_d]\, g_{\nu_f}}
                             {c\, G_F\, (Q^2 + M_{Z'}^2)}

        for a nucleus with Z protons and N neutrons (2Z+N up and Z+2N down valence
        quarks), Q^2 = ``q2_mev2`` > 0 the spacelike momentum transfer squared [MeV^2].
        It is added to Q_V^SM = (2Z+N) g_V^u + (Z+2N) g_V^d of docs: physics/cross-section.

        Matching (the factor c, :data:`MATCHING`). The SM neutral current of docs: physics/cross-section is

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
        return check_finite_result(
            "Q_V^BSM",
            out,
            f"{self!r} lies so far outside the perturbative range that the weak-charge shift overflows float64",
        )


class StandardModel(VectorMediator):
    """No mediator: every coupling vanishes and ``delta_qv`` returns exact zeros.

    ``shape`` is ``()`` (one point) and ``mzp_mev`` is ``inf`` (decoupled). No parameters.

    >>> StandardModel().delta_qv("numu", 55, 78, np.array([1.0, 2.0]))
    array([0., 0.])
    """

    NAME = "sm"

    def __init__(self) -> None:
        self.shape = ()
        self.values = {}
        self.mzp_mev = np.array(np.inf)

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        return Couplings()

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
