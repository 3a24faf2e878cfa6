"""Models as objects (issue 20, item 2): Model classes and instances go wherever a name goes; a
model defined outside cevnsfit (here: in this test module, as in a notebook) runs fit and
exclusion in-process, on the embedded Dask cluster and on an external scheduler; packages add
models through the ``cevnsfit.models`` entry-point group; bad input gives clear errors."""

from __future__ import annotations

import importlib.metadata
import sys
import warnings

import numpy as np
import pytest

import cevnsfit
from cevnsfit import models
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.inference.problem import Problem, ProblemSpec, ship_model, unship_model
from cevnsfit.models import BminusL, GeneralVector, Parameter, VectorMediator, custom_vector
from cevnsfit.models.base import check_flavour, check_q2

DATA = "csi2017"
#: A small exclusion grid (internal coordinates: log10 M/MeV, log10 g).
AXES = (np.linspace(0.5, 3.0, 6), np.linspace(-5.0, -2.0, 7))


class MuonPhilic(VectorMediator):
    """A notebook-style model: a vector coupling g to nu_mu and g to u and d quarks alike."""

    PARAMETERS = (
        Parameter("mzp_mev", "MeV", 20.0, 0.0, 1e5, "log-uniform", 10**0.5, 1e3, "mass", low_open=True),
        Parameter("g", "", 0.0, -1.0, 1.0, "log-uniform", 1e-5, 1e-2, "coupling"),
    )

    def __init__(self, mzp_mev=None, g=None):
        self._init_params({"mzp_mev": mzp_mev, "g": g})
        self.mzp_mev, self.g = self.values["mzp_mev"], self.values["g"]

    def neutrino_coupling(self, flavour, q2_mev2):
        check_flavour(flavour)
        q2 = check_q2(q2_mev2)
        factor = 1.0 if flavour == "numu" else 0.0
        return self._full(factor * self._expand(self.g, q2), q2)

    def quark_couplings(self, q2_mev2):
        q2 = check_q2(q2_mev2)
        g = self._full(self._expand(self.g, q2), q2)
        return g, g.copy()


class NoParameters(VectorMediator):
    def neutrino_coupling(self, flavour, q2_mev2):
        return np.zeros(np.shape(q2_mev2))

    def quark_couplings(self, q2_mev2):
        return np.zeros(np.shape(q2_mev2)), np.zeros(np.shape(q2_mev2))


@pytest.fixture(scope="module")
def like():
    return cevnsfit.likelihood(DATA)


def _general(mzp, g):
    """The same physics from the catalogue's free-coupling vector: the independent implementation."""
    return GeneralVector(mzp_mev=mzp, g_numu=g, g_u=g, g_d=g)


def test_class_instance_and_name_agree_with_the_catalogue(like):
    m = np.array([[10.0], [100.0]])
    g = np.array([[1e-4, 3e-4, 1e-3]])
    expected = like.logl_model(_general(m, g))
    by_class = Problem(like, MuonPhilic, poi=["mzp_mev", "g"]).logl(m, g)
    assert np.allclose(by_class, expected, rtol=1e-12, atol=0)
    # an instance: its values are the defaults of the parameters that are not estimated
    inst = Problem(like, MuonPhilic(mzp_mev=100.0, g=1e-3), poi=["g"])
    assert float(inst.logl(3e-4)) == pytest.approx(float(like.logl_model(_general(100.0, 3e-4))), rel=1e-12)
    assert inst.fixed == {} and inst.model().values["mzp_mev"] == 100.0
    # models.* functions accept objects too
    assert models.parameters_of(MuonPhilic) == MuonPhilic.PARAMETERS
    assert models.model_class(MuonPhilic(mzp_mev=5.0, g=1e-4)) is MuonPhilic
    assert models.model_label(MuonPhilic) == f"{__name__}.MuonPhilic"
    assert models.model_label(models.LmuLtau) == "lmu-ltau"
    # a list combines, as '+' does for names
    combo = models.model_from_name([MuonPhilic, "neutron-radius"], mzp_mev=50.0, g=1e-4)
    assert set(combo.parameter_names()) >= {"mzp_mev", "g", "rn_cs"}


