"""The declared engine's ``shapefactor`` (docs: datasets/format): one free factor per group of
bins on the templates carrying it, measured by an auxiliary Poisson count A_g ~ Pois(gamma_g
tau_g) or free, profiled per group by a root solve inside the objective. Checked against scipy
(brentq for the root, direct minimisation over every parameter for the profile), finite
differences for the gradient and the group Schur-complement Hessian, and the declaration errors."""

import numpy as np
import pytest
from scipy import optimize, special

from cevnsfit.declaration import load
from cevnsfit.errors import DeclarationError
from cevnsfit.likelihoods.declared import GroupSums, build_term, group_optimum
from test_declaration import FixedExperiment, projection

N = np.array([14.0, 9.0, 7.0, 30.0, 0.0, 4.0])
BKG = np.array([1.0, 1.0, 1.0, 2.0, 1.0, 0.5])
GROUPS = [0, 1, 0, 1, 2, 2]  # interleaved (the incidence-matrix path); group 2 without aux counts
AUX = [5.0, 3.0, 4.0, 2.0, 0.0, 0.0]
SIG = np.array([6.0, 4.0, 2.0, 1.0, 0.5, 2.0])


def declaration(groups=GROUPS, aux=AUX, tau=2.0, extra=None, shapefactor_on="b"):
    mod = {"name": "ss", "type": "shapefactor"}
    if groups is not None:
        mod["groups"] = {"counts": list(groups)}
    if aux is not None:
        mod["aux"] = {"counts": list(aux)}
    if tau is not None:
        mod["tau"] = tau
    mod.update(extra or {})
    sig = {
        "name": "cevns",
        "signal": "cevns",
        "modifiers": [{"name": "flux", "type": "normsys", "constraint": {"type": "normal", "sigma": 0.2}}],
    }
    bkg = {"name": "b", "template": {"counts": list(BKG)}, "modifiers": [mod]}
    if shapefactor_on == "cevns":
        sig["modifiers"].append(mod)
        bkg["modifiers"] = []
    decl = projection(channels=[{"name": "c", "data": {"counts": list(N)}, "samples": [sig, bkg]}])
    decl["kind"] = "measurement"
    decl["release"] = {"name": "none", "source": "test", "licence": "CC0-1.0"}
    decl["experiment"]["observable"]["binning"] = {"edges": list(np.linspace(20.0, 40.0, N.size + 1))}
    return decl


def _term(decl):
    return build_term(load(decl, source="toy.yaml"), FixedExperiment(list(SIG)), "full", "full").term


def _direct(sig, tau=2.0):
    """-2 ln L minimised over (y, gamma_0, gamma_1, gamma_2) by scipy, every constant included."""
    gi = np.array(GROUPS)
    aux_g = np.array([9.0, 5.0, 0.0])
    tau_g = tau * np.array([2.0, 3.0, 1.5])

    def f(v):
        y, gam = v[0], v[1:]
        lam = y * sig + gam[gi] * BKG
        out = -2 * (special.xlogy(N, lam) - lam - special.gammaln(N + 1)).sum()
        out += ((y - 1) / 0.2) ** 2 + np.log(2 * np.pi * 0.04)
        m = aux_g > 0  # Pois(A; gamma tau); group 2 (A = 0): the free factor's -2 ln pi = 2 tau gamma
        out += -2 * (aux_g[m] * np.log(gam[m] * tau_g[m]) - gam[m] * tau_g[m] - special.gammaln(aux_g[m] + 1)).sum()
        return out + 2 * (tau_g[~m] * gam[~m]).sum()

    bounds = [(0.2, 3.0)] + [(0.0, 50.0)] * 3
    r = optimize.minimize(
        f, [1.0, 2.0, 2.0, 2.0], bounds=bounds, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-11}
    )
    r = optimize.minimize(
        f, r.x, bounds=bounds, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
    )
    return r.fun


