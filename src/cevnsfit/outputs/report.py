"""The reproduction report: Markdown and HTML from the same content, each number beside its
published counterpart where one exists (published numbers from :mod:`cevnsfit.published`).

:func:`write_report` runs one function per section (:data:`SECTIONS`), each taking the
document and the results dict of :func:`cevnsfit.outputs.reproduce.reproduce`.
"""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

import numpy as np

from .. import published
from ..constants import SIN2_THETA_W
from ..inference.fits import wilks
from .io import write_text_atomic


class _Doc:
    """Builds Markdown and HTML side by side."""

    def __init__(self):
        self.md: list[str] = []
        self.html: list[str] = []

    def h(self, level: int, text: str) -> None:
        self.md.append(f"{'#' * level} {text}\n")
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def p(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def bullets(self, items) -> None:
        self.md.extend(f"- {i}" for i in items)
        self.md.append("")
        self.html.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")

    def table(self, header, rows) -> None:
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("|" + "---|" * len(header))
        self.md.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
        self.md.append("")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        self.html.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def img(self, stem: str, caption: str) -> None:
        self.md.append(f"![{caption}](figures/{stem}.png)\n\n*{caption}* ([PDF](figures/{stem}.pdf))\n")
        self.html.append(
            f'<figure><img src="figures/{stem}.png" alt="{html.escape(caption)}" style="max-width:900px">'
            f'<figcaption>{html.escape(caption)} (<a href="figures/{stem}.pdf">PDF</a>)</figcaption></figure>'
        )


def _g(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and x == 0.0:
        return "0 (SM)"
    return f"{x:.3g}"


def _pm(v) -> str:
    return f"{v[0]:.4g} ± {v[1]:.3g}"


def _pub(key: str, fmt: str = "g") -> str:
    """A published record as 'value ± sigma' (or 'value +plus -minus' when asymmetric)."""
    rec = published.get(key)
    if rec.plus is None:
        return format(rec.value, fmt)
    if rec.minus is None or rec.minus == rec.plus:
        return f"{rec.value:{fmt}} ± {rec.plus:{fmt}}"
    return f"{rec.value:{fmt}} +{rec.plus:{fmt}} -{rec.minus:{fmt}}"


def _num(x, fmt: str = ".2f") -> str:
    """A number for a table cell; '-' where results.json has null (not computed, or unbounded)."""
    return "-" if x is None else format(x, fmt)


def _iv(v) -> str:
    if not v:
        return "-"
    return f"[{v[0]:.3g}, {v[1]:.3g}]"


def write_report(res: dict, out_dir) -> None:
    """Write ``report.md`` and ``report.html`` into ``out_dir`` from the results dict."""
    d = _Doc()
    for section in SECTIONS:
        section(d, res)
    _write_files(d, Path(out_dir))


def _write_files(d: _Doc, out: Path) -> None:
    write_text_atomic(out / "report.md", "\n".join(d.md) + "\n")
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;font-size:90%}"
        "figcaption{font-size:85%;color:#444}"
    )
    write_text_atomic(
        out / "report.html",
        f"<!doctype html><html><head><meta charset='utf-8'><title>cevnsfit report"
        f"</title><style>{style}</style></head><body>{''.join(d.html)}</body></html>",
    )


def _header(d: _Doc, res: dict) -> None:
    s = res["settings"]
    d.h(1, "cevnsfit: reproduction of Banerjee, Dutta & Roy, arXiv:2103.10196")
    d.p(
        f"Generated {_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M UTC} in {res['runtime_s']:.0f} s "
        f"({'quick' if s['quick'] else 'full'} settings, mode '{s['mode']}', sampler {s['sampler']}, seed {s['seed']}). "
        "Every number is recomputed from the public COHERENT data releases; machine-readable values are in "
        "results.json (units: M_Z' in MeV, g_x dimensionless, counts in events) and as a HEPData record in "
        "hepdata/ (where hepdata_lib is installed)."
    )
    d.p(
        "Published counterparts: COHERENT's numbers (releases and papers), the check values of the "
        "specification and the reference analysis's own Table II (intervals and significances, from "
        "cevnsfit.published) are set beside ours. They are shown for comparison only; no default of the "
        "analysis is tuned toward them."
    )


def _validation(d: _Doc, res: dict) -> None:
    d.h(2, "Validation against published numbers")
    d.table(
        ["quantity", "ours", "published", "tolerance", "pass"],
        [
            [
                r["name"],
                f"{r['ours']:.4g}",
                f"{r['published']:.4g}",
                f"{100 * r['tolerance']:.0f} %",
                "yes" if r["pass"] else "NO",
            ]
            for r in res["validation"]
        ],
    )


def _fig3b(d: _Doc, res: dict) -> None:
    d.h(2, "Fig. 3b: recoil spectrum at CENNS-10")
    f3 = res["fig3b"]
    d.p(
        f"SM {f3['sm_total']:.2f} events in the Analysis A grid; L_mu - L_tau (20 MeV, 5.6e-4, r = 1) "
        f"{f3['model_total']:.2f} events, ratio {f3['ratio_to_sm']:.4f}."
    )
    d.img("fig3b_recoil_spectrum_cenns10", "dN/dE_r at CENNS-10: SM and the L_mu - L_tau benchmark")


def _table1(d: _Doc, res: dict) -> None:
    d.h(2, "Table I: argon cross-check")
    pub = res["table1_published"]
    d.table(
        ["component", "ours (nominal shapes)", "ours (with release shape systematics)", "COHERENT (Table 2)"],
        [
            [k, _pm(res["table1"][k]), _pm(res["table1_shape_systematics"][k]), _pm(pub[k])]
            for k in ("cevns", "ss", "prompt_brn", "delayed_brn")
        ],
    )


