"""Full-mode data sets as pyhf workspaces, and pyhf as an independent implementation of their
likelihoods (issue 21.1; docs: interop)."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from cevnsfit.errors import ParameterError
from cevnsfit.outputs.pyhf_export import ExportError, dumps, export_pyhf, pyhf_fit, pyhf_model, write_pyhf

pyhf = pytest.importorskip("pyhf")

SM = (None, None)
BSM = [("lmu-ltau", {"mzp_mev": 20.0, "gx": 1e-3}), ("lmu-ltau", {"mzp_mev": 100.0, "gx": 3e-3})]


def _check_fit(ds, model, params, rel):
    ex = export_pyhf(ds, model, params)
    meta = ex["metadata"]
    twice_nll, named = pyhf_fit(ex["workspace"], meta)
    expected = meta["twice_nll_pyhf_expected"]
    assert abs(twice_nll - expected) <= rel * abs(expected), (ds, params, twice_nll, expected)
    # every nuisance found at the same place (the flat directions to 1e-3 of their unit)
    for k, v in meta["bestfit"].items():
        assert named[k] == pytest.approx(v, abs=2e-3 if k != "norm_prompt_brn" else 2e-2), k
    return twice_nll, meta


def test_csi2021_sm_agrees_with_pyhf():
    _, meta = _check_fit("csi2021", *SM, rel=1e-9)
    assert meta["inexact_modifiers"] == [] and meta["modifier_settings"] == {"histosys": {"interpcode": "code0"}}
    # the offset is pyhf's Gaussian normalisations, six unit Gaussians (steady state, BRN, NIN,
    # efficiency, two quenching) and the lumi one of width 0.12, less ours (the declared engine's:
    # ln(2 pi sigma^2) for a, the steady state, BRN and NIN and ln 2 pi per morph), which leaves
    # -2 ln of the three template widths: 1/sqrt(N_AC), 4/17, 2/5
    from cevnsfit.experiments import get_experiment

    n_ac = float(get_experiment("csi2021").data["AC"].sum())
    assert meta["offset"] == pytest.approx(-2 * math.log(4 / 17 * 2 / 5 / math.sqrt(n_ac)), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("model,params", [SM, *BSM])
def test_csi2021_bsm_agrees_with_pyhf(model, params):
    _check_fit("csi2021", model, params, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("model,params", [SM, *BSM])
def test_cenns10_agrees_with_pyhf_up_to_the_prompt_brn_normsys(model, params):
    """Every CENNS-10 modifier is our function except the prompt-BRN normalisation (a code-4
    normsys: HistFactory has one linear Gaussian normalisation, lumi, and it goes to the
    signal); measured difference below 1.3e-6 relative."""
    _, meta = _check_fit("cenns10", model, params, rel=2e-6)
    assert len(meta["inexact_modifiers"]) == 1 and meta["inexact_modifiers"][0].startswith("norm_prompt_brn")


def test_cenns10_workspace_is_our_likelihood_at_our_best_fit():
    """pyhf's -2 ln L at our best fit (mapped into the workspace's parameters; the code-4
    normsys at the parameter giving the same factor 1 + a) is ours + the offset + the
    difference of the two constraint terms of that one normalisation, to rounding."""
    from scipy.optimize import brentq

    ex = export_pyhf("cenns10", *BSM[1])
    meta = ex["metadata"]
    ws, model = pyhf_model(ex["workspace"], meta)
    pars = np.array(model.config.suggested_init(), dtype=float)
    for k, v in meta["bestfit"].items():
        pars[model.config.par_slice(k)] = v
    s = 0.30  # the prompt-BRN width (docs: datasets/cenns10)
    theta = meta["bestfit"]["norm_prompt_brn"]
    factor = 1.0 + s * theta  # ours: 1 + a
    interp = pyhf.interpolators.code4([[[[1 - s], [1.0], [1 + s]]]])

    def code4(t):
        return float(np.asarray(interp(pyhf.tensorlib.astensor([[t]]))).ravel()[0])

    theta4 = brentq(lambda t: code4(t) - factor, -3.0, 3.0)
    pars[model.config.par_slice("norm_prompt_brn")] = theta4
    got = float(-2.0 * model.logpdf(pars, ws.data(model))[0])
    want = meta["twice_nll_pyhf_expected"] + theta4**2 - theta**2
    assert got == pytest.approx(want, rel=1e-10)
    assert abs(theta4 - theta) > 1e-3  # the one modifier that is not our function


def test_export_is_deterministic_and_round_trips(tmp_path):
    first = export_pyhf("csi2021", *BSM[0])
    second = export_pyhf("csi2021", *BSM[0])
    assert dumps(first) == dumps(second)
    ws_path, meta_path = write_pyhf(first, tmp_path / "ws.json")
    text = ws_path.read_text()
    assert text == dumps(first["workspace"]) and json.loads(meta_path.read_text()) == first["metadata"]
    loaded = pyhf.Workspace(json.loads(text))  # validates against the HistFactory schema
    assert dumps(dict(loaded)) == text
    twice_nll, _ = pyhf_fit(dict(loaded), first["metadata"])
    assert twice_nll == pytest.approx(first["metadata"]["twice_nll_pyhf_expected"], rel=1e-9)
    assert dumps(export_pyhf("csi2021", *BSM[0])) == dumps(first)  # the fit changed nothing


def test_bad_input_is_refused_with_the_reason(tmp_path):
    with pytest.raises(ExportError, match="per bin, which has no HistFactory equivalent"):
        export_pyhf("csi2021", mode="paper")
    with pytest.raises(ExportError, match="csi2020_totals .* chi-square of totals"):
        export_pyhf("csi2020_totals")
    with pytest.raises(ExportError, match="one data set per workspace"):
        export_pyhf("csi2021,cenns10")
    with pytest.raises(ParameterError, match="mzp_mev must be > 0"):
        export_pyhf("csi2021", "lmu-ltau", {"mzp_mev": -5.0, "gx": 1e-3})
    with pytest.raises(ParameterError, match="given without a model"):
        export_pyhf("csi2021", None, {"gx": 1e-3})
    with pytest.raises(ParameterError, match="does not exist"):
        write_pyhf(export_pyhf("csi2021"), tmp_path / "missing" / "ws.json")


def test_export_command(tmp_path):
    from cevnsfit.cli import main

    out = tmp_path / "ws.json"
    res = CliRunner().invoke(
        main,
        ["export", "pyhf", "--dataset", "csi2021", "--model", "lmu-ltau", "--param", "mzp_mev=20", "--param", "gx=1e-3"]
        + ["--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "ws.metadata.json").read_text())
    assert meta["params"] == {"gx": 1e-3, "mzp_mev": 20.0} and meta["model"] == "lmu-ltau"
    assert json.loads(out.read_text()) == export_pyhf("csi2021", *BSM[0])["workspace"]
    bad = CliRunner().invoke(main, ["export", "pyhf", "--dataset", "csi2021", "--mode", "paper", "--out", str(out)])
    assert bad.exit_code == 2 and "mode 'paper' cannot be exported" in bad.output
    bad = CliRunner().invoke(main, ["export", "pyhf", "--dataset", "csi2021", "--out", str(tmp_path / "no" / "w.json")])
    assert bad.exit_code == 2 and "does not exist" in bad.output
