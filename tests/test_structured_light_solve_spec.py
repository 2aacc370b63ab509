"""Solving specified on synthetic correspondences with known answers (no simulated captures).

Every expected value is computed here independently of ``calibration.solve``: homographies
applied with float64 numpy, the Brown–Conrady lens written out, literal checkerboard folds,
percentiles and matrices worked out by hand.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from calibration.decode import Correspondences
from calibration.errors import CalibrationError
from calibration.solve import (
    CameraModel,
    Residuals,
    SurfaceSolution,
    checkerboard_folds,
    compose_canvas_to_projector,
    estimate_radial_distortion,
    fit_camera_to_projector,
    fit_canvas_to_camera,
    fit_homography,
    load_camera_model,
    nominal_camera_matrix,
    projector_footprint,
    projector_overlaps,
    projector_points_at,
    sample_correspondences,
    save_camera_model,
    solve_surface,
)

H_TRUE = np.array([[1.2, 0.1, 5.0], [0.05, 0.9, -3.0], [4e-4, 2e-4, 1.0]])


def apply(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64)
    homog = np.c_[pts, np.ones(len(pts))] @ H.T
    return homog[:, :2] / homog[:, 2:]


def brown_distort(points: np.ndarray, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """OpenCV's lens model written out (pixel centres at +0.5 in and out)."""
    k1, k2, p1, p2 = dist
    x = (points[:, 0] - 0.5 - K[0, 2]) / K[0, 0]
    y = (points[:, 1] - 0.5 - K[1, 2]) / K[1, 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd * K[0, 0] + K[0, 2] + 0.5, yd * K[1, 1] + K[1, 2] + 0.5], axis=1)


def grid_corr(w: int = 40, h: int = 30, H: np.ndarray = H_TRUE) -> Correspondences:
    """Every camera pixel centre decoded exactly through ``H``."""
    ys, xs = np.mgrid[0:h, 0:w]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    proj = apply(H, centres).reshape(h, w, 2).astype(np.float32)
    return Correspondences(proj, np.full((h, w), 0.8, np.float32), (64, 48))


# --------------------------------------------------------------------------- camera lens


def test_nominal_camera_matrix_is_the_longer_side_centred():
    np.testing.assert_array_equal(
        nominal_camera_matrix((640, 480)), [[640, 0, 319.5], [0, 640, 239.5], [0, 0, 1]]
    )
    np.testing.assert_array_equal(
        nominal_camera_matrix((300, 400)), [[400, 0, 149.5], [0, 400, 199.5], [0, 0, 1]]
    )


def test_the_lens_model_is_opencvs_brown_conrady_at_pixel_centres():
    K = nominal_camera_matrix((320, 240))
    dist = np.array([-0.2, 0.05, 0.002, -0.001])
    model = CameraModel(K, dist)
    ideal = np.array([[10.5, 10.5], [160.0, 120.0], [300.25, 220.75], [40.0, 200.0]])
    distorted = brown_distort(ideal, K, dist)
    np.testing.assert_allclose(model.distort(ideal), distorted, atol=1e-9)
    np.testing.assert_allclose(model.undistort(distorted), ideal, atol=1e-7)
    # No distortion: both are the identity.
    plain = CameraModel(K, np.zeros(4))
    np.testing.assert_allclose(plain.undistort(ideal), ideal, atol=1e-9)
    np.testing.assert_allclose(plain.distort(ideal), ideal, atol=1e-9)


def test_camera_model_files_in_every_documented_form(tmp_path):
    K = [[500.0, 0, 160], [0, 510.0, 120], [0, 0, 1]]
    model = CameraModel(np.array(K), np.array([-0.1, 0.01, 0.0, 0.0, 0.002]))
    save_camera_model(tmp_path / "saved.npz", model)
    back = load_camera_model(tmp_path / "saved.npz")
    np.testing.assert_array_equal(back.K, K)
    np.testing.assert_array_equal(back.dist, model.dist)
    assert back.K.dtype == np.float64 and back.dist.dtype == np.float64
    np.savez(tmp_path / "cv.npz", camera_matrix=np.array(K), dist_coeffs=np.zeros((1, 8)))
    assert load_camera_model(tmp_path / "cv.npz").dist.shape == (8,)
    (tmp_path / "table.toml").write_text(f"[camera]\nK = {K}\ndist = [-0.1, 0.01, 0, 0]\n")
    table = load_camera_model(str(tmp_path / "table.toml"))
    np.testing.assert_array_equal(table.K, K)
    np.testing.assert_array_equal(table.dist, [-0.1, 0.01, 0, 0])
    # Whole numbers in TOML are integers; the model is float64 all the same.
    (tmp_path / "ints.toml").write_text("K = [[500, 0, 160], [0, 500, 120], [0, 0, 1]]\n"
                                        "dist = [0, 0, 0, 0]\n")  # fmt: skip
    ints = load_camera_model(tmp_path / "ints.toml")
    assert ints.K.dtype == np.float64 and ints.dist.dtype == np.float64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("K = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\ndist = [0, 0, 0]\n", r"got K \(3, 3\), dist 3"),
        ("K = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\ndist = [0, 0, 0, 0, 0, 0]\n", "dist 6"),
        ("K = [[1, 0, 0], [0, 1, 0], [0, 0, nan]]\ndist = [0, 0, 0, 0]\n", "K must be 3x3"),
        ("K = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n", "cannot read the camera model"),
        ("K = [[1, 0, 0]\n", "It needs K \\(3x3\\) and dist"),
        ('K = "x"\ndist = ["a", 0, 0, 0]\n', "cannot read the camera model"),
    ],
)
def test_bad_camera_model_files_say_what_they_need(tmp_path, text, message):
    path = tmp_path / "lens.toml"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=message) as error:
        load_camera_model(path)
    assert str(path) in str(error.value)
    if "cannot read" in message:
        assert str(error.value).endswith(
            ". It needs K (3x3) and dist (k1, k2, p1, p2[, k3]) as written by cv2.calibrateCamera."
        )


