"""CENNS-10 argon cross-check (ANALYSES.md section 3): our template fit against COHERENT's.

COHERENT companion Table 2 (arXiv:2006.12659): CEvNS 159 +- 43, SS 3131 +- 23, prompt BRN
553 +- 34, delayed BRN 10 +- 11. Target: best fits within 5 %, errors within 20 %.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from cevnsfit.cli import main
from cevnsfit.datasets.cenns10.crosscheck import argon_crosscheck, build_model
from cevnsfit.datasets.cenns10.loaders import load_cenns10_projection
from cevnsfit.datasets.cenns10.templates import COMPONENTS, SHAPE_SYSTEMATICS
from cevnsfit.errors import ParameterError, UnknownNameError
from cevnsfit.experiments import get_experiment
from cevnsfit.inference.crosscheck import fit_model, poisson_logpmf

TABLE2 = {"cevns": (159.0, 43.0), "ss": (3131.0, 23.0), "prompt_brn": (553.0, 34.0), "delayed_brn": (10.0, 11.0)}


@pytest.fixture(scope="module")
def result():
    return argon_crosscheck(shape_systematics=True)


@pytest.fixture(scope="module")
def release_best_fit():
    """COHERENT's unrounded best-fit totals, read off the release's 1D projections: prompt BRN
    lives in the first 3 t_trig bins, delayed BRN only in the 4th; SS = data - SS-subtracted data."""
    t = load_cenns10_projection("time")
    data_total = get_experiment("cenns10").data["data"].sum()
    return {
        "cevns": t["cevns"].sum(),
        "ss": data_total - t["data"].sum(),
        "prompt_brn": t["brn"][:3].sum(),
        "delayed_brn": t["brn"][3],
    }


def test_fit_converges(result):
    assert result["valid"] and result["systematics"]["valid"]
    assert result["published"] == {k: list(v) for k, v in TABLE2.items()}


@pytest.mark.parametrize(
    "component",
    [
        "cevns",
        "ss",
        "prompt_brn",
        pytest.param(
            "delayed_brn",
            marks=pytest.mark.xfail(
                strict=True,
                reason=(
                    "Table 2 rounds to integers: ours 10.53 is 5.3 % above '10', but 1.5 % below the "
                    "unrounded release value 10.685 (see test_best_fit_matches_unrounded_release)"
                ),
            ),
        ),
    ],
)
def test_best_fit_matches_table2(result, component):
    assert result[component][0] == pytest.approx(TABLE2[component][0], rel=0.05)


@pytest.mark.parametrize("component", COMPONENTS)
def test_best_fit_matches_unrounded_release(result, release_best_fit, component):
    assert result[component][0] == pytest.approx(release_best_fit[component], rel=0.05)


@pytest.mark.parametrize("component", COMPONENTS)
def test_hesse_error_matches_table2(result, component):
    assert result[component][1] == pytest.approx(TABLE2[component][1], rel=0.20)


def test_minos_interval_of_cevns(result):
    low, high = result["cevns_minos"]
    assert low < 0 < high
    assert 0.5 * (high - low) == pytest.approx(TABLE2["cevns"][1], rel=0.20)


def test_cevns_is_significant(result):
    # Wilks, 1 dof: a few sigma (the paper reports > 3 sigma for Analysis A)
    assert 3.0 < result["significance_cevns"] < 5.0


def test_poisson_logpmf_matches_scipy():
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.01, 50.0, 500)
    n = rng.poisson(mu)
    np.testing.assert_allclose(poisson_logpmf(n, mu), stats.poisson.logpmf(n, mu), rtol=1e-12, atol=1e-12)
    assert poisson_logpmf(0, 0.0) == 0.0


@pytest.mark.parametrize("shape_systematics", [False, True])
def test_asimov_closure(shape_systematics):
    model = build_model(get_experiment("cenns10"), shape_systematics)
    truth = np.array([150.0, 3140.0, 520.0, 20.0])
    alphas = np.array([0.5, -0.3, 0.2, -0.6, 0.4]) if shape_systematics else ()
    counts, aux = model.asimov(truth, alphas)
    fit = fit_model(model, counts, aux=aux, minos=False, significance=False)
    assert fit["valid"]
    np.testing.assert_allclose([fit[k][0] for k in COMPONENTS], truth, rtol=1e-4)
    if shape_systematics:
        np.testing.assert_allclose([fit["pulls"][k][0] for k in SHAPE_SYSTEMATICS], alphas, atol=1e-4)


def test_morph_reproduces_variants_and_keeps_totals():
    exp = get_experiment("cenns10")
    model = build_model(exp, shape_systematics=True)
    totals = np.array([128.0, 3152.0, 497.0, 33.0])
    nominal = model.expected(totals, np.zeros(5))
    for j, (name, (comp, plus_key, _)) in enumerate(SHAPE_SYSTEMATICS.items()):
        alphas = np.zeros(5)
        alphas[j] = 1.0
        shifted = model.expected(totals, alphas)
        k = COMPONENTS.index(comp)
        plus = exp.data[plus_key].ravel()
        # +1 sigma = the release variant, renormalised to the nominal total (523.67 -> 497)
        np.testing.assert_allclose(
            shifted - nominal, totals[k] * (plus / plus.sum() - model.shapes[k]), atol=1e-9, err_msg=name
        )
        for a in (-1.0, 0.7, 1.0):
            alphas[j] = a
            assert model.expected(totals, alphas).sum() == pytest.approx(totals.sum(), rel=1e-12)


def test_computed_cevns_template_option():
    res = argon_crosscheck(cevns_template="computed")
    assert res["valid"] and res["cevns_template"] == "computed"
    assert res["cevns"][0] != pytest.approx(argon_crosscheck()["cevns"][0], rel=1e-3)


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(UnknownNameError, match="cevns_template"):
        argon_crosscheck(cevns_template="fancy")
    model = build_model(get_experiment("cenns10"))
    with pytest.raises(ParameterError, match="960 bins"):
        fit_model(model, np.ones(10))


def test_cli_json_has_the_four_components():
    out = CliRunner().invoke(main, ["crosscheck-argon", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    for k in COMPONENTS:
        assert len(res[k]) == 2 and all(isinstance(x, float) for x in res[k])


def test_cli_table_lists_coherent_values():
    out = CliRunner().invoke(main, ["crosscheck-argon", "--shape-systematics"])
    assert out.exit_code == 0, out.output
    assert "159 ± 43" in out.output and "prompt_brn_timing_width" in out.output


def test_engine_minimum_minos_and_significance_against_migrad():
    """The profile engine's minimum is at least as low as MIGRAD's (run directly, tight), its
    MINOS crossings lie where MIGRAD's profile with N_cevns fixed is 1 above the minimum, and the
    significance is MIGRAD's profile at N_cevns = 0."""
    from cevnsfit.likelihoods.profile import minimise

    exp = get_experiment("cenns10")
    model, counts = build_model(exp), exp.data["data"].ravel()
    fit = fit_model(model, counts)

    def migrad(fixed=None):
        start = [fit[k][0] for k in COMPONENTS]
        m = minimise(
            lambda p: model.twice_nll(p, counts),
            start,
            grad=lambda p: model.grad_twice_nll(p, counts),
            names=model.parameters,
            errors=[10.0, 25.0, 30.0, 10.0],
            fixed=fixed,
            tol=1e-7,
            strategy=2,
        )
        return m.fval

    assert fit["nll_min"] <= migrad() + 1e-9
    for offset in fit["cevns_minos"]:
        assert migrad({"cevns": fit["cevns"][0] + offset}) - fit["nll_min"] == pytest.approx(1.0, abs=1e-6)
    assert migrad({"cevns": 0.0}) - fit["nll_min"] == pytest.approx(fit["significance_cevns"] ** 2, abs=1e-6)


