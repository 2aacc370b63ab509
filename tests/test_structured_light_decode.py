"""Decoding simulated captures: every camera pixel must land where the simulation put it.

The simulated camera (``calibration.camera.FacadeScene``) knows the true projector position
of every camera pixel (float64, from its ground-truth homography and lens model); the
decoder never sees it. Tolerances sit just above what the decoder achieves for the fixed
seed, so a regression in accuracy fails here.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from calibration.camera import FacadeScene, render_sequence
from calibration.decode import decode
from calibration.errors import CalibrationError
from calibration.simulation import default_scene
from calibration.structured_light import generate_patterns, native_layout, opencv_layout

PROJECTOR = (256, 192)
CAMERA = (320, 240)
SEED = 3
BORDER_PX = 2.0
"""Camera pixels seeing within this many projector pixels (plus three defocus σ) of the
projector's frame edge are only partly lit, or see a fringe cut off by the edge; they are
left out of the accuracy checks."""


def _window_options() -> dict:
    w, h = CAMERA
    polygon = np.array([[0.42 * w, 0.38 * h], [0.56 * w, 0.38 * h], [0.56 * w, 0.58 * h],
                        [0.42 * w, 0.58 * h]])  # fmt: skip
    scene, _ = default_scene(PROJECTOR, CAMERA)
    recess = np.array([[1.02, 0, 7.0], [0, 1.02, 5.0], [0, 0, 1]])  # deeper: shifted, larger
    return {
        "window_polygon_camera_px": polygon,
        "H_projector_to_camera_window": recess @ scene.H_projector_to_camera,
    }


def _texture_albedo() -> np.ndarray:
    """A facade of bright stone (albedo 0.9) with dark patches (0.08)."""
    w, h = CAMERA
    noise = np.random.default_rng(5).random((h, w)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 4)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.where(smooth < 0.35, 0.08, 0.9).astype(np.float32)


# name: (scene options, per-pixel RMS tolerance px, per-pixel max tolerance px)
SWEEP = {
    "ideal": ("ideal", 0.013, 0.032),
    "default": ({}, 0.05, 0.16),
    "blur 2 px": ({"blur_px": 2.0}, 0.07, 0.22),
    "blur 3 px": ({"blur_px": 3.0}, 0.10, 0.32),
    "noise ×4": ({"noise_read": 4.0, "noise_shot": 0.2}, 0.125, 0.40),
    "ambient 50": ({"ambient": 50.0, "exposure": 150.0}, 0.075, 0.24),
    "vignetting 50 %": ({"vignetting": 0.5}, 0.05, 0.17),
    "gamma 2.8": ({"gamma": 2.8}, 0.05, 0.16),
    "strong barrel": ({"distortion": (-0.3, 0.1, 0.0, 0.0)}, 0.05, 0.16),
    "recessed window": ("window", 0.05, 0.16),
    "textured facade": ("texture", 0.12, 0.95),
}


@functools.cache
def simulated(name: str, layout_kind: str = "native"):
    options = SWEEP[name][0]
    if options == "ideal":
        options = {"distortion": None, "blur_px": 0, "gamma": 1.0, "noise_read": 0}
        options.update({"noise_shot": 0, "vignetting": 0, "ambient": 0})
    elif options == "window":
        options = _window_options()
    elif options == "texture":
        options = {"albedo": _texture_albedo()}
    options = dict(options)
    distortion = options.pop("distortion", (-0.12, 0.03, 0.0, 0.0))
    scene, truth = default_scene(PROJECTOR, CAMERA, distortion=distortion, **options)
    layout = native_layout(PROJECTOR) if layout_kind == "native" else opencv_layout(PROJECTOR)
    captures = render_sequence(scene, generate_patterns(layout), seed=SEED)
    return scene, truth, layout, captures


def true_proj_xy(scene: FacadeScene) -> np.ndarray:
    """float64 (h, w, 2): the projector_px every camera pixel centre sees."""
    w, h = scene.camera_size
    ys, xs = np.mgrid[0:h, 0:w]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    return scene.true_projector_xy(centres).reshape(h, w, 2)


def fully_lit(scene: FacadeScene, truth_xy: np.ndarray) -> np.ndarray:
    w, h = scene.projector_size
    x, y = truth_xy[..., 0], truth_xy[..., 1]
    m = BORDER_PX + 3 * scene.blur_px
    return (x > m) & (x < w - m) & (y > m) & (y < h - m)


def in_window(scene: FacadeScene) -> np.ndarray:
    w, h = scene.camera_size
    ys, xs = np.mgrid[0:h, 0:w]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    return scene.in_window(scene.ideal_camera_points(centres)).reshape(h, w)


def window_edge(scene: FacadeScene) -> np.ndarray:
    """Camera pixels within 2 px of the window outline: they see both planes at once (mixed
    pixels), so no single position is right; the solver's robust fit rejects them."""
    window = in_window(scene).astype(np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    return cv2.dilate(window, kernel) != cv2.erode(window, kernel)


@pytest.mark.parametrize("name", list(SWEEP))
def test_every_lit_camera_pixel_decodes_to_its_true_projector_position(name):
    scene, _, layout, captures = simulated(name)
    _, rms_tol, max_tol = SWEEP[name]
    corr = decode(captures, layout)
    truth_xy = true_proj_xy(scene)
    lit = fully_lit(scene, truth_xy)
    if scene.window_polygon_camera_px is not None:
        lit &= ~window_edge(scene)

    assert corr.proj_xy.dtype == np.float32 and corr.proj_xy.shape == (240, 320, 2)
    assert corr.confidence.dtype == np.float32 and corr.confidence.shape == (240, 320)
    assert corr.valid[lit].mean() >= 0.999
    error = np.linalg.norm(corr.proj_xy - truth_xy, axis=2)[lit & corr.valid]
    assert np.sqrt(np.mean(error**2)) <= rms_tol
    assert error.max() <= max_tol


def test_unlit_camera_pixels_are_nan_with_zero_confidence():
    scene, _, layout, captures = simulated("default")
    corr = decode(captures, layout)
    truth_xy = true_proj_xy(scene)
    w, h = PROJECTOR
    outside = (
        (truth_xy[..., 0] < -2) | (truth_xy[..., 0] > w + 2)
        | (truth_xy[..., 1] < -2) | (truth_xy[..., 1] > h + 2)
    )  # fmt: skip
    assert outside.mean() > 0.2
    assert np.all(np.isnan(corr.proj_xy[outside]))
    assert np.all(corr.confidence[outside] == 0)
    assert np.all((corr.confidence[corr.valid] > 0) & (corr.confidence[corr.valid] < 1))


def test_period_boundaries_unwrap_without_whole_period_jumps():
    """Pixels within half a pixel of a fringe-period boundary are as accurate as the rest."""
    scene, _, layout, captures = simulated("blur 3 px")
    corr = decode(captures, layout)
    truth_xy = true_proj_xy(scene)
    lit = fully_lit(scene, truth_xy) & corr.valid
    period = layout.columns.period_px
    near = np.abs(truth_xy[..., 0] - period * np.round(truth_xy[..., 0] / period)) < 0.5
    error = np.abs(corr.proj_xy[..., 0] - truth_xy[..., 0])[lit & near]
    assert error.size > 500
    assert error.max() <= 0.32  # the blur-3 tolerance, far from a period (16 px)


def test_pixel_centres_decode_at_plus_half():
    """A camera seeing the projector 1:1 reads pixel (i, j) at (j + 0.5, i + 0.5)."""
    scene = FacadeScene(PROJECTOR, PROJECTOR, np.eye(3), blur_px=0, gamma=1.0, noise_read=0,
                        noise_shot=0, vignetting=0, ambient=0)  # fmt: skip
    layout = native_layout(PROJECTOR)
    corr = decode(render_sequence(scene, generate_patterns(layout)), layout)
    w, h = PROJECTOR
    centres = np.stack(np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5), axis=-1)
    np.testing.assert_allclose(corr.proj_xy, centres, atol=0.007)


