"""Projections as one file (docs: datasets/format): the CCM unit against the construction it
replaces, the declared response against the CENNS-10 code experiment, scaling laws, and the
``--dataset-spec`` path through ``cevnsfit.likelihood`` and the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import cevnsfit
from cevnsfit.constants import ISOTOPES, N_A, SIN2_THETA_W
from cevnsfit.declaration import load
from cevnsfit.experiments import get_experiment
from cevnsfit.experiments.declared import build_experiment
from cevnsfit.models import LmuLtau, model_from_name

UNITS = Path(cevnsfit.__file__).parent / "datasets"
COH = UNITS / "coh_ar_750" / "dataset.yaml"


def _ccm_by_hand(nodes_per_segment=6):
    """The CCM experiment as experiments/ccm.py built it before it became a declaration."""
    from cevnsfit.physics.flux import StoppedPionSource
    from cevnsfit.physics.nucleus import Nucleus
    from cevnsfit.rates.binned import SpectrumEngine
    from cevnsfit.rates.kernels import er_endpoints
    from cevnsfit.rates.response import gauss_legendre_grid, response_matrix

    nuc = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    source = StoppedPionSource(3e22, 0.04, 20.0)
    nt = 5000.0 * 1e3 * N_A / ISOTOPES["Ar40"]["atomic_mass_u"]
    edges = np.arange(25.0, 150.0 + 1e-9, 5.0)
    ends = er_endpoints(nuc)
    bps = [e for e in edges if e < ends["delayed"] * 1e3] + [ends["prompt"] * 1e3, ends["delayed"] * 1e3]
    er, w = gauss_legendre_grid(sorted(bps), nodes_per_segment)
    resp = response_matrix(er, edges, edges, "none")
    return SpectrumEngine(source, [(nuc, nt, er * 1e-3, w * 1e-3, resp)], SIN2_THETA_W)


def test_ccm_unit_reproduces_the_hand_built_experiment():
    engine = _ccm_by_hand()
    exp = get_experiment("ccm")
    model = LmuLtau(np.array([3.0, 20.0, 300.0]), np.array([1e-3, 3e-4, 1e-2]), 1.0)
    for m in (None, model):
        old = engine.energy_counts(m).sum(-2)
        np.testing.assert_allclose(exp.predict(m), old, rtol=1e-10, atol=0)
    assert exp.predict().sum() == pytest.approx(2943.36, abs=0.01)  # docs/datasets/ccm.md
    term = cevnsfit.likelihood("ccm").terms[0]
    assert type(term.term).__name__ == "AsimovPoisson" and term.exposures == ("ccm-projection",)
    np.testing.assert_array_equal(term.term.n, exp.predict())


def test_declared_response_equals_the_cenns10_code_experiment():
    """Polynomial quenching, Gaussian smearing and the release's tabulated efficiency, declared,
    give the CENNS-10 code experiment's energy spectra per flux group."""
    from cevnsfit.datasets.cenns10 import loaders

    eff_edges, eff = loaders.load_cenns10_efficiency()
    e_edges = loaders.CENNS10_EDGES["energy_kevee"]
    decl = yaml.safe_load(COH.read_text())
    decl["experiment"] = {
        "source": {"type": "stopped_pion", "pot": 13.8e22, "nu_per_pot": 0.09, "distance_m": 27.5},
        "targets": [{"mass_kg": 24.4, "composition": {"Ar40": 1}, "form_factor": "klein_nystrand", "rn_fm": 4.1}],
        "observable": {"name": "energy", "unit": "keVee", "binning": {"edges": [float(e) for e in e_edges]}},
        "response": [
            {"component": "quenching", "model": "polynomial", "coefficients": [0.246, 7.8e-4]},
            {"component": "smearing", "model": "gaussian", "stochastic": 0.58},
            {
                "component": "efficiency",
                "model": "table",
                "edges": [float(e) for e in eff_edges],
                "values": [float(v) for v in eff],
                "sub_bin_width": 0.5,
            },
        ],
    }
    decl["likelihood"]["paper"]["channels"][0]["samples"][1]["template"] = {"counts": [1.0] * (len(e_edges) - 1)}
    decl["likelihood"].pop("full")
    decl["modes"] = ["paper"]
    exp = build_experiment(load(decl, source="cenns10-declared"), "paper")
    code = get_experiment("cenns10", "paper")
    model = LmuLtau(np.array([10.0, 100.0]), np.array([1e-3, 1e-2]), 1.0)
    for m in (None, model):
        np.testing.assert_allclose(exp.engine.energy_counts(m), code.engine.energy_counts(m), rtol=1e-12, atol=1e-12)


