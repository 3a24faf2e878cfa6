"""Declared data sets (docs: datasets/format): schema and semantic errors name the file, key and
allowed values; the declared engine against closed forms (single-bin profiles with normal,
gamma and log-normal constraints, Asimov t = 0), a shared nuisance against a direct joint
minimisation, and the CENNS-10 full and paper likelihoods against their code implementations."""

import copy

import numpy as np
import pytest
from scipy import optimize, special

from cevnsfit.declaration import key_path, load, shared_constraints
from cevnsfit.errors import DeclarationError
from cevnsfit.likelihoods.declared import ProfiledBinned, build_term, merge_shared


class FixedExperiment:
    """A stand-in experiment: a fixed prediction scaled by a number (the 'model')."""

    def __init__(self, nominal, data=None):
        self.nominal = np.asarray(nominal, dtype=float)
        self.shape = self.nominal.shape
        self.data = data or {}
        self.axes = ()

    def predict(self, model=None, matching=None):
        scale = 1.0 if model is None else np.asarray(model, dtype=float)
        return np.multiply.outer(scale, self.nominal)


def projection(**likelihood):
    """A small valid projection declaration (one stopped-pion argon detector, 5 bins)."""
    return {
        "format": "cevnsfit-dataset/1",
        "name": "toy",
        "title": "toy detector",
        "kind": "projection",
        "exposures": ["toy-exposure"],
        "modes": ["full"],
        "experiment": {
            "source": {"type": "stopped_pion", "pot": 1e22, "nu_per_pot": 0.08, "distance_m": 20.0},
            "targets": [{"mass_kg": 100.0, "composition": {"Ar40": 1}, "form_factor": "helm", "rn_fm": 3.4}],
            "observable": {"name": "recoil", "unit": "keVnr", "binning": {"start": 20, "stop": 45, "width": 5}},
        },
        "likelihood": {
            "full": likelihood
            or {
                "channels": [
                    {
                        "name": "recoil",
                        "data": {"asimov": "sm"},
                        "samples": [
                            {
                                "name": "cevns",
                                "signal": "cevns",
                                "modifiers": [
                                    {"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.1}}
                                ],
                            },
                            {"name": "bkg", "template": {"counts": [5.0, 4.0, 3.0, 2.0, 1.0]}},
                        ],
                    }
                ]
            }
        },
    }


def single_bin(n, constraint=None, background=0.0, name="one", shared=None, counts=True):
    mods = []
    if constraint is not None:
        mod = {"name": "norm", "type": "normsys", "constraint": constraint}
        if shared:
            mod["shared"] = shared
        mods.append(mod)
    samples = [{"name": "sig", "signal": "cevns", "modifiers": mods}]
    if background:
        samples.append({"name": "bkg", "template": {"counts": [background]}})
    decl = projection(
        channels=[{"name": "c", "data": {"counts": [n]} if counts else {"asimov": "sm"}, "samples": samples}]
    )
    decl["name"] = name
    decl["kind"] = "measurement"
    decl["release"] = {"name": "none", "source": "test", "licence": "CC0-1.0"}
    decl["experiment"]["observable"]["binning"] = {"edges": [20.0, 40.0]}
    return decl


def _error(decl, match):
    with pytest.raises(DeclarationError, match=match) as exc:
        load(decl, source="toy.yaml")
    assert str(exc.value).startswith("toy.yaml: ")
    return str(exc.value)


# -- errors, before any computation ---------------------------------------------------------------


def test_valid_projection_loads():
    decl = load(projection(), source="toy.yaml")
    assert decl["_source"] == "toy.yaml"


def test_bad_constraint_type_names_the_key_path_and_the_allowed_values():
    decl = projection()
    decl["likelihood"]["full"]["channels"][0]["samples"][0]["modifiers"][0]["constraint"]["type"] = "poisson"
    msg = _error(decl, r"constraint\.type")
    assert "likelihood.full.channels[0].samples[0].modifiers[0].constraint.type" in msg
    assert "'normal', 'lognormal', 'gamma'" in msg


def test_unknown_key_lists_the_allowed_keys():
    decl = projection()
    decl["experiment"]["targets"][0]["mas_kg"] = 1.0
    msg = _error(decl, "unknown key 'mas_kg'")
    assert "experiment.targets[0]" in msg and "mass_kg" in msg


def test_unknown_modifier_type():
    decl = projection()
    decl["likelihood"]["full"]["channels"][0]["samples"][0]["modifiers"][0]["type"] = "lumisys"
    _error(decl, r"modifiers\[0\]\.type: 'lumisys' is not allowed; allowed: 'normfactor', 'normsys'")


def test_binning_that_does_not_match_the_data_length():
    decl = projection()
    decl["likelihood"]["full"]["channels"][0]["data"] = {"counts": [1, 2, 3]}
    _error(decl, r"channels\[0\]\.data\.counts: 3 counts for a binning of 5 bins")


def test_template_of_the_wrong_shape():
    decl = projection()
    decl["likelihood"]["full"]["channels"][0]["samples"][1]["template"]["counts"] = [1.0, 2.0]
    _error(decl, r"samples\[1\]\.template\.counts: template of 2 bins for a channel of 5 bins")


def test_conflicting_constraints_of_one_name():
    decl = projection()
    bkg = decl["likelihood"]["full"]["channels"][0]["samples"][1]
    bkg["modifiers"] = [{"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.2}}]
    _error(decl, "nuisance 'flux' is declared with conflicting constraints")


def test_conflicting_shared_constraints_across_data_sets():
    a = load(single_bin(10, {"type": "normal", "sigma": 0.1}, name="a", shared="sns_flux"), source="a.yaml")
    b = load(single_bin(10, {"type": "normal", "sigma": 0.2}, name="b", shared="sns_flux"), source="b.yaml")
    assert shared_constraints([a, a]) == {"sns_flux": ("norm", "normal", 0.1)}
    with pytest.raises(DeclarationError, match=r"b\.yaml.*shared nuisance 'sns_flux' has conflicting.*a\.yaml"):
        shared_constraints([a, b])


def test_unknown_nucleus_negative_mass_missing_exposure_unknown_component():
    decl = projection()
    decl["experiment"]["targets"][0]["composition"] = {"Ar39": 1}
    _error(decl, r"composition\.Ar39: unknown nucleus 'Ar39'; known: .*Ar40")
    decl = projection()
    decl["experiment"]["targets"][0]["mass_kg"] = -5.0
    _error(decl, r"experiment\.targets\[0\]\.mass_kg: must be > 0, got -5\.0")
    decl = projection()
    del decl["experiment"]["source"]["pot"]
    _error(decl, r"experiment\.source: missing required key 'pot'")
    decl = projection()
    decl["experiment"]["response"] = [{"component": "quenchin", "model": "linear", "qf": 0.25}]
    _error(
        decl, r"response\[0\]\.component: unknown response component 'quenchin'; known: quenching, smearing, efficiency"
    )


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("format: cevnsfit-dataset/1\nname: Bad Name\n")
    with pytest.raises(DeclarationError, match=r"bad\.yaml: \(top level\): missing required key 'title'"):
        load(path)
    decl = projection()
    decl["name"] = "Bad Name"
    _error(decl, "name: 'Bad Name' does not match")


def test_key_path():
    assert key_path(["a", 0, "b"]) == "a[0].b"


# -- the engine against closed forms --------------------------------------------------------------


def _term(decl, nominal, data=None):
    d = load(decl, source="toy.yaml")
    return build_term(d, FixedExperiment(nominal, data), "full", "full")


@pytest.mark.parametrize("n, b", [(12, 0.0), (3, 2.5), (40, 10.0)])
def test_single_bin_normal_constraint_profile_is_the_quadratic_root(n, b):
    """-2 ln L = 2 (lam - n ln lam) + ((y - 1)/sigma)^2 + consts, lam = y s + b: the stationary
    y solves s y^2 + (s^2 sigma^2 + b - s) y + s sigma^2 (b - n) - b = 0."""
    sigma = 0.2
    term = _term(single_bin(n, {"type": "normal", "sigma": sigma}, background=b), [1.0])
    s = np.array([2.0, 8.0, 15.0, 30.0])
    coef = (s, s * s * sigma**2 + b - s, s * sigma**2 * (b - n) - b)
    y = (-coef[1] + np.sqrt(coef[1] ** 2 - 4 * coef[0] * coef[2])) / (2 * coef[0])
    lam = y * s + b
    expect = n * np.log(lam) - lam - special.gammaln(n + 1) - 0.5 * ((y - 1) / sigma) ** 2
    expect -= np.log(sigma * np.sqrt(2 * np.pi))
    got = term.logl_prediction(term.experiment.predict(s))
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-9)


def test_single_bin_gamma_constraint_profile():
    """Gamma(y; k, rate k) prior, lam = y s: the maximum is y = (n + k - 1)/(s + k)."""
    n, sigma = 7, 0.25
    k = 1 / sigma**2
    term = _term(single_bin(n, {"type": "gamma", "sigma": sigma}), [1.0])
    s = np.array([3.0, 7.0, 20.0])
    y = (n + k - 1) / (s + k)
    lam = y * s
    expect = n * np.log(lam) - lam - special.gammaln(n + 1)
    expect += k * np.log(k) - special.gammaln(k) + (k - 1) * np.log(y) - k * y
    np.testing.assert_allclose(term.logl_prediction(term.experiment.predict(s)), expect, atol=1e-9)


def test_single_bin_lognormal_constraint_profile():
    """ln y ~ N(0, ln(1 + sigma)), lam = e^u s: root of s e^u - n + u / l^2 = 0 (scipy brentq)."""
    n, sigma = 9, 0.3
    ls = np.log1p(sigma)
    term = _term(single_bin(n, {"type": "lognormal", "sigma": sigma}), [1.0])
    for s in (2.0, 9.0, 25.0):
        u = optimize.brentq(lambda u, s=s: s * np.exp(u) - n + u / ls**2, -10, 10, xtol=1e-14)
        lam = s * np.exp(u)
        expect = n * np.log(lam) - lam - special.gammaln(n + 1) - 0.5 * (u / ls) ** 2 - np.log(ls * np.sqrt(2 * np.pi))
        assert term.logl_prediction(term.experiment.predict(s)) == pytest.approx(expect, abs=1e-9)


def test_asimov_data_give_t_zero_at_the_truth():
    """Asimov data (the SM expectation of all samples): at the SM the profile sits at nominal
    nuisances with lam = n, so ln L_p = sum ln P(n; n) + the constraint normalisations."""
    nominal = np.array([30.0, 20.0, 12.0, 5.0, 0.5])
    term = _term(projection(), nominal)
    n = nominal + [5.0, 4.0, 3.0, 2.0, 1.0]
    saturated = (n * np.log(n) - n - special.gammaln(n + 1)).sum() - np.log(0.1 * np.sqrt(2 * np.pi))
    at_sm = term.logl_prediction(term.experiment.predict(1.0))
    assert at_sm == pytest.approx(saturated, abs=1e-9)
    off = term.logl_prediction(term.experiment.predict(np.array([0.5, 1.5])))
    assert np.all(2 * (at_sm - off) > 1.0)  # t > 0 away from the truth


def test_histosys_linear_single_bin_profile():
    """One template b with +-1 sigma variants b+ and b- (pyhf code 0), data n, no signal: the
    profile over alpha against scipy's bounded scalar minimisation of the same function."""
    n, b, hi, lo = 20, 14.0, 17.0, 12.5
    decl = single_bin(n, background=b)
    decl["likelihood"]["full"]["channels"][0]["samples"][1]["modifiers"] = [
        {"name": "shape", "type": "histosys", "data": {"hi": {"counts": [hi]}, "lo": {"counts": [lo]}}}
    ]
    term = _term(decl, [1.0])
    for s in (0.0, 2.0, 10.0):

        def f(a, s=s):
            lam = s + b + (a * (hi - b) if a > 0 else a * (b - lo))
            return -2 * (n * np.log(lam) - lam - special.gammaln(n + 1)) + a * a + np.log(2 * np.pi)

        best = optimize.minimize_scalar(f, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}).fun
        assert -2 * term.logl_prediction(term.experiment.predict(s)) == pytest.approx(best, abs=1e-7)


def test_shared_nuisance_is_profiled_once():
    """Two one-bin data sets sharing one normal(0, 0.1) flux normalisation: the joined term equals
    a direct minimisation of the joint -2 ln L; without the option each keeps its own."""
    sig = 0.1
    da = load(single_bin(15, {"type": "normal", "sigma": sig}, background=3.0, name="a", shared="flux"), source="a")
    db = load(single_bin(40, {"type": "normal", "sigma": sig}, background=5.0, name="b", shared="flux"), source="b")
    ea, eb = FixedExperiment([10.0]), FixedExperiment([30.0])
    ta = build_term(da, ea, "full", "full", share=["flux"])
    tb = build_term(db, eb, "full", "full", share=["flux"])
    (joint,) = merge_shared([ta, tb])
    assert joint.term.names == ("flux",) and joint.exposures == ("toy-exposure", "toy-exposure")

    def twice_nll(y, s):
        la, lb = y * 10.0 * s + 3.0, y * 30.0 * s + 5.0
        out = -2 * (15 * np.log(la) - la - special.gammaln(16) + 40 * np.log(lb) - lb - special.gammaln(41))
        return out + ((y - 1) / sig) ** 2 + 2 * np.log(sig * np.sqrt(2 * np.pi))

    for s in (1.0, 0.6, 1.4):
        best = optimize.minimize_scalar(
            lambda y, s=s: twice_nll(y, s), bounds=(0.2, 3), method="bounded", options={"xatol": 1e-12}
        ).fun
        assert -2 * joint.logl_model(s) == pytest.approx(best, abs=1e-8)
        separate = ta.logl_model(s) + tb.logl_model(s)
        assert separate > joint.logl_model(s) + 1e-6  # two free normalisations fit better than one
    # default: independent
    assert len(merge_shared([build_term(da, ea, "full", "full"), build_term(db, eb, "full", "full")])) == 2
    with pytest.raises(DeclarationError, match="not a sharing key"):
        build_term(da, ea, "full", "full", share=["sns"])


# -- the engine against the code implementations of CENNS-10 ------------------------------------


@pytest.fixture(scope="module")
def cenns10_full():
    from cevnsfit.datasets import get_dataset

    return get_dataset("cenns10").term("full", backend="generic"), code_cenns10_full()


def code_cenns10_full():
    """CENNS-10's full likelihood built in code, independently of its declaration: the class
    CennsFullLikelihood on the release templates at the central-value totals (SS 3152 +- 25,
    prompt BRN 497 +- 30 %, delayed BRN 33 +- 100 %, companion Table 2), the 13 % CEvNS width
    and the release's five shape variations (quadratic morph)."""
    from cevnsfit.datasets.cenns10.templates import release_morph
    from cevnsfit.experiments import get_experiment
    from cevnsfit.likelihoods.datasets import DatasetTerm
    from cevnsfit.likelihoods.full import CennsFullLikelihood

    exp = get_experiment("cenns10", "full")
    cv = {"ss": (3152.0, 25.0 / 3152.0), "prompt_brn": (497.0, 0.30), "delayed_brn": (33.0, 1.00)}
    bkg = {k: exp.data[k] * (total / exp.data[k].sum()) for k, (total, _) in cv.items()}
    term = CennsFullLikelihood(
        exp.data["data"],
        bkg,
        {k: s for k, (_, s) in cv.items()},
        release_morph(exp.data, interpolation="quadratic"),
        cevns_nominal=exp.data["cevns_template"],
        cevns_sigma=0.13,
        reference_total=float(exp.predict(None).sum()),
    )
    return DatasetTerm("cenns10", exp, term, matching="full")


def _prior_box(n, seed):
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(0.5, 3, n), 10 ** rng.uniform(-4, -1, n)


def test_cenns10_full_declared_equals_code(cenns10_full):
    """The CENNS-10 full likelihood as its unit declares it (generic engine) equals
    CennsFullLikelihood built in code (:func:`code_cenns10_full`) to 1e-8 in -2 ln L at the SM and 20 prior-box points."""
    from cevnsfit.models import LmuLtau

    declared, code = cenns10_full
    m, g = _prior_box(20, seed=18)
    model = LmuLtau(np.r_[m, 20.0], np.r_[g, 0.0], 1.0)
    pred = code.prediction(model)
    a, b = declared.logl_prediction(pred), code.logl_prediction(pred)
    assert np.max(np.abs(2 * (a - b))) < 1e-8
    assert abs(2 * (declared.logl_model(None) - code.logl_model(None))) < 1e-8
    assert declared.term.last_fallbacks == 0


def test_cenns10_backend_is_chosen_automatically_and_equals_the_generic_path(cenns10_full):
    """backend="auto" reads the same declaration into the compiled CENNS-style kernel; it equals
    the generic engine to 1e-8 in -2 ln L over prior-box points."""
    from cevnsfit.datasets import get_dataset
    from cevnsfit.likelihoods.full import CennsFullLikelihood
    from cevnsfit.models import LmuLtau

    generic, code = cenns10_full
    auto = get_dataset("cenns10").term("full")
    assert isinstance(auto.term, CennsFullLikelihood) and isinstance(generic.term, ProfiledBinned)
    m, g = _prior_box(20, seed=19)
    pred = code.prediction(LmuLtau(np.r_[m, 20.0], np.r_[g, 0.0], 1.0))
    assert np.max(np.abs(2 * (auto.logl_prediction(pred) - generic.logl_prediction(pred)))) < 1e-8


def test_cenns10_full_declared_derivatives_match_finite_differences(cenns10_full):
    declared, code = cenns10_full
    t = declared.term
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 0.3, (2, len(t.names)))
    x[:, 4:] *= 3.0  # shape nuisances both inside and outside |alpha| <= 1
    sig = np.repeat(code.prediction(None).reshape(1, -1), 2, 0)
    f, g, h = t._fun(x, sig)
    eps = 1e-6
    for k in range(len(t.names)):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fp, gp, _ = t._fun(x + dx, sig)
        fm, gm, _ = t._fun(x - dx, sig)
        np.testing.assert_allclose((fp - fm) / (2 * eps), g[:, k], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose((gp - gm) / (2 * eps), h[:, :, k], rtol=1e-4, atol=1e-4)


def test_cenns10_paper_marginalised_equals_code():
    """Paper mode: the per-bin marginalised declaration equals CennsPaperLikelihood (exact)."""
    import cevnsfit
    from cevnsfit import published
    from cevnsfit.experiments import get_experiment
    from cevnsfit.models import LmuLtau

    exp = get_experiment("cenns10", "paper")
    samples = [
        {
            "name": "cevns",
            "signal": "cevns",
            "modifiers": [{"name": "cevns_norm", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.13}}],
        }
    ]
    for k in ("ss", "prompt_brn", "delayed_brn"):
        best, err = published.pair(f"cenns10_best_fit_{k}")
        samples.append(
            {
                "name": k,
                "template": {"data": k, "total": best},
                "modifiers": [
                    {"name": f"{k}_norm", "type": "normsys", "constraint": {"type": "normal", "sigma": err / best}}
                ],
            }
        )
    decl = copy.deepcopy(single_bin(0))
    decl["modes"] = ["paper"]
    decl["experiment"] = {"builder": "cevnsfit.datasets.cenns10.experiment:build"}
    decl["likelihood"] = {
        "paper": {
            "treatment": "marginalised",
            "channels": [{"name": "c", "bins": 960, "data": {"counts": {"data": "data"}}, "samples": samples}],
        }
    }
    term = build_term(load(decl, source="cenns10-paper"), exp, "paper", "paper")
    code = cevnsfit.likelihood("cenns10", options={"cenns10": {"exact": True}}).terms[0]
    m, g = _prior_box(20, seed=7)
    pred = code.prediction(LmuLtau(np.r_[m, 20.0], np.r_[g, 0.0], 1.0))
    np.testing.assert_allclose(term.logl_prediction(pred), code.logl_prediction(pred), rtol=0, atol=1e-9)


