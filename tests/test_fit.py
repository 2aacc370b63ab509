"""Spec for calibration.fit: a homography from measured point pairs, with every point's residual.

Expected values are computed here, independently: projector points are the canvas points
mapped through a known H with plain float64 numpy (``project`` below), noise is seeded.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.fit import FitError, fit_homography, reprojection_errors_px

# A right wing seen by a projector standing below and to the left (realistic keystone).
H_TRUE = np.array(
    [
        [1.449728729, -0.036812336, -1073.693598163],
        [-0.055994721, 0.777291943, -4.658402439],
        [-3.9562e-05, -6.1418e-05, 1.0],
    ]
)
# Twelve points a technician might pick on the wing: window corners, pier edges, sills.
POINTS_CANVAS_PX = np.array(
    [
        [820.0, 160.0],
        [1490.0, 170.0],
        [1480.0, 890.0],
        [810.0, 880.0],
        [1000.0, 300.0],
        [1300.0, 310.0],
        [1310.0, 600.0],
        [990.0, 620.0],
        [1150.0, 450.0],
        [900.0, 750.0],
        [1400.0, 760.0],
        [1150.0, 200.0],
    ]
)


def project(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Plain homogeneous mapping, written out: [u w, v w, w] = H [x, y, 1]."""
    x, y = points[:, 0], points[:, 1]
    w = H[2, 0] * x + H[2, 1] * y + H[2, 2]
    u = (H[0, 0] * x + H[0, 1] * y + H[0, 2]) / w
    v = (H[1, 0] * x + H[1, 1] * y + H[1, 2]) / w
    return np.stack([u, v], axis=1)


def max_mapping_error_px(H_a: np.ndarray, H_b: np.ndarray) -> float:
    """Largest distance between the two mappings over a grid covering the wing."""
    xs, ys = np.meshgrid(np.linspace(800, 1500, 15), np.linspace(150, 900, 15))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return float(np.max(np.linalg.norm(project(H_a, grid) - project(H_b, grid), axis=1)))


POINTS_PROJECTOR_PX = project(H_TRUE, POINTS_CANVAS_PX)


# --------------------------------------------------------------------------- exact and noisy


def test_exact_points_give_back_the_homography() -> None:
    fit = fit_homography(POINTS_CANVAS_PX, POINTS_PROJECTOR_PX)
    np.testing.assert_allclose(fit.H_canvas_to_projector, H_TRUE, rtol=1e-13, atol=0)
    assert fit.H_canvas_to_projector[2, 2] == 1.0
    assert fit.rms_px < 1e-11 and fit.max_px < 1e-11  # achieved: 5e-13
    assert fit.outliers == [] and fit.points == 12 and fit.robust


def test_four_points_fit_exactly_in_any_order() -> None:
    # Point pairs are not a corner pin: a "bow-tie" order of the same four points is fine.
    order = [0, 2, 1, 3]
    fit = fit_homography(POINTS_CANVAS_PX[order], POINTS_PROJECTOR_PX[order])
    assert max_mapping_error_px(fit.H_canvas_to_projector, H_TRUE) < 1e-10
    assert not fit.robust


def test_noisy_clicks_fit_better_than_the_clicks_themselves() -> None:
    rng = np.random.default_rng(7)
    clicked = POINTS_PROJECTOR_PX + rng.normal(0, 0.5, POINTS_PROJECTOR_PX.shape)
    fit = fit_homography(POINTS_CANVAS_PX, clicked)
    # 24 measurements, 8 degrees of freedom: residual RMS ≈ σ·√(2·16/24) ≈ 0.58 px.
    assert 0.35 < fit.rms_px < 0.75  # this draw: 0.50
    np.testing.assert_allclose(
        fit.residuals_px,
        np.linalg.norm(project(fit.H_canvas_to_projector, POINTS_CANVAS_PX) - clicked, axis=1),
        rtol=1e-9,
    )
    # The fitted mapping stays near the truth everywhere on the wing (this draw: 0.55 px).
    assert max_mapping_error_px(fit.H_canvas_to_projector, H_TRUE) < 0.6
    assert fit.outliers == []


def test_least_squares_beats_the_linear_start() -> None:
    # The refinement minimises the projector-pixel error, which the DLT only approximates.
    rng = np.random.default_rng(3)
    clicked = POINTS_PROJECTOR_PX + rng.normal(0, 2.0, POINTS_PROJECTOR_PX.shape)
    fit = fit_homography(POINTS_CANVAS_PX, clicked, robust=False, outlier_threshold_px=50)
    from calibration.fit import _dlt

    dlt_errors = reprojection_errors_px(_dlt(POINTS_CANVAS_PX, clicked), POINTS_CANVAS_PX, clicked)
    assert np.sum(fit.residuals_px**2) < np.sum(dlt_errors**2)


def test_a_wrong_click_stands_out_and_does_not_drag_the_fit() -> None:
    rng = np.random.default_rng(11)
    clicked = POINTS_PROJECTOR_PX + rng.normal(0, 0.3, POINTS_PROJECTOR_PX.shape)
    wrong = 6
    clicked[wrong] += [38.0, -25.0]  # the crosshair was put on the neighbouring window
    fit = fit_homography(POINTS_CANVAS_PX, clicked)
    assert fit.outliers == [wrong]
    # its residual is the planted error (seen from the true mapping), give or take noise
    assert fit.residuals_px[wrong] == pytest.approx(np.hypot(38.0, 25.0), abs=0.5)
    assert fit.rms_px < 0.3  # over the 11 good points (σ = 0.3 px; this draw: 0.27)
    assert max_mapping_error_px(fit.H_canvas_to_projector, H_TRUE) < 0.6  # this draw: 0.53


