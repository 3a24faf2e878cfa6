"""Data sets as units: the registry, the declarations, and data sets from other packages."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import cevnsfit
from cevnsfit import data, published
from cevnsfit.cli import main
from cevnsfit.datasets import check_exposures, get_dataset, registry
from cevnsfit.datasets.registry import import_object
from cevnsfit.errors import ParameterError, UnknownNameError

#: the module (the package attribute ``registry`` is the function of the same name)
reg_module = importlib.import_module("cevnsfit.datasets.registry")
PLUGIN = Path(__file__).resolve().parent / "plugin_pkg"
SRC = Path(cevnsfit.__file__).resolve().parent
BUILTIN = ("cenns10", "cenns10_totals", "csi2017", "csi2020_totals", "csi2021", "xenonnt")


@pytest.fixture
def plugin_entry_points(monkeypatch):
    """Entry points as an installed package would declare them (real EntryPoint objects); the
    registry is rebuilt with them and restored afterwards."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    eps: list = []
    monkeypatch.setattr(reg_module, "_entry_points", lambda: eps)

    def use(*specs):
        eps[:] = [importlib.metadata.EntryPoint(name=n, value=v, group="cevnsfit.datasets") for n, v in specs]
        return registry(refresh=True)

    yield use
    monkeypatch.undo()
    registry(refresh=True)


def test_builtin_units_are_folders_with_a_declaration():
    table = registry()
    for name in BUILTIN:
        unit = table[name]
        assert unit.origin == f"folder src/cevnsfit/datasets/{name}"
        assert (SRC / "datasets" / name / "dataset.yaml").is_file()
        assert (SRC / "datasets" / name / unit.declaration["docs"]).is_file()
        assert set(unit.modes) == {"paper", "full"}
        # every name the declaration gives resolves to code
        for mode in unit.modes:
            spec = unit.declaration["likelihood"][mode]
            assert "channels" in spec or {"builder", "backend"} <= set(spec)
            for key in ("builder", "backend", "fast_path"):
                if key in spec:
                    assert callable(import_object(spec[key], name))


def test_releases_come_from_the_units():
    # each unit's checksum list is exactly its release's files in the data registry
    for name in ("csi2017", "cenns10", "csi2021", "xenonnt"):
        unit = get_dataset(name)
        rel = unit.release["name"]
        listed = (SRC / "datasets" / name / unit.release["checksums"]).read_text().split()[1::2]
        assert sorted(listed) == sorted(f.path for f in data.FILES if f.release == rel)
        assert data.RELEASES[rel].declared_in.endswith(f"datasets/{name}/dataset.yaml")
    # the generic machinery names no release (docs/data.md)
    text = (SRC / "data" / "registry.py").read_text()
    assert not re.search(r"coherent-|xenonnt-8b|zenodo\.1228631|PEANUTS_COMMITS", text)


def test_exposure_overlap_from_declarations():
    check_exposures(["csi2017", "cenns10", "xenonnt"])
    for pair in (["csi2017", "csi2021"], ["csi2020_totals", "csi2021"], ["cenns10", "cenns10_totals"]):
        with pytest.raises(ParameterError, match="counts the same events twice"):
            check_exposures(pair)
    check_exposures(["csi2017", "csi2021"], allow_overlap=True)


def test_option_defaults_agree_with_the_builders():
    """A declared default equals the default of every builder that takes the option (the
    declaration is what `cevnsfit datasets` shows; the builders are what runs)."""
    checked = 0
    for name, unit in registry().items():
        if unit.declared_likelihood:  # no code builder: the declaration is what runs
            continue
        builders = [import_object(s["builder"]) for s in unit.declaration["likelihood"].values() if "builder" in s]
        if unit.experiment_of is None:
            builders.append(import_object(unit.declaration["experiment"]["builder"]))
        else:
            builders.append(import_object(get_dataset(unit.experiment_of).declaration["experiment"]["builder"]))
        for key, opt in unit.options.items():
            for b in builders:
                p = inspect.signature(b).parameters.get(key)
                if p is None or p.default is inspect.Parameter.empty:
                    continue
                got = list(p.default) if isinstance(p.default, tuple) else p.default
                assert got == opt["default"] or (key == "sin2_theta_w" and got == pytest.approx(opt["default"])), (
                    name,
                    key,
                )
                checked += 1
    assert checked >= 30


def test_unknown_option_and_disallowed_value_are_refused():
    with pytest.raises(UnknownNameError, match="no option 'pe_windows'.*pe_window"):
        cevnsfit.likelihood("csi2017", options={"csi2017": {"pe_windows": (6, 30)}})
    with pytest.raises(UnknownNameError, match="must be one of \\['flat', 'jeffreys'\\]"):
        cevnsfit.likelihood("csi2017", options={"csi2017": {"background_prior": "uniform"}})
    with pytest.raises(UnknownNameError, match="full mode.*no option 'background_prior'"):
        cevnsfit.likelihood("csi2017", mode="full", options={"csi2017": {"background_prior": "flat"}})


def test_nuisances_are_read_from_the_declaration():
    term = cevnsfit.likelihood("csi2017").terms[0]
    nus = {n["name"]: n for n in term.nuisances()}
    # the declared width is the one the backend uses
    assert nus["cevns_norm"]["constraint"]["sigma"] == term.term.sigma == 0.28
    assert nus["cevns_norm"]["prior"].startswith("normal(0, 0.28)")
    ar = cevnsfit.likelihood("cenns10").terms[0]
    widths = {n["name"]: n["constraint"]["sigma"] for n in ar.nuisances()}
    assert widths["prompt_brn_norm"] == pytest.approx(34.0 / 553.0)  # the release's best-fit error
    assert {n["name"] for n in get_dataset("xenonnt").nuisances("full")} >= {"phi", "eps", "t_ly", "t_qy"}


