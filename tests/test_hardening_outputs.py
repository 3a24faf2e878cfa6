"""Outputs: the user's umask, the source revision whatever the install, progress on stderr (issue 13)."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from cevnsfit import _files, _provenance
from cevnsfit.inference.scan import grid_scan, run_tasks
from cevnsfit.outputs.io import write_json_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_results_follow_the_umask(tmp_path, umask_022):
    write_json_atomic(tmp_path / "r.json", {"a": 1})
    assert _mode(tmp_path / "r.json") == 0o644
    grid_scan(
        lambda p: p["x"],
        {"x": np.arange(3.0)},
        tmp_path / "scan",
        chunk_size=2,
        scheduler="synchronous",
        progress=False,
    )
    assert {_mode(p) for p in (tmp_path / "scan").iterdir()} == {0o644}
    os.umask(0o077)
    write_json_atomic(tmp_path / "s.json", {"a": 1})
    assert _mode(tmp_path / "s.json") == 0o600


def test_figures_follow_the_umask(tmp_path, umask_022):
    import matplotlib.pyplot as plt

    from cevnsfit.outputs.style import save_figure

    fig = plt.figure()
    save_figure(fig, tmp_path / "f.png")
    plt.close(fig)
    assert _mode(tmp_path / "f.png") == 0o644


def test_current_umask_reads_without_changing(umask_022):
    assert _files.current_umask() == 0o022 and _files.default_file_mode() == 0o644
    assert os.umask(0o022) == 0o022


def test_revision_in_a_git_checkout():
    rev = _provenance.source_revision()
    if rev["revision_source"] != "git checkout":
        pytest.skip("not running from a git checkout")
    assert len(rev["git_commit"]) == 40 and isinstance(rev["git_dirty"], bool)


def test_revision_when_installed_without_git(monkeypatch):
    monkeypatch.setattr(_provenance, "_git", lambda *a: None)

    class Dist:
        def __init__(self, text):
            self.text = text

        def read_text(self, name):
            return self.text

    monkeypatch.setattr(_provenance.metadata, "distribution", lambda name: Dist(None))
    rev = _provenance.source_revision()
    assert rev["git_commit"] is None and rev["cevnsfit_version"]
    assert "source revision is unknown" in rev["revision_note"]
    vcs = json.dumps({"url": "https://example.org/cevnsfit.git", "vcs_info": {"vcs": "git", "commit_id": "ab" * 20}})
    monkeypatch.setattr(_provenance.metadata, "distribution", lambda name: Dist(vcs))
    rev = _provenance.source_revision()
    assert rev["git_commit"] == "ab" * 20 and "example.org" in rev["revision_source"]


def _square(x):
    return x * x


def test_progress_goes_to_stderr_never_stdout(capsys):
    assert run_tasks(_square, [(i,) for i in range(4)], scheduler="synchronous", progress=True, description="toys") == [
        0,
        1,
        4,
        9,
    ]
    out, err = capsys.readouterr()
    assert out == ""
    assert "toys" in err


def test_nested_sampling_progress_goes_to_stderr(capsys):
    from cevnsfit.inference.sampling import _run_ultranest

    def loglike(x):
        return -0.5 * np.sum((x - 0.5) ** 2, axis=-1) / 0.1**2

    _run_ultranest(
        loglike,
        ["a"],
        np.array([0.0]),
        np.array([1.0]),
        seed=1,
        log_dir=None,
        resume=False,
        nlive=50,
        quick=True,
        progress=True,
    )
    out, err = capsys.readouterr()
    assert out == "", out[:300]
