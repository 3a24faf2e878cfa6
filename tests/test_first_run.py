"""First run as fast as the second (issue 22.5; docs: performance, "First run"): what a first
run builds is kept on disk and not built again, and the first build says so on stderr."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import cevnsfit
from cevnsfit.likelihoods import tables


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty package cache (``CEVNSFIT_CACHE``; the table-only override unset) and no tables
    in memory."""
    monkeypatch.delenv("CEVNSFIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CEVNSFIT_QUIET", raising=False)
    tables.clear_cache(disk=False)
    yield tmp_path / "cache"
    tables.clear_cache(disk=False)


def test_a_second_table_build_reads_the_disk_cache(fresh_cache, capfd):
    builds = tables.BUILDS["count"]
    first = cevnsfit.likelihood("csi2021").terms[0].term
    tab = first.table()
    assert tables.BUILDS["count"] == builds + 1
    err = capfd.readouterr().err
    assert "building the likelihood tables of csi2021 (first run only, cached in" in err
    assert str(fresh_cache / "lnl-tables") in err  # CEVNSFIT_CACHE relocates the tables too
    assert len(list((fresh_cache / "lnl-tables").glob("csi2021-*.npz"))) == 1
    assert "done in" in err

    tables.clear_cache(disk=False)  # a new process: nothing in memory
    again = cevnsfit.likelihood("csi2021").terms[0].term.table()
    assert tables.BUILDS["count"] == builds + 1  # read from disk, not built
    assert "building" not in capfd.readouterr().err
    np.testing.assert_array_equal(again.coef, tab.coef)


def test_warmup_builds_once_then_finds_everything_cached(fresh_cache):
    from cevnsfit.outputs.warmup import warmup

    first = warmup(["csi2021"], ["paper"], reproduction=False, progress=False)
    assert [(r["dataset"], r["mode"], r["tables_built"]) for r in first] == [("csi2021", "paper", 1)]
    tables.clear_cache(disk=False)
    second = warmup(["csi2021"], ["paper"], reproduction=False, progress=False)
    assert second[0]["tables_built"] == 0 and second[0]["compiled"] == 0


def test_warmup_covers_every_registered_dataset_in_both_modes():
    from cevnsfit.datasets import registry
    from cevnsfit.outputs.warmup import warmup_steps

    steps = {(d, m) for d, m, _ in warmup_steps()}
    assert {(d, m) for d, u in registry().items() for m in u.modes} == steps
    assert ("cenns10", "full") in steps and ("csi2017", "full") in steps


def test_warmup_command_and_its_bad_input(fresh_cache):
    from cevnsfit.cli import main

    res = CliRunner().invoke(main, ["warmup", "--dataset", "csi2021", "--mode", "paper"])
    assert res.exit_code == 0, res.output
    assert "csi2021" in res.output and "likelihoods ready" in res.output
    bad = CliRunner().invoke(main, ["warmup", "--dataset", "csi2099"])
    assert bad.exit_code == 2 and "unknown dataset 'csi2099'" in bad.output and "csi2021" in bad.output


def _dispatchers():
    from cevnsfit.datasets.xenonnt import _kernel as _xenon_kernel
    from cevnsfit.likelihoods import _full_kernels, gaussian_poisson, toy_grid

    found = {
        "tables._sum_loop": tables._NUMBA_KERNEL,
        "gaussian_poisson._entry_loop": gaussian_poisson._ENTRY_KERNEL,
        "gaussian_poisson._erfcx": gaussian_poisson._erfcx,
        "toy_grid._sum_rows_loop": toy_grid._SUM_ROWS,
        "_full_kernels.cenns_loop": _full_kernels.CENNS_KERNEL,
    }
    for name in dir(_xenon_kernel):
        obj = getattr(_xenon_kernel, name)
        if hasattr(obj, "py_func") and hasattr(obj, "signatures"):
            found[f"xenonnt._kernel.{name}"] = obj
    return found


@pytest.mark.skipif(not tables.HAVE_NUMBA, reason="numba not installed")
def test_every_compiled_function_is_cached_on_disk():
    found = _dispatchers()
    assert len(found) >= 14  # the five above and the XENONnT kernel's functions
    for name, disp in found.items():
        assert disp is not None, name
        # numba keeps a NullCache unless the function was declared with cache=True
        assert type(disp._cache).__name__ != "NullCache", f"{name} is compiled without cache=True"


@pytest.mark.skipif(not tables.HAVE_NUMBA, reason="numba not installed")
def test_read_only_and_writeable_inputs_share_one_compilation():
    from cevnsfit.likelihoods import gaussian_poisson as gp

    n = np.array([3, 0, 7])
    mu = np.array([[2.0, 0.5, 6.0]])
    a = gp.log_smeared_poisson(n, mu, np.full(3, 0.4))  # writeable arrays
    before = len(gp._ENTRY_KERNEL.signatures)
    b = gp.log_smeared_poisson(n, np.broadcast_to(mu, (2, 3)), np.broadcast_to(0.4, (2, 3)))  # read-only views
    c = gp.log_smeared_poisson_sum(mu, np.full(3, 0.4), 1.0, np.zeros((8, 3)), n)
    assert len(gp._ENTRY_KERNEL.signatures) == before == 1
    np.testing.assert_allclose(b, np.broadcast_to(a, (2, 3)), rtol=1e-14)
    assert np.all(np.isfinite(c))


@pytest.mark.skipif(not tables.HAVE_NUMBA, reason="numba not installed")
def test_a_new_process_loads_the_compiled_code_instead_of_compiling(tmp_path):
    script = textwrap.dedent(
        """
        import numpy as np
        from cevnsfit.likelihoods import toy_grid
        toy_grid._sum_rows(np.ones((3, 4)), np.array([0, 2]))
        s = toy_grid._SUM_ROWS.stats
        print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("CEVNSFIT_QUIET", None)

    def run():
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        return [int(v) for v in out.stdout.split()], out.stderr

    (hits, misses), err = run()
    assert (hits, misses) == (0, 1) and "compiling _sum_rows_loop with numba (first run only, cached in" in err
    assert str(tmp_path / "numba") in err
    (hits, misses), err = run()
    assert (hits, misses) == (1, 0) and "compiling" not in err
