"""The GL warp is exact: it matches the numpy/OpenCV maths to the grey level and sub-pixel.

Specification (issue 2, tightened in issue 13 to just above what is achieved, so that a
sampling position off by a fiftieth of a pixel fails): a rendered warp of a test image
matches ``cv2.warpPerspective`` with the same homography (bilinear, same pixel-centre
convention) within 0.01 grey levels mean absolute error, 0 at the 99th percentile and 1 at
most, for several oblique homographies; and the corners of a rendered checkerboard, found
with OpenCV, land where the numpy maths says within 0.06 px, with no common shift beyond
0.012 px.

Measured on Mesa llvmpipe: mean ≤ 0.0037, p99 0, max 1; corners ≤ 0.046 px, common shift
0.006 px. A warp sampling 0.02 px off gives mean ≥ 0.13 and a corner shift ≥ 0.026 px.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mapping import geometry
from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from tests.showkit import single_surface_show, textured_image

CANVAS = (160, 120)
OUTPUT = (200, 150)

# Tolerances, just above the measured figures in the module docstring (llvmpipe, CI).
MEAN_ABS_ERROR_MAX = 0.01
P99_ERROR_MAX = 0
ERROR_MAX = 1
# GPUs quantise bilinear weights in the texture unit (8 bits): measured on the NVIDIA H200
# lent on 2026-11-26, mean 0.024–0.030 grey levels, p99 1, max 1 over the 4 pins (a warp
# 0.02 px off measures 0.072 there), so hardware drivers get their own, still tight, limits.
HARDWARE_MEAN_ABS_ERROR_MAX = 0.033
HARDWARE_P99_ERROR_MAX = 1


def _limits(ctx) -> tuple[float, float, int]:
    """(mean, p99, max) error limits for the GL driver under test."""
    if "llvmpipe" in ctx.info["GL_RENDERER"]:
        return MEAN_ABS_ERROR_MAX, P99_ERROR_MAX, ERROR_MAX
    return HARDWARE_MEAN_ABS_ERROR_MAX, HARDWARE_P99_ERROR_MAX, ERROR_MAX


CORNER_ERROR_MAX_PX = 0.06
CORNER_SHIFT_MAX_PX = 0.012

# Oblique corner pins: where the canvas corners (TL, TR, BR, BL) land in projector_px.
OBLIQUE_PINS = {
    "keystone": [[30, 10], [170, 25], [185, 140], [12, 120]],
    "strong-perspective": [[60, 20], [140, 20], [196, 146], [4, 146]],
    "rotated-skewed": [[100, 5], [195, 70], [110, 145], [10, 60]],
    "vanishing-left": [[5, 40], [190, 5], [190, 145], [5, 110]],
}


def _H_for(pins: list[list[float]]) -> np.ndarray:
    w, h = CANVAS
    canvas_corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    return geometry.homography_from_points(canvas_corners, np.array(pins, dtype=np.float64))


def _render(ctx, tmp_path, image: np.ndarray, H: np.ndarray) -> np.ndarray:
    show = single_surface_show(tmp_path, image, H, OUTPUT)
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        return renderer.read_output("out").copy()
    finally:
        renderer.release()


def _interior_mask(H: np.ndarray, margin_px: int = 2) -> np.ndarray:
    """Output pixels whose whole bilinear footprint is inside the canvas (edges excluded)."""
    w, h = CANVAS
    ones = np.full((h, w), 255, np.uint8)
    mask = geometry.warp_image_reference(ones, H, OUTPUT)
    mask = cv2.erode((mask == 255).astype(np.uint8), np.ones((2 * margin_px + 1,) * 2, np.uint8))
    return mask.astype(bool)


@pytest.mark.parametrize("name", sorted(OBLIQUE_PINS))
def test_rendered_warp_matches_cv2_warpPerspective(ctx, tmp_path, name):
    H = _H_for(OBLIQUE_PINS[name])
    image = textured_image(*CANVAS)
    rendered = _render(ctx, tmp_path, image, H)[..., :3].astype(np.int16)
    expected = geometry.warp_image_reference(image[..., :3], H, OUTPUT).astype(np.int16)
    inside = _interior_mask(H)
    assert inside.sum() > 0.2 * OUTPUT[0] * OUTPUT[1]
    err = np.abs(rendered - expected)[inside]
    mean_max, p99_max, max_max = _limits(ctx)
    assert err.mean() <= mean_max, f"{name}: mean abs error {err.mean():.4f}"
    assert np.percentile(err, 99) <= p99_max, f"{name}: p99 {np.percentile(err, 99)}"
    assert err.max() <= max_max, f"{name}: max error {err.max()}"


@pytest.mark.parametrize("shift_px", [(0.02, 0.0), (0.0, -0.02), (0.014, 0.014)])
def test_the_tolerance_rejects_a_warp_a_fiftieth_of_a_pixel_off(ctx, tmp_path, shift_px):
    """Regression guard for the tolerances themselves: a reference sampled 0.02 px away from
    where it should be (as a shader off by that much would be) is outside them."""
    H = _H_for(OBLIQUE_PINS["keystone"])
    image = textured_image(*CANVAS)
    rendered = _render(ctx, tmp_path, image, H)[..., :3].astype(np.int16)
    # a reference that samples the canvas at H⁻¹(p + shift) instead of H⁻¹(p)
    T_shift = np.array([[1, 0, -shift_px[0]], [0, 1, -shift_px[1]], [0, 0, 1.0]])
    H_off = T_shift @ H
    off = geometry.warp_image_reference(image[..., :3], H_off, OUTPUT).astype(np.int16)
    err = np.abs(rendered - off)[_interior_mask(H)]
    # measured 0.064–0.092 on llvmpipe, 0.072–0.103 on the H200: twice the limit or more
    assert err.mean() > 2 * _limits(ctx)[0]


def test_pixels_outside_the_surface_polygon_stay_black(ctx, tmp_path):
    H = _H_for(OBLIQUE_PINS["keystone"])
    rendered = _render(ctx, tmp_path, textured_image(*CANVAS), H)
    w, h = CANVAS
    outline = geometry.apply_homography(H, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    covered = np.zeros(OUTPUT[::-1], np.uint8)
    # grow the polygon by 1 px to allow for the edge pixels rasterisation may light
    cv2.fillPoly(covered, [np.round(outline - 0.5).astype(np.int32)], 1)
    covered = cv2.dilate(covered, np.ones((3, 3), np.uint8))
    assert not rendered[covered == 0][:, :3].any()


def test_checkerboard_corners_land_where_the_homography_says(ctx, tmp_path):
    # A 9×7-square board of 32 px squares on a white 400×300 canvas, warped obliquely.
    square, cols, rows, x0, y0 = 32, 9, 7, 56, 38
    canvas = (400, 300)
    ys, xs = np.mgrid[0 : canvas[1], 0 : canvas[0]]
    on_board = (xs >= x0) & (xs < x0 + cols * square) & (ys >= y0) & (ys < y0 + rows * square)
    black = (((xs - x0) // square) + ((ys - y0) // square)) % 2 == 1
    grey_canvas = np.where(on_board & black, 0, 255).astype(np.uint8)
    # Soften the edges (a symmetric blur keeps each X-corner where it is): OpenCV's sub-pixel
    # corner finder is biased by ~0.13 px on pixel-sharp boards, even on its own warps.
    grey_canvas = cv2.GaussianBlur(grey_canvas, (0, 0), 1.5)
    image = np.dstack([grey_canvas] * 3 + [np.full_like(grey_canvas, 255)])
    w, h = canvas
    H = geometry.homography_from_points(
        np.array([[0, 0], [w, 0], [w, h], [0, h]], float),
        np.array([[40, 18], [372, 40], [390, 290], [18, 270]], float),
    )
    show = single_surface_show(tmp_path, image, H, (400, 300))
    renderer = Renderer(ctx, show)
    renderer.render(CueEngine(show).tick(0.0))
    rendered = renderer.read_output("out").copy()
    renderer.release()
    grey = cv2.cvtColor(rendered[..., :3], cv2.COLOR_RGB2GRAY)
    found, corners_cv = cv2.findChessboardCorners(grey, (cols - 1, rows - 1))
    assert found
    corners_cv = cv2.cornerSubPix(
        grey,
        corners_cv,
        (7, 7),
        (-1, -1),
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4),
    ).reshape(-1, 2)
    # Inner corners in canvas_px sit on square edges (continuous coordinates).
    gx, gy = np.meshgrid(x0 + np.arange(1, cols) * square, y0 + np.arange(1, rows) * square)
    canvas_corners = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float64)
    expected_projector_px = geometry.apply_homography(H, canvas_corners)
    found_projector_px = corners_cv + geometry.PIXEL_CENTER_OFFSET  # OpenCV → our convention
    # OpenCV may list the grid starting from either end: match each expected corner.
    dists = np.linalg.norm(expected_projector_px[:, None] - found_projector_px[None], axis=2)
    assert dists.min(axis=1).max() < CORNER_ERROR_MAX_PX, dists.min(axis=1)
    nearest = found_projector_px[dists.argmin(axis=1)]
    common_shift = (nearest - expected_projector_px).mean(axis=0)
    assert np.linalg.norm(common_shift) < CORNER_SHIFT_MAX_PX, common_shift
