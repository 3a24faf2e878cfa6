"""Figures of the analysis, in the field's conventions: log axes in M_Z' and g_x, units on
every axis, the muon g-2 favoured band and existing bounds with their sources, and the
Okabe-Ito colour-blind-safe palette. Each function writes the files it is given (PDF/PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.loaders import LIMIT_CURVES, load_limit_curve
from ..models.g2 import g2_band
from .style import OKABE_ITO, figure_style, save_figure

BOUND_STYLES = {
    "babar_2016_4mu": ("0.35", "-"),
    "borexino_bauer2018_recast": ("0.55", "--"),
    "charm2_bauer2018_recast": ("0.45", ":"),
}


def _save(fig, paths):
    import matplotlib.pyplot as plt

    for p in [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "suffix") else paths:
        save_figure(fig, p)
    plt.close(fig)


def draw_g2_band(ax, preset="2021", mzp_range=(10**0.5, 1e3), label=True):
    m = np.logspace(np.log10(mzp_range[0]), np.log10(mzp_range[1]), 200)
    band = g2_band(m, preset)
    lo = np.where(band["gx_low"] > 0, band["gx_low"], 1e-6)
    ax.fill_between(
        m,
        lo,
        band["gx_high"],
        color=OKABE_ITO[2],
        alpha=0.3,
        lw=0,
        label=rf"$(g-2)_\mu$ {preset} $\pm2\sigma$" if label else None,
    )


def draw_bounds(ax, names=tuple(LIMIT_CURVES), extra_files=()):
    for name in list(names) + list(extra_files):
        m, g = load_limit_curve(name)
        colour, ls = BOUND_STYLES.get(name, ("0.2", "-."))
        label = LIMIT_CURVES[name].split(" (")[0] if name in LIMIT_CURVES else Path(name).stem
        ax.plot(m, g, color=colour, ls=ls, lw=1.2, label=f"{label} (excluded above)")


def _mass_coupling_plane(g2_preset, bounds, extra_bounds=()):
    """A log-log (M_Z', g_x) frame over the scan ranges with the g-2 band and existing bounds."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.4, 4.6))
    draw_g2_band(ax, g2_preset)
    if bounds:
        draw_bounds(ax, extra_files=extra_bounds)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(10**0.5, 1e3)
    ax.set_ylim(1e-4, 1e-1)
    ax.set_xlabel(r"$M_{Z'}$ [MeV]")
    ax.set_ylabel(r"$g_x$")
    return fig, ax


def plot_exclusions(maps: dict, paths, g2_preset="2021", bounds=True, title=None, extra_bounds=()) -> None:
    """2 sigma exclusion contours per dataset combination in (M_Z', g_x), log-log."""
    with figure_style():
        fig, ax = _mass_coupling_plane(g2_preset, bounds, extra_bounds)
        styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))]
        for k, (label, emap) in enumerate(maps.items()):
            colour = OKABE_ITO[[0, 1, 4, 3, 5, 7][k % 6]]
            for j, line in enumerate(emap["contours"]):
                xy = np.asarray(line)
                ax.plot(
                    10 ** xy[:, 0],
                    10 ** xy[:, 1],
                    color=colour,
                    ls=styles[k % len(styles)],
                    lw=1.8,
                    label=label if j == 0 else None,
                )
        ax.set_title(
            title
            or r"$L_\mu - L_\tau$: $2\sigma$ contours (Wilks, 2 dof); excluded above the upper curves and, "
            "where the data prefer a reduced rate, below the lower ones",
            fontsize=7,
        )
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _save(fig, paths)


