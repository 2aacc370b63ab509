"""Real captures (kamino410/procam-calibration sample, OpenCV GrayCodePattern order): a camera,
a lens and a wall that no simulation made. Skipped when the shared data folder is absent.

The chessboard printed on the wall is one plane: its corners, found in the white capture,
must map to the projector through one homography. What the decoded correspondences say at
those corners is what the decoder and the solver must get right.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.capture import load_capture_folder
from calibration.decode import decode
from calibration.solve import (
    fit_camera_to_projector,
    projector_points_at,
    sample_correspondences,
)
from tests.conftest import IN_CI, SHARED_DATA

CAPTURES = SHARED_DATA / "graycode-real" / "capture_0"
pytestmark = pytest.mark.skipif(
    not CAPTURES.is_dir() and not IN_CI, reason=f"real captures not available ({CAPTURES})"
)


@pytest.fixture(scope="module")
def real():
    captures, layout, names = load_capture_folder(
        CAPTURES, projector_size=(1024, 768), layout_kind="opencv"
    )
    return captures, layout, decode(captures, layout, names=names)


@pytest.fixture(scope="module")
def chessboard_corners_camera_px(real) -> np.ndarray:
    captures, layout, _ = real
    white = captures[layout.white_index]
    found, corners = cv2.findChessboardCorners(white, (9, 7))
    assert found, "the 9x7 chessboard must be found in the white capture"
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 50, 1e-3)
    corners = cv2.cornerSubPix(white, corners, (5, 5), (-1, -1), criteria)
    return corners.reshape(-1, 2).astype(np.float64) + 0.5  # OpenCV → pixel centres at +0.5


def test_most_of_the_lit_wall_decodes(real):
    captures, layout, corr = real
    assert corr.proj_xy.shape == (1024, 1280, 2)
    assert corr.valid_fraction >= 0.68  # achieved 0.693
    white = captures[layout.white_index].astype(int)
    black = captures[layout.black_index].astype(int)
    lit = (white - black) > 40  # the source's own shadow threshold
    assert corr.valid[lit].mean() >= 0.91  # achieved 0.915
    decoded = corr.proj_xy[corr.valid]
    assert decoded.min() >= 0 and decoded[:, 0].max() <= 1024 and decoded[:, 1].max() <= 768


def test_noise_aware_thresholds_decode_at_least_what_fixed_ones_do(real):
    captures, layout, corr = real
    fixed = decode(captures, layout, noise_aware=False)
    assert corr.valid_fraction >= fixed.valid_fraction


def test_chessboard_corners_map_to_the_projector_through_one_homography(
    real, chessboard_corners_camera_px
):
    _, _, corr = real
    corners_projector_px = projector_points_at(corr, chessboard_corners_camera_px)
    assert np.isfinite(corners_projector_px).all()
    fit = fit_camera_to_projector(chessboard_corners_camera_px, corners_projector_px, blocks=3)
    assert fit.inlier_fraction == 1.0
    assert fit.fit.rms_px <= 0.18  # achieved 0.165 (the lens is not distortion-free)
    assert fit.fit.max_px <= 0.40
    assert fit.held_out.rms_px <= 0.22  # achieved 0.205, 3x3 checkerboard blocks held out
    assert fit.held_out.max_px <= 0.62


def test_every_decoded_pixel_on_the_chessboard_fits_within_gray_code_quantisation(
    real, chessboard_corners_camera_px
):
    """1-pixel Gray stripes without fringes: positions are whole pixels or stripe edges, so
    a perfect plane still leaves ~0.29 px per axis of rounding."""
    _, _, corr = real
    hull = cv2.convexHull(chessboard_corners_camera_px.astype(np.float32)).reshape(-1, 2)
    cam, proj = sample_correspondences(corr, hull)
    assert len(cam) == 20000
    fit = fit_camera_to_projector(cam, proj)
    assert fit.inlier_fraction >= 0.995
    assert fit.held_out.rms_px <= 0.39  # achieved 0.376