def test_camera_model_with_eight_numbers_is_accepted(tmp_path):
    path = tmp_path / "lens.toml"
    path.write_text("K = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\ndist = [0, 0, 0, 0, 0, 0, 0, 0]\n")
    assert load_camera_model(path).dist.size == 8


# --------------------------------------------------------------------------- points


def test_points_need_two_directions_of_spread():
    # Four corners of a 100 × h rectangle: the second singular value is h, over √4 points.
    def rect(width: float, h: float) -> np.ndarray:
        return np.array([[0, 0], [width, 0], [width, h], [0, h]], float)

    fit_homography(rect(100, 1.01), rect(100, 1.01) * 2)
    with pytest.raises(CalibrationError, match="points: the points lie on one line"):
        fit_homography(rect(100, 0.99), rect(100, 100))
    # Relative to the spread: h must reach 1e-6 of the long side (sv[0] = 2e7 here).
    fit_homography(rect(2e7, 30), rect(100, 100))
    with pytest.raises(CalibrationError, match="collinear"):
        fit_homography(rect(2e7, 10), rect(100, 100))
    with pytest.raises(CalibrationError, match="marks: points must be finite numbers"):
        fit_homography(rect(100, np.nan), rect(100, 100), what="marks")
    with pytest.raises(CalibrationError, match=r"Mark more points \(the surface corners"):
        fit_homography(rect(100, 100)[:3], rect(100, 100)[:3])
    with pytest.raises(CalibrationError, match="marks: 4 source points but 5 destinations"):
        fit_homography(rect(100, 100), np.r_[rect(100, 100), [[1.0, 2.0]]], what="marks")


def test_the_destination_points_are_checked_too():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    line = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], float)
    with pytest.raises(CalibrationError, match="collinear"):
        fit_homography(square, line)


def test_four_points_give_the_exact_homography():
    src = np.array([[0, 0], [100, 0], [100, 80], [0, 80]], float)
    H, inliers = fit_homography(src, apply(H_TRUE, src))
    # OpenCV's solver is good to about 2e-6 relative on these entries.
    np.testing.assert_allclose(H, H_TRUE, rtol=3e-6, atol=1e-12)
    np.testing.assert_array_equal(inliers, [True] * 4)


def test_many_points_with_outliers_fit_the_inliers_exactly():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (200, 2))
    dst = apply(H_TRUE, src)
    bad = np.arange(0, 200, 10)  # 20 gross outliers
    dst[bad] += rng.uniform(20, 40, (len(bad), 2))
    H, inliers = fit_homography(src, dst)
    expected = np.ones(200, bool)
    expected[bad] = False
    np.testing.assert_array_equal(inliers, expected)
    np.testing.assert_allclose(H, H_TRUE, rtol=1e-6, atol=1e-10)
    assert H[2, 2] == 1.0


def test_canvas_to_camera_uses_the_lens_and_pairs_the_marks():
    K = nominal_camera_matrix((320, 240))
    model = CameraModel(K, np.array([-0.2, 0.05, 0.0, 0.0]))
    canvas = np.array([[0, 0], [400, 0], [400, 300], [0, 300], [200, 150]], float)
    H_c2cam = np.array([[0.6, 0.02, 30.0], [-0.01, 0.55, 25.0], [1e-4, -5e-5, 1.0]])
    ideal = apply(H_c2cam, canvas)
    photographed = brown_distort(ideal, K, model.dist)
    H = fit_canvas_to_camera(canvas, photographed, camera_model=model)
    np.testing.assert_allclose(H, H_c2cam, rtol=1e-6, atol=1e-9)
    H_plain = fit_canvas_to_camera(canvas, ideal)
    np.testing.assert_allclose(H_plain, H_c2cam, rtol=1e-6, atol=1e-9)


def test_compose_is_the_normalised_product():
    A = np.array([[2.0, 0, 1], [0, 2, 0], [0, 0, 2]])
    B = np.array([[1.0, 0, 3], [0, 1, 4], [0, 0, 1]])
    # A @ B = [[2, 0, 7], [0, 2, 8], [0, 0, 2]], then divided by 2.
    np.testing.assert_array_equal(
        compose_canvas_to_projector(A, B), [[1, 0, 3.5], [0, 1, 4], [0, 0, 1]]
    )


# --------------------------------------------------------------------------- sampling


def test_sampling_takes_the_decoded_pixel_centres_inside_the_polygon():
    corr = grid_corr()
    confidence = corr.confidence.copy()
    confidence[2, 3] = 0.1
    proj = corr.proj_xy.copy()
    proj[2, 4] = np.nan
    corr = Correspondences(proj, confidence, corr.projector_size)
    # Vertices on pixel centres: columns 2..5, rows 1..3 (boundary included).
    polygon = np.array([[2.5, 1.5], [5.5, 1.5], [5.5, 3.5], [2.5, 3.5]])
    cam, pts = sample_correspondences(corr, polygon)
    expected = {(c + 0.5, r + 0.5) for r in range(1, 4) for c in range(2, 6)} - {(4.5, 2.5)}
    assert {tuple(p) for p in cam} == expected
    assert cam.dtype == np.float64 and pts.dtype == np.float64
    np.testing.assert_array_equal(
        pts, proj[(cam[:, 1] - 0.5).astype(int), (cam[:, 0] - 0.5).astype(int)]
    )
    np.testing.assert_allclose(pts, apply(H_TRUE, cam), atol=1e-4)
    cam, _ = sample_correspondences(corr, polygon, min_confidence=0.8)
    assert {tuple(p) for p in cam} == expected - {(3.5, 2.5)}
    cam, _ = sample_correspondences(corr, polygon, min_confidence=0.81)
    assert len(cam) == 0
    # Without a polygon: every decoded pixel.
    cam, _ = sample_correspondences(corr)
    assert len(cam) == 40 * 30 - 1


