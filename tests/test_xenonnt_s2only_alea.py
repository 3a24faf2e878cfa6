"""Cross-check of the S2-only likelihood against the collaboration's own tool: alea
(``BlueiceExtendedModel``, alea-inference 0.3.5 with blueice 1.2.1; ``pip install cevnsfit[alea]``)
evaluates the release's statistical model from its yaml, templates and data, and -2 ln L
differences between parameter points are compared with ours.

With the release's CEvNS templates in our likelihood (``fit_folded``/``twice_nll_folded`` take
folded CEvNS anchors) the two are the same function: the differences agree to 1e-6 relative (in
practice ~1e-14). -2 ln L itself differs by a constant, the normalisation of alea's Gaussian
ancillary terms, 2 sum_k ln(sigma_k sqrt(2 pi)), which we leave out; it is checked here too. The
WIMP source of the release (the dark-matter signal) is set to zero in alea: it is not part of the
CEvNS model.
"""

import logging

import numpy as np
import pytest

alea = pytest.importorskip("alea", reason="alea-inference (optional extra 'alea') is not installed")
pytest.importorskip("blueice", reason="blueice (optional extra 'alea') is not installed")

from cevnsfit.data.registry import fetch  # noqa: E402
from cevnsfit.datasets import xenonnt_s2only as unit  # noqa: E402
from cevnsfit.datasets.xenonnt_s2only import release  # noqa: E402

POINTS = [
    {},
    {"cevns_rate_multiplier": 1.3, "t_qy": 0.4, "signal_efficiency_sr1": 0.9},
    {
        "t_sys_sr0": -1.3,
        "cathode_sr2_rate_multiplier": 0.95,
        "de_sr2_rate_multiplier": 1.2,
        "ae_sr0_rate_multiplier": 1.1,
        "t_qy": -1.7,
        "t_sys_sr2": 2.5,
        "signal_efficiency_sr0": 1.2,
    },
]


@pytest.fixture(scope="module")
def alea_model(tmp_path_factory):
    import os

    from alea.models import BlueiceExtendedModel

    yml = fetch("xenonnt-s2only-2026/s2_only_statistical_model.yaml")
    tdir = fetch("xenonnt-s2only-2026/data/templates/science_roi_background_sr0_template_de_1d.h5").parent
    config = alea.utils.load_yaml(str(yml))
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("alea"))  # blueice writes its pdf cache into the working directory
    logging.disable(logging.INFO)
    try:
        model = BlueiceExtendedModel(
            parameter_definition=config["parameter_definition"],
            likelihood_config=config["likelihood_config"],
            template_path=str(tdir),
        )
    finally:
        logging.disable(logging.NOTSET)
        os.chdir(cwd)
    d = release.read_data()
    model.data = {k: d[k] for k in ("SR0", "SR1", "SR2", "ancillary")}
    return model


@pytest.fixture(scope="module")
def like():
    return unit.term().term


def _ours(like, point):
    x = like.nominal.copy()
    for k, v in point.items():
        x[like.names.index(k)] = v
    return float(like.twice_nll_folded(like.release_cevns, x))


def test_expectations_match_alea(alea_model, like):
    exp_alea = alea_model.get_expectation_values(wimp_rate_multiplier=0.0)
    parts = like.expectation_folded(like.release_cevns, by_source=True)
    ours: dict = {}
    for (_run, src), v in parts.items():
        ours[src] = ours.get(src, 0.0) + float(v.sum())
    assert exp_alea.pop("wimp") == 0.0
    assert set(exp_alea) == set(ours)
    for k, v in exp_alea.items():
        assert ours[k] == pytest.approx(v, rel=1e-12)


def test_twice_nll_differences_match_alea(alea_model, like):
    alea_vals = [-2.0 * alea_model.ll(wimp_rate_multiplier=0.0, **p) for p in POINTS]
    ours = [_ours(like, p) for p in POINTS]
    for i in (1, 2):
        d_alea, d_ours = alea_vals[i] - alea_vals[0], ours[i] - ours[0]
        assert abs(d_alea) > 1.0
        assert d_ours == pytest.approx(d_alea, rel=1e-6)
    # the constant offset is alea's Gaussian normalisation, which we leave out
    sig = like.sigma[np.isfinite(like.sigma)]
    norm = 2.0 * np.sum(np.log(sig * np.sqrt(2.0 * np.pi)))
    for a, o in zip(alea_vals, ours):
        assert a - o == pytest.approx(norm, abs=1e-8)


def test_profile_matches_alea_fit(alea_model, like):
    # alea's own fit (MIGRAD over every nuisance, WIMP fixed to zero) against our profile of the
    # same function (release CEvNS templates): the same minimum within the minimisers' tolerances.
    _, ll_alea = alea_model.fit(wimp_rate_multiplier=0.0)
    ours = like.fit_folded(like.release_cevns)
    sig = like.sigma[np.isfinite(like.sigma)]
    norm = 2.0 * np.sum(np.log(sig * np.sqrt(2.0 * np.pi)))
    assert float(ours["twice_nll"]) + norm == pytest.approx(-2.0 * ll_alea, abs=2e-3)
    assert float(ours["twice_nll"]) + norm <= -2.0 * ll_alea + 1e-6
