"""Frequentist calibration beyond Wilks (docs: statistics): Chernoff's boundary mixture for
profile-likelihood intervals, and the Neyman construction with toys and Feldman-Cousins
ordering for one-POI intervals and two-POI exclusion maps of any
:class:`~cevnsfit.inference.problem.Problem`.

Test statistic (likelihood-ratio ordering of Feldman & Cousins, PRD 57 (1998) 3873), at a
point theta of a construction grid G (internal coordinates of the POIs):

    t(theta) = 2 [ max_{theta' in G u {null} u {theta}} ln L(theta') - ln L(theta) ] >= 0,

the maximum taken over the physical region as the grid sees it: the prior box (G) plus the
null hypothesis (every POI at its declared default, e.g. a zero coupling: the SM, which a
log-uniform box does not contain). The same definition is used for the data and for every
toy, so the construction is exact at the grid points whatever the grid's resolution; a coarse
grid only costs power (the maximum is found less precisely), never coverage.

Neyman construction: at every grid point theta, ``n_toys`` pseudo-data sets are drawn at
theta (each likelihood term draws its own, ``term.pseudo_data(prediction(theta), rng)``,
nuisances from their priors: hybrid Bayesian-frequentist as in :mod:`cevnsfit.inference.toys`),
t(theta) of each toy is evaluated on G with the per-term predictions on G computed once
(they do not depend on the data), and the critical value t_c(theta) is the CL quantile of the
toy t. theta is excluded at CL where t_obs(theta) > t_c(theta); the confidence set is
{theta : t_obs(theta) <= t_c(theta)}. Between grid points t_c is interpolated (linearly in
the internal coordinates) and t_obs evaluated on a finer grid with the same definition.

Work runs as chunked Dask tasks (:func:`cevnsfit.inference.scan.run_tasks`; embedded
LocalCluster by default, ``scheduler=`` an address, ``"synchronous"`` in-process); each chunk
of grid points is written atomically to ``out_dir/chunk_NNNNNN.npy`` next to a
``manifest.json`` (problem, axes, toys, seed), so an interrupted construction resumes with
the identical result. Point k draws from ``np.random.default_rng([seed, k])``: results do not
depend on the chunking or the scheduler.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import interpolate, stats

from ..errors import ParameterError, ScanMismatchError
from ..likelihoods.toy_grid import FixedPredictions
from .exclusion import check_grid_n, contour_lines
from .fits import profile_interval
from .problem import Problem, ProblemSpec, memo_in_process
from .scan import MANIFEST, _atomic_write, _canonical, _chunk_done, _chunk_path, _clear, axes_hash, run_tasks
from .toys import check_toy_support

FORMAT = "cevnsfit-neyman"
FORMAT_VERSION = 1
#: Default construction grids: 1 POI: points over the prior range; 2 POIs: a coarse map
#: (13 x 16 over the reference box is 0.21 dex x 0.2 dex), t_c interpolated onto the fine grid.
N_1D = 41
N_2D = (13, 16)
#: Default toys per grid point.
N_TOYS = 50
#: Points whose observed t exceeds this are excluded without toys (see :func:`neyman_belt`).
T_SKIP = 50.0


# ---------------------------------------------------------------------------------------------
# significance levels and Chernoff's boundary mixture
# ---------------------------------------------------------------------------------------------


def cl_from_z(z: float) -> float:
    """Two-sided Gaussian content of +-z sigma: the CL of a 'z sigma' region.

    >>> round(cl_from_z(1.0), 4), round(cl_from_z(2.0), 4)
    (0.6827, 0.9545)
    """
    return float(1.0 - 2.0 * stats.norm.sf(z))


def chernoff(t: float) -> dict:
    """p-value of a likelihood-ratio test of a parameter on the boundary of its range (a
    coupling >= 0 tested at 0): t follows (1/2) delta_0 + (1/2) chi2_1 (Chernoff, Ann. Math.
    Stat. 25 (1954) 573; Cowan et al., EPJC 71 (2011) 1554, q_0). p = (1/2) P(chi2_1 > t) for
    t > 0 (1 at t = 0) and the one-sided significance Z = Phi^-1(1 - p) = sqrt(t).

    >>> r = chernoff(4.0)
    >>> round(r["p"], 5), round(r["z"], 3)
    (0.02275, 2.0)
    """
    t = max(float(t), 0.0)
    p = 0.5 * float(stats.chi2.sf(t, 1)) if t > 0 else 1.0
    return {
        "t": t,
        "p": p,
        "z": float(np.sqrt(t)) if t > 0 else 0.0,
        "convention": "Chernoff (1/2 delta_0 + 1/2 chi2_1); one-sided Z = sqrt(t)",
    }


def chernoff_threshold(cl: float) -> float:
    """t above which the boundary value is excluded at ``cl`` under the Chernoff mixture:
    the chi2_1 quantile at 1 - 2 (1 - cl) (2.706 at 95 %, 0.227 at 68.27 %).

    >>> round(chernoff_threshold(0.95), 3)
    2.706
    """
    if not 0.5 <= cl < 1.0:
        raise ParameterError(f"cl must be in [0.5, 1) for a boundary test, got {cl}")
    return float(stats.chi2.isf(2.0 * (1.0 - cl), 1))


def profile_interval_boundary(problem: Problem, cl: float = 0.6827, grid=None) -> dict:
    """Profile-likelihood confidence set of one POI whose null value (e.g. g = 0) sits on the
    boundary of the physical region, at confidence ``cl``, each point with its own asymptotic
    distribution of t (no flip-flopping between one- and two-sided sets):

    - t(x) = 2 (ln L_max - ln L(x)) with the maximum over the prior range **and** the null (the
      MLE restricted to the physical region, the likelihood-ratio ordering of Feldman & Cousins);
    - interior points belong to the set where t(x) <= the chi2_1 quantile at ``cl`` (Wilks);
      ``segments`` (values) with ``*_at_grid_edge`` flags (:func:`cevnsfit.inference.fits.profile_interval`);
    - the null (the boundary) belongs to it where t_null <= :func:`chernoff_threshold` (``cl``),
      the quantile of the mixture (1/2) delta_0 + (1/2) chi2_1 (Chernoff): ``null_in_interval``.

    A set that contains the null and whose first segment starts at the lowest grid point is an
    upper limit (``upper_limit``). Returns also ``t_null``, ``p_null_chernoff``,
    ``z_null_chernoff`` (one-sided, sqrt(t_null)), ``p_null_wilks`` and ``delta``.
    """
    if len(problem.poi) != 1:
        raise ParameterError(f"profile_interval_boundary takes one parameter of interest, got {problem.poi}")
    if not 0.5 <= cl < 1.0:
        raise ParameterError(f"cl must be in [0.5, 1), got {cl}")
    delta = float(stats.chi2.ppf(cl, 1))
    pi = profile_interval(problem, delta=delta, grid=grid)
    t_null = float(pi["t_null"])
    ch = chernoff(t_null)
    null_in = t_null <= chernoff_threshold(cl)
    segs = pi["segments"]
    upper = segs[0]["high"] if null_in and segs and segs[0]["low_at_grid_edge"] else None
    return {
        **pi,
        "cl": cl,
        "delta": delta,
        "delta_null": chernoff_threshold(cl),
        "null_in_interval": bool(null_in),
        "upper_limit": upper,
        "t_null": t_null,
        "p_null_chernoff": ch["p"],
        "z_null_chernoff": ch["z"],
        "p_null_wilks": float(stats.chi2.sf(t_null, 1)),
        "method": "profile likelihood, Chernoff boundary",
    }


# ---------------------------------------------------------------------------------------------
# the construction
# ---------------------------------------------------------------------------------------------


class _Grid:
    """Per-term predictions on the flattened construction grid and at the null (data-independent)."""

    def __init__(self, problem: Problem, axes: list[np.ndarray]):
        pars = problem.poi_parameters
        mesh = np.meshgrid(*axes, indexing="ij")
        flat = [m.ravel() for m in mesh]
        model = problem.model(**{p.name: p.from_internal(v) for p, v in zip(pars, flat)})
        like = problem.like
        self.terms = like.terms
        self.preds = [np.asarray(dt.prediction(model), dtype=float) for dt in like.terms]
        null = problem.model(**problem.null_values())
        self.null = [np.asarray(dt.prediction(null), dtype=float)[None] for dt in like.terms]
        self.n = flat[0].size
        # ln L of every toy on the grid and at the null (likelihoods.toy_grid: cached per-bin
        # columns for the per-bin terms, the exact values; the predictions are data-independent)
        self.fixed = FixedPredictions(like.terms, self.preds, self.null)

    def logl_data(self, terms) -> tuple[np.ndarray, float]:
        """ln L on the grid and at the null for the data held by ``terms`` (term objects)."""
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            ll, ll0 = self.fixed(terms)
        # a point whose ln L is not finite (overflow far outside the data's reach) cannot be the maximum
        return np.where(np.isnan(ll), -np.inf, ll), (ll0 if np.isfinite(ll0) else -np.inf)

    def toy_t(self, k: int, rng: np.random.Generator, include_null: bool) -> float:
        """t(theta_k) of one toy generated at grid point k."""
        terms = [dt.term.pseudo_data(p[k], rng) for dt, p in zip(self.terms, self.preds)]
        ll, ll0 = self.logl_data(terms)
        top = max(float(ll.max()), ll0) if include_null else float(ll.max())
        return 2.0 * (top - float(ll[k]))


#: Problems and construction grids of this process (inference.problem.memo_in_process).
_GRID_CACHE: dict[str, tuple] = {}


def _grid_for(problem_or_spec, axes) -> tuple[Problem, _Grid]:
    tag = axes_hash({f"a{i}": a for i, a in enumerate(axes)})
    return memo_in_process(_GRID_CACHE, problem_or_spec, tag, lambda problem: _Grid(problem, axes))


def _neyman_chunk(problem_or_spec, axes, points, n_toys: int, seed: int, include_null: bool, out_dir, index: int):
    """One task: ``n_toys`` toy t values at each grid point of ``points``; written to
    ``out_dir/chunk_{index}.npy`` atomically when ``out_dir`` is given (returns the index),
    else returned."""
    _, grid = _grid_for(problem_or_spec, axes)
    out = np.empty((len(points), n_toys))
    for row, k in enumerate(points):
        rng = np.random.default_rng([int(seed), int(k)])
        out[row] = [grid.toy_t(int(k), rng, include_null) for _ in range(n_toys)]
    if out_dir is None:
        return out
    _atomic_write(_chunk_path(Path(out_dir), index), lambda fh: np.save(fh, out.ravel()))
    return index


def _describe(problem_or_spec) -> dict:
    out = _canonical(problem_or_spec.describe())
    assert isinstance(out, dict)
    return out


def _claim_out_dir(out: Path, manifest: dict, overwrite: bool) -> None:
    """Check ``out``'s manifest against ``manifest`` (clearing it with ``overwrite``); write it if absent."""
    mpath = out / MANIFEST
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except ValueError as exc:
            raise ScanMismatchError(f"{mpath} is not a valid manifest; pass overwrite=True to discard") from exc
        diff = [k for k in manifest if old.get(k) != manifest[k]]
        if diff and not overwrite:
            raise ScanMismatchError(
                f"{out} holds a Neyman construction with a different {', '.join(diff)}; use "
                "another directory or overwrite=True"
            )
        if diff:
            _clear(out)
    elif any(out.glob("chunk_*.npy")):
        if not overwrite:
            raise ScanMismatchError(
                f"{out} holds chunk files without a manifest; use another directory or overwrite=True"
            )
        _clear(out)
    if not mpath.exists():
        _atomic_write(mpath, lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))