def _z_dof2(row: dict) -> float:
    """Z of a Table II row with eta = 2 (older results.json without ``z_sigma_dof2``: from t)."""
    return row["z_sigma_dof2"] if "z_sigma_dof2" in row else wilks(row["t"], 2)[1]


_TABLE2_HEADER = [
    "M_Z' [MeV]",
    "r",
    "g_x MLE",
    "68.3 % HPD (sampler)",
    "68.3 % HPD (grid density)",
    "68.3 % equal-tailed (grid density)",
    "68.3 % equal-tailed (sampler)",
    "published 1 sigma",
    "Z Wilks, eta = 1 (default)",
    "Z Wilks, eta = 2",
    "p Wilks / p Chernoff",
    "Z toys",
    "published Z",
]


def _table2_rows(res: dict) -> list[list[str]]:
    rows = []
    for r in res["table2"]:
        pub = r.get("published") or {}
        toy = _toy_row(res, r["mzp_mev"], r["r"])
        hpd_d = r.get("gx_68_hpd_density") or []
        rows.append(
            [
                f"{r['mzp_mev']:g}",
                f"{r['r']:g}",
                _g(r["gx_mle"]),
                _iv(r["gx_68"]),
                " u ".join(_iv(seg) for seg in hpd_d) or _iv(r.get("gx_68_grid")),
                _iv(r.get("gx_68_equal_tailed")),
                _iv(r.get("gx_68_equal_tailed_sampler")),
                _iv(pub.get("gx68")),
                f"{r['z_sigma']:.2f}",
                f"{_z_dof2(r):.2f}",
                f"{r['p']:.3f} / {r.get('p_chernoff', float('nan')):.3f}",
                f"{_num(toy['z_toys'], '.2f')} (p = {_num(toy['p_toys'], '.3f')} ± {_num(toy['p_toys_err'], '.3f')})"
                if toy
                else "-",
                f"{pub['z']:.2f}" if pub else "-",
            ]
        )
    return rows


def _rng(vals, fmt: str = ".2f") -> str:
    """'a-b' of a list of numbers, or 'a' when they round to one value."""
    lo, hi = format(min(vals), fmt), format(max(vals), fmt)
    return lo if lo == hi else f"{lo}-{hi}"


def _eta_paragraph(rows: list[dict]) -> str:
    """The two readings of the reference analysis's Eq. (28) for the significance of the MLE."""
    by_mass: dict = {}
    for r in rows:
        by_mass.setdefault(r["mzp_mev"], []).append(r)
    parts, d1, d2 = [], [], []
    for m, rs in sorted(by_mass.items()):
        ts = [r["t"] for r in rs]
        z1 = [r["z_sigma"] for r in rs]
        z2 = [_z_dof2(r) for r in rs]
        zp = [r["published"]["z"] for r in rs if r.get("published")]
        d1 += [abs(a - b["published"]["z"]) for a, b in zip(z1, rs) if b.get("published")]
        d2 += [abs(a - b["published"]["z"]) for a, b in zip(z2, rs) if b.get("published")]
        parts.append(
            f"at {m:g} MeV t = {min(ts):.2f}-{max(ts):.2f} gives Z = {min(z1):.2f}-{max(z1):.2f} with eta = 1 and "
            f"{min(z2):.2f}-{max(z2):.2f} with eta = 2" + (f" (published {min(zp):.2f}-{max(zp):.2f})" if zp else "")
        )
    closer = ""
    if d1:
        e1, e2 = float(np.mean(d1)), float(np.mean(d2))
        closer = (
            f" On average the published Z lie {e1:.2f} from our eta = 1 values and {e2:.2f} from our eta = 2 "
            f"values: they resemble the eta = {1 if e1 < e2 else 2} reading."
        )
    return (
        "Two readings of the significance. The reference analysis's Eq. (28) computes Z = Phi^-1(1 - p/2) with "
        "p = Pr(chi2_eta > t), eta being 'the difference between the number of estimated parameters'. With "
        "M_Z' and r fixed one parameter (g_x) is estimated, so eta = 1, our default (`cevnsfit fit --dof` "
        "offers the other); counting M_Z' and g_x gives eta = 2. Our t: "
        + "; ".join(parts)
        + "."
        + closer
        + " Neither reading is tuned toward the published values; the toys (column 'Z toys') calibrate the "
        "significance without either assumption."
    )


def _table2(d: _Doc, res: dict) -> None:
    """Table II with both interval conventions, both readings of eta, every significance (Wilks,
    Chernoff, toys) and the reference analysis's own values (cevnsfit.published)."""
    d.h(2, "Table II and Fig. 4: g_x at fixed (M_Z', r), CsI 2017 + Ar")
    d.table(_TABLE2_HEADER, _table2_rows(res))
    d.p(
        "HPD: the shortest set of log10 g_x holding 68.3 % of the posterior (flat prior in log10 g_x on "
        "[-4, -1]); equal-tailed: the 15.87 % and 84.13 % quantiles. The grid-density columns come from the "
        "posterior on 2001 points, checked against 4001 (largest edge shift in the table below); the sampler "
        "columns from the nested-sampling weights. Z Wilks: Phi^-1(1 - p/2) with p = P(chi2_eta > t), the "
        "reference analysis's convention (for eta = 1 it equals sqrt(t)); p Chernoff = p Wilks / 2 (eta = 1), the "
        "boundary mixture 1/2 delta_0 + 1/2 chi2_1 for a coupling tested at 0 (its one-sided Z is again sqrt(t)); "
        "Z toys: the two-sided convention with p from toys under the SM (hybrid, nuisances from priors). Where the "
        "toy p is larger than the Wilks p, Wilks overstates the evidence; here both asymptotic p-values do."
    )
    d.p(_eta_paragraph(res["table2"]))
    conv = [r["grid_convergence"] for r in res["table2"] if r.get("grid_convergence")]
    if conv:
        worst = max(max(c["max_edge_shift"].values()) for c in conv)
        d.p(
            f"Grid convergence: refining 2001 -> 4001 points moves no HPD or equal-tailed edge (68 % or 95 %) "
            f"by more than {worst:.1e} in log10 g_x (tolerance {conv[0]['tolerance']:g})."
        )
    d.p(_convention_paragraph(res["table2"]))
    _neyman_1d(d, res)


