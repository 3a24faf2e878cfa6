"""`full`-mode profile likelihoods (ANALYSES.md section 2): profiling against brute force, the
argon cross-check, the profile property, and the public API (shapes, constant, SM limit)."""

import numpy as np
import pytest
from scipy import optimize, stats

import cevnsfit
from cevnsfit.datasets import registry
from cevnsfit.datasets.cenns10.crosscheck import build_model
from cevnsfit.datasets.cenns10.templates import release_morph
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.experiments import get_experiment
from cevnsfit.inference.crosscheck import fit_model
from cevnsfit.likelihoods import paper
from cevnsfit.likelihoods.declared import ProfiledBinned
from cevnsfit.likelihoods.full import CennsFullLikelihood
from cevnsfit.likelihoods.morph import interpolation_slopes, interpolation_weights
from cevnsfit.models import LmuLtau

GX = np.array([0.0, 3e-4, 1e-3, 3e-3, 2e-2])


@pytest.fixture(scope="module")
def csi():
    return cevnsfit.likelihood("csi2017", mode="full").terms[0]


@pytest.fixture(scope="module")
def cenns():
    return cevnsfit.likelihood("cenns10", mode="full").terms[0]


def _csi_logl(term, a, c, b, pred=None):
    """ln L of the CsI full model written out with scipy (independent of the implementation)."""
    d = term.experiment.data
    pred = term.prediction(None) if pred is None else pred
    lam = (1 + a) * pred + (1 + c) * d["prompt_neutrons"] + np.asarray(b)[:, None]
    return (
        stats.poisson.logpmf(d["C"], lam).sum()
        + stats.poisson.logpmf(d["AC"].sum(1), d["C"].shape[1] * np.asarray(b)).sum()
        + stats.norm.logpdf(a, 0, 0.28)
        + stats.norm.logpdf(c, 0, 0.25)
    )


# -- CsI steady state: the declared shapefactor against brute force ---------------------------
# (the per-PE-bin root solve itself: tests/test_declaration_shapefactor.py)


def test_csi_profile_equals_joint_numeric_maximisation(csi):
    # one scipy maximisation over all 14 nuisances (a, c, b_1..b_12) at the SM point
    d = csi.experiment.data
    p0 = np.concatenate([[0.0, 0.0], d["AC"].sum(1) / d["C"].shape[1]])
    res = optimize.minimize(
        lambda p: -_csi_logl(csi, p[0], p[1], p[2:]),
        p0,
        method="L-BFGS-B",
        bounds=[(-0.99, 3)] * 2 + [(1e-6, None)] * 12,
        options={"ftol": 1e-15, "gtol": 1e-10},
    )
    ours = csi.term.logl(csi.prediction(None))
    assert ours == pytest.approx(-res.fun, abs=2e-5)
    assert ours >= -res.fun - 1e-6


def test_csi_prompt_neutrons_enter_the_full_model(csi):
    assert csi.experiment.info["smearing"] == "poisson"
    assert 3.0 < csi.experiment.data["prompt_neutrons"].sum() < 8.0
    best = csi.term.profile(csi.prediction(None))[1]
    nuis = dict(zip(csi.term.names, np.expm1(best.ravel())))  # u = ln(1 + a)
    assert set(nuis) == {"cevns_norm", "prompt_neutron_norm"}
    assert abs(nuis["cevns_norm"]) < 0.5 and abs(nuis["prompt_neutron_norm"]) < 0.5
    per_bin = cevnsfit.likelihood("csi2017", mode="full", options={"csi2017": {"steady_state": "per_bin"}})
    assert per_bin.terms[0].term.c.group_aux.size == 144 and np.isfinite(per_bin.logl_sm())


# -- analytic gradients ----------------------------------------------------------------------


def test_analytic_gradient_matches_finite_differences(cenns):
    # (CsI 2017's declared engine: tests/test_full_batched.py, test_exact_hessians_...)
    term = cenns.term
    pred = cenns.prediction(LmuLtau(20.0, 1.2e-3))
    term._set_point(pred.ravel())
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.2, len(term.names))
    f0, g = term._evaluate(x)
    h = 1e-6
    num = np.array([(term._evaluate(x + h * e)[0] - term._evaluate(x - h * e)[0]) / (2 * h) for e in np.eye(len(x))])
    np.testing.assert_allclose(g, num, rtol=2e-5, atol=2e-5)