def test_sampling_caps_the_points_reproducibly():
    corr = grid_corr()
    cam, pts = sample_correspondences(corr, max_points=100, seed=4)
    assert len(cam) == 100 and len({tuple(p) for p in cam}) == 100
    again, _ = sample_correspondences(corr, max_points=100, seed=4)
    np.testing.assert_array_equal(cam, again)
    other, _ = sample_correspondences(corr, max_points=100, seed=5)
    assert not np.array_equal(cam, other)
    np.testing.assert_allclose(pts, apply(H_TRUE, cam), atol=1e-4)
    assert len(sample_correspondences(corr, max_points=1200)[0]) == 1200


def test_a_bad_surface_polygon_is_named():
    with pytest.raises(CalibrationError, match="surface polygon in camera_px: "):
        sample_correspondences(grid_corr(), np.array([[1, 1], [5, 1], [5, 1], [1, 1]], float))


def test_projector_points_at_arbitrary_camera_points_follow_the_local_homography():
    corr = grid_corr(60, 50)
    points = np.array([[20.3, 25.7], [1.2, 1.9], [58.9, 48.2]])
    np.testing.assert_allclose(projector_points_at(corr, points), apply(H_TRUE, points), atol=2e-4)
    # A window with fewer than 20 decoded pixels gives NaN.
    proj = corr.proj_xy.copy()
    proj[:, 30:] = np.nan
    proj[5:, 22:30] = np.nan
    sparse = Correspondences(proj, corr.confidence, corr.projector_size)
    out = projector_points_at(sparse, np.array([[45.0, 25.0], [26.0, 2.0]]), window_px=3)
    assert np.all(np.isnan(out[0]))
    # Around (26, 2) with a 3-px window: columns 23..29, rows 0..4 -> 7 × 5 = 35 decoded.
    np.testing.assert_allclose(out[1], apply(H_TRUE, np.array([[26.0, 2.0]]))[0], atol=2e-4)
    out = projector_points_at(sparse, np.array([[26.0, 1.0]]), window_px=2)  # 5 × 4 = 20
    assert np.all(np.isfinite(out))
    out = projector_points_at(sparse, np.array([[26.0, 0.5]]), window_px=2)  # 5 × 3 = 15
    assert np.all(np.isnan(out))


# --------------------------------------------------------------------------- fitting


def test_residual_statistics_and_their_text():
    r = Residuals.of(np.array([3.0, 4.0]))
    assert r.rms_px == pytest.approx(np.sqrt(12.5), rel=1e-15)
    assert (r.median_px, r.p95_px, r.max_px, r.points) == (3.5, pytest.approx(3.95), 4.0, 2)
    assert str(r) == "RMS 3.536 px, median 3.500, p95 3.950, max 4.000 (2 points)"
    empty = Residuals.of(np.array([]))
    assert empty.points == 0
    assert all(np.isnan(v) for v in (empty.rms_px, empty.median_px, empty.p95_px, empty.max_px))