def _segments(segs, low="low", high="high") -> str:
    return " u ".join(f"[{s[low]:.3g}, {s[high]:.3g}]" for s in segs) or "empty"


def _neyman_1d(d: _Doc, res: dict) -> None:
    if not res.get("neyman_1d"):
        return
    rows = []
    for f in res["neyman_1d"]:
        pc = f["profile_chernoff"]
        rows.append(
            [
                f"{f['mzp_mev']:g}",
                f"{f['r']:g}",
                f"{f['cl']:.4f}",
                _segments(f["segments"]),
                "yes" if f["null_in_set"] else "no",
                _segments(pc["segments"]),
                "yes" if pc["null_in_interval"] else "no",
                f"{pc['z_null_chernoff']:.2f}",
                f"{f['n_toys']} x {f['grid_points']}",
            ]
        )
    d.table(
        [
            "M_Z' [MeV]",
            "r",
            "CL",
            "Feldman-Cousins set of g_x (toys)",
            "SM (g_x = 0) in the FC set",
            "profile-likelihood interval (Chernoff boundary)",
            "SM in it",
            "Z_SM Chernoff",
            "toys x points",
        ],
        rows,
    )
    d.p(
        "Frequentist sets: the Neyman construction with likelihood-ratio (Feldman-Cousins) ordering, the "
        "maximum over the prior range of g_x and g_x = 0; a set whose lowest edge is the grid's lowest point "
        "and contains the SM extends down to g_x = 0 (an upper limit)."
    )


def _g2(d: _Doc, res: dict) -> None:
    g2 = res["g2_band"]
    d.p(
        "Muon g-2 favoured band (2 sigma): "
        + "; ".join(
            f"{name}: M = {m} MeV -> g_x in [{v['gx_low']:.3g}, {v['gx_high']:.3g}] (central {v['gx_central']:.3g})"
            for name, per in g2.items()
            for m, v in per.items()
        )
        + "."
    )
    d.img("fig4_posterior_1d", "1D posteriors of g_x with 68 % HPD intervals, MLE and the g-2 band")


def _fig5(d: _Doc, res: dict) -> None:
    d.h(2, "Fig. 5: chi-square of the CsI 2020 and argon totals (r = 1)")
    rows = []
    for label, key in (
        ("argon normalised to 128 (published SM)", "chi2_totals"),
        ("argon from our own prediction", "chi2_totals_computed_argon"),
    ):
        for c in res[key]:
            rows.append(
                [
                    label,
                    f"{c['mzp_mev']:g}",
                    f"{c['chi2_sm']:.3f}",
                    "; ".join(f"g_x = {m['gx']:.3g}: {m['chi2']:.3f}" for m in c["minima"]),
                    f"{c['global_minimum']['gx']:.3g}" if c["global_minimum"] else "-",
                ]
            )
    d.table(["argon normalisation", "M_Z' [MeV]", "chi2 (SM)", "local minima", "global minimum at g_x"], rows)
    d.img(
        "fig5_chi2_totals", "chi-square of totals against g_x; solid: argon normalised to 128, dashed: our argon total"
    )


def _fig6(d: _Doc, res: dict) -> None:
    d.h(2, "Fig. 6: 2D posteriors")
    n = res["settings"].get("grid_2d", 121)
    d.p(
        "68 % and 95 % highest-density credible regions in (M_Z', g_x) for r = 0.01, 1, 100; log-uniform priors "
        "on the ranges of the specification. The regions are drawn from the posterior density evaluated on a "
        f"{n} x {n} grid (no sampling noise, so no islands that are not in the density); the grid is checked "
        f"against a 2x refined one ({2 * n - 1} per axis), and the nested-sampling draws are kept and "
        "cross-checked: the fraction of their weight inside the grid's regions should be 0.683 and 0.954. "
        "A region that reaches the edge of the prior box is closed along the frame there, without a line."
    )
    rows = []
    for r, p2 in sorted(res["posterior_2d"].items(), key=lambda kv: float(kv[0])):
        conv = p2.get("convergence", {})
        cc = p2.get("sampler_cross_check", {}).get("weight_in_grid_regions", {})
        dm = conv.get("disagreeing_mass", {})
        rows.append(
            [
                r,
                str(len(p2["region_68"])),
                str(len(p2["region_95"])),
                f"{dm.get('68', float('nan')):.4f} / {dm.get('95', float('nan')):.4f}",
                "yes" if conv.get("converged") else "NO",
                f"{cc.get('68', float('nan')):.3f} / {cc.get('95', float('nan')):.3f}",
                f"{p2.get('time_s_with_check', float('nan')):.1f}",
            ]
        )
    d.table(
        [
            "r",
            "rings 68 %",
            "rings 95 %",
            "mass on which the two grids' regions disagree (68/95)",
            "converged (< 1 %)",
            "sampler weight inside grid regions (68/95)",
            "time incl. check [s]",
        ],
        rows,
    )
    d.img("fig6_posterior_2d", "2D posteriors of (M_Z', g_x), CsI 2017 + Ar (grid density): 68 % and 95 % regions")


def _threshold_text(e: dict) -> str:
    if e.get("method", "wilks") == "wilks":
        return f"{e['t_threshold']:.2f} ({e['dof']} dof)"
    return f"toy quantile at CL {e['cl']:.4f} (max {e['construction']['t_critical_max']:.2f})"


