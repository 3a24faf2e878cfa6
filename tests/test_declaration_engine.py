"""The declared engine's compiled kernel (likelihoods/_declared_kernel.py) against its numpy twin
(ProfiledBinned._fun), on a declaration using every modifier and constraint type, and the
profiles of both paths on CENNS-10 against CennsFullLikelihood."""

import numpy as np
import pytest
from scipy import special

from cevnsfit.declaration import load
from cevnsfit.errors import DeclarationError, ParameterError
from cevnsfit.likelihoods import _declared_kernel
from cevnsfit.likelihoods.declared import build_term
from test_declaration import FixedExperiment, code_cenns10_full, projection

needs_numba = pytest.mark.skipif(not _declared_kernel.HAVE_NUMBA, reason="numba not importable")


def rich_declaration(n_counts=(30, 25, 0, 12, 7, 3)):
    """Six bins: a signal with a normal normsys, an efficiency shared with a background (lognormal),
    a quadratic histosys relative to a declared nominal; a background with a gamma normsys and a
    linear histosys; a free (normfactor) background with a shape-only quadratic histosys."""
    b1 = [5.0, 4.0, 3.0, 2.0, 1.0, 0.5]
    b2 = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    sig_nom = [4.0, 6.0, 5.0, 3.0, 2.0, 1.0]
    samples = [
        {
            "name": "cevns",
            "signal": "cevns",
            "modifiers": [
                {"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.1}},
                {"name": "eff", "type": "normsys", "constraint": {"type": "lognormal", "sigma": 0.2}},
                {
                    "name": "quench",
                    "type": "histosys",
                    "interpolation": "quadratic",
                    "data": {
                        "nominal": {"counts": sig_nom},
                        "hi": {"counts": [4.5, 6.5, 5.0, 2.5, 1.5, 1.0]},
                        "lo": "mirror",
                    },
                },
            ],
        },
        {
            "name": "b1",
            "template": {"counts": b1},
            "modifiers": [
                {"name": "eff", "type": "normsys", "constraint": {"type": "lognormal", "sigma": 0.2}},
                {"name": "b1_norm", "type": "normsys", "constraint": {"type": "gamma", "sigma": 0.3}},
                {
                    "name": "b1_shape",
                    "type": "histosys",
                    "interpolation": "linear",
                    "data": {
                        "hi": {"counts": [6.0, 4.5, 3.0, 1.5, 1.0, 0.2]},
                        "lo": {"counts": [4.0, 3.8, 3.1, 2.2, 1.0, 0.6]},
                    },
                },
            ],
        },
        {
            "name": "b2",
            "template": {"counts": b2},
            "modifiers": [
                {"name": "b2_free", "type": "normfactor"},
                {
                    "name": "b2_tilt",
                    "type": "histosys",
                    "shape_only": True,
                    "interpolation": "quadratic",
                    "data": {"hi": {"counts": [0.5, 1.0, 2.0, 2.0, 3.5, 4.0]}, "lo": "mirror"},
                },
                {
                    "name": "quench",
                    "type": "histosys",
                    "interpolation": "quadratic",
                    "data": {"hi": {"counts": [1.2, 1.1, 2.0, 2.0, 2.8, 2.9]}, "lo": "mirror"},
                },
            ],
        },
    ]
    decl = projection(channels=[{"name": "c", "data": {"counts": list(n_counts)}, "samples": samples}])
    decl["kind"] = "measurement"
    decl["release"] = {"name": "none", "source": "test", "licence": "CC0-1.0"}
    decl["experiment"]["observable"]["binning"] = {"start": 20, "stop": 50, "width": 5}
    return decl, np.array(sig_nom)


def _rich_term(**options):
    decl, nom = rich_declaration()
    return build_term(load(decl, source="toy.yaml"), FixedExperiment(nom), "full", "full", backend="generic", **options)


@needs_numba
def test_kernel_equals_numpy_objective_gradient_hessian():
    """f, gradient and Hessian of the compiled kernel equal the numpy implementation to rounding,
    with shape nuisances inside and outside |alpha| <= 1 (quadratic and linear, both signs)."""
    term = _rich_term().term
    assert term.names == ("flux", "eff", "b1_norm", "b2_free", "quench", "b1_shape", "b2_tilt")
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 0.4, (40, len(term.names)))
    x[:, 4:] *= 4.0
    sig = np.outer(rng.uniform(0.2, 3.0, 40), [4, 6, 5, 3, 2, 1.0])
    f0, g0, h0 = term._fun(x, sig)
    fun, fval = term._objective(sig)
    idx = np.arange(40)
    f1, g1, h1 = fun(x, idx)
    np.testing.assert_allclose(f1, f0, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fval(x, idx), f0, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(g1, g0, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(h1, h0, rtol=1e-10, atol=1e-8)


def test_rich_declaration_derivatives_match_finite_differences():
    term = _rich_term().term
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 0.3, (3, len(term.names)))
    x[:, 4:] = [[0.4, 0.3, -0.5], [1.7, -2.1, 1.4], [-1.6, 0.6, -0.2]]  # off the kinks
    sig = np.outer([0.5, 1.0, 2.0], [4, 6, 5, 3, 2, 1.0])
    f, g, h = term._fun(x, sig)
    eps = 1e-6
    for k in range(len(term.names)):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fp, gp, _ = term._fun(x + dx, sig)
        fm, gm, _ = term._fun(x - dx, sig)
        np.testing.assert_allclose((fp - fm) / (2 * eps), g[:, k], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose((gp - gm) / (2 * eps), h[:, :, k], rtol=1e-5, atol=1e-5)


@needs_numba
def test_compiled_and_numpy_profiles_agree():
    """The profile through the kernel and through numpy: the same -2 ln L_p to 1e-8."""
    term = _rich_term().term
    pred = np.outer([0.0, 0.3, 1.0, 2.5, 6.0], [4, 6, 5, 3, 2, 1.0])
    term.use_numba = True
    a = term.logl(pred)
    term.use_numba = False
    b = term.logl(pred)
    assert np.all(np.isfinite(a)) and np.max(np.abs(2 * (a - b))) < 1e-8


def test_cenns10_generic_engine_both_paths_equal_the_code_likelihood():
    """The declared CENNS-10 full likelihood through the generic engine, compiled and numpy,
    equals CennsFullLikelihood to 1e-8 in -2 ln L over prior-box points of L_mu-L_tau."""
    from cevnsfit.datasets import get_dataset
    from cevnsfit.models import LmuLtau

    generic = get_dataset("cenns10").term("full", backend="generic")
    code = code_cenns10_full()
    rng = np.random.default_rng(21)
    m, g = 10 ** rng.uniform(0.5, 3, 12), 10 ** rng.uniform(-4, -1, 12)
    pred = code.prediction(LmuLtau(m, g, 1.0))
    ref = code.logl_prediction(pred)
    paths = [False, True] if _declared_kernel.HAVE_NUMBA else [False]
    for use_numba in paths:
        generic.term.use_numba = use_numba
        got = generic.logl_prediction(pred)
        assert np.max(np.abs(2 * (got - ref))) < 1e-8, use_numba
        assert generic.term.last_fallbacks == 0


# -- gridsys: templates on a grid of anchors ------------------------------------------------------


def grid_declaration(params, templates, n_counts, signal_grid=None, bkg_norm=None):
    """One channel of len(n_counts) bins: a signal (optionally with a gridsys relative to a
    release nominal) and a background with a gridsys on ``params``/``templates``."""
    bkg = {
        "name": "bkg",
        "template": {"counts": list(templates[len(templates) // 2]["counts"])},
        "modifiers": [{"name": "resp", "type": "gridsys", "grid": {"parameters": params, "templates": templates}}],
    }
    if bkg_norm:
        bkg["modifiers"].append(
            {"name": "bnorm", "type": "normsys", "constraint": {"type": "normal", "sigma": bkg_norm}}
        )
    sig = {"name": "cevns", "signal": "cevns"}
    if signal_grid is not None:
        sig["modifiers"] = [{"name": "resp_sig", "type": "gridsys", "grid": signal_grid}]
    decl = projection(channels=[{"name": "c", "data": {"counts": list(n_counts)}, "samples": [sig, bkg]}])
    decl["kind"] = "measurement"
    decl["release"] = {"name": "none", "source": "test", "licence": "CC0-1.0"}
    decl["experiment"]["observable"]["binning"] = {"edges": list(np.linspace(20.0, 40.0, len(n_counts) + 1))}
    return decl


def _grid_term(decl, nominal, **options):
    return build_term(load(decl, source="toy.yaml"), FixedExperiment(nominal), "full", "full", **options)


def test_gridsys_1d_reproduces_a_linear_template_and_the_anchors():
    """Anchors t = -1, 0, 1 of a background linear in t (T(t) = T0 + t D, exactly): -2 ln L at
    fixed t equals the closed form everywhere on [-1, 1], with the anchor templates at the anchors."""
    t0, d = np.array([10.0, 6.0, 3.0]), np.array([2.0, -1.0, 0.5])
    params = [{"name": "t_ly", "anchors": [-1.0, 0.0, 1.0], "constraint": {"type": "normal", "sigma": 1.0}}]
    templates = [{"counts": list(t0 + a * d)} for a in (-1.0, 0.0, 1.0)]
    n = np.array([14.0, 4.0, 5.0])
    term = _grid_term(grid_declaration(params, templates, n), [1.0, 1.0, 1.0]).term
    sig = np.array([[2.0, 1.0, 0.5]])
    for t in (-1.0, -0.6, 0.0, 0.3, 1.0):
        lam = sig[0] + t0 + t * d
        expect = -2 * (n * np.log(lam) - lam - special.gammaln(n + 1)).sum() + t * t + np.log(2 * np.pi)
        assert term.twice_nll(sig, [[t]])[0] == pytest.approx(expect, abs=1e-10)
    with pytest.raises(ParameterError, match="t_ly.*no extrapolation"):
        term.twice_nll(sig, [[1.2]])


def test_gridsys_2d_bilinear_is_exact_on_bilinear_templates_and_at_the_anchors():
    """A 3 x 2 grid of templates T(a, b) = T0 + a A + b B + a b C (bilinear, so reproduced exactly
    in every cell) on uneven anchors, nominal (0.5, 0), and an arbitrary template at one anchor."""
    a_anch, b_anch = [-1.0, 0.5, 3.0], [0.0, 2.0]
    t0, ta, tb, tc = (np.array(v) for v in ([8.0, 5.0], [1.0, -0.5], [0.5, 0.25], [0.2, -0.1]))

    def truth(a, b):
        return t0 + a * ta + b * tb + a * b * tc

    params = [
        {"name": "t_ly", "anchors": a_anch, "nominal": 0.5},
        {"name": "t_qy", "anchors": b_anch, "constraint": {"type": "normal", "sigma": 0.7}},
    ]
    templates = [{"counts": list(truth(a, b))} for a in a_anch for b in b_anch]
    n = np.array([11.0, 4.0])
    decl = grid_declaration(params, templates, n)
    decl["likelihood"]["full"]["channels"][0]["samples"][1]["template"] = {"counts": list(truth(0.5, 0.0))}
    term = _grid_term(decl, [1.0, 1.0]).term
    assert term.names == ("t_ly", "t_qy")
    sig = np.array([[1.5, 0.5]])
    for a, b in [(-1.0, 0.0), (0.5, 2.0), (3.0, 2.0), (-0.3, 1.1), (2.2, 0.4)]:
        lam = sig[0] + truth(a, b)
        expect = -2 * (n * np.log(lam) - lam - special.gammaln(n + 1)).sum() + (b / 0.7) ** 2 + np.log(2 * np.pi * 0.49)
        assert term.twice_nll(sig, [[a, b]])[0] == pytest.approx(expect, abs=1e-10)
    # a non-bilinear template at the anchor (3, 0): the value there is that template's
    templates[4] = {"counts": [20.0, 1.0]}
    term = _grid_term(grid_declaration(params, templates, n), [1.0, 1.0]).term
    nominal_bkg = np.array(templates[len(templates) // 2]["counts"])  # the background's declared template
    shift0 = truth(0.5, 0.0) - nominal_bkg  # interp(theta0) - declared template: moved by interp - interp(theta0)
    lam = sig[0] + np.array([20.0, 1.0]) - shift0
    expect = -2 * (n * np.log(lam) - lam - special.gammaln(n + 1)).sum() + np.log(2 * np.pi * 0.49)
    assert term.twice_nll(sig, [[3.0, 0.0]])[0] == pytest.approx(expect, abs=1e-10)


def _gridsys_rich_term():
    a_anch, b_anch = [-2.0, 0.0, 1.0, 2.5], [-1.0, 0.0, 1.5]
    rng = np.random.default_rng(8)  # a smooth trend in (t_ly, t_qy) plus an irregular part
    templates = [
        {"counts": list(np.array([6.0, 4.0, 3.0, 2.0]) * (1 + 0.15 * a - 0.1 * b) + rng.uniform(0.0, 0.4, 4))}
        for a in a_anch
        for b in b_anch
    ]
    params = [
        {"name": "t_ly", "anchors": a_anch, "constraint": {"type": "normal", "sigma": 1.0}},
        {"name": "t_qy", "anchors": b_anch, "constraint": {"type": "normal", "sigma": 0.8}},
    ]
    sig_nom = [3.0, 4.0, 2.0, 1.0]
    sig_grid = {
        "parameters": [params[0]],
        "templates": [{"counts": [2.5, 4.0, 2.5, 1.5]}, {"counts": sig_nom}, {"counts": [3.2, 4.1, 1.8, 0.7]}],
        "nominal": {"counts": sig_nom},
    }
    sig_grid["parameters"] = [dict(params[0], anchors=[-2.0, 0.0, 2.5])]
    # one name = one parameter: same anchors needed -> use a separate name for the signal's
    sig_grid["parameters"][0]["name"] = "t_sig"
    decl = grid_declaration(params, templates, [9.0, 12.0, 5.0, 2.0], signal_grid=sig_grid, bkg_norm=0.2)
    decl["likelihood"]["full"]["channels"][0]["samples"][0]["modifiers"].append(
        {"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.1}}
    )
    return _grid_term(decl, sig_nom).term


def test_gridsys_derivatives_match_finite_differences():
    """Gradient and Hessian of a 2D background grid, a 1D signal grid (relative to its release
    nominal) and normalisations, against central differences inside the cells."""
    term = _gridsys_rich_term()
    assert term.names == ("flux", "bnorm", "t_sig", "t_ly", "t_qy")
    x = np.array([[0.1, -0.05, -0.7, 0.4, 0.3], [-0.2, 0.1, 1.2, 1.7, -0.6], [0.05, 0.02, 0.4, -1.3, 1.1]])
    sig = np.outer([0.5, 1.0, 2.0], [3.0, 4.0, 2.0, 1.0])
    f, g, h = term._fun(x, sig)
    np.testing.assert_allclose(f, term.twice_nll(sig, x), rtol=1e-13)
    eps = 1e-6
    for k in range(len(term.names)):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fp, gp, _ = term._fun(x + dx, sig)
        fm, gm, _ = term._fun(x - dx, sig)
        np.testing.assert_allclose((fp - fm) / (2 * eps), g[:, k], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose((gp - gm) / (2 * eps), h[:, :, k], rtol=1e-5, atol=1e-5)


def test_gridsys_profile_equals_a_direct_minimisation():
    """The profile (Newton within the anchor box, MIGRAD fallback) against scipy's bounded
    minimisation of the same -2 ln L from several starts."""
    from scipy import optimize

    term = _gridsys_rich_term()
    box = list(zip(term.lower, term.upper))
    box = [(max(lo, -5.0), min(hi, 5.0)) for lo, hi in box]
    for scale in (0.3, 1.0, 2.5):
        sig = scale * np.array([[3.0, 4.0, 2.0, 1.0]])
        got = -2 * term.logl(sig)[0]
        best = np.inf
        for start in ([0, 0, 0, 0, 0], [0, 0, -1.5, 2.0, 1.0], [0, 0, 2.0, -1.5, -0.8]):
            r = optimize.minimize(
                lambda v, sig=sig: term.twice_nll(sig, v[None, :])[0],
                np.array(start, float),
                jac=lambda v, sig=sig: term._fun(v[None, :], sig)[1][0],
                bounds=box,
                method="L-BFGS-B",
                options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000},
            )
            best = min(best, r.fun)
        assert got <= best + 1e-6 and got == pytest.approx(best, abs=1e-5)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda g: g["templates"].pop(), r"2 templates for a grid of 3 anchors"),
        (lambda g: g["parameters"][0].update(anchors=[0.0, -1.0, 1.0]), "strictly increasing"),
        (lambda g: g["parameters"][0].update(nominal=4.0), "outside the anchors"),
        (lambda g: g["parameters"][0].update(constraint={"type": "gamma", "sigma": 0.1}), "allowed: normal"),
        (lambda g: g["templates"][1].update(counts=[1.0, 2.0]), "template of 2 bins for a channel of 3 bins"),
        (lambda g: g.update(nominal={"counts": [1.0, 1.0, 1.0]}), "signal sample only"),
    ],
)
def test_gridsys_declaration_errors_name_the_key(edit, match):
    params = [{"name": "t_ly", "anchors": [-1.0, 0.0, 1.0]}]
    templates = [{"counts": [1.0, 2.0, 3.0]} for _ in range(3)]
    decl = grid_declaration(params, templates, [1.0, 2.0, 3.0])
    grid = decl["likelihood"]["full"]["channels"][0]["samples"][1]["modifiers"][0]["grid"]
    edit(grid)
    with pytest.raises(DeclarationError, match=match) as exc:
        load(decl, source="toy.yaml")
    assert str(exc.value).startswith("toy.yaml: likelihood.full.channels[0].samples[1].modifiers[0]")


def test_gridsys_on_the_signal_needs_the_release_nominal():
    params = [{"name": "t_ly", "anchors": [-1.0, 1.0]}]
    decl = grid_declaration(
        params,
        [{"counts": [1.0, 2.0]}] * 2,
        [1.0, 2.0],
        signal_grid={"parameters": params, "templates": [{"counts": [1.0, 2.0]}] * 2},
    )
    with pytest.raises(DeclarationError, match=r"samples\[0\].modifiers\[0\].grid: a gridsys on the signal"):
        load(decl, source="toy.yaml")


# -- per-bin factors: staterror (normal) and shapesys (Poisson), Barlow-Beeston lite ---------------


def stat_declaration(kind, n_counts, bkgs, errors, signal_norm=0.1, shape=None):
    """A signal with a normal normsys and backgrounds ``bkgs`` each with a per-bin modifier of
    ``kind`` (absolute ``errors``), the first background also with a linear-free quadratic
    histosys ``shape`` (hi template) when given."""
    samples = [
        {
            "name": "cevns",
            "signal": "cevns",
            "modifiers": [{"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": signal_norm}}],
        }
    ]
    for i, (b, e) in enumerate(zip(bkgs, errors)):
        mods = [{"name": f"{kind}_c", "type": kind, "uncertainties": {"counts": list(e)}}]
        if shape is not None and i == 0:
            mods.append(
                {
                    "name": "tilt",
                    "type": "histosys",
                    "interpolation": "quadratic",
                    "data": {"hi": {"counts": list(shape)}, "lo": "mirror"},
                }
            )
        samples.append({"name": f"b{i}", "template": {"counts": list(b)}, "modifiers": mods})
    decl = projection(channels=[{"name": "c", "data": {"counts": list(n_counts)}, "samples": samples}])
    decl["kind"] = "measurement"
    decl["release"] = {"name": "none", "source": "test", "licence": "CC0-1.0"}
    decl["experiment"]["observable"]["binning"] = {"edges": list(np.linspace(20.0, 40.0, len(n_counts) + 1))}
    return decl


def _direct(kind, n, sig, bkgs, errors, sigma=0.1, shape=None):
    """-2 ln L minimised over (y, alpha, gamma_1..B) explicitly (scipy), every constant included."""
    from scipy import optimize

    n, sig = np.asarray(n, float), np.asarray(sig, float)
    b_tot = np.sum(bkgs, axis=0)
    s2 = np.sum(np.square(errors), axis=0)
    delta, tau = np.sqrt(s2) / b_tot, b_tot**2 / s2
    dplus = None if shape is None else np.asarray(shape) - bkgs[0]
    dminus = None if shape is None else bkgs[0] - np.clip(2 * bkgs[0] - np.asarray(shape), 0, None)

    def f(v):
        y, a, gam = v[0], v[1], v[2:]
        bk = b_tot.copy()
        if dplus is not None:
            bk = bk + 0.5 * (a + a * a) * dplus + 0.5 * (a - a * a) * dminus
        lam = y * sig + gam * bk
        out = -2 * (n * np.log(lam) - lam - special.gammaln(n + 1)).sum()
        out += (
            ((y - 1) / sigma) ** 2
            + np.log(2 * np.pi * sigma**2)
            + (a * a + np.log(2 * np.pi) if dplus is not None else 0)
        )
        if kind == "staterror":
            out += (((gam - 1) / delta) ** 2 + np.log(2 * np.pi * delta**2)).sum()
        else:
            out += -2 * (tau * np.log(gam * tau) - gam * tau - special.gammaln(tau + 1)).sum()
        return out

    x0 = np.r_[1.0, 0.0, np.ones(n.size)]
    bounds = [(0.2, 3.0), (-3, 3) if dplus is not None else (0, 0)] + [(1e-6, 5.0)] * n.size
    r = optimize.minimize(
        f, x0, bounds=bounds, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 5000}
    )
    r = optimize.minimize(
        f, r.x, method="Nelder-Mead", bounds=bounds, options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
    )
    return r.fun


@pytest.mark.parametrize("kind", ["staterror", "shapesys"])
def test_single_bin_per_bin_factor_is_the_closed_form(kind):
    """One bin, one template with a per-bin factor, no other nuisance: the profile over gamma against
    scipy's scalar minimisation of the same -2 ln L (c = the fixed signal)."""
    from scipy import optimize

    n, b, err, s = 17.0, 9.0, 2.0, 4.0
    decl = stat_declaration(kind, [n], [[b]], [[err]])
    decl["likelihood"]["full"]["channels"][0]["samples"][0].pop("modifiers")
    term = _grid_term(decl, [s]).term
    assert term.names == ()
    delta, tau = err / b, (b / err) ** 2

    def f(g):
        lam = s + g * b
        out = -2 * (n * np.log(lam) - lam - special.gammaln(n + 1))
        if kind == "staterror":
            return out + ((g - 1) / delta) ** 2 + np.log(2 * np.pi * delta**2)
        return out - 2 * (tau * np.log(g * tau) - g * tau - special.gammaln(tau + 1))

    best = optimize.minimize_scalar(f, bounds=(1e-6, 5), method="bounded", options={"xatol": 1e-12}).fun
    assert -2 * term.logl(np.array([[s]]))[0] == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("kind", ["staterror", "shapesys"])
def test_per_bin_factors_profile_equals_a_direct_minimisation(kind):
    """Four bins, two backgrounds sharing the channel's factors, a normal signal normalisation and
    a quadratic histosys: the engine (gammas in closed form, Schur-complement Hessian) against a
    direct minimisation over all 6 parameters."""
    n = [25.0, 14.0, 6.0, 3.0]
    bkgs = np.array([[8.0, 5.0, 3.0, 1.0], [4.0, 3.0, 1.5, 1.5]])
    errors = np.array([[1.5, 1.0, 0.9, 0.5], [1.0, 0.5, 0.5, 0.6]])
    shape = [9.0, 5.5, 2.5, 0.8]
    term = _grid_term(stat_declaration(kind, n, bkgs, errors, shape=shape), [10.0, 5.0, 2.0, 1.0]).term
    assert term.names == ("flux", "tilt")
    for scale in (0.5, 1.0, 1.8):
        sig = scale * np.array([10.0, 5.0, 2.0, 1.0])
        got = -2 * term.logl(sig[None])[0]
        assert term.last_fallbacks == 0
        assert got == pytest.approx(_direct(kind, n, sig, bkgs, errors, shape=shape), abs=2e-7)


@pytest.mark.parametrize("kind", ["staterror", "shapesys"])
def test_per_bin_factor_derivatives_match_finite_differences(kind):
    """The gradient (envelope) and the Schur-complement Hessian of the gamma-profiled objective
    against central differences of the objective and of the gradient."""
    n = [25.0, 14.0, 0.0, 3.0]
    bkgs = np.array([[8.0, 5.0, 3.0, 1.0], [4.0, 3.0, 1.5, 1.5]])
    errors = np.array([[1.5, 1.0, 0.9, 0.5], [1.0, 0.5, 0.5, 0.6]])
    term = _grid_term(stat_declaration(kind, n, bkgs, errors, shape=[9.0, 5.5, 2.5, 0.8]), [10.0, 5.0, 2.0, 1.0]).term
    x = np.array([[0.1, 0.3], [-0.2, -0.6], [0.05, 1.5]])
    sig = np.outer([0.5, 1.0, 2.0], [10.0, 5.0, 2.0, 1.0])
    f, g, h = term._fun(x, sig)
    eps = 1e-6
    for k in range(2):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fp, gp, _ = term._fun(x + dx, sig)
        fm, gm, _ = term._fun(x - dx, sig)
        np.testing.assert_allclose((fp - fm) / (2 * eps), g[:, k], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose((gp - gm) / (2 * eps), h[:, :, k], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda s: s[1]["modifiers"][0]["uncertainties"].update(counts=[1.0]),
            "1 uncertainties for a channel of 2 bins",
        ),
        (lambda s: s[2]["modifiers"][0].update(name="other"), "one per-bin modifier per channel"),
        (lambda s: s[0]["modifiers"].append(dict(s[1]["modifiers"][0])), "acts on templates only"),
        (lambda s: s[1]["modifiers"][0].pop("uncertainties"), "needs 'uncertainties'"),
        (lambda s: s[1]["modifiers"][0].update(constraint={"type": "normal", "sigma": 0.1}), "takes no 'constraint'"),
    ],
)
def test_per_bin_modifier_errors_name_the_key(edit, match):
    decl = stat_declaration("staterror", [3.0, 4.0], [[1.0, 2.0], [2.0, 1.0]], [[0.1, 0.2], [0.2, 0.1]])
    edit(decl["likelihood"]["full"]["channels"][0]["samples"])
    with pytest.raises(DeclarationError, match=match) as exc:
        load(decl, source="toy.yaml")
    assert str(exc.value).startswith("toy.yaml: likelihood.full.channels[0].samples[")


# -- gridsys with templates: prediction (the model's prediction at each anchor) -------------------


class AnchoredExperiment(FixedExperiment):
    """A stand-in experiment predicting at anchors: predict returns points + anchor_shape + bins,
    the fixed per-anchor predictions ``anchored`` (anchor_shape + bins) scaled by the 'model'."""

    def __init__(self, anchored, data=None):
        anchored = np.asarray(anchored, dtype=float)
        super().__init__(anchored.reshape(-1, anchored.shape[-1])[0], data)
        self.anchored = anchored
        self.anchor_shape = anchored.shape[:-1]

    def predict(self, model=None, matching=None):
        scale = 1.0 if model is None else np.asarray(model, dtype=float)
        return np.multiply.outer(scale, self.anchored)


def prediction_declaration(params, n_counts, bkg_grid=None, signal_mods=()):
    sig = {
        "name": "cevns",
        "signal": "cevns",
        "modifiers": [{"name": "resp", "type": "gridsys", "grid": {"parameters": params, "templates": "prediction"}}]
        + list(signal_mods),
    }
    bkg = {"name": "bkg", "template": {"counts": [2.0] * len(n_counts)}}
    if bkg_grid is not None:
        bkg["modifiers"] = [{"name": "bresp", "type": "gridsys", "grid": bkg_grid}]
    decl = projection(channels=[{"name": "c", "data": {"counts": list(n_counts)}, "samples": [sig, bkg]}])
    decl["kind"] = "measurement"
    decl["release"] = {"name": "none", "source": "test", "licence": "CC0-1.0"}
    decl["experiment"]["observable"]["binning"] = {"edges": list(np.linspace(20.0, 40.0, len(n_counts) + 1))}
    return decl


def test_prediction_anchors_reproduce_a_linear_response_and_the_anchors():
    """The model's prediction at anchors t = -1, 0, 2 linear in t (S0 + t S1): -2 ln L at fixed
    (flux, t) equals the closed form with lam = y scale (S0 + t S1) + b; the Asimov data and the
    reference total use the prediction at the nominal t = 0."""
    s0, s1 = np.array([6.0, 4.0, 2.0]), np.array([1.0, -0.5, 0.3])
    anchors = [-1.0, 0.0, 2.0]
    exp = AnchoredExperiment(np.array([s0 + a * s1 for a in anchors]))
    params = [{"name": "t_ly", "anchors": anchors, "constraint": {"type": "normal", "sigma": 1.0}}]
    flux = {"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.1}}
    n = np.array([9.0, 5.0, 3.0])
    term = build_term(
        load(prediction_declaration(params, n, signal_mods=[flux]), source="toy.yaml"), exp, "full", "full"
    )
    assert term.term.names == ("flux", "t_ly") and term.term.reference_total == pytest.approx(s0.sum())
    pred = exp.predict(np.array([0.7, 1.3]))
    assert pred.shape == (2, 3, 3)
    for scale, p in zip((0.7, 1.3), pred):
        for t, u in [(-1.0, 0.0), (-0.4, 0.05), (0.0, -0.1), (1.3, 0.2), (2.0, 0.0)]:
            lam = np.exp(u) * scale * (s0 + t * s1) + 2.0
            expect = -2 * (n * np.log(lam) - lam - special.gammaln(n + 1)).sum()
            expect += (np.expm1(u) / 0.1) ** 2 + np.log(2 * np.pi * 0.01) + t * t + np.log(2 * np.pi)
            assert term.term.twice_nll(p[None], [[u, t]])[0] == pytest.approx(expect, abs=1e-10)
    assert np.all(np.isfinite(term.logl_model(np.array([0.5, 1.0, 2.0]))))


def _prediction_2d_term():
    a_anch, b_anch = [-1.0, 0.0, 1.5], [-1.0, 0.5, 2.0]
    base = np.array([5.0, 3.0, 2.0, 1.0])
    pred = np.array(
        [[base * (1 + 0.2 * a + 0.1 * b + 0.05 * a * b * (1 + 0.1 * np.arange(4))) for b in b_anch] for a in a_anch]
    )
    params = [
        {"name": "t_ly", "anchors": a_anch, "constraint": {"type": "normal", "sigma": 1.0}},
        {"name": "t_qy", "anchors": b_anch, "constraint": {"type": "normal", "sigma": 1.0}},
    ]
    # the background depends on the same (t_ly, t_qy): one parameter each
    bkg_templates = [{"counts": list(2.0 * (1 + 0.1 * a - 0.15 * b) * np.ones(4))} for a in a_anch for b in b_anch]
    flux = {"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.15}}
    decl = prediction_declaration(
        params, [8.0, 6.0, 2.0, 1.0], {"parameters": params, "templates": bkg_templates}, [flux]
    )
    exp = AnchoredExperiment(pred)
    return build_term(load(decl, source="toy.yaml"), exp, "full", "full"), exp


def test_prediction_anchors_derivatives_match_finite_differences():
    term, exp = _prediction_2d_term()
    t = term.term
    assert t.names == ("flux", "t_ly", "t_qy")
    x = np.array([[0.1, 0.3, -0.4], [-0.1, -0.7, 1.2], [0.05, 1.2, 0.9]])
    sig = exp.predict(np.array([0.6, 1.0, 1.7])).reshape(3, -1)
    f, g, h = t._fun(x, sig)
    eps = 1e-6
    for k in range(3):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fp, gp, _ = t._fun(x + dx, sig)
        fm, gm, _ = t._fun(x - dx, sig)
        np.testing.assert_allclose((fp - fm) / (2 * eps), g[:, k], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose((gp - gm) / (2 * eps), h[:, :, k], rtol=1e-5, atol=1e-5)


def test_prediction_anchors_profile_equals_a_direct_minimisation():
    from scipy import optimize

    term, exp = _prediction_2d_term()
    t = term.term
    for scale in (0.5, 1.0, 2.0):
        p = exp.predict(scale).reshape(1, -1)
        got = -2 * term.logl_model(scale)
        r = optimize.minimize(
            lambda v, p=p: t.twice_nll(p, v[None])[0],
            np.zeros(3),
            jac=lambda v, p=p: t._fun(v[None], p)[1][0],
            bounds=[(-2, 2), (-1.0, 1.5), (-1.0, 2.0)],
            method="L-BFGS-B",
            options={"ftol": 1e-15, "gtol": 1e-10},
        )
        assert got == pytest.approx(r.fun, abs=1e-6) and got <= r.fun + 1e-7


@pytest.mark.parametrize(
    "where, match",
    [
        ("background", "'prediction' anchors belong to the signal sample only"),
        ("no-anchors", "needs an experiment predicting at the 3 anchors"),
        ("histosys", "carries no other histosys or gridsys"),
    ],
)
def test_prediction_anchor_errors(where, match):
    params = [{"name": "t_ly", "anchors": [-1.0, 0.0, 1.0]}]
    extra = []
    if where == "histosys":
        extra = [
            {
                "name": "h",
                "type": "histosys",
                "data": {"nominal": {"counts": [1.0, 1.0]}, "hi": {"counts": [1.2, 1.0]}, "lo": "mirror"},
            }
        ]
    decl = prediction_declaration(params, [3.0, 2.0], signal_mods=extra)
    if where == "background":
        decl["likelihood"]["full"]["channels"][0]["samples"][1]["modifiers"] = [
            {"name": "b", "type": "gridsys", "grid": {"parameters": params, "templates": "prediction"}}
        ]
    exp = FixedExperiment([1.0, 1.0]) if where == "no-anchors" else AnchoredExperiment(np.ones((3, 2)))
    with pytest.raises(DeclarationError, match=match):
        build_term(load(decl, source="toy.yaml"), exp, "full", "full")


def _quenched_projection(anchors=None):
    decl = projection()
    decl["experiment"]["observable"] = {"name": "energy", "unit": "keVee", "binning": {"edges": [5.0, 7.5, 10.0, 12.5]}}
    decl["experiment"]["response"] = [{"component": "quenching", "model": "linear", "qf": 0.25}]
    if anchors is not None:
        decl["experiment"]["anchors"] = [{"set": "quenching.qf", "values": anchors}]
    ch = decl["likelihood"]["full"]["channels"][0]
    ch["samples"][1]["template"] = {"counts": [3.0, 2.0, 1.0]}
    return decl


def test_declared_experiment_at_anchors_of_a_response_parameter():
    """experiment.anchors: the prediction at each quenching factor qf equals the unquenched
    (keVnr) experiment on the bin edges divided by qf (E_ee = qf E_nr, no smearing: exact)."""
    from cevnsfit.experiments.declared import build_experiment

    qfs = [0.2, 0.25, 0.3]
    exp = build_experiment(load(_quenched_projection(qfs), source="toy.yaml"), "full")
    assert exp.anchor_shape == (3,) and exp.shape == (3,)
    pred = exp.predict(None)
    assert pred.shape == (3, 3)
    for k, qf in enumerate(qfs):
        plain = projection()
        plain["experiment"]["observable"]["binning"] = {"edges": list(np.array([5.0, 7.5, 10.0, 12.5]) / qf)}
        plain["likelihood"]["full"]["channels"][0]["samples"][1]["template"] = {"counts": [3.0, 2.0, 1.0]}
        ref = build_experiment(load(plain, source="plain.yaml"), "full").predict(None)
        np.testing.assert_allclose(pred[k], ref, rtol=1e-10)
    # the likelihood: a signal gridsys on these anchors equals, at an anchor, the plain declaration there
    decl = _quenched_projection(qfs)
    ch = decl["likelihood"]["full"]["channels"][0]
    ch["data"] = {"counts": [40.0, 18.0, 6.0]}
    ch["samples"][0]["modifiers"].append(
        {
            "name": "qf_grid",
            "type": "gridsys",
            "grid": {"parameters": [{"name": "t_qf", "anchors": [-1.0, 0.0, 1.0]}], "templates": "prediction"},
        }
    )
    d = load(decl, source="toy.yaml")
    term = build_term(d, build_experiment(d, "full"), "full", "full")
    assert term.term.names == ("flux", "t_qf")
    for k, t in enumerate([-1.0, 0.0, 1.0]):
        single = _quenched_projection()
        single["experiment"]["response"][0]["qf"] = qfs[k]
        single["likelihood"]["full"]["channels"][0]["data"] = {"counts": [40.0, 18.0, 6.0]}
        ds = load(single, source="single.yaml")
        ref = build_term(ds, build_experiment(ds, "full"), "full", "full", backend="generic")
        x = np.array([[0.03, t]])
        assert term.term.twice_nll(term.prediction(None)[None], x)[0] == pytest.approx(
            ref.term.twice_nll(ref.prediction(None)[None], x[:, :1])[0], rel=1e-12
        )
    assert np.isfinite(term.logl_model(None))


def test_experiment_anchor_errors():
    decl = _quenched_projection([0.2, 0.3])
    decl["experiment"]["anchors"][0]["set"] = "smearing.noise"
    with pytest.raises(DeclarationError, match=r"experiment.anchors\[0\].set: no 'smearing' component"):
        load(decl, source="toy.yaml")
    decl["experiment"]["anchors"][0]["set"] = "quenching.coefficients"
    with pytest.raises(DeclarationError, match="no scalar parameter 'coefficients'; allowed: qf"):
        load(decl, source="toy.yaml")


def test_toys_of_grid_per_bin_and_prediction_terms():
    """pseudo_data draws the new nuisances from their constraints (grid parameters clipped to the
    anchors, per-bin factors) and returns a term of the same structure with Poisson counts."""
    rng = np.random.default_rng(11)
    n = [25.0, 14.0, 6.0, 3.0]
    bkgs = np.array([[8.0, 5.0, 3.0, 1.0], [4.0, 3.0, 1.5, 1.5]])
    errors = np.array([[1.5, 1.0, 0.9, 0.5], [1.0, 0.5, 0.5, 0.6]])
    stat = _grid_term(stat_declaration("shapesys", n, bkgs, errors), [10.0, 5.0, 2.0, 1.0])
    grid = _gridsys_rich_term()
    pred_term, exp = _prediction_2d_term()
    for term, expected in [
        (stat.term, stat.prediction(None)),
        (grid, np.array([3.0, 4.0, 2.0, 1.0])),
        (pred_term.term, pred_term.prediction(None)),
    ]:
        toy = term.pseudo_data(expected, rng)
        assert toy.names == term.names and np.all(toy.n == np.round(toy.n)) and not np.array_equal(toy.n, term.n)
        assert np.isfinite(toy.logl(np.asarray(expected)[None])[0])


def test_minimum_on_an_interior_anchor_is_settled_without_migrad():
    """A V-shaped grid (the template is lowest at the anchor 0.5) and data below the expectation:
    the minimum sits on the kink at t = 0.5. Newton oscillates there; the engine holds t at the
    anchor, checks the one-sided derivatives, and agrees with a minimisation cell by cell."""
    from scipy import optimize

    anchors = [-1.0, 0.5, 1.5]
    low, dv = np.array([6.0, 4.0]), np.array([3.0, 2.0])
    templates = [{"counts": list(low + dv * abs(a - 0.5))} for a in anchors]
    params = [{"name": "t", "anchors": anchors, "constraint": {"type": "normal", "sigma": 1.0}}]
    decl = grid_declaration(params, templates, [3.0, 2.0], bkg_norm=0.3)
    decl["likelihood"]["full"]["channels"][0]["samples"][1]["template"] = {"counts": list(low + dv * 0.5)}
    term = _grid_term(decl, [1.0, 1.0]).term
    sig = np.array([[1.0, 0.5]])
    lp, best = term.profile(sig)
    assert term.last_fallbacks == 0 and best[0, 1] == 0.5
    direct = min(
        optimize.minimize(
            lambda v: term.twice_nll(sig, v[None])[0],
            [0.0, 0.5 * (lo + hi)],
            bounds=[(-3, 3), (lo, hi)],
            method="L-BFGS-B",
            options={"ftol": 1e-15, "gtol": 1e-11},
        ).fun
        for lo, hi in [(-1.0, 0.5), (0.5, 1.5)]
    )
    assert -2 * lp[0] == pytest.approx(direct, abs=1e-8)


@needs_numba
def test_kernel_equals_numpy_with_grids():
    """The compiled kernel with gridsys entries (2D on a template, 1D relative on the signal, a
    normsys): f, gradient, Hessian and the profile equal the numpy path."""
    term = _gridsys_rich_term()
    rng = np.random.default_rng(12)
    x = np.column_stack(
        [rng.normal(0, 0.2, (30, 2)), rng.uniform(-2, 2.5, 30), rng.uniform(-2, 2.5, 30), rng.uniform(-1, 1.5, 30)]
    )
    x[:5, 2:] = [[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [2.5, 1.5, -2.0], [-2.0, 1.0, 2.5], [0.0, 1.5, 1.0]]  # on anchors
    names = term.names
    assert names == ("flux", "bnorm", "t_sig", "t_ly", "t_qy")
    sig = np.outer(rng.uniform(0.3, 2.0, 30), [3.0, 4.0, 2.0, 1.0])
    term.use_numba = True
    assert term._compiled()
    fun, fval = term._objective(sig)
    f1, g1, h1 = fun(x, np.arange(30))
    f0, g0, h0 = term._fun(x, sig)
    np.testing.assert_allclose(f1, f0, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fval(x, np.arange(30)), f0, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(g1, g0, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(h1, h0, rtol=1e-10, atol=1e-8)
    a = term.logl(sig)
    term.use_numba = False
    b = term.logl(sig)
    assert np.max(np.abs(2 * (a - b))) < 1e-8


#: What the fast path of the test below saw (a module-level hook, named by the declaration).
FAST_PATH_CALLS: list = []


def recording_fast_path(comp, reference_total, engine, tol, shape):
    """A declared ``fast_path`` that records its call and declines (returns None)."""
    FAST_PATH_CALLS.append((comp.n_bins, reference_total, engine, tol, shape))
    return None


def test_declared_fast_path_is_called_with_auto_and_skipped_with_generic():
    """``likelihood.<mode>.fast_path`` names the data set's compiled backend: ``backend: auto``
    hands it the compiled declaration (and falls back to the generic engine when it declines);
    ``backend: generic`` never calls it. A path that does not import is a clear error."""
    from cevnsfit.likelihoods.declared import ProfiledBinned

    decl, nom = rich_declaration()
    decl["likelihood"]["full"]["fast_path"] = "test_declaration_engine:recording_fast_path"
    FAST_PATH_CALLS.clear()
    generic = build_term(load(decl, source="toy.yaml"), FixedExperiment(nom), "full", "full", backend="generic")
    assert FAST_PATH_CALLS == []
    auto = build_term(load(decl, source="toy.yaml"), FixedExperiment(nom), "full", "full")
    assert len(FAST_PATH_CALLS) == 1 and FAST_PATH_CALLS[0][0] == nom.size
    assert FAST_PATH_CALLS[0][1] == pytest.approx(nom.sum(), rel=1e-12)
    assert isinstance(auto.term, ProfiledBinned) and isinstance(generic.term, ProfiledBinned)
    decl["likelihood"]["full"]["fast_path"] = "test_declaration_engine:no_such_backend"
    with pytest.raises(DeclarationError, match="no_such_backend"):
        build_term(load(decl, source="toy.yaml"), FixedExperiment(nom), "full", "full")
