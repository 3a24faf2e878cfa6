"""The declared engine's compiled kernel (likelihoods/_declared_kernel.py) against its numpy twin
(ProfiledBinned._fun), on a declaration using every modifier and constraint type, and the
profiles of both paths on CENNS-10 against CennsFullLikelihood."""

import numpy as np
import pytest

from cevnsfit.declaration import load
from cevnsfit.likelihoods import _declared_kernel
from cevnsfit.likelihoods.declared import build_term

from test_declaration import FixedExperiment, projection

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
    import cevnsfit
    from cevnsfit.declaration.spec import SpecUnit
    from cevnsfit.models import LmuLtau

    generic = SpecUnit(load("tests/data/cenns10_full_declared.yaml")).term("full", backend="generic")
    code = cevnsfit.likelihood("cenns10", mode="full").terms[0]
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
