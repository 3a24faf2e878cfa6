"""MkDocs hooks: pages that are generated from the package, so they cannot drift from it.

``<!-- cevnsfit:model-catalogue -->`` in a page is replaced by the table of every catalogue
model and its declared parameters (the same data as ``cevnsfit models --json``).
``<!-- cevnsfit:dataset-table -->`` is replaced by the table of every registered data set (the
same data as ``cevnsfit datasets --json``), ``<!-- cevnsfit:validation-table -->`` by the
validation rows of ``docs/datasets/validation.json`` (written by
``cevnsfit validate --json > docs/datasets/validation.json``), each row with the data set that
declares it.
"""

from __future__ import annotations

import json
from pathlib import Path

MARKER = "<!-- cevnsfit:model-catalogue -->"
DATASET_MARKER = "<!-- cevnsfit:dataset-table -->"
VALIDATION_MARKER = "<!-- cevnsfit:validation-table -->"
_ROOT = Path(__file__).resolve().parent.parent


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def model_catalogue_markdown() -> str:
    from cevnsfit.models import catalogue

    lines = []
    for m in catalogue():
        lines.append(f"### `{m['name']}`\n")
        lines.append(f"{m['description'].rstrip(':').rstrip('.')}. Structures: {', '.join(m['structures'])}."
                     + (f" Options (not parameters): {', '.join(m['options'])}." if m["options"] else "") + "\n")
        if not m["parameters"]:
            lines.append("No parameters.\n")
            continue
        lines.append("| parameter | unit | default | allowed range | default prior | prior range | meaning |")
        lines.append("|---|---|---|---|---|---|---|")
        for p in m["parameters"]:
            lo = "(" if p.get("low_open") else "["
            lines.append(f"| `{p['name']}` | {p['unit'] or '-'} | {_fmt(p['default'])} | "
                         f"{lo}{_fmt(p['low'])}, {_fmt(p['high'])}] | {p['prior']} | "
                         f"[{_fmt(p['prior_low'])}, {_fmt(p['prior_high'])}] | {p['description']} |")
        lines.append("")
    return "\n".join(lines)


def _dataset_page(name: str) -> str:
    """The docs page that includes the unit's docs.md (``--8<--`` snippet), relative to datasets/."""
    needle = f"src/cevnsfit/datasets/{name}/docs.md"
    for page in sorted((_ROOT / "docs" / "datasets").glob("*.md")):
        if needle in page.read_text(encoding="utf-8"):
            return page.name
    own = _ROOT / "docs" / "datasets" / f"{name}.md"  # a page not (yet) made from a unit
    return own.name if own.is_file() else ""


def dataset_table_markdown() -> str:
    from cevnsfit.datasets import registry

    lines = [
        "| name | data set | kind | modes | release | exposures | page |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, unit in registry().items():
        page = _dataset_page(name)
        link = f"[{name}]({page})" if page else "-"
        rel = f"`{unit.release['name']}`" if unit.release else "-"
        exposures = ", ".join(f"`{e}`" for e in unit.exposures)
        lines.append(
            f"| `{name}` | {unit.title} | {unit.kind} | {', '.join(unit.modes)} | {rel} | {exposures} | {link} |"
        )
    return "\n".join(lines) + "\n"


def validation_table_markdown() -> str:
    rows = json.loads((_ROOT / "docs" / "datasets" / "validation.json").read_text(encoding="utf-8"))
    lines = ["| check | ours | published | tolerance | pass | source |", "|---|---|---|---|---|---|"]
    for r in rows:
        tol = "exact" if r["tolerance"] == 0 else f"{100 * r['tolerance']:.0f} %"
        lines.append(
            f"| {r['name']} | {r['ours']:.5g} | {r['published']:.5g} | {tol} | "
            f"{'yes' if r['pass'] else 'NO'} | {r['note']} |"
        )
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, model_catalogue_markdown())
    if DATASET_MARKER in markdown:
        markdown = markdown.replace(DATASET_MARKER, dataset_table_markdown())
    if VALIDATION_MARKER in markdown:
        markdown = markdown.replace(VALIDATION_MARKER, validation_table_markdown())
    return markdown