def test_recessed_window_pixels_decode_to_the_window_plane():
    scene, _, layout, captures = simulated("recessed window")
    corr = decode(captures, layout)
    truth_xy = true_proj_xy(scene)
    window = in_window(scene) & ~window_edge(scene) & fully_lit(scene, truth_xy) & corr.valid
    assert window.sum() > 1000
    error = np.linalg.norm(corr.proj_xy - truth_xy, axis=2)[window]
    assert error.max() <= 0.16


def test_noise_aware_thresholds_decode_dark_facade_parts_a_fixed_threshold_loses():
    scene, _, layout, captures = simulated("textured facade")
    truth_xy = true_proj_xy(scene)
    dark = fully_lit(scene, truth_xy) & (scene.albedo < 0.5)
    aware = decode(captures, layout)
    fixed = decode(captures, layout, noise_aware=False)
    # White − black is only ~15 grey levels there: under the fixed threshold of 40.
    assert aware.valid[dark].mean() >= 0.999
    assert fixed.valid[dark].mean() <= 0.001
    error = np.linalg.norm(aware.proj_xy - truth_xy, axis=2)[dark]
    assert np.sqrt(np.mean(error**2)) <= 0.33
    assert error.max() <= 0.95


def test_gray_code_alone_gives_whole_pixels():
    """OpenCV layout (1-pixel stripes, no fringes): within half a pixel per axis."""
    scene, _, layout, captures = simulated("default", "opencv")
    corr = decode(captures, layout)
    truth_xy = true_proj_xy(scene)
    lit = fully_lit(scene, truth_xy)
    assert corr.valid[lit].mean() >= 0.999
    error = np.abs(corr.proj_xy - truth_xy)[lit & corr.valid]
    assert error.max() <= 0.5
    assert np.sqrt(np.mean(np.sum(error**2, axis=1))) <= 0.32


