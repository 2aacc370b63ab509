"""Blend weights (``mapping/blend.py``) as properties: for any layout of overlapping outputs
they lie in [0, 1], sum to 1 wherever a projector lights, vanish outside each output's
coverage and at its edges inside another's, and change smoothly (no step anywhere inside
an overlap)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from calibration.store import BlendCalibration, EdgeBlend
from mapping import geometry
from mapping.blend import OutputGeometry, blend_masks, coverage_mask, grid_size, smooth_ramp

CANVAS = (96, 40)


def _strip(name: str, x0: float, x1: float, frame=(64, 32)) -> OutputGeometry:
    """An output lighting canvas columns x0..x1 over the whole height."""
    polygon = np.array([[x0, 0], [x1, 0], [x1, CANVAS[1]], [x0, CANVAS[1]]], float)
    fw, fh = frame
    H = geometry.homography_from_points(polygon, np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]]))
    return OutputGeometry(name, frame, ((polygon, H),))


SPACING_PX = 10
HALF = np.diag([0.5, 0.5, 1.0])


@st.composite
def strips(draw):
    """2 to 4 strips left to right, each overlapping the next, every edge of one strip at
    least SPACING_PX from every edge of another (two or three may overlap at a point)."""
    n = draw(st.integers(2, 4))
    starts = [0.0] + [draw(st.floats(5.0, 85.0)) for _ in range(n - 1)]
    ends = [draw(st.floats(10.0, 91.0)) for _ in range(n - 1)] + [float(CANVAS[0])]
    starts.sort()
    ends.sort()
    events = sorted(starts[1:] + ends[:-1])
    assume(all(b - a >= SPACING_PX for a, b in itertools.pairwise(events)))
    assume(all(starts[i + 1] < ends[i] - SPACING_PX for i in range(n - 1)))  # overlaps
    assume(all(ends[i] - starts[i] >= 2 * SPACING_PX for i in range(n)))
    outs = [_strip(f"o{i}", starts[i], ends[i]) for i in range(n)]
    curves = {(a.name, b.name): draw(st.floats(0.5, 3.0)) for a in outs for b in outs if a is not b}
    cal = BlendCalibration(0.0, tuple(EdgeBlend(a, b, 0.0, c) for (a, b), c in curves.items()))
    return outs, cal


def _check_basic(masks, outs) -> None:
    total = sum(masks.weights[o.name] for o in outs)
    lit = masks.overlap_count > 0
    np.testing.assert_allclose(total[lit], 1.0, atol=1e-9)
    assert not total[~lit].any()
    for o in outs:
        w = masks.weights[o.name]
        assert w.min() >= 0.0 and w.max() <= 1.0 + 1e-12
        assert not w[~masks.coverage[o.name]].any()


@given(strips())
@settings(suppress_health_check=[HealthCheck.filter_too_much])  # spacing rules filter a lot
def test_weights_of_overlapping_strips_sum_to_one_and_change_smoothly(layout):
    outs, cal = layout
    masks = blend_masks(CANVAS, outs, cal)
    _check_basic(masks, outs)
    # continuous: a step stays a step however fine the grid, while a continuous weight's
    # change between neighbouring cells halves when the grid does. The same layout at twice
    # the scale must jump at most 0.6 times as much (a hard edge: 1.0 times).
    fine_outs = [
        OutputGeometry(o.name, o.resolution, ((o.surfaces[0][0] * 2, o.surfaces[0][1] @ HALF),))
        for o in outs
    ]
    fine = blend_masks((CANVAS[0] * 2, CANVAS[1] * 2), fine_outs, cal)
    for o in outs:
        jump = np.abs(np.diff(masks.weights[o.name], axis=1)).max()
        fine_jump = np.abs(np.diff(fine.weights[o.name], axis=1)).max()
        assert fine_jump <= 0.6 * jump + 0.005, (o.name, jump, fine_jump)
    # fades out at every edge that lies inside another output's coverage
    for o in outs:
        mine = masks.coverage[o.name]
        others = sum(masks.coverage[n.name] for n in outs if n is not o) > 0
        theirs_only = others & ~mine
        beside = np.zeros_like(mine)
        beside[:, 1:] |= theirs_only[:, :-1]
        beside[:, :-1] |= theirs_only[:, 1:]
        inner_edge = mine & beside
        if inner_edge.any():
            assert masks.weights[o.name][inner_edge].max() <= 0.12  # curve 0.5, 8 px


quads = st.lists(
    st.tuples(st.floats(-20, 70), st.floats(-10, 25), st.floats(30, 90), st.floats(15, 40)),
    min_size=2,
    max_size=4,
)


@given(quads)
def test_weights_of_any_overlapping_quads_are_shares_of_one(boxes):
    outs = []
    for i, (x, y, w, h) in enumerate(boxes):
        polygon = np.array([[x, y], [x + w, y + 2], [x + w, y + h], [x + 1, y + h - 3]], float)
        H = geometry.homography_from_points(polygon, np.array([[0, 0], [50, 0], [50, 30], [0, 30]]))
        outs.append(OutputGeometry(f"o{i}", (50, 30), ((polygon, H),)))
    _check_basic(blend_masks(CANVAS, outs), outs)


def test_two_strips_cross_fade_along_the_smooth_ramp_in_linear_light():
    """Overlap 40..60: the left output's share is 1 − ramp((x − 40) / 20) exactly."""
    outs = [_strip("left", 0, 60), _strip("right", 40, 96)]
    masks = blend_masks(CANVAS, outs)
    x = np.arange(CANVAS[0]) + 0.5
    expected_left = np.where(x < 40, 1.0, np.where(x > 60, 0.0, 1 - smooth_ramp((x - 40) / 20)))
    np.testing.assert_allclose(masks.weights["left"][10], expected_left, atol=0.02)
    np.testing.assert_allclose(masks.weights["right"][10], 1 - expected_left, atol=0.02)