def test_fit_falls_back_to_migrad_when_newton_does_not_converge(monkeypatch):
    """A fit the Newton engine does not converge on goes to MIGRAD (same minimum to 1e-6)."""
    from cevnsfit.inference import crosscheck

    exp = get_experiment("cenns10")
    model, counts = build_model(exp), exp.data["data"].ravel()
    ref = fit_model(model, counts, minos=False, significance=False)

    def not_converged(fun, fval, x0, lower, upper, **kw):
        return x0, fval(x0, np.arange(len(x0))), np.zeros(len(x0), bool), np.zeros(len(x0), int)

    monkeypatch.setattr(crosscheck, "projected_newton", not_converged)
    got = fit_model(model, counts, minos=False, significance=False)
    assert got["valid"]
    for k in COMPONENTS:
        assert got[k][0] == pytest.approx(ref[k][0], rel=1e-5)
    assert got["nll_min"] == pytest.approx(ref["nll_min"], abs=1e-6)


def test_exact_hessian_matches_finite_differences():
    """CrosscheckModel.derivatives: the Hessian (both morph rules, alpha inside and outside
    [-1, 1]) equals central differences of its exact gradient."""
    from cevnsfit.datasets.cenns10.templates import release_morph
    from cevnsfit.inference.crosscheck import CrosscheckModel

    exp = get_experiment("cenns10")
    base = build_model(exp, shape_systematics=True)
    counts = exp.data["data"].ravel()
    x = np.array([150.0, 3140.0, 520.0, 20.0, 0.4, -0.3, 1.6, -1.4, 0.2])
    for rule in ("linear", "quadratic"):
        morph = release_morph(exp.data, interpolation=rule)
        model = CrosscheckModel(base.shapes, base.centres, base.sigmas, morph, base.components)
        _, g, h = model.derivatives(x, counts)
        for i in range(x.size):
            step = np.zeros(x.size)
            step[i] = 1e-5 * max(abs(x[i]), 1.0)
            num = (model.grad_twice_nll(x + step, counts) - model.grad_twice_nll(x - step, counts)) / (2 * step[i])
            np.testing.assert_allclose(h[:, i], num, rtol=1e-5, atol=1e-6, err_msg=f"{rule} {i}")
        fd = (
            model.twice_nll(x + 1e-6 * np.eye(x.size)[0], counts)
            - model.twice_nll(x - 1e-6 * np.eye(x.size)[0], counts)
        ) / 2e-6
        assert fd == pytest.approx(g[0], rel=1e-5)


