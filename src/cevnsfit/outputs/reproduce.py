"""One command for the whole analysis of arXiv:2103.10196 (docs: gallery), from the raw
public data: figures (PDF and PNG), machine-readable results (``results.json``, units in the
metadata) and a report (``report.md`` and ``report.html``) that sets each number beside its
published counterpart where one exists.

Long steps checkpoint under ``DIR/checkpoints`` (grid scans chunk by chunk, nested-sampling
runs in their own folders), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import platform
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from functools import partial
from importlib import metadata
from pathlib import Path

import numpy as np

from .._provenance import source_revision
from ..datasets.csi2021.likelihood import sm_normalisation_fit
from ..experiments import get_experiment
from ..inference.crosscheck import argon_crosscheck
from ..inference.exclusion import LOG10_GX_RANGE, LOG10_MZP_RANGE, exclusion_map
from ..inference.fits import chi2_totals, fit_gx
from ..inference.neyman import chernoff, neyman_exclusion, neyman_interval, profile_interval_boundary
from ..inference.problem import ProblemSpec
from ..inference.reference import REFERENCE_MODEL, reference_problem
from ..inference.sampling import (
    credible_grid,
    equal_tailed_interval,
    mass_in_grid_region,
    posterior_1d,
    posterior_1d_grid,
    posterior_2d,
)
from ..inference.scan import LoglikeEvaluator, dask_client, grid_scan
from ..inference.toys import toy_calibration
from ..likelihoods import likelihood
from ..models import LmuLtau
from ..models.g2 import PRESETS, g2_band
from ..published import reference_table2
from . import figures
from .io import to_jsonable, write_json_atomic
from .new_physics import new_physics_figures, new_physics_numbers
from .report import write_report
from .validation import run_checks
from .xenon_section import xenon_figures, xenon_numbers

MASSES = (20.0, 100.0)
RATIOS = (0.01, 1.0, 100.0)
#: Dataset combinations of the exclusion figure (its Fig. 7) and of the CsI 2021 extension.
EXCLUSIONS = {
    "CsI 2017": "csi2017",
    "Ar (CENNS-10)": "cenns10",
    "CsI 2017 + Ar": "csi2017,cenns10",
    "CsI 2020 + Ar (totals chi2)": "csi2020_totals,cenns10_totals",
    "CCM (projected)": "ccm",
}
EXTENSION_EXCLUSIONS = {"CsI 2021": "csi2021", "CsI 2021 + Ar": "csi2021,cenns10"}
PE_WINDOWS = ((6, 30), (8, 30), (16, 30))


@dataclass(frozen=True)
class Settings:
    n_mzp: int
    n_gx: int
    nlive_1d: int
    nlive_2d: int
    quick_sampler: bool
    chunk_size: int
    full_mode_points: bool
    n_toys: int
    n_newphys: int = 61
    n_xenon: int = 41
    n_xenon_toys: int = 300
    #: Neyman construction of the CsI 2017 + Ar exclusion: coarse grid and toys per point.
    neyman_grid: tuple = (13, 16)
    n_toys_neyman: int = 50
    #: Feldman-Cousins 1D sets of g_x (Table II points, r = 1): grid points and toys per point.
    fc_grid: int = 41
    n_toys_fc: int = 200
    #: Points per axis of the 2D posterior grid (refinement check on 2n - 1).
    grid_2d: int = 121
    #: Toy calibration of CsI 2017 + Ar at every Table II ratio r (else r = 1 only).
    toys_all_ratios: bool = True
    #: Feldman-Cousins sets at every Table II mass (else the first only).
    fc_all_masses: bool = True


FULL = Settings(
    n_mzp=101,
    n_gx=121,
    nlive_1d=400,
    nlive_2d=1000,
    quick_sampler=False,
    chunk_size=2000,
    full_mode_points=True,
    n_toys=400,
    n_newphys=61,
    n_xenon=41,
    n_xenon_toys=300,
)
QUICK = Settings(
    n_mzp=26,
    n_gx=31,
    nlive_1d=100,
    nlive_2d=150,
    quick_sampler=True,
    chunk_size=400,
    full_mode_points=False,
    n_toys=40,
    n_newphys=21,
    n_xenon=15,
    n_xenon_toys=30,
    neyman_grid=(5, 6),
    n_toys_neyman=10,
    fc_grid=9,
    n_toys_fc=20,
    grid_2d=41,
    toys_all_ratios=False,
    fc_all_masses=False,
)
#: The exclusion drawn with both Wilks and toy-calibrated (Neyman) contours.
NEYMAN_EXCLUSION = ("CsI 2017 + Ar", "csi2017,cenns10")


def versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in (
        "cevnsfit",
        "numpy",
        "scipy",
        "iminuit",
        "ultranest",
        "dask",
        "distributed",
        "matplotlib",
        "contourpy",
        "pooch",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    out.update(source_revision())  # git_commit, or None with revision_note (e.g. after `pip install .`)
    return out


class _Log:
    def __init__(self, progress: bool):
        self.progress = progress
        self.t0 = time.perf_counter()
        self.steps: list[dict] = []
        if progress:
            from rich.console import Console

            self.console = Console(stderr=True)

    def __call__(self, msg: str) -> None:
        t = time.perf_counter() - self.t0
        self.steps.append({"t_s": round(t, 2), "step": msg})
        if self.progress:
            self.console.log(f"[{t:7.1f} s] {msg}")


def _figure_paths(fig_dir: Path, stem: str) -> list[Path]:
    return [fig_dir / f"{stem}.pdf", fig_dir / f"{stem}.png"]


def _scan_exclusion(label, datasets, mode, settings, ckpt, client, progress, r=1.0, options=None):
    lm = np.linspace(*LOG10_MZP_RANGE, settings.n_mzp)
    lg = np.linspace(*LOG10_GX_RANGE, settings.n_gx)
    evaluator = LoglikeEvaluator(datasets, mode=mode, r=r, options=options)
    name = datasets.replace(",", "+")
    grid = grid_scan(
        evaluator,
        {"log10_mzp": lm, "log10_gx": lg},
        ckpt / f"scan_{name}_{mode}_r{r:g}",
        chunk_size=settings.chunk_size,
        scheduler=client,
        progress=progress,
    )
    return exclusion_map(
        datasets,
        mode=mode,
        r=r,
        n_mzp=settings.n_mzp,
        n_gx=settings.n_gx,
        options=options,
        logl_grid=np.asarray(grid).reshape(len(lm), len(lg)),
    )


def _logl_from_t(wmap: dict, mode: str, datasets: str) -> np.ndarray:
    """ln L on a Wilks map's grid: t = 2 (ln L_max - ln L) with ln L_max = max(grid, SM)."""
    like = likelihood(datasets, mode=mode)
    t = np.asarray(wmap["t"])
    ll_max = like.logl_sm() + 0.5 * float(wmap["t_sm"])
    return ll_max - 0.5 * t


