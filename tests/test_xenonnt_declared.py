"""The declared XENONnT likelihood (``datasets/xenonnt/dataset.yaml``, generic engine) against the
hand-written :class:`~cevnsfit.datasets.xenonnt.backend.XenonLikelihood` (an independent
implementation of the same statistical model: its own interpolation, objective and multi-start
Newton), and the unit's compiled backend (``fast_path``) against the generic engine."""

import numpy as np
import pytest

from cevnsfit import published
from cevnsfit.datasets import get_dataset
from cevnsfit.datasets.xenonnt.backend import XenonLikelihood
from cevnsfit.models import model_class, model_from_name

LN2PI = float(np.log(2.0 * np.pi))
SNO = published.get("xenonnt_b8_flux_sno")
AC = {"sr0": 0.0904, "sr1": 0.0576}


def _box(name: str, n: int, seed: int):
    """n points of the model's prior box (log-uniform or uniform per parameter)."""
    rng = np.random.default_rng(seed)
    params = {}
    for p in model_class(name).PARAMETERS:
        lo, hi = p.prior_low, p.prior_high
        params[p.name] = (
            10 ** rng.uniform(np.log10(lo), np.log10(hi), n) if p.prior == "log-uniform" else rng.uniform(lo, hi, n)
        )
    return model_from_name(name, **params)


def _gauss_constants(runs, flux, sr2):
    """sum of 2 ln(sigma sqrt(2 pi)) of the declared normal constraints (the generic engine keeps
    the Gaussian normalisations, XenonLikelihood leaves them out), from the published widths."""
    sig = [published.get("xenonnt_signal_eff_sigma").value, published.get("xenonnt_er_sigma").value]
    sig += [published.get("xenonnt_neutron_sigma").value, 1.0, 1.0]  # r_n, t_ly, t_qy
    sig += [AC.get(r, 0.0576 if sr2 is None else sr2) for r in runs]
    if flux == "constrained":
        sig.append(SNO.sigma / SNO.value)
    return float(np.sum(2.0 * np.log(sig) + LN2PI))


CASES = [
    (("sr0", "sr1"), "constrained", None),
    (("sr0", "sr1", "sr2"), "constrained", None),
    (("sr0", "sr1", "sr2"), "free", None),
    (("sr2", "sr0"), "constrained", 0.10),
]


def _terms(runs, flux, sr2, backend="generic"):
    unit = get_dataset("xenonnt")
    opts = {"runs": runs, "flux": flux, "backend": backend}
    if sr2 is not None:
        opts["sr2_ac_sigma"] = sr2
    term = unit.term("full", **opts)
    ref = XenonLikelihood(term.experiment, phi_free=flux == "free", sr2_ac_sigma=0.0576 if sr2 is None else sr2)
    return term, ref


def _compare(runs, flux, sr2, preds):
    term, ref = _terms(runs, flux, sr2)
    ours = -2.0 * term.logl_prediction(preds) - _gauss_constants(runs, flux, sr2)
    theirs = ref.fit(preds)["twice_nll"]
    return ours - theirs


def test_declared_widths_are_the_published_records():
    """The constraint widths written in dataset.yaml are the records the nuisances cite."""
    section = get_dataset("xenonnt").declaration["likelihood"]["full"]
    widths = {}
    for ch in section["channels"]:
        for smp in ch["samples"]:
            for mod in smp.get("modifiers", []):
                if mod["type"] == "normsys":
                    widths[mod["name"]] = mod["constraint"]["sigma"]
    assert widths["phi"] == pytest.approx(SNO.sigma / SNO.value, rel=1e-14)
    assert widths["eps"] == published.get("xenonnt_signal_eff_sigma").value
    assert widths["a_sr0"] == published.get("xenonnt_ac_sigma_sr0").value
    assert widths["a_sr1"] == published.get("xenonnt_ac_sigma_sr1").value
    assert widths["r_er"] == published.get("xenonnt_er_sigma").value
    assert widths["r_n"] == published.get("xenonnt_neutron_sigma").value
    assert (
        section is get_dataset("xenonnt").declaration["likelihood"]["paper"]
        or section == (get_dataset("xenonnt").declaration["likelihood"]["paper"])
    )


def test_generic_engine_equals_xenon_likelihood_near_the_sm():
    term, _ = _terms(("sr0", "sr1"), "constrained", None)
    sm = term.prediction(None)
    preds = sm * np.array([0.0, 0.5, 1.0, 3.0, 30.0])[:, None]
    diff = _compare(("sr0", "sr1"), "constrained", None, preds)
    assert np.abs(diff).max() < 1e-8, diff


