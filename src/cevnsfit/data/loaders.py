"""Generic loaders of registered data files and the inputs that are not data sets (limit
curves, the solar 8B tables), returning numpy arrays.

Every loader reads through :func:`cevnsfit.data.registry.fetch`, so checksums are enforced,
and raises :class:`~cevnsfit.errors.DataFileError` naming the file when the content does
not parse or does not sit on the expected binning. A data set's own loaders live in its unit
(``cevnsfit.datasets.<name>.loaders``) and use the helpers here. :func:`load_limit_curve`
converts GeV to MeV.

>>> choose("window", "X", ("C", "AC"))
Traceback (most recent call last):
...
cevnsfit.errors.UnknownNameError: window='X' is not known; choose one of ['AC', 'C']
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from cevnsfit.data.registry import fetch
from cevnsfit.errors import DataFileError, UnknownNameError

__all__ = [
    "LIMIT_CURVES",
    "bin_centres",
    "check_grid",
    "choose",
    "load_yaml",
    "load_limit_curve",
    "parse_table",
    "read_table",
    "regular_edges",
]

_GEV_IN_MEV = 1e3
_NO_SENSITIVITY = 1e5  # DarkCast sentinel: no sensitivity at this mass


def regular_edges(start: float, step: float, n: int) -> np.ndarray:
    return np.round(start + step * np.arange(n + 1), 10)


def bin_centres(edges: np.ndarray) -> np.ndarray:
    return np.round(0.5 * (edges[1:] + edges[:-1]), 10)


#: Limit curves of the L_mu - L_tau Z' in the registry: name -> legend label with citation.
LIMIT_CURVES: dict[str, str] = {
    "babar_2016_4mu": "BaBar 4μ (PRD 94, 011102 (2016), arXiv:1606.03501; via DarkCast)",
    "borexino_bauer2018_recast": (
        "Borexino (recast by Bauer, Foldenauer, Jaeckel, JHEP 07 (2018) 094, arXiv:1803.05466; via DarkCast)"
    ),
    "charm2_bauer2018_recast": (
        "CHARM-II (recast by Bauer, Foldenauer, Jaeckel, JHEP 07 (2018) 094, arXiv:1803.05466; via DarkCast)"
    ),
}


def choose(what: str, value: str, allowed) -> None:
    if value not in allowed:
        raise UnknownNameError(f"{what}={value!r} is not known; choose one of {sorted(allowed)}")


def parse_table(
    path: Path, label: str, ncols: int, nrows: int | None = None, delimiter: str | None = None
) -> np.ndarray:
    """Numeric table of a text file: skips ``#`` comments, blank lines and the title lines
    before the first numeric row (the curated copies and the original releases differ in
    their header lines, docs/data.md). With ``delimiter=","`` whitespace separates fields too."""
    try:
        lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if delimiter == ",":
            lines, delimiter = [re.sub(r"\s*,\s*|\s+", " ", ln.strip()) for ln in lines], None
        while lines:
            try:
                np.loadtxt(lines[:1], delimiter=delimiter)
                break
            except ValueError:  # a column-title line (CsI 2017 beam-off, CENNS-10 1D files)
                lines = lines[1:]
        table = np.loadtxt(lines, delimiter=delimiter, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot parse data file {label} ({path}): {exc}") from exc
    if table.shape[1] != ncols or (nrows is not None and table.shape[0] != nrows):
        want = f"{nrows if nrows is not None else 'n'} x {ncols}"
        raise DataFileError(f"data file {label} ({path}) has a table of shape {table.shape}, expected {want}")
    return table


def read_table(relpath: str, ncols: int, nrows: int | None = None, delimiter: str | None = None) -> np.ndarray:
    return parse_table(fetch(relpath), relpath, ncols, nrows, delimiter)


def check_grid(relpath: str, got: np.ndarray, expected: np.ndarray, what: str) -> None:
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=0.0, atol=1e-9):
        raise DataFileError(f"data file {relpath}: {what} are not the expected grid {np.unique(expected).tolist()}")


def load_yaml(relpath: str) -> dict:
    """Parse a registered YAML file (a release's parameter file, say) into a mapping."""
    import yaml

    path = fetch(relpath)
    try:
        content = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot parse YAML file {relpath} ({path}): {exc}") from exc
    if not isinstance(content, dict):
        raise DataFileError(f"YAML file {relpath} ({path}) is not a mapping")
    return content


# --- Limit curves (DarkCast collection) ----------------------------------------------------


def load_limit_curve(name_or_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Existing bound on g_x: (mass_mev, g_lower), NaN where there is no sensitivity.

    ``name_or_path`` is a key of :data:`LIMIT_CURVES` (read through the registry) or the
    path of a user file in the DarkCast ``.lmt`` format (``#`` header, columns mass in GeV
    and smallest excluded coupling; 1e5 marks no sensitivity).

    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ccfr.lmt"
    >>> _ = f.write_text("# mass lower\\n0.01 1e5\\n0.1 2e-3\\n")
    >>> load_limit_curve(f)
    (array([ 10., 100.]), array([  nan, 0.002]))
    """
    if isinstance(name_or_path, str) and name_or_path in LIMIT_CURVES:
        relpath = f"limits-lmu-ltau/{name_or_path}.lmt"
        table = read_table(relpath, ncols=2)
    else:
        path = Path(name_or_path)
        if not path.is_file():
            if isinstance(name_or_path, str) and not path.suffix and len(path.parts) == 1:
                raise UnknownNameError(
                    f"unknown limit curve {name_or_path!r}; known: "
                    f"{sorted(LIMIT_CURVES)}, or give the path of a .lmt file"
                )
            raise DataFileError(f"limit-curve file {path} not found")
        table = parse_table(path, str(path), ncols=2)
    g = table[:, 1].copy()
    g[g >= _NO_SENSITIVITY] = np.nan
    return table[:, 0] * _GEV_IN_MEV, g


# --- Solar 8B inputs (Winter et al. spectrum, B16 SSM; via PEANUTS) -------------------------


def load_b8_spectrum() -> tuple[np.ndarray, np.ndarray]:
    """The 8B neutrino spectrum shape of Winter et al., PRC 73, 025503: (E [MeV], f(E) [1/MeV])
    on 0-15.5 MeV in 0.1-MeV steps, with f = lambda/1000 (unit integral by the trapezoid rule
    up to 3e-5). The padding row at 20 MeV (added by PEANUTS, not in the paper) is dropped.

    >>> e, f = load_b8_spectrum()
    >>> float(e[-1]), round(float(np.trapezoid(f, e)), 4)
    (15.5, 1.0)
    """
    relpath = "solar-8b/8B_shape_Winter_et_al.csv"
    table = read_table(relpath, ncols=3, delimiter=",")
    table = table[table[:, 0] <= 15.5 + 1e-9]
    check_grid(relpath, table[:, 0], np.round(0.1 * np.arange(156), 10), "energies")
    return table[:, 0], table[:, 1] / 1000.0


def load_b8_production() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8B production in the B16-GS98 solar model (Vinyoles et al., arXiv:1611.09867):
    (r/R_sun, n_e [N_A cm^-3], fraction of 8B neutrinos produced per unit r/R_sun)."""
    relpath = "solar-8b/nudistr_b16_gs98.dat"
    table = read_table(relpath, ncols=12)
    return table[:, 0], 10.0 ** table[:, 2], table[:, 8]


def load_b16_b8_flux() -> dict[str, tuple[float, float]]:
    """B16 SSM total 8B flux [cm^-2 s^-1] and relative uncertainty per composition
    (``"GS98"``, ``"AGSS09met"``); the 8B row is the fifth of the file.

    >>> load_b16_b8_flux()["GS98"]
    (5460000.0, 0.12)
    """
    table = read_table("solar-8b/fluxes_b16.dat", ncols=4)
    if table.shape[0] < 5:
        raise DataFileError("solar-8b/fluxes_b16.dat: fewer than 5 flux rows")
    row = table[4]
    return {"GS98": (float(row[0]) * 1e6, float(row[1])), "AGSS09met": (float(row[2]) * 1e6, float(row[3]))}


__all__ += ["load_b8_spectrum", "load_b8_production", "load_b16_b8_flux"]
