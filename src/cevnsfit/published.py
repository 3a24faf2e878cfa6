"""Published numbers, each once, as cited records (docs: published numbers).

Experiments, likelihoods and the report read published counts, errors, efficiencies and
widths from here and nowhere else. A record carries its value, its (asymmetric)
uncertainty where there is one, its unit and where it was printed. Published results of
analyses (the reference analysis's Table II, XENONnT's flux) are for side-by-side display
only: no default of the package is ever tuned toward them.

>>> rec = get("coherent_csi2017_sm_events")
>>> rec.value, rec.source.split(":")[0]
(173.0, 'COHERENT, Science 357 (2017) 1123, arXiv')
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownNameError


@dataclass(frozen=True)
class Record:
    """One published number: ``value`` with ``plus``/``minus`` uncertainties (None if none)."""

    key: str
    value: float
    plus: float | None = None
    minus: float | None = None
    unit: str = ""
    source: str = ""
    note: str = ""

    @property
    def sigma(self) -> float:
        """Symmetrised uncertainty (mean of plus and minus); raises if there is none."""
        if self.plus is None:
            raise UnknownNameError(f"published record {self.key!r} has no uncertainty")
        return 0.5 * (self.plus + (self.minus if self.minus is not None else self.plus))


_COHERENT_2017 = "COHERENT, Science 357 (2017) 1123, arXiv:1708.01294"
_COHERENT_2021 = "COHERENT, PRL 129 (2022) 081801, arXiv:2110.07730"
_CENNS10 = "COHERENT, PRL 126 (2021) 012002, arXiv:2003.10630, and its data release (Table 2)"
_REF = "Banerjee, Dutta, Roy, arXiv:2103.10196"

RECORDS: dict[str, Record] = {}


def _add(key, value, plus=None, minus=None, unit="events", source="", note=""):
    RECORDS[key] = Record(
        key,
        float(value),
        None if plus is None else float(plus),
        None if minus is None else float(minus),
        unit,
        source,
        note,
    )


# --- COHERENT CsI[Na] 2017 -------------------------------------------------------------
_add(
    "coherent_csi2017_sm_events", 173.0, 48.0, 48.0, source=_COHERENT_2017, note="SM CEvNS prediction, 6-30 PE, 0-12 us"
)
_add(
    "csi2017_prediction_sigma",
    0.28,
    unit="relative",
    source=_COHERENT_2017,
    note="uncertainty of the CEvNS prediction (flux, form factor, quenching, acceptance)",
)
_add(
    "csi2017_prompt_neutron_sigma",
    0.25,
    unit="relative",
    source=_COHERENT_2017 + " (release YAML)",
    note="prompt beam-neutron normalisation",
)

# --- COHERENT CENNS-10 (Analysis A) ---------------------------------------------------
for _name, (_v, _e) in {
    "cevns": (159.0, 43.0),
    "ss": (3131.0, 23.0),
    "prompt_brn": (553.0, 34.0),
    "delayed_brn": (10.0, 11.0),
}.items():
    _add(f"cenns10_best_fit_{_name}", _v, _e, _e, source=_CENNS10, note="best fit of the release")
for _name, (_v, _e) in {
    "cevns": (128.0, 17.0),
    "ss": (3152.0, 25.0),
    "prompt_brn": (497.0, 160.0),
    "delayed_brn": (33.0, 33.0),
}.items():
    _add(f"cenns10_cv_{_name}", _v, _e, _e, source=_CENNS10, note="central-value prediction of the release")
_add("cenns10_prediction_sigma", 0.13, unit="relative", source=_CENNS10, note="uncertainty of the CEvNS prediction")
_add("cenns10_totals_sigma_norm", 0.1328, unit="relative", source=_REF + " (chi-square of totals, Ar)")

# --- COHERENT CsI[Na] 2021 -------------------------------------------------------------
_add("coherent_csi2021_cevns_fit", 306.0, 20.0, 20.0, source=_COHERENT_2021, note="fitted CEvNS events")
_add(
    "coherent_csi2021_sm_events",
    333.0,
    43.4,
    43.4,
    source=_COHERENT_2021,
    note="SM prediction; 333 +- 11 (th) +- 42 (exp)",
)
_add(
    "csi2021_full_norm_sigma",
    0.12,
    unit="relative",
    source=_COHERENT_2021,
    note="CEvNS normalisation uncertainty of the full-mode CsI 2021 likelihood",
)
_add("coherent_csi2021_steady_state", 1273.0, 38.0, 38.0, source=_COHERENT_2021)
_add("coherent_csi2021_brn", 17.0, 4.0, 4.0, source=_COHERENT_2021)
_add("coherent_csi2021_nin", 5.0, 2.0, 2.0, source=_COHERENT_2021)
_add("csi2021_prediction_sigma", 0.13, unit="relative", source=_REF + " (CsI 2020 totals)")

# --- XENONnT solar 8B (issue 10) ------------------------------------------------------
_XE2024 = "XENONnT, PRL 133 (2024) 191002, arXiv:2408.02877 (abstract)"
_XE_MODEL = (
    "XENONnT light-WIMP data release (PRL 133, 191002), statistical_model_base.yaml (XENONnT/light_wimp_data_release)"
)
_SNO = "SNO, Aharmim et al., PRC 88 (2013) 025501 (all phases, NC; PDG Live S067SBT)"
_add("xenonnt_sr01_exposure", 3.51, unit="t y", source=_XE2024, note="SR0+SR1 exposure")
_add("xenonnt_sr01_observed", 37.0, source=_XE2024, note="events observed above 0.5 keV, SR0+SR1")
_add("xenonnt_sr01_background", 26.4, 1.4, 1.3, source=_XE2024, note="expected background, SR0+SR1")
_add(
    "xenonnt_sr01_significance",
    2.73,
    unit="sigma",
    source=_XE2024,
    note="background-only hypothesis rejected at (toy-calibrated, likely; arXiv:2406.13638)",
)
_add("xenonnt_sr01_b8_flux", 4.7e6, 3.6e6, 2.3e6, unit="cm^-2 s^-1", source=_XE2024, note="measured 8B flux")
_add(
    "xenonnt_sr01_b8_xsec",
    1.1e-39,
    0.8e-39,
    0.5e-39,
    unit="cm^2",
    source=_XE2024,
    note="flux-weighted CEvNS cross section on xenon",
)
_add(
    "xenonnt_sm_b8_rate",
    335.6,
    unit="events/(t y)",
    source="XENONnT light-WIMP data release (2024), cevns_spectrum.json (wimprates)",
    note="SM 8B CEvNS spectrum integrated over 0.45-10 keV_NR",
)
_add(
    "xenonnt_b8_flux_sno",
    5.25e6,
    0.20e6,
    0.20e6,
    unit="cm^-2 s^-1",
    source=_SNO,
    note="5.25 +- 0.16 (stat) +0.11 -0.13 (syst); relative 0.0381, XENONnT's 8B constraint",
)
_add("xenonnt_ac_sigma_sr0", 0.0904, unit="relative", source=_XE_MODEL, note="AC rate, SR0")
_add("xenonnt_ac_sigma_sr1", 0.0576, unit="relative", source=_XE_MODEL, note="AC rate, SR1")
_add("xenonnt_er_sigma", 1.0, unit="relative", source=_XE_MODEL, note="ER rate, shared by the runs")
_add("xenonnt_neutron_sigma", 0.58, unit="relative", source=_XE_MODEL, note="neutron rate, shared by the runs")
_add("xenonnt_signal_eff_sigma", 0.25, unit="relative", source=_XE_MODEL, note="signal efficiency")


def pair(key: str) -> tuple[float, float]:
    """(value, symmetric uncertainty) of record ``key``, the form the analysis code uses.

    >>> pair("cenns10_best_fit_cevns")
    (159.0, 43.0)
    """
    rec = get(key)
    return rec.value, rec.sigma


def get(key: str) -> Record:
    """The record ``key``; the error lists the known keys."""
    try:
        return RECORDS[key]
    except (KeyError, TypeError):
        raise UnknownNameError(f"no published record {key!r}; known: {', '.join(sorted(RECORDS))}") from None


__all__ = ["RECORDS", "Record", "get", "pair", "reference_table2"]

# --- reference analysis, Table II (issue 12) ---
# 1 sigma intervals of g_x (printed in units of 1e-3; stored as g_x) and the significance of the MLE over
# the SM, CsI 2017 + CENNS-10, paper-mode likelihood, M_Z' and r fixed, Wilks with 1 dof. The paper does not
# say which interval convention it used. Display only: never a target.
_TABLE2 = {
    (20, 0.01): (0.10, 4.87, 1.40),
    (20, 1): (0.13, 1.99, 1.40),
    (20, 100): (0.12, 1.46, 1.40),
    (100, 0.01): (0.10, 9.7, 1.32),
    (100, 1): (0.12, 4.3, 1.33),
    (100, 100): (0.2, 7.7, 1.33),
}
for (_m, _r), (_lo, _hi, _z) in _TABLE2.items():
    _key = f"ref_table2_{_m}mev_r{_r:g}"
    _where = _REF + f", Table II (M_Z' = {_m} MeV, r = {_r:g})"
    _add(
        _key + "_gx68_low",
        _lo * 1e-3,
        unit="dimensionless",
        source=_where,
        note="lower edge of the 1 sigma interval of g_x (convention not stated)",
    )
    _add(
        _key + "_gx68_high",
        _hi * 1e-3,
        unit="dimensionless",
        source=_where,
        note="upper edge of the 1 sigma interval of g_x (convention not stated)",
    )
    _add(_key + "_z", _z, unit="sigma", source=_where, note="significance of the MLE over the SM, Wilks, 1 dof")


def reference_table2(mzp_mev: float, r: float) -> dict | None:
    """The reference analysis's Table II cell at (M_Z' [MeV], r): ``gx68`` = [low, high] and
    ``z``, or None where the table has no entry."""
    key = f"ref_table2_{float(mzp_mev):g}mev_r{float(r):g}"
    if key + "_z" not in RECORDS:
        return None
    return {
        "gx68": [RECORDS[key + "_gx68_low"].value, RECORDS[key + "_gx68_high"].value],
        "z": RECORDS[key + "_z"].value,
        "source": RECORDS[key + "_z"].source,
    }


# --- cited numbers quoted by the reproduction report (outputs) ---------------------------
# Kept apart from the data-set records so that moving those into their units leaves this block.
_add(
    "xenonnt_sr01_b8_expected_2024",
    11.92,
    unit="events",
    source="XENONnT light-WIMP data release (PRL 133, 191002; XENONnT/light_wimp_data_release), 2024 8B "
    "templates data/b8/*tly_0.0_tqy_0.0.h5 x signal multiplier (derived)",
    note="2024 templates: SR0 4.246 + SR1 7.670",
)