def test_custom_vector_is_b_minus_l(like):
    """custom_vector by its charges against the catalogue's B-L class (kinetic mixing 0)."""
    BL = custom_vector("my-b-l", nue=-1, numu=-1, nutau=-1, u=1 / 3, d=1 / 3, g_prior=(1e-6, 1e-2))
    m, g = np.geomspace(5.0, 500.0, 4)[:, None], np.geomspace(1e-5, 1e-3, 3)[None, :]
    ours = Problem(like, BL, poi=["mzp_mev", "g"]).logl(m, g)
    assert np.allclose(ours, like.logl_model(BminusL(mzp_mev=m, g=g)), rtol=1e-12, atol=0)
    with pytest.raises(ParameterError, match="non-zero charge"):
        custom_vector("dark", u=1.0)
    with pytest.raises(ParameterError, match="charge numu .* finite"):
        custom_vector("dark", numu=float("nan"), u=1.0)


def test_bad_model_objects_are_refused(like):
    with pytest.raises(ParameterError, match="NoParameters declares no parameters"):
        Problem(like, NoParameters, poi=["g"])
    with pytest.raises(UnknownNameError, match="unknown parameter 'mass'; this model has: mzp_mev, g"):
        Problem(like, MuonPhilic, poi=["mass"])
    with pytest.raises(UnknownNameError, match="parameter of interest is named by a string"):
        Problem(like, MuonPhilic, poi=[MuonPhilic.PARAMETERS[1]])
    with pytest.raises(ParameterError, match="one parameter point"):
        Problem(like, MuonPhilic(mzp_mev=[10.0, 20.0], g=1e-4), poi=["g"])
    with pytest.raises(UnknownNameError, match="subclass of cevnsfit.models.Model or an instance"):
        Problem(like, object, poi=["g"])
    with pytest.raises(UnknownNameError, match="unknown parameter 'eps'"):
        models.model_from_name(MuonPhilic, mzp_mev=10.0, g=1e-4, eps=0.0)


def test_model_objects_pickle_by_value():
    """A class of an importable module (this one) and a class made in a function (importable by
    nobody) both travel by value: the payload rebuilds them without importing this module."""

    def local_model():
        class Local(MuonPhilic):
            pass

        return Local

    for obj in (MuonPhilic, MuonPhilic(mzp_mev=30.0, g=1e-4), local_model()):
        payload = ship_model(obj)
        assert __name__.encode() in payload  # the module name is recorded ...
        back = unship_model(payload)
        cls = back if isinstance(back, type) else type(back)
        assert cls.PARAMETERS == MuonPhilic.PARAMETERS
    spec = ProblemSpec((DATA,), model=MuonPhilic, poi=("g",), fixed={"mzp_mev": 30.0})
    import pickle

    again = pickle.loads(pickle.dumps(spec))  # ... and the spec ships its model by value
    assert again.describe() == spec.describe()
    # by value: unpickling in a process without this module on its path still works
    import subprocess

    code = (
        "import pickle, sys; spec = pickle.loads(sys.stdin.buffer.read()); "
        "print(spec.model.__name__, spec.model.__module__ in sys.modules)"
    )
    env = {k: v for k, v in __import__("os").environ.items()}
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(spec), capture_output=True, env=env, cwd="/", check=True
    )
    assert out.stdout.decode().split() == ["MuonPhilic", "False"]


def _fit_and_map(scheduler):
    a = cevnsfit.Analysis(DATA, MuonPhilic, poi=["mzp_mev", "g"])
    one = cevnsfit.Analysis(DATA, MuonPhilic(mzp_mev=30.0, g=1e-4), poi="g")
    fit = one.fit(scheduler=scheduler)
    ex = a.exclusion(axes=AXES, scheduler=scheduler, n_workers=1, chunk_size=14)
    return fit, ex