def _posterior_task(kind: str, datasets: str, mode: str, m, r: float, sampler, seed, log_dir, nlive: int, quick: bool):
    """One nested-sampling run (a worker task: the likelihood is built where it runs)."""
    like = likelihood(datasets, mode=mode)
    common = {"sampler": sampler, "seed": seed, "log_dir": log_dir, "resume": True}
    if kind == "1d":
        return posterior_1d(like, m, r, min_num_live_points=nlive, quick=quick, **common)
    return posterior_2d(like, r, min_num_live_points=nlive, quick=quick, **common)


class _Deferred:
    """A task run on first ``result()`` in this process (no cluster: the synchronous scheduler)."""

    def __init__(self, fn, *args):
        self.fn, self.args, self.value, self.done = fn, args, None, False

    def result(self):
        if not self.done:
            self.value, self.done = self.fn(*self.args), True
        return self.value


def _submit(client, fn, *args):
    """Run ``fn(*args)`` on the cluster in the background (or later, here, without one)."""
    if client is None or isinstance(client, str):
        return _Deferred(fn, *args)
    return client.submit(fn, *args, pure=False)


def _posterior_tasks(client, mode, settings, sampler, seed, ckpt) -> dict:
    """All nested-sampling runs of Table II (1D) and Fig. 6 (2D), started at once: they run on
    the workers while this process does the grid work (they are cross-checks and the Table II
    intervals; nothing else waits for them)."""
    tasks = {}
    for m in MASSES:
        for r in RATIOS:
            tasks[("1d", m, r)] = _submit(
                client, _posterior_task, "1d", "csi2017,cenns10", mode, m, r, sampler, seed,
                ckpt / f"post1d_{mode}_m{m:g}_r{r:g}", settings.nlive_1d, settings.quick_sampler,
            )  # fmt: skip
    for r in RATIOS:
        tasks[("2d", None, r)] = _submit(
            client, _posterior_task, "2d", "csi2017,cenns10", mode, None, r, sampler, seed,
            ckpt / f"post2d_{mode}_r{r:g}", settings.nlive_2d, settings.quick_sampler,
        )  # fmt: skip
    return tasks