def _toys_on_grid(
    problem_or_spec,
    axes,
    n_toys,
    seed,
    include_null,
    scheduler,
    chunk_size,
    out_dir,
    progress,
    n_workers,
    overwrite,
    points,
) -> np.ndarray:
    """(len(points), n_toys) toy statistics at the flat grid indices ``points``, chunked,
    checkpointed under ``out_dir`` if given."""
    n_points = len(points)
    chunks = [[int(k) for k in points[i : i + chunk_size]] for i in range(0, n_points, chunk_size)]
    if out_dir is None:
        res = run_tasks(
            _neyman_chunk,
            [(problem_or_spec, axes, c, n_toys, seed, include_null, None, i) for i, c in enumerate(chunks)],
            scheduler=scheduler,
            progress=progress,
            description="Neyman toys",
            n_workers=n_workers,
        )
        return np.concatenate(res).reshape(n_points, n_toys)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "problem": _describe(problem_or_spec),
        "axes": [a.tolist() for a in axes],
        "axes_hash": axes_hash({f"a{i}": a for i, a in enumerate(axes)}),
        "n_toys": int(n_toys),
        "seed": int(seed),
        "include_null": bool(include_null),
        "chunk_size": int(chunk_size),
        "n_chunks": len(chunks),
        "points": [int(k) for k in points],
    }
    _claim_out_dir(out, manifest, overwrite)
    todo = [i for i, c in enumerate(chunks) if not _chunk_done(_chunk_path(out, i), len(c) * n_toys)]
    if progress and len(todo) < len(chunks):
        print(
            f"Neyman construction: resuming, {len(chunks) - len(todo)} of {len(chunks)} chunks on disk", file=sys.stderr
        )
    run_tasks(
        _neyman_chunk,
        [(problem_or_spec, axes, chunks[i], n_toys, seed, include_null, str(out), i) for i in todo],
        scheduler=scheduler,
        progress=progress,
        description="Neyman toys",
        n_workers=n_workers,
        total=len(chunks),
        completed=len(chunks) - len(todo),
    )
    return np.concatenate([np.load(_chunk_path(out, i)) for i in range(len(chunks))]).reshape(n_points, n_toys)


