"""Figures of the analysis, in the field's conventions: log axes in M_Z' and g_x, units on
every axis, the muon g-2 favoured band and existing bounds with their sources, and the
Okabe-Ito colour-blind-safe palette. Each function writes the files it is given (PDF/PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

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


#: Line styles and print hatches of the combinations drawn in one figure, in order.
LINE_STYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))]
HATCHES = ["/", "\\", "|", "-", "x", "."]


def confidence_label(z: float) -> str:
    r"""How a legend names the level of a map drawn at Wilks significance ``z``: '2σ' for whole
    sigmas, '90 % CL' where the two-sided content 1 - 2 (1 - Phi(z)) is a round percentage.

    >>> confidence_label(2.0), confidence_label(1.6448536269514722), confidence_label(1.7)
    ('2$\\sigma$', '90 % CL', 'Z = 1.7')
    """
    from scipy import stats

    z = float(z)
    if abs(z - round(z)) < 1e-9:
        return f"{round(z):d}$\\sigma$"
    cl = 100.0 * (1.0 - 2.0 * stats.norm.sf(z))
    if abs(cl * 10 - round(cl * 10)) < 1e-6:
        return f"{round(cl, 1):g} % CL"
    return f"Z = {z:.3g}"


def map_grid(emap: dict):
    """(x, y, excess) of an exclusion map for drawing: its refined grid (:mod:`.refine`) when it
    has one, else its scan grid, in internal coordinates; excess = t - threshold (t - t_c(theta)
    for a toy-calibrated map), excluded where > 0. None when the map carries no grid."""
    ref = emap.get("refined")
    if ref is not None:
        x, y, t = (np.asarray(ref[k], dtype=float) for k in ("x", "y", "t"))
        return x, y, t - float(emap["t_threshold"])
    keys = ("log10_mzp", "log10_gx") if "log10_mzp" in emap else tuple(emap.get("axes", ()))
    if len(keys) != 2 or "t" not in emap or not all(k in emap for k in keys):
        return None
    t = np.asarray(emap["t"], dtype=float)
    if emap.get("method") == "neyman":
        if "t_critical" not in emap:
            return None
        excess = t - np.asarray(emap["t_critical"], dtype=float)
    else:
        excess = t - float(emap["t_threshold"])
    x, y = (np.asarray(emap[k], dtype=float) for k in keys)
    return x, y, np.nan_to_num(excess, nan=-1.0)


#: Islands (of the allowed or of the excluded side) with fewer grid points than this are below the
#: resolution of the grid a figure is drawn from: they are not drawn, and the legend says so.
MIN_ISLAND_POINTS = 8


def drop_unresolved_islands(excess: np.ndarray, min_points: int = MIN_ISLAND_POINTS) -> tuple[np.ndarray, int]:
    """``excess`` with every connected island of either sign smaller than ``min_points`` grid points
    given the sign around it, and how many islands that was. A band narrower than the grid (even the
    refined one) shows up as such islands: a chain of loops one or two points wide.

    >>> e = -np.ones((9, 9)); e[4, 4] = 1.0; e[0:3, 0:3] = 1.0
    >>> out, n = drop_unresolved_islands(e, min_points=4)
    >>> n, bool(out[4, 4] < 0), bool(out[1, 1] > 0)
    (1, True, True)
    """
    out = np.array(excess, dtype=float, copy=True)
    n_dropped = 0
    for allowed in (True, False):
        side = out <= 0.0 if allowed else out > 0.0
        lab, n = ndimage.label(side)
        if n == 0:
            continue
        sizes = np.asarray(ndimage.sum(side, lab, index=np.arange(1, n + 1)))
        small = np.flatnonzero(sizes < min_points) + 1
        mask = np.isin(lab, small)
        out[mask] = -out[mask] if np.all(out[mask] != 0) else np.where(out[mask] > 0, -1e-9, 1e-9)
        n_dropped += small.size
    return out, n_dropped


def draw_excluded(ax, xs, ys, excess, colour, ls="-", hatch="/", lw=1.6, alpha=0.07) -> int:
    """The excluded region {excess > 0} filled lightly and hatched (so it reads in print), and
    its boundary stroked; the plot frame is never stroked (a filled region closes along it).
    Islands below the grid's resolution (:func:`drop_unresolved_islands`) are not drawn; returns
    how many there were."""
    excess, n_dropped = drop_unresolved_islands(excess)
    ax.contourf(xs, ys, excess.T, levels=[0.0, np.inf], colors=[colour], alpha=alpha)
    cs = ax.contourf(xs, ys, excess.T, levels=[0.0, np.inf], colors="none", hatches=[hatch])
    cs.set_edgecolor(colour)  # the hatch colour; the patch outline is not drawn (line width 0)
    cs.set_linewidth(0.0)
    ax.contour(xs, ys, excess.T, levels=[0.0], colors=[colour], linewidths=lw, linestyles=[ls])
    return n_dropped


_UNRESOLVED = "; a band narrower than the grid not drawn"


def plot_exclusions(maps: dict, paths, g2_preset="2021", bounds=True, title=None, extra_bounds=()) -> None:
    """2 sigma exclusions per dataset combination in (M_Z', g_x), log-log: each excluded region
    filled, hatched and outlined from its grid refined near the contour level (the polylines of
    the map where it carries no grid)."""
    import matplotlib.pyplot as plt

    with figure_style():
        fig, ax = _mass_coupling_plane(g2_preset, bounds, extra_bounds)
        handles = list(ax.get_legend_handles_labels()[0])
        for k, (label, emap) in enumerate(maps.items()):
            colour = OKABE_ITO[[0, 1, 4, 3, 5, 7][k % 6]]
            ls = LINE_STYLES[k % len(LINE_STYLES)]
            grid = map_grid(emap)
            if grid is not None:
                x, y, excess = grid
                dropped = draw_excluded(ax, 10**x, 10**y, excess, colour, ls, HATCHES[k % len(HATCHES)])
            else:
                dropped = 0
                for line in emap["contours"]:
                    xy = np.asarray(line)
                    ax.plot(10 ** xy[:, 0], 10 ** xy[:, 1], color=colour, ls=ls, lw=1.8)
            patch = plt.matplotlib.patches.Patch(
                facecolor=colour, alpha=0.35, hatch=HATCHES[k % len(HATCHES)], edgecolor=colour, linestyle=ls
            )
            note = _UNRESOLVED if dropped else ""
            patch.set_label(f"{label} ({confidence_label(emap.get('z', 2.0))}, excluded{note})")
            handles.append(patch)
        ax.set_title(
            title
            or r"$L_\mu - L_\tau$ ($r = 1$): regions excluded at $2\sigma$ (Wilks, 2 dof), hatched; "
            "where the data prefer a reduced rate the SM corner is excluded too",
            fontsize=7,
        )
        ax.legend(handles=handles, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _save(fig, paths)


def _fill_excluded(ax, emap: dict, colour) -> None:
    """Fill and hatch the region an exclusion map excludes (:func:`map_grid`); skipped when the
    map does not carry its grid."""
    grid = map_grid(emap)
    if grid is None:
        return
    x, y, excess = grid
    ax.contourf(10.0**x, 10.0**y, excess.T, levels=[0.0, np.inf], colors=[colour], alpha=0.15, hatches=["//"])


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


def frame_free_pieces(ring, box, rtol: float = 1e-9) -> list[np.ndarray]:
    """The parts of a closed ring ([[x, y], ...]) that do not run along the frame of ``box`` =
    ((x0, x1), (y0, y1)): a region closed along the frame is filled there, not stroked.

    >>> sq = [[0, 0], [1, 0], [1, 0.5], [0.5, 0.5], [0.5, 0], [0, 0]]
    >>> [p.tolist() for p in frame_free_pieces(sq, ((0, 1), (0, 1)))]
    [[[1.0, 0.5], [0.5, 0.5], [0.5, 0.0]]]
    """
    xy = np.asarray(ring, dtype=float)
    on_frame = _frame_segments(xy, box, rtol)
    if not on_frame.any():
        return [xy]
    if len(xy) > 2 and np.array_equal(xy[0], xy[-1]):  # closed: start right after a frame segment
        core, s = xy[:-1], int(np.flatnonzero(on_frame)[0]) + 1
        xy = np.vstack([core[s:], core[:s], core[s : s + 1]]) if s < len(core) else xy
        on_frame = _frame_segments(xy, box, rtol)
    pieces, start = [], 0
    for k in np.flatnonzero(on_frame):
        if k + 1 - start >= 2:
            pieces.append(xy[start : k + 1])
        start = k + 1
    if len(xy) - start >= 2:
        pieces.append(xy[start:])
    return pieces


def _frame_segments(xy: np.ndarray, box, rtol: float) -> np.ndarray:
    """For each segment (k, k + 1) of a polyline: both ends on the same edge of the frame."""
    (x0, x1), (y0, y1) = box
    tx, ty = rtol * (x1 - x0), rtol * (y1 - y0)
    edges = np.stack(
        [
            np.abs(xy[:, 0] - x0) <= tx,
            np.abs(xy[:, 0] - x1) <= tx,
            np.abs(xy[:, 1] - y0) <= ty,
            np.abs(xy[:, 1] - y1) <= ty,
        ]
    )
    return np.any(edges[:, :-1] & edges[:, 1:], axis=0)


def draw_region(ax, rings, box, colour, ls="-", alpha=0.15, lw=1.5, label=None, transform=lambda a: 10.0**a) -> None:
    """A credible region given as closed rings (outer boundaries and holes, as
    :func:`cevnsfit.inference.regions.region_polylines` returns them) filled, and its boundary
    stroked except where it closes along the frame of ``box``."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    if not rings:
        return
    verts, codes = [], []
    for ring in rings:
        xy = transform(np.asarray(ring, dtype=float))
        verts.append(xy)
        codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY])
    path = MplPath(np.concatenate(verts), np.concatenate(codes))
    ax.add_patch(PathPatch(path, facecolor=colour, alpha=alpha, lw=0))
    first = True
    for ring in rings:
        for piece in frame_free_pieces(ring, box):
            xy = transform(piece)
            ax.plot(xy[:, 0], xy[:, 1], color=colour, ls=ls, lw=lw, label=label if first else None)
            first = False