def _table2_row(like, m, r, post):
    fit = fit_gx(like, m, r)
    grid = posterior_1d_grid(like, m, r, n_grid=601)
    dens = credible_grid(reference_problem(like, ("gx",), m, r))  # 2001 points, 2x refinement check
    ws = post["weighted_samples"]
    et_ns = equal_tailed_interval(ws["log10_gx"], ws["weights"])
    ch = chernoff(fit["t"])
    return {
        "mzp_mev": m,
        "r": r,
        "gx_mle": fit["gx_mle"],
        "gx_68": [float(v) for v in post["gx_68"]],
        "z_sigma": fit["z_sigma"],
        "t": fit["t"],
        "p": fit["p"],
        "gx_68_grid": [float(v) for v in grid["gx_68"]],
        "gx_68_hpd_density": [[10.0**a, 10.0**b] for a, b in dens["hpd_68"]],
        "gx_68_equal_tailed": [10.0**v for v in dens["equal_tailed_68"]],
        "gx_68_equal_tailed_sampler": [10.0**v for v in et_ns],
        "grid_convergence": dens["convergence"],
        "p_chernoff": ch["p"],
        "z_chernoff": ch["z"],
        "published": reference_table2(m, r),
        "gx_mle_in_prior": post["gx_mle"],
        "log_evidence": post["log_evidence"],
        "sampler": post["sampler"],
        "seed": post["seed"],
        "local_maxima": fit["local_maxima"],
        "log10_gx_grid": grid["log10_gx"].tolist(),
        "density": grid["density"].tolist(),
    }


def _fit_rows(datasets, mode, masses=MASSES, ratios=RATIOS, options=None, matching=None, paper_sign=False):
    like = likelihood(datasets, mode=mode, options=options, matching=matching)
    rows = []
    for m in masses:
        for r in ratios:
            scan = np.linspace(-5.0, -1.0, 161 if mode == "full" else 801)
            res = fit_gx(like, m, r, log10_gx_scan=scan, paper_sign=paper_sign)
            rows.append({k: res[k] for k in ("mzp_mev", "r", "gx_mle", "t", "p", "z_sigma")})
    return rows


def reproduce(
    out_dir,
    quick: bool = False,
    mode: str = "paper",
    scheduler=None,
    sampler: str = "ultranest",
    seed: int = 1,
    progress: bool = True,
    extra_bounds=(),
) -> dict:
    """Run the whole analysis into ``out_dir``; returns the results dict (also ``results.json``).

    ``extra_bounds``: paths of user limit curves (DarkCast ``.lmt`` format: mass [GeV], g_x)
    drawn beside the bundled BaBar, Borexino and CHARM-II bounds. One Dask client (``scheduler``,
    default an embedded local cluster) serves the whole run: the nested-sampling runs start on
    it at once and the scans and toys follow.
    """
    t_start = time.perf_counter()
    with dask_client(scheduler) as client:
        return _reproduce(
            out_dir, quick, mode, "synchronous" if client is None else client, sampler, seed, progress, extra_bounds,
            t_start,
        )  # fmt: skip