def _quantile_band(t_toys: np.ndarray, cl: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CL quantile of each row and a 68 % order-statistic interval for it (binomial)."""
    n = t_toys.shape[1]
    s = np.sort(t_toys, axis=1)
    q = np.quantile(t_toys, cl, axis=1, method="inverted_cdf")
    lo_k = int(np.clip(stats.binom.ppf(0.16, n, cl) - 1, 0, n - 1))
    hi_k = int(np.clip(stats.binom.ppf(0.84, n, cl), 0, n - 1))
    return q, s[:, lo_k], s[:, hi_k]


def _axes(problem: Problem, axes, n) -> list[np.ndarray]:
    pars = problem.poi_parameters
    if axes is None:
        n = (n,) * len(pars) if isinstance(n, (int, np.integer)) else tuple(n)
        if len(n) != len(pars) or min(n) < 2:
            raise ParameterError(f"need >= 2 grid points per parameter of interest, got {n} for {problem.poi}")
        return [np.linspace(*p.internal_range, int(k)) for p, k in zip(pars, n)]
    axes = [np.asarray(a, dtype=float) for a in axes]
    if len(axes) != len(pars) or any(a.ndim != 1 or a.size < 2 for a in axes):
        raise ParameterError(f"axes must be one 1D array (>= 2 points) per parameter of interest {problem.poi}")
    return axes


_ORDERING = {
    True: "Feldman-Cousins (likelihood ratio; maximum over the grid and the null)",
    False: "likelihood ratio (maximum over the grid)",
}


def _observed_t(local, ax, include_null):
    """Observed ln L on the grid, ln L of the null, the maximum and t_obs (:func:`neyman_belt`)."""
    _, grid = _grid_for(local, ax)
    ll, ll0 = grid.logl_data([dt.term for dt in local.like.terms])
    top = max(float(ll.max()), ll0) if include_null else float(ll.max())
    return ll, ll0, top, 2.0 * (top - ll)


def _belt_setup(problem, axes, n, cl, n_toys, chunk_size):
    """:func:`neyman_belt`'s checks and grid: (local problem, axes, shape, chunk size)."""
    if not 0.0 < cl < 1.0:
        raise ParameterError(f"cl must be in (0, 1), got {cl}")
    if int(n_toys) < 2:
        raise ParameterError(f"n_toys must be >= 2, got {n_toys}")
    local = problem.build() if isinstance(problem, ProblemSpec) else problem
    check_toy_support(local.like)
    if len(local.poi) not in (1, 2):
        raise ParameterError(f"the Neyman construction takes one or two parameters of interest, got {local.poi}")
    n = n if n is not None else (N_1D if len(local.poi) == 1 else N_2D)
    ax = _axes(local, axes, n)
    shape = tuple(a.size for a in ax)
    chunk_size = int(chunk_size or max(1, math.ceil(int(np.prod(shape)) / 32)))
    if chunk_size < 1:
        raise ParameterError(f"chunk_size must be >= 1, got {chunk_size}")
    return local, ax, shape, chunk_size


def _belt_points(construct_at, t_obs, size, t_skip) -> np.ndarray:
    """:func:`neyman_belt`'s flat indices of the points to construct (``construct_at``, ``t_skip``)."""
    pts = np.arange(size) if construct_at is None else np.unique(np.asarray(construct_at, dtype=int))
    if pts.size == 0 or pts.min() < 0 or pts.max() >= size:
        raise ParameterError(f"construct_at must hold flat grid indices in [0, {size}), got {construct_at!r}")
    if t_skip is not None:
        pts = pts[t_obs[pts] <= float(t_skip)]
        if pts.size == 0:
            raise ParameterError(f"every requested point has t_obs > t_skip = {t_skip}: nothing to construct")
    return pts


def _belt_critical(toys_sel, pts, size, shape, cl, t_obs, t_skip):
    """:func:`neyman_belt`'s critical values (with band), p-values, exclusion and filled critical values."""
    q, qlo, qhi = (np.full(size, np.nan) for _ in range(3))
    q[pts], qlo[pts], qhi[pts] = _quantile_band(toys_sel, cl)
    p = np.full(size, np.nan)
    p[pts] = np.mean(toys_sel >= t_obs[pts, None], axis=1)
    excluded = t_obs > q
    skipped = np.ones(size, bool)
    skipped[pts] = False
    if t_skip is not None:
        skipped &= t_obs > float(t_skip)
        excluded |= skipped
    filled = q.copy()
    if np.any(np.isnan(filled)):  # nearest constructed point (grid index distance)
        from scipy import ndimage

        idx = ndimage.distance_transform_edt(np.isnan(q).reshape(shape), return_distances=False, return_indices=True)
        filled = q.reshape(shape)[tuple(idx)].ravel()
    return q, qlo, qhi, p, excluded, filled


def neyman_belt(
    problem,
    axes=None,
    n=None,
    cl: float = 0.6827,
    n_toys: int = N_TOYS,
    seed: int = 1,
    scheduler=None,
    chunk_size: int | None = None,
    out_dir=None,
    progress: bool = False,
    n_workers: int | None = None,
    include_null: bool = True,
    overwrite: bool = False,
    keep_toys: bool = False,
    construct_at=None,
    t_skip: float | None = T_SKIP,
) -> dict:
    """The Neyman construction on a grid of the POIs (1 or 2) of ``problem`` (a
    :class:`Problem`, or a :class:`ProblemSpec` for a distributed scheduler); see the module doc.

    Returns ``axes`` (internal coordinates), ``t_obs``, ``t_critical`` (CL quantile of the toys)
    with a 68 % Monte Carlo band ``t_critical_band``, ``p_value`` (fraction of toys with
    t >= t_obs), ``excluded`` (t_obs > t_critical), all of shape ``tuple(len(a) for a in axes)``,
    ``logl`` (observed), ``logl_null``, ``t_null``, and the settings. ``construct_at``: flat
    (C-order) indices of the grid points where toys are run (default: all; elsewhere t_critical
    is NaN); the maximum of t is always over the whole grid. ``t_skip``: points whose observed
    t exceeds it are not constructed (default 50: excluded whatever the toys say, as long as
    their critical value stays far below; the largest constructed critical value is returned as
    ``t_critical_max`` to show it does) -- their pseudo-data would also be absurd (10^6 counts a
    bin for the largest couplings). Unconstructed points get ``t_critical`` NaN and
    ``excluded`` True when t_obs > t_skip; ``t_critical_filled`` has the nearest constructed
    value everywhere (for interpolation).
    """
    local, ax, shape, chunk_size = _belt_setup(problem, axes, n, cl, n_toys, chunk_size)
    ll, ll0, top, t_obs = _observed_t(local, ax, include_null)
    size = int(np.prod(shape))
    pts = _belt_points(construct_at, t_obs, size, t_skip)
    run_opts = (scheduler, chunk_size, out_dir, progress, n_workers, overwrite, pts)
    toys_sel = _toys_on_grid(problem, ax, int(n_toys), seed, include_null, *run_opts)
    q, qlo, qhi, p, excluded, filled = _belt_critical(toys_sel, pts, size, shape, cl, t_obs, t_skip)
    out = {
        **local.describe(),
        "method": "neyman",
        "ordering": _ORDERING[bool(include_null)],
        "cl": float(cl),
        "internal": list(local.internal_names),
        "axes": [a.tolist() for a in ax],
        "t_obs": t_obs.reshape(shape),
        "t_critical": q.reshape(shape),
        "t_critical_band": [qlo.reshape(shape), qhi.reshape(shape)],
        "p_value": p.reshape(shape),
        "excluded": excluded.reshape(shape),
        "constructed": (~np.isnan(q)).reshape(shape),
        "t_critical_filled": filled.reshape(shape),
        "t_skip": t_skip,
        "t_critical_max": float(np.max(q[pts])),
        "logl": ll.reshape(shape),
        "logl_null": ll0,
        "t_null": 2.0 * (top - ll0),
        "n_toys": int(n_toys),
        "seed": int(seed),
        "include_null": include_null,
        "toy_model": "pseudo-data at each grid point; nuisances drawn from their priors (hybrid)",
    }
    if keep_toys:
        t_toys = np.full((size, int(n_toys)), np.nan)
        t_toys[pts] = toys_sel
        out["t_toys"] = t_toys.reshape(shape + (int(n_toys),))
    return out


def _segments(x: np.ndarray, d: np.ndarray) -> list[tuple[float, float, bool, bool]]:
    """Segments of {d <= 0} on grid ``x`` with linearly interpolated ends."""
    inside = d <= 0
    segs, i = [], 0
    while i < x.size:
        if not inside[i]:
            i += 1
            continue
        j = i
        while j + 1 < x.size and inside[j + 1]:
            j += 1
        # a neighbour without a value (a point skipped by t_skip: no toys there) gives no crossing
        # to interpolate; the segment then ends at its last grid point inside
        lo = (
            x[i]
            if i == 0 or not np.isfinite(d[i - 1])
            else x[i - 1] + (0 - d[i - 1]) / (d[i] - d[i - 1]) * (x[i] - x[i - 1])
        )
        hi = (
            x[j]
            if j == x.size - 1 or not np.isfinite(d[j + 1])
            else x[j] + (0 - d[j]) / (d[j + 1] - d[j]) * (x[j + 1] - x[j])
        )
        segs.append((float(lo), float(hi), i == 0, j == x.size - 1))
        i = j + 1
    return segs


def neyman_interval(problem, cl: float = 0.6827, n: int = N_1D, axes=None, **kw) -> dict:
    """Feldman-Cousins confidence set of one POI at ``cl`` by the Neyman construction
    (:func:`neyman_belt`): {x : t_obs(x) <= t_c(x)} on the grid, ends interpolated linearly in
    t_obs - t_c. ``segments`` in values (``low``/``high``, ``*_at_grid_edge``); a set reaching the
    lowest grid point of a coupling whose null lies below the range (``null_in_set``: t_null
    within the lowest point's critical value) is an upper limit (``upper_limit``).
    """
    belt = neyman_belt(problem, axes=None if axes is None else [axes], n=n, cl=cl, **kw)
    local = problem.build() if isinstance(problem, ProblemSpec) else problem
    par = local.poi_parameters[0]
    x = np.asarray(belt["axes"][0])
    d = belt["t_obs"] - belt["t_critical"]
    segs = [
        {
            "low": float(par.from_internal(a)),
            "high": float(par.from_internal(b)),
            "low_internal": a,
            "high_internal": b,
            "low_at_grid_edge": ea,
            "high_at_grid_edge": eb,
        }
        for a, b, ea, eb in _segments(x, d)
    ]
    null_in = bool(belt["t_null"] <= belt["t_critical"][0])
    upper = segs[0]["high"] if segs and segs[0]["low_at_grid_edge"] and null_in else None
    belt.update(poi=par.name, segments=segs, null_in_set=null_in, upper_limit=upper)
    return belt


def neyman_exclusion(
    problem, n=N_2D, z: float = 2.0, cl: float | None = None, fine_axes=None, fine_n=(101, 121), logl_fine=None, **kw
) -> dict:
    """Toy-calibrated (Neyman, Feldman-Cousins ordering) exclusion map of two POIs at ``z``
    sigma (CL = :func:`cl_from_z`, or ``cl``).

    The construction runs on the coarse grid ``n`` (:func:`neyman_belt`); t_c is interpolated
    (linearly in internal coordinates) onto the fine grid (``fine_axes`` or ``fine_n`` points
    over the prior box), where t_obs(theta) = 2 [max(ln L over the coarse grid, the null, theta)
    - ln L(theta)] -- the toys' own statistic -- from ``logl_fine`` (ln L on the fine grid, e.g.
    a checkpointed scan) or evaluated here. Excluded where t_obs > t_c; ``contours`` are the
    lines t_obs - t_c = 0. Keys mirror :func:`cevnsfit.inference.exclusion.exclusion`
    (``method = "neyman"``) plus ``t_critical`` on the fine grid and the ``construction``.
    """
    cl = cl_from_z(z) if cl is None else float(cl)
    if fine_axes is None:
        fine_n = check_grid_n(fine_n, "fine_n")  # refused before any work, never truncated
    local = problem.build() if isinstance(problem, ProblemSpec) else problem
    if len(local.poi) != 2:
        raise ParameterError(f"an exclusion map needs two parameters of interest, got {local.poi}")
    belt = neyman_belt(problem, n=n, cl=cl, **kw)
    pars = local.poi_parameters
    if fine_axes is None:
        fine_axes = [np.linspace(p.internal_range[0], p.internal_range[1], k) for p, k in zip(pars, fine_n)]
    x, y = (np.asarray(a, dtype=float) for a in fine_axes)
    if logl_fine is None:
        logl_fine = local.logl(pars[0].from_internal(x)[:, None], pars[1].from_internal(y)[None, :])
    logl_fine = np.asarray(logl_fine, dtype=float).reshape(x.size, y.size)
    top = max(float(np.max(belt["logl"])), belt["logl_null"])
    t_fine = 2.0 * (np.maximum(top, logl_fine) - logl_fine)
    cx, cy = (np.asarray(a) for a in belt["axes"])
    interp = interpolate.RegularGridInterpolator(
        (cx, cy), belt["t_critical_filled"], method="linear", bounds_error=False, fill_value=None
    )
    xx, yy = np.meshgrid(x, y, indexing="ij")
    tc = interp(np.stack([xx, yy], axis=-1))
    names = local.internal_names
    construction = {
        k: belt[k]
        for k in (
            "axes",
            "t_obs",
            "t_critical",
            "t_critical_band",
            "p_value",
            "excluded",
            "constructed",
            "t_skip",
            "t_critical_max",
            "n_toys",
            "seed",
            "ordering",
            "toy_model",
            "include_null",
        )
    }
    return {
        **local.describe(),
        "method": "neyman",
        "z": z,
        "cl": cl,
        "axes": list(names),
        names[0]: x.tolist(),
        names[1]: y.tolist(),
        "t": t_fine.tolist(),
        "t_critical": tc.tolist(),
        "t_null": belt["t_null"],
        "contours": contour_lines(x, y, t_fine - tc, 0.0),
        "construction": construction,
        "interpolation": f"t_c linear in internal coordinates between the {len(cx)} x {len(cy)} construction points",
        "units": {p.name: p.unit or "dimensionless" for p in pars},
    }


def coverage(problem, true_value: float, belt: dict, n_experiments: int = 200, seed: int = 12345) -> dict:
    """Fraction of pseudo-experiments generated at ``true_value`` (a value of the single POI)
    whose Neyman confidence set from ``belt`` (:func:`neyman_belt`, same problem) contains it.

    Each pseudo-experiment draws fresh data from every term at the true prediction (an
    independent stream: ``seed``), computes t_obs on the belt's grid plus the true point, and
    asks whether t_obs(true) <= t_c(true) with t_c interpolated linearly to the true point.
    Returns ``coverage``, its binomial error and the nominal ``cl``.
    """
    problem = problem.build() if isinstance(problem, ProblemSpec) else problem
    par = problem.poi_parameters[0]
    x = np.asarray(belt["axes"][0])
    xt = float(par.to_internal(true_value))
    tc = float(np.interp(xt, x, belt["t_critical"]))
    _, grid = _grid_for(problem, [x])
    true_model = problem.model(**{par.name: np.asarray(true_value)})
    true_pred = [np.asarray(dt.prediction(true_model), dtype=float) for dt in problem.like.terms]
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(int(n_experiments)):
        terms = [dt.term.pseudo_data(p, rng) for dt, p in zip(problem.like.terms, true_pred)]
        ll, ll0 = grid.logl_data(terms)
        llt = float(sum(np.asarray(t.logl(p[None]), dtype=float).ravel()[0] for t, p in zip(terms, true_pred)))
        top = max(float(ll.max()), ll0, llt) if belt["include_null"] else max(float(ll.max()), llt)
        hits += 2.0 * (top - llt) <= tc
    c = hits / n_experiments
    return {
        "coverage": c,
        "error": math.sqrt(max(c * (1 - c), 1e-12) / n_experiments),
        "cl": belt["cl"],
        "n_experiments": int(n_experiments),
        "true_value": float(true_value),
    }


__all__ = [
    "N_1D",
    "N_2D",
    "N_TOYS",
    "T_SKIP",
    "chernoff",
    "chernoff_threshold",
    "cl_from_z",
    "coverage",
    "neyman_belt",
    "neyman_exclusion",
    "neyman_interval",
    "profile_interval_boundary",
]