def test_checkerboard_folds_are_literal_blocks():
    points = np.array([[i, j] for j in range(4) for i in range(4)], float)
    expected = [[(i + j) % 2 == 0 for i in range(4)] for j in range(4)]
    np.testing.assert_array_equal(checkerboard_folds(points, 4).reshape(4, 4), expected)
    # Two blocks: cells 1.5 wide; 0, 1 in the first, 2, 3 in the second (3 clipped).
    two = [[(i // 2 + j // 2) % 2 == 0 for i in range(4)] for j in range(4)]
    np.testing.assert_array_equal(checkerboard_folds(points, 2).reshape(4, 4), two)
    # A degenerate extent (one column of points) still folds by rows.
    column = np.array([[5.0, y] for y in range(4)])
    np.testing.assert_array_equal(checkerboard_folds(column, 2), [True, True, False, False])


def test_an_exact_surface_fits_with_zero_residuals_on_every_point():
    corr = grid_corr()
    cam, proj = sample_correspondences(corr)
    fit = fit_camera_to_projector(cam, proj)
    np.testing.assert_allclose(fit.H_camera_to_projector, H_TRUE, rtol=1e-5, atol=1e-8)
    assert fit.inlier_fraction == 1.0
    assert fit.fit.points == len(cam) and fit.held_out.points == len(cam)
    assert fit.fit.max_px < 1e-4 and fit.held_out.max_px < 1e-3


def test_outliers_are_left_out_of_both_residuals():
    corr = grid_corr()
    cam, proj = sample_correspondences(corr)
    proj[::25] += 30.0
    fit = fit_camera_to_projector(cam, proj)
    n_bad = len(proj[::25])
    assert fit.inlier_fraction == pytest.approx(1 - n_bad / len(cam))
    assert fit.fit.points == len(cam) - n_bad
    assert fit.held_out.points == len(cam) - n_bad
    assert fit.held_out.max_px < 1e-3


def test_a_fold_with_too_few_points_is_skipped():
    # 9 points: the white fold of a 2 × 2 checkerboard holds 5 (≥ 8? no), the black one 4.
    pts = np.array([[x, y] for y in (0, 1, 2) for x in (0, 1, 2)], float)
    fit = fit_camera_to_projector(
        pts * 10 + np.array([0, 0.01]) * pts, apply(H_TRUE, pts * 10), blocks=2
    )
    assert fit.held_out.points == 0 and np.isnan(fit.held_out.rms_px)


def test_the_camera_lens_is_taken_out_before_fitting():
    K = nominal_camera_matrix((40, 30))
    model = CameraModel(K, np.array([-0.3, 0.1, 0.0, 0.0]))
    ys, xs = np.mgrid[0:30, 0:40]
    ideal = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1).astype(float)
    fit = fit_camera_to_projector(
        brown_distort(ideal, K, model.dist), apply(H_TRUE, ideal), camera_model=model
    )
    np.testing.assert_allclose(fit.H_camera_to_projector, H_TRUE, rtol=1e-6, atol=1e-9)


def test_solve_surface_composes_canvas_to_projector_from_its_marks():
    corr = grid_corr(80, 60)
    H_c2cam = np.array([[0.1, 0.0, 10.5], [0.0, 0.1, 8.5], [0.0, 0.0, 1.0]])
    canvas = np.array([[0, 0], [490, 0], [490, 390], [0, 390]], float)
    marks = apply(H_c2cam, canvas)  # on pixel centres: (10.5, 8.5) – (59.5, 47.5)
    sol = solve_surface(
        corr, name="wall", output="left", points_canvas_px=canvas, points_camera_px=marks
    )
    assert (sol.name, sol.output) == ("wall", "left")
    np.testing.assert_allclose(
        sol.H_canvas_to_projector,
        (H_TRUE @ H_c2cam) / (H_TRUE @ H_c2cam)[2, 2],
        rtol=1e-5,
        atol=1e-8,
    )
    # The marks' hull is the polygon: columns 10..59, rows 8..47.
    assert sol.points == 50 * 40
    small = solve_surface(
        corr, name="wall", output="left", points_canvas_px=canvas, points_camera_px=marks,
        max_points=60,
    )  # fmt: skip
    assert small.points == 60
    tiny = np.array([[10.5, 10.5], [16.5, 10.5], [16.5, 16.5], [10.5, 16.5]])  # 7 × 7 = 49
    with pytest.raises(CalibrationError, match="surface 'wall': only 49 decoded camera pixels"):
        solve_surface(
            corr, name="wall", output="left", points_canvas_px=canvas, points_camera_px=tiny
        )


# --------------------------------------------------------------------------- overlaps


def test_footprint_is_the_projector_frame_in_canvas_px():
    H = np.array([[2.0, 0, 10], [0, 2.0, 20], [0, 0, 1]])  # canvas → projector
    np.testing.assert_allclose(
        projector_footprint(H, (100, 50)), [[-5, -10], [45, -10], [45, 15], [-5, 15]]
    )


def _sol(name: str, output: str, H: np.ndarray) -> SurfaceSolution:
    return SurfaceSolution(name, output, H, np.eye(3), None, 0)  # type: ignore[arg-type]


def test_overlaps_only_between_outputs_with_the_overlap_area():
    # Canvas → projector: identity (frame 0..100 × 0..100) and a shift by 60 (60..160).
    shift = np.array([[1.0, 0, -60], [0, 1, 0], [0, 0, 1]])
    far = np.array([[1.0, 0, -500], [0, 1, 0], [0, 0, 1]])
    touching = np.array([[1.0, 0, -100], [0, 1, 0], [0, 0, 1]])
    sizes = {"a": (100, 100), "b": (100, 100), "c": (100, 100)}
    sols = [_sol("one", "a", np.eye(3)), _sol("two", "a", shift), _sol("three", "b", shift),
            _sol("four", "c", far), _sol("five", "c", touching)]  # fmt: skip
    overlaps = projector_overlaps(sols, sizes)
    pairs = [(o.first, o.second) for o in overlaps]
    # Same output (one/two) never; touching frames (one/five) have no area.
    assert pairs == [("one", "three"), ("two", "three"), ("two", "five"), ("three", "five")]
    one_three = overlaps[0]
    assert one_three.area_canvas_px2 == pytest.approx(40 * 100)
    assert one_three.polygon_canvas_px.dtype == np.float64
    xs, ys = one_three.polygon_canvas_px[:, 0], one_three.polygon_canvas_px[:, 1]
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (60, 100, 0, 100)
    assert overlaps[1].area_canvas_px2 == pytest.approx(100 * 100)
    assert overlaps[2].area_canvas_px2 == pytest.approx(60 * 100)


def _holed(window_px: int, keep: int, centre: tuple[int, int] = (30, 25)) -> Correspondences:
    """The exact grid with the point's window emptied but for ``keep`` pixels spread over it
    (the first of a fixed shuffle); the emptied pixels keep a finite y: only x says whether a
    pixel decoded."""
    corr = grid_corr(60, 50)
    proj = corr.proj_xy.copy()
    cx, cy = centre
    rows, cols = np.mgrid[cy - window_px : cy + window_px + 1, cx - window_px : cx + window_px + 1]
    order = np.random.default_rng(0).permutation(rows.size)
    hole_r, hole_c = rows.ravel()[order[keep:]], cols.ravel()[order[keep:]]
    proj[hole_r, hole_c, 0] = np.nan
    return Correspondences(proj, corr.confidence, corr.projector_size)


@pytest.mark.parametrize("window_px", [3, 15])
def test_projector_points_at_uses_exactly_the_window_and_twenty_pixels(window_px):
    point = np.array([[30.0, 25.0]])
    expected = apply(H_TRUE, point)[0]
    kwargs = {} if window_px == 15 else {"window_px": window_px}  # 15 is the default
    # 19 decoded pixels inside the (2w+1)² window, every pixel around it decoded: NaN.
    assert np.all(np.isnan(projector_points_at(_holed(window_px, 19), point, **kwargs)))
    out = projector_points_at(_holed(window_px, 20), point, **kwargs)
    np.testing.assert_allclose(out[0], expected, atol=2e-4)


def test_projector_points_at_the_image_edge_clips_the_window():
    corr = grid_corr(60, 50)
    proj = corr.proj_xy.copy()
    proj[:, 2:] = np.nan  # only columns 0 and 1 decoded
    edge = Correspondences(proj, corr.confidence, corr.projector_size)
    # Window 5 around (2, 25): columns 0..7, rows 20..30: 2 × 11 = 22 decoded pixels.
    out = projector_points_at(edge, np.array([[2.0, 25.0]]), window_px=5)
    np.testing.assert_allclose(out[0], apply(H_TRUE, np.array([[2.0, 25.0]]))[0], atol=2e-4)


def test_projector_points_at_ignores_bad_decodes_beyond_two_pixels():
    corr = grid_corr(60, 50)
    proj = corr.proj_xy.copy()
    proj[20:30:2, 26:34:2, 0] += 2.5  # 20 pixels 2.5 px off: outliers at RANSAC's 2 px
    proj[22, 28] += 40.0
    bad = Correspondences(proj, corr.confidence, corr.projector_size)
    points = [[30, 25]]  # integer points are fine
    out = projector_points_at(bad, points, window_px=8)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[0], apply(H_TRUE, np.array([[30.0, 25.0]]))[0], atol=2e-4)


def test_a_footprint_inside_another_overlaps_with_its_whole_area():
    big = np.array([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 1]])  # frame 0..200 in canvas_px
    inner = np.array([[1.0, 0, -50], [0, 1, -50], [0, 0, 1]])  # frame 50..150
    sizes = {"a": (100, 100), "b": (100, 100)}
    overlaps = projector_overlaps([_sol("big", "a", big), _sol("inner", "b", inner)], sizes)
    assert len(overlaps) == 1
    assert overlaps[0].area_canvas_px2 == pytest.approx(100 * 100)