def _fill_excluded(ax, emap: dict, colour) -> None:
    """Lightly fill (and hatch, for print) the region an exclusion map excludes: t above the Wilks
    threshold, or above the toy critical value t_c(theta) for a Neyman map. Skipped when the map
    does not carry its grid."""
    keys = ("log10_mzp", "log10_gx") if "log10_mzp" in emap else tuple(emap.get("axes", ()))
    if len(keys) != 2 or "t" not in emap or not all(k in emap for k in keys):
        return
    t = np.asarray(emap["t"], dtype=float)
    if emap.get("method") == "neyman":
        if "t_critical" not in emap:
            return
        excess = t - np.asarray(emap["t_critical"], dtype=float)
    else:
        excess = t - float(emap["t_threshold"])
    x, y = (10.0 ** np.asarray(emap[k], dtype=float) for k in keys)
    ax.contourf(
        x, y, np.nan_to_num(excess, nan=-1.0).T, levels=[0.0, np.inf], colors=[colour], alpha=0.15, hatches=["//"]
    )


def plot_exclusion_methods(wilks: dict, neyman: dict, paths, label: str = "", g2_preset="2021") -> None:
    """Two panels side by side for one dataset combination: the Wilks contour (chi2 with the
    map's dof) and the toy-calibrated (Neyman, Feldman-Cousins ordering) contour, each also
    drawn faintly in the other panel; the Neyman panel marks its construction points."""
    import matplotlib.pyplot as plt

    with figure_style():
        fig, axs = plt.subplots(1, 2, figsize=(10.5, 4.2), sharey=True)
        for ax, (title, main, other) in zip(
            axs, (("Wilks", wilks, neyman), ("Neyman (toys, FC ordering)", neyman, wilks))
        ):
            draw_g2_band(ax, g2_preset)
            _fill_excluded(ax, main, OKABE_ITO[0])
            for emap, colour, lw, alpha in ((other, "0.6", 1.0, 0.8), (main, OKABE_ITO[0], 1.8, 1.0)):
                for j, line in enumerate(emap["contours"]):
                    xy = np.asarray(line)
                    ax.plot(
                        10 ** xy[:, 0],
                        10 ** xy[:, 1],
                        color=colour,
                        lw=lw,
                        alpha=alpha,
                        label=(emap.get("method", "wilks") + " contour") if j == 0 else None,
                    )
            if main is neyman and "construction" in neyman:
                cx, cy = (np.asarray(a) for a in neyman["construction"]["axes"])
                done = np.asarray(neyman["construction"]["constructed"], bool)
                xx, yy = np.meshgrid(cx, cy, indexing="ij")
                ax.plot(10 ** xx[done], 10 ** yy[done], ".", color="0.3", ms=2, label="toy construction points")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(10**0.5, 1e3)
            ax.set_ylim(1e-4, 1e-1)
            ax.set_xlabel(r"$M_{Z'}$ [MeV]")
            ax.set_title(f"{label}: {title}, Z = {main.get('z', 2):g}", fontsize=8)
            ax.legend(fontsize=6)
        axs[0].set_ylabel(r"$g_x$")
        _save(fig, paths)


