"""The reproduction report: one function per section, published numbers from cevnsfit.published,
both readings of the reference analysis's significance, the toy table's r column, the new-physics
section read generically."""

import ast
import dataclasses
import math
import pathlib

import pytest
from scipy import stats

from cevnsfit import published
from cevnsfit.outputs import report

OUTPUTS = pathlib.Path(report.__file__).parent


def _doc():
    return report._Doc()


def test_eta_2_reading_is_the_closed_form_of_chi2_with_two_dof():
    # chi2_2 has the survival function exp(-t/2): Z = Phi^-1(1 - exp(-t/2)/2), independent of the code
    for t in (3.43, 3.60):
        closed = stats.norm.isf(math.exp(-t / 2) / 2)
        assert report._z_dof2({"t": t}) == pytest.approx(closed, rel=1e-12)
    assert report._z_dof2({"t": 3.43}) == pytest.approx(1.34, abs=0.005)
    assert report._z_dof2({"t": 3.60}) == pytest.approx(1.39, abs=0.005)
    # eta = 1: Z = sqrt(t)
    assert stats.norm.isf(stats.chi2.sf(3.43, 1) / 2) == pytest.approx(math.sqrt(3.43), rel=1e-9)


def _table2_row(m, t, z_pub):
    return {
        "mzp_mev": m, "r": 1.0, "gx_mle": 1e-3, "gx_68": [3e-4, 3e-3], "t": t, "p": stats.chi2.sf(t, 1),
        "z_sigma": math.sqrt(t), "published": {"gx68": [1e-4, 2e-3], "z": z_pub},
    }  # fmt: skip


def test_table2_shows_both_readings_with_the_explanation():
    d = _doc()
    report._table2(d, {"table2": [_table2_row(20.0, 3.43, 1.40), _table2_row(100.0, 3.60, 1.32)]})
    md = "\n".join(d.md)
    assert "Z Wilks, eta = 1 (default)" in md and "Z Wilks, eta = 2" in md
    assert "| 1.85 | 1.34 |" in md and "| 1.90 | 1.39 |" in md
    assert "Eq. (28)" in md and "resemble the eta = 2 reading" in md


def test_toy_table_has_an_r_column():
    toy = {
        "data": "CsI 2017 + Ar", "datasets": "csi2017,cenns10", "mzp_mev": 20.0, "r": 0.01, "t_obs": 3.4,
        "p_toys": 0.2, "p_toys_err": 0.02, "z_toys": 1.28, "p_wilks": 0.065, "z_wilks": 1.85,
        "p_wilks_half": 0.032, "n_toys": 400,
    }  # fmt: skip
    d = _doc()
    report._toys(d, {"toys": [toy]})
    header = next(line for line in d.md if line.startswith("| data | M_Z' [MeV]"))
    assert header.split(" | ")[2] == "r"
    assert "| CsI 2017 + Ar | 20 | 0.01 | 3.40 |" in "\n".join(d.md)


def test_xenon_numbers_come_from_the_published_records(monkeypatch):
    v = {
        "exposure_ty": 3.5, "exposure_published": 3.51, "observed": 37, "observed_published": 37,
        "background": 26.0, "sm_rate_045_10kev": 340.0, "sm_rate_published": 335.6, "b8_expected": 9.6,
    }  # fmt: skip
    rows = report._xenon_validation_rows(v)
    assert rows[-1][2].startswith("11.92") and rows[2][2] == "26.4 +1.4 -1.3"
    rec = published.get("xenonnt_sr01_b8_expected_2024")
    monkeypatch.setitem(published._records(), rec.key, dataclasses.replace(rec, value=12.5))
    assert report._xenon_validation_rows(v)[-1][2].startswith("12.5")


def test_report_source_types_no_published_number():
    src = (OUTPUTS / "report.py").read_text()
    for literal in ("11.92", "4.7 +3.6", "2.73", "306 ± 20", "1273", "0.23857", "177.5", "5.56e-4"):
        assert literal not in src, literal


def test_no_function_in_outputs_runs_past_80_lines_without_a_reason():
    long = []
    for path in sorted(OUTPUTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if n > 80 and "long because" not in doc.lower():
                    long.append(f"{path.name}:{node.name} ({n} lines)")
    assert not long, long


def test_reproduce_and_report_run_their_sections_in_order():
    from cevnsfit.outputs import reproduce

    names = [f.__name__ for f in reproduce.SECTIONS]
    assert names[0] == "_fig3b" and names[-1] == "_finish" and len(names) == len(set(names)) >= 12
    assert [f.__name__ for f in report.SECTIONS][:3] == ["_header", "_validation", "_fig3b"]


def test_new_physics_section_reads_unknown_entries_generically():
    lim = {"upper_limit_e_cm": 3e-8, "mle": 0.0, "segments": [{"low": 0.0, "high": 3e-8}]}
    np_res = {
        "conventions": {"mode": "paper", "limits_1d": "90 % CL", "regions_2d": "90 % CL"},
        "millicharge_90cl": {"CsI 2017 + Ar": {"q_nue": lim}},  # an entry the report has never seen
        "some_new_map": {"CsI 2017 + Ar": {"contours": [[[0, 0], [1, 1]]], "t_threshold": 4.6, "method": "wilks"}},
        "pe_windows": {
            "data": "CsI 2017 + Ar",
            "conventions": "90 % CL",
            "limits": {"6-30 PE": {"m:q_nue": {"upper_limit": 3e-8, "segments": []}}},
        },
        "figures": [{"stem": "newphys_millicharge", "title": "millicharge"}],
    }
    d = _doc()
    report._new_physics_section(d, np_res)
    md = "\n".join(d.md)
    assert "millicharge 90cl" in md and "q_nue < [e_cm] (90 % CL)" in md and "| CsI 2017 + Ar | 3e-08 |" in md
    assert "some_new_map" in md and "figures/newphys_millicharge.png" in md
    assert "| 6-30 PE | 3e-08 |" in md and "16-30 PE" in md  # the window study names the published choices
