"""Target nuclei and nuclear form factors (docs: physics/nuclei)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import AMU_MEV, HBARC_MEV_FM, ISOTOPES, M_E, PROTON_CHARGE_RADIUS_FM
from ..errors import ParameterError, UnknownNameError, check_finite

#: Helm skin thickness s [fm] and Klein-Nystrand Yukawa range a_k [fm] (docs: physics/nuclei).
HELM_S_FM = 0.9
KN_A_FM = 0.7

FORM_FACTORS = ("helm", "klein_nystrand")


def _three_j1_over_x(x: np.ndarray) -> np.ndarray:
    """3 j1(x)/x with j1(x) = sin x/x^2 - cos x/x; a Taylor series below x = 1e-2 avoids 0/0.

    >>> float(_three_j1_over_x(np.array(0.0)))
    1.0
    """
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    xs = np.where(small, 1.0, x)
    exact = 3.0 * (np.sin(xs) / xs**2 - np.cos(xs) / xs) / xs
    x2 = x * x
    series = 1.0 - x2 / 10.0 + x2 * x2 / 280.0
    return np.where(small, series, exact)


def helm(q_mev, rn_fm: float, s_fm: float = HELM_S_FM) -> np.ndarray:
    """Helm form factor F(q) = 3 j1(q R0)/(q R0) exp(-q^2 s^2/2), R_n^2 = 3/5 R0^2 + 3 s^2.

    Helm, Phys. Rev. 104 (1956) 1466; docs: physics/nuclei. ``q_mev`` is the momentum transfer in MeV.

    >>> float(helm(0.0, 4.7))
    1.0
    """
    r0_sq = 5.0 / 3.0 * (rn_fm**2 - 3.0 * s_fm**2)
    if r0_sq <= 0:
        raise ParameterError(f"rn_fm must exceed sqrt(3) s = {np.sqrt(3) * s_fm:.3f} fm for the Helm form, got {rn_fm}")
    q_fm = np.asarray(q_mev, dtype=float) / HBARC_MEV_FM
    return _three_j1_over_x(q_fm * np.sqrt(r0_sq)) * np.exp(-0.5 * (q_fm * s_fm) ** 2)


def klein_nystrand(q_mev, rn_fm: float, a_fm: float = KN_A_FM) -> np.ndarray:
    """Klein-Nystrand form factor F(q) = 3 j1(q R0)/(q R0) / (1 + q^2 a_k^2), R_n^2 = 3/5 R0^2 + 6 a_k^2.

    Klein & Nystrand, Phys. Rev. C 60 (1999) 014903; docs: physics/nuclei.

    >>> float(klein_nystrand(0.0, 4.1))
    1.0
    """
    r0_sq = 5.0 / 3.0 * (rn_fm**2 - 6.0 * a_fm**2)
    if r0_sq <= 0:
        raise ParameterError(
            f"rn_fm must exceed sqrt(6) a_k = {np.sqrt(6) * a_fm:.3f} fm for Klein-Nystrand, got {rn_fm}"
        )
    q_fm = np.asarray(q_mev, dtype=float) / HBARC_MEV_FM
    return _three_j1_over_x(q_fm * np.sqrt(r0_sq)) / (1.0 + (q_fm * a_fm) ** 2)


@dataclass(frozen=True)
class Nucleus:
    """A target isotope: charge, neutron number, mass and the form factor it uses.

    The nuclear mass is the atomic mass minus Z electron masses (docs: physics/nuclei).

    >>> cs = Nucleus.from_table("Cs133", rn_fm=4.7, form_factor="helm")
    >>> cs.Z, cs.N, round(cs.mass_mev / 1000, 2)
    (55, 78, 123.77)
    """

    name: str
    Z: int
    N: int
    mass_mev: float
    rn_fm: float
    form_factor: str = "helm"

    def __post_init__(self):
        check_finite("rn_fm", self.rn_fm, positive=True)
        if self.form_factor not in FORM_FACTORS:
            raise UnknownNameError(f"form_factor must be one of {FORM_FACTORS}, got {self.form_factor!r}")

    @classmethod
    def from_table(cls, name: str, rn_fm: float, form_factor: str = "helm") -> Nucleus:
        if name not in ISOTOPES:
            raise UnknownNameError(f"isotope {name!r} unknown; known: {sorted(ISOTOPES)}")
        iso = ISOTOPES[name]
        mass = iso["atomic_mass_u"] * AMU_MEV - iso["Z"] * M_E
        return cls(name, iso["Z"], iso["A"] - iso["Z"], mass, rn_fm, form_factor)

    @property
    def A(self) -> int:
        return self.Z + self.N

    def q_mev(self, er_mev) -> np.ndarray:
        """Momentum transfer q = sqrt(2 m_N E_r) [MeV]."""
        return np.sqrt(2.0 * self.mass_mev * np.asarray(er_mev, dtype=float))

    def form_factor_sq(self, er_mev) -> np.ndarray:
        """F(q)^2 at recoil energy ``er_mev``."""
        q = self.q_mev(er_mev)
        f = helm(q, self.rn_fm) if self.form_factor == "helm" else klein_nystrand(q, self.rn_fm)
        return f * f

    @property
    def proton_radius_fm(self) -> float:
        """Point-proton rms radius R_p = sqrt(R_ch^2 - r_p^2) from the tabulated charge radius
        (:data:`~cevnsfit.constants.ISOTOPES`), for the charge form factor (docs: physics)."""
        iso = ISOTOPES.get(self.name)
        if iso is None or "charge_radius_fm" not in iso:
            raise UnknownNameError(
                f"no charge radius tabulated for {self.name!r}; known: "
                f"{sorted(k for k, v in ISOTOPES.items() if 'charge_radius_fm' in v)}"
            )
        return float(np.sqrt(iso["charge_radius_fm"] ** 2 - PROTON_CHARGE_RADIUS_FM**2))

    def charge_form_factor_sq(self, er_mev) -> np.ndarray:
        """F_p(q)^2: the nucleus's form-factor parameterisation with R_p in place of R_n
        (used by the magnetic-moment structure).

        >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
        >>> float(ar.charge_form_factor_sq(0.0)), bool(ar.charge_form_factor_sq(0.02) > ar.form_factor_sq(0.02))
        (1.0, True)
        """
        q = self.q_mev(er_mev)
        rp = self.proton_radius_fm
        f = helm(q, rp) if self.form_factor == "helm" else klein_nystrand(q, rp)
        return f * f

    def weak_form_factor_sq_at(self, er_mev, rn_fm) -> np.ndarray:
        """F(q; R_n)^2 in this nucleus's parameterisation for an array of neutron radii, broadcast
        against the recoil energies (``rn_fm`` shape (..., 1) with ``er_mev`` shape (n,) gives
        (..., n)); vectorised, no loop over radii.

        >>> cs = Nucleus.from_table("Cs133", 4.7, "helm")
        >>> er = np.array([0.004, 0.02])
        >>> f = cs.weak_form_factor_sq_at(er, np.array([[4.7], [5.1]]))
        >>> bool(np.allclose(f[0], cs.form_factor_sq(er), rtol=1e-14, atol=0)), f.shape
        (True, (2, 2))
        """
        rn = np.asarray(rn_fm, dtype=float)
        q_fm = self.q_mev(er_mev) / HBARC_MEV_FM
        if self.form_factor == "helm":
            r0_sq = 5.0 / 3.0 * (rn**2 - 3.0 * HELM_S_FM**2)
            damp = np.exp(-0.5 * (q_fm * HELM_S_FM) ** 2)
        else:
            r0_sq = 5.0 / 3.0 * (rn**2 - 6.0 * KN_A_FM**2)
            damp = 1.0 / (1.0 + (q_fm * KN_A_FM) ** 2)
        if np.any(r0_sq <= 0):
            raise ParameterError(
                f"neutron radius too small for the {self.form_factor} form factor of {self.name}: "
                f"{float(np.min(rn)):g} fm"
            )
        x = q_fm * np.sqrt(r0_sq)
        small = x < 1e-2
        xs = np.where(small, 1.0, x)
        f = np.sin(xs)
        f -= xs * np.cos(xs)  # 3 j1(x)/x = 3 (sin x - x cos x) / x^3
        f *= 3.0 / (xs * xs * xs)
        if np.any(small):
            x2 = x[small] ** 2
            f[small] = 1.0 - x2 / 10.0 + x2 * x2 / 280.0
        f *= damp
        return f * f

    def form_factor_sq_of(self, kind: str, er_mev) -> np.ndarray:
        """F^2 of ``kind`` ``"weak"`` (neutron radius) or ``"charge"`` (proton radius)."""
        if kind == "weak":
            return self.form_factor_sq(er_mev)
        if kind == "charge":
            return self.charge_form_factor_sq(er_mev)
        raise UnknownNameError(f"form-factor kind must be 'weak' or 'charge', got {kind!r}")

    def er_max(self, e_nu_mev) -> np.ndarray:
        """Kinematic endpoint E_r,max = 2 E^2 / (m_N + 2E) [MeV]."""
        e = np.asarray(e_nu_mev, dtype=float)
        return 2.0 * e * e / (self.mass_mev + 2.0 * e)

    def e_min(self, er_mev) -> np.ndarray:
        """Smallest neutrino energy that can give recoil E_r: (E_r + sqrt(E_r^2 + 2 m_N E_r)) / 2."""
        er = np.asarray(er_mev, dtype=float)
        return 0.5 * (er + np.sqrt(er * er + 2.0 * self.mass_mev * er))