def test_crosscheck_is_the_declared_likelihood_profiled_by_the_generic_engine():
    """The cross-check written in the declaration format (the unit's full-mode declaration with
    the release's CEvNS template at 128 events, a free CEvNS normalisation and the linear morph)
    and profiled by the generic declared engine has the cross-check's minimum: same totals and
    pulls, and -2 ln L higher by exactly the Gaussian normalisation constants the cross-check
    leaves out, 2 ln(sigma_k sqrt(2 pi)) per background width (25/3152, 0.30, 1.00) and
    ln(2 pi) per shape nuisance."""
    import copy

    from cevnsfit.datasets import get_dataset
    from cevnsfit.likelihoods.declared import build_term

    exp = get_experiment("cenns10")
    decl = copy.deepcopy(get_dataset("cenns10").declaration)
    section = decl["likelihood"]["full"]
    section["interpolation"] = "linear"
    samples = section["channels"][0]["samples"]
    shape_mods = [
        {**m, "data": {k: v for k, v in m["data"].items() if k != "nominal"}} for m in samples[0]["modifiers"][1:]
    ]
    samples[0] = {
        "name": "cevns",
        "template": {"data": "cevns_template", "total": 128.0},
        "modifiers": [{"name": "cevns_norm", "type": "normsys"}, *shape_mods],
    }
    term = build_term(decl, exp, "full", "full", engine="migrad", tol=1e-8)
    lnl, best = term.term.profile(np.zeros((1, int(np.prod(exp.shape)))))
    fit = fit_model(build_model(exp, shape_systematics=True), exp.data["data"], minos=False, significance=False)
    totals = {"cevns": 128.0, "ss": 3152.0, "prompt_brn": 497.0, "delayed_brn": 33.0}
    for j, k in enumerate(COMPONENTS):
        assert totals[k] * np.exp(best[0, j]) == pytest.approx(fit[k][0], rel=2e-6)
    for j, k in enumerate(SHAPE_SYSTEMATICS):
        assert best[0, 4 + j] == pytest.approx(fit["pulls"][k][0], abs=2e-6)
    const = 2.0 * np.log(np.array([25.0 / 3152.0, 0.30, 1.00]) * np.sqrt(2 * np.pi)).sum() + 5 * np.log(2 * np.pi)
    assert -2.0 * lnl[0] - const == pytest.approx(fit["nll_min"], abs=1e-6)