# -- CENNS-10: the argon cross-check and the profile property ---------------------------------


def _cenns_full_variant(interpolation):
    """The unit's declared full likelihood with the CEvNS constraint removed and the morph
    interpolation set (a variant written in the declaration format, as a user would)."""
    import copy

    from cevnsfit.datasets import get_dataset
    from cevnsfit.likelihoods.declared import build_term

    decl = copy.deepcopy(get_dataset("cenns10").declaration)
    section = decl["likelihood"]["full"]
    section["interpolation"] = interpolation
    del section["channels"][0]["samples"][0]["modifiers"][0]["constraint"]  # unconstrained
    engine = "migrad" if interpolation == "linear" else "newton"  # the linear morph has a kink at 0
    return build_term(decl, get_experiment("cenns10", "full"), "full", "full", engine=engine)


def test_cenns_full_at_sm_reproduces_the_argon_crosscheck():
    """With the CEvNS constraint removed and the cross-check's linear morph, the full profile at
    g_x = 0 is the cross-check fit: same minimum, N_cevns = 128 (1 + a_1) = its best fit."""
    exp = get_experiment("cenns10", "full")
    xc = fit_model(build_model(exp, shape_systematics=True), exp.data["data"], minos=False, significance=False)
    results = {}
    for interp in ("linear", "quadratic"):
        term = _cenns_full_variant(interp)
        _, best = term.term.profile(term.prediction(LmuLtau(20.0, 0.0)))
        results[interp] = 128.0 * np.exp(np.ravel(best)[0])  # u = ln(1 + a) of the CEvNS normalisation
    assert results["linear"] == pytest.approx(xc["cevns"][0], rel=2e-3)
    # default (smooth) morph: consistent with the cross-check within its error (~43 events)
    assert abs(results["quadratic"] - xc["cevns"][0]) < 0.25 * xc["cevns"][1]
    assert 130.0 < results["quadratic"] < 190.0


def test_cenns_constraint_pulls_towards_the_prediction(cenns):
    nuis = cenns.term.nuisances(cenns.prediction(None))
    # with the 13 % constraint the data's ~+25 % pull on CEvNS is shared with the constraint
    assert 0.0 < nuis["cevns"] < 0.2
    assert abs(nuis["ss"]) < 0.02


@pytest.mark.parametrize("which", ["csi", "cenns"])
def test_profile_is_not_below_nuisances_at_zero(which, csi, cenns):
    term = csi if which == "csi" else cenns
    preds = term.prediction(LmuLtau(20.0, GX))
    prof = term.term.logl(preds)
    for p, lp in zip(preds, prof):
        if which == "csi":  # a = c = 0, steady state at its AC-only estimate
            d = term.experiment.data
            fixed = _csi_logl(term, 0.0, 0.0, d["AC"].sum(1) / d["C"].shape[1], p)
        else:
            term.term._set_point(p.ravel())
            fixed = -term.term._evaluate(np.zeros(len(term.term.names)))[0]
        assert lp >= fixed - 1e-9
        assert lp > fixed + 1e-3  # and the nuisances do move
    assert np.max(prof - prof[0]) < 1.0  # a large g_x is not preferred over the SM by much


# -- the public API --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def combined():
    return cevnsfit.likelihood("csi2017,cenns10", mode="full")


def test_broadcast_shape_and_same_constant(combined):
    m = np.array([20.0, 100.0])[:, None]
    g = np.array([1e-4, 1e-3, 3e-3])[None, :]
    grid = combined.logl(m, g)
    assert grid.shape == (2, 3) and np.all(np.isfinite(grid))
    # a point alone (other warm start) gives the same number: one additive constant
    assert combined.logl(100.0, 1e-3) == pytest.approx(grid[1, 1], abs=1e-5)
    assert combined.logl(20.0, 3e-3) == pytest.approx(grid[0, 2], abs=1e-5)
    assert combined.logl(m, g) == pytest.approx(grid, abs=1e-5)