def test_in_process_fit_and_exclusion():
    fit, ex = _fit_and_map("in-process")
    # the map's ln L is the catalogue's free-coupling vector's, point by point
    like = cevnsfit.likelihood(DATA)
    ll = like.logl_model(_general(10 ** AXES[0][:, None], 10 ** AXES[1][None, :]))
    t = 2.0 * (max(ll.max(), like.logl_sm()) - ll)
    assert np.allclose(ex["t"], t, rtol=1e-10, atol=1e-9)
    assert ex.to_dict()["model"] == f"{__name__}.MuonPhilic"
    assert fit.mle["g"] >= 0 and np.isfinite(fit.t)


@pytest.mark.slow
def test_embedded_cluster_fit_and_exclusion():
    ref_fit, ref = _fit_and_map("in-process")
    fit, ex = _fit_and_map(None)  # the checkpointed scan on an embedded LocalCluster
    assert fit.to_dict() == ref_fit.to_dict()
    assert np.allclose(ex["t"], ref["t"], rtol=1e-12, atol=1e-10)


@pytest.mark.slow
def test_external_scheduler_fit_and_exclusion_by_value():
    distributed = pytest.importorskip("distributed")
    ref_fit, ref = _fit_and_map("in-process")
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        fit, ex = _fit_and_map(cluster.scheduler_address)
        with distributed.Client(cluster.scheduler_address) as client:
            imported = client.run(lambda: __name__ in sys.modules)
    assert fit.to_dict() == ref_fit.to_dict()
    assert np.allclose(ex["t"], ref["t"], rtol=1e-12, atol=1e-10)
    # the worker never imported this module: the class travelled by value
    assert not any(imported.values())


def test_custom_vector_on_the_synchronous_scan_path(tmp_path):
    """A class made at run time by custom_vector through the checkpointed scan (pickled specs)."""
    Dark = custom_vector("dark-photon-like", nue=1, numu=1, nutau=1, u=2 / 3, d=-1 / 3)
    a = cevnsfit.Analysis(DATA, Dark, poi=["mzp_mev", "g"])
    ex = a.exclusion(axes=AXES, scheduler="synchronous", out_dir=tmp_path, chunk_size=10)
    ref = a.exclusion(axes=AXES)
    assert np.allclose(ex["t"], ref["t"], rtol=1e-12, atol=1e-10)
    assert (tmp_path / "manifest.json").exists()


def test_entry_points(monkeypatch):
    good = importlib.metadata.EntryPoint(
        name="test-muonphilic", value=f"{__name__}:MuonPhilic", group="cevnsfit.models"
    )
    broken = importlib.metadata.EntryPoint(name="broken", value="no_such_plugin.models:Nope", group="cevnsfit.models")
    empty = importlib.metadata.EntryPoint(name="empty", value=f"{__name__}:NoParameters", group="cevnsfit.models")
    with pytest.warns(RuntimeWarning) as record:
        found = models.load_entry_points([good, broken, empty])
    assert found == {"test-muonphilic": MuonPhilic}
    messages = " ".join(str(w.message) for w in record)
    assert "'no_such_plugin'" in messages and "ModuleNotFoundError" in messages
    assert "declares no parameters" in messages
    # through the registry: the name works everywhere a name does, the broken one warns once
    monkeypatch.setattr(models, "_entry_points", lambda: [good, broken])
    monkeypatch.setattr(models, "_ENTRY_POINT_MODELS", None)
    with pytest.warns(RuntimeWarning, match="no_such_plugin"):
        assert models.model_class("test-muonphilic") is MuonPhilic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "test-muonphilic" in models.registry()
        assert models.model_label(MuonPhilic) == "test-muonphilic"
        assert any(e["name"] == "test-muonphilic" for e in models.catalogue())
        like = cevnsfit.likelihood(DATA)
        p = Problem(like, "test-muonphilic", poi=["g"], fixed={"mzp_mev": 50.0})
        assert float(p.logl(1e-4)) == pytest.approx(float(like.logl_model(_general(50.0, 1e-4))), rel=1e-12)
    with pytest.raises(UnknownNameError, match="broken"):
        models.model_class("broken")