def test_an_overlap_under_one_square_pixel_is_still_reported():
    shifted = np.array([[1.0, 0, -99.995], [0, 1, 0], [0, 0, 1]])  # 0.005 px × 100 px
    sizes = {"a": (100, 100), "b": (100, 100)}
    overlaps = projector_overlaps([_sol("x", "a", np.eye(3)), _sol("y", "b", shifted)], sizes)
    assert len(overlaps) == 1
    assert overlaps[0].area_canvas_px2 == pytest.approx(0.5, rel=0.05)


# --------------------------------------------------------------------------- radial search


def _reference_undistort(points: np.ndarray, size: tuple[int, int], k1: float, k2: float):
    """Inverse of the radial lens by fixed-point iteration, with the nominal ``K`` written out
    (focal length the longer side, centre ``(w - 1) / 2, (h - 1) / 2`` in OpenCV px)."""
    w, h = size
    f, cx, cy = float(max(w, h)), (w - 1) / 2, (h - 1) / 2
    xd, yd = (points[:, 0] - 0.5 - cx) / f, (points[:, 1] - 0.5 - cy) / f
    x, y = xd, yd
    for _ in range(50):
        radial = 1 + k1 * (x * x + y * y) + k2 * (x * x + y * y) ** 2
        x, y = xd / radial, yd / radial
    return np.stack([x * f + cx + 0.5, y * f + cy + 0.5], axis=1)


def _reference_search(cam, proj, size, k_range=0.5) -> list[float]:
    """The search as documented: at most 4000 points (``default_rng(0)``, no repeats); passes
    over k1, k2, k1, each six levels of nine offsets ``span · (-4..4) / 4`` around the current
    value, the span divided by 4 per level; the cost is the median distance after a
    least-squares homography (the first of equal costs wins)."""
    if len(cam) > 4000:
        pick = np.random.default_rng(0).choice(len(cam), 4000, replace=False)
        cam, proj = cam[pick], proj[pick]

    def cost(k: list[float]) -> float:
        und = _reference_undistort(cam, size, *k)
        H, _ = cv2.findHomography(und, proj, 0)
        return float(np.median(np.hypot(*(apply(H, und) - proj).T)))

    k = [0.0, 0.0]
    for which in (0, 1, 0):
        span = k_range
        for _ in range(6):
            offsets = span * np.arange(-4, 5) / 4
            costs = [cost([k[j] + (o if j == which else 0.0) for j in (0, 1)]) for o in offsets]
            k[which] += float(offsets[int(np.argmin(costs))])
            span /= 4
    return k


