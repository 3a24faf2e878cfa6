"""Tabulated neutrino sources: a generic table, solar 8B with MSW flavour content, reactors
(docs: physics, sources -- ``docs/physics/sources.md``).

All three implement :class:`~cevnsfit.physics.flux.Source`: per flux group they return

    B_{g,s}(E_r) = Int_{E_min(E_r)}^{E_max} dE  dPhi_g/dE(E)  b_s(E, E_r; m_N),

computed by *composite Gauss-Legendre quadrature*: the table's energy grid splits
[E_min(E_r), E_max] into segments (the first one clipped at E_min), and each segment gets
``n_gl`` Gauss-Legendre nodes. On a segment the interpolated table is a polynomial (linear
or cubic), and the brackets b_s are smooth for E >= E_min > 0, so the quadrature converges
geometrically in ``n_gl`` (the tests check that doubling ``n_gl`` changes B by < 1e-6).
There is no adaptive quadrature: the cost is fixed, n_recoil x n_segments x n_gl
evaluations, vectorised.

Units. :class:`TabulatedSource` takes dPhi/dE in any unit ``U`` per MeV and returns B in
``U`` x MeV^-3 per unit coefficient (b_s is in MeV^-3). The steady sources here
(:class:`SolarB8Source`, :class:`ReactorSource`) store their flux in natural units per
second, MeV^2 s^-1 (= cm^-2 s^-1 / :data:`~cevnsfit.constants.CM2_IN_INV_MEV2`), so that B
is in MeV^-1 s^-1: events per MeV of recoil per second per target nucleus per unit C.

Solar 8B: spectrum of Winter et al., PRC 73 (2006) 025503; total flux 5.25e6 cm^-2 s^-1
(SNO, all phases, neutral current: Aharmim et al., PRC 88 (2013) 025501); flavour content
from the adiabatic large-mixing-angle MSW survival probability, averaged over the 8B
production region of the B16-GS98 solar model (Vinyoles et al., ApJ 835 (2017) 202),
day-time, no Earth matter (Mikheyev & Smirnov 1985; Wolfenstein 1978; see e.g. the PDG
review "Neutrino mixing"). Oscillation parameters: PDG (:data:`OSCILLATION`).

Reactor: Huber-Mueller exponential-polynomial fits per fissile isotope (Huber, PRC 84
(2011) 024617 for U235, Pu239, Pu241; Mueller et al., PRC 83 (2011) 054615 for U238),
energies per fission of Ma et al., PRC 88 (2013) 014605.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..constants import CM2_IN_INV_MEV2, G_F, HBARC_MEV_FM, N_A
from ..errors import ParameterError, UnknownNameError, check_finite
from .cross_section import check_structure, structure_bracket
from .flux import FluxGroup, Source

# --- oscillation parameters and the MSW survival probability -------------------------------

#: Oscillation parameters (PDG Live, summary node S067: sin^2 th12 = 0.307 +- 0.013,
#: Delta m^2_21 = (7.53 +- 0.18)e-5 eV^2, sin^2 th13 = (2.19 +- 0.07)e-2, sin^2 th23 = 0.545
#: +- 0.021 (normal ordering)).
OSCILLATION = {"sin2_th12": 0.307, "dm2_21_ev2": 7.53e-5, "sin2_th13": 2.19e-2, "sin2_th23": 0.545}

#: V / n_e: sqrt(2) G_F n_e in eV for n_e = 1 N_A cm^-3 (= 7.6325e-14 eV).
_CM_IN_INV_EV = 1e13 / HBARC_MEV_FM * 1e-6  # 1 cm in eV^-1
V_PER_NA_CM3_EV = math.sqrt(2.0) * G_F * 1e-12 * N_A / _CM_IN_INV_EV**3


def _params(params: Mapping | None) -> dict:
    out = dict(OSCILLATION)
    if params:
        unknown = set(params) - set(OSCILLATION)
        if unknown:
            raise UnknownNameError(f"unknown oscillation parameter(s) {sorted(unknown)}; known: {sorted(OSCILLATION)}")
        out.update(params)
    for k in ("sin2_th12", "sin2_th13", "sin2_th23"):
        check_finite(k, out[k], low=0.0, high=1.0)
    check_finite("dm2_21_ev2", out["dm2_21_ev2"], positive=True)
    return out


def survival_probability(e_mev, n_e, params: Mapping | None = None) -> np.ndarray:
    """Adiabatic LMA-MSW nu_e survival probability for production at electron density ``n_e``
    [N_A cm^-3] (day-time, averaged oscillations, no Earth matter):

        beta = 2 V cos^2 th13 E / Dm^2_21,  V = sqrt(2) G_F n_e,
        cos 2 th12^m = (cos 2 th12 - beta) / sqrt((cos 2 th12 - beta)^2 + sin^2 2 th12),
        P_ee = cos^4 th13 (1 + cos 2 th12^m cos 2 th12)/2 + sin^4 th13.

    ``e_mev`` and ``n_e`` broadcast against each other.

    >>> p = OSCILLATION
    >>> vac = (1 - p["sin2_th13"]) ** 2 * (1 - 2 * p["sin2_th12"] * (1 - p["sin2_th12"])) + p["sin2_th13"] ** 2
    >>> bool(np.isclose(survival_probability(1e-6, 87.9), vac, rtol=1e-6))
    True
    """
    p = _params(params)
    e_ev = np.asarray(e_mev, dtype=float) * 1e6
    c13sq = 1.0 - p["sin2_th13"]
    c2 = 1.0 - 2.0 * p["sin2_th12"]
    s2sq = 4.0 * p["sin2_th12"] * (1.0 - p["sin2_th12"])
    beta = 2.0 * V_PER_NA_CM3_EV * np.asarray(n_e, dtype=float) * c13sq * e_ev / p["dm2_21_ev2"]
    cos2m = (c2 - beta) / np.sqrt((c2 - beta) ** 2 + s2sq)
    return c13sq**2 * 0.5 * (1.0 + cos2m * c2) + p["sin2_th13"] ** 2


def production_averaged_pee(e_mev, params: Mapping | None = None, production=None) -> np.ndarray:
    """P_ee(E) averaged over the 8B production region: Int w(r) P_ee(E; n_e(r)) dr / Int w dr,
    with ``production = (r, n_e, w)`` (default: B16-GS98, :func:`~cevnsfit.data.loaders.load_b8_production`),
    trapezoid rule over the 1000 zones of the table."""
    if production is None:
        from ..data.loaders import load_b8_production

        production = load_b8_production()
    r, n_e, w = (np.asarray(a, dtype=float) for a in production)
    e = np.asarray(e_mev, dtype=float)
    wt = np.concatenate([[0.0], np.diff(r)]) * 0.5
    wt = (np.concatenate([wt[1:], [0.0]]) + wt) * w  # trapezoid weights times w
    flat = e.reshape(-1)
    out = np.empty(flat.shape)
    for i in range(0, flat.size, 256):  # bounded memory: 256 x 1000
        out[i : i + 256] = survival_probability(flat[i : i + 256, None], n_e[None, :], params) @ wt
    return (out / wt.sum()).reshape(e.shape)


# --- the generic tabulated source -------------------------------------------------------------

#: Default Gauss-Legendre nodes per table segment.
N_GL = 6


@dataclass(frozen=True)
class _Table:
    energies: np.ndarray  # (n_t,) increasing
    values: np.ndarray  # (n_t,)


class TabulatedSource(Source):
    """A source given by tabulated spectra dPhi_g/dE on energy grids (MeV), one per group.

    ``groups``: the :class:`~cevnsfit.physics.flux.FluxGroup` list; ``tables``: group name ->
    (energies [MeV], dPhi/dE [U/MeV]); ``interpolation``: ``"linear"`` or ``"cubic"``
    (not-a-knot cubic spline, exact for cubic spectra); ``weights``: optional group name ->
    smooth function w(E) multiplying the interpolated table at the quadrature nodes (used
    for flavour fractions); ``n_gl``: Gauss-Legendre nodes per segment. The spectrum is zero
    outside each table's range.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> e = np.linspace(0.0, 10.0, 11)
    >>> src = TabulatedSource([FluxGroup("flat", "nue")], {"flat": (e, np.ones_like(e))})
    >>> xe = Nucleus.from_table("Xe132", 4.79)
    >>> # scalar bracket m^2 E_r/(4 pi E^2) integrates to m^2 E_r/(4 pi) (1/E_min - 1/10)
    >>> er = 1e-3
    >>> exact = xe.mass_mev**2 * er / (4 * np.pi) * (1 / xe.e_min(er) - 0.1)
    >>> bool(np.isclose(src.flux_averaged("flat", "scalar", er, xe), exact, rtol=1e-12))
    True
    """

    def __init__(
        self,
        groups,
        tables: Mapping,
        interpolation: str = "linear",
        weights: Mapping[str, Callable] | None = None,
        n_gl: int = N_GL,
    ):
        self.groups = tuple(groups)
        if interpolation not in ("linear", "cubic"):
            raise UnknownNameError(f"interpolation must be 'linear' or 'cubic', got {interpolation!r}")
        if int(n_gl) < 1:
            raise ParameterError(f"n_gl must be >= 1, got {n_gl}")
        self.interpolation = interpolation
        self.n_gl = int(n_gl)
        self.weights = dict(weights or {})
        self._tables: dict[str, _Table] = {}
        for g in self.groups:
            if g.name not in tables:
                raise UnknownNameError(f"no table for flux group {g.name!r}")
            e, v = (np.asarray(a, dtype=float) for a in tables[g.name])
            if e.ndim != 1 or e.shape != v.shape or e.size < 2 or np.any(np.diff(e) <= 0):
                raise ParameterError(f"table of {g.name!r} needs increasing energies and values of the same shape")
            check_finite(f"table of {g.name!r}", v)
            check_finite(f"energies of {g.name!r}", e, nonnegative=True)
            self._tables[g.name] = _Table(e, v)
        self._gl = np.polynomial.legendre.leggauss(self.n_gl)
        self._splines: dict = {}

    def table(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """(energies, dPhi/dE) of ``group``."""
        self.group(group)
        t = self._tables[group]
        return t.energies.copy(), t.values.copy()

    def _interp(self, group: str, e: np.ndarray, seg: np.ndarray) -> np.ndarray:
        t = self._tables[group]
        if self.interpolation == "linear":
            e0, e1 = t.energies[seg], t.energies[seg + 1]
            v0, v1 = t.values[seg], t.values[seg + 1]
            return v0 + (v1 - v0) * (e - e0) / (e1 - e0)
        if group not in self._splines:
            from scipy.interpolate import CubicSpline

            self._splines[group] = CubicSpline(t.energies, t.values)
        return self._splines[group](e)

    def spectrum(self, group: str, e_mev) -> np.ndarray:
        """dPhi_g/dE at ``e_mev`` (interpolated table times the group's weight), zero outside."""
        self.group(group)
        t = self._tables[group]
        e = np.asarray(e_mev, dtype=float)
        inside = (e >= t.energies[0]) & (e <= t.energies[-1])
        ec = np.clip(e, t.energies[0], t.energies[-1])
        seg = np.clip(np.searchsorted(t.energies, ec, side="right") - 1, 0, t.energies.size - 2)
        val = self._interp(group, ec, seg)
        if group in self.weights:
            val = val * self.weights[group](ec)
        return np.where(inside, val, 0.0)

    def flux_averaged(self, group: str, structure: str, er_mev, nucleus) -> np.ndarray:
        """B_{g,s}(E_r) by composite Gauss-Legendre quadrature (module docstring)."""
        check_structure(structure)
        self.group(group)
        t = self._tables[group]
        er = np.asarray(er_mev, dtype=float)
        flat = er.reshape(-1)
        lo_all = np.asarray(nucleus.e_min(flat), dtype=float)
        x, w = self._gl
        edges = t.energies
        out = np.empty(flat.shape)
        for i in range(0, flat.size, 64):  # bounded memory
            emin = lo_all[i : i + 64, None]
            lo = np.maximum(edges[None, :-1], emin)  # (n_r, n_seg)
            hi = edges[None, 1:] + 0.0 * emin
            length = np.clip(hi - lo, 0.0, None)
            e = 0.5 * (lo + hi)[..., None] + 0.5 * length[..., None] * x  # (n_r, n_seg, n_gl)
            seg = np.broadcast_to(np.arange(edges.size - 1)[None, :, None], e.shape)
            f = self._interp(group, e, seg)
            if group in self.weights:
                f = f * self.weights[group](e)
            b = structure_bracket(structure, e, flat[i : i + 64, None, None], nucleus.mass_mev)
            out[i : i + 64] = np.einsum("rsk,k,rs->r", f * b, w, 0.5 * length)
        return out.reshape(er.shape)


# --- solar 8B ------------------------------------------------------------------------------

#: Total active 8B flux [cm^-2 s^-1]: SNO all phases, NC (Aharmim et al., PRC 88 (2013) 025501).
B8_FLUX_SNO = 5.25e6
#: Flux groups of the 8B source at the detector (day-time, adiabatic MSW).
B8_GROUPS = (FluxGroup("b8_nue", "nue"), FluxGroup("b8_numu", "numu"), FluxGroup("b8_nutau", "nutau"))


class SolarB8Source(TabulatedSource):
    """Solar 8B neutrinos at Earth, split by flavour with the MSW survival probability.

    dPhi/dE = Phi_8B f(E) with f the Winter et al. shape (unit integral) and Phi_8B =
    ``flux_cm2_s`` (default :data:`B8_FLUX_SNO`), stored in MeV^2 s^-1 (module docstring).
    Groups: ``b8_nue`` = dPhi P_ee, ``b8_numu`` = dPhi (1 - P_ee) cos^2 th23, ``b8_nutau`` =
    dPhi (1 - P_ee) sin^2 th23. ``production="averaged"`` averages P_ee over the B16-GS98 8B
    production zones; a number uses that single n_e [N_A cm^-3] (87.9 is the production-weighted
    mean). P_ee is tabulated on a 0.01-MeV grid and interpolated with a cubic spline.
    """

    def __init__(
        self,
        flux_cm2_s: float = B8_FLUX_SNO,
        params: Mapping | None = None,
        production="averaged",
        interpolation: str = "linear",
        n_gl: int = N_GL,
        spectrum=None,
    ):
        from scipy.interpolate import CubicSpline

        check_finite("flux_cm2_s", flux_cm2_s, positive=True)
        self.flux_cm2_s = float(flux_cm2_s)
        self.params = _params(params)
        if spectrum is None:
            from ..data.loaders import load_b8_spectrum

            spectrum = load_b8_spectrum()
        e, f = (np.asarray(a, dtype=float) for a in spectrum)
        grid = np.linspace(0.0, max(16.0, float(e[-1])), 1601)
        if isinstance(production, str):
            if production != "averaged":
                raise UnknownNameError(f"production must be 'averaged' or an electron density, got {production!r}")
            pee = production_averaged_pee(grid, self.params)
        else:
            pee = survival_probability(grid, check_finite("production n_e", production, positive=True), self.params)
        self._pee = CubicSpline(grid, pee)
        s23 = self.params["sin2_th23"]
        pee_fn = self.survival_probability
        weights = {
            "b8_nue": pee_fn,
            "b8_numu": lambda x: (1.0 - pee_fn(x)) * (1.0 - s23),
            "b8_nutau": lambda x: (1.0 - pee_fn(x)) * s23,
        }
        phi = self.flux_cm2_s / CM2_IN_INV_MEV2 * f
        super().__init__(B8_GROUPS, {g.name: (e, phi) for g in B8_GROUPS}, interpolation, weights, n_gl)

    def survival_probability(self, e_mev) -> np.ndarray:
        """The (production-averaged) P_ee(E) this source uses."""
        return np.clip(self._pee(np.asarray(e_mev, dtype=float)), 0.0, 1.0)

    def total_spectrum(self, e_mev) -> np.ndarray:
        """Sum over flavours of dPhi/dE [MeV^2 s^-1 per MeV]."""
        return sum(self.spectrum(g.name, e_mev) for g in self.groups)

    def spectrum_averaged_pee(self) -> float:
        """Int f(E) P_ee(E) dE over the 8B shape (0.374 with the defaults)."""
        e, phi = self.table("b8_nue")
        fine = np.linspace(e[0], e[-1], 15501)
        shape = np.interp(fine, e, phi)
        return float(np.trapezoid(shape * self.survival_probability(fine), fine) / np.trapezoid(shape, fine))


# --- reactor antineutrinos ---------------------------------------------------------------------

#: Huber-Mueller coefficients alpha_k of dN/dE = exp(sum_k alpha_k E^k) [per fission per MeV],
#: E in MeV, fitted on 2-8 MeV: Huber, PRC 84 (2011) 024617, Table III (U235, Pu239, Pu241);
#: Mueller et al., PRC 83 (2011) 054615, Table VI (U238).
HUBER_MUELLER = {
    "U235": (4.367, -4.577, 2.100, -0.5294, 0.06186, -0.002777),
    "U238": (0.4833, 0.1927, -0.1283, -0.006762, 0.002233, -0.0001536),
    "Pu239": (4.757, -5.392, 2.563, -0.6596, 0.07820, -0.003536),
    "Pu241": (2.990, -2.882, 1.278, -0.3343, 0.03905, -0.001754),
}
#: Mean energy released per fission [MeV] (Ma et al., PRC 88 (2013) 014605).
ENERGY_PER_FISSION_MEV = {"U235": 202.36, "U238": 205.99, "Pu239": 211.12, "Pu241": 214.26}
#: Typical fission fractions of a pressurised-water reactor at mid-cycle (Daya Bay-like).
FISSION_FRACTIONS = {"U235": 0.564, "U238": 0.076, "Pu239": 0.304, "Pu241": 0.056}
_MEV_PER_MJ = 1e6 / 1.602176634e-13  # MeV per MJ
REACTOR_GROUPS = (FluxGroup("reactor_nuebar", "nue", antineutrino=True),)


def huber_mueller(e_mev, isotope: str) -> np.ndarray:
    """Antineutrinos per fission per MeV of ``isotope`` (Huber-Mueller fit; module docstring).

    >>> round(float(huber_mueller(4.0, "U235")), 4)
    0.2923
    """
    if isotope not in HUBER_MUELLER:
        raise UnknownNameError(f"unknown fissile isotope {isotope!r}; known: {sorted(HUBER_MUELLER)}")
    e = np.asarray(e_mev, dtype=float)
    return np.exp(np.polynomial.polynomial.polyval(e, HUBER_MUELLER[isotope]))


class ReactorSource(TabulatedSource):
    """Electron antineutrinos from a reactor core at ``distance_m`` with thermal power
    ``power_mw`` and fission ``fractions``:

        dPhi/dE = P / (sum_i f_i e_i) sum_i f_i S_i(E) / (4 pi L^2),

    S_i the Huber-Mueller spectra per fission (:func:`huber_mueller`), e_i the energy per
    fission. Tabulated on ``e_range`` (default 0.5-10 MeV, 0.05-MeV steps) and stored in MeV^2
    s^-1 per MeV. The fits are only constrained on 2-8 MeV; below 2 MeV they are an
    extrapolation (no low-energy neutrinos from neutron capture on U238, no non-equilibrium
    corrections), which the docs page discusses. No oscillation is applied (L << 1 km).

    >>> src = ReactorSource(power_mw=3900.0, distance_m=20.0)
    >>> round(src.total_flux_cm2_s / 1e13, 2)    # flux above 0.5 MeV [cm^-2 s^-1]
    1.67
    """

    def __init__(
        self,
        power_mw: float = 3900.0,
        distance_m: float = 20.0,
        fractions: Mapping | None = None,
        e_range=(0.5, 10.0, 0.05),
        interpolation: str = "linear",
        n_gl: int = N_GL,
    ):
        check_finite("power_mw", power_mw, positive=True)
        check_finite("distance_m", distance_m, positive=True)
        fr = dict(FISSION_FRACTIONS if fractions is None else fractions)
        unknown = set(fr) - set(HUBER_MUELLER)
        if unknown:
            raise UnknownNameError(f"unknown fissile isotope(s) {sorted(unknown)}; known: {sorted(HUBER_MUELLER)}")
        check_finite("fission fractions", list(fr.values()), nonnegative=True)
        if not np.isclose(sum(fr.values()), 1.0, atol=1e-6):
            raise ParameterError(f"fission fractions must sum to 1, got {sum(fr.values())}")
        self.power_mw, self.distance_m, self.fractions = float(power_mw), float(distance_m), fr
        lo, hi, step = e_range
        e = np.linspace(lo, hi, int(round((hi - lo) / step)) + 1)
        per_fission = sum(f * huber_mueller(e, iso) for iso, f in fr.items())
        e_fission = sum(f * ENERGY_PER_FISSION_MEV[iso] for iso, f in fr.items())
        fissions_per_s = self.power_mw * _MEV_PER_MJ / e_fission
        area_cm2 = 4.0 * math.pi * (self.distance_m * 100.0) ** 2
        self.fissions_per_s = fissions_per_s
        phi_cm2 = fissions_per_s * per_fission / area_cm2
        self.total_flux_cm2_s = float(np.trapezoid(phi_cm2, e))
        super().__init__(REACTOR_GROUPS, {"reactor_nuebar": (e, phi_cm2 / CM2_IN_INV_MEV2)}, interpolation, None, n_gl)


__all__ = [
    "B8_FLUX_SNO",
    "B8_GROUPS",
    "ENERGY_PER_FISSION_MEV",
    "FISSION_FRACTIONS",
    "HUBER_MUELLER",
    "N_GL",
    "OSCILLATION",
    "REACTOR_GROUPS",
    "ReactorSource",
    "SolarB8Source",
    "TabulatedSource",
    "V_PER_NA_CM3_EV",
    "huber_mueller",
    "production_averaged_pee",
    "survival_probability",
]
