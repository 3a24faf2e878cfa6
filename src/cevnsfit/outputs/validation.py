"""Checks of our predictions and fits against published numbers (``cevnsfit validate``).

Each row: name, ours, published, relative tolerance, pass. The rows are declared by the data
sets' units (``validation:`` of each ``dataset.yaml``) and gathered here in registry order,
predictions first, then fits. Published numbers are checks, never inputs.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import published

#: Extra check providers (later layers register fits here): callables returning rows.
EXTRA_CHECKS: list[Callable[[], list[dict]]] = []
#: Order of the row groups a unit declares (``group:`` of a validation entry).
GROUPS = ("prediction", "fit", "xenon")

row = published.validation_row  # one validation row (cevnsfit.published)


def unit_rows(groups=GROUPS) -> list[dict]:
    """Every unit's rows of ``groups``, ordered by group then by registry order (each row keeps
    its ``group`` and gains ``dataset``)."""
    from ..datasets.registry import registry

    per_group: dict[str, list[dict]] = {g: [] for g in groups}
    for name, unit in registry().items():
        specs = [s for s in unit.declaration.get("validation") or [] if s.get("group", "prediction") in groups]
        if not specs:
            continue
        for r in unit.validation_rows():
            if r["group"] in per_group:
                per_group[r["group"]].append({**r, "dataset": name})
    return [r for g in groups for r in per_group[g]]


def _plain(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("group", "dataset")} for r in rows]


def prediction_checks() -> list[dict]:
    """SM predictions against the collaborations' numbers (docs: datasets, validation)."""
    return _plain(unit_rows(("prediction",)))


def fit_checks() -> list[dict]:
    """Fits against the collaborations' fitted numbers (argon Table 2, the CsI 2021 CEvNS count)."""
    return _plain(unit_rows(("fit",)))


def run_checks(xenon: bool = True) -> list[dict]:
    """Every unit's rows (``xenon=False`` leaves out the group ``xenon``), then the extra checks."""
    rows = _plain(unit_rows(GROUPS if xenon else ("prediction", "fit")))
    for extra in EXTRA_CHECKS:
        rows.extend(extra())
    return rows
