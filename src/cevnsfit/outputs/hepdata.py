"""The reproduction's results as a HEPData record (docs: gallery), written with ``hepdata_lib``
(the optional extra ``hepdata``) into ``DIR/hepdata/`` (``submission.yaml`` and one YAML file per
table), and the archive HEPData uploads, ``DIR/hepdata.tar.gz``.

Tables, each with its axes, units, confidence level and a description: the reference
analysis's Table II (both readings of the significance), the 1D posteriors of g_x, the 2D
credible regions, every exclusion contour and allowed region (the reference maps, the CsI 2021
extension, XENONnT, new physics), the one-parameter new-physics limits and their dependence on
the CsI PE window. Contours are those of the grids refined near their level where the results
carry them (``contours_refined``), else those of the scan grid; each connected piece of a
contour is its own table, as HEPData draws one line per table.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

_REF = "Banerjee, Dutta, Roy, arXiv:2103.10196"
_UNITS = {"mzp_mev": "MeV", "ms_mev": "MeV", "mu_nue": "mu_B", "mu_numu": "mu_B", "mu_nutau": "mu_B"}


def _cl_text(e: dict) -> str:
    from scipy import stats

    if e.get("method") == "neyman":
        return f"{100 * float(e.get('cl', 0.9545)):.2f} % CL (Neyman construction, Feldman-Cousins ordering)"
    z = float(e.get("z", 2.0))
    cl = 100.0 * (1.0 - 2.0 * stats.norm.sf(z))
    return f"{cl:.2f} % CL (Z = {z:.4g}, Wilks, {e.get('dof', 2)} dof)"


def _var(name: str, values, units: str = "", independent: bool = False, **qualifiers):
    from hepdata_lib import Variable

    v = Variable(name, is_independent=independent, is_binned=False, units=units)
    v.values = [x if isinstance(x, str) else (float(x) if x is not None and np.isfinite(x) else "-") for x in values]
    for k, q in qualifiers.items():
        v.add_qualifier(k.replace("_", " "), q)
    return v


def _table(name: str, description: str, keywords: dict | None = None):
    from hepdata_lib import Table

    t = Table(_short(name))
    t.description = description
    for k, v in (keywords or {}).items():
        t.keywords[k] = v
    return t


def _short(name: str, limit: int = 64) -> str:
    """A HEPData table name (at most ``limit`` characters): the middle shortened, the end kept."""
    name = re.sub(r"[^A-Za-z0-9 +_.,()'%=-]", "", name)
    if len(name) <= limit:
        return name
    head, tail = name[: limit // 2 - 2], name[-(limit - limit // 2 - 1) :]
    return f"{head}...{tail}"[:limit]


def _axis(name: str) -> tuple[str, str, bool]:
    """(label, unit, log10) of an internal coordinate name."""
    log = name.startswith("log10_")
    base = name[6:] if log else name
    base = {"log10_mzp": "mzp_mev", "mzp": "mzp_mev"}.get(name, base)
    return base, _UNITS.get(base, ""), log


#: Closed contour pieces with fewer vertices than this enclose a few grid points at most: the loops
#: a band narrower than the grid leaves (the figures do not draw them either). They are left out of
#: the record and counted in the table descriptions.
MIN_LOOP_VERTICES = 12


def _resolved(lines) -> tuple[list, int]:
    keep = [
        np.asarray(line, dtype=float)
        for line in lines
        if not (len(line) < MIN_LOOP_VERTICES and np.allclose(line[0], line[-1]))
    ]
    return keep, len(lines) - len(keep)


def _contour_tables(title: str, e: dict, axes, description: str) -> list:
    lines, n_small = _resolved(e.get("contours_refined") or e.get("contours") or [])
    (nx, ux, lx), (ny, uy, ly) = (_axis(a) for a in axes)
    note = (
        f" {n_small} closed loops of fewer than {MIN_LOOP_VERTICES} vertices (a band narrower than the grid) are "
        "left out."
        if n_small
        else ""
    )
    out = []
    for k, xy in enumerate(lines):
        x = 10.0 ** xy[:, 0] if lx else xy[:, 0]
        y = 10.0 ** xy[:, 1] if ly else xy[:, 1]
        t = _table(
            f"{title} contour {k + 1} of {len(lines)}" if len(lines) > 1 else f"{title} contour",
            f"{description} Piece {k + 1} of {len(lines)} of the boundary, {_cl_text(e)}.{note}",
            {"observables": ["CL"], "phrases": ["Exclusion", "CEvNS"]},
        )
        t.add_variable(_var(nx, x, ux, independent=True))
        t.add_variable(_var(ny, y, uy, CL=_cl_text(e), method=e.get("method", "wilks")))
        out.append(t)
    return out


def _table2(res: dict) -> list:
    rows = res.get("table2") or []
    if not rows:
        return []
    t = _table(
        "Table II: g_x at fixed (M_Z', r), CsI 2017 + Ar",
        f"MLE, 68.3 % credible intervals (HPD and equal-tailed, log-uniform prior on g_x in [1e-4, 1e-1]) and "
        f"the significance of the MLE over the SM, Z = Phi^-1(1 - p/2) with p = P(chi2_eta > t), for eta = 1 "
        f"(default) and eta = 2 (the two readings of Eq. (28) of {_REF}); toy-calibrated Z where toys ran.",
        {"observables": ["Z", "g_x"], "cmenergies": [0.0]},
    )
    t.add_variable(_var("M_Z'", [r["mzp_mev"] for r in rows], "MeV", independent=True))
    t.add_variable(_var("r", [r["r"] for r in rows], independent=True))
    cols = {
        "g_x MLE": [r["gx_mle"] for r in rows],
        "g_x 68.3 % HPD low": [r["gx_68"][0] for r in rows],
        "g_x 68.3 % HPD high": [r["gx_68"][1] for r in rows],
        "g_x 68.3 % equal-tailed low": [(r.get("gx_68_equal_tailed") or [None, None])[0] for r in rows],
        "g_x 68.3 % equal-tailed high": [(r.get("gx_68_equal_tailed") or [None, None])[1] for r in rows],
        "t": [r["t"] for r in rows],
        "Z (Wilks, eta = 1)": [r["z_sigma"] for r in rows],
        "Z (Wilks, eta = 2)": [r.get("z_sigma_dof2") for r in rows],
        "published Z": [(r.get("published") or {}).get("z") for r in rows],
    }
    for name, vals in cols.items():
        t.add_variable(_var(name, vals, CL="68.3 %" if "68.3" in name else "-"))
    return [t]


def _posteriors_1d(curves: dict) -> list:
    out = []
    for (m, r), (x, dens) in sorted(curves.items()):
        if x is None or dens is None:
            continue
        dens = np.asarray(dens, dtype=float)
        t = _table(
            f"Fig. 4: posterior of g_x, M_Z' = {m:g} MeV, r = {r:g}",
            "Posterior density of log10 g_x (flat prior on [-4, -1]), CsI 2017 + CENNS-10, paper mode, normalised "
            "to its maximum.",
            {"observables": ["posterior density"]},
        )
        t.add_variable(_var("g_x", 10.0 ** np.asarray(x, dtype=float), independent=True))
        t.add_variable(
            _var("posterior density per log10 g_x (max = 1)", dens / dens.max(), M_Zprime=f"{m:g} MeV", r=f"{r:g}")
        )
        out.append(t)
    return out


def _posteriors_2d(res: dict) -> list:
    out = []
    for r, p2 in sorted((res.get("posterior_2d") or {}).items(), key=lambda kv: float(kv[0])):
        for mass in ("68", "95"):
            rings = p2.get(f"region_{mass}") or []
            e = {"contours": rings, "method": "credible", "z": 1.0 if mass == "68" else 2.0}
            for tab in _contour_tables(
                f"Fig. 6: {mass} % credible region, r = {r}",
                e,
                ("log10_mzp_mev", "log10_gx"),
                f"Highest-posterior-density region holding {mass} % of the posterior of (M_Z', g_x), CsI 2017 + "
                "CENNS-10, log-uniform priors; closed rings (outer boundaries and holes), closed along the "
                "prior box where they reach it.",
            ):
                tab.variables[-1].qualifiers = []
                tab.variables[-1].add_qualifier("credible mass", f"{mass} %")
                out.append(tab)
    return out


def _limits_table(title: str, family: dict, description: str, first: str = "data") -> list:
    params = list(next(iter(family.values())))
    t = _table(title, description, {"observables": ["upper limit"]})
    t.add_variable(_var(first, list(family), independent=True))
    for p in params:
        vals = []
        for per in family.values():
            x = per.get(p, {})
            key = next((k for k in x if k.startswith("upper_limit")), None)
            vals.append(x.get(key) if key else None)
        t.add_variable(_var(f"{p} upper limit", vals, _UNITS.get(p.split(":")[-1], ""), CL="90 %"))
    return [t]


def _new_physics(np_res: dict) -> list:
    from .report import _is_limit_family, _maps_in

    out = []
    for key, v in np_res.items():
        if key in ("conventions", "figures"):
            continue
        if key == "pe_windows" and v.get("limits"):
            out += _limits_table(
                "New physics: 90% CL limits by CsI 2017 PE window",
                v["limits"],
                f"One-parameter limits from {v['data']}, {v['conventions']}, for each CsI 2017 PE window.",
                first="CsI 2017 PE window",
            )
        elif _is_limit_family(v):
            out += _limits_table(f"New physics: {key}", v, f"{key}: one-parameter limits (Wilks, Delta chi2 = 2.706).")
        else:
            for path, m in _maps_in(v):
                out += _contour_tables(
                    f"NP: {key} " + " ".join(path),
                    m,
                    m.get("axes", ("x", "y")),
                    f"{key} ({m.get('model', '')}), {' '.join(path)}: boundary of the excluded (or allowed) region.",
                )
    return out


def build_tables(res: dict, posterior_curves: dict | None = None) -> list:
    """Every table of the record, from a results dict of the reproduction."""
    tables = _table2(res) + _posteriors_1d(posterior_curves or {}) + _posteriors_2d(res)
    for label, e in (res.get("exclusions") or {}).items():
        tables += _contour_tables(
            f"Fig. 7: {label}", e, ("log10_mzp", "log10_gx"), f"L_mu - L_tau (r = 1) exclusion from {label}."
        )
    for label, e in ((res.get("csi2021") or {}).get("exclusions") or {}).items():
        tables += _contour_tables(
            f"CsI 2021 extension: {label}",
            e,
            ("log10_mzp", "log10_gx"),
            f"L_mu - L_tau (r = 1) exclusion from {label}.",
        )
    for model, per in ((res.get("xenonnt") or {}).get("exclusions") or {}).items():
        for label, e in per.items():
            tables += _contour_tables(
                f"XENONnT: {model}, {label}", e, e.get("axes", ("x", "y")), f"{model} exclusion from {label}."
            )
    tables += _new_physics(res.get("new_physics") or {})
    seen: dict = {}
    for t in tables:  # HEPData table names are unique
        n = seen[t.name] = seen.get(t.name, 0) + 1
        if n > 1:
            t.name = f"{t.name} ({n})"
    return tables


def write_hepdata(res: dict, out_dir, posterior_curves: dict | None = None) -> str:
    """Write the record into ``out_dir``; returns a one-line notice (empty when written). Without
    ``hepdata_lib`` nothing is written and the notice says how to get it."""
    try:
        from hepdata_lib import Submission
    except ImportError:
        return "hepdata/ skipped: hepdata_lib is not installed (pip install 'cevnsfit[hepdata]')"
    sub = Submission()
    sub.comment = (
        f"cevnsfit reproduction of {_REF} and its extensions (CsI 2021, XENONnT 8B, new physics), from the public "
        "COHERENT and XENONnT data releases."
    )
    for t in build_tables(res, posterior_curves):
        sub.add_table(t)
    out = Path(out_dir).resolve()
    # hepdata_lib writes submission.tar.gz into the working directory (and remove_old empties out)
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        sub.create_files(str(out), validate=False, remove_old=True)
        shutil.move(Path(tmp) / "submission.tar.gz", out.parent / f"{out.name}.tar.gz")
    return ""


def table_names(out_dir) -> list[str]:
    """Names of the tables of a written record (from its ``submission.yaml``)."""
    import yaml

    text = (Path(out_dir) / "submission.yaml").read_text(encoding="utf-8")
    return [d["name"] for d in yaml.safe_load_all(text) if d and "name" in d]


__all__ = ["build_tables", "table_names", "write_hepdata"]