def plot_posterior_2d(results: dict, paths, g2_preset="2021", bounds=True) -> None:
    """68 % and 95 % credible regions in (M_Z', g_x) for each r: filled (95 % lighter), outlined
    (68 % solid, 95 % dashed), never stroked along the frame of the prior box."""
    from ..inference.exclusion import LOG10_GX_RANGE, LOG10_MZP_RANGE

    box = (LOG10_MZP_RANGE, LOG10_GX_RANGE)
    with figure_style():
        fig, ax = _mass_coupling_plane(g2_preset, bounds)
        for k, (r, res) in enumerate(sorted(results.items(), key=lambda kv: float(kv[0]))):
            c = OKABE_ITO[[0, 1, 4][k % 3]]
            for key, ls, alpha in (("region_95", "--", 0.05), ("region_68", "-", 0.15)):
                draw_region(ax, res.get(key, []), box, c, ls, alpha, label=f"r = {float(r):g}, {key[-2:]} % credible")
        ax.set_title(
            "CsI 2017 + Ar: 68 % (solid) and 95 % (dashed) highest-posterior-density regions; regions reaching the "
            "prior box close along its frame",
            fontsize=7,
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


def _draw_existing_bounds(ax, model, nx: str, ny: str) -> int:
    """The existing bounds registered for ``model`` in the (x, y) plane (:mod:`cevnsfit.data.limits`);
    returns how many were drawn."""
    from ..data.limits import limit_curves

    base = tuple(n[6:] if n.startswith("log10_") else n for n in (nx, ny))
    drawn = 0
    for k, curve in enumerate(limit_curves(model)):
        if curve.axes != base:
            continue
        drawn += 1
        for j, (m, g) in enumerate(curve.pieces()):
            ax.plot(
                m, g, color=curve.colour or f"{0.25 + 0.1 * (k % 5):.2f}", ls=curve.linestyle, lw=1.1,
                label=(f"{curve.label} (excluded {curve.excluded})" if j == 0 else None),
            )  # fmt: skip
    return drawn


def plot_exclusion_generic(maps: dict, paths, title=None) -> None:
    """Exclusion maps of any two parameters of interest (results of
    :func:`cevnsfit.inference.exclusion.exclusion`): each combination's excluded region filled,
    hatched (so it reads in print) and outlined with its own colour-blind-safe colour and line
    style, from its grid refined near the contour level where the map carries one
    (:mod:`.refine`); the existing bounds registered for the model (:mod:`cevnsfit.data.limits`)
    in grey; log axes for parameters with log-uniform priors; the legend below the frame."""
    import matplotlib.pyplot as plt

    with figure_style():
        fig, ax = plt.subplots(figsize=(5.4, 5.0))
        first = next(iter(maps.values()))
        nx, ny = first["axes"]
        lx, ly = nx.startswith("log10_"), ny.startswith("log10_")
        handles = []
        for k, (label, res) in enumerate(maps.items()):
            x, y, excess = map_grid(res)
            how = "Neyman/FC toys" if res.get("method") == "neyman" else "Wilks"
            colour = OKABE_ITO[(k + 1) % len(OKABE_ITO)]
            ls, hatch = LINE_STYLES[k % len(LINE_STYLES)], HATCHES[k % len(HATCHES)]
            dropped = draw_excluded(ax, 10.0**x if lx else x, 10.0**y if ly else y, excess, colour, ls, hatch)
            patch = plt.matplotlib.patches.Patch(facecolor=colour, alpha=0.35, hatch=hatch, edgecolor=colour)
            patch.set_label(f"{label} ({confidence_label(res['z'])}, {how}, excluded{_UNRESOLVED if dropped else ''})")
            handles.append(patch)
        n_bounds = _draw_existing_bounds(ax, first.get("model"), nx, ny)
        handles += [h for h in ax.get_legend_handles_labels()[0] if h not in handles]
        units = first.get("units", {})
        bx, by = (n[6:] if n.startswith("log10_") else n for n in (nx, ny))
        ax.set_xlabel(_axis_label(nx, units.get(bx, "")))
        ax.set_ylabel(_axis_label(ny, units.get(by, "")))
        if lx:
            ax.set_xscale("log")
        if ly:
            ax.set_yscale("log")
        x, y, _ = map_grid(first)
        ax.set_xlim(*(10.0 ** x[[0, -1]] if lx else x[[0, -1]]))
        ax.set_ylim(*(10.0 ** y[[0, -1]] if ly else y[[0, -1]]))
        ax.set_title(title or first.get("model", ""), fontsize=9)
        if n_bounds:  # many entries: beside the frame
            fig.set_size_inches(8.6, 5.0)
            ax.legend(handles=handles, fontsize=6.2, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        else:
            ax.legend(
                handles=handles, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False
            )
        fig.tight_layout()
        _save(fig, paths)