def _fig7(d: _Doc, res: dict) -> None:
    d.h(2, "Fig. 7: 2 sigma exclusions")
    ex = res["exclusions"]
    d.table(
        [
            "data",
            "method",
            "t at the SM",
            "threshold t (Z = 2)",
            "Z of the SM (Wilks)",
            "contour lines",
            "on the refined grid",
        ],
        [
            [
                label,
                e.get("method", "wilks"),
                f"{e['t_sm']:.2f}",
                _threshold_text(e),
                f"{wilks(e['t_sm'], e.get('dof', 2))[1]:.2f}" if e.get("method", "wilks") == "wilks" else "-",
                len(e["contours"]),
                len(e["contours_refined"]) if "contours_refined" in e else "-",
            ]
            for label, e in ex.items()
        ],
    )
    d.p(
        "Wilks: t(theta) = -2 ln L(theta)/L(theta_hat) with theta_hat the best point of the plane (or the SM); a "
        "point is excluded where Z_Wilks > 2. Where the data prefer a reduced rate (t at the SM above the "
        "threshold) the SM corner itself is excluded and the allowed region is a band. 'contour lines' counts "
        "the polylines of the boundary on the scan grid (results.json `contours`); 'on the refined grid' counts "
        "them on the grid the figure is drawn from, refined near the contour level (t re-evaluated on a grid "
        "several times finer in every cell the level crosses, `contours_refined`): a thin allowed band at large "
        "coupling (where the BSM amplitude flips the sign of Q_V) that the scan grid breaks into small loops is "
        "one band there."
    )
    d.img("fig7_exclusions", "2 sigma exclusions with the g-2 band and existing bounds (BaBar, Borexino, CHARM-II)")
    for label, e in ex.items():
        if e.get("method") == "neyman":
            _neyman_map(d, label, e)


def _neyman_map(d: _Doc, label: str, e: dict) -> None:
    c = e["construction"]
    n_pts = int(np.sum(np.asarray(c["constructed"])))
    shape = np.asarray(c["constructed"]).shape
    w_label = label.replace(" [neyman]", "")
    w_frac = e.get("wilks_sm_row_excluded_fraction")
    n_frac = e.get("sm_row_excluded_fraction")
    d.p(
        f"Toy-calibrated (Neyman) map, {w_label}, r = 1: at each of {n_pts} points of a {shape[0]} x {shape[1]} "
        f"construction grid, {c['n_toys']} pseudo-data sets are drawn at that point (nuisances from their "
        "priors), t is evaluated with the maximum over the construction grid and the SM (Feldman-Cousins "
        "likelihood-ratio ordering), and the critical value is the toys' 95.45 % quantile; points with observed "
        f"t > {c['t_skip']:g} are excluded without toys (the largest critical value found is "
        f"{c['t_critical_max']:.2f}). Between construction points t_c is interpolated linearly. The "
        f"construction took {e.get('time_s', float('nan')):.0f} s. Along the lowest coupling (g_x = 1e-4, "
        f"SM-like) Wilks excludes {100 * (w_frac or 0):.0f} % of the masses, the toys {100 * (n_frac or 0):.0f} %."
    )
    d.img("fig7_exclusion_wilks_vs_neyman", f"{w_label}: Wilks (left) and toy-calibrated (right) 2 sigma contours")


def _csi2021(d: _Doc, res: dict) -> None:
    d.h(2, "Beyond the reference analysis: the full CsI 2021 data")
    fit = res["csi2021"]["sm_fit"]
    d.p(
        f"SM-shape fit of the CEvNS normalisation: {fit['cevns'][0]:.1f} ± {fit['cevns'][1]:.1f} events "
        f"(COHERENT: {_pub('coherent_csi2021_cevns_fit')}); steady state {fit['ss']:.0f} (COHERENT "
        f"{_pub('coherent_csi2021_steady_state')}); window exposure ratio rho = {fit['rho']:.4f} from the "
        f"PE >= 60 side band; CEvNS significance {fit['significance_cevns']:.1f} sigma."
    )
    rows = []
    ds_of = {"CsI 2021": "csi2021", "CsI 2021 + Ar": "csi2021,cenns10"}
    for label, fits in res["csi2021"]["significance"].items():
        for f in fits:
            toy = _toy_row(res, f["mzp_mev"], f["r"], ds_of.get(label, ""))
            rows.append(
                [
                    label,
                    f"{f['mzp_mev']:g}",
                    f"{f['r']:g}",
                    _g(f["gx_mle"]),
                    f"{f['t']:.2f}",
                    f"{f['z_sigma']:.2f}",
                    f"{np.sqrt(max(f['t'], 0.0)):.2f}",
                    f"{_num(toy['z_toys'], '.2f')} (p = {_num(toy['p_toys'], '.3f')} ± {_num(toy['p_toys_err'], '.3f')})"
                    if toy
                    else "not run",
                ]
            )
    d.table(["data", "M_Z' [MeV]", "r", "g_x MLE", "t", "Z (Wilks)", "Z (Chernoff)", "Z (toys)"], rows)
    d.img(
        "ext_csi2021_exclusions", "exclusions from the CsI 2021 energy x time likelihood beside the totals chi-square"
    )


