"""Issue 22 in the library: arguments act or are refused; declared defaults used and warned the
same way as on the command line; unconstrained POIs; toy counts; checkpoints (one writer, stale
folders recognised before work); the data docs' file count."""

from __future__ import annotations

import multiprocessing
import re
import time
from pathlib import Path

import numpy as np
import pytest

import cevnsfit
from cevnsfit.errors import ParameterError, ScanMismatchError
from cevnsfit.inference.checks import CevnsfitWarning, profile_deltas, required_parameters, toy_count_note
from cevnsfit.inference.exclusion import exclusion
from cevnsfit.inference.fits import fit
from cevnsfit.inference.problem import Problem
from cevnsfit.inference.scan import folder_lock, grid_scan
from cevnsfit.inference.toys import toy_calibration


@pytest.fixture(scope="module")
def totals():
    return cevnsfit.likelihood("csi2020_totals")


# --- 1. arguments act or are refused ---------------------------------------------------------


@pytest.mark.parametrize("n", [(5.5, 5), (7, 7, 7), (7,), (True, 5), ("5", 5), 5, (1, 5)])
def test_exclusion_n_is_two_integers(totals, n):
    problem = Problem(totals, "lmu-ltau", ["mzp_mev", "gx"], fixed={"r": 1.0})
    with pytest.raises(ParameterError, match="n must|at least 2"):
        exclusion(problem, n)


def test_exclusion_n_and_axes_exclude_each_other(totals):
    problem = Problem(totals, "lmu-ltau", ["mzp_mev", "gx"], fixed={"r": 1.0})
    axes = (np.linspace(1, 2, 4), np.linspace(-3, -2, 5))
    with pytest.raises(ParameterError, match="not both"):
        exclusion(problem, (4, 5), axes=axes)
    out = exclusion(problem, axes=axes)  # axes act: the grid is theirs
    assert np.asarray(out["t"]).shape == (4, 5) and out["log10_mzp_mev"] == list(axes[0])
    out = exclusion(problem, (6, 3))  # n acts
    assert np.asarray(out["t"]).shape == (6, 3)
    with pytest.raises(ParameterError, match="logl_grid"):
        exclusion(problem, (6, 3), logl_grid=np.zeros((3, 6)))


def test_fit_grid_with_two_pois_is_refused(totals):
    problem = Problem(totals, "lmu-ltau", ["mzp_mev", "gx"], fixed={"r": 1.0})
    with pytest.raises(ParameterError, match="grid"):
        fit(problem, grid=np.linspace(-4, -1, 11))
    with pytest.raises(ParameterError, match="dof"):
        fit(Problem(totals, "lmu-ltau", ["gx"], fixed={"mzp_mev": 20.0}), dof=1.5)


@pytest.mark.parametrize("kw", [{"n_toys": 5.5}, {"n_toys": 0}, {"chunk_size": 2.5}, {"n_grid": 2}, {"n_toys": True}])
def test_toys_sizes_are_integers(totals, kw):
    with pytest.raises(ParameterError, match=next(iter(kw))):
        toy_calibration(totals, 20.0, scheduler="synchronous", **{"n_toys": 4, **kw})


def test_grid_scan_chunk_size_is_an_integer(tmp_path):
    with pytest.raises(ParameterError, match="chunk_size"):
        grid_scan(lambda p: p["x"], {"x": np.arange(3.0)}, tmp_path, chunk_size=2.5, scheduler="synchronous")


# --- 2. declared defaults: used and announced, as on the command line --------------------------


def test_required_parameters_from_the_constructors():
    assert required_parameters("lmu-ltau") == ["mzp_mev", "gx"]
    assert required_parameters("scalar") == ["ms_mev", "gs"]
    assert required_parameters("magnetic-moment") == []


def test_fit_uses_declared_default_with_a_warning(totals):
    with pytest.warns(CevnsfitWarning, match="mzp_mev = 20 MeV"):
        implicit = fit(Problem(totals, "lmu-ltau", ["gx"], fixed={"r": 1.0}))
    explicit = fit(Problem(totals, "lmu-ltau", ["gx"], fixed={"r": 1.0, "mzp_mev": 20.0}))
    assert implicit["fixed"]["mzp_mev"] == 20.0 and implicit["t"] == pytest.approx(explicit["t"], abs=1e-12)


# --- 3. unconstrained POIs, projections, toy counts ------------------------------------------


def test_profile_deltas_closed_form():
    x, y = np.linspace(-1, 1, 21), np.linspace(0, 1, 11)
    ll = -0.5 * (x[:, None] / 0.1) ** 2 + 0 * y[None, :]  # depends on x only
    dx, dy = profile_deltas([x, y], ll)
    assert dx == pytest.approx(100.0) and dy == 0.0