# --------------------------------------------------------------------------- bad input


def test_wrong_number_of_captures_says_what_was_expected():
    _, _, layout, captures = simulated("default")
    with pytest.raises(CalibrationError, match=r"expected 38 captures for a 256x192 projector"):
        decode(captures[:-1], layout)


def test_a_capture_of_another_size_is_named():
    _, _, layout, captures = simulated("default")
    bad = list(captures)
    bad[7] = bad[7][:-10]
    names = [f"{i:02d}.png" for i in range(len(bad))]
    with pytest.raises(CalibrationError, match=r"07.png is 320x230 but the white capture is"):
        decode(bad, layout, names=names)


def test_covered_lens_is_reported():
    _, _, layout, captures = simulated("default")
    dark = [np.full_like(c, 2) for c in captures]
    with pytest.raises(CalibrationError, match="lens may be covered"):
        decode(dark, layout)


def test_overexposed_sequence_is_reported():
    _, _, layout, captures = simulated("default")
    bright = [np.clip(c.astype(int) * 4 + 60, 0, 255).astype(np.uint8) for c in captures]
    with pytest.raises(CalibrationError, match="overexposed"):
        decode(bright, layout)


def test_projector_that_never_changed_is_reported():
    _, _, layout, captures = simulated("default")
    frozen = [captures[layout.white_index]] * len(captures)
    with pytest.raises(CalibrationError, match="projector never changed"):
        decode(frozen, layout)


def test_pattern_equal_to_its_inverse_is_reported():
    """White and black came through, then the output froze on one pattern."""
    _, _, layout, captures = simulated("default")
    stuck = list(captures)
    frozen = captures[layout.columns.gray_pairs[0][0]]
    for i in range(2, len(stuck)):
        stuck[i] = frozen
    with pytest.raises(CalibrationError, match="pattern and its inverse"):
        decode(stuck, layout)