def test_sm_point_equals_gx_zero(combined):
    assert combined.logl(20.0, 0.0) == pytest.approx(combined.logl_sm(), abs=1e-9)
    comps = combined.components()
    assert sum(comps.values()) == pytest.approx(combined.logl_sm(), abs=1e-9)
    assert combined.terms[0].matching == "full"


def test_extreme_rates_stay_finite(combined):
    # huge rates (g_x = 1, 10 at 1 MeV: ~1e8-1e10 x SM) and a near-cancellation: finite, below the SM
    ll = combined.logl(np.array([1.0, 1.0, 20.0]), np.array([1.0, 10.0, 1e-6]))
    assert np.all(np.isfinite(ll))
    assert np.all(ll[:2] < combined.logl_sm() - 10)


def test_all_full_builders_registered_and_simple_terms_reuse_paper_classes():
    full = {n for n, u in registry().items() if "full" in u.modes}
    assert {"csi2017", "cenns10", "ccm", "csi2020_totals", "cenns10_totals"} <= full
    like = cevnsfit.likelihood("ccm,csi2020_totals,cenns10_totals", mode="full")
    kinds = [type(t.term) for t in like.terms]
    assert kinds == [paper.AsimovPoisson, paper.TotalsChi2, paper.TotalsChi2]
    assert like.terms[0].logl_model(None) == pytest.approx(
        cevnsfit.likelihood("ccm").terms[0].logl_model(None), rel=1e-12
    )
    # the totals chi-square at the SM: 0.195 (CsI, 333 vs 306) + argon (128 vs 159)
    assert -2 * like.terms[1].logl_model(None) == pytest.approx(0.195, abs=1e-3)
    assert -2 * like.terms[2].logl_model(None) == pytest.approx(
        (159 - 128) ** 2 / (43**2 + 34**2 + 23**2 + 11**2 + (0.1328 * 128) ** 2), rel=1e-5
    )


def test_bad_options_and_shapes_raise():
    # CENNS-10's full mode is declared: variants (interpolation, constraints) are declarations
    for option in ("interpolation", "cevns_sigma", "shape_systematics"):
        with pytest.raises(UnknownNameError, match=option):
            cevnsfit.likelihood("cenns10", mode="full", options={"cenns10": {option: "linear"}})
    csi_term = cevnsfit.likelihood("csi2017", mode="full").terms[0].term
    with pytest.raises(ParameterError, match="does not end in 144 bins"):
        csi_term.logl(np.ones((3, 5)))
    assert isinstance(csi_term, ProfiledBinned)  # declared (the unit's dataset.yaml)
    assert CennsFullLikelihood.__doc__ and "r_i(alpha)" in CennsFullLikelihood.__doc__


# -- template morphs -------------------------------------------------------------------------


def test_quadratic_morph_hits_the_variants_and_is_smooth():
    alphas = np.array([-2.5, -1.0, -1e-9, 0.0, 0.3, 1.0, 1.0 + 1e-9, 2.0])
    for rule in ("linear", "quadratic"):
        fp, fm = interpolation_weights(alphas, rule)
        np.testing.assert_allclose(fp[[1, 3, 5]], [0.0, 0.0, 1.0])
        np.testing.assert_allclose(fm[[1, 3, 5]], [-1.0, 0.0, 0.0])
    # quadratic: slopes are the numeric derivatives, continuous at 0 and +-1 (no kink)
    h = 1e-7
    for a in (-2.0, -1.0, -0.4, 0.0, 0.6, 1.0, 3.0):
        up = interpolation_weights(np.array([a + h]), "quadratic")
        dn = interpolation_weights(np.array([a - h]), "quadratic")
        sp, sm = interpolation_slopes(np.array([a]), "quadratic")
        assert (up[0] - dn[0]) / (2 * h) == pytest.approx(sp, abs=1e-6)
        assert (up[1] - dn[1]) / (2 * h) == pytest.approx(sm, abs=1e-6)
    morph = release_morph(get_experiment("cenns10", "full").data, interpolation="quadratic")
    assert morph.shift(np.zeros(5)).sum() == pytest.approx(0.0, abs=1e-12)  # shapes keep unit sum
