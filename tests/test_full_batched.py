"""Batched Newton profiles of the `full`-mode terms (docs: performance, statistics) against the
MIGRAD path they replace: over random points of the L_mu-L_tau prior box, the SM and a few
large couplings the Newton profile ln L must be within 1e-6 of MIGRAD's or above it (a better
maximum is allowed); plus the engine itself, the exact Hessians against finite differences,
the compiled kernel against numpy, batch independence and the MIGRAD fallback."""

import numpy as np
import pytest

import cevnsfit
from cevnsfit.errors import UnknownNameError
from cevnsfit.likelihoods import _full_kernels
from cevnsfit.likelihoods.profile import projected_newton
from cevnsfit.models import LmuLtau

TERMS = ("csi2017", "cenns10", "csi2021")


def _box(n, seed):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


@pytest.fixture(scope="module", params=TERMS)
def term(request):
    return cevnsfit.likelihood(request.param, mode="full").terms[0]


@pytest.fixture(scope="module")
def comparison(term):
    """Newton and MIGRAD profiles of 100 prior-box points, the SM and four large couplings."""
    m, g = _box(100, seed=2026)
    m = np.r_[m, 20.0, 3.2, 3.2, 1000.0, 10.0]
    g = np.r_[g, 0.0, 0.1, 1.0, 0.1, 3e-3]
    pred = term.prediction(LmuLtau(m, g, 1.0))
    t = term.term
    t.engine = "newton"
    newton = t.logl(pred)
    fallbacks = t.last_fallbacks
    t.engine = "migrad"
    try:
        migrad = t.logl(pred)
    finally:
        t.engine = "newton"
    return pred, newton, migrad, fallbacks


def test_newton_profile_is_never_below_migrad(comparison):
    _, newton, migrad, fallbacks = comparison
    assert np.all(np.isfinite(newton)) and np.all(np.isfinite(migrad))
    worst = float(np.min(newton - migrad))
    assert worst >= -1e-6, f"Newton below MIGRAD by {-worst:.3g}"
    assert fallbacks <= 2  # all converge today; a few MIGRAD fallbacks would still be correct


def test_newton_agrees_with_migrad_where_migrad_converged_well(comparison, term):
    # MIGRAD stops at EDM < 2e-6 (CsI 2017, CENNS-10) or 2e-4 (CsI 2021, tol 0.1) in -2 ln L;
    # Newton converges to 1e-9: near the SM the two maxima agree to MIGRAD's tolerance
    _, newton, migrad, _ = comparison
    near = slice(0, 101)
    diff = (newton - migrad)[near]
    tol = 2e-4 if term.name == "csi2021" else 2e-5
    assert np.median(diff) <= tol
    assert diff[100] <= tol  # the SM point


def _nuisances(t, pred) -> dict:
    """Best-fit nuisances by name (a declared term: from its profile)."""
    if hasattr(t, "nuisances"):
        return t.nuisances(pred)
    best = t.profile(pred)[1].reshape(-1, len(t.names))
    return {k: best[:, j] for j, k in enumerate(t.names)}


def test_nuisances_match_migrad_at_the_sm(term):
    t = term.term
    pred = term.prediction(None)
    t.engine = "migrad"
    try:
        ref = _nuisances(t, pred)
    finally:
        t.engine = "newton"
    got = _nuisances(t, pred)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k] == pytest.approx(ref[k], abs=2e-2), k


def test_batch_and_call_independence(term):
    m, g = _box(12, seed=5)
    pred = term.prediction(LmuLtau(m, g, 1.0))
    whole = term.term.logl(pred)
    for i in (0, 7, 11):
        alone = term.term.logl(pred[i])
        assert alone == pytest.approx(whole[i], abs=1e-8)
    again = term.term.logl(pred[::-1])[::-1]
    np.testing.assert_allclose(again, whole, rtol=0, atol=1e-8)
    grid = term.term.logl(pred.reshape((3, 4) + pred.shape[1:]))
    np.testing.assert_allclose(grid.ravel(), whole, rtol=0, atol=1e-8)


def test_non_finite_prediction_gives_nan(term):
    pred = np.stack([term.prediction(None)] * 2)
    pred[1].flat[3] = np.nan
    out = term.term.logl(pred)
    assert np.isfinite(out[0]) and np.isnan(out[1])


def test_points_that_do_not_converge_go_to_migrad(term):
    """With an impossible Newton tolerance every point falls back to MIGRAD: same values as the
    MIGRAD engine (the fallback keeps the better of the two minima, so never below it)."""
    m, g = _box(4, seed=9)
    pred = term.prediction(LmuLtau(m, g, 1.0))
    t = term.term
    t.engine = "migrad"
    try:
        ref = t.logl(pred)
    finally:
        t.engine = "newton"
    t.newton_tol = -1.0
    try:
        out = t.logl(pred)
        assert t.last_fallbacks == len(pred)
    finally:
        del t.newton_tol
    assert np.all(out >= ref - 1e-12)


def _fd_check(fun, x, idx, eps=1e-6, rtol=2e-5, atol=1e-4):
    f, g, h = fun(x, idx)
    for k in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, k] = eps
        fp, gp, _ = fun(x + e, idx)
        fm, gm, _ = fun(x - e, idx)
        np.testing.assert_allclose(g[:, k], (fp - fm) / (2 * eps), rtol=rtol, atol=atol)
        np.testing.assert_allclose(h[:, :, k], (gp - gm) / (2 * eps), rtol=rtol, atol=atol)


