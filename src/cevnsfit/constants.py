"""Physical constants and particle data, each once, with its source.

Internal unit system: energies and masses in MeV, lengths in MeV^-1 (natural units,
hbar = c = 1) unless a name carries another unit (``_kev``, ``_fm``, ``_m``, ``_gev``).
Conversions to and from detector units happen at the edges (loaders, experiments, CLI).

Sources: PDG 2020 (arXiv:2006.xxxx review "Physical constants" and particle listings),
CODATA 2018 via :mod:`scipy.constants`, AME2020 atomic masses (Wang et al., Chinese
Phys. C 45, 030003), and arXiv:2103.10196 (values the reference analysis uses; docs: physics, constants).
"""

from __future__ import annotations

import math

from scipy import constants as _sc

#: Fermi constant [MeV^-2] (PDG: 1.1663787e-5 GeV^-2; docs: physics, constants).
G_F = 1.1663787e-5 * 1e-6
#: Low-energy weak mixing angle, MSbar (PDG; docs: physics, constants; configurable per call).
SIN2_THETA_W = 0.23857
#: Fine-structure constant at zero momentum transfer (PDG/CODATA).
ALPHA_EM = 1.0 / 137.035999
#: Elementary charge in natural (Heaviside-Lorentz) units, e = sqrt(4 pi alpha).
E_CHARGE = math.sqrt(4.0 * math.pi * ALPHA_EM)

#: Muon, tau, charged-pion and electron masses [MeV] (PDG 2020).
M_MU = 105.6583755
M_TAU = 1776.86
M_PI = 139.57039
M_E = _sc.physical_constants["electron mass energy equivalent in MeV"][0]
#: Atomic mass unit [MeV] (CODATA 2018).
AMU_MEV = _sc.physical_constants["atomic mass constant energy equivalent in MeV"][0]
#: Avogadro constant [1/mol] (exact, SI 2019).
N_A = _sc.N_A
#: Muon lifetime [microseconds] (PDG) and charged-pion lifetime [microseconds].
TAU_MU_US = 2.1969811
TAU_PI_US = 0.026033

#: hbar c [MeV fm] (CODATA 2018), to convert fm to MeV^-1.
HBARC_MEV_FM = _sc.hbar * _sc.c / (_sc.e * 1e6) * 1e15
#: 1 metre in MeV^-1.
METRE_IN_INV_MEV = 1e15 / HBARC_MEV_FM
#: 1 cm^2 in MeV^-2.
CM2_IN_INV_MEV2 = (1e13 / HBARC_MEV_FM) ** 2

#: Prompt nu_mu energy from pi+ -> mu+ nu_mu at rest [MeV] (docs: physics/sources).
E_PROMPT = (M_PI**2 - M_MU**2) / (2.0 * M_PI)
#: Endpoint of the delayed spectra, m_mu / 2 [MeV].
E_DELAYED_MAX = M_MU / 2.0

#: Atomic masses [u] (AME2020) of the isotopes the experiments use, with Z and A, and the
#: rms nuclear charge radii [fm] of Angeli & Marinova, At. Data Nucl. Data Tables 99 (2013) 69.
#: Natural-xenon abundances are in :data:`XENON_ABUNDANCE`.
ISOTOPES = {
    "Cs133": {"Z": 55, "A": 133, "atomic_mass_u": 132.905451961, "charge_radius_fm": 4.8041},
    "I127": {"Z": 53, "A": 127, "atomic_mass_u": 126.904471850, "charge_radius_fm": 4.7500},
    "Ar40": {"Z": 18, "A": 40, "atomic_mass_u": 39.9623831237, "charge_radius_fm": 3.4274},
    "Xe124": {"Z": 54, "A": 124, "atomic_mass_u": 123.90589, "charge_radius_fm": 4.7664},
    "Xe126": {"Z": 54, "A": 126, "atomic_mass_u": 125.90430, "charge_radius_fm": 4.7701},
    "Xe128": {"Z": 54, "A": 128, "atomic_mass_u": 127.90353, "charge_radius_fm": 4.7774},
    "Xe129": {"Z": 54, "A": 129, "atomic_mass_u": 128.90478, "charge_radius_fm": 4.7775},
    "Xe130": {"Z": 54, "A": 130, "atomic_mass_u": 129.90351, "charge_radius_fm": 4.7818},
    "Xe131": {"Z": 54, "A": 131, "atomic_mass_u": 130.90508, "charge_radius_fm": 4.7808},
    "Xe132": {"Z": 54, "A": 132, "atomic_mass_u": 131.90416, "charge_radius_fm": 4.7859},
    "Xe134": {"Z": 54, "A": 134, "atomic_mass_u": 133.90539, "charge_radius_fm": 4.7899},
    "Xe136": {"Z": 54, "A": 136, "atomic_mass_u": 135.90721, "charge_radius_fm": 4.7964},
}
#: Proton rms charge radius [fm] (CODATA 2018), removed in quadrature from a nuclear charge
#: radius to give the point-proton radius R_p used by the charge form factor.
PROTON_CHARGE_RADIUS_FM = 0.8414
#: Natural xenon: isotope -> abundance (mole fraction; NIST, as used by XENONnT).
XENON_ABUNDANCE = {
    "Xe124": 0.000952,
    "Xe126": 0.000890,
    "Xe128": 0.019102,
    "Xe129": 0.264006,
    "Xe130": 0.040710,
    "Xe131": 0.212324,
    "Xe132": 0.269086,
    "Xe134": 0.104357,
    "Xe136": 0.088573,
}

#: Molar masses [g/mol] of the target compounds (IUPAC standard atomic weights).
MOLAR_MASS_G = {
    "CsI": 132.90545196 + 126.90447,
    "Ar": 39.948,
}

# Quark electric charges (in units of e).
Q_EM_U = 2.0 / 3.0
Q_EM_D = -1.0 / 3.0
