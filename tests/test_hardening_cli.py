"""Bad command-line input: a one-line error naming the option and exit code != 0, before any
work starts; never a traceback, never nonsense with exit code 0 (issue 13)."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cevnsfit.cli import _validate, main


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def assert_clean_error(res, *words):
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output
    assert not (res.exception and not isinstance(res.exception, SystemExit)), repr(res.exception)
    for w in words:
        assert w in res.output, res.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["fit", "--datasets", "", "--mzp", 20], ["--datasets", "csi2017"]),
        (["exclusion", "--datasets", ","], ["--datasets", "csi2017"]),
        (["exclusion", "--n-gx", 0], ["--n-gx"]),
        (["exclusion", "--n-mzp", 1, "--n-gx", 1], ["--n-mzp"]),
        (["exclusion", "--dof", 0], ["--dof"]),
        (["exclusion", "--scheduler", "tcp://127.0.0.1:8786"], ["--checkpoint"]),
        (["exclusion", "--scheduler", "notanaddress", "--checkpoint", "ck"], ["--scheduler", "tcp://HOST:PORT"]),
        (["predict", "csi2017", "--plot", "x.foo"], ["--plot", ".foo", ".pdf", ".png"]),
        (["chi2", "--mzp", 20, "--plot", "x"], ["--plot", "no extension"]),
        (["posterior", "--datasets", " , ", "--mzp", 20], ["--datasets"]),
        (["toys", "--datasets", "", "--mzp", 20], ["--datasets"]),
        (["fit", "--datasets", "lhc", "--mzp", 20], ["lhc", "csi2017"]),
    ],
)
def test_bad_cli_input_is_a_clean_error(args, words, tmp_path):
    t0 = time.perf_counter()
    res = run(*args, catch_exceptions=True)
    assert_clean_error(res, *words)
    assert time.perf_counter() - t0 < 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_fast(tmp_path):
    t0 = time.perf_counter()
    res = run("exclusion", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--checkpoint", tmp_path)
    assert_clean_error(res, "--scheduler", "cannot reach")
    assert time.perf_counter() - t0 < 10


def test_scheduler_address_forms():
    assert _validate.scheduler_address(None) is None
    assert _validate.scheduler_address("synchronous") == "synchronous"
    for bad in ("notanaddress", "tcp://host", "http://h:1", "h:99999", "tcp://:80"):
        with pytest.raises(Exception, match="not a scheduler address"):
            _validate.scheduler_address(bad)


def test_dof_zero_is_refused_by_the_api():
    from cevnsfit.errors import ParameterError
    from cevnsfit.inference.exclusion import exclusion_map

    for kw in ({"dof": 0}, {"n_gx": 0}, {"n_mzp": 1}, {"n_gx": 2.5}):
        with pytest.raises(ParameterError):
            exclusion_map("csi2020_totals,cenns10_totals", **kw)


def test_g2_json_is_valid_without_nan():
    res = run("g2", "--mzp", 20, "--delta-amu", "-2.5e-9", "0.5e-9", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert out["gx_central"] is None and out["gx_high"] is None and out["gx_low"] == 0.0
    assert "no real g_x" in out["note"]


def test_predict_warns_on_absurd_couplings():
    res = run("predict", "csi2017", "--model", "lmu-ltau", "--mzp", 20, "--gx", "1e10", "--json")
    assert res.exit_code == 2 and "allowed range" in res.stderr  # beyond 4 pi: refused
    res = run("predict", "csi2017", "--model", "lmu-ltau", "--mzp", 1, "--gx", "10", "--json")
    assert res.exit_code == 0, res.output  # allowed, but 4e13 x SM
    assert "warning" in res.stderr and "perturbative" in res.stderr
    json.loads(res.stdout)  # the warning is not in the JSON
    res = run("predict", "csi2017", "--model", "lmu-ltau", "--mzp", 20, "--gx", "1e-4", "--json")
    assert "warning" not in res.stderr


# --- reproduce: output folder and inputs checked before any work ----------------------------------


def test_reproduce_refuses_a_non_empty_folder_without_flags(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    t0 = time.perf_counter()
    res = run("reproduce", "--out", tmp_path, "--quick")
    assert_clean_error(res, "--resume", "--overwrite")
    assert time.perf_counter() - t0 < 5


def test_reproduce_unwritable_out_and_garbage_bound(tmp_path):
    assert_clean_error(run("reproduce", "--out", "/proc/nope", "--quick"), "--out")
    garbage = tmp_path / "g.lmt"
    garbage.write_text("this is not a limit curve\n1 2 3\n")
    t0 = time.perf_counter()
    res = run("reproduce", "--out", tmp_path / "out", "--quick", "--bound", garbage)
    assert_clean_error(res, "--bound", "g.lmt")
    assert time.perf_counter() - t0 < 5
    assert not (tmp_path / "out").exists()  # nothing started


def test_reproduce_out_dir_overwrite_and_resume(tmp_path):
    settings = {"quick": True, "mode": "paper", "sampler": "ultranest", "seed": 1}
    out = tmp_path / "run"
    _validate.reproduce_out_dir(str(out), False, False, settings)  # fresh folder: created
    assert json.loads((out / "run.json").read_text())["quick"] is True
    (out / "figures").mkdir()
    (out / "figures" / "f.pdf").write_text("x")
    (out / "results.json").write_text(json.dumps({"settings": settings}))
    # resume keeps what exists; other settings are refused at once
    _validate.reproduce_out_dir(str(out), False, True, settings)
    assert (out / "figures" / "f.pdf").exists()
    with pytest.raises(Exception, match="other settings.*quick"):
        _validate.reproduce_out_dir(str(out), False, True, {**settings, "quick": False})
    # overwrite clears the previous results
    _validate.reproduce_out_dir(str(out), True, False, {**settings, "quick": False})
    assert not (out / "figures").exists() and not (out / "results.json").exists()
    assert json.loads((out / "run.json").read_text())["quick"] is False
    # ... but never a folder reproduce did not write
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(Exception, match="did not write"):
        _validate.reproduce_out_dir(str(out), True, False, settings)
    assert (out / "thesis.tex").exists()
    with pytest.raises(Exception, match="exclude each other"):
        _validate.reproduce_out_dir(str(out), True, True, settings)


# --- missing data files: the error names the file, no traceback --------------------------------------


@pytest.fixture
def tree_without(tmp_path, monkeypatch):
    """A data tree (symlinks to the curated one) missing one file, no cache, no reachable mirror."""
    from cevnsfit import experiments

    def make(missing: str) -> Path:
        src = Path(os.environ["CEVNSFIT_DATA"])
        tree = tmp_path / "data"
        for f in src.rglob("*"):
            if f.is_file() and f.relative_to(src).as_posix() != missing:
                (tree / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
                (tree / f.relative_to(src)).symlink_to(f)
        monkeypatch.setenv("CEVNSFIT_DATA", str(tree))
        monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
        monkeypatch.setenv("CEVNSFIT_MIRROR", f"http://127.0.0.1:{_free_port()}")
        experiments._cached.cache_clear()
        return tree

    yield make
    experiments._cached.cache_clear()


@pytest.mark.parametrize("command", [["crosscheck-argon"], ["validate"]])
def test_missing_data_file_is_a_clean_error(tree_without, command):
    tree_without("coherent-cenns10-analysisA/bkgpdf.txt")
    res = run(*command)
    assert_clean_error(res, "bkgpdf.txt", "missing")
    assert res.exit_code == 2


def test_data_help_lists_only_existing_verbs():
    from cevnsfit.cli.data import data

    res = run("data", "--help")
    assert res.exit_code == 0
    description = res.output.split("Options:")[0]
    assert "locate" not in description.lower()  # promised by the old help, never built
    verbs = re.findall(r"`(\w+)`", description)  # verbs the description names
    assert verbs and set(verbs) <= set(data.commands), (verbs, list(data.commands))
    for verb in data.commands:
        assert verb in res.output