def _reproduce(out_dir, quick, mode, scheduler, sampler, seed, progress, extra_bounds, t_start) -> dict:
    client = scheduler  # a distributed.Client or "synchronous"
    settings = QUICK if quick else FULL
    out = Path(out_dir)
    fig_dir, ckpt = out / "figures", out / "checkpoints"
    fig_dir.mkdir(parents=True, exist_ok=True)
    ckpt.mkdir(parents=True, exist_ok=True)
    log = _Log(progress)
    res: dict = {
        "settings": {**asdict(settings), "quick": quick, "mode": mode, "sampler": sampler, "seed": seed},
        "units": {"mzp_mev": "MeV", "gx": "dimensionless", "counts": "events", "t": "-2 Delta ln L"},
    }

    # 1. recoil spectrum at CENNS-10 (Fig. 3b)
    log("Fig. 3b: CENNS-10 recoil spectrum, SM vs M_Z' = 20 MeV, g_x = 5.6e-4, r = 1")
    ar = get_experiment("cenns10", mode)
    point = LmuLtau(20.0, 5.6e-4, 1.0)
    figures.plot_recoil_spectrum(
        ar,
        point,
        _figure_paths(fig_dir, "fig3b_recoil_spectrum_cenns10"),
        label=r"$L_\mu-L_\tau$: $M_{Z'}$ = 20 MeV, $g_x$ = 5.6e-4, r = 1",
    )
    res["fig3b"] = {
        "sm_total": float(ar.predict().sum()),
        "model_total": float(ar.predict(point).sum()),
        "ratio_to_sm": float(ar.predict(point).sum() / ar.predict().sum()),
    }

    # 2. argon cross-check (Table I)
    log("Table I: argon cross-check fit")
    t1 = argon_crosscheck()
    res["table1"] = {k: t1[k] for k in ("cevns", "ss", "prompt_brn", "delayed_brn")}
    res["table1_published"] = t1["published"]
    syst = argon_crosscheck(shape_systematics=True)["systematics"]
    res["table1_shape_systematics"] = {k: syst[k] for k in ("cevns", "ss", "prompt_brn", "delayed_brn")}
    res["table1_shape_systematics"]["pulls"] = syst["pulls"]

    # 3. Table II and Fig. 4: 1D posteriors, MLE and significance, CsI 2017 + Ar
    log("Table II / Fig. 4: 1D posteriors of g_x (nested sampling) and Wilks significances")
    like = likelihood("csi2017,cenns10", mode=mode)
    posteriors = _posterior_tasks(client, mode, settings, sampler, seed, ckpt)
    # sections 8 and 9 (new physics, XENONnT) need no cluster: they run in a thread of this
    # process from here on, while this thread mostly waits for the workers (posteriors, scans,
    # toys); their figures are drawn at the end (pyplot is not thread-safe)
    side_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="side-sections")
    xenon_job = side_pool.submit(xenon_numbers, settings.n_xenon, settings.n_xenon_toys, seed, log)
    newphys_job = side_pool.submit(new_physics_numbers, mode, settings.n_newphys)
    side_pool.shutdown(wait=False)
    res["table2"] = []
    for m in MASSES:
        for r in RATIOS:
            res["table2"].append(_table2_row(like, m, r, posteriors[("1d", m, r)].result()))
            log(
                f"  M_Z' = {m:g} MeV, r = {r:g}: g_x MLE {res['table2'][-1]['gx_mle']:.3g}, "
                f"Z = {res['table2'][-1]['z_sigma']:.2f}"
            )
    figures.plot_posterior_1d(res["table2"], _figure_paths(fig_dir, "fig4_posterior_1d"))
    res["g2_band"] = {
        name: {f"{m:g}": {k: float(v) for k, v in g2_band(m, name).items()} for m in MASSES} for name in PRESETS
    }

    # 4. chi-square of totals (Fig. 5)
    log("Fig. 5: chi-square of CsI 2020 + Ar totals")
    res["chi2_totals"] = []
    curves = []
    for norm in ("published", "computed"):
        for m in MASSES:
            c = chi2_totals(m, 1.0, norm, matching=None if mode == "paper" else "full")
            curves.append(c)
            if norm == "published":
                res["chi2_totals"].append(
                    {
                        "mzp_mev": m,
                        "r": 1.0,
                        "minima": c["minima"],
                        "chi2_sm": c["chi2_sm"],
                        "global_minimum": c["global_minimum"],
                    }
                )
    res["chi2_totals_computed_argon"] = [
        {
            "mzp_mev": c["mzp_mev"],
            "r": 1.0,
            "minima": c["minima"],
            "chi2_sm": c["chi2_sm"],
            "global_minimum": c["global_minimum"],
        }
        for c in curves
        if c["normalisation"] == "computed"
    ]
    figures.plot_chi2(curves, _figure_paths(fig_dir, "fig5_chi2_totals"))

    # 5. 2D posteriors (Fig. 6): HPD regions from the density on a grid; nested-sampling draws kept and
    #    cross-checked (the fraction of their weight inside the grid's regions)
    log(
        f"Fig. 6: 2D posteriors in (M_Z', g_x): grid density ({settings.grid_2d}^2, 2x refinement check), "
        "nested sampling cross-check"
    )
    res["posterior_2d"] = {}
    for r in RATIOS:
        t0 = time.perf_counter()
        g2d = credible_grid(reference_problem(like, ("mzp_mev", "gx"), r=r), n=settings.grid_2d, check=True)
        t_grid = time.perf_counter() - t0
        p2 = posteriors[("2d", None, r)].result()
        res["posterior_2d"][f"{r:g}"] = {
            "region_68": g2d["region_68"],
            "region_95": g2d["region_95"],
            "method": "grid density",
            "map_point": g2d["map_point"],
            "convergence": g2d["convergence"],
            "time_s_with_check": t_grid,
            "log_evidence": p2["log_evidence"],
            "axes": ["log10_mzp_mev", "log10_gx"],
            "sampler_cross_check": {
                "sampler": sampler,
                "weight_in_grid_regions": mass_in_grid_region(g2d, p2["samples"], p2["weights"]),
                "nominal": {"68": 0.683, "95": 0.954},
                "region_68_histogram": p2["region_68"],
                "region_95_histogram": p2["region_95"],
            },
        }
        log(
            f"  r = {r:g}: {len(g2d['region_68'])} ring(s) in the 68 % region; sampler weight inside the grid "
            f"regions {res['posterior_2d'][f'{r:g}']['sampler_cross_check']['weight_in_grid_regions']}"
        )
    figures.plot_posterior_2d(res["posterior_2d"], _figure_paths(fig_dir, "fig6_posterior_2d"))

    # 6. exclusions (Fig. 7) and the CsI 2021 extension, on the distributed engine
    log("Fig. 7: 2-sigma exclusion maps (chunked Dask scans, checkpointed)")
    with nullcontext(scheduler) as client:  # the run's one client (reproduce)
        maps = {
            label: _scan_exclusion(label, ds, mode, settings, ckpt, client, progress)
            for label, ds in EXCLUSIONS.items()
        }
        figures.plot_exclusions(maps, _figure_paths(fig_dir, "fig7_exclusions"), extra_bounds=extra_bounds)
        res["exclusions"] = {
            label: {
                "datasets": m["datasets"],
                "contours": m["contours"],
                "t_threshold": m["t_threshold"],
                "dof": m["dof"],
                "t_sm": m["t_sm"],
                "axes": ["log10_mzp_mev", "log10_gx"],
                "method": "wilks",
            }
            for label, m in maps.items()
        }
        if mode == "paper":  # toys are defined for the paper-mode terms
            label, ds = NEYMAN_EXCLUSION
            log(
                f"Fig. 7 ({label}): toy-calibrated (Neyman, Feldman-Cousins ordering) exclusion on a "
                f"{settings.neyman_grid[0]} x {settings.neyman_grid[1]} construction grid, {settings.n_toys_neyman} "
                "toys per point"
            )
            t0 = time.perf_counter()
            spec = ProblemSpec(tuple(ds.split(",")), mode, {}, REFERENCE_MODEL, ("mzp_mev", "gx"), {"r": 1.0})
            wmap = maps[label]
            ney = neyman_exclusion(
                spec,
                n=settings.neyman_grid,
                z=wmap["z"],
                n_toys=settings.n_toys_neyman,
                seed=seed,
                scheduler=client,
                out_dir=ckpt / f"neyman_{ds.replace(',', '+')}_{mode}_r1",
                progress=progress,
                fine_axes=(wmap["log10_mzp"], wmap["log10_gx"]),
                logl_fine=_logl_from_t(wmap, mode, ds),
            )
            ney_time = time.perf_counter() - t0
            res["exclusions"][label + " [neyman]"] = {
                "datasets": wmap["datasets"],
                "contours": ney["contours"],
                "method": "neyman",
                "z": ney["z"],
                "cl": ney["cl"],
                "t_sm": ney["t_null"],
                "axes": ["log10_mzp_mev", "log10_gx"],
                "construction": {
                    k: ney["construction"][k]
                    for k in (
                        "axes",
                        "t_critical",
                        "t_obs",
                        "constructed",
                        "n_toys",
                        "t_skip",
                        "t_critical_max",
                        "ordering",
                    )
                },
                "sm_row_excluded_fraction": float(
                    np.mean(np.asarray(ney["t"])[:, 0] > np.asarray(ney["t_critical"])[:, 0])
                ),
                "wilks_sm_row_excluded_fraction": float(np.mean(np.asarray(wmap["t"])[:, 0] > wmap["t_threshold"])),
                "time_s": ney_time,
            }
            figures.plot_exclusion_methods(
                {**wmap, "z": wmap["z"]}, ney, _figure_paths(fig_dir, "fig7_exclusion_wilks_vs_neyman"), label=label
            )
        log("Extension: the full CsI 2021 data set")
        ext_maps = {
            label: _scan_exclusion(label, ds, mode, settings, ckpt, client, progress)
            for label, ds in EXTENSION_EXCLUSIONS.items()
        }
        ext_maps["CsI 2020 + Ar (totals chi2)"] = maps["CsI 2020 + Ar (totals chi2)"]
        figures.plot_exclusions(
            ext_maps,
            _figure_paths(fig_dir, "ext_csi2021_exclusions"),
            title="CsI 2021 full data (energy x time likelihood) vs the totals chi-square",
        )
    res["csi2021"] = {
        "sm_fit": {k: v for k, v in sm_normalisation_fit("simple").items()},
        "significance": {label: _fit_rows(ds, mode) for label, ds in EXTENSION_EXCLUSIONS.items()},
        "exclusions": {
            label: {"contours": m["contours"], "t_sm": m["t_sm"], "method": "wilks"} for label, m in ext_maps.items()
        },
    }

    # 7. sensitivity to the analysis choices
    log("Choices: CsI PE window, loop-log sign, BSM matching")
    res["pe_windows"] = {
        f"{lo}-{hi} PE": {
            "csi2017": _fit_rows("csi2017", mode, ratios=(1.0,), options={"csi2017": {"pe_window": (lo, hi)}}),
            "csi2017+cenns10": _fit_rows(
                "csi2017,cenns10", mode, ratios=(1.0,), options={"csi2017": {"pe_window": (lo, hi)}}
            ),
        }
        for lo, hi in PE_WINDOWS
    }
    res["choices"] = {
        "baseline (paper matching, physical sign)": _fit_rows("csi2017,cenns10", mode, ratios=(1.0,)),
        "paper_sign (printed loop logarithm)": _fit_rows("csi2017,cenns10", mode, ratios=(1.0,), paper_sign=True),
        "full matching (sqrt(2) G_F)": _fit_rows("csi2017,cenns10", mode, ratios=(1.0,), matching="full"),
    }
    if mode == "paper":  # the per-bin marginalised steady state exists in paper mode only
        res["choices"]["Jeffreys prior on the CsI steady state"] = _fit_rows(
            "csi2017,cenns10", mode, ratios=(1.0,), options={"csi2017": {"background_prior": "jeffreys"}}
        )
    if mode == "paper":  # toys are defined for the paper-mode (per-bin marginalised) terms
        log("Toy-MC calibration of the significance (SM on the boundary), r = 1")
        res["toys"] = []
        with nullcontext(scheduler) as client:  # the run's one client (reproduce)
            for label, ds in (
                ("CsI 2017 + Ar", "csi2017,cenns10"),
                ("CsI 2021", "csi2021"),
                ("CsI 2021 + Ar", "csi2021,cenns10"),
            ):
                ratios = RATIOS if ds == "csi2017,cenns10" and settings.toys_all_ratios else (1.0,)
                for m, r in ((m, r) for m in MASSES for r in ratios):
                    tc = toy_calibration(
                        ds,
                        m,
                        r=r,
                        n_toys=settings.n_toys,
                        seed=seed,
                        scheduler=client,
                        progress=progress,
                        checkpoint=ckpt / "toys",
                    )
                    res["toys"].append(
                        {
                            "data": label,
                            "datasets": ds,
                            "mzp_mev": m,
                            "r": r,
                            "n_toys": settings.n_toys,
                            "seed": seed,
                            **{
                                k: tc[k]
                                for k in (
                                    "t_obs",
                                    "p_toys",
                                    "p_toys_err",
                                    "z_toys",
                                    "p_wilks",
                                    "z_wilks",
                                    "p_wilks_half",
                                    "z_wilks_half",
                                )
                            },
                        }
                    )
            log("Feldman-Cousins 1D sets of g_x (Neyman construction with toys), CsI 2017 + Ar, r = 1")
            res["neyman_1d"] = []
            for m in MASSES if settings.fc_all_masses else MASSES[:1]:
                for cl in (0.6827,):
                    spec = ProblemSpec(
                        ("csi2017", "cenns10"), mode, {}, REFERENCE_MODEL, ("gx",), {"mzp_mev": m, "r": 1.0}
                    )
                    fc = neyman_interval(
                        spec,
                        cl=cl,
                        n=settings.fc_grid,
                        n_toys=settings.n_toys_fc,
                        seed=seed,
                        scheduler=client,
                        progress=progress,
                        out_dir=ckpt / f"neyman1d_csi2017+cenns10_{mode}_m{m:g}_r1",
                    )
                    prof = profile_interval_boundary(reference_problem(like, ("gx",), m, 1.0), cl=cl)
                    res["neyman_1d"].append(
                        {
                            "mzp_mev": m,
                            "r": 1.0,
                            "cl": cl,
                            "segments": fc["segments"],
                            "null_in_set": fc["null_in_set"],
                            "upper_limit": fc["upper_limit"],
                            "t_null": fc["t_null"],
                            "n_toys": fc["n_toys"],
                            "grid_points": settings.fc_grid,
                            "profile_chernoff": {
                                "segments": prof["segments"],
                                "null_in_interval": prof["null_in_interval"],
                                "delta": prof["delta"],
                                "z_null_chernoff": prof["z_null_chernoff"],
                            },
                        }
                    )
    if settings.full_mode_points and mode == "paper":
        log("Full-mode likelihoods (profiled nuisances) at the Table II points, r = 1")
        res["full_mode"] = {
            label: _fit_rows(ds, "full", ratios=(1.0,))
            for label, ds in (
                ("CsI 2017", "csi2017"),
                ("CsI 2017 + Ar", "csi2017,cenns10"),
                ("CsI 2021", "csi2021"),
                ("CsI 2021 + Ar", "csi2021,cenns10"),
            )
        }

    # 8. new physics from the same data (model-independent inference)
    log("New physics from the same data: magnetic moments, scalar, weak mixing angle, NSI")
    res["new_physics"], newphys_figs = newphys_job.result()
    # the last figures are drawn by the (now idle) workers while this process goes on
    figure_jobs = [_submit(client, new_physics_figures, newphys_figs, partial(_figure_paths, fig_dir))]

    # 9. XENONnT solar 8B: the measurement and new physics with xenon
    res["xenonnt"], xenon_maps = xenon_job.result()
    figure_jobs.append(_submit(client, xenon_figures, xenon_maps, partial(_figure_paths, fig_dir)))

    # 10. validation rows and the report
    log("Validation against published numbers")
    res["validation"] = run_checks()
    for job in figure_jobs:
        job.result()
    res["runtime_s"] = time.perf_counter() - t_start
    res["versions"] = versions()
    res["log"] = log.steps
    for row in res["table2"]:  # keep the density curves out of the JSON summary
        row.pop("log10_gx_grid", None)
        row.pop("density", None)
    res = to_jsonable(res)
    write_json_atomic(out / "results.json", res)
    write_report(res, out)
    log(f"done in {res['runtime_s']:.0f} s: {out / 'report.md'}")
    return res