def _lens_grid(k1: float, k2: float, step: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Ideal points over a 320 × 240 camera photographed through the radial lens
    (nominal ``K``), and their projector points through ``H_TRUE``."""
    ys, xs = np.mgrid[4:240:step, 4:320:step]
    ideal = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1).astype(np.float64)
    K = np.array([[320.0, 0, 159.5], [0, 320.0, 119.5], [0, 0, 1]])
    return brown_distort(ideal, K, np.array([k1, k2, 0.0, 0.0])), apply(H_TRUE, ideal)


def test_radial_search_lands_exactly_on_a_lens_of_its_grid(caplog):
    # -0.25 is two steps of the first level (0.5 / 4 each): every later offset only adds error.
    cam, proj = _lens_grid(-0.25, 0.0)
    with caplog.at_level(logging.INFO, logger="calibration.solve"):
        model = estimate_radial_distortion(cam, proj, (320, 240))
    np.testing.assert_array_equal(model.dist, [-0.25, 0.0, 0.0, 0.0])
    assert model.dist.dtype == np.float64
    np.testing.assert_array_equal(model.K, [[320, 0, 159.5], [0, 320, 119.5], [0, 0, 1]])
    assert caplog.messages == ["estimated radial distortion k1=-0.2500 k2=0.0000"]


@pytest.mark.parametrize(
    ("k1", "k2", "k_range", "outliers"),
    [
        (-0.3, 0.05, 0.5, False),  # k1 between grid values; k2 near the noise of the fit
        (0.2, -0.1, 0.5, False),  # pincushion
        (-0.3, 0.05, 0.1, False),  # a narrower span cannot reach -0.3 in two k1 passes
        (-0.25, 0.0, 0.5, True),  # bad decodes: the median ignores them, a mean would not
    ],
)
def test_radial_search_follows_the_documented_coarse_to_fine_grid(k1, k2, k_range, outliers):
    cam, proj = _lens_grid(k1, k2)
    if outliers:
        proj[::9] += 25.0
    kwargs = {} if k_range == 0.5 else {"k_range": k_range}  # 0.5 is the default
    model = estimate_radial_distortion(cam, proj, (320, 240), **kwargs)
    expected = _reference_search(cam, proj, (320, 240), k_range)
    np.testing.assert_array_equal(model.dist, [*expected, 0.0, 0.0])
    # Every offset is a multiple of k_range / 4⁶: the finest level's step.
    steps = model.dist[:2] / (k_range / 4**6)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)


def test_radial_search_uses_a_fixed_subsample_of_4000_points():
    # 4001 noisy points: the estimate from all of them, from another seed's subsample or a
    # subsample with repeats differs. Expected: _reference_search on these points (1 s).
    rng = np.random.default_rng(3)
    ideal = rng.uniform(0, [320, 240], (4001, 2))
    K = np.array([[320.0, 0, 159.5], [0, 320.0, 119.5], [0, 0, 1]])
    cam = brown_distort(ideal, K, np.array([-0.3, 0.05, 0.0, 0.0]))
    proj = apply(H_TRUE, ideal) + np.random.default_rng(1).normal(0, 1.0, ideal.shape)
    model = estimate_radial_distortion(cam, proj, (320, 240))
    np.testing.assert_array_equal(model.dist, [-2349 / 8192, 0.0, 0.0, 0.0])


# --------------------------------------------------------------------------- fit details


def test_point_checks_say_what_and_what_to_do_in_full():
    with pytest.raises(CalibrationError) as error:
        fit_homography(np.zeros((3, 2)), np.zeros((3, 2)), what="marks")
    assert str(error.value) == (
        "marks: 3 point(s); a homography needs at least 4. Mark more points (the surface "
        "corners, or features known on the facade template)."
    )
    line = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], float)
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    with pytest.raises(CalibrationError) as error:
        fit_homography(square, line, what="marks")  # the destinations are named too
    assert str(error.value) == (
        "marks: the points lie on one line (collinear); a plane needs points spread in two "
        "directions. Mark points that are not all on one edge."
    )


def test_point_spread_thresholds_hold_at_their_exact_values():
    # Centred corners (±1, ±0.5): singular values exactly 2 and 1; 1 / √4 = 0.5 is enough.
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    H, _ = fit_homography(np.array([[0, 0], [2, 0], [2, 1], [0, 1]], float), square)
    np.testing.assert_allclose(H, [[5, 0, 0], [0, 10, 0], [0, 0, 1]], atol=1e-9)
    # 2e6 wide, 2 − 2 ulp high: the second singular value is exactly 1e-6 of the first (in
    # float64, as numpy's SVD computes them), which is enough.
    flat = np.array([[0, 0], [2e6, 0], [2e6, 1.9999999999999998], [0, 1.9999999999999998]])
    sv = np.linalg.svd(flat - flat.mean(axis=0), compute_uv=False)
    assert sv[1] == 1e-6 * sv[0]  # the premise of this case
    H, _ = fit_homography(flat, square)
    np.testing.assert_allclose(H, [[5e-6, 0, 0], [0, 5, 0], [0, 0, 1]], rtol=1e-6, atol=1e-12)


def test_five_points_are_fitted_robustly_and_four_exactly():
    src = np.array([[0, 0], [100, 0], [100, 80], [0, 80], [50, 40]], float)
    dst = apply(H_TRUE, src)
    dst[4] += 10.0  # the fifth mark is 14 px off: an outlier
    H, inliers = fit_homography(src, dst)
    assert inliers.dtype == bool
    np.testing.assert_array_equal(inliers, [True, True, True, True, False])
    np.testing.assert_allclose(H, H_TRUE, rtol=3e-6, atol=1e-10)
    _, four = fit_homography(src[:4], dst[:4])
    assert four.dtype == bool and four.shape == (4,)


def test_the_ransac_threshold_decides_which_points_are_outliers():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (100, 2))
    dst = apply(H_TRUE, src)
    dst[::10, 0] += 2.0  # ten points 2 px off: outliers at 1 px (the default), not at 3 px
    expected = np.ones(100, bool)
    expected[::10] = False
    _, inliers = fit_homography(src, dst)
    np.testing.assert_array_equal(inliers, expected)
    H, inliers = fit_homography(src, dst, threshold_px=3.0)
    assert inliers.all()
    # With every point an inlier, the result is the least-squares fit of all of them.
    H_ls, _ = cv2.findHomography(src, dst, 0)
    np.testing.assert_allclose(H, H_ls / H_ls[2, 2], rtol=1e-9, atol=1e-12)


def test_the_robust_fit_is_refined_by_least_squares_on_its_inliers():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 200, (150, 2))
    dst = apply(H_TRUE, src) + rng.normal(0, 0.1, src.shape)
    dst[::15] += 25.0  # ten gross outliers
    H, inliers = fit_homography(src, dst)
    expected = np.ones(150, bool)
    expected[::15] = False
    np.testing.assert_array_equal(inliers, expected)
    H_ls, _ = cv2.findHomography(src[expected], dst[expected], 0)
    np.testing.assert_allclose(H, H_ls / H_ls[2, 2], rtol=1e-9, atol=1e-12)


def test_degenerate_marks_are_refused_with_what_they_are():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    three_on_a_line = np.array([[0, 0], [10, 0], [20, 0], [0, 10]], float)
    with pytest.raises(CalibrationError, match=r"^marks: matrix is singular"):
        fit_homography(three_on_a_line, square, what="marks")
    four_on_a_line = np.array([[0, 0], [10, 0], [20, 0], [0, 10], [30, 0]], float)
    with pytest.raises(CalibrationError, match=r"^marks: no homography fits these points$"):
        fit_homography(four_on_a_line, np.r_[four_on_a_line[:4], [[3.0, 7.0]]], what="marks")


def test_a_surface_needs_eight_decoded_points():
    ring = [[0, 0], [10, 0], [20, 0], [20, 10], [20, 20], [10, 20], [0, 20], [0, 10]]
    cam = np.array(ring, float)
    with pytest.raises(CalibrationError) as error:
        fit_camera_to_projector(cam[:7], apply(H_TRUE, cam[:7]))
    assert str(error.value).startswith(
        "decoded points on the surface: 7 point(s); a homography needs at least 8. "
    )
    fit = fit_camera_to_projector(cam, apply(H_TRUE, cam))  # OpenCV: 6e-6 on 8 close points
    np.testing.assert_allclose(fit.H_camera_to_projector, H_TRUE, rtol=2e-5, atol=1e-10)
    line = np.stack([np.arange(8.0), np.arange(8.0)], axis=1)
    with pytest.raises(CalibrationError, match=r"^surface points: the points lie on one line"):
        fit_camera_to_projector(cam, line)


def _folds(points: np.ndarray, blocks: int) -> np.ndarray:
    """The checkerboard written out: block (i, j) of the bounding box is white for even i + j."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    i = np.minimum(((points[:, 0] - lo[0]) / (hi[0] - lo[0]) * blocks).astype(int), blocks - 1)
    j = np.minimum(((points[:, 1] - lo[1]) / (hi[1] - lo[1]) * blocks).astype(int), blocks - 1)
    return (i + j) % 2 == 0


@pytest.mark.parametrize("threshold_px", [None, 3.0])
def test_held_out_residuals_are_the_other_folds_least_squares_fit(threshold_px):
    """Each fold fitted (least squares on its inliers) and judged on the other fold's inliers;
    points 2 px off are outliers at the default 1 px and inliers at 3 px."""
    rng = np.random.default_rng(5)
    cam = rng.uniform(0, 300, (300, 2))
    proj = apply(H_TRUE, cam) + rng.normal(0, 0.1, cam.shape)
    off = np.zeros(300, bool)
    off[::10] = True
    proj[off, 1] += 2.0
    kwargs = {} if threshold_px is None else {"threshold_px": threshold_px}
    fit = fit_camera_to_projector(cam, proj, **kwargs)
    inliers = ~off if threshold_px is None else np.ones(300, bool)
    assert fit.inlier_fraction == np.mean(inliers)
    white = _folds(cam, 4)
    errors = []
    for train in (white, ~white):
        H, _ = cv2.findHomography(cam[train & inliers], proj[train & inliers], 0)
        keep = ~train & inliers
        errors.append(np.hypot(*(apply(H, cam[keep]) - proj[keep]).T))
    e = np.concatenate(errors)
    assert fit.held_out.points == len(e) == np.count_nonzero(inliers)
    assert fit.held_out.rms_px == pytest.approx(np.sqrt(np.mean(e**2)), rel=1e-9)
    assert fit.held_out.max_px == pytest.approx(e.max(), rel=1e-9)
    H, _ = cv2.findHomography(cam[inliers], proj[inliers], 0)
    e_fit = np.hypot(*(apply(H, cam[inliers]) - proj[inliers]).T)
    assert fit.fit.points == len(e_fit)
    assert fit.fit.rms_px == pytest.approx(np.sqrt(np.mean(e_fit**2)), rel=1e-9)


def test_a_fold_of_eight_points_is_fitted_and_judges_a_single_point():
    # blocks=2 over 0..10: the white fold is blocks (0, 0) and (1, 1), the black (1, 0), (0, 1).
    white = [[0.0, 0.0]]
    black = [[10, 0], [7, 1], [9, 3], [6, 4], [0, 10], [1, 7], [3, 9], [4, 6]]
    cam = np.array(white + black, float)
    fit = fit_camera_to_projector(cam, apply(H_TRUE, cam), blocks=2)
    # White (1 point) is too few to train on; black (exactly 8) trains and judges the one.
    assert fit.held_out.points == 1
    assert fit.held_out.max_px < 1e-5  # measured 1e-6


def test_one_block_holds_nothing_out():
    cam = np.array([[x, y] for y in range(0, 40, 10) for x in range(0, 40, 10)], float)
    fit = fit_camera_to_projector(cam, apply(H_TRUE, cam), blocks=1)
    assert fit.held_out.points == 0 and fit.fit.points == 16
    assert fit_camera_to_projector(cam, apply(H_TRUE, cam)).held_out.points == 16


def test_a_fold_on_one_line_is_named_as_the_held_out_split():
    diagonal = [[t, t] for t in (0, 1, 2, 3, 7, 8, 9, 10)]  # white blocks (0, 0) and (1, 1)
    spread = [[8, 1], [6, 3], [9, 4], [2, 7], [1, 9], [4, 8]]  # black blocks
    cam = np.array(diagonal + spread, float)
    with pytest.raises(CalibrationError, match=r"^held-out split: the points lie on one line"):
        fit_camera_to_projector(cam, apply(H_TRUE, cam), blocks=2)


H_C2CAM = np.array([[0.6, 0.02, 30.0], [-0.01, 0.55, 25.0], [1e-4, -5e-5, 1.0]])
CANVAS_GRID = np.array([[x, y] for y in (0, 100, 200) for x in (0, 100, 200, 300)], float)


@pytest.mark.parametrize(("off_px", "kept"), [(2.0, True), (3.5, False)])
def test_canvas_marks_are_outliers_beyond_three_pixels(off_px, kept):
    marks = apply(H_C2CAM, CANVAS_GRID)
    marks[5, 0] += off_px
    H = fit_canvas_to_camera(CANVAS_GRID, marks)
    use = np.ones(12, bool)
    use[5] = kept
    H_ls, _ = cv2.findHomography(CANVAS_GRID[use], marks[use], 0)
    np.testing.assert_allclose(H, H_ls / H_ls[2, 2], rtol=1e-9, atol=1e-12)


def test_canvas_and_camera_marks_are_named_in_their_errors():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    line = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], float)
    with pytest.raises(CalibrationError, match=r"^points in canvas_px: the points lie on one"):
        fit_canvas_to_camera(line, square)
    with pytest.raises(CalibrationError, match=r"^points in camera_px: 3 point\(s\); "):
        fit_canvas_to_camera(square, square[:3])
    with pytest.raises(CalibrationError) as error:
        fit_canvas_to_camera(np.r_[square, [[5.0, 5.0]]], square)
    assert str(error.value) == (
        "5 points in canvas_px but 4 in camera_px; mark every canvas point once in the camera "
        "image, in the same order."
    )
    three_on_a_line = np.array([[0, 0], [10, 0], [20, 0], [0, 10]], float)
    with pytest.raises(CalibrationError, match=r"^canvas↔camera marks: matrix is singular"):
        fit_canvas_to_camera(three_on_a_line, square)


