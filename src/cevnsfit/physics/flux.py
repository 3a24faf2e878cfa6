"""Neutrino sources (docs: physics, sources).

A source supplies, per flux group (a neutrino species with one spectrum and one flavour
at the detector), the flux-averaged bracket of each interaction structure,

    B_{g,s}(E_r) = Int dE dPhi_g/dE b_s(E, E_r; m_N)      over E >= E_min(E_r),

which is all the rate engine needs (:mod:`cevnsfit.rates.binned`). The stopped-pion
(decay-at-rest) source, pi+ -> mu+ nu_mu (prompt line at E_prompt), mu+ -> e+ nu_e
anti-nu_mu (delayed, Michel spectra up to m_mu/2), writes its spectra as polynomials in E
so that every B has a closed form (no quadrature, the delta line exact).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import numpy as np

from ..constants import E_DELAYED_MAX, E_PROMPT, M_MU, METRE_IN_INV_MEV
from ..errors import UnknownNameError, check_finite
from .cross_section import get_structure, poly_moment, structure_bracket

#: Flavour groups of a stopped-pion source and the neutrino flavour whose couplings they use.
FLAVOUR_GROUPS = ("numu_prompt", "nue", "numubar")
GROUP_FLAVOUR = {"numu_prompt": "numu", "nue": "nue", "numubar": "numu"}
#: Which arrival-time group each flavour group follows.
GROUP_TIMING = {"numu_prompt": "prompt", "nue": "delayed", "numubar": "delayed"}

# Normalised spectra f(E) = sum_n c_n E^n on (0, m_mu/2) (docs: physics/sources):
#   anti-nu_mu: 64 E^2/m^3 (3/4 - E/m);  nu_e: 192 E^2/m^3 (1/2 - E/m).
DELAYED_POLY = {
    "numubar": {2: 64.0 * 0.75 / M_MU**3, 3: -64.0 / M_MU**4},
    "nue": {2: 192.0 * 0.5 / M_MU**3, 3: -192.0 / M_MU**4},
}


@dataclass(frozen=True)
class FluxGroup:
    """One neutrino species of a source: ``name``, the ``flavour`` whose couplings it uses
    at the detector (``"nue"``, ``"numu"``, ``"nutau"``), whether it is an antineutrino, and
    the arrival-time group it follows (``None`` for a steady source)."""

    name: str
    flavour: str
    antineutrino: bool = False
    timing: str | None = None


class Source(abc.ABC):
    """A neutrino source seen from one detector: flux groups and flux-averaged brackets.

    Subclasses set ``groups`` and implement :meth:`flux_averaged`. The fluence/flux units are
    the subclass's (stopped pions: fluence per flavour in MeV^2; tabulated sources say which).
    """

    groups: tuple[FluxGroup, ...]

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    def group(self, name: str) -> FluxGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise UnknownNameError(f"unknown flux group {name!r}; this source has {', '.join(self.group_names)}")

    @abc.abstractmethod
    def flux_averaged(self, group: str, structure: str, er_mev, nucleus) -> np.ndarray:
        """B_{g,s}(E_r) = Int dE dPhi_g/dE b_s(E, E_r; m_N) at recoil energies ``er_mev`` [MeV],
        for the ``nucleus`` (a :class:`~cevnsfit.physics.nucleus.Nucleus`)."""


#: Flux groups of the stopped-pion source (docs: physics/sources).
STOPPED_PION_GROUPS = (
    FluxGroup("numu_prompt", "numu", False, "prompt"),
    FluxGroup("nue", "nue", False, "delayed"),
    FluxGroup("numubar", "numu", True, "delayed"),
)


def _delayed_moment(poly: dict[int, float], power: int, lo, hi) -> np.ndarray:
    """Int_lo^hi f(E) E^power dE for f = sum_n c_n E^n (n + power >= 0)."""
    return poly_moment(poly, power, lo, hi)


#: Gauss-Legendre nodes on [E_min, m_mu/2] for a structure without a stopped-pion closed form
#: (the delayed spectra are cubics and a bracket smooth for E >= E_min > 0: the quadrature
#: converges geometrically; 32 nodes reproduce the closed forms to ~1e-10, tests check 1e-9).
N_GL_DELAYED = 32


@dataclass(frozen=True)
class StoppedPionSource(Source):
    """Neutrino fluence of a stopped-pion source at a detector.

    eta = r N_POT / (4 pi L^2) neutrinos of each flavour per unit area (here MeV^2).

    >>> src = StoppedPionSource(pot=1.76e23, nu_per_pot=0.08, distance_m=19.3)
    >>> round(src.eta_per_cm2 / 1e14, 3)
    3.008
    """

    pot: float
    nu_per_pot: float
    distance_m: float

    def __post_init__(self):
        check_finite("pot", self.pot, positive=True)
        check_finite("nu_per_pot", self.nu_per_pot, positive=True)
        check_finite("distance_m", self.distance_m, positive=True)

    @property
    def eta(self) -> float:
        """Fluence per flavour in natural units [MeV^2]."""
        length = self.distance_m * METRE_IN_INV_MEV
        return self.nu_per_pot * self.pot / (4.0 * math.pi * length**2)

    @property
    def eta_per_cm2(self) -> float:
        """Fluence per flavour [cm^-2]."""
        return self.nu_per_pot * self.pot / (4.0 * math.pi * (self.distance_m * 100.0) ** 2)

    def spectrum(self, group: str, e_mev) -> np.ndarray:
        """dPhi/dE [MeV^2 per MeV] of a delayed group (the prompt line is a delta, see ``prompt_energy``)."""
        e = np.asarray(e_mev, dtype=float)
        poly = DELAYED_POLY[group]
        inside = (e > 0) & (e < E_DELAYED_MAX)
        return self.eta * np.where(inside, sum(c * e**n for n, c in poly.items()), 0.0)

    prompt_energy = E_PROMPT
    delayed_endpoint = E_DELAYED_MAX
    groups = STOPPED_PION_GROUPS

    def flux_averaged(self, group: str, structure: str, er_mev, nucleus) -> np.ndarray:
        """B_{g,s} from the structure's record (:data:`~cevnsfit.physics.cross_section.STRUCTURES`):
        the prompt line is eta b_s(E_prompt, E_r); for the delayed spectra f(E) = c2 E^2 + c3 E^3
        on (E_min, m_mu/2) the record's closed form in polynomial moments of f, e.g.

            vector:   G_F^2 m/(2 pi) Int f [1 - m E_r/E^2 + (1 - E_r/E)^2] dE  (degree <= 3)
            scalar:   m^2 E_r/(4 pi) Int f / E^2 dE
            magnetic: pi alpha^2/m_e^2 Int f (1/E_r - 1/E) dE,

        times eta; a structure without a closed form is integrated by
        :data:`N_GL_DELAYED`-point Gauss-Legendre quadrature over (E_min, m_mu/2).

        >>> from cevnsfit.physics.nucleus import Nucleus
        >>> from scipy import integrate
        >>> src = StoppedPionSource(1.76e23, 0.08, 19.3)
        >>> cs = Nucleus.from_table("Cs133", 4.7, "helm")
        >>> er = 0.01
        >>> f = lambda e: src.spectrum("nue", e) * structure_bracket("magnetic", e, er, cs.mass_mev)
        >>> num = integrate.quad(f, float(cs.e_min(er)), src.delayed_endpoint, epsabs=0, epsrel=1e-12)[0]
        >>> bool(np.isclose(src.flux_averaged("nue", "magnetic", er, cs), num, rtol=1e-9))
        True
        """
        rec = get_structure(structure)
        self.group(group)
        er = np.asarray(er_mev, dtype=float)
        m = nucleus.mass_mev
        if group == "numu_prompt":
            return self.eta * structure_bracket(rec.name, E_PROMPT, er, m)
        poly = DELAYED_POLY[group]
        lo = np.minimum(nucleus.e_min(er), E_DELAYED_MAX)
        hi = E_DELAYED_MAX
        if rec.stopped_pion is not None:
            val = rec.stopped_pion(poly, lo, hi, er, m)
        else:
            val = self._quadrature(rec.name, poly, lo, hi, er, m)
        return self.eta * np.where(lo < hi, val, 0.0)

    @staticmethod
    def _quadrature(structure: str, poly, lo, hi, er, m) -> np.ndarray:
        """Int_lo^hi f(E) b_s(E, E_r) dE by fixed Gauss-Legendre quadrature (no closed form)."""
        x, w = np.polynomial.legendre.leggauss(N_GL_DELAYED)
        lo_b, er_b = np.broadcast_arrays(np.asarray(lo, dtype=float), er)
        half = 0.5 * (hi - lo_b)[..., None]
        e = 0.5 * (hi + lo_b)[..., None] + half * x
        f = sum(c * e**n for n, c in poly.items())
        b = structure_bracket(structure, e, er_b[..., None], m)
        return (f * b * half) @ w


def poly_integral(poly: dict[int, float], lo, hi) -> np.ndarray:
    """Int_lo^hi sum_n c_n E^n dE for n >= 0, vectorised over the limits.

    >>> float(poly_integral(DELAYED_POLY["nue"], 0.0, E_DELAYED_MAX))
    1.0
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    return sum(c * (hi ** (n + 1) - lo ** (n + 1)) / (n + 1) for n, c in poly.items())
