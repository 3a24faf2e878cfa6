"""The public API, pinned (as pyhf's tests/test_public_api.py does): the names ``import cevnsfit``
offers, the signatures of :class:`cevnsfit.Analysis` and its methods, and the fields of the result
classes. A change here is an API change: update the test, the docs and the changelog together."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys

import pytest

import cevnsfit
from cevnsfit.inference import results

P, K, V, VK = "positional", "keyword", "*args", "**kwargs"
_KIND = {
    inspect.Parameter.POSITIONAL_OR_KEYWORD: P,
    inspect.Parameter.KEYWORD_ONLY: K,
    inspect.Parameter.VAR_POSITIONAL: V,
    inspect.Parameter.VAR_KEYWORD: VK,
}
_EMPTY = inspect.Parameter.empty


def _sig(fn) -> list[tuple]:
    return [(p.name, _KIND[p.kind], p.default) for p in inspect.signature(fn).parameters.values()]


def test_top_level_names():
    assert sorted(cevnsfit.__all__) == [
        "Analysis",
        "Likelihood",
        "LogDensity",
        "Model",
        "Parameter",
        "Problem",
        "VectorMediator",
        "__version__",
        "custom_vector",
        "errors",
        "likelihood",
        "model_from_name",
        "models",
        "results",
    ]
    for name in cevnsfit.__all__:
        assert getattr(cevnsfit, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cevnsfit.nope  # noqa: B018


def test_import_is_lazy_and_fast():
    """``import cevnsfit`` loads none of the heavy layers; the first attribute access does."""
    code = (
        "import sys, cevnsfit; heavy = [m for m in ('cevnsfit.analysis', 'cevnsfit.likelihoods', 'scipy', "
        "'cevnsfit.models') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


ANALYSIS = {
    "__init__": [
        ("self", P, _EMPTY),
        ("datasets", P, _EMPTY),
        ("model", P, _EMPTY),
        ("poi", P, None),
        ("fixed", P, None),
        ("profile", P, ()),
        ("mode", P, "paper"),
        ("options", P, None),
        ("model_options", K, None),
        ("matching", K, None),
    ],
    "fit": [("self", P, _EMPTY), ("grid", P, None), ("dof", P, None), ("scheduler", P, "in-process")],
    "interval": [("self", P, _EMPTY), ("delta", P, 1.0), ("grid", P, None)],
    "scan": [
        ("self", P, _EMPTY),
        ("n", P, None),
        ("axes", P, None),
        ("scheduler", P, "in-process"),
        ("out_dir", P, None),
        ("chunk_size", P, 2000),
        ("n_workers", P, None),
        ("progress", P, False),
    ],
    "exclusion": [
        ("self", P, _EMPTY),
        ("n", P, None),
        ("z", P, 2.0),
        ("dof", P, 2),
        ("axes", P, None),
        ("method", P, "wilks"),
        ("scheduler", P, "in-process"),
        ("out_dir", P, None),
        ("chunk_size", P, 2000),
        ("n_workers", P, None),
        ("progress", P, False),
        ("neyman_options", VK, _EMPTY),
    ],
    "posterior": [("self", P, _EMPTY), ("sampler", P, "grid"), ("options", VK, _EMPTY)],
    "toys": [
        ("self", P, _EMPTY),
        ("n_toys", P, 200),
        ("seed", P, 1),
        ("scheduler", P, "in-process"),
        ("options", VK, _EMPTY),
    ],
    "neyman": [("self", P, _EMPTY), ("cl", P, 0.6827), ("scheduler", P, "in-process"), ("options", VK, _EMPTY)],
    "predict": [("self", P, _EMPTY), ("values", VK, _EMPTY)],
    "logl": [("self", P, _EMPTY), ("values", V, _EMPTY)],
    "model": [("self", P, _EMPTY), ("values", VK, _EMPTY)],
    "log_density": [("self", P, _EMPTY)],
    "describe": [("self", P, _EMPTY)],
}


def test_analysis_methods_and_signatures():
    public = {n for n, _ in inspect.getmembers(cevnsfit.Analysis) if not n.startswith("_")}
    assert public == (set(ANALYSIS) - {"__init__"}) | {"likelihood", "parameters", "poi"}
    for name, expected in ANALYSIS.items():
        assert _sig(getattr(cevnsfit.Analysis, name)) == expected, name


RESULTS = {
    "Result": ["data"],
    "FitResult": ["data", "mle", "t", "p", "z_sigma", "logl_max", "logl_null", "dof"],
    "IntervalResult": ["data", "poi", "mle", "delta", "segments", "upper_limit"],
    "ExclusionResult": ["data", "method", "z", "axes", "t_null", "contours"],
    "PosteriorResult": ["data", "sampler", "internal", "prior", "log_evidence", "mle", "hpd_68", "equal_tailed_68"],
    "ToysResult": ["data", "t_obs", "n_toys", "p_toys", "p_toys_err", "z_toys", "p_wilks", "z_wilks"],
    "NeymanResult": ["data", "cl", "internal", "n_toys", "segments"],
    "ScanResult": ["data", "axes", "logl"],
    "PredictionResult": ["data", "values", "totals", "sm_totals"],
}


def test_result_classes():
    assert sorted(results.__all__) == sorted(RESULTS)
    for name, fields in RESULTS.items():
        cls = getattr(results, name)
        assert [f.name for f in dataclasses.fields(cls)] == fields, name
        for method in ("to_dict", "from_dict", "__repr__", "__getitem__"):
            assert hasattr(cls, method)
    plots = {n for n in RESULTS if hasattr(getattr(results, n), "plot")}
    assert plots == {"ExclusionResult", "PosteriorResult", "ScanResult"}


def test_log_density_interface():
    d = cevnsfit.LogDensity
    assert _sig(d.__call__) == [("self", P, _EMPTY), ("x", P, _EMPTY)]
    public = {n for n, _ in inspect.getmembers(d) if not n.startswith("_")}
    assert public == {"bilby", "cobaya", "inside", "log_likelihood", "log_prior", "ndim", "sample_prior", "to_values"}