def test_flat_profile_is_unconstrained(totals):
    """vector with g_numu only (no quark coupling): ln L does not depend on g_numu at all."""
    res = fit(Problem(totals, "vector", ["g_numu"], fixed={"mzp_mev": 20.0}))
    assert res["unconstrained"] == ["g_numu"] and res["mle"]["g_numu"] is None and res["z_sigma"] is None
    assert res["profile_delta"]["g_numu"] == pytest.approx(0.0, abs=1e-9)
    ref = fit(Problem(cevnsfit.likelihood("csi2017,cenns10"), "lmu-ltau", ["gx"], fixed={"mzp_mev": 20.0}))
    assert ref["unconstrained"] == [] and ref["mle"]["gx"] > 0 and ref["z_sigma"] > 0


def test_projection_mixed_with_data_warns_once():
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        like = cevnsfit.likelihood("csi2020_totals,ccm")
        fit(Problem(like, "lmu-ltau", ["gx"], fixed={"mzp_mev": 20.0}))
    mixed = [w for w in seen if issubclass(w.category, CevnsfitWarning) and "projection" in str(w.message)]
    assert len(mixed) == 1 and "ccm is a projection" in str(mixed[0].message)


def test_projection_detected_by_kind_attribute():
    """The data-set units' ``kind: projection`` is honoured as well as the Asimov term class."""
    from cevnsfit.inference.checks import projection_mix

    like = cevnsfit.likelihood("csi2020_totals")

    class Tagged:
        def __init__(self, dt):
            self.name, self.term, self.kind = "future", dt.term, "projection"

    fake = type("L", (), {"terms": [like.terms[0], Tagged(like.terms[0])]})()
    assert projection_mix(fake) == (["future"], [like.terms[0].name])


def test_toy_count_note_criterion():
    assert toy_count_note(1000, 50) is None
    assert "p = 0.003" in toy_count_note(1000, 3) and "3334" in toy_count_note(1000, 3)
    assert "no toy" in toy_count_note(200, 0)
    assert toy_count_note(50, 40) is not None  # fewer than 100 toys


def test_few_toys_warn(totals):
    with pytest.warns(CevnsfitWarning, match="toy p-value from 4 toys"):
        res = toy_calibration(totals, 20.0, n_toys=4, chunk_size=2, scheduler="synchronous")
    assert res["toy_count_note"] and res["n_toys"] == 4


# --- 5. checkpoints: stale folders before work, one writer --------------------------------------


def _slow(points):
    time.sleep(0.3)
    return points["x"] * 2.0


def _writer(folder, queue):
    try:
        values = grid_scan(_slow, {"x": np.arange(8.0)}, folder, chunk_size=2, scheduler="synchronous", progress=False)
        queue.put(values.tolist())
    except Exception as exc:  # noqa: BLE001
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_writers_on_one_folder(tmp_path):
    """A second process on the same checkpoint folder is refused at once (lock file); the first
    finishes with the complete, correct array and no stray temporary files."""
    folder = tmp_path / "scan"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    first = ctx.Process(target=_writer, args=(folder, queue))
    first.start()
    t0 = time.time()
    while not (folder / "manifest.json").exists() and time.time() - t0 < 30:
        time.sleep(0.05)
    second = ctx.Process(target=_writer, args=(folder, queue))
    second.start()
    results = [queue.get(timeout=60), queue.get(timeout=60)]
    first.join(30)
    second.join(30)
    errors = [r for r in results if isinstance(r, str)]
    arrays = [r for r in results if not isinstance(r, str)]
    assert len(errors) == 1 and "another process" in errors[0], results
    assert arrays == [list(np.arange(8.0) * 2.0)]
    assert not list(folder.glob(".*.tmp"))


def test_lock_refuses_in_the_same_process(tmp_path):
    with folder_lock(tmp_path), pytest.raises(ScanMismatchError, match="another process"):
        grid_scan(lambda p: p["x"], {"x": np.arange(3.0)}, tmp_path, scheduler="synchronous", progress=False)
    # released: the scan runs
    assert grid_scan(lambda p: p["x"], {"x": np.arange(3.0)}, tmp_path, scheduler="synchronous").tolist() == [0, 1, 2]


def test_stale_scan_refused_before_any_evaluation(tmp_path):
    calls = []

    def ev(points):
        calls.append(1)
        return points["x"]

    grid_scan(ev, {"x": np.arange(4.0)}, tmp_path, scheduler="synchronous", progress=False)
    calls.clear()
    with pytest.raises(ScanMismatchError, match="axes_hash.*pass --overwrite"):
        grid_scan(ev, {"x": np.arange(5.0)}, tmp_path, scheduler="synchronous", hint="pass --overwrite")
    assert calls == []
    with pytest.raises(ScanMismatchError, match="overwrite=True"):  # the API names its own argument
        grid_scan(ev, {"x": np.arange(5.0)}, tmp_path, scheduler="synchronous")


