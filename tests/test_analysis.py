"""cevnsfit.Analysis (issue 20, item 1): one object over the inference functions. Its results are
the functions' dicts (``to_dict``), checked against independent evaluations of ln L (interval
edges, contour points, the log density), and it refuses bad input clearly."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

import cevnsfit
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.inference.exclusion import exclusion, t_threshold
from cevnsfit.inference.fits import fit, profile_interval
from cevnsfit.inference.problem import Problem
from cevnsfit.inference.results import ExclusionResult, FitResult, IntervalResult, PosteriorResult

matplotlib.use("Agg")

DATA = "csi2017,cenns10"


@pytest.fixture(scope="module")
def one():
    return cevnsfit.Analysis(DATA, "lmu-ltau", poi="gx", fixed={"mzp_mev": 20.0})


@pytest.fixture(scope="module")
def two():
    return cevnsfit.Analysis("csi2017", "lmu-ltau", poi=["mzp_mev", "gx"])


def test_results_are_the_functions_dicts(one):
    like = cevnsfit.likelihood(DATA)
    problem = Problem(like, "lmu-ltau", poi=["gx"], fixed={"mzp_mev": 20.0})
    res = one.fit()
    assert isinstance(res, FitResult) and res.to_dict() == fit(problem)
    assert res.mle == res["mle"] and res.z_sigma == res.to_dict()["z_sigma"]
    assert json.loads(json.dumps(res.to_dict())) == res.to_dict()  # the CLI's JSON, unchanged
    iv = one.interval(delta=2.706)
    assert isinstance(iv, IntervalResult) and iv.to_dict() == profile_interval(problem, delta=2.706)
    text = repr(res)
    assert text.startswith("FitResult(lmu-ltau | csi2017+cenns10 [paper]: mle={gx: ") and "sigma" in text
    assert "t <= 2.706" in repr(iv)
    # a Likelihood object works as the datasets too
    same = cevnsfit.Analysis(like, "lmu-ltau", poi="gx", fixed={"mzp_mev": 20.0})
    assert same.fit().to_dict() == res.to_dict()


def test_interval_edges_are_where_t_equals_delta(one):
    """Independent of the interval's grid interpolation: t at each edge from ln L directly."""
    iv = one.interval(delta=2.706)
    ll_max = float(one.fit().logl_max)
    for seg in iv.segments:
        for key in ("low", "high"):
            if not seg[f"{key}_at_grid_edge"]:
                t = 2.0 * (ll_max - float(one.logl(seg[key])))
                assert t == pytest.approx(2.706, abs=2e-3)


def test_exclusion_contour_lies_on_the_wilks_threshold(two):
    n = (31, 37)
    ex = two.exclusion(n=n)
    assert isinstance(ex, ExclusionResult)
    assert ex.to_dict() == exclusion(two.problem, n)
    thr = t_threshold(2.0, 2)
    ll_top = max(float(np.max(two.scan(n=n).logl)), float(two.problem.logl_null()))
    # the lower boundary of the excluded region (the line at the smallest couplings) is smooth: t
    # from ln L directly lies on the threshold up to the contour's linear interpolation. (Lines
    # along the narrow valley where a large g_x flips the sign of Q_V need a finer grid.)
    lower = min((np.asarray(line) for line in ex.contours), key=lambda p: float(np.mean(p[:, 1])))
    t = 2.0 * (ll_top - two.logl(10 ** lower[:, 0], 10 ** lower[:, 1]))
    assert lower[:, 0].min() == pytest.approx(0.5) and lower[:, 0].max() == pytest.approx(3.0)
    assert np.median(np.abs(t - thr)) < 0.02 and np.max(np.abs(t - thr)) < 0.1
    ax = ex.plot()
    assert len(ax.lines) == len(ex.contours)


def test_scan_on_the_synchronous_path_equals_in_process(two, tmp_path):
    a = two.scan(n=(5, 6))
    b = two.scan(n=(5, 6), scheduler="synchronous", out_dir=tmp_path, chunk_size=7)
    assert np.array_equal(a.logl, b.logl) and (tmp_path / "manifest.json").exists()
    assert a.plot().get_xlabel() == "log10_mzp_mev"


def test_log_density_matches_the_grid_posterior(one):
    post = one.posterior(n_grid=201)
    assert isinstance(post, PosteriorResult) and post.hpd_68[0] < post.mle["gx"] < post.hpd_68[1]
    x = np.array(post["grid"])
    d = one.log_density()
    lp = d(x[:, None])
    dens = np.exp(lp - lp.max())
    dens /= np.trapezoid(dens, x)
    assert np.allclose(dens, post["density"], rtol=1e-9, atol=1e-12)
    assert post.plot().get_xlabel() == "log10_gx"


def test_predict(one):
    pred = one.predict(gx=5e-4)
    model = cevnsfit.model_from_name("lmu-ltau", mzp_mev=20.0, gx=5e-4)
    for dt in one.likelihood.terms:
        assert pred.totals[dt.name] == pytest.approx(float(np.sum(dt.expected(model))), rel=1e-12)
        assert pred.sm_totals[dt.name] == pytest.approx(float(np.sum(dt.expected(None))), rel=1e-12)
    # the SM point (g_x at its declared default, 0) predicts the SM
    sm = one.predict()
    assert sm.totals == pytest.approx(sm.sm_totals, rel=1e-12)


def test_model_objects_and_default_poi():
    a = cevnsfit.Analysis("csi2017", cevnsfit.models.UniversalVector, fixed={"mzp_mev": 50.0})
    assert a.poi == ("g",) and a.describe()["model"] == "universal"
    b = cevnsfit.Analysis("csi2017", "universal", poi="g", fixed={"mzp_mev": 50.0})
    assert a.fit().to_dict() == b.fit().to_dict()
    assert "Analysis(csi2017 [paper], universal, poi=['g'], fixed={'mzp_mev': 50.0})" == repr(a)


def test_bad_input(one):
    with pytest.raises(ParameterError, match="give poi=: the model has 3 free parameters"):
        cevnsfit.Analysis("csi2017", "lmu-ltau")
    with pytest.raises(UnknownNameError, match="unknown parameter 'mass'"):
        cevnsfit.Analysis("csi2017", "lmu-ltau", poi="mass")
    with pytest.raises(UnknownNameError, match="unknown model 'nope'"):
        cevnsfit.Analysis("csi2017", "nope", poi="g")
    with pytest.raises(ParameterError, match="method must be 'wilks' or 'neyman'"):
        cevnsfit.Analysis("csi2017", "lmu-ltau", poi=["mzp_mev", "gx"]).exclusion(method="cls")
    with pytest.raises(ParameterError, match="two parameters of interest"):
        one.exclusion()
    like = cevnsfit.likelihood("csi2017")
    with pytest.raises(ParameterError, match="built from data-set names"):
        cevnsfit.Analysis(like, "lmu-ltau", poi="gx").toys(n_toys=2, scheduler="tcp://127.0.0.1:1")
