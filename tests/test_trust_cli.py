"""Issue 22 on the command line: every option acts or is refused naming it; declared defaults are
used and announced; unconstrained POIs are not given an MLE; one answer in every output; progress
and Ctrl-C. Each test drives a command and checks what it did, not its help text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from cevnsfit.cli import main


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def refused(res, *words):
    """Exit code 2, no traceback, every word in the error."""
    text = res.output  # click >= 8.2: stdout and stderr interleaved
    assert res.exit_code == 2, text
    assert "Traceback" not in text
    for w in words:
        assert w in text, (w, text)
    return text


# --- 1. nothing silently ignored -------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        # a repeated parameter (the last used to win)
        (["fit", "--param", "gx=1e-3", "--param", "gx=2e-3", "--poi", "mzp_mev"], ["gx", "twice", "1e-3", "2e-3"]),
        # a value for a parameter of interest: estimated, so the value would be ignored
        (["fit", "--mzp", 20, "--gx", 1e-3], ["--gx", "gx", "parameter of interest"]),
        (["fit", "--mzp", 20, "--param", "gx=5e-2", "--poi", "gx"], ["--param gx=0.05", "--poi gx"]),
        (["toys", "--mzp", 20, "--gx", 1e-3], ["--gx", "parameter of interest"]),
        (["posterior", "--mzp", 20, "--gx", 1e-3, "--sampler", "grid"], ["--gx", "parameter of interest"]),
        # exclusion: M_Z' is a plotted axis
        (["exclusion", "--mzp", 50], ["--mzp 50", "mzp_mev", "parameter of interest"]),
        # options of the other --method
        (["exclusion", "--n-toys", 10], ["--n-toys", "--method neyman"]),
        (["exclusion", "--construction-grid", "5,5"], ["--construction-grid", "--method neyman"]),
        (["exclusion", "--seed", 3], ["--seed", "--method neyman"]),
        (["exclusion", "--method", "neyman", "--dof", 1], ["--dof", "--method wilks"]),
        (["exclusion", "--overwrite"], ["--overwrite", "--checkpoint"]),
        (["exclusion", "--method", "neyman", "--overwrite"], ["--overwrite", "--checkpoint"]),
        # a --param for a model that does not have it (predict used to predict the SM)
        (["predict", "csi2017", "--param", "gx=1e-3"], ["gx", "'sm'", "--model"]),
        (["fit", "--model", "scalar", "--poi", "gs", "--param", "g=1e-3"], ["g", "scalar"]),
        # sampler-only options under the grid "sampler"
        (["posterior", "--mzp", 20, "--sampler", "grid", "--live-points", 100], ["--live-points", "--sampler grid"]),
        (["posterior", "--mzp", 20, "--sampler", "grid", "--seed", 2], ["--seed", "--sampler grid"]),
        # g2: --delta-amu replaced --preset silently; a mass predict refuses
        (["g2", "--mzp", 20, "--preset", "2025", "--delta-amu", 1e-9, 1e-10], ["--preset", "--delta-amu"]),
        (["g2", "--mzp", 1e9], ["mzp_mev", "100000"]),
        # toys take one POI and at least one toy
        (["toys", "--model", "lmu-ltau", "--poi", "gx", "--poi", "r", "--mzp", 20], ["--poi", "1..1"]),
        (["toys", "--n-toys", 0, "--mzp", 20], ["--n-toys"]),
    ],
)
def test_option_acts_or_is_refused(args, words):
    t0 = time.perf_counter()
    refused(run(*args), *words)
    assert time.perf_counter() - t0 < 30  # refused before any long work


def test_repeat_of_different_parameters_still_works():
    """Only a repeated *key* is refused: two different --param keys both act."""
    res = run(
        "predict", "csi2020_totals", "--model", "lmu-ltau", "--param", "mzp_mev=20", "--param", "gx=1e-3", "--json"
    )
    assert res.exit_code == 0, res.output
    sm = json.loads(run("predict", "csi2020_totals", "--json").output)["total"]
    assert json.loads(res.output)["total"] != pytest.approx(sm, rel=1e-6)  # gx acted


def test_g2_warns_above_four_pi():
    """g2 and predict agree: a coupling above 4 pi (which predict refuses) is flagged."""
    res = run("g2", "--mzp", 20, "--delta-amu", 10.0, 1.0, "--json")
    assert res.exit_code == 0, res.output
    gx = json.loads(res.stdout)["gx_central"]
    assert gx > 4 * np.pi and "4 pi" in res.stderr
    refused(run("predict", "csi2020_totals", "--mzp", 20, "--gx", gx), "gx", "allowed range")


def test_absurd_value_warns():
    res = run("predict", "csi2020_totals", "--mzp", 20, "--gx", 1e-4, "--r", 1e-300, "--json")
    assert res.exit_code == 0, res.output
    assert "warning: r = 1e-300" in res.stderr and "prior range" in res.stderr
    quiet = run("predict", "csi2020_totals", "--mzp", 20, "--gx", 1e-4, "--r", 2, "--json")
    assert "warning" not in quiet.stderr


def test_predict_accepts_every_experiment():
    """The EXPERIMENT choice is the registry's list (xenonnt was missing from the help)."""
    from cevnsfit.cli.physics import predict
    from cevnsfit.experiments import EXPERIMENTS

    for name in EXPERIMENTS:  # parsed (not run): the argument accepts each
        ctx = predict.make_context("predict", [name])
        assert ctx.params["experiment"] == name
    res = run("predict", "lhc")
    assert res.exit_code == 2 and all(name in res.output for name in EXPERIMENTS)
    assert "xenonnt" in run("predict", "--help").output