def test_other_version_is_recognised(tmp_path, monkeypatch):
    from cevnsfit.inference.scan import LoglikeEvaluator, check_checkpoint

    axes = {"log10_mzp": np.linspace(1, 2, 3), "log10_gx": np.linspace(-3, -2, 3)}
    ev = LoglikeEvaluator("csi2020_totals")
    import json

    (tmp_path / "manifest.json").write_text(json.dumps(check_checkpoint(ev, axes, tmp_path / "none")))
    check_checkpoint(ev, axes, tmp_path)  # same version: resumable
    monkeypatch.setattr(cevnsfit, "__version__", "0.0.0-other")
    with pytest.raises(ScanMismatchError, match="cevnsfit_version"):
        check_checkpoint(ev, axes, tmp_path)


# --- 4. docs/data.md's count ----------------------------------------------------------------


def test_docs_data_file_count_is_the_registrys():
    from cevnsfit import data

    text = (Path(__file__).parents[1] / "docs" / "data.md").read_text()
    m = re.search(r"every registered file \((\d+) files", text)
    assert m, "docs/data.md no longer states the file count"
    assert int(m.group(1)) == len(data.FILES)


def test_arguments_that_would_be_ignored_are_refused(totals):
    from cevnsfit.inference.scan import run_tasks
    from cevnsfit.inference.toys import lrt_statistic_problem

    with pytest.raises(ParameterError, match="n_workers"):
        run_tasks(abs, [(1,)], scheduler="synchronous", n_workers=3)
    with pytest.raises(ParameterError, match="mode and options"):
        toy_calibration(totals, 20.0, n_toys=2, scheduler="synchronous", options={"csi2020_totals": {}})
    with pytest.raises(ParameterError, match="n_grid"):
        lrt_statistic_problem(Problem(totals, "lmu-ltau", ["gx"], fixed={"mzp_mev": 20.0}), n_grid=2.5)


def test_posterior_arguments_of_the_other_sampler_are_refused(totals):
    from cevnsfit.inference.sampling import credible_grid, posterior

    problem = Problem(totals, "lmu-ltau", ["gx"], fixed={"mzp_mev": 20.0})
    with pytest.raises(ParameterError, match="log_dir"):
        posterior(problem, sampler="grid", log_dir="somewhere")
    with pytest.raises(ParameterError, match="n_grid"):
        posterior(problem, sampler="ultranest", n_grid=101)
    with pytest.raises(ParameterError, match="integer"):
        credible_grid(problem, n=21.5, check=False)
    assert len(posterior(problem, sampler="grid", n_grid=101)["grid"]) == 101  # n_grid acts with the grid


def test_posterior_uses_declared_default_with_a_warning(totals):
    from cevnsfit.inference.sampling import posterior

    with pytest.warns(CevnsfitWarning, match="mzp_mev"):
        res = posterior(Problem(totals, "lmu-ltau", ["gx"]), sampler="grid", n_grid=101)
    assert res["fixed"]["mzp_mev"] == 20.0


def test_options_for_a_data_set_outside_the_combination_are_refused():
    """``likelihood(options=...)`` naming a data set that is not combined used to be ignored:
    the PE window below would silently not apply. Now it is refused, naming the data set and
    the combination; options for a combined data set still reach it."""
    from cevnsfit.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match=r"'csi2017'.*not in the combination csi2020_totals"):
        cevnsfit.likelihood("csi2020_totals", options={"csi2017": {"pe_window": (16, 30)}})
    with pytest.raises(UnknownNameError, match="no option 'pe_window'"):
        cevnsfit.likelihood("csi2020_totals", options={"csi2020_totals": {"pe_window": (16, 30)}})


def test_neyman_fine_grid_size_is_two_integers():
    """``neyman_exclusion(fine_n=...)`` used to truncate 50.5 to 50; it is refused like ``n``."""
    from cevnsfit.inference.neyman import _segments, neyman_exclusion

    with pytest.raises(ParameterError, match=r"fine_n must hold integers"):
        neyman_exclusion(object.__new__(Problem), fine_n=(50.5, 60))  # refused before any work
    # a neighbour skipped by t_skip (NaN) gives no interpolated end: the segment ends on the grid
    x = np.arange(5.0)
    segs = _segments(x, np.array([np.nan, -1.0, -1.0, 1.0, np.nan]))
    assert segs == [(1.0, 2.5, False, False)]
