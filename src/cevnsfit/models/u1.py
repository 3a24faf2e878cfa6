r"""The gauged U(1)_X family: one vector boson declared by its charges (docs: physics/models,
the U(1) family).

X = b B + l_e L_e + l_mu L_mu + l_tau L_tau (B: baryon number, 1/3 per quark; L_alpha: lepton
flavour numbers). The Z' couples with g X to every fermion: g l_alpha to nu_alpha (left-handed)
and to the charged lepton of flavour alpha, g b/3 to every quark (vector). Its mixing with the
photon adds eps(Q^2) e Q_em to every charged fermion, so for a nucleus (2Z+N up, Z+2N down quarks)

.. math::

    \delta Q_\alpha = \frac{g\, l_\alpha\,[\,b\,g\,A + \epsilon(Q^2)\,e\,Z\,]}{c\,G_F\,(Q^2 + M_{Z'}^2)} .

Kinetic mixing. At one loop the charged fermions f (colour N_c) give

.. math::

    \epsilon(Q^2) = \frac{e g}{2\pi^2}\sum_f N_c^f Q_X^f Q_{em}^f
                    \int_0^1 x(1-x)\ln\frac{m_f^2 + x(1-x)Q^2}{\mu^2}\,dx ,

which is finite, i.e. independent of the scale mu and of any tree-level boundary value, only when
sum_f N_c Q_X Q_em = b - (l_e + l_mu + l_tau) vanishes over the SM charged fermions. This
package computes it where, in addition, no quark carries X (b = 0: the lepton-flavour
differences L_alpha - L_beta, whose loops are the charged leptons; for L_mu - L_tau it is the
formula of the reference analysis, arXiv:2103.10196). Everywhere else (every model with b != 0,
in particular every anomaly-free B - sum x_alpha L_alpha, where the trace is 4b) the mixing
depends on physics above the loop and is a declared constant parameter ``eps``.

Anomaly freedom. With three right-handed neutrinos of charges l_alpha, X is anomaly free
exactly when it is a combination of B - L, L_e - L_mu and L_mu - L_tau (Araki, Heeck, Kubo,
JHEP 07 (2012) 083, arXiv:1203.4951), i.e. when l_e + l_mu + l_tau = -3 b
(:attr:`U1Charges.anomaly_free`). The presets (:data:`U1_PRESETS`) are the ones studied in the
light-Z' literature: B - L; L_e - L_mu, L_e - L_tau, L_mu - L_tau (He, Joshi, Lew, Volkas, PRD
43 (1991) R22 and PRD 44 (1991) 2118); B - 3 L_alpha (Ma, Roy, Roy, PLB 525 (2002) 101; see e.g.
Bauer, Foldenauer, Jaeckel, JHEP 07 (2018) 094, arXiv:1803.05466); and B - x_a L_a - x_b L_b with
(x_a, x_b) = (1, 2), (2, 1), combinations of the same anomaly-free basis (Araki, Heeck, Kubo; the
U(1)_{B-L} x U(1)_{L_e-L_mu} x U(1)_{L_mu-L_tau} combinations of Asai, PRD 101 (2020) 076013,
arXiv:1907.04042).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cevnsfit.constants import E_CHARGE, Q_EM_D, Q_EM_U
from cevnsfit.errors import ParameterError
from cevnsfit.models.base import FLAVOURS, VectorMediator, check_flavour, check_param, check_q2
from cevnsfit.models.loops import LOOP, cached_lepton_loop_sum
from cevnsfit.models.parameters import G_MAX, Parameter

#: Declared parameters shared by the Z' models: mass (MeV) and coupling ranges.
MZP_PARAMETER = Parameter("mzp_mev", "MeV", 20.0, 0.0, 1e5, "log-uniform", 10**0.5, 1e3, "mediator mass", low_open=True)
#: A constant kinetic mixing with the photon (models whose loop mixing is not finite).
EPS_PARAMETER = Parameter("eps", "", 0.0, -1.0, 1.0, "uniform", -1e-3, 1e-3, "constant kinetic mixing with the photon")

_MASS_RANGE = "finite, > 0 (Z' mass in MeV)"
_COUPLING_RANGE = "finite real coupling"
_SHORT = {"nue": "e", "numu": "mu", "nutau": "tau"}


@dataclass(frozen=True)
class U1Charges:
    """Charges of X = b B + l_e L_e + l_mu L_mu + l_tau L_tau (module docstring).

    >>> U1Charges(b=1, le=-3).label, U1Charges(b=1, le=-3).anomaly_free, U1Charges(b=1, le=-3).loop_finite
    ('B - 3L_e', True, False)
    >>> U1Charges(lmu=1, ltau=-1).loop_finite
    True
    """

    b: float = 0.0
    le: float = 0.0
    lmu: float = 0.0
    ltau: float = 0.0

    def __post_init__(self):
        vals = {"b": self.b, "le": self.le, "lmu": self.lmu, "ltau": self.ltau}
        for k, v in vals.items():
            if not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
                raise ParameterError(f"U(1) charge {k} must be a finite number, got {v!r}")
        if not any(vals.values()):
            raise ParameterError(
                "U(1) charges b, le, lmu, ltau are all 0: no Z' coupling (allowed: any finite, not all 0)"
            )
        # looked up at every likelihood call: computed once (the dataclass is frozen)
        leptons = {"nue": float(self.le), "numu": float(self.lmu), "nutau": float(self.ltau)}
        object.__setattr__(self, "_leptons", leptons)
        object.__setattr__(self, "_weights", {f: -v for f, v in leptons.items() if v})
        object.__setattr__(self, "_finite", self.b == 0 and float(self.b - sum(leptons.values())) == 0)

    def lepton(self, flavour: str) -> float:
        """l_alpha of ``flavour`` (``"nue"``, ``"numu"``, ``"nutau"``)."""
        try:
            return self._leptons[flavour]  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            return float({"nue": self.le, "numu": self.lmu, "nutau": self.ltau}[check_flavour(flavour)])

    @property
    def em_trace(self) -> float:
        """sum_f N_c Q_X Q_em over the SM charged fermions: b (three generations of quarks,
        3 x (2/3 - 1/3) b/3 each) - (l_e + l_mu + l_tau) (charged leptons, Q_em = -1)."""
        return float(self.b - (self.le + self.lmu + self.ltau))

    @property
    def loop_finite(self) -> bool:
        """True when the one-loop mixing is finite and computed here: b = 0 and sum l = 0."""
        return self._finite  # type: ignore[attr-defined]

    @property
    def anomaly_free(self) -> bool:
        """Anomaly free with three right-handed neutrinos: l_e + l_mu + l_tau = -3 b."""
        return bool(np.isclose(self.le + self.lmu + self.ltau, -3.0 * self.b, rtol=0, atol=1e-12))

    @property
    def loop_weights(self) -> dict[str, float]:
        """{flavour: N_c Q_X Q_em} of the charged leptons (Q_em = -1): -l_alpha."""
        return self._weights  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        """A readable form, e.g. ``'B - 3L_e'``, ``'L_mu - L_tau'``."""
        terms = [(self.b, "B")] + [(self.lepton(f), f"L_{_SHORT[f]}") for f in FLAVOURS]
        out = ""
        for c, name in terms:
            if not c:
                continue
            mag = "" if abs(c) == 1 else f"{abs(c):g}"
            sign = ("-" if c < 0 else "") if not out else (" - " if c < 0 else " + ")
            out += f"{sign}{mag}{name}"
        return out


class GaugedU1(VectorMediator):
    """Z' of a gauged U(1)_X: the family's base class (module docstring). A model class is
    declared by its charges, ``u1_class(U1Charges(...))`` or a preset of :data:`U1_PRESETS`;
    its instances take the mass ``mzp_mev`` [MeV], the coupling ``g`` and, where the one-loop
    kinetic mixing is not finite (:attr:`U1Charges.loop_finite`), the constant ``eps``, which
    must then be given (the presets declare 0 as its default, as ``b-l`` always has); where it
    is finite it is computed and ``eps`` cannot be given.

    >>> from cevnsfit.constants import G_F
    >>> B3Le = u1_class(U1Charges(b=1, le=-3))
    >>> m = B3Le(mzp_mev=50.0, g=1e-4, eps=0.0)
    >>> q2 = np.array([0.0, 1e3])
    >>> expect = -3 * (55 + 78) * 1e-8 / (2 * np.sqrt(2) * G_F * (q2 + 50.0**2))
    >>> bool(np.allclose(m.delta_qv("nue", 55, 78, q2), expect, rtol=1e-12, atol=0))
    True
    >>> B3Le(mzp_mev=50.0, g=1e-4)
    Traceback (most recent call last):
    ...
    cevnsfit.errors.ParameterError: U(1)_{B - 3L_e}: the one-loop kinetic mixing is not finite (sum_f N_c Q_X Q_em = 4 over the charged fermions, or quarks carry X); give a constant eps
    """

    NAME = "u1"
    #: Charges of the class (None only on this base class).
    CHARGES: U1Charges | None = None
    #: Name of the coupling parameter (``"g"``; ``"gx"`` for the lmu-ltau preset).
    COUPLING = "g"
    #: Default of ``eps`` where the mixing is a constant (None: it must be given).
    EPS_DEFAULT: float | None = None
    #: Whether ``mzp_mev`` and the coupling must be given (the lmu-ltau and b-l presets, as
    #: before the family existed); otherwise they take their declared defaults (g = 0: the SM).
    ARGUMENTS_REQUIRED = False
    PARAMETERS: tuple = ()

    def __init__(self, mzp_mev=None, g=None, *, eps=None, paper_sign: bool = False):
        if self.CHARGES is None:
            raise ParameterError(
                "GaugedU1 is the family's base class: declare a model class by its charges, "
                f"u1_class(U1Charges(b=..., le=..., lmu=..., ltau=...)), or use a preset: {', '.join(U1_PRESETS)}"
            )
        self.charges = self.CHARGES
        self._setup(mzp_mev, g, self.EPS_DEFAULT if eps is None else eps, None, paper_sign)

    # -- set-up shared by the generic class and the presets -------------------------------

    def _setup(self, mzp_mev, g, eps, r, paper_sign) -> None:
        charges = self.charges
        label = _LazyLabel(charges)  # formatted only in an error message
        if mzp_mev is None or g is None:
            if self.ARGUMENTS_REQUIRED:
                raise ParameterError(f"{self.NAME} needs mzp_mev (Z' mass, MeV) and {self.COUPLING} (coupling)")
            mzp_mev = MZP_PARAMETER.default if mzp_mev is None else mzp_mev
            g = self.parameter(self.COUPLING).default if g is None else g
        if not isinstance(paper_sign, (bool, np.bool_)):
            raise ParameterError(f"paper_sign must be True or False, got {paper_sign!r}")
        if charges.loop_finite:
            if eps is not None:
                raise ParameterError(
                    f"{label}: the kinetic mixing is the finite one-loop value (lepton loops); eps cannot be given"
                )
        elif eps is None:
            raise ParameterError(
                f"{label}: the one-loop kinetic mixing is not finite (sum_f N_c Q_X Q_em = {charges.em_trace:g} "
                "over the charged fermions, or quarks carry X); give a constant eps"
            )
        elif paper_sign:
            raise ParameterError(f"{label}: paper_sign applies to the loop-induced mixing only (this model has eps)")
        given = {
            "mzp_mev": check_param("mzp_mev", mzp_mev, positive=True, allowed=_MASS_RANGE),
            self.COUPLING: check_param(self.COUPLING, g, allowed=_COUPLING_RANGE),
        }
        if eps is not None:
            given["eps"] = check_param("eps", eps, allowed="finite kinetic mixing")
        if r is not None:
            given["r"] = check_param("r", r, positive=True, allowed="finite, > 0 (r = m_stau/m_smuon)")
        self._init_params(given)
        self.mzp_mev = self.values["mzp_mev"]
        self.g = self.values[self.COUPLING]
        self.eps = self.values.get("eps")
        self.r = self.values.get("r")
        self.paper_sign = bool(paper_sign)

    def __repr__(self) -> str:
        extra = f", paper_sign={self.paper_sign}" if self.charges.loop_finite else ""
        return f"{type(self).__name__}(shape={self.shape}{extra})"

    def _options(self) -> dict:
        return {"paper_sign": True} if self.paper_sign else {}

    # -- couplings ----------------------------------------------------------------------------

    def _loop(self, q2: np.ndarray) -> np.ndarray:
        """sum_leptons N_c Q_X Q_em Int x(1-x) ln(m^2 + x(1-x) Q^2) dx on the Q^2 grid (cached)."""
        return cached_lepton_loop_sum(q2, self.charges.loop_weights, self.paper_sign)

    def _mixing(self, q2: np.ndarray, g: np.ndarray) -> np.ndarray:
        """eps(Q^2) for couplings ``g`` (broadcastable against q2): e g/(2 pi^2) x the loop sum
        = (8 e g/(4 pi)^2) loop, plus the heavy-slepton term (2 e g/(4 pi)^2)(1/3) ln r^2
        where the model has r; or the constant eps."""
        if not self.charges.loop_finite:
            assert self.eps is not None  # set by _setup wherever the mixing is a constant
            return self._expand(self.eps, q2) + 0.0 * q2
        inner = 8.0 * self._loop(q2)
        if self.r is not None:
            inner = inner + (4.0 / 3.0) * np.log(self._expand(self.r, q2))
        return LOOP * g * inner

    def kinetic_mixing(self, q2_mev2) -> np.ndarray:
        """eps(Q^2) at every point, shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        return self._full(self._mixing(q2, self._expand(self.g, q2)), q2)

    def neutrino_coupling(self, flavour: str, q2_mev2: np.ndarray) -> np.ndarray:
        """g l_alpha, constant in Q^2; full shape ``self.shape + q2.shape``."""
        charge = self.charges.lepton(flavour)
        q2 = check_q2(q2_mev2)
        return self._full(charge * self._expand(self.g, q2), q2)

    def quark_couplings(self, q2_mev2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g b/3 + eps e Q_em^u, g b/3 + eps e Q_em^d); full shape ``self.shape + q2.shape``."""
        q2 = check_q2(q2_mev2)
        g = self._expand(self.g, q2)
        eps_e = self._mixing(q2, g) * E_CHARGE
        gb = g * (self.charges.b / 3.0)
        return self._full(gb + eps_e * Q_EM_U, q2), self._full(gb + eps_e * Q_EM_D, q2)

    def _quark_charge(self, z: float, n: float, q2: np.ndarray) -> np.ndarray:
        """(2Z+N) g_u + (Z+2N) g_d = b g A + eps e Z: one (points x Q^2) product."""
        g = self._expand(self.g, q2)
        out = self._mixing(q2, g * (E_CHARGE * z)) if self.charges.loop_finite else self._mixing(q2, g) * (E_CHARGE * z)
        if self.charges.b:
            out = out + g * (self.charges.b * (z + n))
        return out

    def _nonzero_neutrino_couplings(self, q2: np.ndarray) -> dict:
        """g l_alpha per point (constant in Q^2) for the flavours with l_alpha != 0."""
        if not np.any(self.g):
            return {}
        g = self._expand(self.g, q2)
        return {fl: self.charges.lepton(fl) * g for fl in FLAVOURS if self.charges.lepton(fl)}


class _LazyLabel:
    """``U(1)_{<label>}`` of a set of charges, formatted when shown (error messages only)."""

    def __init__(self, charges: U1Charges):
        self.charges = charges

    def __str__(self) -> str:
        return f"U(1)_{{{self.charges.label}}}"

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


def _coupling_parameter(label: str, name: str = "g", low: float = 1e-6, high: float = 1e-2) -> Parameter:
    return Parameter(name, "", 0.0, -G_MAX, G_MAX, "log-uniform", low, high, f"U(1)_{{{label}}} gauge coupling")


def u1_class(
    charges: U1Charges, name: str | None = None, eps_default: float | None = None, doc: str | None = None
) -> type[GaugedU1]:
    """A model class for the U(1)_X of ``charges``: parameters ``mzp_mev`` and ``g``, plus ``eps``
    where the one-loop mixing is not finite (required unless ``eps_default`` is given). ``name``
    is its catalogue name (default ``"u1[<label>]"``). The class goes wherever a model class
    does (``Problem(like, cls, poi=["mzp_mev", "g"])``).

    >>> LeLmu = u1_class(U1Charges(le=1, lmu=-1))
    >>> LeLmu.parameter_names(), LeLmu(mzp_mev=10.0, g=1e-4).kinetic_mixing(0.0).shape
    (('mzp_mev', 'g'), ())
    """
    if not isinstance(charges, U1Charges):
        raise ParameterError(f"charges must be a U1Charges (b, le, lmu, ltau), got {charges!r}")
    label = charges.label.replace(" ", "")
    # prior ranges: loop-suppressed quark couplings need larger g (as lmu-ltau's gx)
    low, high = (1e-4, 1e-1) if charges.loop_finite else (1e-6, 1e-2)
    params: tuple = (MZP_PARAMETER, _coupling_parameter(label, low=low, high=high))
    if not charges.loop_finite:
        params += (EPS_PARAMETER,)
    attrs = {
        "NAME": name or f"u1[{label}]",
        "CHARGES": charges,
        "PARAMETERS": params,
        "EPS_DEFAULT": eps_default,
        "__doc__": doc
        or (
            f"U(1)_{{{label}}} Z' of mass ``mzp_mev`` [MeV] and coupling ``g``"
            + (
                "; kinetic mixing from the charged-lepton loops (finite)"
                if charges.loop_finite
                else f"; constant kinetic mixing ``eps``{'' if eps_default is None else f' (default {eps_default:g})'}"
            )
            + " (docs: physics/models, the U(1) family)."
        ),
        "__module__": __name__,
    }
    cls_name = "U1_" + "".join(ch if ch.isalnum() else "_" for ch in label)
    return type(cls_name, (GaugedU1,), attrs)


class LmuLtau(GaugedU1):
    r"""U(1)_{L_mu - L_tau} Z' of mass ``mzp_mev`` [MeV] and coupling ``gx`` (docs: physics/models).

    Neutrino couplings g_x Q_X: +g_x (nu_mu), -g_x (nu_tau), 0 (nu_e). Quark couplings
    through kinetic mixing only: g_q = eps(Q^2) e Q_em^q (the mu and tau loops of
    :func:`~cevnsfit.models.lmu_ltau.kinetic_mixing`, plus the heavy-slepton term with
    r = m_stau/m_smuon), so for a nucleus Q_V^BSM = Z g_x Q_X eps e / (c G_F (Q^2 + M^2))
    (the Z' couples to the proton number). Since eps is proportional to g_x, Q_V^BSM ~ g_x^2 > 0
    for nu_mu (r >= 1): destructive against the negative Q_V^SM.

    ``mzp_mev`` (finite, > 0), ``gx`` (finite) and ``r`` = m_stau/m_smuon (finite, > 0)
    are scalars or arrays broadcast together into ``self.shape``. ``paper_sign`` selects
    the printed sign of the loop logarithm (see :func:`~cevnsfit.models.lmu_ltau.lepton_loop_integral`).

    >>> m = LmuLtau(mzp_mev=[10.0, 100.0], gx=1e-3)
    >>> q2 = np.array([100.0, 1000.0, 5000.0])
    >>> m.delta_qv("numu", Z=55, N=78, q2_mev2=q2).shape
    (2, 3)
    >>> bool(np.all(m.delta_qv("numu", 55, 78, q2) > 0)), float(m.delta_qv("nue", 55, 78, q2).max())
    (True, 0.0)
    """

    NAME = "lmu-ltau"
    CHARGES = U1Charges(lmu=1.0, ltau=-1.0)
    ARGUMENTS_REQUIRED = True
    COUPLING = "gx"
    PARAMETERS = (
        MZP_PARAMETER,
        Parameter("gx", "", 0.0, -G_MAX, G_MAX, "log-uniform", 1e-4, 1e-1, "U(1)_{L_mu-L_tau} gauge coupling"),
        Parameter(
            "r", "", 1.0, 0.0, 1e6, "log-uniform", 1e-2, 1e2, "r = m_stau/m_smuon (1: no slepton loop)", low_open=True
        ),
    )

    def __init__(self, mzp_mev=None, gx=None, r=1.0, paper_sign: bool = False):
        self.charges = self.CHARGES
        self._setup(mzp_mev, gx, None, r, paper_sign)

    @property
    def gx(self) -> np.ndarray:
        return self.g

    def __repr__(self) -> str:
        return f"LmuLtau(shape={self.shape}, paper_sign={self.paper_sign})"

    def _options(self) -> dict:
        return {"paper_sign": self.paper_sign}


class BminusL(GaugedU1):
    """Gauged U(1)_{B-L} boson of mass ``mzp_mev`` [MeV] and coupling ``g``.

    Charges: every lepton -1, so all neutrino flavours couple with -g; every quark
    +1/3, so g_u = g_d = g/3. For a nucleus, (2Z+N + Z+2N) g/3 = (Z+N) g and

        Q_V^BSM = -(Z + N) g^2 / (c G_F (Q^2 + M^2))   (< 0 like Q_V^SM: constructive).

    Kinetic mixing with the photon is not finite at one loop (module docstring), so it is a
    constant ``eps``, 0 by default; it adds eps e Q_em^q to g_q.

    ``mzp_mev`` (finite, > 0), ``g`` and ``eps`` (finite) broadcast into ``self.shape``.

    >>> from cevnsfit.constants import G_F
    >>> m = BminusL(mzp_mev=50.0, g=1e-4)
    >>> q2 = np.array([0.0, 1e3])
    >>> expect = -(55 + 78) * 1e-8 / (2 * np.sqrt(2) * G_F * (q2 + 50.0**2))
    >>> bool(np.allclose(m.delta_qv("numu", 55, 78, q2), expect, rtol=1e-12, atol=0))
    True
    """

    NAME = "b-l"
    CHARGES = U1Charges(b=1.0, le=-1.0, lmu=-1.0, ltau=-1.0)
    PARAMETERS = (MZP_PARAMETER, _coupling_parameter("B-L"), EPS_PARAMETER)
    EPS_DEFAULT = 0.0
    ARGUMENTS_REQUIRED = True

    def __init__(self, mzp_mev=None, g=None, *, eps=0.0):
        super().__init__(mzp_mev, g, eps=eps)

    def __repr__(self) -> str:
        return f"BminusL(shape={self.shape})"


#: The presets by catalogue name (module docstring for the sources). Where the mixing is not
#: finite, ``eps`` defaults to 0 as in ``b-l``.
U1_PRESETS: dict[str, type[GaugedU1]] = {"lmu-ltau": LmuLtau, "b-l": BminusL}
for _name, _ch in (
    ("le-lmu", U1Charges(le=1.0, lmu=-1.0)),
    ("le-ltau", U1Charges(le=1.0, ltau=-1.0)),
    ("b-3le", U1Charges(b=1.0, le=-3.0)),
    ("b-3lmu", U1Charges(b=1.0, lmu=-3.0)),
    ("b-3ltau", U1Charges(b=1.0, ltau=-3.0)),
    ("b-le-2lmu", U1Charges(b=1.0, le=-1.0, lmu=-2.0)),
    ("b-2le-lmu", U1Charges(b=1.0, le=-2.0, lmu=-1.0)),
    ("b-le-2ltau", U1Charges(b=1.0, le=-1.0, ltau=-2.0)),
    ("b-2le-ltau", U1Charges(b=1.0, le=-2.0, ltau=-1.0)),
    ("b-lmu-2ltau", U1Charges(b=1.0, lmu=-1.0, ltau=-2.0)),
    ("b-2lmu-ltau", U1Charges(b=1.0, lmu=-2.0, ltau=-1.0)),
):
    U1_PRESETS[_name] = u1_class(_ch, _name, eps_default=None if _ch.loop_finite else 0.0)
LeLmu = U1_PRESETS["le-lmu"]
LeLtau = U1_PRESETS["le-ltau"]
BminusThreeLe = U1_PRESETS["b-3le"]
BminusThreeLmu = U1_PRESETS["b-3lmu"]
BminusThreeLtau = U1_PRESETS["b-3ltau"]


__all__ = [
    "EPS_PARAMETER",
    "MZP_PARAMETER",
    "U1_PRESETS",
    "BminusL",
    "BminusThreeLe",
    "BminusThreeLmu",
    "BminusThreeLtau",
    "GaugedU1",
    "LeLmu",
    "LeLtau",
    "LmuLtau",
    "U1Charges",
    "u1_class",
]