def test_exact_hessians_match_finite_differences(term):
    m, g = _box(6, seed=3)
    pred = term.prediction(LmuLtau(m, g, 1.0)).reshape(6, -1)
    pred = np.concatenate([pred, term.prediction(None).reshape(1, -1)])
    idx = np.arange(len(pred))
    rng = np.random.default_rng(4)
    t = term.term
    if term.name == "csi2021":  # the declared engine: the morphs' alphas away from the kink at 0
        side = np.where(rng.uniform(size=(len(pred), 3)) < 0.5, -1.0, 1.0)
        x = rng.normal(0.0, 0.1, (len(pred), 7))
        x[:, 4:] = side * np.abs(rng.normal(0.3, 0.2, (len(pred), 3)))
        fun = t._objective(pred)[0]
    else:
        x = rng.normal(0.0, 0.15, (len(pred), len(t.names)))
        if term.name == "cenns10":  # include the linear tails of the quadratic morph
            x[:, 4] = np.r_[1.6, -1.7, 0.3, -0.2, 2.5, -0.5, 0.0]
            fun = t._newton_objective(pred, use_numba=False)[0]
        else:  # csi2017: the declared engine
            fun = t._objective(pred)[0]
    _fd_check(fun, x, idx)


@pytest.mark.skipif(not _full_kernels.HAVE_NUMBA, reason="numba not installed")
def test_cenns_kernel_equals_numpy():
    term = cevnsfit.likelihood("cenns10", mode="full").terms[0]
    t = term.term
    m, g = _box(20, seed=8)
    pred = term.prediction(LmuLtau(m, g, 1.0))
    flat = pred.reshape(20, -1)
    idx = np.arange(20)
    x = np.random.default_rng(1).normal(0.0, 0.7, (20, len(t.names)))
    fk, gk, hk = t._newton_objective(flat, use_numba=True)[0](x, idx)
    fn, gn, hn = t._newton_objective(flat, use_numba=False)[0](x, idx)
    np.testing.assert_allclose(fk, fn, rtol=1e-12)
    np.testing.assert_allclose(gk, gn, rtol=1e-9, atol=1e-9 * np.abs(gn).max())
    np.testing.assert_allclose(hk, hn, rtol=1e-9, atol=1e-9 * np.abs(hn).max())
    assert np.array_equal(fk, t._newton_objective(flat, use_numba=True)[1](x, idx))
    t.use_numba = False
    try:
        numpy_values = t.logl(pred)
    finally:
        t.use_numba = None
    np.testing.assert_allclose(t.logl(pred), numpy_values, rtol=0, atol=1e-8)


def test_engine_option_and_errors():
    for name in TERMS:
        like = cevnsfit.likelihood(name, mode="full", options={name: {"engine": "migrad"}})
        assert like.terms[0].term.engine == "migrad"
        with pytest.raises(UnknownNameError, match="engine"):
            cevnsfit.likelihood(name, mode="full", options={name: {"engine": "bfgs"}})


def test_steady_state_is_the_one_at_the_newton_optimum():
    term = cevnsfit.likelihood("csi2017", mode="full").terms[0]
    t = term.term
    pred = term.prediction(LmuLtau(20.0, 1e-3)).reshape(1, -1)

    def steady_state(engine):  # the shapefactor's per-PE-bin means at the profile's optimum
        t.engine = engine
        try:
            best = t.profile(pred)[1]
        finally:
            t.engine = "newton"
        return t._parts(best, pred)[1][9]["gamma_g"]

    np.testing.assert_allclose(steady_state("newton"), steady_state("migrad"), rtol=1e-3, atol=1e-6)


# -- the engine --------------------------------------------------------------------------------


def _rosenbrock(x, idx):
    a, b = x[:, 0], x[:, 1]
    f = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    g = np.stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], -1)
    h = np.empty((len(x), 2, 2))
    h[:, 0, 0] = 2 - 400 * (b - a * a) + 800 * a * a
    h[:, 0, 1] = h[:, 1, 0] = -400 * a
    h[:, 1, 1] = 200
    return f, g, h


def test_projected_newton_nonconvex_and_bounds():
    x0 = np.array([[-1.2, 1.0], [0.0, 0.0], [2.0, -1.0]])
    x, f, ok, it = projected_newton(_rosenbrock, lambda x, i: _rosenbrock(x, i)[0], x0, -5.0, 5.0, tol=1e-14)
    assert ok.all()
    np.testing.assert_allclose(x, 1.0, atol=1e-6)
    # a bound that cuts the valley: the minimum sits on b <= 0.5 (KKT: a solves the 1D problem)
    x, f, ok, _ = projected_newton(_rosenbrock, lambda x, i: _rosenbrock(x, i)[0], x0, -5.0, [5.0, 0.5], tol=1e-14)
    assert ok.all()
    np.testing.assert_allclose(x[:, 1], 0.5, atol=1e-12)
    grid = np.linspace(0.5, 0.9, 400001)
    best = grid[np.argmin((1 - grid) ** 2 + 100 * (0.5 - grid**2) ** 2)]
    np.testing.assert_allclose(x[:, 0], best, atol=1e-5)


def test_projected_newton_reports_failure():
    # unbounded below: never converges, and says so
    def lin(x, idx):
        return -x[:, 0], -np.ones_like(x), np.zeros((len(x), 1, 1))

    x, f, ok, it = projected_newton(lin, lambda x, i: -x[:, 0], np.zeros((2, 1)), -np.inf, np.inf, max_iter=5)
    assert not ok.any() and np.all(it == 5)
    # a NaN objective: no acceptable step
    x, f, ok, _ = projected_newton(
        lambda x, i: (np.full(len(x), np.nan), np.ones_like(x), np.ones((len(x), 1, 1))),
        lambda x, i: np.full(len(x), np.nan),
        np.zeros((1, 1)),
        -1.0,
        1.0,
    )
    assert not ok.any()