def test_group_optimum_is_the_root_of_the_stationarity_condition():
    rng = np.random.default_rng(4)
    index = np.repeat(np.arange(5), 7)
    a = rng.uniform(0.2, 2.0, (3, index.size))
    c = rng.uniform(0.0, 5.0, (3, index.size)) * (rng.uniform(size=(3, index.size)) > 0.2)
    n = rng.poisson(a + c).astype(float)
    aux = np.array([12.0, 0.0, 3.0, 40.0, 1.0])
    tau = np.array([7.0, 7.0, 2.0, 14.0, 0.5])
    n[:, index == 1] = 0.0  # group 1: no data, no aux counts: gamma on the boundary 0
    gam_b, gam, free, *_ = group_optimum(n, a, c, index, aux, tau)
    for p in range(3):
        for g in range(5):
            sel = index == g

            def h(x, p=p, sel=sel, g=g):
                return (
                    np.sum(n[p, sel] * a[p, sel] / (x * a[p, sel] + c[p, sel])) + aux[g] / x - a[p, sel].sum() - tau[g]
                )

            if g == 1:
                assert gam[p, g] == 0.0 and not free[p, g]
                continue
            assert gam[p, g] == pytest.approx(optimize.brentq(h, 1e-9, 1e4, xtol=1e-14, rtol=1e-14), rel=1e-11)
    np.testing.assert_array_equal(gam_b, gam[:, index])


def test_group_sums_blocks_equal_the_incidence_matrix():
    x = np.random.default_rng(1).normal(size=(2, 3, 12))
    index = np.r_[-1, -1, np.repeat(np.arange(5), 2)]
    blocks = GroupSums(index, 5)
    assert blocks.block == (2, 12, 2)
    np.testing.assert_allclose(blocks.sum(x), x @ blocks.onehot)
    g = np.arange(10.0).reshape(2, 5)
    np.testing.assert_array_equal(blocks.spread(g, 1.0), np.where(index >= 0, g @ blocks.onehot.T, 1.0))


def test_shapefactor_profile_equals_a_direct_minimisation():
    term = _term(declaration())
    assert term.names == ("flux",)
    for scale in (0.3, 1.0, 2.5):
        got = -2 * term.logl((scale * SIG)[None])[0]
        assert term.last_fallbacks == 0
        assert got == pytest.approx(_direct(scale * SIG), abs=2e-7)


def test_shapefactor_derivatives_match_finite_differences():
    term = _term(declaration())
    x = np.array([[0.1], [-0.4], [0.7]])
    sig = np.outer([0.5, 1.0, 2.0], SIG)
    f, g, h = term._fun(x, sig)
    eps = 1e-6
    fp, gp, _ = term._fun(x + eps, sig)
    fm, gm, _ = term._fun(x - eps, sig)
    np.testing.assert_allclose(g[:, 0], (fp - fm) / (2 * eps), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h[:, 0, 0], (gp[:, 0] - gm[:, 0]) / (2 * eps), rtol=1e-5, atol=1e-5)


def test_shapefactor_pseudo_data_is_a_finite_term():
    term = _term(declaration())
    toy = term.pseudo_data(SIG, np.random.default_rng(3))
    assert np.all(toy.n == np.round(toy.n)) and np.isfinite(toy.logl(SIG[None])[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tau": 1.0, "aux": None}, "'tau' scales the auxiliary count"),
        ({"shapefactor_on": "cevns"}, "templates only"),
        ({"extra": {"constraint": {"type": "normal", "sigma": 0.1}}}, "takes no 'constraint'"),
        ({"groups": [0, 1]}, "2 values for a channel of 6 bins"),
        ({"extra": {"uncertainties": {"counts": [1.0] * 6}}}, "'uncertainties' belongs to staterror/shapesys"),
    ],
)
def test_shapefactor_declaration_errors(kwargs, match):
    with pytest.raises(DeclarationError, match=match):
        _term(declaration(**kwargs))


def test_group_keys_belong_to_shapefactor_and_templates_must_fill_groups():
    decl = declaration()
    decl["likelihood"]["full"]["channels"][0]["samples"][0]["modifiers"][0]["groups"] = {"counts": [0] * 6}
    with pytest.raises(DeclarationError, match="'groups' belongs to shapefactor modifiers only"):
        _term(decl)
    bkg = declaration()
    bkg["likelihood"]["full"]["channels"][0]["samples"][1]["template"] = {"counts": [1.0, 1.0, 1.0, 2.0, 0.0, 0.0]}
    with pytest.raises(DeclarationError, match="group 2 has an empty template"):
        _term(bkg)


def test_shapefactor_and_per_bin_factors_do_not_mix():
    decl = declaration()
    samples = decl["likelihood"]["full"]["channels"][0]["samples"]
    samples.append(
        {
            "name": "b2",
            "template": {"counts": [1.0] * 6},
            "modifiers": [{"name": "mc", "type": "shapesys", "uncertainties": {"counts": [0.5] * 6}}],
        }
    )
    with pytest.raises(DeclarationError, match="shapefactor or staterror/shapesys factors, not both"):
        _term(decl)
