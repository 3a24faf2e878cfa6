"""MkDocs hooks: pages that are generated from the package, so they cannot drift from it.

``<!-- cevnsfit:model-catalogue -->`` in a page is replaced by the table of every catalogue
model and its declared parameters (the same data as ``cevnsfit models --json``).
"""

from __future__ import annotations

MARKER = "<!-- cevnsfit:model-catalogue -->"


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


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, model_catalogue_markdown())
    return markdown
