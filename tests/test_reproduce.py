"""The one-command reproduction on coarse settings (``--quick``), end to end through the CLI."""

import json

import pytest
from click.testing import CliRunner

from cevnsfit.cli import main

STEMS = (
    "fig3b_recoil_spectrum_cenns10",
    "fig4_posterior_1d",
    "fig5_chi2_totals",
    "fig6_posterior_2d",
    "fig7_exclusions",
    "ext_csi2021_exclusions",
    "fig7_exclusion_wilks_vs_neyman",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    res = CliRunner().invoke(main, ["reproduce", "--out", str(out), "--quick"])
    assert res.exit_code == 0, res.output
    return out


def test_results_json_has_the_contracted_keys(quick_run):
    res = json.loads((quick_run / "results.json").read_text())
    for key in ("table1", "table2", "chi2_totals", "posterior_2d", "exclusions", "runtime_s", "versions"):
        assert key in res
    assert set(res["table1"]) >= {"cevns", "ss", "prompt_brn", "delayed_brn"}
    assert all(len(v) == 2 for v in res["table1"].values())
    pts = {(row["mzp_mev"], row["r"]) for row in res["table2"]}
    assert pts == {(m, r) for m in (20.0, 100.0) for r in (0.01, 1.0, 100.0)}
    for row in res["table2"]:
        lo, hi = row["gx_68"]
        assert 1e-4 <= lo < hi <= 1e-1
        assert row["z_sigma"] >= 0
        et_lo, et_hi = row["gx_68_equal_tailed"]  # both conventions, beside the published cell
        assert 1e-4 <= et_lo < et_hi <= 1e-1 and et_lo < row["gx_68_grid"][0]
        assert row["published"]["gx68"][0] >= 1e-4 and row["grid_convergence"]["converged"]
    assert {c["mzp_mev"] for c in res["chi2_totals"]} == {20.0, 100.0}
    assert all(c["minima"] and {"gx", "chi2"} <= set(c["minima"][0]) for c in res["chi2_totals"])
    assert set(res["posterior_2d"]) == {"0.01", "1", "100"}
    assert all(len(pt) == 2 for ring in res["posterior_2d"]["1"]["region_68"] for pt in ring)
    methods = [e["method"] for e in res["exclusions"].values()]
    assert methods.count("wilks") == 5 and methods.count("neyman") == 1
    assert all(p2["method"] == "grid density" for p2 in res["posterior_2d"].values())
    assert res["runtime_s"] < 180  # --quick must stay within 3 minutes
    assert res["versions"]["numpy"]


def test_table1_matches_coherent(quick_run):
    res = json.loads((quick_run / "results.json").read_text())
    for comp, (_best, err) in res["table1_published"].items():
        ours = res["table1"][comp]
        assert abs(ours[1] / err - 1) < 0.2
    assert res["table1"]["cevns"][0] == pytest.approx(159.0, rel=0.05)


def test_figures_and_report(quick_run):
    for stem in STEMS:
        for ext in ("pdf", "png"):
            f = quick_run / "figures" / f"{stem}.{ext}"
            assert f.stat().st_size > 5_000, f
    md = (quick_run / "report.md").read_text()
    assert "306 ± 20" in md and "159 ± 43" in md and "Run time" in md
    assert (quick_run / "report.html").read_text().startswith("<!doctype html>")
    # every validation row passes
    res = json.loads((quick_run / "results.json").read_text())
    assert all(r["pass"] for r in res["validation"])


@pytest.mark.slow
def test_quick_reproduction_in_full_mode(tmp_path):
    # profiled nuisances at every likelihood call: about 1.5 minutes on 2 cores
    res = CliRunner().invoke(main, ["reproduce", "--out", str(tmp_path), "--quick", "--mode", "full"])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "results.json").read_text())
    assert out["settings"]["mode"] == "full" and len(out["table2"]) == 6
    assert all(r["pass"] for r in out["validation"])


def test_results_json_is_strict_json_with_the_new_sections(quick_run):
    """No NaN/Infinity tokens (strict JSON), and the sections added with issues 9, 10 and 12."""

    def refuse(token):
        raise AssertionError(f"results.json contains the non-JSON constant {token}")

    res = json.loads((quick_run / "results.json").read_text(), parse_constant=refuse)
    assert {"magnetic_moment_90cl", "scalar_exclusion", "weak_mixing", "nsi_allowed"} <= set(res["new_physics"])
    assert {"validation", "b8_measurement", "lmu_ltau_significance", "exclusions"} <= set(res["xenonnt"])
    for stem in ("newphys_scalar", "newphys_nsi_ee", "xenon_lmu_ltau"):
        assert (quick_run / "figures" / f"{stem}.png").exists()
