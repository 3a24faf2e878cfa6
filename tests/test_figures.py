"""Figures without artefacts: regions closed along the frame are not stroked there, thin allowed
bands are drawn from a grid refined near the contour level, legends name confidence levels."""

import numpy as np
import pytest

from cevnsfit.inference.exclusion import contour_lines
from cevnsfit.inference.regions import region_polylines
from cevnsfit.outputs import figures
from cevnsfit.outputs.refine import crossing_cells, refine_near_level

BOX = ((0.5, 3.0), (-4.0, -1.0))


def _on_frame_segments(xy, box=BOX, tol=1e-9):
    (x0, x1), (y0, y1) = box
    xy = np.asarray(xy)
    edges = [
        np.abs(xy[:, 0] - x0) < tol,
        np.abs(xy[:, 0] - x1) < tol,
        np.abs(xy[:, 1] - y0) < tol,
        np.abs(xy[:, 1] - y1) < tol,
    ]
    return sum(int(np.sum(e[:-1] & e[1:])) for e in edges)


def _ring_touching_the_frame():
    x = np.linspace(0.5, 3.0, 51)
    y = np.linspace(-4.0, -1.0, 61)
    dens = np.exp(-0.5 * (((x[:, None] - 1.5) / 0.4) ** 2 + ((y[None, :] + 4.0) / 0.8) ** 2))  # peaks on the floor
    return region_polylines(x, y, dens, 0.3, BOX)


def test_a_region_reaching_the_frame_is_closed_there_but_not_stroked():
    rings = _ring_touching_the_frame()
    assert sum(_on_frame_segments(r) for r in rings) > 0  # the ring itself runs along the floor
    pieces = [p for r in rings for p in figures.frame_free_pieces(r, BOX)]
    assert pieces and all(_on_frame_segments(p) == 0 for p in pieces)
    # nothing but the frame segments is dropped: every other segment of the ring is stroked
    n_segments = sum(len(r) - 1 for r in rings)
    n_frame = sum(_on_frame_segments(r) for r in rings)
    assert sum(len(p) - 1 for p in pieces) == n_segments - n_frame


def test_a_region_inside_the_frame_is_stroked_whole():
    t = np.linspace(0, 2 * np.pi, 50)
    ring = np.c_[1.5 + 0.3 * np.cos(t), -2.5 + 0.5 * np.sin(t)]
    (piece,) = figures.frame_free_pieces(ring, BOX)
    np.testing.assert_array_equal(piece, ring)


def _captured(monkeypatch):
    figs = []
    monkeypatch.setattr(figures, "_save", lambda fig, paths: figs.append(fig))
    return figs


def test_fig6_draws_no_line_along_the_frame(monkeypatch):
    figs = _captured(monkeypatch)
    rings = _ring_touching_the_frame()
    figures.plot_posterior_2d({"1": {"region_68": rings, "region_95": rings}}, "unused.png", bounds=False)
    ax = figs[0].axes[0]
    drawn = [np.log10(line.get_xydata()) for line in ax.get_lines() if line.get_label().startswith("r = ")]
    assert drawn and all(_on_frame_segments(xy, tol=1e-6) == 0 for xy in drawn)
    assert any(p.get_alpha() for p in ax.patches)  # the region is filled


def _thin_band(h=0.05):
    """t of an allowed diagonal band (t < 4) of half-width 0.6 grid steps, excluded elsewhere."""
    x = np.arange(0.0, 2.0 + 1e-9, h)
    y = np.arange(0.0, 2.0 + 1e-9, h)

    def t_of(px, py):
        return 4.0 * ((np.asarray(py) - 0.9 * np.asarray(px) - 0.1) / 0.03) ** 2

    return x, y, t_of(x[:, None], y[None, :]), t_of


def test_a_band_narrower_than_the_grid_is_one_band_after_refinement():
    x, y, t, t_of = _thin_band()
    coarse = contour_lines(x, y, t, 4.0)
    ref = refine_near_level(x, y, t, 4.0, t_of, factor=8)
    refined = contour_lines(ref["x"], ref["y"], ref["t"], 4.0)
    assert len(coarse) > 10  # the scan grid alone draws the band as a chain of small loops
    assert len(refined) == 2  # its two edges
    np.testing.assert_array_equal(ref["t"][::8, ::8], t)  # the scan's own values are kept
    # exact where evaluated: the refined grid agrees with t_of near the band
    i, j = np.unravel_index(np.argmin(ref["t"]), ref["t"].shape)
    assert ref["t"][i, j] == pytest.approx(float(t_of(ref["x"][i], ref["y"][j])), abs=1e-12)


