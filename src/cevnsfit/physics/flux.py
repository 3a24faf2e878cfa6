"""Stopped-pion (decay-at-rest) neutrino source, PHYSICS.md section 2.

pi+ -> mu+ nu_mu (prompt line at E_prompt), mu+ -> e+ nu_e anti-nu_mu (delayed, Michel
spectra up to m_mu/2). Spectra are written as polynomials in E so that the kernel
integrals over E have closed forms (no quadrature, the delta line is exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..constants import E_DELAYED_MAX, E_PROMPT, M_MU, METRE_IN_INV_MEV
from ..errors import check_finite

#: Flavour groups of a stopped-pion source and the neutrino flavour whose couplings they use.
FLAVOUR_GROUPS = ("numu_prompt", "nue", "numubar")
GROUP_FLAVOUR = {"numu_prompt": "numu", "nue": "nue", "numubar": "numu"}
#: Which arrival-time group each flavour group follows.
GROUP_TIMING = {"numu_prompt": "prompt", "nue": "delayed", "numubar": "delayed"}

# Normalised spectra f(E) = sum_n c_n E^n on (0, m_mu/2) (PHYSICS.md section 2):
#   anti-nu_mu: 64 E^2/m^3 (3/4 - E/m);  nu_e: 192 E^2/m^3 (1/2 - E/m).
DELAYED_POLY = {
    "numubar": {2: 64.0 * 0.75 / M_MU**3, 3: -64.0 / M_MU**4},
    "nue": {2: 192.0 * 0.5 / M_MU**3, 3: -192.0 / M_MU**4},
}


@dataclass(frozen=True)
class StoppedPionSource:
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


def poly_integral(poly: dict[int, float], lo, hi) -> np.ndarray:
    """Int_lo^hi sum_n c_n E^n dE for n >= 0, vectorised over the limits.

    >>> float(poly_integral(DELAYED_POLY["nue"], 0.0, E_DELAYED_MAX))
    1.0
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    return sum(c * (hi ** (n + 1) - lo ** (n + 1)) / (n + 1) for n, c in poly.items())
