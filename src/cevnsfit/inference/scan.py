"""Resumable grid scans as Dask tasks (docs: statistics, exclusions on a 2D grid).

:func:`grid_scan` evaluates a vectorised, picklable ``evaluator(points) -> values`` over the
outer product of named 1D axes. The flattened grid (C order, first axis slowest) is cut into
chunks of ``chunk_size`` points; each chunk is one task, and the task itself writes its
values to ``out_dir/chunk_NNNNNN.npy`` atomically (temporary file + ``os.replace``), so a
chunk on disk is always complete. ``out_dir/manifest.json`` records the axes (and their
hash), the chunk size and a description of the evaluator; a re-run with the same manifest
computes only the chunks that are missing, so a killed scan resumes and gives the identical
array. The result is always assembled from the files.

Schedulers (also used by :mod:`cevnsfit.inference.toys`, see :func:`run_tasks`):

- ``None`` / ``"local"``: an embedded :class:`distributed.LocalCluster` with one
  single-threaded worker process per available core, its HTTP server on a free port (no clash
  with another cluster on 8787), closed afterwards;
- ``"synchronous"``: in-process, one task after the other (dask's synchronous scheduler;
  tests, debugging);
- any other string: the address of a running scheduler, ``distributed.Client(address)``
  (see ``docs/cluster.md``); a :class:`distributed.Client` is used as given.

Workers must see ``out_dir`` (a shared file system on a cluster).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .._files import apply_umask
from ..errors import DataFileError, ParameterError, ScanMismatchError

MANIFEST = "manifest.json"
#: Seconds allowed to connect to a scheduler given by address.
SCHEDULER_TIMEOUT_S = 5
FORMAT = "cevnsfit-grid-scan"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------------------------
# evaluators
# ---------------------------------------------------------------------------------------------

#: Likelihoods built in this process, keyed by their JSON description (one per worker process).
_LIKELIHOOD_CACHE: dict[str, object] = {}


def _canonical(obj) -> object:
    """JSON round trip: tuples become lists, keys strings; what a manifest stores."""
    return json.loads(json.dumps(obj, sort_keys=True, default=repr))


def cached_likelihood(datasets, mode: str = "paper", options: dict | None = None):
    """``cevnsfit.likelihood(datasets, mode, options=options)``, built once per process."""
    from ..likelihoods import _parse, likelihood

    key = json.dumps(_canonical({"datasets": _parse(datasets), "mode": mode, "options": options or {}}), sort_keys=True)
    if key not in _LIKELIHOOD_CACHE:
        _LIKELIHOOD_CACHE[key] = likelihood(datasets, mode=mode, options=options)
    return _LIKELIHOOD_CACHE[key]


class ProblemEvaluator:
    """ln L of any :class:`~cevnsfit.inference.problem.ProblemSpec` at points keyed by its
    internal coordinate names (``log10_<name>`` for log-uniform priors, ``<name>`` otherwise),
    vectorised over the points. Only names travel to the workers (each builds the problem once).

    >>> from cevnsfit.inference.problem import ProblemSpec
    >>> ev = ProblemEvaluator(ProblemSpec(("csi2017", "cenns10"), model="scalar", poi=("ms_mev", "gs")))
    >>> ev.keys
    ('log10_ms_mev', 'log10_gs')
    """

    def __init__(self, spec):
        self.spec = spec
        from ..models import parameters_of
        from ..models.parameters import lookup

        pars = [lookup(parameters_of(spec.model), n) for n in spec.poi]
        self.keys = tuple(("log10_" + p.name) if p.log_scale else p.name for p in pars)
        self._problem = None

    def problem(self):
        if self._problem is None:
            self._problem = self.spec.build()
        return self._problem

    def describe(self) -> dict:
        from .. import __version__

        return {
            "class": "cevnsfit.inference.scan.ProblemEvaluator",
            "quantity": "ln L",
            **self.spec.describe(),
            "cevnsfit_version": __version__,
        }

    def __call__(self, points: dict) -> np.ndarray:
        missing = [k for k in self.keys if k not in points]
        if missing:
            raise ParameterError(f"ProblemEvaluator needs points {self.keys}; missing {missing}")
        x = np.stack([np.asarray(points[k], dtype=float) for k in self.keys], axis=-1)
        return np.asarray(self.problem().logl_internal(x), dtype=float)

    def __getstate__(self):
        return {"spec": self.spec, "keys": self.keys, "_problem": None}

    def __repr__(self) -> str:
        from ..models import model_label

        return f"ProblemEvaluator({model_label(self.spec.model)}: {', '.join(self.keys)})"


def describe_evaluator(evaluator) -> dict:
    """What the manifest records about an evaluator: its ``describe()`` if it has one, else
    its importable name. Two runs resume each other only if these agree."""
    if hasattr(evaluator, "describe"):
        return _canonical(evaluator.describe())
    target = evaluator if callable(evaluator) and hasattr(evaluator, "__qualname__") else type(evaluator)
    return {"callable": f"{target.__module__}.{target.__qualname__}"}


# ---------------------------------------------------------------------------------------------
# schedulers and tasks
# ---------------------------------------------------------------------------------------------


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _local_cluster(n: int):
    """A LocalCluster whose worker processes start with SIGINT ignored (they inherit it; this
    process's handler is restored at once): Ctrl-C on a terminal reaches the whole process
    group, and the workers' own KeyboardInterrupt tracebacks would bury the one line the
    command prints. This process stops them by closing the cluster."""
    import signal
    import threading

    import distributed

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def dask_client(scheduler=None, n_workers: int | None = None):
    """Yield a :class:`distributed.Client` for ``scheduler`` (``None`` for ``"synchronous"``);
    clusters and clients created here are closed on exit."""
    if scheduler == "synchronous":
        yield None
        return
    import distributed

    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None or scheduler == "local":
        n = int(n_workers or available_cores())
        with _local_cluster(n) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    if not isinstance(scheduler, str):
        raise ParameterError(
            f"scheduler must be None, 'local', 'synchronous', a scheduler address or a "
            f"distributed.Client, got {scheduler!r}"
        )
    try:  # an unreachable address fails within seconds, not after distributed's 30 s default
        client = distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - refused, timed out, or not speaking the Dask protocol
        raise ParameterError(
            f"cannot connect to the Dask scheduler {scheduler!r} within {SCHEDULER_TIMEOUT_S:g} s: "
            f"{type(exc).__name__}: {str(exc)[:200]}; expected the address of a running scheduler, tcp://HOST:PORT "
            "(docs/cluster.md)"
        ) from None
    with client:
        yield client


def _progress_bar(enabled: bool, total: int, description: str, completed: int = 0):
    """Progress on stderr (:class:`cevnsfit.progress.Progress`: a rich bar on a terminal, a plain
    line every few seconds otherwise); never on stdout, where results (e.g. --json) go."""
    from ..progress import Progress

    return Progress(total, description, enabled=enabled, completed=completed, unit="chunks")


def run_tasks(
    fn: Callable,
    task_args: Sequence[tuple],
    scheduler=None,
    progress: bool = False,
    description: str = "tasks",
    n_workers: int | None = None,
    total: int | None = None,
    completed: int = 0,
) -> list:
    """``[fn(*args) for args in task_args]`` as Dask tasks on ``scheduler`` (see module doc),
    results in input order, with an optional rich progress bar (``total``/``completed`` let a
    resumed job show the work already done)."""
    import dask

    if n_workers is not None and not (scheduler is None or scheduler == "local"):
        raise ParameterError(
            f"n_workers sizes the embedded cluster (scheduler None or 'local'); with scheduler={scheduler!r} "
            "it would be ignored: drop it"
        )
    task_args = list(task_args)
    total = len(task_args) + completed if total is None else total
    with _progress_bar(progress, total, description, completed) as bar:
        if not task_args:
            return []
        with dask_client(scheduler, n_workers) as client:
            if client is None:
                out = []
                with dask.config.set(scheduler="synchronous"):
                    for args in task_args:
                        out.append(dask.delayed(fn, pure=False)(*args).compute())
                        bar.advance()
                return out
            from distributed import as_completed

            futures = [client.submit(fn, *args, pure=False) for args in task_args]
            try:
                for _ in as_completed(futures):
                    bar.advance()
                return client.gather(futures)
            finally:
                client.cancel([f for f in futures if not f.done()])


# ---------------------------------------------------------------------------------------------
# grid scans
# ---------------------------------------------------------------------------------------------


def _chunk_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"chunk_{index:06d}.npy"


def _atomic_write(path: Path, write: Callable) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        apply_umask(fd)  # mkstemp makes 0600; checkpoints get the user's usual mode
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def axes_hash(axes: dict) -> str:
    """SHA-256 of the axis names and their float64 values (order matters)."""
    h = hashlib.sha256()
    for name, values in axes.items():
        h.update(name.encode() + b"\0")
        h.update(np.ascontiguousarray(values, dtype="<f8").tobytes() + b"\0")
    return h.hexdigest()


def _check_axes(axes: dict) -> dict:
    if not isinstance(axes, dict) or not axes:
        raise ParameterError("axes must be a non-empty dict {name: 1D array}")
    out = {}
    for name, values in axes.items():
        a = np.asarray(values, dtype=float)
        if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
            raise ParameterError(f"axis {name!r} must be a non-empty 1D array of finite numbers")
        out[str(name)] = a
    return out


def _scan_chunk(evaluator, names, arrays, shape, index, lo, hi, out_dir) -> int:
    """One task: evaluate points lo..hi-1 of the flattened grid and write chunk ``index``."""
    idx = np.unravel_index(np.arange(lo, hi), shape)
    points = {name: arr[i] for name, arr, i in zip(names, arrays, idx)}
    values = np.asarray(evaluator(points), dtype=float)
    if values.shape != (hi - lo,):
        raise ParameterError(f"evaluator returned shape {values.shape} for {hi - lo} points; expected ({hi - lo},)")
    _atomic_write(_chunk_path(Path(out_dir), index), lambda fh: np.save(fh, values))
    return index


def _chunk_done(path: Path, length: int) -> bool:
    try:
        return np.load(path, mmap_mode="r").shape == (length,)
    except (OSError, ValueError):
        return False


def _clear(out_dir: Path) -> None:
    for p in out_dir.glob("chunk_*.npy"):
        p.unlink()
    for p in out_dir.glob(".chunk_*.tmp"):
        p.unlink()
    (out_dir / MANIFEST).unlink(missing_ok=True)


#: Lock file of a checkpoint folder: one writer at a time (see :func:`folder_lock`).
LOCK = ".lock"

#: What the last interrupted scan left on disk (read by the command line's Ctrl-C message).
INTERRUPTED: dict = {}


@contextlib.contextmanager
def folder_lock(out_dir, hint: str = "use another out_dir"):
    """Hold an exclusive lock on ``out_dir/.lock`` (``fcntl.flock``, non-blocking): a second
    process writing to the same checkpoint folder is refused at once instead of mixing its
    chunks and temporary files with the first one's. The lock dies with its process."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK
    fh = open(path, "a+")  # noqa: SIM115 - held open for the duration of the context
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: no locking
            pass
        except OSError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            raise ScanMismatchError(
                f"{out_dir} is being written by another process ({owner}); wait for it to finish, or {hint}"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {os.uname().nodename if hasattr(os, 'uname') else '?'}")
        fh.flush()
        yield path
    finally:
        fh.close()


def check_checkpoint(
    evaluator, axes: dict, out_dir, chunk_size: int = 2000, overwrite: bool = False, hint: str = "pass overwrite=True"
) -> dict:
    """Raise :class:`ScanMismatchError` now, before any work, if ``out_dir`` holds a scan of another
    grid, chunking, evaluator or cevnsfit version (unless ``overwrite``); returns the manifest
    this scan would write. ``hint`` is how the caller discards a stale scan (the command line
    says ``--overwrite``)."""
    axes = _check_axes(axes)
    manifest = _manifest(axes, int(chunk_size), evaluator)
    out_dir = Path(out_dir)
    mpath = out_dir / MANIFEST
    if overwrite or not out_dir.exists():
        return manifest
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except ValueError as exc:
            raise ScanMismatchError(f"{mpath} is not a valid scan manifest; {hint} to discard it") from exc
        diff = [k for k in ("format", "axes_hash", "shape", "chunk_size", "evaluator") if old.get(k) != manifest[k]]
        if diff:
            old_ev, new_ev = old.get("evaluator") or {}, manifest["evaluator"]
            ev_diff = sorted(k for k in set(old_ev) | set(new_ev) if old_ev.get(k) != new_ev.get(k))
            detail = f" (evaluator fields that differ: {', '.join(ev_diff)})" if ev_diff else ""
            raise ScanMismatchError(
                f"{out_dir} holds a scan with a different {', '.join(diff)}{detail}; nothing was computed. "
                f"Use another folder or {hint} to discard it"
            )
    elif any(out_dir.glob("chunk_*.npy")):
        raise ScanMismatchError(f"{out_dir} has chunk files but no {MANIFEST}; {hint} to discard them")
    return manifest


def _manifest(axes: dict, chunk_size: int, evaluator) -> dict:
    shape = [a.size for a in axes.values()]
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "axes": {k: v.tolist() for k, v in axes.items()},
        "axes_hash": axes_hash(axes),
        "shape": shape,
        "chunk_size": int(chunk_size),
        "n_chunks": math.ceil(math.prod(shape) / chunk_size),
        "evaluator": describe_evaluator(evaluator),
    }


def grid_scan(
    evaluator: Callable,
    axes: dict,
    out_dir,
    chunk_size: int = 2000,
    scheduler=None,
    progress: bool = True,
    overwrite: bool = False,
    n_workers: int | None = None,
    hint: str = "pass overwrite=True",
) -> np.ndarray:
    """Evaluate ``evaluator`` on the outer-product grid of ``axes``; resumable.

    ``evaluator(points)`` gets a dict {axis name: 1D array of coordinates} (one entry per grid
    point of a chunk) and returns a 1D array of values; it must be picklable for a
    distributed scheduler (e.g. :class:`ProblemEvaluator`). Returns the values with shape
    ``tuple(len(a) for a in axes.values())``, ``values[i, j, ...]`` at
    ``(axes[0][i], axes[1][j], ...)``.

    ``out_dir`` receives ``manifest.json`` and one ``chunk_NNNNNN.npy`` per chunk. If it holds
    a scan with the same manifest (axes, chunk size, evaluator description), only missing
    chunks are computed; a different manifest raises :class:`ScanMismatchError` before any work
    unless ``overwrite=True``, which discards the old files (``hint``: how the caller's user
    does that, named in the message). One writer at a time: the folder is locked
    (:func:`folder_lock`) while the scan runs. ``scheduler``: see the module doc;
    ``n_workers`` sizes the embedded LocalCluster (default: one per core).

    >>> import tempfile
    >>> axes = {"x": np.arange(4.0), "y": np.array([1.0, 10.0, 100.0])}
    >>> grid_scan(lambda p: p["x"] * p["y"], axes, tempfile.mkdtemp(), chunk_size=5,
    ...           scheduler="synchronous", progress=False)
    array([[  0.,   0.,   0.],
           [  1.,  10., 100.],
           [  2.,  20., 200.],
           [  3.,  30., 300.]])
    """
    axes = _check_axes(axes)
    if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or int(chunk_size) < 1:
        raise ParameterError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    out_dir = Path(out_dir)
    manifest = check_checkpoint(evaluator, axes, out_dir, chunk_size, overwrite, hint)
    out_dir.mkdir(parents=True, exist_ok=True)
    mpath = out_dir / MANIFEST
    with folder_lock(out_dir, "use another folder"):
        check_checkpoint(evaluator, axes, out_dir, chunk_size, overwrite, hint)  # again, under the lock
        if overwrite:
            _clear(out_dir)
        if not mpath.exists():
            _atomic_write(mpath, lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
        for pattern in (".chunk_*.tmp", f".{MANIFEST}.*.tmp"):  # left by a killed run (we hold the lock)
            for stale in out_dir.glob(pattern):
                stale.unlink(missing_ok=True)

        shape = tuple(manifest["shape"])
        n = math.prod(shape)
        bounds = [(i, i * chunk_size, min((i + 1) * chunk_size, n)) for i in range(manifest["n_chunks"])]
        todo = [b for b in bounds if not _chunk_done(_chunk_path(out_dir, b[0]), b[2] - b[1])]
        names, arrays = list(axes), list(axes.values())
        INTERRUPTED.clear()
        try:
            run_tasks(
                _scan_chunk,
                [(evaluator, names, arrays, shape, i, lo, hi, str(out_dir)) for i, lo, hi in todo],
                scheduler=scheduler,
                progress=progress,
                description="scan",
                n_workers=n_workers,
                total=len(bounds),
                completed=len(bounds) - len(todo),
            )
        except KeyboardInterrupt:
            done = sum(_chunk_done(_chunk_path(out_dir, i), hi - lo) for i, lo, hi in bounds)
            INTERRUPTED.update(folder=str(out_dir), done=done, total=len(bounds), unit="chunks")
            raise
    return load_scan(out_dir)[0]


def load_scan(out_dir, allow_partial: bool = False) -> tuple[np.ndarray, dict]:
    """Read a scan written by :func:`grid_scan`: ``(values, axes)``. Missing chunks raise
    :class:`~cevnsfit.errors.DataFileError` unless ``allow_partial`` (then they are NaN)."""
    out_dir = Path(out_dir)
    mpath = out_dir / MANIFEST
    if not mpath.exists():
        raise DataFileError(f"{out_dir} has no {MANIFEST}: not a grid_scan output directory")
    manifest = json.loads(mpath.read_text())
    axes = {k: np.asarray(v, dtype=float) for k, v in manifest["axes"].items()}
    shape, cs = tuple(manifest["shape"]), manifest["chunk_size"]
    n = math.prod(shape)
    values = np.full(n, np.nan)
    missing = []
    for i in range(manifest["n_chunks"]):
        lo, hi = i * cs, min((i + 1) * cs, n)
        path = _chunk_path(out_dir, i)
        if _chunk_done(path, hi - lo):
            values[lo:hi] = np.load(path)
        else:
            missing.append(i)
    if missing and not allow_partial:
        raise DataFileError(
            f"{out_dir}: {len(missing)} of {manifest['n_chunks']} chunks missing "
            f"(first: {missing[0]}); re-run grid_scan to complete it"
        )
    return values.reshape(shape), axes


_MOVED = ("LoglikeEvaluator",)

__all__ = [
    "ProblemEvaluator",
    "ScanMismatchError",
    "axes_hash",
    "cached_likelihood",
    "check_checkpoint",
    "folder_lock",
    "dask_client",
    "describe_evaluator",
    "grid_scan",
    "load_scan",
    "run_tasks",
]


def __getattr__(name: str):
    """The reference analysis's names moved to :mod:`cevnsfit.inference.reference`; old imports keep working."""
    if name in _MOVED:
        from . import reference

        return getattr(reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