# --- 2. declared defaults --------------------------------------------------------------------


def test_fit_without_mzp_uses_the_declared_default_and_says_so():
    from cevnsfit.models import parameters_of
    from cevnsfit.models.parameters import lookup

    default = lookup(parameters_of("lmu-ltau"), "mzp_mev").default
    res = run("fit", "--datasets", "csi2020_totals", "--json")
    assert res.exit_code == 0, res.output
    assert "mzp_mev" in res.stderr and f"{default:g}" in res.stderr and "default" in res.stderr
    out = json.loads(res.stdout)
    assert out["fixed"]["mzp_mev"] == default
    explicit = json.loads(run("fit", "--datasets", "csi2020_totals", "--mzp", default, "--json").stdout)
    assert explicit["t"] == pytest.approx(out["t"], abs=1e-9)  # the same fit as when given


def test_posterior_without_mzp_uses_the_declared_default():
    res = run("posterior", "--datasets", "csi2020_totals", "--sampler", "grid", "--json")
    assert res.exit_code == 0, res.output
    assert "mzp_mev" in res.stderr and json.loads(res.stdout)["fixed"]["mzp_mev"] == 20.0


# --- 3. estimates only where there is something to estimate --------------------------------


def test_unconstrained_poi_has_no_mle():
    """vector with only g_numu: no quark coupling, so the prediction is exactly the SM for every
    (M_Z', g_numu): the profile is flat and nothing can be estimated."""
    res = run(
        "fit", "--model", "vector", "--poi", "mzp_mev", "--poi", "g_numu", "--datasets", "csi2020_totals", "--json"
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out["unconstrained"]) == {"mzp_mev", "g_numu"}
    assert out["mle"] == {"mzp_mev": None, "g_numu": None} and out["z_sigma"] is None and out["p"] is None
    text = run("fit", "--model", "vector", "--poi", "mzp_mev", "--poi", "g_numu", "--datasets", "csi2020_totals")
    assert "unconstrained" in text.stdout and "MLE mzp_mev" not in text.stdout and "sigma" not in text.stdout


def test_constrained_poi_keeps_its_mle():
    out = json.loads(run("fit", "--datasets", "csi2017,cenns10", "--mzp", 20, "--json").stdout)
    assert out["unconstrained"] == [] and out["mle"]["gx"] > 0 and out["profile_delta"]["gx"] > 1.0


def test_projection_with_real_data_warns():
    res = run("fit", "--datasets", "csi2020_totals,ccm", "--mzp", 20, "--json")
    assert res.exit_code == 0, res.output
    assert "ccm" in res.stderr and "projection" in res.stderr
    assert "projection" not in run("fit", "--datasets", "csi2020_totals", "--mzp", 20, "--json").stderr


# --- 4. one answer in every output, item 8: --dof ---------------------------------------------


@pytest.mark.parametrize("dof", [1, 2])
def test_fit_dof_acts(dof):
    """Eq. (28): p = P(chi2_eta > t), Z = Phi^-1(1 - p/2), checked with scipy directly."""
    out = json.loads(run("fit", "--mzp", 20, "--dof", dof, "--json").stdout)
    assert out["dof"] == dof
    p = stats.chi2.sf(out["t"], dof)
    assert out["p"] == pytest.approx(p, rel=1e-9)
    assert out["z_sigma"] == pytest.approx(stats.norm.isf(p / 2), rel=1e-9)


def test_fit_dof_default_is_one_for_the_gx_fit():
    assert json.loads(run("fit", "--mzp", 20, "--json").stdout)["dof"] == 1
    refused(run("fit", "--mzp", 20, "--dof", 0), "--dof")