def plot_chi2(results: list[dict], paths) -> None:
    """Chi-square of totals against g_x, one curve per (M_Z', normalisation), minima marked."""
    import matplotlib.pyplot as plt

    with figure_style():
        fig, ax = plt.subplots(figsize=(5.8, 4.2))
        for k, res in enumerate(results):
            c = OKABE_ITO[[0, 1, 4, 3, 5, 2][k % 6]]
            ls = "-" if res.get("normalisation", "published") == "published" else "--"
            ax.plot(
                res["gx"],
                res["chi2"],
                color=c,
                ls=ls,
                label=rf"$M_{{Z'}}$ = {res['mzp_mev']:g} MeV ({res.get('normalisation', '')})",
            )
            for mn in res["minima"]:
                ax.plot(mn["gx"], mn["chi2"], "o", color=c, ms=4)
            ax.axhline(res["chi2_sm"], color="0.6", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(r"$g_x$")
        ax.set_ylabel(r"$\chi^2$ (CsI 2020 + Ar totals)")
        ax.set_ylim(0, 25)
        ax.legend(fontsize=7)
        _save(fig, paths)


def plot_posterior_1d(results: list[dict], paths, g2_preset="2021") -> None:
    """1D posteriors of g_x at fixed (M_Z', r), with 68 % HPD intervals, MLE and the g-2 band."""
    import matplotlib.pyplot as plt

    masses = sorted({res["mzp_mev"] for res in results})
    with figure_style():
        fig, axs = plt.subplots(1, len(masses), figsize=(5.0 * len(masses), 3.8), squeeze=False)
        for ax, m in zip(axs[0], masses):
            band = g2_band(m, g2_preset)
            ax.axvspan(
                max(float(band["gx_low"]), 1e-4),
                float(band["gx_high"]),
                color=OKABE_ITO[2],
                alpha=0.25,
                label=rf"$(g-2)_\mu$ {g2_preset} $\pm2\sigma$",
            )
            for k, res in enumerate(r for r in results if r["mzp_mev"] == m):
                c = OKABE_ITO[[0, 1, 4, 3][k % 4]]
                x = np.asarray(res["log10_gx_grid"])
                dens = np.asarray(res["density"])
                ax.plot(10**x, dens / dens.max(), color=c, label=f"r = {res['r']:g}")
                lo, hi = res["gx_68"]
                ax.axvline(lo, color=c, ls=":", lw=1)
                ax.axvline(hi, color=c, ls=":", lw=1)
                if res.get("gx_mle"):
                    ax.axvline(res["gx_mle"], color=c, ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_xlim(1e-4, 1e-1)
            ax.set_xlabel(r"$g_x$")
            ax.set_ylabel("posterior density (per log g, max = 1)")
            ax.set_title(rf"$M_{{Z'}}$ = {m:g} MeV: 68 % HPD (dotted), MLE (dashed)", fontsize=8)
            ax.legend(fontsize=7)
        _save(fig, paths)


def plot_posterior_2d(results: dict, paths, g2_preset="2021", bounds=True) -> None:
    """68 % (and 95 %) credible regions in (M_Z', g_x) for each r."""
    with figure_style():
        fig, ax = _mass_coupling_plane(g2_preset, bounds)
        for k, (r, res) in enumerate(sorted(results.items(), key=lambda kv: float(kv[0]))):
            c = OKABE_ITO[[0, 1, 4][k % 3]]
            for key, ls in (("region_68", "-"), ("region_95", "--")):
                for j, line in enumerate(res.get(key, [])):
                    xy = np.asarray(line)
                    ax.plot(
                        10 ** xy[:, 0],
                        10 ** xy[:, 1],
                        color=c,
                        ls=ls,
                        label=f"r = {float(r):g}, {key[-2:]} %" if j == 0 else None,
                    )
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _save(fig, paths)


def plot_recoil_spectrum(experiment, model, paths, label="model") -> None:
    """dN/dE_r at a detector: SM against a model (the reference analysis's Fig. 3b)."""
    import matplotlib.pyplot as plt

    er_max = max(b.er_mev.max() for b in experiment.engine.blocks)
    er = np.linspace(er_max * 2e-3, er_max, 500)
    sm = experiment.engine.recoil_spectrum(er, None).sum(0)
    bsm = experiment.engine.recoil_spectrum(er, model, experiment.matching).sum(0)
    with figure_style():
        fig, (ax, axr) = plt.subplots(2, 1, figsize=(5.6, 5.0), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        ax.plot(er * 1e3, sm * 1e-3, color="k", label="SM")
        ax.plot(er * 1e3, bsm * 1e-3, color=OKABE_ITO[4], ls="--", label=label)
        ax.set_yscale("log")
        ax.set_ylabel(r"$dN/dE_r$ [events/keV$_\mathrm{nr}$]")
        ax.set_title(f"{experiment.name}: recoil spectrum (no detector response)", fontsize=8)
        ax.legend(fontsize=7)
        axr.plot(er * 1e3, bsm / np.where(sm > 0, sm, np.nan), color=OKABE_ITO[4])
        axr.set_ylabel("model / SM")
        axr.set_xlabel(r"recoil energy $E_r$ [keV$_\mathrm{nr}$]")
        _save(fig, paths)


#: Axis labels of declared parameters (LaTeX), by parameter name.
PARAMETER_LABELS = {
    "mzp_mev": r"$M_{Z'}$",
    "gx": r"$g_x$",
    "g": r"$g$",
    "ms_mev": r"$m_S$",
    "gs": r"$g_S$",
    "mu_nue": r"$\mu_{\nu_e}$",
    "mu_numu": r"$\mu_{\nu_\mu}$",
    "mu_nutau": r"$\mu_{\nu_\tau}$",
    "s2w": r"$\sin^2\theta_W$",
    "r": r"$r = m_{\tilde\tau}/m_{\tilde\mu}$",
}


def _axis_label(name: str, unit: str) -> str:
    base = name[6:] if name.startswith("log10_") else name
    if base.startswith("eps_"):
        _, q, ab = base.split("_", 2)
        text = rf"$\varepsilon^{{{q}}}_{{{ab}}}$"
    else:
        text = PARAMETER_LABELS.get(base, base)
    unit = {"mu_B": r"$\mu_B$"}.get(unit, unit)
    unit_txt = f" [{unit}]" if unit and unit != "dimensionless" else ""
    return f"{text}{unit_txt}"


def plot_exclusion_generic(maps: dict, paths, title=None) -> None:
    """Exclusion maps of any two parameters of interest (results of
    :func:`cevnsfit.inference.exclusion.exclusion`): each combination's excluded region lightly
    filled (the first also hatched, so it reads in print) and its boundary drawn with its own
    colour-blind-safe colour and line style; log axes for parameters with log-uniform priors;
    the legend below the frame."""
    import matplotlib.pyplot as plt

    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1))]
    with figure_style():
        fig, ax = plt.subplots(figsize=(5.4, 5.0))
        handles = []
        for k, (label, res) in enumerate(maps.items()):
            nx, ny = res["axes"]
            x, y = np.asarray(res[nx]), np.asarray(res[ny])
            xs = 10.0**x if nx.startswith("log10_") else x
            ys = 10.0**y if ny.startswith("log10_") else y
            if res.get("method") == "neyman":  # toy-calibrated: excluded where t > t_c(theta)
                t, level, how = np.asarray(res["t"]).T - np.asarray(res["t_critical"]).T, 0.0, "Neyman/FC toys"
            else:
                t, level, how = np.asarray(res["t"]).T, res["t_threshold"], "Wilks"
            colour = OKABE_ITO[(k + 1) % len(OKABE_ITO)]
            ax.contourf(
                xs, ys, t, levels=[level, np.inf], colors=[colour], alpha=0.15, hatches=["//" if k == 0 else None]
            )
            ax.contour(xs, ys, t, levels=[level], colors=[colour], linewidths=1.8, linestyles=[styles[k % len(styles)]])
            (h,) = ax.plot(
                [],
                [],
                color=colour,
                lw=1.8,
                ls=styles[k % len(styles)],
                label=f"{label} ({res['z']:g}$\\sigma$, {how})",
            )
            handles.append(h)
        first = next(iter(maps.values()))
        nx, ny = first["axes"]
        units = first.get("units", {})
        bx, by = (n[6:] if n.startswith("log10_") else n for n in (nx, ny))
        ax.set_xlabel(_axis_label(nx, units.get(bx, "")))
        ax.set_ylabel(_axis_label(ny, units.get(by, "")))
        if nx.startswith("log10_"):
            ax.set_xscale("log")
        if ny.startswith("log10_"):
            ax.set_yscale("log")
        ax.set_title(title or first.get("model", ""), fontsize=9)
        ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
        fig.tight_layout()
        _save(fig, paths)