def test_efficiency_on_two_samples_is_one_parameter():
    """A normsys named on the signal and the background is one factor y on both: the profile is
    the normal-constraint quadratic root with s -> s + b, b -> 0."""
    n, b, sigma = 25, 6.0, 0.15
    decl = single_bin(n, {"type": "normal", "sigma": sigma}, background=b)
    bkg = decl["likelihood"]["full"]["channels"][0]["samples"][1]
    bkg["modifiers"] = [{"name": "norm", "type": "normsys", "constraint": {"type": "normal", "sigma": sigma}}]
    term = _term(decl, [1.0])
    assert term.term.names == ("norm",)
    s = np.array([5.0, 19.0, 40.0]) + b
    y = (-(s * s * sigma**2 - s) + np.sqrt((s * s * sigma**2 - s) ** 2 + 4 * s * s * sigma**2 * n)) / (2 * s)
    lam = y * s
    expect = n * np.log(lam) - lam - special.gammaln(n + 1) - 0.5 * ((y - 1) / sigma) ** 2
    expect -= np.log(sigma * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(term.logl_prediction(term.experiment.predict(s - b)), expect, atol=1e-9)


def test_migrad_engine_agrees_with_newton():
    decl = single_bin(9, {"type": "gamma", "sigma": 0.3}, background=2.0)
    newton = _term(decl, [1.0])
    migrad = build_term(load(decl, source="toy.yaml"), FixedExperiment([1.0]), "full", "full", engine="migrad")
    s = np.array([1.0, 6.0, 20.0])
    np.testing.assert_allclose(
        migrad.logl_model(s), newton.logl_model(s), atol=1e-5
    )  # MIGRAD stops at EDM ~ 1e-6 in -2 ln L


def test_generated_key_reference_lists_every_key():
    """The docs' key reference (tools/mkdocs_format_hook.py) has a row for every key of the schema."""
    import importlib.util
    from pathlib import Path

    from cevnsfit.declaration import schema

    path = Path(__file__).resolve().parents[1] / "tools" / "mkdocs_format_hook.py"
    spec = importlib.util.spec_from_file_location("mkdocs_format_hook", path)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    text = hook.schema_reference_markdown()
    s = schema()
    keys = set(s["properties"])
    for d in s["$defs"].values():
        keys |= set(d.get("properties", {}))
        for branch in d.get("oneOf", []):
            keys |= set(branch.get("properties", {}))
    missing = sorted(k for k in keys if f".{k}`" not in text and f"`{k}`" not in text)
    assert not missing, missing
    page = hook.on_page_markdown("<!-- cevnsfit:declaration ccm -->", None, None, None)
    assert "name: ccm" in page