def test_published_records_are_gathered_from_the_units():
    rec = published.get("cenns10_cv_cevns")
    assert (rec.value, rec.sigma) == (128.0, 17.0)
    assert published.get("xenonnt_sr01_background").plus == 1.4
    keys = {r["key"] for u in registry().values() for r in u.published_records()}
    assert keys <= set(published.RECORDS)
    assert published.reference_table2(20, 1)["z"] == 1.40  # the reference analysis's own record


def test_cli_datasets_json():
    res = CliRunner().invoke(main, ["datasets", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert set(BUILTIN) <= set(rows)
    csi = rows["csi2017"]
    assert csi["release"]["name"] == "coherent-csi-2017"
    assert csi["options"]["background_prior"] == {
        "default": "flat",
        "allowed": ["flat", "jeffreys"],
        "modes": ["paper"],
        "doc": "prior of the steady-state mean",
    }
    assert csi["declared_in"] == "folder src/cevnsfit/datasets/csi2017"


def test_plugin_data_set_joins_registry_overlap_check_and_fit(plugin_entry_points):
    from cevnsfit.experiments import get_experiment
    from cevnsfit.inference.fits import fit
    from cevnsfit.inference.problem import Problem

    table = plugin_entry_points(("toydet", "cevnsfit_toydet:DATASET"))
    from cevnsfit.likelihoods import DATASETS

    unit = table["toydet"]
    assert unit.origin.startswith("entry point 'toydet'") and "cevnsfit_toydet" in unit.origin
    assert "toydet" in DATASETS
    check_exposures(["toydet", "csi2017"])
    with pytest.raises(ParameterError, match="dataset 'toydet' is listed twice"):
        check_exposures(["toydet", "toydet"])
    # the experiment scales with the target mass (N_T prop. to mass), option passed through
    one = get_experiment("toydet").predict().sum()
    two = get_experiment("toydet", mass_kg=200.0).predict().sum()
    assert two == pytest.approx(2.0 * one, rel=1e-12)
    # Asimov data at the SM: the fit of a magnetic moment finds no moment
    res = fit(Problem(cevnsfit.likelihood("toydet"), "magnetic-moment", poi=["mu_numu"]))
    assert res["mle"]["mu_numu"] < 1e-10
    assert abs(res["t"]) < 1e-6
    # combined with a real data set like any built-in one
    like = cevnsfit.likelihood("toydet,csi2017")
    assert like.names == ["toydet", "csi2017"]


def test_broken_entry_point_warns_and_the_rest_keeps_working(plugin_entry_points):
    with pytest.warns(UserWarning, match="entry point 'broken' of package 'cevnsfit_nowhere' failed to load"):
        table = plugin_entry_points(("broken", "cevnsfit_nowhere.units:UNIT"), ("toydet", "cevnsfit_toydet:DATASET"))
    assert "broken" not in table and {"toydet", *BUILTIN} <= set(table)
    assert cevnsfit.likelihood("csi2017").logl_sm() < 0


def test_duplicate_name_is_refused_naming_both_origins(plugin_entry_points, tmp_path):
    decl = (PLUGIN / "cevnsfit_toydet" / "dataset.yaml").read_text().replace("name: toydet", "name: csi2017")
    (tmp_path / "dataset.yaml").write_text(decl)
    mod = tmp_path / "dup_units.py"
    mod.write_text(f"PATH = {str(tmp_path / 'dataset.yaml')!r}\n")
    with pytest.warns(
        UserWarning, match="'csi2017' declared in entry point 'dup'.*refused.*folder src/cevnsfit/datasets/csi2017"
    ):
        import sys

        sys.path.insert(0, str(tmp_path))
        try:
            table = plugin_entry_points(("dup", "dup_units:PATH"))
        finally:
            sys.path.remove(str(tmp_path))
    assert table["csi2017"].origin == "folder src/cevnsfit/datasets/csi2017"


@pytest.mark.slow
def test_plugin_installed_with_pip_is_found_by_its_entry_point(tmp_path):
    """The real path: `pip install` the plugin (into a target folder), then a fresh interpreter
    finds its data set through importlib.metadata, with no monkeypatching."""
    import os
    import shutil
    import subprocess
    import sys

    pkg = tmp_path / "pkg"
    shutil.copytree(PLUGIN, pkg)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--target", str(target), str(pkg)],
        check=True,
        capture_output=True,
    )
    code = (
        "import cevnsfit, json; from cevnsfit.datasets import registry; u = registry()['toydet'];"
        "like = cevnsfit.likelihood('toydet,csi2017');"
        "print(json.dumps([u.origin, like.names, like.terms[0].logl_sm() if hasattr(like.terms[0], 'logl_sm') "
        "else float(like.terms[0].logl_model(None))]))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(SRC.parent)])}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    origin, names, logl = json.loads(out.stdout.strip().splitlines()[-1])
    assert "entry point 'toydet'" in origin and "cevnsfit-toydet" in origin  # the distribution's name
    assert names == ["toydet", "csi2017"]
    assert logl < 0
