"""Griffe extension for the API pages: render the package's plain-text docstrings as Markdown.

The docstrings are written for ``help()`` and doctest: doctest sessions (``>>>``) become
``pycon`` code blocks, reStructuredText ``.. math::`` blocks become display maths, and
Sphinx roles (``:func:`~a.b```) become inline code. Only the rendered page changes; the
source is untouched.
"""

from __future__ import annotations

import re
import textwrap

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`~?([^`]+)`")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def to_markdown(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">>>"):
            ind = _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][ind:] if _indent(lines[i]) >= ind else lines[i].strip())
                i += 1
            out += ["", "```pycon", *block, "```", ""]
            continue
        if stripped.startswith(".. math::"):
            ind = _indent(line)
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > ind):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            out += ["", "$$", textwrap.dedent("\n".join(body)).strip(), "$$", ""]
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            # reST literal block: "text::" followed by an indented block
            ind = _indent(line)
            out.append(line[:-1] if stripped != "::" else "")
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > ind):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            out += ["", "```text", textwrap.dedent("\n".join(body)).strip("\n"), "```", ""]
            continue
        out.append(_ROLE.sub(r"`\1`", line))
        i += 1
    return "\n".join(out)


class PlainDocstrings(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
