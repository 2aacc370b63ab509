"""Specification of the blend maths (``mapping/blend.py``) with values written out here:
the ramp and gamma curves at literal points, the mask grid's size, coverage cell by cell,
distances measured by brute force in float64, weights on a scaled-down grid, the black
level with one projector, the equal share where every ramp underflows, and the cache's key
and size."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from calibration.store import BlendCalibration, EdgeBlend
from mapping import blend
from mapping.blend import (
    BlendSettings,
    OutputGeometry,
    blend_masks,
    coverage_mask,
    decode,
    encode,
    geometry_of,
    grid_size,
    show_blend_masks,
    smooth_ramp,
)

CANVAS = (96, 40)
IDENTITY = np.eye(3)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def _out(name: str, *rects, frame=(200, 100), H=IDENTITY) -> OutputGeometry:
    """An output whose surfaces are these rectangles, mapped by ``H`` (identity: the
    canvas is the projector's frame)."""
    return OutputGeometry(name, frame, tuple((_rect(*r), np.array(H, float)) for r in rects))


def _ramp(t):
    """The smooth step t²(3 − 2t) on [0, 1], written again here."""
    t = np.clip(np.asarray(t, np.float64), 0.0, 1.0)
    return 3 * t**2 - 2 * t**3


# --- curves ---------------------------------------------------------------------------------


def test_smooth_ramp_at_literal_points():
    t = np.array([-1.0, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0])
    np.testing.assert_array_equal(smooth_ramp(t), [0.0, 0.0, 0.15625, 0.5, 0.84375, 1.0, 1.0])


def test_gamma_encode_and_decode_at_literal_points_clamped_to_0_1():
    signal = np.array([-0.5, 0.0, 0.25, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(encode(signal, 2.0), [0.0, 0.0, 0.5, 0.5**0.5, 1.0, 1.0])
    np.testing.assert_array_equal(decode(signal, 2.0), [0.0, 0.0, 0.0625, 0.25, 1.0, 1.0])
    assert encode(np.array([0.5]), 2.2)[0] == pytest.approx(0.7297400528407231, rel=1e-14)
    assert decode(np.array([0.5]), 2.2)[0] == pytest.approx(0.217637640824031, rel=1e-14)


@pytest.mark.parametrize(
    ("canvas", "max_size", "grid"),
    [
        ((96, 40), 512, (96, 40)),
        ((512, 512), 512, (512, 512)),
        ((1024, 512), 512, (512, 256)),
        ((1000, 300), 512, (512, 154)),  # 153.6 rounds up
        ((300, 1000), 512, (154, 512)),
        ((2000, 1), 512, (512, 1)),  # never less than one cell
        ((1, 2000), 512, (1, 512)),
        ((100, 50), 10, (10, 5)),
    ],
)
def test_grid_size(canvas, max_size, grid):
    assert grid_size(canvas, max_size) == grid


# --- coverage -------------------------------------------------------------------------------


def test_coverage_is_the_cells_whose_centre_lies_inside():
    # centres at x + 0.5: x0 = 30.55 leaves out cell 30, x1 = 90.45 leaves out cell 90
    out = _out("o", (30.55, 5.6, 90.45, 15.4))
    covered = coverage_mask(out, CANVAS, CANVAS)
    expected = np.zeros((40, 96), bool)
    expected[6:15, 31:90] = True
    np.testing.assert_array_equal(covered, expected)


def test_coverage_is_the_union_of_an_outputs_surfaces():
    out = _out("o", (10, 10, 20, 20), (50, 0, 60, 5))
    expected = np.zeros((40, 96), bool)
    expected[10:20, 10:20] = True
    expected[0:5, 50:60] = True
    np.testing.assert_array_equal(coverage_mask(out, CANVAS, CANVAS), expected)


def test_coverage_stops_where_the_frame_ends_on_one_side_only():
    # frame 40 × 30, identity: the surface overruns the frame to the right only (its y is
    # inside), so only its part x < 40 is lit
    out = _out("o", (10, 0, 60, 30), frame=(40, 30))
    expected = np.zeros((40, 96), bool)
    expected[0:30, 10:40] = True
    np.testing.assert_array_equal(coverage_mask(out, CANVAS, CANVAS), expected)


def test_coverage_on_a_coarser_grid_is_judged_at_the_cells_centres():
    # canvas 96 × 40 on a 48 × 20 grid: cell (i, j) has its centre at (2i + 1, 2j + 1). The
    # projector (frame 50 × 30) sees the canvas moved by (-20, -4): the frame reaches canvas
    # x in [20, 70), y in [4, 34).
    H = np.array([[1.0, 0, -20], [0, 1, -4], [0, 0, 1]])
    out = _out("o", (0, 0, 96, 40), frame=(50, 30), H=H)
    covered = coverage_mask(out, CANVAS, (48, 20))
    cx = 2 * np.arange(48) + 1.0
    cy = 2 * np.arange(20) + 1.0
    expected = ((cy >= 4) & (cy < 34))[:, None] & ((cx >= 20) & (cx < 70))[None, :]
    np.testing.assert_array_equal(covered, expected)
    # and a surface inside the frame, on that grid
    inner = coverage_mask(_out("p", (10.2, 6.2, 30.2, 20.2)), CANVAS, (48, 20))
    expected = ((cy > 6.2) & (cy < 20.2))[:, None] & ((cx > 10.2) & (cx < 30.2))[None, :]
    np.testing.assert_array_equal(inner, expected)


def _poly_out(points, frame=(200, 100)) -> OutputGeometry:
    return OutputGeometry("o", frame, ((np.array(points, float), IDENTITY),))


def test_coverage_of_a_comb_has_three_spans_a_row():
    # three teeth (x 2..4, 6..8, 10..12, y 2..8) on a base (y 8..10)
    comb = [
        (2, 2),
        (4, 2),
        (4, 8),
        (6, 8),
        (6, 2),
        (8, 2),
        (8, 8),
        (10, 8),
        (10, 2),
        (12, 2),
        (12, 10),
        (2, 10),
    ]
    covered = coverage_mask(_poly_out(comb), (16, 12), (16, 12))
    expected = np.zeros((12, 16), bool)
    for x0 in (2, 6, 10):
        expected[2:8, x0 : x0 + 2] = True
    expected[8:10, 2:12] = True
    np.testing.assert_array_equal(covered, expected)


def test_coverage_of_a_diamond_with_vertices_on_cell_centres():
    # |x − 6| + |y − 5.5| < 4: the left and right vertices lie on row 5's centre line
    diamond = [(2, 5.5), (6, 1.5), (10, 5.5), (6, 9.5)]
    covered = coverage_mask(_poly_out(diamond), (12, 12), (12, 12))
    cy, cx = np.mgrid[0:12, 0:12] + 0.5
    np.testing.assert_array_equal(covered, np.abs(cx - 6) + np.abs(cy - 5.5) < 4)
    assert covered[5].tolist() == [False] * 2 + [True] * 8 + [False] * 2


def test_coverage_of_a_surface_reaching_beyond_the_canvas():
    # the surface starts 10 px left of the canvas and ends 3 px short of its right edge
    out = _poly_out([(-10, 2), (13, 2), (13, 6), (-10, 6)], frame=(1, 1))
    out = OutputGeometry(
        "o", (40, 20), ((out.surfaces[0][0], np.array([[1.0, 0, 10], [0, 1, 0], [0, 0, 1]])),)
    )
    covered = coverage_mask(out, (16, 8), (16, 8))
    expected = np.zeros((8, 16), bool)
    expected[2:6, 0:13] = True
    np.testing.assert_array_equal(covered, expected)


# --- weights --------------------------------------------------------------------------------


def _strips(width_left=0.0, curve=1.0):
    outs = [_out("left", (0, 0, 60, 40)), _out("right", (40, 0, 96, 40))]
    cal = BlendCalibration(0.0, (EdgeBlend("left", "right", width_left, curve),))
    return outs, cal


def test_cross_fade_on_a_grid_at_half_the_canvas_resolution():
    """Overlap 40..60 on a 48 × 20 grid (cells 2 px): the distance is measured in canvas
    pixels (the cell next to the other's area is 1 px from it), and the automatic width
    is the overlap's, 20 px."""
    outs, _ = _strips()
    masks = blend_masks(CANVAS, outs, max_size=48)
    assert masks.grid_size == (48, 20) and masks.canvas_size_px == (96, 40)
    c = 2 * np.arange(48) + 1.0  # cell centres
    expected = np.where(c < 40, 1.0, np.where(c > 60, 0.0, _ramp((60 - c) / 20)))
    for row in (0, 10, 19):
        np.testing.assert_allclose(masks.weights["left"][row], expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(masks.weights["right"][row], 1 - expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(masks.overlap_count[0], np.where((c > 40) & (c < 60), 2, 1))


def test_cross_fade_at_full_resolution_is_the_ramp_exactly():
    outs, _ = _strips()
    masks = blend_masks(CANVAS, outs)
    c = np.arange(96) + 0.5
    expected = np.where(c < 40, 1.0, np.where(c > 60, 0.0, _ramp((60 - c) / 20)))
    np.testing.assert_allclose(masks.weights["left"][7], expected, rtol=0, atol=1e-12)


def test_a_manual_width_under_one_pixel_is_kept():
    # left fades over 0.5 px: every overlap cell is at least 0.5 px from the right's own
    # area, so left stays at full strength and right fades in over the overlap alone
    outs, cal = _strips(width_left=0.5)
    w = blend_masks(CANVAS, outs, cal).weights["left"][5]
    c = np.arange(40, 60) + 0.5
    f_right = _ramp((c - 40) / 20)
    np.testing.assert_allclose(w[40:60], 1 / (1 + f_right), rtol=0, atol=1e-12)


def _brute_distance(region: np.ndarray) -> np.ndarray:
    """Euclidean distance from every cell centre to the nearest cell of ``region``, less
    half a cell, at least 0 (float64, every pair)."""
    ys, xs = np.nonzero(region)
    gy, gx = np.mgrid[0 : region.shape[0], 0 : region.shape[1]]
    d2 = (gx[..., None] - xs) ** 2 + (gy[..., None] - ys) ** 2
    return np.maximum(np.sqrt(d2.min(axis=-1).astype(np.float64)) - 0.5, 0.0)


def test_distances_are_euclidean_round_a_corner():
    """Two rectangles overlapping at a corner: each fades with the Euclidean distance from
    the other's own area, which wraps round the corner (checked against every cell pair)."""
    canvas = (40, 30)
    outs = [_out("a", (0, 0, 25, 20)), _out("b", (15, 10, 40, 30))]
    masks = blend_masks(canvas, outs)
    cov = masks.coverage
    f = {}
    for o, n in (("a", "b"), ("b", "a")):
        region = cov[n] & ~cov[o]
        d = _brute_distance(region)
        overlap = cov[o] & cov[n]
        width = d[overlap].max() + 0.5
        f[o] = np.where(cov[o], _ramp(d / width), 0.0)
    total = f["a"] + f["b"]
    for o in ("a", "b"):
        expected = np.where(total > 0, f[o] / np.where(total > 0, total, 1), 0.0)
        np.testing.assert_allclose(masks.weights[o], expected, rtol=0, atol=1e-6)
    # the corner really bends the distance: a diagonal cell is not at its row's distance
    assert 0.0 < masks.weights["a"][18, 23] < 1.0


def test_an_output_inside_another_does_not_stop_it_fading_towards_a_third():
    # big spans 0..70, small lies within it (20..40), right overlaps big at 60..70: big
    # still fades out towards right over 60..70, whatever comes first in the list
    outs = [
        _out("big", (0, 0, 70, 40)),
        _out("small", (20, 0, 40, 40)),
        _out("right", (60, 0, 96, 40)),
    ]
    w = blend_masks(CANVAS, outs).weights
    c = np.arange(60, 70) + 0.5
    f_big = _ramp((70 - c) / 10)
    f_right = _ramp((c - 60) / 10)
    np.testing.assert_allclose(w["big"][3, 60:70], f_big / (f_big + f_right), rtol=0, atol=1e-12)
    np.testing.assert_allclose(w["right"][3, 60:70], f_right / (f_big + f_right), atol=1e-12)


def test_one_projector_gets_all_the_light_and_no_black_compensation():
    masks = blend_masks(CANVAS, [_out("solo", (10, 10, 50, 30))], BlendCalibration(0.04))
    m = masks.masks["solo"]
    assert m.dtype == np.float32 and m.shape == (40, 96, 2)
    inside = masks.coverage["solo"]
    assert inside.sum() == 40 * 20
    np.testing.assert_array_equal(m[..., 0][inside], 1.0)  # nothing to match: k_max = 1
    np.testing.assert_array_equal(m[..., 1], 0.0)
    np.testing.assert_array_equal(m[~inside], 0.0)
    assert masks.overlap_count.dtype == np.int64
    np.testing.assert_array_equal(masks.overlap_count, inside.astype(np.int64))


def test_black_level_per_output():
    outs, _ = _strips()
    masks = blend_masks(CANVAS, outs, BlendCalibration(0.05))
    left = masks.masks["left"][20]
    # one projector at x < 40: lift b·(2 − 1) = 0.05 on top of a weight 1, scaled by 0.95
    np.testing.assert_allclose(left[:40, 0], 0.95, rtol=0, atol=1e-7)
    np.testing.assert_allclose(left[:40, 1], 0.05, rtol=0, atol=1e-7)
    np.testing.assert_allclose(left[40:60, 1], 0.0, atol=1e-7)  # two projectors: no lift
    c = np.arange(40, 60) + 0.5
    np.testing.assert_allclose(left[40:60, 0], 0.95 * _ramp((60 - c) / 20), atol=1e-6)


def test_where_every_ramp_underflows_the_outputs_share_equally():
    """Five outputs lighting cell (5, 5), each also one cell of its own next to it (four
    beside it, one diagonally), every edge at curve 10 over 100 000 px: each output's ramps
    towards its four neighbours' cells multiply to below the smallest float, so no output
    fades in anywhere. The light is then shared equally among those covering a cell: 1/5
    each at the middle, all of it at each output's own cell."""
    polygons = {
        "e": _rect(5.1, 5.1, 6.9, 5.9),
        "w": _rect(4.1, 5.1, 5.9, 5.9),
        "s": _rect(5.1, 5.1, 5.9, 6.9),
        "n": _rect(5.1, 4.1, 5.9, 5.9),
        "se": np.array([[5.2, 5.4], [5.4, 5.2], [6.8, 6.6], [6.6, 6.8]]),
    }
    own = {"e": (6, 5), "w": (4, 5), "s": (5, 6), "n": (5, 4), "se": (6, 6)}
    outs = [OutputGeometry(k, (200, 100), ((p, IDENTITY),)) for k, p in polygons.items()]
    edges = tuple(EdgeBlend(a, b, 100_000.0, 10.0) for a, b in itertools.permutations(own, 2))
    masks = blend_masks((12, 12), outs, BlendCalibration(0.0, edges))
    for name, (x, y) in own.items():
        assert masks.coverage[name].sum() == 2, name
        w = masks.weights[name]
        assert w[5, 5] == pytest.approx(0.2, abs=1e-15), name
        assert w[y, x] == 1.0, name
    assert masks.overlap_count[5, 5] == 5
    total = sum(masks.weights.values())
    np.testing.assert_array_equal(total[masks.overlap_count > 0], 1.0)


def test_no_numpy_warnings_where_no_output_lights():
    outs = [_out("left", (0, 0, 60, 20)), _out("right", (40, 0, 96, 20))]  # y ≥ 20: dark
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        masks = blend_masks(CANVAS, outs, BlendCalibration(0.01))
    assert not masks.weights["left"][20:].any()


# --- the cache ------------------------------------------------------------------------------


def test_the_cache_key_is_every_name_number_and_setting():
    outs = [_out("a", (0, 0, 60, 40)), _out("b", (40, 0, 96, 40))]
    first = blend_masks(CANVAS, outs)
    assert set(first.weights) == {"a", "b"}
    renamed = blend_masks(CANVAS, [_out("c", (0, 0, 60, 40)), _out("d", (40, 0, 96, 40))])
    assert set(renamed.weights) == {"c", "d"}
    # the same polygon through another homography, the same homography on another polygon
    moved = np.array([[1.0, 0, -2], [0, 1, 0], [0, 0, 1]])
    other_H = [_out("a", (0, 0, 60, 40), H=moved), _out("b", (40, 0, 96, 40))]
    assert blend_masks(CANVAS, other_H) is not first
    other_polygon = [_out("a", (0, 0, 62, 40)), _out("b", (40, 0, 96, 40))]
    assert blend_masks(CANVAS, other_polygon).coverage["a"][0, 61]
    assert blend_masks(CANVAS, outs, max_size=48).grid_size == (48, 20)
    # integer arrays describe the same geometry as floats: the same entry
    as_int = [
        OutputGeometry(
            o.name,
            o.resolution,
            tuple((p.astype(np.int64), H.astype(np.int64)) for p, H in o.surfaces),
        )
        for o in outs
    ]
    assert blend_masks(CANVAS, as_int) is first


def test_the_cache_keeps_the_last_eight_results_used():
    outs = [_out("a", (0, 0, 8, 4))]
    blend._cache.clear()
    results = [blend_masks((8, 4), outs, BlendCalibration(0.01 * k)) for k in range(8)]
    assert blend_masks((8, 4), outs, BlendCalibration(0.0)) is results[0]  # 8 kept; used again
    blend_masks((8, 4), outs, BlendCalibration(0.2))  # a ninth: the least recently used goes
    assert blend_masks((8, 4), outs, BlendCalibration(0.0)) is results[0]
    assert blend_masks((8, 4), outs, BlendCalibration(0.01)) is not results[1]


# --- from a show ----------------------------------------------------------------------------


def test_geometry_and_masks_of_a_show_leave_hidden_surfaces_out(tmp_path: Path):
    from mapping.show import Canvas, Output, Show, Surface

    H2 = np.array([[2, 0, 0], [0, 2, 0], [0, 0, 1]])  # integers, as a parser might keep them
    surfaces = (
        Surface(
            "wall", "left", _rect(0, 0, 60, 40).astype(int), np.eye(3, dtype=int), "homography"
        ),
        Surface(
            "door", "left", _rect(70, 0, 80, 10).astype(int), np.eye(3, dtype=int), "homography"
        ),
        Surface("pier", "right", _rect(40, 0, 96, 40).astype(int), H2, "homography"),
    )
    outputs = (Output("left", (200, 100)), Output("right", (300, 100)))
    cal = BlendCalibration(0.04)
    show = Show(
        tmp_path, "t", Canvas(CANVAS), outputs, surfaces, (), (),
        blend=BlendSettings(True, None, cal),
    )  # fmt: skip
    geo = geometry_of(show, hidden=["door"])
    assert [g.name for g in geo] == ["left", "right"]
    assert [g.resolution for g in geo] == [(200, 100), (300, 100)]
    (wall,) = geo[0].surfaces
    (pier,) = geo[1].surfaces
    for array, expected in ((wall[0], _rect(0, 0, 60, 40)), (wall[1], np.eye(3)), (pier[1], H2)):
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, expected)
    assert len(geometry_of(show)[0].surfaces) == 2
    masks = show_blend_masks(show, hidden=["door"])
    assert masks.canvas_size_px == CANVAS
    assert not masks.coverage["left"][:, 60:].any()  # the door is hidden
    assert show_blend_masks(show).coverage["left"][5, 75]
    np.testing.assert_allclose(
        masks.masks["left"][20, :40, 1], 0.04, atol=1e-7
    )  # the show's black level
    assert masks is blend_masks(CANVAS, geo, cal)
    assert geometry_of(show, hidden=["wall", "door", "pier"])[0].surfaces == ()
    assert geometry_of(show, ["pier"])[1].surfaces == ()
    assert geometry_of(show, ())[1].surfaces[0][0].shape == (4, 2)
