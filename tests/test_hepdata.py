"""The reproduction's HEPData record: built from a results dict, written with hepdata_lib and
accepted by the HEPData validator; without hepdata_lib the folder is skipped with a notice."""

import builtins
import json

import numpy as np
import pytest

from cevnsfit.outputs import hepdata

pytest.importorskip("hepdata_lib")


def _ring(cx, cy, rx, ry, n=40):
    t = np.linspace(0.0, 2 * np.pi, n)
    return np.c_[cx + rx * np.cos(t), cy + ry * np.sin(t)].tolist()


def synthetic_results() -> dict:
    """A results dict with the shape of reproduce()'s, small enough for a fast test."""
    line = [[0.5, -2.0], [1.5, -2.2], [3.0, -1.5]]
    wilks = {"contours": [line], "contours_refined": [line, line], "t_sm": 1.0, "t_threshold": 6.18, "dof": 2}
    row = {
        "mzp_mev": 20.0, "r": 1.0, "gx_mle": 1.7e-3, "gx_68": [3e-4, 3e-3], "gx_68_equal_tailed": [1.1e-4, 2.5e-3],
        "t": 3.43, "z_sigma": 1.85, "z_sigma_dof2": 1.34, "p": 0.064,
        "published": {"gx68": [1.3e-4, 1.99e-3], "z": 1.40},
    }  # fmt: skip
    mag = {"upper_limit_mu_B": 2.4e-9, "mle": 0.0, "segments": [{"low": 0.0, "high": 2.4e-9}]}
    return {
        "table2": [row, {**row, "mzp_mev": 100.0, "t": 3.60, "z_sigma": 1.90, "z_sigma_dof2": 1.39}],
        "posterior_2d": {"1": {"region_68": [_ring(1.5, -2.5, 0.3, 0.4)], "region_95": [_ring(1.5, -2.5, 0.6, 0.8)]}},
        "exclusions": {"CsI 2017 + Ar": {**wilks, "method": "wilks", "z": 2.0}},
        "csi2021": {"exclusions": {"CsI 2021": {**wilks, "method": "wilks"}}},
        "xenonnt": {"exclusions": {"scalar": {"Xe": {**wilks, "axes": ["log10_ms_mev", "log10_gs"], "z": 2.0}}}},
        "new_physics": {
            "conventions": {"mode": "paper"},
            "magnetic_moment_90cl": {"CsI 2017 + Ar": {"mu_nue": mag, "mu_numu": mag}},
            "nsi_allowed": {"CsI 2017 + Ar": {"ee": {**wilks, "axes": ["eps_u_ee", "eps_d_ee"], "z": 1.645}}},
            "pe_windows": {
                "data": "CsI 2017 + Ar",
                "conventions": "90 % CL",
                "limits": {
                    w: {"magnetic-moment:mu_nue": {"upper_limit": u, "segments": []}}
                    for w, u in (("6-30 PE", 2.4e-9), ("16-30 PE", 3.4e-9))
                },
            },
        },
    }


def _validate(folder):
    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    v = FullSubmissionValidator()
    ok = v.validate(directory=str(folder))
    return ok, {k: [m.message for m in ms] for k, ms in v.get_messages().items()}


def test_record_from_a_small_results_dict_passes_the_validator(tmp_path):
    curves = {(20.0, 1.0): (np.linspace(-4, -1, 31).tolist(), np.exp(-(np.linspace(-3, 3, 31) ** 2)).tolist())}
    assert hepdata.write_hepdata(synthetic_results(), tmp_path / "hepdata", posterior_curves=curves) == ""
    ok, messages = _validate(tmp_path / "hepdata")
    assert ok, messages
    assert (tmp_path / "hepdata.tar.gz").is_file()
    names = hepdata.table_names(tmp_path / "hepdata")
    assert names[0].startswith("Table II")
    assert "Fig. 4 posterior of g_x, M_Z' = 20 MeV, r = 1" in names
    assert sum(n.startswith("Fig. 7 CsI 2017 + Ar contour") for n in names) == 2  # the refined pieces
    assert any(n.startswith("Fig. 6 68 % credible region") for n in names)
    assert any("PE window" in n for n in names) and any("magnetic_moment_90cl" in n for n in names)
    assert any(n.startswith("XENONnT scalar") for n in names)
    assert all(len(n) <= 64 for n in names)
    assert len(set(names)) == len(names)


def test_table2_carries_both_readings_of_the_significance(tmp_path):
    (t2,) = hepdata._table2(synthetic_results())
    by_name = {v.name: v for v in t2.variables}
    assert by_name["Z (Wilks, eta = 1)"].values == [1.85, 1.90]
    assert by_name["Z (Wilks, eta = 2)"].values == [1.34, 1.39]
    assert by_name["M_Z'"].units == "MeV" and by_name["M_Z'"].is_independent


def test_loops_below_the_grid_resolution_are_left_out_and_counted():
    res = synthetic_results()
    e = dict(res["exclusions"]["CsI 2017 + Ar"])
    loop = [[1.0, -2.0], [1.01, -2.0], [1.01, -1.99], [1.0, -2.0]]  # a closed loop around a grid point
    e["contours_refined"] = [e["contours_refined"][0], loop, loop]
    (tab,) = hepdata._contour_tables("x", e, ("log10_mzp", "log10_gx"), "d")
    assert "2 closed loops" in tab.description and len(tab.variables[0].values) == 3


def test_contours_are_in_physical_units(tmp_path):
    res = synthetic_results()
    (tab, _) = hepdata._contour_tables("x", res["exclusions"]["CsI 2017 + Ar"], ("log10_mzp", "log10_gx"), "d")
    x, y = tab.variables
    assert x.units == "MeV" and x.values[0] == pytest.approx(10**0.5)
    assert y.values[-1] == pytest.approx(10**-1.5)
    assert any("95.45 % CL" in q["value"] for q in y.qualifiers)


def test_without_hepdata_lib_the_folder_is_skipped_with_a_notice(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_hepdata(name, *args, **kwargs):
        if name.startswith("hepdata_lib"):
            raise ImportError("no hepdata_lib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hepdata)
    notice = hepdata.write_hepdata(synthetic_results(), tmp_path / "hepdata")
    assert "hepdata_lib is not installed" in notice and "\n" not in notice
    assert not (tmp_path / "hepdata").exists()


@pytest.mark.slow
def test_quick_reproduction_writes_a_valid_record(tmp_path):
    from click.testing import CliRunner

    from cevnsfit.cli import main

    res = CliRunner().invoke(main, ["reproduce", "--out", str(tmp_path), "--quick"])
    assert res.exit_code == 0, res.output
    ok, messages = _validate(tmp_path / "hepdata")
    assert ok, messages
    out = json.loads((tmp_path / "results.json").read_text())
    names = hepdata.table_names(tmp_path / "hepdata")
    assert len([n for n in names if n.startswith("Fig. 7 ")]) >= len(out["exclusions"])
