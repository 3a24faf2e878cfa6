"""Resumable grid scans: chunk files, manifests, and resuming a scan killed mid-run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import cevnsfit
from cevnsfit.errors import DataFileError, ParameterError
from cevnsfit.inference.scan import LoglikeEvaluator, ScanMismatchError, grid_scan, load_scan

AXES = {"log10_mzp": np.linspace(0.5, 3.0, 20), "log10_gx": np.linspace(-4.0, -1.0, 30)}


class Counting:
    """Wrap an evaluator and record the sizes of the chunks it is asked for (in-process only)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def describe(self):
        return self.inner.describe()

    def __call__(self, points):
        self.calls.append(len(next(iter(points.values()))))
        return self.inner(points)


class Wave:
    """A cheap deterministic evaluator; ``delay`` (s per chunk) is not part of its identity."""

    def __init__(self, delay=0.0):
        self.delay, self.calls = delay, 0

    def describe(self):
        return {"class": "Wave", "f": "sin(7x) cos(3y)"}

    def __call__(self, p):
        self.calls += 1
        time.sleep(self.delay)
        return np.sin(7 * p["x"]) * np.cos(3 * p["y"])


def test_scan_equals_direct_evaluation_and_recomputes_only_missing_chunks(tmp_path):
    ev = Counting(LoglikeEvaluator("csi2020_totals,cenns10_totals", r=1.0))
    values = grid_scan(ev, AXES, tmp_path, chunk_size=70, scheduler="synchronous", progress=False)
    like = cevnsfit.likelihood("csi2020_totals,cenns10_totals")
    direct = like.logl(10 ** AXES["log10_mzp"][:, None], 10 ** AXES["log10_gx"][None, :], 1.0)
    assert values.shape == (20, 30) and np.allclose(values, direct, rtol=1e-12, atol=1e-12)
    assert ev.calls == [70] * 8 + [40]  # 600 points in 9 chunks
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["chunk_size"] == 70 and manifest["shape"] == [20, 30] and manifest["n_chunks"] == 9
    assert manifest["evaluator"]["datasets"] == ["csi2020_totals", "cenns10_totals"]

    for i in (2, 8):
        (tmp_path / f"chunk_{i:06d}.npy").unlink()
    with pytest.raises(DataFileError, match="2 of 9 chunks missing"):
        load_scan(tmp_path)
    partial, axes = load_scan(tmp_path, allow_partial=True)
    assert np.isnan(partial).sum() == 70 + 40 and np.array_equal(axes["log10_gx"], AXES["log10_gx"])

    ev2 = Counting(LoglikeEvaluator("csi2020_totals,cenns10_totals", r=1.0))
    again = grid_scan(ev2, AXES, tmp_path, chunk_size=70, scheduler="synchronous", progress=False)
    assert sorted(ev2.calls) == [40, 70] and np.array_equal(again, values)
    ev3 = Counting(LoglikeEvaluator("csi2020_totals,cenns10_totals", r=1.0))
    assert (
        np.array_equal(grid_scan(ev3, AXES, tmp_path, chunk_size=70, scheduler="synchronous", progress=False), values)
        and ev3.calls == []
    )  # complete: nothing to do
    assert np.array_equal(load_scan(tmp_path)[0], values)


def test_mismatched_manifest_is_an_error_unless_overwrite(tmp_path):
    ev = LoglikeEvaluator("csi2020_totals", r=1.0)
    grid_scan(ev, AXES, tmp_path, chunk_size=100, scheduler="synchronous", progress=False)
    other_axes = {"log10_mzp": AXES["log10_mzp"], "log10_gx": np.linspace(-4, -1, 31)}
    with pytest.raises(ScanMismatchError, match="axes_hash"):
        grid_scan(ev, other_axes, tmp_path, chunk_size=100, scheduler="synchronous", progress=False)
    with pytest.raises(ScanMismatchError, match="chunk_size"):
        grid_scan(ev, AXES, tmp_path, chunk_size=50, scheduler="synchronous", progress=False)
    with pytest.raises(ScanMismatchError, match="evaluator"):
        grid_scan(
            LoglikeEvaluator("csi2020_totals", r=100.0),
            AXES,
            tmp_path,
            chunk_size=100,
            scheduler="synchronous",
            progress=False,
        )
    ev_r100 = Counting(LoglikeEvaluator("csi2020_totals", r=100.0))
    v = grid_scan(ev_r100, AXES, tmp_path, chunk_size=100, scheduler="synchronous", progress=False, overwrite=True)
    assert len(ev_r100.calls) == 6 and json.loads((tmp_path / "manifest.json").read_text())["evaluator"]["r"] == 100.0
    assert np.array_equal(load_scan(tmp_path)[0], v)


def test_input_validation(tmp_path):
    with pytest.raises(ParameterError):
        grid_scan(Wave(), {"x": np.array([0.0, np.nan])}, tmp_path, scheduler="synchronous", progress=False)
    with pytest.raises(ParameterError):
        grid_scan(Wave(), {"x": np.arange(3.0)}, tmp_path, chunk_size=0, scheduler="synchronous", progress=False)
    with pytest.raises(ParameterError, match="shape"):
        grid_scan(
            lambda p: np.zeros(2), {"x": np.arange(5.0)}, tmp_path / "bad", scheduler="synchronous", progress=False
        )
    with pytest.raises(ParameterError, match="log10_gx"):
        LoglikeEvaluator("csi2020_totals")({"log10_mzp": np.array([1.0])})
    with pytest.raises(DataFileError):
        load_scan(tmp_path / "nowhere")


_KILLED_SCAN = textwrap.dedent("""
    import sys, time
    import numpy as np
    from cevnsfit.inference.scan import grid_scan

    class Wave:
        def __init__(self, delay=0.0):
            self.delay = delay

        def describe(self):
            return {"class": "Wave", "f": "sin(7x) cos(3y)"}

        def __call__(self, p):
            time.sleep(self.delay)
            return np.sin(7 * p["x"]) * np.cos(3 * p["y"])

    if __name__ == "__main__":
        axes = {"x": np.linspace(0, 1, 40), "y": np.linspace(0, 2, 30)}
        grid_scan(Wave(0.3), axes, sys.argv[1], chunk_size=40, scheduler=None, n_workers=2, progress=False)
        print("finished")
""")


def test_scan_killed_with_sigkill_resumes_to_the_identical_result(tmp_path):
    script = tmp_path / "scan.py"
    script.write_text(_KILLED_SCAN)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out)], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob("chunk_*.npy"))) < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scan wrote no chunks within 60 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the scan, its LocalCluster and workers
        proc.wait()
    assert b"finished" not in proc.stdout.read()
    for _ in range(100):  # no worker of the killed scan survives
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the killed scan are still running")
    done = len(list(out.glob("chunk_*.npy")))
    assert 4 <= done < 30

    axes = {"x": np.linspace(0, 1, 40), "y": np.linspace(0, 2, 30)}
    resumed_ev = Wave()
    resumed = grid_scan(resumed_ev, axes, out, chunk_size=40, scheduler="synchronous", progress=False)
    assert resumed_ev.calls == 30 - done  # only the missing chunks
    assert not list(out.glob(".chunk_*.tmp"))
    fresh = grid_scan(Wave(), axes, tmp_path / "fresh", chunk_size=40, scheduler="synchronous", progress=False)
    assert np.array_equal(resumed, fresh)
    assert np.array_equal(fresh, np.sin(7 * axes["x"])[:, None] * np.cos(3 * axes["y"])[None, :])
