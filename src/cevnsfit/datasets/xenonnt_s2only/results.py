"""The S2-only results of the docs page (docs: datasets, xenonnt_s2only): validation rows, the
fitted CEvNS rate multiplier and the new-physics reach alone, with COHERENT (``csi2017,cenns10``)
and beside the S1+S2 data set ``xenonnt``.

Run: ``python -m cevnsfit.datasets.xenonnt_s2only.results [n_grid]`` (prints markdown tables;
``n_grid`` points per axis of each exclusion map, default 41).

Conventions: 90 % CL by Wilks, Delta(-2 ln L) = 2.706 for one parameter (magnetic moment) and
4.605 for the two-parameter maps, from :func:`cevnsfit.inference.exclusion.exclusion` of a
:class:`cevnsfit.inference.problem.Problem`. Each map is summarised by the smallest excluded
coupling at a few mediator masses (the end of the lowest allowed band in that mass column; ``*``
marks a column where the smallest couplings are themselves excluded) and by t at the SM (t_SM).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats

DELTA_90_1D = float(stats.chi2.ppf(0.90, 1))
DELTA_90_2D = float(stats.chi2.ppf(0.90, 2))
#: Data combinations compared.
COMBINATIONS = {
    "S2-only": "xenonnt_s2only",
    "S1+S2": "xenonnt",
    "COHERENT": "csi2017,cenns10",
    "S2-only + COHERENT": "xenonnt_s2only,csi2017,cenns10",
    "S1+S2 + COHERENT": "xenonnt,csi2017,cenns10",
}
#: The two-parameter maps: model, POIs, fixed parameters.
MAPS = {
    "L_mu - L_tau": ("lmu_ltau", ("mzp_mev", "gx"), {"r": 1.0}),
    "universal vector": ("universal", ("mzp_mev", "g"), {}),
    "universal scalar": ("scalar", ("ms_mev", "gs"), {}),
}
MASSES_MEV = (5.0, 20.0, 100.0, 1000.0)


def _z_for_delta(delta: float, dof: int) -> float:
    return float(stats.norm.isf(stats.chi2.sf(delta, dof) / 2.0))


def lowest_excluded(res: dict, masses=MASSES_MEV) -> dict:
    """Per mass column of an exclusion map (nearest grid column): the coupling where the lowest
    allowed band (t <= threshold) ends, i.e. the 90 % CL upper limit when the SM-like small
    couplings are allowed (log-linear interpolation of t); ``None`` if nothing is excluded above
    it. When even the smallest coupling of the grid is excluded (the data prefer new physics at
    90 % CL in this map), the value is the end of the first allowed band above it and the key
    ``"sm_excluded"`` of the column is True."""
    x_name, y_name = res["axes"]
    x, y = np.array(res[x_name]), np.array(res[y_name])
    t = np.array(res["t"])
    thr = res["t_threshold"]
    out: dict = {}
    for m in masses:
        lm = np.log10(m)
        if lm < x.min() - 1e-9 or lm > x.max() + 1e-9:
            out[m] = None
            continue
        col = t[int(np.argmin(np.abs(x - lm)))]
        allowed = np.flatnonzero(col <= thr)
        if allowed.size == 0:
            out[m] = {"limit": None, "sm_excluded": True}
            continue
        i0 = allowed[0]
        above = np.flatnonzero(col[i0:] > thr)
        if above.size == 0:
            out[m] = {"limit": None, "sm_excluded": bool(i0 > 0)}
            continue
        i = i0 + above[0]
        f = (thr - col[i - 1]) / (col[i] - col[i - 1])
        out[m] = {"limit": float(10 ** (y[i - 1] + f * (y[i] - y[i - 1]))), "sm_excluded": bool(i0 > 0)}
    return out


def reach(datasets: str, n_grid: int = 41) -> dict:
    """The 90 % CL reach of ``datasets``: the lowest excluded coupling of each map at
    ``MASSES_MEV`` and the mu_numu upper limit (mu_B)."""
    from cevnsfit.inference.exclusion import exclusion
    from cevnsfit.inference.fits import profile_interval
    from cevnsfit.inference.problem import Problem
    from cevnsfit.likelihoods import likelihood

    like = likelihood(datasets)
    out: dict = {}
    z2 = _z_for_delta(DELTA_90_2D, 2)
    for label, (model, poi, fixed) in MAPS.items():
        res = exclusion(Problem(like, model, list(poi), fixed=fixed), (n_grid, n_grid), z=z2, dof=2)
        out[label] = lowest_excluded(res)
        out[label]["t_null"] = float(res["t_null"])
    mm = profile_interval(Problem(like, "magnetic-moment", ["mu_numu"]), delta=DELTA_90_1D)
    out["mu_numu_90"] = mm.get("upper_limit")
    return out


def _fmt(v):
    if isinstance(v, dict):
        return ("*" if v["sm_excluded"] else "") + _fmt(v["limit"])
    return "—" if v is None or v != v else f"{v:.2g}"


def main(n_grid: int = 41) -> str:
    from . import cevns_rate_fit, validation_table

    lines = ["## Validation", "", validation_table(), "", "## CEvNS rate multiplier", ""]
    lines += ["| flux | signal | best fit | 68 % interval | q(1) | 90 % upper |", "|---|---|---|---|---|---|"]
    for flux in ("free", "constrained"):
        for sig in ("ours", "release"):
            r = cevns_rate_fit(flux=flux, signal=sig)
            lo, hi = r["interval_68"]
            lines.append(
                f"| {flux} | {sig} | {r['hat']:.3f} | [{lo:.3f}, {hi:.3f}] | {r['q_at_1']:.2f} | {_fmt(r['upper_90'])} |"
            )
    lines += ["", f"## New-physics reach (90 % CL, n_grid = {n_grid})", ""]
    head = "| data | " + " | ".join(f"{lab} @ {m:g} MeV" for lab in MAPS for m in MASSES_MEV)
    head += " | " + " | ".join(f"t_SM {lab}" for lab in MAPS) + " | mu_numu [mu_B] |"
    lines += [head, "|" + "---|" * (1 + len(MAPS) * (len(MASSES_MEV) + 1) + 1)]
    for name, ds in COMBINATIONS.items():
        r = reach(ds, n_grid)
        cells = [_fmt(r[lab][m]) for lab in MAPS for m in MASSES_MEV] + [f"{r[lab]['t_null']:.2f}" for lab in MAPS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_fmt(r['mu_numu_90'])} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 41))