def test_posterior_prints_the_reports_intervals():
    """The CLI's 1D intervals are the report's Table II columns (outputs.reproduce._table2_row:
    HPD set and equal-tailed interval of credible_grid on the same problem)."""
    import cevnsfit
    from cevnsfit.inference.reference import reference_problem
    from cevnsfit.inference.sampling import credible_grid

    res = run("posterior", "--mzp", 20, "--sampler", "grid", "--json")
    out = json.loads(res.stdout)
    dens = credible_grid(reference_problem(cevnsfit.likelihood("csi2017,cenns10"), ("gx",), 20.0, 1.0))
    expected = [[10.0**a, 10.0**b] for a, b in dens["hpd_68"]]
    assert len(out["hpd_68"]) == len(expected)  # a union where the density is multimodal
    assert np.allclose(out["hpd_68"], expected, rtol=1e-9)
    assert out["equal_tailed_68"] == pytest.approx([10.0**v for v in dens["equal_tailed_68"]], rel=1e-9)
    text = run("posterior", "--mzp", 20, "--sampler", "grid").stdout
    assert "HPD" in text and "equal-tailed" in text


def test_toys_poi_help_matches_what_it_accepts():
    help_text = run("toys", "--help").output
    assert "exactly one" in help_text
    refused(run("toys", "--model", "lmu-ltau", "--poi", "gx", "--poi", "mzp_mev", "--param", "r=1"), "--poi")


# --- 5. progress, size, Ctrl-C, extras, checkpoints ------------------------------------------


def test_progress_lines_without_a_terminal(monkeypatch):
    """CliRunner's stderr is not a terminal: plain progress lines, and a size warning first."""
    import cevnsfit.progress as progress

    monkeypatch.setenv("CEVNSFIT_PROGRESS_INTERVAL", "0")
    monkeypatch.setattr(progress, "LARGE_GRID_POINTS", 100)
    res = run("exclusion", "--datasets", "csi2020_totals", "--n-mzp", 11, "--n-gx", 11)
    assert res.exit_code == 0, res.output
    err = res.stderr
    assert "warning:" in err and "121 points" in err
    assert "exclusion grid: 121/121 points" in err
    assert err.index("warning:") < err.index("exclusion grid:")
    assert "exclusion grid" not in res.stdout


def test_missing_extra_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "dynesty", None)  # import dynesty -> ImportError
    res = run("posterior", "--mzp", 20, "--sampler", "dynesty")
    text = refused(res, "dynesty", "cevnsfit[dynesty]")
    assert len([ln for ln in text.splitlines() if ln.startswith("Error")]) == 1


def test_stale_checkpoint_is_refused_before_work_naming_the_flag(tmp_path):
    folder = tmp_path / "ck" / "csi2020_totals_paper_r1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"format": "cevnsfit-grid-scan", "axes_hash": "other"}))
    t0 = time.perf_counter()
    res = run("exclusion", "--datasets", "csi2020_totals", "--n-mzp", 5, "--n-gx", 5, "--checkpoint", tmp_path / "ck")
    text = refused(res, "--overwrite", "axes_hash")
    assert "overwrite=True" not in text
    assert time.perf_counter() - t0 < 20
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]  # nothing computed or written


def _cli(*args, **kw):
    env = {**os.environ, "CEVNSFIT_PROGRESS_INTERVAL": "1"}
    cmd = [sys.executable, "-c", "from cevnsfit.cli import main; main()", *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw)


@pytest.mark.slow
def test_ctrl_c_is_one_line_with_the_checkpoint_state(tmp_path):
    """SIGINT to the whole process group, as Ctrl-C on a terminal sends it (workers included)."""
    ck = tmp_path / "ck"
    proc = _cli("exclusion", "--n-mzp", 300, "--n-gx", 300, "--checkpoint", ck, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 240 and len(list(ck.glob("*/chunk_*.npy"))) < 2:
        time.sleep(0.2)
    assert list(ck.glob("*/chunk_*.npy")), "no chunk written in 240 s"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    last = [ln for ln in err.splitlines() if ln.startswith("interrupted")]
    assert len(last) == 1 and str(ck) in last[0] and "of 45 chunks" in last[0], err
    done = int(last[0].split(" holds ")[1].split(" of ")[0])
    assert done == len(list(ck.glob("*/chunk_*.npy")))  # the line tells the truth about the disk


# --- data: offline fail-fast ----------------------------------------------------------------


def test_missing_data_folder_is_refused(monkeypatch, tmp_path):
    from cevnsfit import experiments

    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path / "nope"))
    experiments._cached.cache_clear()  # built experiments hold their data already
    try:
        for args in (["data", "verify"], ["predict", "csi2020_totals"]):
            refused(run(*args), "CEVNSFIT_DATA", str(tmp_path / "nope"))
    finally:
        experiments._cached.cache_clear()