def _toy(mass=100.0, distance=20.0):
    d = yaml.safe_load(COH.read_text())
    d["experiment"]["targets"][0]["mass_kg"] = mass
    d["experiment"]["source"]["distance_m"] = distance
    return build_experiment(load(d, source="toy"), "paper")


def test_scaling_with_mass_and_distance():
    """N ~ m / L^2 bin by bin."""
    base = _toy().predict()
    np.testing.assert_allclose(_toy(mass=300.0).predict(), 3.0 * base, rtol=1e-12)
    np.testing.assert_allclose(_toy(distance=40.0).predict(), base / 4.0, rtol=1e-12)


@pytest.fixture(scope="module")
def coh():
    """The COH-Ar-750 file registered for this module (unregistered after it, with the twin of
    the shared-flux test, so that other tests see the built-in names only)."""
    from cevnsfit.datasets import register, unregister

    spec = cevnsfit.dataset_from_spec(COH)
    register(spec)
    yield spec
    for name in ("coh_ar_750", "coh_ar_750_twin"):
        unregister(name)


def test_projection_from_a_file(coh):
    assert coh.kind == "projection" and coh.exposures == ("coh-ar-750-projection",)
    exp = coh.experiment("paper")
    sm = exp.predict()
    assert sm.shape == (16,) and np.all(sm > 0)
    with pytest.warns(UserWarning, match=r"coh_ar_750 is a projection .* measured data \(csi2017\)"):
        like = cevnsfit.likelihood(["csi2017", "coh_ar_750"])
    # Asimov data: the SM is the maximum of the projection's profile likelihood (t = 0 there)
    term = like.terms[1]
    m = model_from_name("lmu-ltau", mzp_mev=np.array([20.0, 20.0]), gx=np.array([0.0, 5e-4]))
    ll = term.logl_model(m)
    assert ll[0] > ll[1]
    with pytest.raises(cevnsfit.errors.ParameterError, match="counts the same events twice"):
        cevnsfit.likelihood(["coh_ar_750", "coh_ar_750"])


def test_shared_flux_through_the_likelihood(coh, tmp_path):
    """Two SNS projections sharing `sns_flux` with the option: one profiled term; without: two."""
    d = yaml.safe_load(COH.read_text())
    d["name"] = "coh_ar_750_twin"
    d["exposures"] = ["twin-exposure"]
    path = tmp_path / "twin.yaml"
    path.write_text(yaml.safe_dump(d))
    from cevnsfit.datasets import register

    register(cevnsfit.dataset_from_spec(path))
    names = ["coh_ar_750", "coh_ar_750_twin"]
    separate = cevnsfit.likelihood(names, mode="full")
    assert len(separate.terms) == 2
    opts = {n: {"share": ["sns_flux"]} for n in names}
    joint = cevnsfit.likelihood(names, mode="full", options=opts)
    assert len(joint.terms) == 1
    assert joint.terms[0].term.names.count("sns_flux") == 1
    assert len(joint.terms[0].term.names) == 5  # one flux, two model and two steady-state nuisances
    # at the SM (Asimov) both sit at nominal nuisances: equal up to the one constraint
    # normalisation ln N(0; 0, 0.1) the joint term has once instead of twice
    one_constraint = -np.log(0.1 * np.sqrt(2 * np.pi))
    assert joint.logl_sm() == pytest.approx(separate.logl_sm() - one_constraint, abs=1e-8)
    m = model_from_name("lmu-ltau", mzp_mev=20.0, gx=4e-4)
    t_joint = 2 * (joint.logl_sm() - joint.logl_model(m))
    t_separate = 2 * (separate.logl_sm() - separate.logl_model(m))
    # two identical data sets: a correlated normalisation does not average down, so the shared
    # flux weakens the test (Gaussian limit: 2 d^2/(v + 2 s^2) instead of 2 d^2/(v + s^2))
    assert 0.0 < t_joint < t_separate


