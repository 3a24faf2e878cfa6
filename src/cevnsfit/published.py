"""Published numbers, each once, as cited records (docs: published numbers).

Experiments, likelihoods and the report read published counts, errors, efficiencies and
widths from here and nowhere else. Each data set declares its own records in its unit
(``published:`` of its ``dataset.yaml``); this module gathers them with the reference
analysis's own (its Table II) and is the one place users query. A record carries its value, its (asymmetric)
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


_REF = "Banerjee, Dutta, Roy, arXiv:2103.10196"

#: Records of the reference analysis itself (its Table II, below); the data sets' records are
#: declared in their units (``published:`` of each ``dataset.yaml``) and gathered on first use.
_OWN: dict[str, Record] = {}


def _add(key, value, plus=None, minus=None, unit="events", source="", note=""):
    _OWN[key] = Record(
        key,
        float(value),
        None if plus is None else float(plus),
        None if minus is None else float(minus),
        unit,
        source,
        note,
    )


def _record(spec: dict, where: str) -> Record:
    """A record from a ``published:`` entry: key, value, and ``uncertainty`` (symmetric) or
    ``plus``/``minus``, unit, source, note."""
    try:
        plus = spec.get("plus", spec.get("uncertainty"))
        minus = spec.get("minus", spec.get("uncertainty"))
        return Record(
            str(spec["key"]),
            float(spec["value"]),
            None if plus is None else float(plus),
            None if minus is None else float(minus),
            str(spec.get("unit", "events")),
            str(spec.get("source", "")),
            str(spec.get("note", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UnknownNameError(
            f"{where}: bad published record {spec!r} (needs key and a numeric value): {exc}"
        ) from exc


_GATHERED: dict[str, Record] = {}


def _gather(specs, where: str) -> None:
    for spec in specs or ():
        rec = _record(spec, where)
        if rec.key in _GATHERED and _GATHERED[rec.key] != rec:
            raise UnknownNameError(f"published record {rec.key!r} is declared twice with different values ({where})")
        _GATHERED[rec.key] = rec


def _records(with_plugins: bool = False) -> dict[str, Record]:
    """Every record: the built-in units' (read as files), the reference analysis's, and with
    ``with_plugins`` those of data sets from other packages (:mod:`cevnsfit.datasets`)."""
    if not _GATHERED:
        from .data.registry import builtin_declarations, read_yaml

        _GATHERED.update(_OWN)
        for path in builtin_declarations().values():
            _gather(read_yaml(path).get("published"), str(path))
    if with_plugins:
        from .datasets.registry import registry

        for unit in registry().values():
            _gather(unit.published_records(), unit.origin)
    return _GATHERED


def __getattr__(name: str):
    if name == "RECORDS":  # every record, by key
        return dict(_records(with_plugins=True))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pair(key: str) -> tuple[float, float]:
    """(value, symmetric uncertainty) of record ``key``, the form the analysis code uses.

    >>> pair("cenns10_best_fit_cevns")
    (159.0, 43.0)
    """
    rec = get(key)
    return rec.value, rec.sigma


def get(key: str) -> Record:
    """The record ``key``; the error lists the known keys."""
    records = _records()
    if not isinstance(key, str):
        raise UnknownNameError(f"no published record {key!r}; keys are strings")
    if key not in records:
        records = _records(with_plugins=True)
    try:
        return records[key]
    except KeyError:
        raise UnknownNameError(f"no published record {key!r}; known: {', '.join(sorted(records))}") from None


__all__ = ["RECORDS", "Record", "get", "pair", "reference_table2", "validation_row"]  # noqa: F822 (RECORDS: __getattr__)

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
    if key + "_z" not in _OWN:
        return None
    return {
        "gx68": [_OWN[key + "_gx68_low"].value, _OWN[key + "_gx68_high"].value],
        "z": _OWN[key + "_z"].value,
        "source": _OWN[key + "_z"].source,
    }


def validation_row(name: str, ours: float, published: float, tolerance: float, note: str = "") -> dict:
    """One validation row (``cevnsfit validate``): our number beside a published one, passing if
    ``|ours/published - 1| <= tolerance``.

    >>> validation_row("x", 1.02, 1.0, 0.05)["pass"]
    True
    """
    ours = float(ours)
    return {
        "name": name,
        "ours": ours,
        "published": float(published),
        "tolerance": float(tolerance),
        "pass": bool(abs(ours / published - 1.0) <= tolerance),
        "note": note,
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