def _choices(d: _Doc, res: dict) -> None:
    d.h(2, "How the analysis choices move the results (r = 1)")
    rows = []
    for window, per in res["pe_windows"].items():
        for label, fits in per.items():
            for f in fits:
                rows.append(
                    [f"CsI window {window}", label, f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['z_sigma']:.2f}"]
                )
    for label, fits in res["choices"].items():
        for f in fits:
            rows.append([label, "csi2017+cenns10", f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['z_sigma']:.2f}"])
    for label, fits in res.get("full_mode", {}).items():
        for f in fits:
            rows.append(
                ["full mode (profiled nuisances)", label, f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['z_sigma']:.2f}"]
            )
    d.table(["choice", "data", "M_Z' [MeV]", "g_x MLE", "Z (Wilks)"], rows)
    d.p(
        "These variants are compared at the Wilks level only: the toys (next section) calibrate the baseline. "
        "For the baseline CsI 2017 + Ar the toy significance is well below the Wilks one (Table II), and the "
        "variants' Wilks Z should be read with the same caution."
    )


def _toys(d: _Doc, res: dict) -> None:
    if not res.get("toys"):
        return
    d.h(2, "Beyond Wilks: toy-MC calibration")
    d.p(
        "The SM sits on the boundary of g_x >= 0 and the paper-mode CsI likelihood's flat prior on the "
        "steady-state mean puts its posterior at n_AC + 1 per bin: toys generated under the SM (nuisances "
        "drawn from their priors) show how far the Wilks p-value is from the true one."
    )
    header = ["data", "M_Z' [MeV]", "r", "t (observed)", "p toys", "Z toys", "p Wilks (chi2_1)", "Z Wilks"]
    d.table(
        header + ["p (1/2 chi2_1)", "toys"],
        [
            [
                t["data"],
                f"{t['mzp_mev']:g}",
                f"{t['r']:g}",
                f"{_num(t['t_obs'], '.2f')}",
                f"{_num(t['p_toys'], '.3f')} ± {_num(t['p_toys_err'], '.3f')}",
                f"{_num(t['z_toys'], '.2f')}",
                f"{_num(t['p_wilks'], '.4f')}",
                f"{_num(t['z_wilks'], '.2f')}",
                f"{_num(t['p_wilks_half'], '.4f')}",
                t["n_toys"],
            ]
            for t in res["toys"]
        ],
    )
    _sm_claim_section(d, res)


def _is_limit_family(v) -> bool:
    """{label: {parameter: {"upper_limit...": ...}}}: one-parameter limits per data combination."""
    try:
        return bool(v) and all(
            isinstance(per, dict) and per and all(any(k.startswith("upper_limit") for k in x) for x in per.values())
            for per in v.values()
        )
    except (AttributeError, TypeError):
        return False


def _is_interval_family(v) -> bool:
    """{label: {"interval_1sigma": ..., ...}}: a measured parameter per data combination."""
    return isinstance(v, dict) and bool(v) and all(isinstance(x, dict) and "interval_1sigma" in x for x in v.values())


def _interval_leaves(v, path=()):
    """(path, leaf) of every 90 % CL interval result (a dict with ``intervals`` and ``unit``)
    nested in ``v`` (e.g. the photon-exchange parameters per data combination and model)."""
    if isinstance(v, dict):
        if "intervals" in v and "unit" in v:
            yield path, v
            return
        for k, x in v.items():
            yield from _interval_leaves(x, (*path, str(k)))


def _interval_leaf_table(d: _Doc, v: dict, published_note) -> None:
    d.table(
        ["data", "model", "parameter", "MLE", "90 % CL allowed (union)", "unit"],
        [
            [
                *(list(p) + ["", "", ""])[:3],
                _g(x.get("mle")),
                "; ".join(f"[{_g(a)}, {_g(b)}]" for a, b in x["intervals"]) or "-",
                x["unit"],
            ]
            for p, x in _interval_leaves(v)
        ],
    )
    if isinstance(published_note, dict) and published_note:
        d.p(
            "Published CEvNS analyses of the same data to compare with (their likelihoods use the "
            "arrival-time and energy information and other nuisance treatments): "
            + "; ".join(f"{lab}: {ref}" for lab, ref in published_note.items())
            + ". An allowed interval that excludes 0 follows from the rate deficit these paper-mode "
            "likelihoods prefer (the same pull that gives Table II its non-zero g_x), not a claim of new "
            "physics; the large negative radii are the second solution, where a flavour's weak charge on "
            "the proton flips sign. Published numerical bounds are not quoted here: they could not be "
            "read from the stored copies of these papers."
        )


def _maps_in(v, path=()):
    """(path, map) of every exclusion/allowed map (a dict with ``contours``) nested in ``v``."""
    if isinstance(v, dict):
        if "contours" in v:
            yield path, v
            return
        for k, x in v.items():
            yield from _maps_in(x, (*path, str(k)))


def _limit_cell(x: dict) -> str:
    key = next(k for k in x if k.startswith("upper_limit"))
    if x[key] is not None:
        return _g(x[key])
    return _segments(x.get("segments", [])) + " (not an upper limit)"


def _limit_table(d: _Doc, key: str, v: dict) -> None:
    params = list(next(iter(v.values())))
    unit = {
        k.removeprefix("upper_limit").lstrip("_") for per in v.values() for x in per.values() for k in x
        if k.startswith("upper_limit")
    }  # fmt: skip
    unit_txt = next((u for u in unit if u), "")
    d.table(
        ["data"] + [f"{p} < {('[' + unit_txt + ']') if unit_txt else ''} (90 % CL)" for p in params],
        [[lab] + [_limit_cell(per[p]) if p in per else "-" for p in params] for lab, per in v.items()],
    )


def _interval_table(d: _Doc, key: str, v: dict) -> None:
    d.table(
        ["data", f"{key}: MLE", "1 sigma interval", f"t against {SIN2_THETA_W:g}" if "mixing" in key else "t"],
        [
            [
                lab,
                _g(x.get("s2w_mle", x.get("mle"))),
                ", ".join(f"[{a:.4f}, {b:.4f}]" for a, b in x["interval_1sigma"]),
                f"{x.get('t_vs_sm_value', float('nan')):.2f}",
            ]
            for lab, x in v.items()
        ],
    )


def _new_physics_section(d: _Doc, np_res: dict) -> None:
    """Report section: every entry of the new-physics results, read generically (one-parameter
    limits, measured parameters, two-parameter maps), the PE-window dependence and the figures."""
    d.h(2, "New physics from the same data")
    c = np_res.get("conventions", {})
    d.p(
        f"Paper-mode likelihoods ({c.get('mode', '-')}); {c.get('limits_1d', '-')} for single parameters, "
        f"{c.get('regions_2d', '-')} for two; the weak mixing angle with its Delta chi2 = 1 interval. Each model "
        "is fitted with the generic inference (`cevnsfit fit/exclusion --model NAME --poi KEY`), nothing "
        "model-specific. Caveat for the CsI 2017 rows: the reference likelihood's flat steady-state prior pulls "
        "towards a deficit (see the toys above), which tightens upper limits on rate-raising effects and pulls "
        "s_W^2 low."
    )
    skip = {"conventions", "figures", "pe_windows"}
    maps = []
    for key, v in np_res.items():
        if key in skip:
            continue
        if _is_limit_family(v):
            d.h(3, key.replace("_", " "))
            _limit_table(d, key, v)
        elif _is_interval_family(v):
            d.h(3, key.replace("_", " "))
            _interval_table(d, key, v)
        elif any(True for _ in _interval_leaves(v)):
            d.h(3, key.replace("_", " "))
            _interval_leaf_table(d, v, np_res.get(key.replace("_90cl", "_published")))
        elif isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
            continue  # references, shown with their results
        else:
            maps += [((key, *p), m) for p, m in _maps_in(v)]
    d.p(
        "Compare (not targets) with the combined CsI + Ar analyses of Cadeddu et al., PRD 102 (2020) 015030 "
        "(arXiv:2005.01645) and Miranda et al., JHEP 05 (2020) 130 (arXiv:2003.12050), and for the 2021 data "
        "Atzori Corona et al., JHEP 09 (2022) 164 (arXiv:2205.09484); their likelihoods differ from the "
        "reference analysis's (time and energy information, nuisance treatment), so differences of tens of per "
        "cent are expected. The low-energy SM value of sin^2 theta_W used here is "
        f"{SIN2_THETA_W:g} (MS-bar)."
    )
    if maps:
        d.table(
            ["result", "data", "method", "threshold t", "contour lines"],
            [
                [
                    " / ".join(p[:-1]) or p[0],
                    p[-1],
                    m.get("method", "wilks"),
                    _g(m.get("t_threshold")),
                    len(m["contours"]),
                ]
                for p, m in maps
            ],
        )
    _pe_window_section(d, np_res.get("pe_windows"))
    for fig in np_res.get("figures", []):
        d.img(fig["stem"], fig["title"])


def _pe_window_section(d: _Doc, w: dict | None) -> None:
    """The one-parameter limits of the section for each CsI 2017 PE window."""
    if not w or not w.get("limits"):
        return
    d.h(3, f"The new-physics limits and the CsI PE window ({w['data']})")
    names = list(next(iter(w["limits"].values())))
    sm = published.get("coherent_csi2017_sm_events")
    d.table(
        ["CsI 2017 PE window"] + [f"{n} (90 % CL upper limit)" for n in names],
        [
            [win]
            + [
                _g(per[n]["upper_limit"]) if per[n]["upper_limit"] is not None else _segments(per[n]["segments"])
                for n in names
            ]
            for win, per in w["limits"].items()
        ],
    )
    d.p(
        f"Conventions: {w['conventions']}. The magnetic-moment rate grows like 1/E_r and sits in the lowest CsI PE "
        "bins, where acceptance and quenching are least known, so these limits move with the low edge of the "
        "window more than the L_mu - L_tau results do. Which window the published analyses used: COHERENT's 2017 "
        f"SM prediction ({sm.value:g} events) is quoted for {sm.note.removeprefix('SM CEvNS prediction, ')} "
        f"({sm.source}), the window of our default; the reference analysis's group's public CsI + Ar fit scripts "
        "use 16-30 PE (docs: datasets/csi2017); the phenomenological analyses "
        "cited above (Cadeddu et al. arXiv:2005.01645, Miranda et al. arXiv:2003.12050; Denton and Gehrlein, "
        "JHEP 04 (2021) 266, arXiv:2008.06062, who stress that the binning changes the constraints) fit the "
        "released CsI 2017 spectrum; the window of each could not be confirmed from the parts of those papers "
        "available to us, so they are cited for the comparison, not for the window."
    )


def _xenon_validation_rows(v: dict) -> list[list[str]]:
    b8 = published.get("xenonnt_sr01_b8_expected_2024")
    return [
        ["SR0+SR1 exposure [t y]", f"{v['exposure_ty']:.3f}", f"{v['exposure_published']:g}"],
        ["SR0+SR1 observed events", f"{v['observed']:g}", f"{v['observed_published']:g}"],
        ["SR0+SR1 expected background", f"{v['background']:.2f}", _pub("xenonnt_sr01_background")],
        ["SM 8B CEvNS rate 0.45-10 keV [/(t y)]", f"{v['sm_rate_045_10kev']:.1f}", f"{v['sm_rate_published']:g}"],
        ["expected 8B events, selected runs (2026 templates)", f"{v['b8_expected']:.2f}", f"{b8.value:g} ({b8.note})"],
    ]


def _xenon_section(d: _Doc, x: dict) -> None:
    """Report section: XENONnT solar 8B (docs: datasets, xenonnt)."""
    d.h(2, "XENONnT solar 8B (SR0-SR2 release)")
    d.table(["quantity", "ours", "published"], _xenon_validation_rows(x["validation"]))
    d.p(
        f"Our SM rate is a few per cent above XENONnT's spectrum: sin^2 theta_W ({SIN2_THETA_W:g} here), "
        "the form factor and the flux table differ and are not documented in the release; nothing is tuned."
    )
    rows = []
    for lab, m in x["b8_measurement"].items():
        zt = (">" if m["z_toys_is_lower_bound"] else "") + f"{m['z_toys']:.2f}"
        rows.append(
            [
                lab,
                f"{m['flux'] / 1e6:.2f}",
                f"[{m['flux_68'][0] / 1e6:.2f}, {m['flux_68'][1] / 1e6:.2f}]",
                f"{m['z_asymptotic']:.2f}",
                f"{zt} ({m['n_toys']} toys)",
            ]
        )
    d.table(["runs", "8B flux [1e6 /cm2/s]", "68 % interval", "Z asymptotic", "Z toys"], rows)
    flux, z = published.get("xenonnt_sr01_b8_flux"), published.get("xenonnt_sr01_significance")
    d.p(
        f"Published SR0+SR1 ({flux.source}): flux {flux.value / 1e6:g} +{flux.plus / 1e6:g} -{flux.minus / 1e6:g} "
        f"x 1e6 cm^-2 s^-1, {z.value:g} sigma. The 2026 mono-energetic templates have another efficiency curve "
        "(lower below 3.5 keV) and expect fewer 8B events than the 2024 ones, so the same excess needs a larger "
        "flux; the significance is close to the letter's."
    )
    rows = [[s, f"{v['flux'] / 1e6:.2f}", f"{v['z_asymptotic']:.2f}"] for s, v in x["sr2_ac_sigma_dependence"].items()]
    d.table(["SR2 AC uncertainty (assumed)", "SR0-SR2 flux [1e6]", "Z asymptotic"], rows)
    rows = []
    for lab, fits in x["lmu_ltau_significance"].items():
        for f in fits:
            rows.append([lab, f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['t']:.2f}", f"{f['z_sigma']:.2f}"])
    d.table(["data", "M_Z' [MeV]", "g_x MLE", "t", "Z (Wilks, 1 dof)"], rows)
    d.p(
        "Solar neutrinos reach xenon as nu_e, nu_mu and nu_tau; in L_mu - L_tau the nu_mu and nu_tau charges have "
        "opposite signs, so the interference terms nearly cancel and the quadratic terms add: xenon sees a small "
        "rate increase where COHERENT sees a deficit. Xenon alone prefers no signal; added to CsI + Ar it removes "
        "the large-coupling branch that CsI 2021 + Ar prefers at 100 MeV."
    )
    for k, cap in (
        ("lmu_ltau", "L_mu - L_tau (r = 1)"),
        ("universal", "universal vector"),
        ("scalar", "universal scalar"),
    ):
        d.img(f"xenon_{k}", f"{cap}: excluded at 2 sigma (Wilks), xenon alone and with CsI + Ar")


def _validation_row(res: dict, prefix: str) -> dict | None:
    return next((r for r in res.get("validation", []) if r["name"].startswith(prefix)), None)


def _ours_vs(res: dict, prefix: str, fmt: str = ".1f") -> str:
    """'ours vs published (+x %)' of the validation row whose name starts with ``prefix``."""
    r = _validation_row(res, prefix)
    if r is None:
        return "(not computed)"
    return f"{r['ours']:{fmt}} vs {r['published']:g} ({100 * (r['ours'] / r['published'] - 1):+.1f} %)"


def _cenns10_shape_text(res: dict) -> str:
    rows = [r for r in res.get("validation", []) if r["name"].startswith("cenns10 SM energy bin")]
    return ", ".join(
        f"{100 * (r['ours'] / r['published'] - 1):+.0f} % in {r['name'].removeprefix('cenns10 SM energy bin ')}"
        for r in rows
    )


def _differences(d: _Doc, res: dict) -> None:
    d.h(2, "Where our numbers differ from the published ones, and why")
    fit = res["csi2021"]["sm_fit"]
    cevns_pub = published.get("coherent_csi2021_cevns_fit")
    dbrn = res["table1"]["delayed_brn"][0]
    d.bullets(
        [
            f"CENNS-10 SM: {_ours_vs(res, 'cenns10 SM events')}. With R_n = 4.1 fm (Klein-Nystrand) the computed "
            f"spectrum is softer than the release template ({_cenns10_shape_text(res)}), as the specification "
            "anticipates; the release's full detector response is not public.",
            f"CsI 2017 SM: {_ours_vs(res, 'csi2017 SM events')}, with the release's acceptance and 1.17 PE/keVnr.",
            f"CsI 2021 SM: {_ours_vs(res, 'csi2021 SM events', '.0f')}. The release's flux file and timing-efficiency "
            "document are not among the files; a timing efficiency as used by public forward models is applied.",
            f"CsI 2021 fitted CEvNS: {fit['cevns'][0]:.1f} ± {fit['cevns'][1]:.0f} vs {_pub('coherent_csi2021_cevns_fit')}"
            f" ({cevns_pub.source}): COHERENT's fit uses finer energy/time information and a steady-state model not "
            "in the release.",
            f"Argon delayed BRN: {dbrn:.2f} vs Table 2's rounded {_pub('cenns10_best_fit_delayed_brn')} "
            f"(the release's unrounded value: {_validation_row(res, 'argon cross-check delayed_brn best fit')['published']:.3f})"
            if _validation_row(res, "argon cross-check delayed_brn best fit")
            else f"Argon delayed BRN: {dbrn:.2f} vs Table 2's rounded {_pub('cenns10_best_fit_delayed_brn')}.",
            "CsI 2017 significance: the paper-mode flat prior on each bin's steady-state mean gives a posterior "
            "mean n_AC + 1, one extra background count per bin of the window, which biases the fit towards a CEvNS "
            "deficit; toys and the Jeffreys-prior and full-mode rows above quantify it.",
        ]
    )


def _run(d: _Doc, res: dict) -> None:
    d.h(2, "Run")
    d.p(f"Run time {res['runtime_s']:.1f} s.")
    d.table(["package", "version"], [[k, str(v)] for k, v in res["versions"].items()])


def _toy_row(res: dict, m: float, r: float, datasets: str = "csi2017,cenns10"):
    for t in res.get("toys", []):
        if t["datasets"] == datasets and float(t["mzp_mev"]) == float(m) and float(t["r"]) == float(r):
            return t
    return None


def _convention_paragraph(rows: list[dict]) -> str:
    """Which interval convention the published Table II resembles, from the distances in log10 g_x."""
    d_hpd, d_et, n = 0.0, 0.0, 0
    lower_hpd, lower_et, lower_pub = [], [], []
    for r in rows:
        pub = (r.get("published") or {}).get("gx68")
        hpd = r.get("gx_68_grid")
        et = r.get("gx_68_equal_tailed")
        if not (pub and hpd and et):
            continue
        lp = np.log10(pub)
        d_hpd += float(np.sum(np.abs(np.log10(hpd) - lp)))
        d_et += float(np.sum(np.abs(np.log10(et) - lp)))
        lower_hpd.append(hpd[0])
        lower_et.append(et[0])
        lower_pub.append(pub[0])
        n += 1
    if not n:
        return "The reference analysis's Table II values are not available for comparison."
    closer = "equal-tailed" if d_et < d_hpd else "HPD"
    return (
        f"Which convention do the published intervals resemble? Averaged over the {n} cells, the published "
        f"edges lie {d_et / (2 * n):.2f} dex from our equal-tailed edges and {d_hpd / (2 * n):.2f} dex from our "
        f"HPD edges: they most resemble the {closer} intervals. The reason is the lower edge: the posterior of "
        "log10 g_x is a plateau down to the prior floor (the likelihood there equals the SM's) with a bump "
        "near the fitted coupling; the HPD set keeps only the bump (our lower edges "
        f"{min(lower_hpd):.2g}-{max(lower_hpd):.2g}), while the 15.87 % quantile of an equal-tailed interval "
        f"falls onto the plateau, towards the floor (ours {min(lower_et):.2g}-{max(lower_et):.2g}; published "
        f"{min(lower_pub):.2g}-{max(lower_pub):.2g}, i.e. at or near the floor 1e-4). The paper does not state "
        "its convention; ours stays HPD as the default (the shortest set, centred on the peak), and both are "
        "reported. Remaining differences come from the likelihood details discussed below (the steady-state "
        "prior, the CENNS-10 normalisation)."
    )


def _sm_claim_section(d, res: dict) -> None:
    """What the calibrated results say about 'the SM is excluded by the 1 sigma bands'."""
    toys = [t for t in res.get("toys", []) if t["datasets"] == "csi2017,cenns10"]
    if not toys:
        return
    zt = [t["z_toys"] for t in toys]
    zw = [t["z_wilks"] for t in toys]
    fc = res.get("neyman_1d", [])
    fc_txt = "; ".join(
        f"at {f['mzp_mev']:g} MeV the 68.27 % Feldman-Cousins set {'contains' if f['null_in_set'] else 'excludes'} "
        f"g_x = 0"
        for f in fc
    )
    below_1 = sum(z < 1.0 for z in zt)
    verdicts = []
    for m in sorted({t["mzp_mev"] for t in toys}):
        zs = [t["z_toys"] for t in toys if t["mzp_mev"] == m]
        fcm = [f for f in fc if f["mzp_mev"] == m]
        out_toys = all(z >= 1.0 for z in zs)
        out_fc = all(not f["null_in_set"] for f in fcm) if fcm else None
        if out_toys and out_fc is not False:
            verdicts.append(
                f"at {m:g} MeV the SM stays outside the calibrated 1 sigma region, but only just "
                f"(toy Z = {min(zs):.2f}-{max(zs):.2f})"
            )
        else:
            verdicts.append(
                f"at {m:g} MeV the SM lies inside the calibrated 1 sigma region (toy Z = "
                f"{min(zs):.2f}-{max(zs):.2f}"
                + ("" if out_fc is None else f"; FC set {'excludes' if out_fc else 'contains'} g_x = 0")
                + ")"
            )
    d.h(3, "The paper's claim that the SM lies outside the 1 sigma band")
    d.p(
        "The reference analysis writes that with CsI 2017 + CENNS-10 'the SM is excluded by the 1 sigma bands' of "
        "the g_x posteriors (its Fig. 4 caption). Two remarks follow from the calibrated results. (i) A credible "
        "interval of log10 g_x under a log-uniform prior on [1e-4, 1e-1] can never contain the SM: g_x = 0 is "
        "outside the prior's support, so any such interval 'excludes' it by construction; the posterior's plateau "
        "at the floor is where the SM-like couplings are, and the equal-tailed intervals reach into it. "
        f"(ii) The calibrated frequentist statements: the toy significance of the best fit over the SM is "
        f"Z = {min(zt):.2f}-{max(zt):.2f} across the cells (Wilks {min(zw):.2f}-{max(zw):.2f}); "
        f"{below_1} of {len(zt)} cells are below 1 sigma"
        + (f"; {fc_txt}" if fc_txt else "")
        + ". Hence "
        + "; ".join(verdicts)
        + ". The Wilks significances "
        "overstate the evidence everywhere, and the posterior intervals cannot test the SM at all; the claim is "
        "not supported as a statement about the SM beyond the marginal 1 sigma level the toys allow at most."
    )


def _new_physics(d: _Doc, res: dict) -> None:
    if res.get("new_physics"):
        _new_physics_section(d, res["new_physics"])


def _xenon(d: _Doc, res: dict) -> None:
    if res.get("xenonnt"):
        _xenon_section(d, res["xenonnt"])


#: The report's sections, in order.
SECTIONS = (
    _header,
    _validation,
    _fig3b,
    _table1,
    _table2,
    _g2,
    _fig5,
    _fig6,
    _fig7,
    _csi2021,
    _choices,
    _toys,
    _new_physics,
    _xenon,
    _differences,
    _run,
)