def test_cli_dataset_spec(coh):
    from cevnsfit.cli import main

    r = CliRunner()
    out = r.invoke(main, ["predict", "--dataset-spec", str(COH), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["total"] == pytest.approx(float(coh.experiment("paper").predict().sum()))
    out = r.invoke(main, ["fit", "--dataset-spec", str(COH), "--datasets", "coh_ar_750", "--mzp", "20", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["datasets"] == ["coh_ar_750"]
    bad = r.invoke(main, ["predict", "--dataset-spec", __file__])
    assert bad.exit_code == 2 and "not valid YAML" in bad.output


def _twin_spec(tmp_path, name="coh_ar_750_worker"):
    d = yaml.safe_load(COH.read_text())
    d["name"] = name
    d["exposures"] = [f"{name}-exposure"]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def test_a_problem_spec_carries_its_runtime_data_sets(tmp_path):
    """A data set registered at run time (``--dataset-spec``) travels with the problem spec a
    worker builds: a process that has never seen the file (here: after unregistering it) gets
    the same likelihood. Built-in names carry nothing."""
    from cevnsfit.datasets import register, registry, unregister
    from cevnsfit.inference.problem import ProblemSpec

    assert ProblemSpec(("csi2017",)).units == ()
    name = register(cevnsfit.dataset_from_spec(_twin_spec(tmp_path)))
    try:
        spec = ProblemSpec((name,), "paper", {}, "lmu-ltau", ("gx",), {"mzp_mev": 20.0, "r": 1.0})
        assert [u.name for u in spec.units] == [name]
        ref = spec.build().logl(np.array([1e-4, 5e-4]))
        unregister(name)
        from cevnsfit.inference.scan import _LIKELIHOOD_CACHE

        _LIKELIHOOD_CACHE.clear()
        assert name not in registry()
        again = spec.build().logl(np.array([1e-4, 5e-4]))  # registers the carried unit first
        np.testing.assert_allclose(again, ref, rtol=1e-12)
    finally:
        unregister(name)


@pytest.mark.slow
def test_dataset_spec_reaches_the_workers_of_an_external_scheduler(tmp_path):
    """``--dataset-spec``'s registration is per process; the workers of a Dask cluster that never
    read the file compute the same exclusion map as the in-process scan."""
    distributed = pytest.importorskip("distributed")
    from cevnsfit.datasets import register, unregister

    name = register(cevnsfit.dataset_from_spec(_twin_spec(tmp_path, "coh_ar_750_remote")))
    axes = (np.linspace(1.0, 2.0, 4), np.linspace(-4.0, -2.5, 5))
    try:
        a = cevnsfit.Analysis(name, "lmu-ltau", poi=["mzp_mev", "gx"], fixed={"r": 1.0})
        ref = a.exclusion(axes=axes)
        with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None) as c:
            ex = a.exclusion(axes=axes, scheduler=c.scheduler_address, out_dir=tmp_path / "ck", chunk_size=10)
        np.testing.assert_allclose(ex["t"], ref["t"], rtol=1e-12, atol=1e-10)
    finally:
        unregister(name)