def test_edge_width_and_curve_adjust_the_ramp():
    outs = [_strip("left", 0, 60), _strip("right", 40, 96)]
    narrow = BlendCalibration(0.0, (EdgeBlend("left", "right", 5.0, 1.0),))
    w = blend_masks(CANVAS, outs, narrow).weights["left"][10]
    # the left output now stays at full strength until 5 px from the right's own area …
    f_left = smooth_ramp((60 - (np.arange(40, 60) + 0.5)) / 5.0)
    f_right = smooth_ramp((np.arange(40, 60) + 0.5 - 40) / 20.0)
    np.testing.assert_allclose(w[40:60], f_left / (f_left + f_right), atol=0.03)
    steep = BlendCalibration(0.0, (EdgeBlend("left", "right", 0.0, 3.0),))
    w3 = blend_masks(CANVAS, outs, steep).weights["left"][10]
    assert w3[50] < blend_masks(CANVAS, outs).weights["left"][10][50] - 0.1


def test_stacked_projectors_share_equally_and_a_projector_within_another_fades_alone():
    stacked = [_strip("a", 10, 80), _strip("b", 10, 80)]
    masks = blend_masks(CANVAS, stacked)
    np.testing.assert_allclose(masks.weights["a"][masks.coverage["a"]], 0.5)
    inner = [_strip("big", 0, 96), _strip("small", 30, 60)]
    masks = blend_masks(CANVAS, inner)
    w_small = masks.weights["small"][10]
    assert w_small[31] < 0.05 and w_small[45] == w_small[30:61].max()
    assert 0.45 < w_small[45] <= 0.5


def test_black_level_lifts_the_single_covered_parts_to_the_overlap():
    outs = [_strip("left", 0, 60), _strip("right", 40, 96)]
    masks = blend_masks(CANVAS, outs, BlendCalibration(0.04))
    lift = sum(masks.masks[o.name][..., 1] for o in outs)
    gain = sum(masks.masks[o.name][..., 0] for o in outs)
    row_lift, row_gain = lift[10], gain[10]
    np.testing.assert_allclose(row_lift[:40], 0.04, atol=1e-6)  # one projector: +1 black
    np.testing.assert_allclose(row_lift[41:60], 0.0, atol=1e-6)  # two: none
    np.testing.assert_allclose(row_gain, 0.96, atol=1e-6)  # white stays one white + 1 black


def test_coverage_is_clipped_to_what_the_projector_frame_reaches():
    """A surface larger than its projector's frame: only the part the frame reaches is
    covered (checked cell by cell through the homography)."""
    polygon = np.array([[0, 0], [96, 0], [96, 40], [0, 40]], float)
    H = geometry.homography_from_points(
        np.array([[10, 5], [70, 8], [72, 35], [12, 33]], float),
        np.array([[0, 0], [40, 0], [40, 20], [0, 20]], float),
    )
    out = OutputGeometry("o", (40, 20), ((polygon, H),))
    grid = grid_size(CANVAS)
    covered = coverage_mask(out, CANVAS, grid)
    ys, xs = np.mgrid[0 : CANVAS[1], 0 : CANVAS[0]]
    q = geometry.apply_homography(H, np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1))
    inside = ((q[:, 0] >= 0) & (q[:, 0] < 40) & (q[:, 1] >= 0) & (q[:, 1] < 20)).reshape(
        CANVAS[::-1]
    )
    # cells whose centre lies within 0.01 px of the frame edge may go either way
    assert (covered != inside).sum() <= 2
    assert 0.2 * covered.size < covered.sum() < 0.8 * covered.size


def test_masks_are_cached_by_geometry_and_settings():
    outs = [_strip("left", 0, 60), _strip("right", 40, 96)]
    first = blend_masks(CANVAS, outs)
    assert blend_masks(CANVAS, [_strip("left", 0, 60), _strip("right", 40, 96)]) is first
    assert blend_masks(CANVAS, outs, BlendCalibration(0.01)) is not first
    assert blend_masks(CANVAS, [_strip("left", 0, 61), _strip("right", 40, 96)]) is not first