@pytest.mark.slow
@pytest.mark.parametrize("runs, flux, sr2", CASES)
def test_generic_engine_equals_xenon_likelihood_over_the_prior_box(runs, flux, sr2):
    """SM + 100 L_mu - L_tau + 30 scalar-mediator points of the prior box: -2 ln L to 1e-8 (the
    points reach 10^8 x the SM 8B rate, where XenonLikelihood profiles from several starts)."""
    term, _ = _terms(runs, flux, sr2)
    preds = np.concatenate(
        [
            term.prediction(None)[None],
            term.prediction(_box("lmu-ltau", 100, seed=11)),
            term.prediction(_box("scalar", 30, seed=12)),
        ]
    )
    diff = _compare(runs, flux, sr2, preds)
    assert np.abs(diff).max() < 1e-8, (np.argmax(np.abs(diff)), diff.min(), diff.max())


def test_fast_path_is_the_compiled_backend_built_from_the_declaration():
    """backend auto: XenonLikelihood built from the compiled declaration (no experiment, no records);
    backend generic: the declared engine."""
    from cevnsfit.likelihoods.declared import ProfiledBinned

    unit = get_dataset("xenonnt")
    fast = unit.term("full", runs=("sr0", "sr1"))
    assert isinstance(fast.term, XenonLikelihood) and fast.term.exp is None
    assert isinstance(unit.term("full", runs=("sr0", "sr1"), backend="generic").term, ProfiledBinned)
    assert fast.term.names == ("phi", "eps", "a_sr0", "a_sr1", "r_er", "r_n", "t_ly", "t_qy")
    assert fast.term.nuisances[1][2:] == (0.25, (0.5, 1.5))
    free = unit.term("full", runs=("sr1",), flux="free", sr2_ac_sigma=0.2)
    assert free.term.phi_sigma is None and free.term.nuisances[0][3] == (0.0, 100.0)


@pytest.mark.slow
@pytest.mark.parametrize("runs, flux, sr2", CASES)
def test_fast_path_equals_generic_engine_over_the_prior_box(runs, flux, sr2):
    """The compiled backend (backend auto) equals the generic engine to 1e-8 in -2 ln L at the SM
    and 100 L_mu - L_tau + 30 scalar-mediator points of the prior box."""
    unit = get_dataset("xenonnt")
    opts = {"runs": runs, "flux": flux} | ({} if sr2 is None else {"sr2_ac_sigma": sr2})
    fast, generic = unit.term("full", **opts), unit.term("full", backend="generic", **opts)
    assert isinstance(fast.term, XenonLikelihood)
    preds = np.concatenate(
        [
            fast.prediction(None)[None],
            fast.prediction(_box("lmu-ltau", 100, seed=31)),
            fast.prediction(_box("scalar", 30, seed=32)),
        ]
    )
    diff = fast.logl_prediction(preds) - generic.logl_prediction(preds)
    assert np.abs(2.0 * diff).max() < 1e-8, (np.argmax(np.abs(diff)), diff.min(), diff.max())


def test_total_shape_gradient_and_hessian_against_finite_differences():
    """The generic engine's exact gradient and Hessian of the declared XENONnT -2 ln L (the
    total_shape rule's curvature inside a cell included) against central differences."""
    term = get_dataset("xenonnt").term("full", runs=("sr0", "sr1"), backend="generic")
    pb = term.term
    pred = term.prediction(None)[None] * 3.0
    x = np.array([[0.02, -0.1, 0.05, 0.3, -0.2, 0.1, 0.37, -1.41]])  # u for the factors, then t
    f, g, h = pb._fun(x, pred)
    eps = 1e-5
    for i in range(x.shape[1]):
        dx = np.zeros_like(x)
        dx[0, i] = eps
        fp, gp, _ = pb._fun(x + dx, pred)
        fm, gm, _ = pb._fun(x - dx, pred)
        assert g[0, i] == pytest.approx((fp[0] - fm[0]) / (2 * eps), rel=1e-6, abs=1e-6)
        assert h[0, :, i] == pytest.approx((gp[0] - gm[0]) / (2 * eps), rel=1e-5, abs=1e-5)


def test_new_declaration_keys_are_checked():
    """bounds on a factor must hold 1; a missing fold array and a restart outside the anchors are
    refused with a DeclarationError naming the key."""
    import copy

    from cevnsfit.declaration import check
    from cevnsfit.errors import DeclarationError
    from cevnsfit.likelihoods.declared import build_term

    unit = get_dataset("xenonnt")
    decl = copy.deepcopy(unit.declaration)
    decl["likelihood"]["full"]["channels"][0]["samples"][1]["modifiers"][0]["bounds"] = [2.0, 3.0]
    with pytest.raises(DeclarationError, match="bounds"):
        check(decl, "xenonnt")
    term = unit.term("full", runs=("sr0",))
    for key, value, match in (
        ("fold", "nofold", "fold"),
        ("restarts", {"above": 5.0, "grid": [[4.0, 0.0]]}, "restarts"),
    ):
        bad = copy.deepcopy(unit.declaration)
        section = bad["likelihood"]["full"]
        section.pop("builder")
        section["channels"] = section["channels"][:1]
        section[key] = value
        with pytest.raises(DeclarationError, match=match):
            build_term(bad, term.experiment, "full", "full")