def test_residuals_of_one_point():
    r = Residuals.of(np.array([2.5]))
    assert (r.rms_px, r.median_px, r.p95_px, r.max_px, r.points) == (2.5, 2.5, 2.5, 2.5, 1)


def test_checkerboard_cells_narrower_than_a_pixel():
    # Extent 1.5 in two blocks: cells 0.75 wide; 0.8 is in the second.
    points = np.array([[0, 0], [0.8, 0], [1.5, 0], [0, 0.8], [0.7, 1.5]])
    np.testing.assert_array_equal(checkerboard_folds(points, 2), [True, False, False, False, False])


def test_sampling_draws_with_seed_zero_and_keeps_pixel_order_when_all_fit():
    corr = grid_corr()
    cam, _ = sample_correspondences(corr, max_points=100)
    pick = np.random.default_rng(0).choice(40 * 30, 100, replace=False)
    rows, cols = np.divmod(pick, 40)  # every pixel decoded: the index is row-major
    np.testing.assert_array_equal(cam, np.stack([cols + 0.5, rows + 0.5], axis=1))
    every, _ = sample_correspondences(corr, max_points=40 * 30)
    ys, xs = np.mgrid[0:30, 0:40]
    np.testing.assert_array_equal(every, np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1))


def test_solve_surface_takes_fifty_pixels_and_says_what_to_check_below():
    corr = grid_corr(80, 60)
    H_c2cam = np.array([[0.1, 0.0, 10.5], [0.0, 0.1, 10.5], [0.0, 0.0, 1.0]])
    canvas = np.array([[0, 0], [90, 0], [90, 40], [0, 40]], float)
    marks = apply(H_c2cam, canvas)  # pixel centres: columns 10..19, rows 10..14: 50 pixels
    sol = solve_surface(
        corr, name="sill", output="main", points_canvas_px=canvas, points_camera_px=marks
    )
    assert sol.points == 50
    np.testing.assert_allclose(sol.H_camera_to_projector, H_TRUE, rtol=1e-5, atol=1e-8)
    assert sol.fit.inlier_fraction == 1.0 and sol.fit.fit.points == 50
    narrower = np.array([[10.5, 10.5], [18.5, 10.5], [18.5, 14.5], [10.5, 14.5]])  # 45
    with pytest.raises(CalibrationError) as error:
        solve_surface(
            corr, name="sill", output="main", points_canvas_px=canvas, points_camera_px=marks,
            polygon_camera_px=narrower,
        )  # fmt: skip
    assert str(error.value) == (
        "surface 'sill': only 45 decoded camera pixels inside its polygon. Is the polygon on "
        "the part of the image this projector lights? Check the decode (valid fraction) and "
        "the polygon's camera_px coordinates."
    )
    with pytest.raises(CalibrationError, match=r"^surface 'sill': points in camera_px: 3 point"):
        solve_surface(
            corr, name="sill", output="main", points_canvas_px=canvas, points_camera_px=marks[:3]
        )


