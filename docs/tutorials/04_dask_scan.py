# %% [markdown]
# # Tutorial 4: a resumable scan on a Dask cluster
#
# Exclusion maps and posteriors on fine grids cost many likelihood evaluations.
# `cevnsfit.inference.scan.grid_scan` cuts a grid into chunks, runs each chunk as a Dask task,
# and has each task write its values to disk atomically. A killed scan resumes where it
# stopped and gives the identical array. Here we run one on an embedded `LocalCluster` with two
# worker processes; on a real cluster pass the scheduler's address instead (see
# [On a cluster](../cluster.md)).
#
# Run time: about 30 s on 2 cores (cluster start-up, one likelihood build per worker, two scans).

# %%
# %matplotlib inline
import logging
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

from cevnsfit.errors import ScanMismatchError
from cevnsfit.inference.exclusion import exclusion
from cevnsfit.inference.problem import ProblemSpec
from cevnsfit.inference.scan import grid_scan, load_scan

t_start = time.perf_counter()

# %% [markdown]
# ## 1. An evaluator that travels to the workers
#
# `grid_scan` calls `evaluator(points)` with a dict {axis name: 1D array} and expects one value
# per point. The evaluator must be picklable and cheap to send, so it carries *names*, not a
# built likelihood: a `ProblemSpec` (data sets, mode, model, parameters of interest, fixed
# values). Each worker process builds the likelihood once and keeps it
# (`ProblemSpec.build` goes through a per-process cache).
#
# The problem: the gauged $B-L$ boson (catalogue name `b-l`) against CsI 2017, with
# parameters of interest its mass and coupling. Both have log-uniform priors, so the scan axes
# are $\log_{10}$ of each.

# %%
class ProblemEvaluator:
    """ln L of a ProblemSpec at points given in internal coordinates."""

    def __init__(self, spec: ProblemSpec):
        self.spec = spec

    def describe(self) -> dict:        # recorded in the scan's manifest: resumes must match it
        return {"class": "tutorial ProblemEvaluator", **self.spec.describe()}

    def __call__(self, points: dict) -> np.ndarray:
        problem = self.spec.build()
        x = np.stack([points[name] for name in problem.internal_names], axis=-1)
        return problem.logl_internal(x)


spec = ProblemSpec(datasets=("csi2017",), mode="paper", model="b-l", poi=("mzp_mev", "g"))
problem = spec.build()
print(problem.internal_names, problem.internal_box)

# %%
axes = {name: np.linspace(lo, hi, n) for name, (lo, hi), n in zip(problem.internal_names, problem.internal_box, (36, 40))}
evaluator = ProblemEvaluator(spec)
out_dir = Path(tempfile.mkdtemp()) / "scan_b-l"

# %% [markdown]
# ## 2. The cluster and the scan
#
# Two single-threaded worker processes (the dashboard on a free port). `chunk_size=120` gives 12 tasks for the
# 1440 points.

# %%
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                       silence_logs=logging.ERROR)
client = Client(cluster)

t0 = time.perf_counter()
values = grid_scan(evaluator, axes, out_dir, chunk_size=120, scheduler=client, progress=False)
print(f"first run: {time.perf_counter() - t0:.1f} s, shape {values.shape}")
print(sorted(p.name for p in out_dir.iterdir())[:4], "...")

# %% [markdown]
# ## 3. Interrupt and resume
#
# We simulate a scan killed half-way by deleting half of the chunk files. Re-running the same
# call computes only the missing chunks (the manifest matches) and assembles the identical
# array from disk.

# %%
for p in sorted(out_dir.glob("chunk_*.npy"))[::2]:
    p.unlink()
print("chunks left on disk:", len(list(out_dir.glob("chunk_*.npy"))))
partial, _ = load_scan(out_dir, allow_partial=True)
print("missing points:", int(np.isnan(partial).sum()))

t0 = time.perf_counter()
resumed = grid_scan(evaluator, axes, out_dir, chunk_size=120, scheduler=client, progress=False)
print(f"resumed: {time.perf_counter() - t0:.1f} s; identical: {np.array_equal(resumed, values)}")

# %% [markdown]
# A different grid (or evaluator) in the same directory is refused rather than mixed:

# %%
try:
    grid_scan(evaluator, {k: v[:-1] for k, v in axes.items()}, out_dir, chunk_size=120, scheduler=client, progress=False)
except ScanMismatchError as err:
    print("refused:", str(err)[:120], "...")

# %%
client.close()
cluster.close()

# %% [markdown]
# ## 4. From the scan to an exclusion
#
# `exclusion` accepts a precomputed $\ln L$ grid, so the distributed scan feeds the same
# Wilks-contour code as a local evaluation.

# %%
ex = exclusion(problem, logl_grid=values, axes=list(axes.values()), z=2.0, dof=2)
x, y, t = (np.asarray(ex[k]) for k in ("log10_mzp_mev", "log10_g", "t"))
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.contourf(x, y, t.T, levels=[ex["t_threshold"], t.max() + 1], colors=["#56B4E9"], alpha=0.6)
ax.contour(x, y, t.T, levels=[ex["t_threshold"]], colors=["#0072B2"])
ax.set_xlabel(r"$\log_{10}(M_{Z'}/\mathrm{MeV})$")
ax.set_ylabel(r"$\log_{10} g_{B-L}$")
ax.set_title(r"$B-L$ boson, CsI 2017: excluded at $2\sigma$ (shaded)")
plt.show()

# %%
print(f"run time: {time.perf_counter() - t_start:.1f} s")
