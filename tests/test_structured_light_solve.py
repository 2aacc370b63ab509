"""Solving: decoded correspondences → H_canvas_to_projector, judged against the simulation's
ground-truth homography on a grid across the surface (float64, computed independently)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.decode import decode
from calibration.errors import CalibrationError
from calibration.simulation import mapping_error_px
from calibration.solve import (
    CameraModel,
    SurfaceSolution,
    checkerboard_folds,
    estimate_radial_distortion,
    fit_camera_to_projector,
    fit_canvas_to_camera,
    fit_homography,
    load_camera_model,
    nominal_camera_matrix,
    projector_footprint,
    projector_overlaps,
    sample_correspondences,
    solve_surface,
)
from tests.test_structured_light_decode import simulated


def solve(name: str, camera_model="truth") -> tuple[SurfaceSolution, object]:
    _scene, truth, layout, captures = simulated(name)
    corr = decode(captures, layout)
    model = truth.camera_model if camera_model == "truth" else camera_model
    solution = solve_surface(
        corr,
        name="facade",
        output="main",
        points_canvas_px=truth.surface_canvas_px,
        points_camera_px=truth.surface_camera_px,
        camera_model=model,
    )
    return solution, truth


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values))))


@pytest.mark.parametrize("name", ["default", "noise ×4", "strong barrel", "textured facade"])
def test_fitted_canvas_to_projector_matches_the_true_mapping(name):
    solution, truth = solve(name)
    error = mapping_error_px(solution.H_canvas_to_projector, truth)
    assert rms(error) <= 0.002
    assert error.max() <= 0.005
    assert solution.fit.held_out.rms_px <= 0.12
    assert solution.fit.held_out.points > 5000


def test_an_unmodelled_lens_shows_in_the_held_out_residual():
    with_lens, truth = solve("default")
    without, _ = solve("default", camera_model=None)
    assert with_lens.fit.held_out.rms_px <= 0.05
    assert without.fit.held_out.rms_px >= 0.25  # the residual warns the technician…
    assert rms(mapping_error_px(without.H_canvas_to_projector, truth)) >= 0.5  # …rightly


def test_radial_distortion_can_be_estimated_from_the_correspondences():
    _scene, truth, layout, captures = simulated("strong barrel")
    corr = decode(captures, layout)
    cam, proj = sample_correspondences(corr, truth.surface_camera_px)
    model = estimate_radial_distortion(cam, proj, corr.camera_size)
    assert model.dist[0] == pytest.approx(-0.3, abs=0.02)
    solution, _ = solve("strong barrel", camera_model=model)
    error = mapping_error_px(solution.H_canvas_to_projector, truth)
    assert rms(error) <= 0.05 and error.max() <= 0.10  # vs 1.7 px RMS unmodelled


def test_a_recessed_window_is_rejected_as_outliers_not_averaged_in():
    solution, truth = solve("recessed window")
    assert 0.85 <= solution.fit.inlier_fraction <= 0.95  # the window's share of the surface
    error = mapping_error_px(solution.H_canvas_to_projector, truth)
    assert rms(error) <= 0.002


def test_held_out_blocks_form_a_checkerboard_over_the_surface():
    xs, ys = np.meshgrid(np.arange(0.5, 400), np.arange(0.5, 400))
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    white = checkerboard_folds(points, blocks=4).reshape(400, 400)
    assert white[0, 0] and not white[0, 100] and not white[100, 0] and white[100, 100]
    assert white.mean() == pytest.approx(0.5)
    # Every block row and column holds both folds: held-out points span the whole surface.
    assert all(white[r].any() and (~white[r]).any() for r in range(0, 400, 100))


def test_held_out_residual_is_measured_on_points_the_fit_never_saw():
    rng = np.random.default_rng(0)
    cam = rng.uniform(0, 300, (4000, 2))
    H_true = np.array([[0.9, 0.05, 10], [-0.03, 1.1, 5], [1e-4, 2e-4, 1.0]])
    proj = cv2.perspectiveTransform(cam[None], H_true)[0] + rng.normal(0, 0.1, cam.shape)
    fit = fit_camera_to_projector(cam, proj)
    np.testing.assert_allclose(fit.H_camera_to_projector, H_true, rtol=1e-2, atol=1e-4)
    # Isotropic noise of 0.1 px per axis: RMS distance 0.1·√2.
    assert fit.fit.rms_px == pytest.approx(0.1 * np.sqrt(2), rel=0.05)
    assert fit.held_out.rms_px >= fit.fit.rms_px
    assert fit.held_out.rms_px == pytest.approx(0.1 * np.sqrt(2), rel=0.08)


def test_too_few_points_are_refused_with_what_to_do():
    with pytest.raises(CalibrationError, match=r"3 point\(s\); a homography needs at least 4"):
        fit_homography(np.zeros((3, 2)), np.zeros((3, 2)), what="marks")


def test_collinear_points_are_refused():
    line = np.stack([np.linspace(0, 100, 6), np.linspace(0, 50, 6)], axis=1)
    with pytest.raises(CalibrationError, match="collinear"):
        fit_canvas_to_camera(line, line + 3)


def test_canvas_and_camera_marks_must_pair_up():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10], [5, 5]], float)
    with pytest.raises(CalibrationError, match="5 points in canvas_px but 4 in camera_px"):
        fit_canvas_to_camera(square, square[:4])


def test_a_polygon_with_no_decoded_pixels_is_reported():
    _scene, truth, layout, captures = simulated("default")
    corr = decode(captures, layout)
    corner = np.array([[1, 1], [15, 1], [15, 15], [1, 15]], float)  # outside the projector
    with pytest.raises(CalibrationError, match="decoded camera pixels inside its polygon"):
        solve_surface(
            corr,
            name="nowhere",
            output="main",
            points_canvas_px=truth.surface_canvas_px,
            points_camera_px=truth.surface_camera_px,
            polygon_camera_px=corner,
        )


def test_lens_model_undistorts_what_it_distorts(tmp_path):
    model = CameraModel(nominal_camera_matrix((320, 240)), np.array([-0.2, 0.05, 0.001, 0.0]))
    points = np.array([[10.5, 10.5], [160.0, 120.0], [300.25, 220.75]])
    np.testing.assert_allclose(model.undistort(model.distort(points)), points, atol=1e-6)
    # The image centre (continuous (w/2, h/2): K's OpenCV centre + 0.5) does not move.
    np.testing.assert_allclose(model.distort(np.array([[160.0, 120.0]])), [[160.0, 120.0]])
    np.savez(tmp_path / "cam.npz", camera_matrix=model.K, dist_coeffs=model.dist)
    np.testing.assert_array_equal(load_camera_model(tmp_path / "cam.npz").dist, model.dist)
    (tmp_path / "cam.toml").write_text(f"K = {model.K.tolist()}\ndist = [-0.2, 0.05, 0, 0]\n")
    assert load_camera_model(tmp_path / "cam.toml").dist[0] == -0.2
    (tmp_path / "bad.toml").write_text("K = [[1, 0], [0, 1]]\ndist = [0, 0, 0, 0]\n")
    with pytest.raises(CalibrationError, match="K must be 3x3"):
        load_camera_model(tmp_path / "bad.toml")
    with pytest.raises(CalibrationError, match="cannot read the camera model"):
        load_camera_model(tmp_path / "missing.npz")


def test_two_projectors_on_one_canvas_report_their_overlap_in_canvas_px():
    """Footprints checked against a raster count over the canvas (independent of OpenCV's
    polygon intersection)."""
    size = (256, 192)
    # Left projector covers canvas x 0..600, right one x 400..1000 (scaled, slightly tilted).
    H_left = np.array([[256 / 600, 0.01, 0.0], [0.0, 192 / 700, 0.0], [0, 0, 1.0]])
    H_right = np.array([[256 / 600, -0.01, -400 * 256 / 600], [0, 192 / 700, 0], [0, 0, 1.0]])
    solutions = [
        SurfaceSolution("left-wall", "left", H_left, np.eye(3), None, 0),  # type: ignore[arg-type]
        SurfaceSolution("right-wall", "right", H_right, np.eye(3), None, 0),  # type: ignore[arg-type]
    ]
    overlaps = projector_overlaps(solutions, {"left": size, "right": size})
    assert len(overlaps) == 1
    overlap = overlaps[0]
    assert (overlap.first, overlap.second) == ("left-wall", "right-wall")

    canvas = np.zeros((700, 1000), np.uint8)
    masks = []
    for H in (H_left, H_right):
        mask = canvas.copy()
        footprint = projector_footprint(H, size) - 0.5
        cv2.fillPoly(mask, [np.round(footprint * 16).astype(np.int32)], 1, shift=4)
        masks.append(mask.astype(bool))
    raster_area = float(np.count_nonzero(masks[0] & masks[1]))
    assert overlap.area_canvas_px2 == pytest.approx(raster_area, rel=0.01)
    xs = overlap.polygon_canvas_px[:, 0]
    assert xs.min() == pytest.approx(400, abs=8) and xs.max() == pytest.approx(600, abs=8)
