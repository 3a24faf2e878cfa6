"""Loaders of the CsI[Na] 2021 release (arXiv:2110.07730 ancillary files), read through the
verified registry."""

from __future__ import annotations

import re

import numpy as np

from ...data.loaders import choose, read_table
from ...data.registry import fetch
from ...errors import DataFileError


def load_csi2021_events(window: str = "C") -> np.ndarray:
    """Unbinned beam-on events, shape (n, 2): columns PE, recoil time in µs.

    ``window`` is ``"C"`` (coincidence) or ``"AC"`` (anti-coincidence).
    """
    choose("window", window, ("C", "AC"))
    return read_table(f"coherent-csi-2021/dataBeamOn{window}.txt", ncols=2)


def load_csi2021_shape(name: str) -> tuple[np.ndarray, np.ndarray]:
    """BRN/NIN shape: (bin centres, values as in the file, not unit-normalised).

    ``name``: ``"brn_pe"``, ``"nin_pe"`` (1-PE bins) or ``"brn_time"``, ``"nin_time"``
    (0.01-µs bins).
    """
    files = {"brn_pe": "brnPE.txt", "brn_time": "brnTrec.txt", "nin_pe": "ninPE.txt", "nin_time": "ninTrec.txt"}
    choose("name", name, files)
    table = read_table(f"coherent-csi-2021/{files[name]}", ncols=2)
    return table[:, 0], table[:, 1]


def _coefficient_blocks(relpath: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(preceding comment, (a, b, c, d)) for each coefficient line of a CsI 2021 file."""
    path = fetch(relpath)
    blocks, comment = [], ""
    try:
        for line in path.read_text().splitlines():
            line = line.strip()
            if line.startswith("#"):
                comment = line.lstrip("# ")
            elif line:
                values = tuple(float(v) for v in line.split())
                if len(values) != 4:
                    raise ValueError(f"expected 4 coefficients, got {line!r}")
                blocks.append((comment, values))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot parse data file {relpath} ({path}): {exc}") from exc
    return blocks


def load_csi2021_efficiency() -> dict[str, tuple[float, float, float, float]]:
    """Efficiency coefficients (a, b, c, d) of eff(x) = a / (1 + exp(-b (x - c))) + d, x in PE.

    Keys ``"nominal"``, ``"plus"``, ``"minus"``. The file labels both variants
    "+1 sigma"; ``"plus"`` is the one whose efficiency integrated over 0-60 PE is larger
    than the nominal one (the first listed, c = 9.85 PE: higher efficiency at every
    x >= 5 PE), ``"minus"`` the one below (c = 11.88 PE). The formula is negative below
    about 7 PE; clipping is left to the caller.
    """
    relpath = "coherent-csi-2021/effCoefficients.txt"
    blocks = _coefficient_blocks(relpath)
    nominal = [v for c, v in blocks if "nominal" in c.lower()]
    variants = [v for c, v in blocks if "nominal" not in c.lower()]
    if len(nominal) != 1 or len(variants) != 2:
        raise DataFileError(
            f"data file {relpath}: expected one nominal and two variant "
            f"models, found {len(nominal)} and {len(variants)}"
        )
    x = np.linspace(0.0, 60.0, 601)
    area = [
        np.mean(a / (1 + np.exp(-b * (x - c))) + d)  # uniform grid: mean ~ integral
        for a, b, c, d in (nominal[0], *variants)
    ]
    if not (min(area[1:]) < area[0] < max(area[1:])):
        raise DataFileError(f"data file {relpath}: the two variants do not bracket the nominal efficiency")
    hi = int(area[2] > area[1])
    return {"nominal": nominal[0], "plus": variants[hi], "minus": variants[1 - hi]}


def load_csi2021_quenching() -> dict[str, tuple[float, float, float, float]]:
    """Scintillation response (a, b, c, d): E_ee = a T + b T^2 + c T^3 + d T^4, MeVee, T in MeVnr.

    Keys ``"nominal"`` and ``"model0_plus"``, ``"model0_minus"``, ``"model1_plus"``,
    ``"model1_minus"`` for the file's "Syst model <k>, +/-1 sigma" variants. The signs are
    the file's labels: model 0 +1 sigma gives more light than nominal below 11 keVnr and
    less from 11 to 37 keVnr; model 1 +1 sigma gives less light below 31 keVnr.
    """
    relpath = "coherent-csi-2021/scintRespCoefficients.txt"
    out = {}
    for comment, values in _coefficient_blocks(relpath):
        m = re.search(r"model\s*(\d+),\s*([+-])\s*1\s*sigma", comment, re.IGNORECASE)
        if "nominal" in comment.lower():
            key = "nominal"
        elif m:
            key = f"model{m.group(1)}_{'plus' if m.group(2) == '+' else 'minus'}"
        else:
            raise DataFileError(f"data file {relpath}: unrecognised model label {comment!r}")
        out[key] = values
    if "nominal" not in out or len(out) != 5:
        raise DataFileError(f"data file {relpath}: expected a nominal model and four variants, found {sorted(out)}")
    return out