def test_with_eight_points_a_wrong_click_is_found_by_holding_each_point_out() -> None:
    # Too few points for a consensus vote: each point is predicted from the other seven.
    # Only point 5 explains everything as one wrong click (without it the rest agree).
    clicked = POINTS_PROJECTOR_PX[:8].copy()
    clicked[5] += [30.0, 0.0]
    fit = fit_homography(POINTS_CANVAS_PX[:8], clicked)
    assert not fit.robust
    assert fit.outliers == [5] and fit.suspects == []
    assert fit.residuals_px[5] == pytest.approx(30.0, abs=1e-9)
    assert fit.rms_px < 1e-11
    # Held-out errors alone would have blamed point 1: the others agree only without 5.
    assert fit.held_out_px is not None and int(np.argmax(fit.held_out_px)) != 5


def test_two_wrong_clicks_among_few_points_are_suspects_not_silently_fitted() -> None:
    clicked = POINTS_PROJECTOR_PX[:7].copy()
    clicked[2] += [25.0, 0.0]
    clicked[5] += [0.0, -20.0]
    fit = fit_homography(POINTS_CANVAS_PX[:7], clicked)
    assert fit.outliers == []  # no single point explains it: none is dropped
    assert 5 in fit.suspects  # but the fit is flagged as pulled by bad points
    assert fit.max_px > fit.outlier_threshold_px


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("canvas", "projector", "words"),
    [
        (POINTS_CANVAS_PX[:3], POINTS_PROJECTOR_PX[:3], "at least 4 point pairs, got 3"),
        (POINTS_CANVAS_PX[:5], POINTS_PROJECTOR_PX[:4], "5 canvas points but 4 projector points"),
        (
            np.vstack([POINTS_CANVAS_PX[:2], [[np.nan, 1.0]], POINTS_CANVAS_PX[3:6]]),
            POINTS_PROJECTOR_PX[:6],
            "not finite: point 2",
        ),
        (
            np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 20.0], [30.0, 30.0], [40.0, 40.0]]),
            POINTS_PROJECTOR_PX[:5],
            "canvas points are degenerate: all 5 points lie on one line",
        ),
        (
            np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [5.0, 30.0]]),
            POINTS_PROJECTOR_PX[:4],
            "3 of the 4 distinct points lie on one line",
        ),
        (
            np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [10.0, 10.0], [0.0, 0.0]]),
            POINTS_PROJECTOR_PX[:5],
            "only 3 distinct points",
        ),
        (
            np.array([[0, 0], [10, 0], [20, 0], [30, 0], [40, 0], [5, 30.0]]),
            POINTS_PROJECTOR_PX[:6],
            "5 of the 6 distinct points lie on one line",
        ),
        ([[1, 2, 3]] * 4, POINTS_PROJECTOR_PX[:4], "expected a list of [x, y] points"),
    ],
    ids=[
        "three",
        "mismatched",
        "nan",
        "collinear",
        "three-collinear",
        "duplicates",
        "five-on-a-line",
        "not-2d",
    ],
)
def test_bad_point_sets_get_clear_messages(canvas, projector, words: str) -> None:
    with pytest.raises(FitError, match=None) as info:
        fit_homography(canvas, projector)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- properties


@st.composite
def homography_and_points(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A corner pin of a 1600×900 canvas onto a jittered 1920×1080 output, and 4..20 points."""
    jitter = draw(st.lists(st.floats(-250, 250, allow_nan=False), min_size=8, max_size=8))
    target = np.array([[0, 0], [1920, 0], [1920, 1080], [0, 1080]], float) + np.reshape(
        jitter, (4, 2)
    )
    source = np.array([[0, 0], [1600, 0], [1600, 900], [0, 900]], float)
    import cv2

    H = cv2.getPerspectiveTransform(source.astype(np.float32), target.astype(np.float32))
    H = H.astype(np.float64) / H[2, 2]
    count = draw(st.integers(4, 20))
    seed = draw(st.integers(0, 2**32 - 1))
    points = np.random.default_rng(seed).uniform([0, 0], [1600, 900], (count, 2))
    return H, points


@settings(max_examples=40, deadline=None)
@given(homography_and_points())
def test_property_exact_pairs_round_trip(case: tuple[np.ndarray, np.ndarray]) -> None:
    H, points_canvas_px = case
    try:
        fit = fit_homography(points_canvas_px, project(H, points_canvas_px))
    except FitError as exc:  # only a genuinely degenerate random draw may fail
        assert "line" in str(exc) or "distinct" in str(exc)
        return
    assert fit.max_px < 1e-8
    assert fit.outliers == []
    # the fitted mapping agrees with H wherever the canvas is, not just at the points
    xs, ys = np.meshgrid(np.linspace(0, 1600, 9), np.linspace(0, 900, 9))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    assert np.max(np.abs(project(fit.H_canvas_to_projector, grid) - project(H, grid))) < 1e-7


@settings(max_examples=25, deadline=None)
@given(homography_and_points(), st.randoms(use_true_random=False))
def test_property_point_order_does_not_matter(case, rnd) -> None:
    H, points_canvas_px = case
    rng = np.random.default_rng(rnd.randrange(2**32))
    clicked = project(H, points_canvas_px) + rng.normal(0, 0.5, points_canvas_px.shape)
    order = rng.permutation(len(points_canvas_px))
    try:
        a = fit_homography(points_canvas_px, clicked, robust=False, outlier_threshold_px=100)
    except FitError:
        return
    b = fit_homography(
        points_canvas_px[order], clicked[order], robust=False, outlier_threshold_px=100
    )
    np.testing.assert_allclose(b.residuals_px, a.residuals_px[order], atol=1e-6)
