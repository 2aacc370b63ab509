"""Soft-edge blending (issue 9): overlapping projectors add up to a flat picture.

Every output of an overlapping setup is rendered headless, then carried back onto the
canvas through its own mapping by a simulated camera (``cv2.warpPerspective`` with the
inverse homography, in linear light: each output's 8-bit signal decoded with its own
gamma), and the outputs' light is summed. A flat canvas must come out flat within 1 %
everywhere any projector lights, overlaps included; without blending the overlaps are
twice as bright (the test can fail). The expected values come from the physics of the
setup (light adds up), not from ``mapping/blend.py``.

Measured on Mesa llvmpipe: worst point 0.53 % (two outputs, gammas 2.2 and 2.6), 0.44 %
(three outputs), 0.99 % of a mid grey; with black-level compensation black is flat within
0.034 % of white and white within 0.45 %.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.store import BlendCalibration
from mapping import geometry
from mapping.blend import BlendSettings, blend_masks, geometry_of
from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.show import Canvas, Layer, Output, Show, Surface

CANVAS = (240, 120)
FLAT_TOLERANCE = 0.01
EDGE_MARGIN_PX = 4
"""The simulated camera checks points this far inside the lit area (bilinear sampling
blurs the outermost pixels of every projector)."""
OUTPUT_SIZE = (160, 120)


def _output(name: str, x0: float, x1: float, gamma: float, tilt: float) -> tuple[Output, Surface]:
    """An output whose whole frame lands on canvas columns x0..x1, keystoned, overshooting
    the canvas at the top and bottom (so that only the vertical edges meet inside it)."""
    w, h = OUTPUT_SIZE
    polygon = np.array(
        [[x0, -2 - tilt], [x1, -2], [x1, CANVAS[1] + 2], [x0, CANVAS[1] + 2 + tilt]],
        dtype=np.float64,
    )
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    H = geometry.homography_from_points(polygon, frame)
    surface = Surface(f"{name}-surface", name, polygon, H, "homography")
    return Output(name, OUTPUT_SIZE, gamma=gamma), surface


def _show(tmp_path, spans, *, enabled=True, black=0.0, colour=(1.0, 1.0, 1.0, 1.0)) -> Show:
    pairs = [_output(name, x0, x1, gamma, tilt) for name, x0, x1, gamma, tilt in spans]
    layer = Layer("flat", "solid", colour, region_canvas_px=(0.0, 0.0, *map(float, CANVAS)))
    return Show(
        tmp_path,
        "blend-test",
        Canvas(CANVAS),
        tuple(o for o, _ in pairs),
        tuple(s for _, s in pairs),
        (layer,),
        (),
        blend=BlendSettings(enabled, None, BlendCalibration(black_level=black)),
    )


def _camera_sum(ctx, show: Show, black: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Light on the canvas summed over every output (linear, 1 = one projector's white),
    and the canvas cells inside every projector's footprint by at least 2 px."""
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        images = {o.name: renderer.read_output(o.name)[..., :3].copy() for o in show.outputs}
    finally:
        renderer.release()
    total = np.zeros((CANVAS[1], CANVAS[0], 3))
    lit = np.zeros(CANVAS[::-1], bool)
    for out in show.outputs:
        (surface,) = show.surfaces_on(out.name)
        # a projector's light: its black everywhere on its frame, plus its signal decoded
        light = black + (images[out.name].astype(np.float64) / 255.0) ** out.gamma
        H_back = geometry.to_opencv_homography(surface.H_projector_to_canvas)
        total += cv2.warpPerspective(light, H_back, CANVAS, flags=cv2.INTER_LINEAR)
        footprint = cv2.warpPerspective(
            np.ones(OUTPUT_SIZE[::-1], np.uint8), H_back, CANVAS, flags=cv2.INTER_NEAREST
        )
        lit |= footprint.astype(bool)
    kernel = np.ones((2 * EDGE_MARGIN_PX + 1,) * 2, np.uint8)
    interior = cv2.erode(
        lit.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0
    )
    interior = interior.astype(bool)
    return total, interior


TWO = [("left", 0, 150, 2.2, 6.0), ("right", 90, 240, 2.6, 4.0)]
THREE = [("a", 0, 140, 2.2, 5.0), ("b", 50, 190, 2.4, 3.0), ("c", 100, 240, 2.2, 4.0)]


@pytest.mark.parametrize("spans", [TWO, THREE], ids=["two-outputs", "three-outputs"])
def test_flat_white_comes_out_flat_across_every_overlap(ctx, tmp_path, spans):
    show = _show(tmp_path, spans)
    total, interior = _camera_sum(ctx, show)
    count = blend_masks(CANVAS, geometry_of(show)).overlap_count
    overlaps = interior & (count >= 2)
    assert overlaps.sum() > 0.2 * interior.sum()
    if len(spans) == 3:
        assert (interior & (count == 3)).sum() > 0.1 * interior.sum()
    error = np.abs(total[interior] - 1.0)
    assert error.max() <= FLAT_TOLERANCE, f"worst {error.max():.4f}"


def test_without_blending_the_overlap_is_twice_as_bright(ctx, tmp_path):
    show = _show(tmp_path, TWO, enabled=False)
    total, interior = _camera_sum(ctx, show)
    count = blend_masks(CANVAS, geometry_of(show)).overlap_count
    kernel = np.ones((2 * EDGE_MARGIN_PX + 1,) * 2, np.uint8)
    for k in (1, 2):
        inside = cv2.erode((count == k).astype(np.uint8), kernel).astype(bool) & interior
        assert inside.sum() > 1000
        assert np.abs(total[inside] - k).max() < 0.01


def test_a_flat_grey_is_flat_too_when_the_projectors_share_a_gamma(ctx, tmp_path):
    spans = [(n, x0, x1, 2.2, t) for n, x0, x1, _, t in TWO]
    grey = 128 / 255
    show = _show(tmp_path, spans, colour=(grey, grey, grey, 1.0))
    total, interior = _camera_sum(ctx, show)
    expected = grey**2.2
    assert np.abs(total[interior] / expected - 1.0).max() <= 0.012


@pytest.mark.parametrize("colour", [0.0, 1.0], ids=["black", "white"])
def test_black_level_compensation_evens_out_the_projectors_black(ctx, tmp_path, colour):
    """Each projector adds its black (2 % of its white) over its whole frame: the overlap's
    black is doubled unless the rest is lifted to match. Black and white both come out
    flat: black at 2 blacks, white at one white plus one black."""
    black = 0.02
    show = _show(tmp_path, TWO, black=black, colour=(colour, colour, colour, 1.0))
    total, interior = _camera_sum(ctx, show, black=black)
    # black steps where a projector's frame ends; the lift steps with it, on the mask grid
    # (half a pixel apart at most): points next to those steps are left out
    count = blend_masks(CANVAS, geometry_of(show)).overlap_count
    step = cv2.morphologyEx(count.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    near_step = cv2.dilate(step, np.ones((2 * EDGE_MARGIN_PX + 1,) * 2, np.uint8)) > 0
    inside = interior & ~near_step
    expected = 2 * black if colour == 0.0 else 1.0 + black
    error = np.abs(total[inside] - expected).max()
    assert error <= (0.0005 if colour == 0.0 else FLAT_TOLERANCE), f"worst {error:.4f}"
    # and without compensation the black is uneven by one projector's black
    plain = _show(tmp_path, TWO, black=0.0, colour=(colour, colour, colour, 1.0))
    total, interior = _camera_sum(ctx, plain, black=black)
    assert np.ptp(total[interior]) > 0.8 * black
