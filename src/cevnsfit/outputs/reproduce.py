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
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path

import numpy as np

from .._provenance import source_revision
from ..datasets.cenns10.crosscheck import argon_crosscheck
from ..datasets.csi2021.likelihood import sm_normalisation_fit
from ..experiments import get_experiment
from ..inference.exclusion import LOG10_GX_RANGE, LOG10_MZP_RANGE, exclusion_map
from ..inference.fits import chi2_totals, fit_gx, wilks
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
from .hepdata import write_hepdata
from .io import to_jsonable, write_json_atomic
from .new_physics import new_physics_figures, new_physics_numbers
from .new_physics_windows import b_l_exclusion, window_limits
from .refine import with_refined
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
    emap = exclusion_map(
        datasets,
        mode=mode,
        r=r,
        n_mzp=settings.n_mzp,
        n_gx=settings.n_gx,
        options=options,
        logl_grid=np.asarray(grid).reshape(len(lm), len(lg)),
    )
    return with_refined(
        emap, reference_problem(likelihood(datasets, mode=mode, options=options), ("mzp_mev", "gx"), r=r)
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
    p2, z2 = wilks(fit["t"], 2)  # the other reading of the reference's Eq. (28): eta = 2 (M_Z' and g_x)
    return {
        "mzp_mev": m,
        "r": r,
        "gx_mle": fit["gx_mle"],
        "gx_68": [float(v) for v in post["gx_68"]],
        "z_sigma": fit["z_sigma"],
        "t": fit["t"],
        "p": fit["p"],
        "dof": fit["dof"],
        "z_sigma_dof2": z2,
        "p_dof2": p2,
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


@dataclass
class _Run:
    """The state one reproduction shares between its sections (each section reads what earlier
    ones left here and writes its results into ``res``)."""

    out: Path
    settings: Settings
    mode: str
    client: object  # a distributed.Client or "synchronous"
    sampler: str
    seed: int
    progress: bool
    extra_bounds: tuple
    t_start: float
    log: _Log
    res: dict
    like: object = None
    posteriors: dict = field(default_factory=dict)
    side_jobs: dict = field(default_factory=dict)
    maps: dict = field(default_factory=dict)
    figure_jobs: list = field(default_factory=list)

    @property
    def fig_dir(self) -> Path:
        return self.out / "figures"

    @property
    def ckpt(self) -> Path:
        return self.out / "checkpoints"

    def paths(self, stem: str) -> list[Path]:
        return _figure_paths(self.fig_dir, stem)


def _reproduce(out_dir, quick, mode, scheduler, sampler, seed, progress, extra_bounds, t_start) -> dict:
    """Run the sections of :data:`SECTIONS` in order on one shared :class:`_Run`."""
    settings = QUICK if quick else FULL
    run = _Run(
        out=Path(out_dir), settings=settings, mode=mode, client=scheduler, sampler=sampler, seed=seed,
        progress=progress, extra_bounds=tuple(extra_bounds), t_start=t_start, log=_Log(progress),
        res={
            "settings": {**asdict(settings), "quick": quick, "mode": mode, "sampler": sampler, "seed": seed},
            "units": {"mzp_mev": "MeV", "gx": "dimensionless", "counts": "events", "t": "-2 Delta ln L"},
        },
    )  # fmt: skip
    run.fig_dir.mkdir(parents=True, exist_ok=True)
    run.ckpt.mkdir(parents=True, exist_ok=True)
    for section in SECTIONS:
        section(run)
    return run.res


def _fig3b(run: _Run) -> None:
    """Recoil spectrum at CENNS-10, SM against the benchmark point (the reference's Fig. 3b)."""
    run.log("Fig. 3b: CENNS-10 recoil spectrum, SM vs M_Z' = 20 MeV, g_x = 5.6e-4, r = 1")
    ar = get_experiment("cenns10", run.mode)
    point = LmuLtau(20.0, 5.6e-4, 1.0)
    figures.plot_recoil_spectrum(
        ar,
        point,
        run.paths("fig3b_recoil_spectrum_cenns10"),
        label=r"$L_\mu-L_\tau$: $M_{Z'}$ = 20 MeV, $g_x$ = 5.6e-4, r = 1",
    )
    run.res["fig3b"] = {
        "sm_total": float(ar.predict().sum()),
        "model_total": float(ar.predict(point).sum()),
        "ratio_to_sm": float(ar.predict(point).sum() / ar.predict().sum()),
    }


def _table1(run: _Run) -> None:
    """The argon cross-check (the reference's Table I), with and without the shape systematics."""
    run.log("Table I: argon cross-check fit")
    t1 = argon_crosscheck()
    res = run.res
    res["table1"] = {k: t1[k] for k in ("cevns", "ss", "prompt_brn", "delayed_brn")}
    res["table1_published"] = t1["published"]
    syst = argon_crosscheck(shape_systematics=True)["systematics"]
    res["table1_shape_systematics"] = {k: syst[k] for k in ("cevns", "ss", "prompt_brn", "delayed_brn")}
    res["table1_shape_systematics"]["pulls"] = syst["pulls"]


def _start_background_work(run: _Run) -> None:
    """Start what nothing waits for until late: the nested-sampling runs on the workers, and the
    new-physics and XENONnT sections in a thread of this process (they need no cluster; this
    thread mostly waits for the workers). Their figures are drawn at the end (pyplot is not
    thread-safe)."""
    run.log("Table II / Fig. 4: 1D posteriors of g_x (nested sampling) and Wilks significances")
    run.like = likelihood("csi2017,cenns10", mode=run.mode)
    run.posteriors = _posterior_tasks(run.client, run.mode, run.settings, run.sampler, run.seed, run.ckpt)
    side_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="side-sections")
    s = run.settings
    run.side_jobs = {
        "xenon": side_pool.submit(xenon_numbers, s.n_xenon, s.n_xenon_toys, run.seed, run.log),
        "new_physics": side_pool.submit(new_physics_numbers, run.mode, s.n_newphys),
        "new_physics_windows": side_pool.submit(window_limits, run.mode, PE_WINDOWS),
        "b_l": side_pool.submit(b_l_exclusion, run.mode, s.n_newphys),
    }
    side_pool.shutdown(wait=False)


def _table2(run: _Run) -> None:
    """Table II and Fig. 4: MLE, intervals and significances of g_x at each (M_Z', r)."""
    res = run.res
    res["table2"] = []
    for m in MASSES:
        for r in RATIOS:
            res["table2"].append(_table2_row(run.like, m, r, run.posteriors[("1d", m, r)].result()))
            run.log(
                f"  M_Z' = {m:g} MeV, r = {r:g}: g_x MLE {res['table2'][-1]['gx_mle']:.3g}, "
                f"Z = {res['table2'][-1]['z_sigma']:.2f}"
            )
    figures.plot_posterior_1d(res["table2"], run.paths("fig4_posterior_1d"))
    res["g2_band"] = {
        name: {f"{m:g}": {k: float(v) for k, v in g2_band(m, name).items()} for m in MASSES} for name in PRESETS
    }


def _chi2_summary(c: dict) -> dict:
    keys = ("minima", "chi2_sm", "global_minimum")
    return {"mzp_mev": c["mzp_mev"], "r": 1.0, **{k: c[k] for k in keys}}


def _fig5(run: _Run) -> None:
    """Chi-square of the CsI 2020 + Ar totals against g_x (the reference's Fig. 5), both argon
    normalisations."""
    run.log("Fig. 5: chi-square of CsI 2020 + Ar totals")
    matching = None if run.mode == "paper" else "full"
    curves = [chi2_totals(m, 1.0, norm, matching=matching) for norm in ("published", "computed") for m in MASSES]
    run.res["chi2_totals"] = [_chi2_summary(c) for c in curves if c["normalisation"] == "published"]
    run.res["chi2_totals_computed_argon"] = [_chi2_summary(c) for c in curves if c["normalisation"] == "computed"]
    figures.plot_chi2(curves, run.paths("fig5_chi2_totals"))


def _fig6(run: _Run) -> None:
    """2D posteriors (the reference's Fig. 6): HPD regions from the density on a grid; the
    nested-sampling draws kept and cross-checked (their weight inside the grid's regions)."""
    s = run.settings
    run.log(
        f"Fig. 6: 2D posteriors in (M_Z', g_x): grid density ({s.grid_2d}^2, 2x refinement check), "
        "nested sampling cross-check"
    )
    out = run.res["posterior_2d"] = {}
    for r in RATIOS:
        t0 = time.perf_counter()
        g2d = credible_grid(reference_problem(run.like, ("mzp_mev", "gx"), r=r), n=s.grid_2d, check=True)
        t_grid = time.perf_counter() - t0
        p2 = run.posteriors[("2d", None, r)].result()
        out[f"{r:g}"] = {
            "region_68": g2d["region_68"],
            "region_95": g2d["region_95"],
            "method": "grid density",
            "map_point": g2d["map_point"],
            "convergence": g2d["convergence"],
            "time_s_with_check": t_grid,
            "log_evidence": p2["log_evidence"],
            "axes": ["log10_mzp_mev", "log10_gx"],
            "sampler_cross_check": {
                "sampler": run.sampler,
                "weight_in_grid_regions": mass_in_grid_region(g2d, p2["samples"], p2["weights"]),
                "nominal": {"68": 0.683, "95": 0.954},
                "region_68_histogram": p2["region_68"],
                "region_95_histogram": p2["region_95"],
            },
        }
        run.log(
            f"  r = {r:g}: {len(g2d['region_68'])} ring(s) in the 68 % region; sampler weight inside the grid "
            f"regions {out[f'{r:g}']['sampler_cross_check']['weight_in_grid_regions']}"
        )
    figures.plot_posterior_2d(out, run.paths("fig6_posterior_2d"))


def _fig7(run: _Run) -> None:
    """2 sigma Wilks exclusions of every data combination (the reference's Fig. 7), chunked Dask
    scans, checkpointed."""
    run.log("Fig. 7: 2-sigma exclusion maps (chunked Dask scans, checkpointed)")
    s = run.settings
    run.maps = {
        label: _scan_exclusion(label, ds, run.mode, s, run.ckpt, run.client, run.progress)
        for label, ds in EXCLUSIONS.items()
    }
    figures.plot_exclusions(run.maps, run.paths("fig7_exclusions"), extra_bounds=run.extra_bounds)
    run.res["exclusions"] = {
        label: {
            "datasets": m["datasets"],
            "contours": m["contours"],
            "contours_refined": m["contours_refined"],
            "refine_factor": m["refined"]["factor"],
            "t_threshold": m["t_threshold"],
            "dof": m["dof"],
            "t_sm": m["t_sm"],
            "axes": ["log10_mzp_mev", "log10_gx"],
            "method": "wilks",
        }
        for label, m in run.maps.items()
    }


_NEYMAN_CONSTRUCTION_KEYS = (
    "axes",
    "t_critical",
    "t_obs",
    "constructed",
    "n_toys",
    "t_skip",
    "t_critical_max",
    "ordering",
)


def _fig7_neyman(run: _Run) -> None:
    """The toy-calibrated (Neyman, Feldman-Cousins ordering) exclusion of one combination beside
    its Wilks map (paper mode: toys are defined for the paper-mode terms)."""
    if run.mode != "paper":
        return
    s = run.settings
    label, ds = NEYMAN_EXCLUSION
    run.log(
        f"Fig. 7 ({label}): toy-calibrated (Neyman, Feldman-Cousins ordering) exclusion on a "
        f"{s.neyman_grid[0]} x {s.neyman_grid[1]} construction grid, {s.n_toys_neyman} toys per point"
    )
    t0 = time.perf_counter()
    spec = ProblemSpec(tuple(ds.split(",")), run.mode, {}, REFERENCE_MODEL, ("mzp_mev", "gx"), {"r": 1.0})
    wmap = run.maps[label]
    ney = neyman_exclusion(
        spec,
        n=s.neyman_grid,
        z=wmap["z"],
        n_toys=s.n_toys_neyman,
        seed=run.seed,
        scheduler=run.client,
        out_dir=run.ckpt / f"neyman_{ds.replace(',', '+')}_{run.mode}_r1",
        progress=run.progress,
        fine_axes=(wmap["log10_mzp"], wmap["log10_gx"]),
        logl_fine=_logl_from_t(wmap, run.mode, ds),
    )
    run.res["exclusions"][label + " [neyman]"] = {
        "datasets": wmap["datasets"],
        "contours": ney["contours"],
        "method": "neyman",
        "z": ney["z"],
        "cl": ney["cl"],
        "t_sm": ney["t_null"],
        "axes": ["log10_mzp_mev", "log10_gx"],
        "construction": {k: ney["construction"][k] for k in _NEYMAN_CONSTRUCTION_KEYS},
        "sm_row_excluded_fraction": float(np.mean(np.asarray(ney["t"])[:, 0] > np.asarray(ney["t_critical"])[:, 0])),
        "wilks_sm_row_excluded_fraction": float(np.mean(np.asarray(wmap["t"])[:, 0] > wmap["t_threshold"])),
        "time_s": time.perf_counter() - t0,
    }
    figures.plot_exclusion_methods(wmap, ney, run.paths("fig7_exclusion_wilks_vs_neyman"), label=label)


def _csi2021_extension(run: _Run) -> None:
    """Beyond the reference analysis: the full CsI 2021 data set (SM fit, significances, maps)."""
    run.log("Extension: the full CsI 2021 data set")
    s = run.settings
    ext_maps = {
        label: _scan_exclusion(label, ds, run.mode, s, run.ckpt, run.client, run.progress)
        for label, ds in EXTENSION_EXCLUSIONS.items()
    }
    ext_maps["CsI 2020 + Ar (totals chi2)"] = run.maps["CsI 2020 + Ar (totals chi2)"]
    figures.plot_exclusions(
        ext_maps,
        run.paths("ext_csi2021_exclusions"),
        title="CsI 2021 full data (energy x time likelihood) vs the totals chi-square",
    )
    run.res["csi2021"] = {
        "sm_fit": dict(sm_normalisation_fit("simple")),
        "significance": {label: _fit_rows(ds, run.mode) for label, ds in EXTENSION_EXCLUSIONS.items()},
        "exclusions": {
            label: {
                "contours": m["contours"],
                "contours_refined": m["contours_refined"],
                "t_sm": m["t_sm"],
                "t_threshold": m["t_threshold"],
                "method": "wilks",
            }
            for label, m in ext_maps.items()
        },
    }


def _choices(run: _Run) -> None:
    """How the analysis choices move the results: the CsI PE window, the loop-log sign, the
    BSM matching and (paper mode) the steady-state prior."""
    run.log("Choices: CsI PE window, loop-log sign, BSM matching")
    mode = run.mode
    run.res["pe_windows"] = {
        f"{lo}-{hi} PE": {
            "csi2017": _fit_rows("csi2017", mode, ratios=(1.0,), options={"csi2017": {"pe_window": (lo, hi)}}),
            "csi2017+cenns10": _fit_rows(
                "csi2017,cenns10", mode, ratios=(1.0,), options={"csi2017": {"pe_window": (lo, hi)}}
            ),
        }
        for lo, hi in PE_WINDOWS
    }
    choices = run.res["choices"] = {
        "baseline (paper matching, physical sign)": _fit_rows("csi2017,cenns10", mode, ratios=(1.0,)),
        "paper_sign (printed loop logarithm)": _fit_rows("csi2017,cenns10", mode, ratios=(1.0,), paper_sign=True),
        "full matching (sqrt(2) G_F)": _fit_rows("csi2017,cenns10", mode, ratios=(1.0,), matching="full"),
    }
    if mode == "paper":  # the per-bin marginalised steady state exists in paper mode only
        choices["Jeffreys prior on the CsI steady state"] = _fit_rows(
            "csi2017,cenns10", mode, ratios=(1.0,), options={"csi2017": {"background_prior": "jeffreys"}}
        )


_TOY_KEYS = ("t_obs", "p_toys", "p_toys_err", "z_toys", "p_wilks", "z_wilks", "p_wilks_half", "z_wilks_half")
_TOY_DATA = (("CsI 2017 + Ar", "csi2017,cenns10"), ("CsI 2021", "csi2021"), ("CsI 2021 + Ar", "csi2021,cenns10"))


def _toys(run: _Run) -> None:
    """Toy-MC calibration of the significance (SM on the boundary), paper mode (toys are defined
    for the per-bin marginalised terms)."""
    if run.mode != "paper":
        return
    run.log("Toy-MC calibration of the significance (SM on the boundary), r = 1")
    s = run.settings
    run.res["toys"] = []
    for label, ds in _TOY_DATA:
        ratios = RATIOS if ds == "csi2017,cenns10" and s.toys_all_ratios else (1.0,)
        for m, r in ((m, r) for m in MASSES for r in ratios):
            tc = toy_calibration(
                ds, m, r=r, n_toys=s.n_toys, seed=run.seed, scheduler=run.client, progress=run.progress,
                checkpoint=run.ckpt / "toys",
            )  # fmt: skip
            run.res["toys"].append(
                {
                    "data": label,
                    "datasets": ds,
                    "mzp_mev": m,
                    "r": r,
                    "n_toys": s.n_toys,
                    "seed": run.seed,
                    **{k: tc[k] for k in _TOY_KEYS},
                }
            )


def _neyman_1d(run: _Run) -> None:
    """Feldman-Cousins 1D sets of g_x (Neyman construction with toys), CsI 2017 + Ar, r = 1,
    beside the profile-likelihood interval with the Chernoff boundary."""
    if run.mode != "paper":
        return
    run.log("Feldman-Cousins 1D sets of g_x (Neyman construction with toys), CsI 2017 + Ar, r = 1")
    s = run.settings
    run.res["neyman_1d"] = []
    cl = 0.6827
    for m in MASSES if s.fc_all_masses else MASSES[:1]:
        spec = ProblemSpec(("csi2017", "cenns10"), run.mode, {}, REFERENCE_MODEL, ("gx",), {"mzp_mev": m, "r": 1.0})
        fc = neyman_interval(
            spec, cl=cl, n=s.fc_grid, n_toys=s.n_toys_fc, seed=run.seed, scheduler=run.client, progress=run.progress,
            out_dir=run.ckpt / f"neyman1d_csi2017+cenns10_{run.mode}_m{m:g}_r1",
        )  # fmt: skip
        prof = profile_interval_boundary(reference_problem(run.like, ("gx",), m, 1.0), cl=cl)
        run.res["neyman_1d"].append(
            {
                "mzp_mev": m,
                "r": 1.0,
                "cl": cl,
                **{k: fc[k] for k in ("segments", "null_in_set", "upper_limit", "t_null", "n_toys")},
                "grid_points": s.fc_grid,
                "profile_chernoff": {k: prof[k] for k in ("segments", "null_in_interval", "delta", "z_null_chernoff")},
            }
        )


def _full_mode_points(run: _Run) -> None:
    """Full-mode likelihoods (profiled nuisances) at the Table II points, r = 1."""
    if not (run.settings.full_mode_points and run.mode == "paper"):
        return
    run.log("Full-mode likelihoods (profiled nuisances) at the Table II points, r = 1")
    run.res["full_mode"] = {
        label: _fit_rows(ds, "full", ratios=(1.0,))
        for label, ds in (
            ("CsI 2017", "csi2017"),
            ("CsI 2017 + Ar", "csi2017,cenns10"),
            ("CsI 2021", "csi2021"),
            ("CsI 2021 + Ar", "csi2021,cenns10"),
        )
    }


def _new_physics(run: _Run) -> None:
    """New physics from the same data (model-independent inference), the 1D limits for each CsI
    PE window, and the B-L exclusion with its existing bounds; the figures are drawn by the (now
    idle) workers while this process goes on."""
    run.log("New physics from the same data: magnetic moments, scalar, weak mixing angle, NSI, B-L")
    newphys, newphys_figs = run.side_jobs["new_physics"].result()
    newphys["pe_windows"] = run.side_jobs["new_physics_windows"].result()
    b_l, b_l_fig = run.side_jobs["b_l"].result()
    if b_l is not None:
        newphys.setdefault("b_l_exclusion", b_l)
        newphys_figs = [*newphys_figs, b_l_fig]
    newphys["figures"] = [{"stem": stem, "title": title} for _maps, stem, title in newphys_figs]
    run.res["new_physics"] = newphys
    run.figure_jobs.append(_submit(run.client, new_physics_figures, newphys_figs, partial(_figure_paths, run.fig_dir)))


def _xenon(run: _Run) -> None:
    """XENONnT solar 8B: the measurement and new physics with xenon."""
    run.res["xenonnt"], xenon_maps = run.side_jobs["xenon"].result()
    run.figure_jobs.append(_submit(run.client, xenon_figures, xenon_maps, partial(_figure_paths, run.fig_dir)))


def _finish(run: _Run) -> None:
    """Validation rows, then results.json, the report and the HEPData record."""
    run.log("Validation against published numbers")
    res = run.res
    res["validation"] = run_checks()
    for job in run.figure_jobs:
        job.result()
    res["runtime_s"] = time.perf_counter() - run.t_start
    res["versions"] = versions()
    res["log"] = run.log.steps
    curves = {}
    for row in res["table2"]:  # keep the density curves out of the JSON summary (HEPData has them)
        curves[(row["mzp_mev"], row["r"])] = (row.pop("log10_gx_grid", None), row.pop("density", None))
    run.res = res = to_jsonable(res)
    write_json_atomic(run.out / "results.json", res)
    write_report(res, run.out)
    note = write_hepdata(res, run.out / "hepdata", posterior_curves=curves)
    if note:
        run.log(note)
    run.log(f"done in {res['runtime_s']:.0f} s: {run.out / 'report.md'}")


#: The sections of a reproduction, in the order they run.
SECTIONS = (
    _fig3b,
    _table1,
    _start_background_work,
    _table2,
    _fig5,
    _fig6,
    _fig7,
    _fig7_neyman,
    _csi2021_extension,
    _choices,
    _toys,
    _neyman_1d,
    _full_mode_points,
    _new_physics,
    _xenon,
    _finish,
)
