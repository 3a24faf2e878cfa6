"""MkDocs hook: the data-set format's key reference, generated from its JSON Schema, and
declarations quoted from the package, so the docs cannot drift from the format.

``<!-- cevnsfit:dataset-schema -->`` in a page becomes a table of every key of
``cevnsfit/declaration/dataset.schema.json`` (path, type and allowed values, required or not,
meaning); ``<!-- cevnsfit:declaration NAME -->`` becomes the ``dataset.yaml`` of the built-in
unit NAME as a YAML block.
"""

from __future__ import annotations

import re

SCHEMA_MARKER = "<!-- cevnsfit:dataset-schema -->"
DECLARATION = re.compile(r"<!-- cevnsfit:declaration ([a-z0-9_]+) -->")


def _resolve(node: dict, schema: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    return node


def _kind(node: dict, schema: dict) -> str:
    """Type and allowed values of a schema node, in words."""
    ref = node.get("$ref", "").split("/")[-1]
    node = _resolve(node, schema)
    if ref and "properties" in node:
        return f"mapping ({ref.replace('_', ' ')})"
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(_kind(n, schema) for n in node[key])
    t = node.get("type", "any")
    t = " or ".join(t) if isinstance(t, list) else t
    bounds = []
    for k, op in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"), ("maximum", "<=")):
        if k in node:
            bounds.append(f"{op} {node[k]}")
    if t == "array" and "items" in node:
        item = _resolve(node["items"], schema)
        t = f"list of {_kind(item, schema) if 'properties' not in item else 'mappings'}"
    if t == "object" and "properties" not in node and isinstance(node.get("additionalProperties"), dict):
        t = f"mapping of names to {_kind(node['additionalProperties'], schema)}"
    if t == "object" and "properties" in node:
        t = "mapping"
    if "pattern" in node:
        bounds.append(f"pattern `{node['pattern']}`")
    return t + (f" ({', '.join(bounds)})" if bounds else "")


def _rows(node: dict, schema: dict, path: str, required: bool, out: list, seen: set) -> None:
    node = _resolve(node, schema)
    desc = node.get("description", "")
    if path:
        out.append((path, _kind(node, schema), "yes" if required else "", desc))
    branches = node.get("oneOf") or node.get("anyOf")
    if branches:  # the keys of every alternative form
        for b in branches:
            _children(_resolve(b, schema), schema, path, out, seen)
        return
    _children(node, schema, path, out, seen)


def _children(node: dict, schema: dict, path: str, out: list, seen: set) -> None:
    props = node.get("properties", {})
    req = set(node.get("required", ()))
    for key, sub in props.items():
        child = f"{path}.{key}" if path else key
        if child in seen:
            continue
        seen.add(child)
        _rows(sub, schema, child, key in req, out, seen)
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        item = _resolve(node["items"], schema)
        if "properties" in item or "oneOf" in item:
            _children(item, schema, f"{path}[]", out, seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" not in node:
        inner = _resolve(extra, schema)
        if "properties" in inner or "oneOf" in inner:
            _rows(extra, schema, f"{path}.<name>", False, out, seen)


def schema_reference_markdown() -> str:
    """The generated key reference of the format (a Markdown table)."""
    from cevnsfit.declaration import schema

    s = schema()
    rows: list = []
    _children(s, s, "", rows, set())
    lines = [
        f"Generated from `cevnsfit/declaration/dataset.schema.json` ({s['title']}); "
        "`[]` marks the items of a list, `<name>` a key of your choice.\n",
        "| key | type and allowed values | required | meaning |",
        "|---|---|---|---|",
    ]
    for path, kind, req, desc in rows:
        lines.append(f"| `{path}` | {kind} | {req} | {desc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def declaration_markdown(name: str) -> str:
    from importlib import resources

    text = resources.files(f"cevnsfit.datasets.{name}").joinpath("dataset.yaml").read_text()
    return f"```yaml\n{text}```\n"


def on_page_markdown(markdown, page, config, files):
    if SCHEMA_MARKER in markdown:
        markdown = markdown.replace(SCHEMA_MARKER, schema_reference_markdown())
    return DECLARATION.sub(lambda m: declaration_markdown(m.group(1)), markdown)