def test_solve_surface_takes_the_lens_out_of_pixels_and_marks():
    w, h = 80, 60
    K = np.array([[80.0, 0, 39.5], [0, 80.0, 29.5], [0, 0, 1]])
    dist = np.array([-0.2, 0.0, 0.0, 0.0])
    ys, xs = np.mgrid[0:h, 0:w]
    photographed = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1).astype(np.float64)
    ideal = _reference_undistort(photographed, (w, h), -0.2, 0.0)
    proj = apply(H_TRUE, ideal).reshape(h, w, 2).astype(np.float32)
    corr = Correspondences(proj, np.full((h, w), 0.8, np.float32), (64, 48))
    H_c2cam = np.array([[0.1, 0.0, 12.0], [0.0, 0.1, 9.0], [0.0, 0.0, 1.0]])
    canvas = np.array([[0, 0], [560, 0], [560, 420], [0, 420], [280, 210]], float)
    marks = brown_distort(apply(H_c2cam, canvas), K, dist)
    sol = solve_surface(
        corr, name="wall", output="main", points_canvas_px=canvas, points_camera_px=marks,
        camera_model=CameraModel(K, dist),
    )  # fmt: skip
    expected = H_TRUE @ H_c2cam
    np.testing.assert_allclose(sol.H_canvas_to_projector, expected / expected[2, 2], rtol=2e-5)
    np.testing.assert_allclose(sol.H_camera_to_projector, H_TRUE, rtol=2e-5, atol=1e-8)
    assert sol.fit.held_out.max_px < 1e-3