def test_cells_away_from_the_level_are_not_re_evaluated():
    x = y = np.linspace(0.0, 1.0, 11)
    t = 100.0 * (x[:, None] + y[None, :])  # level 50 crosses along x + y = 0.5
    calls = []

    def t_of(px, py):
        calls.append(np.c_[px, py])
        return 100.0 * (px + py)

    ref = refine_near_level(x, y, t, 50.0, t_of, factor=4, dilate=0)
    pts = np.concatenate(calls)
    assert np.all(np.abs(pts.sum(axis=1) - 0.5) <= 0.2 + 1e-12)  # only cells the level crosses
    assert ref["n_evaluated"] == len(pts) < ref["t"].size / 4
    # corner sums i + j: a cell (i, j) has corners i + j .. i + j + 2 (in units of 10): it is crossed
    # by the level 50 when i + j is 4 or 5 (the level at a corner counts as crossing)
    i, j = np.meshgrid(np.arange(10), np.arange(10), indexing="ij")
    np.testing.assert_array_equal(crossing_cells(t, 50.0, dilate=0), np.isin(i + j, (4, 5)))


@pytest.mark.parametrize(
    ("z", "text"), [(2.0, "2$\\sigma$"), (1.6448536269514722, "90 % CL"), (1.959963984540054, "95 % CL")]
)
def test_legends_name_the_confidence_level(z, text):
    assert figures.confidence_label(z) == text


def _generic_map(z):
    x = np.linspace(0.0, 1.0, 21)
    y = np.linspace(-1.0, 1.0, 31)
    t = 10.0 * (x[:, None] ** 2 + y[None, :] ** 2)
    return {"axes": ["a", "b"], "a": x.tolist(), "b": y.tolist(), "t": t.tolist(), "t_threshold": 4.605, "z": z}


def test_generic_exclusion_legend_says_90_percent_cl_not_the_sigma_number(monkeypatch):
    figs = _captured(monkeypatch)
    figures.plot_exclusion_generic({"data A": _generic_map(1.6448536269514722)}, "unused.png")
    texts = [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()]
    assert any("90 % CL" in s for s in texts)
    assert not any("1.64" in s for s in texts)


def test_exclusion_figure_draws_from_the_refined_grid(monkeypatch):
    figs = _captured(monkeypatch)
    x, y, t, t_of = _thin_band()
    ref = refine_near_level(x, y, t, 4.0, t_of, factor=8)
    emap = {
        "log10_mzp": (0.5 + 1.25 * x).tolist(),
        "log10_gx": (-4.0 + 1.5 * y).tolist(),
        "t": t.tolist(),
        "t_threshold": 4.0,
        "z": 2.0,
        "contours": [],
        "refined": {"x": 0.5 + 1.25 * ref["x"], "y": -4.0 + 1.5 * ref["y"], "t": ref["t"], "factor": 8},
    }
    figures.plot_exclusions({"band": emap}, "unused.png", bounds=False)
    ax = figs[0].axes[0]
    # the stroked boundary: one contour set with the band's two edges (not a chain of loops)
    lines = [c for c in ax.collections if type(c).__name__ == "QuadContourSet" and not c.filled]
    assert len(lines) == 1 and len(lines[0].allsegs[0]) == 2
    assert any("band (2$\\sigma$, excluded)" == t.get_text() for t in ax.get_legend().get_texts())


def test_a_band_narrower_than_even_the_refined_grid_is_not_drawn_and_the_legend_says_so(monkeypatch):
    figs = _captured(monkeypatch)
    h = 0.05
    x = np.arange(0.0, 2.0 + 1e-9, h)
    y = np.arange(0.0, 2.0 + 1e-9, h)
    # a band of half-width 0.15 grid steps: sampled only here and there, as isolated allowed points
    t = 4.0 * ((y[None, :] - 0.9 * x[:, None] - 0.1) / (0.15 * h)) ** 2
    t = np.minimum(t, 50.0 + 0.0 * t)
    t[:, :3] = 0.0  # and a real allowed region along the bottom
    assert len(contour_lines(x, y, t, 4.0)) > 5  # the raw grid: scattered loops
    emap = {"log10_mzp": (0.5 + 1.25 * x).tolist(), "log10_gx": (-4 + 1.5 * y).tolist(), "t": t.tolist()}
    emap.update(t_threshold=4.0, z=2.0, contours=[])
    figures.plot_exclusions({"thin": emap}, "unused.png", bounds=False)
    ax = figs[0].axes[0]
    (cs,) = [c for c in ax.collections if type(c).__name__ == "QuadContourSet" and not c.filled]
    assert len(cs.allsegs[0]) == 1  # only the real boundary is stroked
    assert any("narrower than the grid not drawn" in t.get_text() for t in ax.get_legend().get_texts())