def test_verify_download_offline_fails_fast(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on: "offline"
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CEVNSFIT_MIRROR", f"http://127.0.0.1:{port}")
    t0 = time.perf_counter()
    res = run("data", "verify", "--download")
    text = refused(res, f"127.0.0.1:{port}", "cannot be reached", "CEVNSFIT_MIRROR")
    assert time.perf_counter() - t0 < 15
    assert len([ln for ln in text.splitlines() if ln.strip()]) == 1
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.*"))


def test_heartbeat_without_a_count(monkeypatch, capsys):
    """A computation with no natural count prints 'working' lines on stderr; none while a counted
    progress display is open."""
    from cevnsfit.progress import Progress, heartbeat

    monkeypatch.setenv("CEVNSFIT_PROGRESS_INTERVAL", "0.5")
    with heartbeat("job"):
        time.sleep(1.3)
    err = capsys.readouterr().err
    assert err.count("job: working") >= 1
    with heartbeat("job"), Progress(1, "counted", enabled=True) as bar:
        time.sleep(1.3)
        bar.advance()
    err = capsys.readouterr().err
    assert "job: working" not in err and "counted: 1/1" in err


def test_long_command_is_never_silent(monkeypatch):
    monkeypatch.setenv("CEVNSFIT_PROGRESS_INTERVAL", "0.5")
    res = run(
        "fit", "--model", "lmu-ltau", "--poi", "mzp_mev", "--poi", "gx", "--datasets", "csi2017,cenns10", "--json"
    )
    assert res.exit_code == 0, res.output
    assert "cevnsfit fit: working" in res.stderr and "working" not in res.stdout
    json.loads(res.stdout)


def test_neyman_checkpoint_messages_name_the_flag(tmp_path):
    folder = tmp_path / "ck" / "neyman_csi2020_totals_paper"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("not json")
    args = ["exclusion", "--method", "neyman", "--datasets", "csi2020_totals", "--construction-grid", "3,3"]
    res = run(*args, "--n-toys", 2, "--n-mzp", 5, "--n-gx", 5, "--checkpoint", tmp_path / "ck")
    text = refused(res, "--overwrite")
    assert "overwrite=True" not in text


def test_predict_uses_declared_defaults_like_fit():
    """predict --model lmu-ltau alone: M_Z' and g_x at their declared defaults (g_x = 0: the SM),
    announced, instead of failing."""
    res = run("predict", "csi2020_totals", "--model", "lmu-ltau", "--json")
    assert res.exit_code == 0, res.output
    assert "mzp_mev" in res.stderr and "gx = 0" in res.stderr
    out = json.loads(res.stdout)
    assert out["ratio_to_sm"] == pytest.approx(1.0, abs=1e-12)


def test_chi2_absurd_r_warns():
    res = run("chi2", "--mzp", 20, "--r", 1e-300, "--json")
    assert res.exit_code == 0 and "warning: r = 1e-300" in res.stderr


def test_large_toy_runs_warn_before_they_start(monkeypatch):
    import cevnsfit.progress as progress

    monkeypatch.setattr(progress, "LARGE_TOYS", 5)
    res = run("toys", "--datasets", "csi2020_totals", "--mzp", 20, "--n-toys", 6, "--scheduler", "synchronous")
    assert res.exit_code == 0, res.output
    err = res.stderr
    assert "warning: --n-toys has 6 toy fits" in err
    assert "toy p-value from 6 toys" in err  # and the result warns that 6 toys mean little
    assert err.index("--n-toys has") < err.index("toy p-value")  # the size warning came first


def test_late_missing_extra_is_one_line():
    """An optional extra found missing deep inside a run (reproduce's samplers) is one line too."""
    import click

    from cevnsfit.cli import _Group

    @click.group(cls=_Group)
    def grp():
        pass

    @grp.command()
    def job():
        raise ImportError("sampler='dynesty' needs the optional extra: pip install 'cevnsfit[dynesty]'")

    @grp.command()
    def broken():
        raise ImportError("No module named 'numpy'")

    res = CliRunner().invoke(grp, ["job"])
    assert res.exit_code == 2 and res.output.strip().splitlines() == [
        "error: sampler='dynesty' needs the optional extra: pip install 'cevnsfit[dynesty]'"
    ]
    assert isinstance(CliRunner().invoke(grp, ["broken"]).exception, ImportError)  # not hidden
