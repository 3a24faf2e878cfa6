"""The reproduction report: Markdown and HTML from the same content, each number beside its
published counterpart where one exists."""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

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
        self.html.append(f'<figure><img src="figures/{stem}.png" alt="{html.escape(caption)}" style="max-width:900px">'
                         f'<figcaption>{html.escape(caption)} (<a href="figures/{stem}.pdf">PDF</a>)</figcaption></figure>')


def _g(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and x == 0.0:
        return "0 (SM)"
    return f"{x:.3g}"


def _pm(v) -> str:
    return f"{v[0]:.4g} ± {v[1]:.3g}"


def write_report(res: dict, out_dir) -> None:
    out = Path(out_dir)
    d = _doc = _Doc()
    s = res["settings"]
    d.h(1, "cevnsfit: reproduction of Banerjee, Dutta & Roy, arXiv:2103.10196")
    d.p(f"Generated {_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M UTC} in {res['runtime_s']:.0f} s "
        f"({'quick' if s['quick'] else 'full'} settings, mode '{s['mode']}', sampler {s['sampler']}, seed {s['seed']}). "
        "Every number is recomputed from the public COHERENT data releases; machine-readable values are in "
        "results.json (units: M_Z' in MeV, g_x dimensionless, counts in events).")
    d.p("Published counterparts: COHERENT's numbers (releases and papers) and the check values of the "
        "specification are set beside ours. The reference analysis's own Table II entries and curves are not "
        "part of the specification or the data available here, so those rows show our numbers alone; compare "
        "them with the paper's Table II and Figs. 4-7 directly.")

    d.h(2, "Validation against published numbers")
    d.table(["quantity", "ours", "published", "tolerance", "pass"],
            [[r["name"], f"{r['ours']:.4g}", f"{r['published']:.4g}", f"{100 * r['tolerance']:.0f} %",
              "yes" if r["pass"] else "NO"] for r in res["validation"]])

    d.h(2, "Fig. 3b: recoil spectrum at CENNS-10")
    f3 = res["fig3b"]
    d.p(f"SM {f3['sm_total']:.2f} events in the Analysis A grid; L_mu - L_tau (20 MeV, 5.6e-4, r = 1) "
        f"{f3['model_total']:.2f} events, ratio {f3['ratio_to_sm']:.4f}.")
    d.img("fig3b_recoil_spectrum_cenns10", "dN/dE_r at CENNS-10: SM and the L_mu - L_tau benchmark")

    d.h(2, "Table I: argon cross-check")
    pub = res["table1_published"]
    d.table(["component", "ours (nominal shapes)", "ours (with release shape systematics)", "COHERENT (Table 2)"],
            [[k, _pm(res["table1"][k]), _pm(res["table1_shape_systematics"][k]), _pm(pub[k])]
             for k in ("cevns", "ss", "prompt_brn", "delayed_brn")])

    d.h(2, "Table II and Fig. 4: g_x at fixed (M_Z', r), CsI 2017 + Ar")
    d.table(["M_Z' [MeV]", "r", "g_x MLE", "68.3 % HPD (nested sampling)", "68.3 % HPD (grid)", "t", "Z (Wilks, 1 dof)"],
            [[f"{r['mzp_mev']:g}", f"{r['r']:g}", _g(r["gx_mle"]), f"[{r['gx_68'][0]:.3g}, {r['gx_68'][1]:.3g}]",
              f"[{r['gx_68_grid'][0]:.3g}, {r['gx_68_grid'][1]:.3g}]", f"{r['t']:.2f}", f"{r['z_sigma']:.2f}"]
             for r in res["table2"]])
    g2 = res["g2_band"]
    d.p("Muon g-2 favoured band (2 sigma): " + "; ".join(
        f"{name}: M = {m} MeV -> g_x in [{v['gx_low']:.3g}, {v['gx_high']:.3g}] (central {v['gx_central']:.3g})"
        for name, per in g2.items() for m, v in per.items())
        + ". Specification check: Delta a_mu = 2.51e-9 needs g_x = 5.56e-4 at 20 MeV and 9.46e-4 at 100 MeV.")
    d.img("fig4_posterior_1d", "1D posteriors of g_x with 68 % HPD intervals, MLE and the g-2 band")

    d.h(2, "Fig. 5: chi-square of the CsI 2020 and argon totals (r = 1)")
    rows = []
    for label, key in (("argon normalised to 128 (published SM)", "chi2_totals"),
                       ("argon from our own prediction", "chi2_totals_computed_argon")):
        for c in res[key]:
            rows.append([label, f"{c['mzp_mev']:g}", f"{c['chi2_sm']:.3f}",
                         "; ".join(f"g_x = {m['gx']:.3g}: {m['chi2']:.3f}" for m in c["minima"]),
                         f"{c['global_minimum']['gx']:.3g}" if c["global_minimum"] else "-"])
    d.table(["argon normalisation", "M_Z' [MeV]", "chi2 (SM)", "local minima", "global minimum at g_x"], rows)
    d.img("fig5_chi2_totals", "chi-square of totals against g_x; solid: argon normalised to 128, dashed: our argon total")

    d.h(2, "Fig. 6: 2D posteriors")
    d.p("68 % (solid) and 95 % (dashed) highest-density credible regions in (M_Z', g_x) for r = 0.01, 1, 100; "
        "log-uniform priors on the ranges of the specification.")
    d.img("fig6_posterior_2d", "2D posteriors of (M_Z', g_x), CsI 2017 + Ar")

    d.h(2, "Fig. 7: 2 sigma exclusions")
    ex = res["exclusions"]
    d.table(["data", "t at the SM", "threshold t (Z = 2)", "contour lines"],
            [[label, f"{e['t_sm']:.2f}", f"{e['t_threshold']:.2f} ({e['dof']} dof)", len(e["contours"])]
             for label, e in ex.items()])
    d.p("t(theta) = -2 ln L(theta)/L(theta_hat) with theta_hat the best point of the plane (or the SM); a point is "
        "excluded where Z_Wilks > 2. Where the data prefer a reduced rate (t at the SM above the threshold) the "
        "SM corner itself is excluded and the allowed region is a band.")
    d.img("fig7_exclusions", "2 sigma exclusions with the g-2 band and existing bounds (BaBar, Borexino, CHARM-II)")

    d.h(2, "Beyond the reference analysis: the full CsI 2021 data")
    fit = res["csi2021"]["sm_fit"]
    d.p(f"SM-shape fit of the CEvNS normalisation: {fit['cevns'][0]:.1f} ± {fit['cevns'][1]:.1f} events "
        f"(COHERENT: 306 ± 20); steady state {fit['ss']:.0f} (COHERENT 1273 ± 38); window exposure ratio "
        f"rho = {fit['rho']:.4f} from the PE >= 60 side band; CEvNS significance {fit['significance_cevns']:.1f} sigma.")
    rows = []
    for label, fits in res["csi2021"]["significance"].items():
        for f in fits:
            rows.append([label, f"{f['mzp_mev']:g}", f"{f['r']:g}", _g(f["gx_mle"]), f"{f['t']:.2f}", f"{f['z_sigma']:.2f}"])
    d.table(["data", "M_Z' [MeV]", "r", "g_x MLE", "t", "Z (Wilks)"], rows)
    d.img("ext_csi2021_exclusions", "exclusions from the CsI 2021 energy x time likelihood beside the totals chi-square")

    d.h(2, "How the analysis choices move the results (r = 1)")
    rows = []
    for window, per in res["pe_windows"].items():
        for label, fits in per.items():
            for f in fits:
                rows.append([f"CsI window {window}", label, f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['z_sigma']:.2f}"])
    for label, fits in res["choices"].items():
        for f in fits:
            rows.append([label, "csi2017+cenns10", f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['z_sigma']:.2f}"])
    for label, fits in res.get("full_mode", {}).items():
        for f in fits:
            rows.append(["full mode (profiled nuisances)", label, f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['z_sigma']:.2f}"])
    d.table(["choice", "data", "M_Z' [MeV]", "g_x MLE", "Z (Wilks)"], rows)
    if res.get("toys"):
        d.h(2, "Beyond Wilks: toy-MC calibration (r = 1)")
        d.p("The SM sits on the boundary of g_x >= 0 and the paper-mode CsI likelihood's flat prior on the "
            "steady-state mean puts its posterior at n_AC + 1 per bin: toys generated under the SM (nuisances "
            "drawn from their priors) show how far the Wilks p-value is from the true one.")
        d.table(["data", "M_Z' [MeV]", "t (observed)", "p toys", "Z toys", "p Wilks (chi2_1)", "Z Wilks",
                 "p (1/2 chi2_1)", "toys"],
                [[t["data"], f"{t['mzp_mev']:g}", f"{t['t_obs']:.2f}", f"{t['p_toys']:.3f} ± {t['p_toys_err']:.3f}",
                  f"{t['z_toys']:.2f}", f"{t['p_wilks']:.4f}", f"{t['z_wilks']:.2f}", f"{t['p_wilks_half']:.4f}",
                  t["n_toys"]] for t in res["toys"]])

    if res.get("new_physics"):
        _new_physics_section(d, res["new_physics"])
    if res.get("xenonnt"):
        _xenon_section(d, res["xenonnt"])

    d.h(2, "Where our numbers differ from the published ones, and why")
    d.bullets([
        "CENNS-10 SM: 121 vs 128 events. With R_n = 4.1 fm (Klein-Nystrand) the computed spectrum is softer "
        "than the release template (-12 % in 10-20 keVee, -23 % in 20-30 keVee, 0-10 keVee agrees), as the "
        "specification anticipates; the release's full detector response is not public.",
        "CsI 2017 SM: 177.5 vs 173 events (+2.6 %), with the release's acceptance and 1.17 PE/keVnr.",
        "CsI 2021 SM: 351 vs 333 (+5.5 %). The release's flux file and timing-efficiency document are not "
        "among the files; a timing efficiency as used by public forward models is applied (380 without it).",
        "CsI 2021 fitted CEvNS: 309.5 vs 306, but with +-32 instead of +-20: COHERENT's fit uses finer "
        "energy/time information and a steady-state model not in the release.",
        "Argon delayed BRN: 10.53 vs Table 2's rounded 10 (the release's unrounded value is 10.685).",
        "CsI 2017 significance: the paper-mode flat prior on each bin's steady-state mean gives a posterior "
        "mean n_AC + 1, about 144 extra background counts in the 6-30 PE x 0-6 us window, which biases the "
        "fit towards a CEvNS deficit; toys and the Jeffreys-prior and full-mode rows above quantify it.",
    ])

    d.h(2, "Run")
    d.p(f"Run time {res['runtime_s']:.1f} s.")
    d.table(["package", "version"], [[k, str(v)] for k, v in res["versions"].items()])

    write_text_atomic(out / "report.md", "\n".join(_doc.md) + "\n")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;font-size:90%}"
             "figcaption{font-size:85%;color:#444}")
    write_text_atomic(out / "report.html", f"<!doctype html><html><head><meta charset='utf-8'><title>cevnsfit report"
                                           f"</title><style>{style}</style></head><body>{''.join(_doc.html)}</body></html>")


def _new_physics_section(d, np_res: dict) -> None:
    """Report section: magnetic moments, scalar, s_W^2 and NSI from the same data."""
    d.h(2, "New physics from the same data")
    c = np_res["conventions"]
    d.p(f"Paper-mode likelihoods ({c['mode']}); {c['limits_1d']} for single parameters, {c['regions_2d']} for "
        "two; the weak mixing angle with its Delta chi2 = 1 interval. Each model is fitted with the generic "
        "inference (`cevnsfit fit/exclusion --model NAME --poi KEY`), nothing model-specific. Caveat for the "
        "CsI 2017 rows: the reference likelihood's flat steady-state prior pulls towards a deficit (see the "
        "toys above), which tightens upper limits on rate-raising effects and pulls s_W^2 low.")
    rows = []
    for lab, per in np_res["magnetic_moment_90cl"].items():
        rows.append([lab] + [_g(per[p]["upper_limit_mu_B"]) for p in ("mu_nue", "mu_numu")])
    d.table(["data", "mu_nue < [mu_B] (90 % CL)", "mu_numu < [mu_B] (90 % CL)"], rows)
    d.p("Compare (not targets) with the combined CsI + Ar analyses of Cadeddu et al., PRD 102 (2020) 015030 "
        "(arXiv:2005.01645) and Miranda et al., JHEP 05 (2020) 130 (arXiv:2003.12050), and for the 2021 data "
        "Atzori Corona et al., JHEP 09 (2022) 164 (arXiv:2205.09484): their bounds are of order a few 1e-9 mu_B. "
        "Their likelihoods differ from the reference analysis's (time and energy information, nuisance "
        "treatment), so differences of tens of per cent are expected.")
    d.img("newphys_magnetic_moment", "Magnetic moments (mu_nue, mu_numu): region excluded at 90 % CL")
    rows = [[lab, _g(v["s2w_mle"]), ", ".join(f"[{a:.4f}, {b:.4f}]" for a, b in v["interval_1sigma"]),
             f"{v['t_vs_sm_value']:.2f}"] for lab, v in np_res["weak_mixing"].items()]
    d.table(["data", "sin^2 theta_W MLE", "1 sigma interval", "t against 0.23857"], rows)
    d.p("Low-energy SM value 0.23857 (MS-bar). CEvNS determinations to compare with: Cadeddu et al. (CsI 2017 + "
        "Ar, arXiv:2005.01645) and Atzori Corona et al. (CsI 2021, arXiv:2303.09360), which fit the neutron radius "
        "as well. The low values here follow the CsI 2017 paper-mode deficit preference described above.")
    d.img("newphys_scalar", "Universal light scalar (m_S, g_S): excluded at 90 % CL")
    for k in ("ee", "mumu"):
        d.img(f"newphys_nsi_{k}", f"Vector NSI (eps_u_{k}, eps_d_{k}): outside the unshaded band excluded at 90 % CL")


def _xenon_section(d, x: dict) -> None:
    """Report section: XENONnT solar 8B (docs: datasets, xenonnt)."""
    d.h(2, "XENONnT solar 8B (SR0-SR2 release)")
    v = x["validation"]
    d.table(["quantity", "ours", "published"], [
        ["SR0+SR1 exposure [t y]", f"{v['exposure_ty']:.3f}", f"{v['exposure_published']:g}"],
        ["SR0+SR1 observed events", f"{v['observed']:g}", f"{v['observed_published']:g}"],
        ["SR0+SR1 expected background", f"{v['background']:.2f}", f"{v['background_published']:g} +1.4 -1.3"],
        ["SM 8B CEvNS rate 0.45-10 keV [/(t y)]", f"{v['sm_rate_045_10kev']:.1f}", f"{v['sm_rate_published']:g}"],
        ["expected 8B events, selected runs (2026 templates)", f"{v['b8_expected']:.2f}", "11.92 (2024 templates)"],
    ])
    d.p("Our SM rate is a few per cent above XENONnT's spectrum: sin^2 theta_W (0.23857 here; 0.2312 gives 330), "
        "the form factor and the flux table differ and are not documented in the release; nothing is tuned.")
    rows = []
    for lab, m in x["b8_measurement"].items():
        zt = (">" if m["z_toys_is_lower_bound"] else "") + f"{m['z_toys']:.2f}"
        rows.append([lab, f"{m['flux'] / 1e6:.2f}", f"[{m['flux_68'][0] / 1e6:.2f}, {m['flux_68'][1] / 1e6:.2f}]",
                     f"{m['z_asymptotic']:.2f}", f"{zt} ({m['n_toys']} toys)"])
    d.table(["runs", "8B flux [1e6 /cm2/s]", "68 % interval", "Z asymptotic", "Z toys"], rows)
    d.p("Published SR0+SR1 (PRL 133 (2024) 191002): flux 4.7 +3.6 -2.3 x 1e6 cm^-2 s^-1, 2.73 sigma. The 2026 "
        "mono-energetic templates have another efficiency curve (lower below 3.5 keV) and expect fewer 8B events "
        "than the 2024 ones, so the same excess needs a larger flux; the significance is close to the letter's.")
    rows = [[s, f"{v['flux'] / 1e6:.2f}", f"{v['z_asymptotic']:.2f}"] for s, v in x["sr2_ac_sigma_dependence"].items()]
    d.table(["SR2 AC uncertainty (assumed)", "SR0-SR2 flux [1e6]", "Z asymptotic"], rows)
    rows = []
    for lab, fits in x["lmu_ltau_significance"].items():
        for f in fits:
            rows.append([lab, f"{f['mzp_mev']:g}", _g(f["gx_mle"]), f"{f['t']:.2f}", f"{f['z_sigma']:.2f}"])
    d.table(["data", "M_Z' [MeV]", "g_x MLE", "t", "Z (Wilks, 1 dof)"], rows)
    d.p("Solar neutrinos reach xenon as nu_e, nu_mu and nu_tau; in L_mu - L_tau the nu_mu and nu_tau charges have "
        "opposite signs, so the interference terms nearly cancel and the quadratic terms add: xenon sees a small "
        "rate increase where COHERENT sees a deficit. Xenon alone prefers no signal; added to CsI + Ar it removes "
        "the large-coupling branch that CsI 2021 + Ar prefers at 100 MeV.")
    for k, cap in (("lmu_ltau", "L_mu - L_tau (r = 1)"), ("universal", "universal vector"), ("scalar", "universal scalar")):
        d.img(f"xenon_{k}", f"{cap}: excluded at 2 sigma (Wilks), xenon alone and with CsI + Ar")
