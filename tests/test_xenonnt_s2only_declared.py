"""The declared XENONnT S2-only likelihood (the unit's builder writes the declaration from the
release's alea file; the generic engine reads it) against the hand-written
:class:`~cevnsfit.datasets.xenonnt_s2only.likelihood.S2OnlyLikelihood` (an independent
implementation of the same statistical model: its own morphing, objective and multi-start
Newton), and the unit's compiled fast path against the generic engine."""

import numpy as np
import pytest

from cevnsfit.datasets import get_dataset
from cevnsfit.datasets.xenonnt_s2only import declared
from cevnsfit.datasets.xenonnt_s2only.likelihood import S2OnlyLikelihood
from cevnsfit.errors import UnknownNameError
from cevnsfit.models import model_class, model_from_name

LN2PI = float(np.log(2.0 * np.pi))


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


def _gauss_constant(ref: S2OnlyLikelihood) -> float:
    """sum of 2 ln(sigma sqrt(2 pi)) over the constrained nuisances (the generic engine keeps the
    Gaussian normalisations, S2OnlyLikelihood leaves them out), from the alea widths it read."""
    sig = ref.sigma[np.isfinite(ref.sigma)]
    return float(np.sum(2.0 * np.log(sig) + LN2PI))


CASES = [
    (("sr0", "sr1", "sr2"), "constrained"),
    (("sr0", "sr1", "sr2"), "free"),
    (("sr2", "sr0"), "constrained"),
    (("sr1",), "free"),
]


def _terms(runs, flux, backend="generic"):
    term = get_dataset("xenonnt_s2only").term("full", runs=runs, flux=flux, backend=backend)
    ref = S2OnlyLikelihood(term.experiment, flux=flux)
    return term, ref


def _compare(runs, flux, preds, backend="generic"):
    term, ref = _terms(runs, flux, backend)
    ours = -2.0 * term.logl_prediction(preds) - _gauss_constant(ref)
    theirs = ref.fit(preds)["twice_nll"]
    return ours - theirs


def test_declaration_is_written_from_the_alea_file():
    """Every nuisance of S2OnlyLikelihood (16 with the three runs) is a parameter of the declared
    term, with the alea file's width; the declared term is the generic engine."""
    from cevnsfit.likelihoods.declared import ProfiledBinned

    term, ref = _terms(("sr0", "sr1", "sr2"), "constrained")
    assert isinstance(term.term, ProfiledBinned)
    comp = term.term.c
    assert set(comp.names) == set(ref.names) and len(ref.names) == 16
    widths = dict(zip(comp.norm_names, comp.sigma)) | dict(zip(comp.grid_names, comp.grid_sigma))
    for name, s in zip(ref.names, ref.sigma):
        assert widths[name] == s, name
    assert term.info["gaussian_constant"] == pytest.approx(_gauss_constant(ref), rel=1e-14)


def test_generic_engine_equals_s2only_likelihood_near_the_sm():
    term, _ = _terms(("sr0", "sr1", "sr2"), "constrained")
    sm = term.prediction(None)
    preds = sm * np.array([0.0, 0.3, 1.0, 2.0, 3.5, 10.0, 100.0])[:, None]
    diff = _compare(("sr0", "sr1", "sr2"), "constrained", preds)
    assert np.abs(diff).max() < 1e-8, diff


@pytest.mark.slow
@pytest.mark.parametrize("runs, flux", CASES)
def test_generic_engine_equals_s2only_likelihood_over_the_prior_box(runs, flux):
    """SM + 100 L_mu - L_tau + 30 scalar-mediator points of the prior box: -2 ln L to 1e-8."""
    term, _ = _terms(runs, flux)
    preds = np.concatenate(
        [
            term.prediction(None)[None],
            term.prediction(_box("lmu-ltau", 100, seed=21)),
            term.prediction(_box("scalar", 30, seed=22)),
        ]
    )
    diff = _compare(runs, flux, preds)
    assert np.abs(diff).max() < 1e-8, (np.argmax(np.abs(diff)), diff.min(), diff.max())


def test_bad_backend_is_refused():
    with pytest.raises(UnknownNameError, match="backend"):
        declared.build("full", backend="fast")
    with pytest.raises(UnknownNameError, match="backend"):
        get_dataset("xenonnt_s2only").term("full", backend="fast")
