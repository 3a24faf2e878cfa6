"""Atomic result writing: a file is either the old one or the complete new one, never half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .._files import apply_umask


def _default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def write_text_atomic(path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        apply_umask(fd)  # mkstemp makes 0600; results get the user's usual mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _strict(obj):
    """Replace non-finite floats by None: strict JSON has no NaN or Infinity. In results.json a
    null number means "not computed" (e.g. a Neyman critical value at a point excluded without
    toys) or "unbounded" (an interval edge beyond the grid)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strict(v) for v in obj]
    return obj


def write_json_atomic(path, obj, indent: int | None = 1) -> None:
    """Write ``obj`` as strict JSON (``allow_nan=False``; non-finite numbers become null)."""
    write_text_atomic(path, json.dumps(_strict(to_jsonable(obj)), indent=indent, allow_nan=False))


def to_jsonable(obj):
    """Round-trip through JSON (numpy arrays and scalars become lists and numbers)."""
    return json.loads(json.dumps(obj, default=_default))
