"""Geometry: homographies, the pixel-centre convention, the GLSL matrix layout, polygons."""

from __future__ import annotations

import cv2
import moderngl
import numpy as np
import pytest

from mapping import geometry

RNG = np.random.default_rng(7)


def test_pixel_centres_sit_at_plus_one_half():
    centres = geometry.pixel_centers(3, 2)
    assert centres.shape == (2, 3, 2)
    np.testing.assert_array_equal(centres[0, 0], [0.5, 0.5])
    np.testing.assert_array_equal(centres[1, 2], [2.5, 1.5])


def test_opencv_convention_shift_matches_cv2_on_a_translation():
    # A half-pixel shift to the right in our convention is also one in OpenCV's: translations
    # are unchanged; a scale about the origin is not (OpenCV's origin is a pixel centre).
    scale2 = np.diag([2.0, 2.0, 1.0])
    H_cv = geometry.to_opencv_homography(scale2)
    # our pixel 0 (centre 0.5) maps to 1.0 → OpenCV coordinate 0.5
    np.testing.assert_allclose(geometry.apply_homography(H_cv, [[0.0, 0.0]]), [[0.5, 0.5]])
    np.testing.assert_allclose(geometry.from_opencv_homography(H_cv), scale2)


def test_cv2_reference_warp_uses_the_plus_one_half_convention():
    # Scale by 2 in our convention: destination pixel (1, 1), centre (1.5, 1.5), samples the
    # source at (0.75, 0.75): a quarter of the way from pixel centre 0.5 towards 1.5.
    src = np.array([[0, 100], [40, 200]], np.float32)
    out = geometry.warp_image_reference(src, np.diag([2.0, 2.0, 1.0]), (4, 4))
    expected = 0.75 * 0.75 * 0 + 0.75 * 0.25 * 100 + 0.25 * 0.75 * 40 + 0.25 * 0.25 * 200
    assert out[1, 1] == pytest.approx(expected, abs=0.01)


def test_homography_from_four_points_is_exact():
    src = np.array([[0, 0], [100, 0], [100, 80], [0, 80]], float)
    dst = np.array([[12, 7], [95, 20], [110, 90], [3, 70]], float)
    H = geometry.homography_from_points(src, dst)
    np.testing.assert_allclose(geometry.apply_homography(H, src), dst, atol=1e-9)
    assert H[2, 2] == pytest.approx(1.0)
    H_cv, _ = cv2.findHomography(src, dst)
    np.testing.assert_allclose(H, H_cv / H_cv[2, 2], atol=1e-9)


def test_homography_least_squares_with_many_points():
    H_true = np.array([[1.1, 0.05, 3.0], [-0.02, 0.9, 7.0], [1e-4, -2e-4, 1.0]])
    src = RNG.uniform(0, 500, (30, 2))
    dst = geometry.apply_homography(H_true, src) + RNG.normal(0, 0.01, (30, 2))
    H = geometry.homography_from_points(src, dst)
    assert np.abs(geometry.apply_homography(H, src) - dst).max() < 0.05


@pytest.mark.parametrize(
    ("corners", "reason"),
    [
        ([[0, 0], [10, 0], [20, 0], [0, 10]], "collinear"),
        ([[0, 0], [10, 10], [10, 0], [0, 10]], "self-intersecting"),
        ([[0, 0], [10, 0], [10, 10]], "4"),
    ],
)
def test_degenerate_corner_pins_are_explained(corners, reason):
    assert reason in geometry.quad_degeneracy(np.array(corners, float))
    with pytest.raises(ValueError):
        geometry.homography_from_points(np.array(corners, float)[:4], np.array(corners, float)[:4])


def test_polygon_problems():
    assert geometry.polygon_problem(np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)) is None
    assert "cross" in geometry.polygon_problem(
        np.array([[0, 0], [10, 10], [10, 0], [0, 10]], float)
    )
    assert "at least 3" in geometry.polygon_problem(np.array([[0, 0], [1, 1]], float))
    assert "collinear" in geometry.polygon_problem(np.array([[0, 0], [5, 0], [10, 0]], float))


def test_ear_clipping_covers_a_concave_polygon_exactly():
    l_shape = np.array([[0, 0], [30, 0], [30, 10], [10, 10], [10, 30], [0, 30]], float)
    tris = geometry.triangulate_polygon(l_shape)
    assert len(tris) == 4
    area = sum(abs(geometry.polygon_area(l_shape[t])) for t in tris)
    assert area == pytest.approx(abs(geometry.polygon_area(l_shape)))


def test_singular_and_non_finite_matrices_are_rejected():
    with pytest.raises(ValueError, match="singular"):
        geometry.as_homography([[1, 2, 3], [2, 4, 6], [0, 0, 1]])
    with pytest.raises(ValueError, match="3×3"):
        geometry.as_homography([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="non-finite"):
        geometry.as_homography([[1, 0, 0], [0, float("nan"), 0], [0, 0, 1]])


def test_mat3_to_glsl_gives_the_layout_a_glsl_mat3_multiplies_correctly(ctx):
    H = np.array([[1.5, -0.2, 30.0], [0.1, 0.8, -12.0], [2e-4, -1e-4, 1.0]])
    prog = ctx.program(
        vertex_shader="""#version 330 core
        in vec2 a_pos; void main() { gl_Position = vec4(a_pos, 0.0, 1.0); }""",
        fragment_shader="""#version 330 core
        uniform mat3 u_H; uniform vec2 u_p; out vec4 f;
        void main() { f = vec4(u_H * vec3(u_p, 1.0), 1.0); }""",
    )
    prog["u_H"].write(geometry.mat3_to_glsl(H).tobytes())
    prog["u_p"].value = (200.0, 150.0)
    vbo = ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], "f4").tobytes())
    vao = ctx.vertex_array(prog, [(vbo, "2f", "a_pos")])
    tex = ctx.texture((1, 1), 4, dtype="f4")
    fbo = ctx.framebuffer([tex])
    fbo.use()
    vao.render(moderngl.TRIANGLES)
    q = np.frombuffer(fbo.read(components=4, dtype="f4"), "f4")[:3].astype(float)
    np.testing.assert_allclose(q, H @ [200.0, 150.0, 1.0], rtol=1e-5)
    ctx.detect_framebuffer(0).use()  # never release the bound framebuffer
    for obj in (fbo, tex, vao, vbo, prog):
        obj.release()


# --- the reasons given, word for word ------------------------------------------------------


@pytest.mark.parametrize(
    ("polygon", "reason"),
    [
        ([[0, 0], [1, 1]], "expected at least 3 points, got 2"),
        ([0, 1, 2, 3], "expected a list of [x, y] points, got shape (4,)"),
        ([[0, 0, 0], [1, 1, 1], [2, 0, 1]], "expected a list of [x, y] points, got shape (3, 3)"),
        ([[0, 0], [10, 0], [np.nan, 5]], "points must be finite numbers"),
        ([[0, 0], [10, 0], [10, 0], [0, 10]], "points 1 and 2 are the same"),
        ([[0, 0], [10, 0], [10, 10], [0, 0]], "points 3 and 0 are the same"),
        ([[0, 0], [10, 10], [10, 0], [0, 10]], "edges 0-1 and 2-3 cross (self-intersecting)"),
        ([[0, 0], [10, 0], [10, 10], [5, -5], [0, 10]],
         "edges 0-1 and 2-3 cross (self-intersecting)"),
        ([[0, 0], [5, 0], [10, 0]], "points are collinear (the polygon has no area)"),
        ([[0, 0], [1000, 0], [1000, 1e-4]], "points are collinear (the polygon has no area)"),
    ],
)  # fmt: skip
def test_polygon_problem_reasons(polygon, reason):
    assert geometry.polygon_problem(np.array(polygon, float)) == reason


def test_a_thin_but_real_polygon_is_accepted():
    # area 1e6 · 1e-2 / 2 is well above the collinearity threshold (1e-6 · 1000²)
    assert geometry.polygon_problem(np.array([[0, 0], [1000, 0], [1000, 0.01]], float)) is None


@pytest.mark.parametrize(
    ("corners", "reason"),
    [
        ([[0, 0], [10, 0], [10, 10]], "expected 4 [x, y] corners, got shape (3, 2)"),
        ([[0, 0], [10, 0], [10, 10], [np.inf, 10]], "corners must be finite numbers"),
        ([[0, 0], [10, 0], [20, 0], [0, 10]], "corners 0, 1 and 2 are collinear"),
        ([[0, 0], [10, 0], [10, 10], [10, 20]], "corners 1, 2 and 3 are collinear"),
        ([[0, 10], [0, 0], [10, 0], [0, 20]], "corners 0, 1 and 3 are collinear"),
        ([[0, 0], [10, 10], [10, 0], [0, 10]],
         "the quad is self-intersecting (corners out of order: a bow-tie)"),
        ([[0, 0], [0, 10], [10, 0], [10, 10]],
         "the quad is self-intersecting (corners out of order: a bow-tie)"),
    ],
)  # fmt: skip
def test_quad_degeneracy_reasons(corners, reason):
    assert geometry.quad_degeneracy(np.array(corners, float)) == reason


def test_homography_from_points_explains_what_is_wrong():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    with pytest.raises(ValueError, match=r"^4 source points but 3 destination points$"):
        geometry.homography_from_points(square, square[:3])
    with pytest.raises(ValueError, match=r"^a homography needs at least 4 point pairs, got 3$"):
        geometry.homography_from_points(square[:3], square[:3])
    line = np.array([[0, 0], [1, 0], [2, 0], [3, 1]], float)
    with pytest.raises(ValueError, match=r"^source points are degenerate: corners 0, 1 and 2"):
        geometry.homography_from_points(line, square)
    with pytest.raises(ValueError, match=r"^destination points are degenerate: corners 0, 1"):
        geometry.homography_from_points(square, line)
    five_on_a_line = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], float)
    with pytest.raises(ValueError, match=r"^point pairs do not determine a unique homography$"):
        geometry.homography_from_points(five_on_a_line, five_on_a_line)


def test_matrix_problems_are_explained():
    with pytest.raises(ValueError, match=r"^matrix has non-finite entries$"):
        geometry.as_homography([[1, 0, 0], [0, np.inf, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"^matrix is all zeros$"):
        geometry.normalize_homography(np.zeros((3, 3)))
    with pytest.raises(
        ValueError,
        match=r"^matrix is singular: \|det\| relative to the matrix scale is 0 \(needs > 1e-10\); "
        r"it squashes the plane onto a line or a point, and a homography must be invertible$",
    ):
        geometry.normalize_homography(np.array([[1, 2, 3], [2, 4, 6], [0, 0, 1]], float))
    with pytest.raises(ValueError, match=r"^expected a 3×3 matrix, got shape \(2, 3\)$"):
        geometry.as_homography([[1, 0, 0], [0, 1, 0]])


def test_a_large_translation_is_not_mistaken_for_a_singular_matrix():
    H = np.array([[1.0, 0, 1e5], [0, 1.0, -1e5], [0, 0, 1.0]])
    np.testing.assert_array_equal(geometry.as_homography(H), H)
    # ... while a small, truly squashing matrix is refused
    with pytest.raises(ValueError, match="singular"):
        geometry.as_homography([[1e-3, 0, 0], [0, 1e-12, 0], [0, 0, 1]])


def test_normalisation_scales_h22_to_one_or_the_largest_entry_to_one():
    H = np.array([[2.0, 0, 4], [0, 2, 6], [0, 0, 2]])
    np.testing.assert_array_equal(geometry.normalize_homography(H), H / 2)
    np.testing.assert_array_equal(geometry.normalize_homography(-H), H / 2)
    swap = np.array([[0, 0, 4.0], [0, 2.0, 0], [1.0, 0, 0]])  # H[2, 2] == 0
    np.testing.assert_array_equal(geometry.normalize_homography(swap), swap / 4)
    # an integer matrix comes back as float64
    assert geometry.as_homography([[1, 0, 0], [0, 1, 0], [0, 0, 1]]).dtype == np.float64


def test_a_point_on_the_horizon_maps_to_infinity():
    H = np.array([[1.0, 0, 0], [0, 1.0, 0], [0.01, 0, 1.0]])
    with pytest.raises(ValueError, match=r"^a point maps to infinity \(it lies on the homography"):
        geometry.apply_homography(H, [[-100.0, 0.0]])
    # a polygon touching the horizon, the rest behind it, does not map finitely either
    touching = np.array([[-100, 0], [-200, 0], [-200, 10]], float)  # w = 0, -1, -1
    assert not geometry.polygon_maps_finitely(H, touching)
    assert not geometry.polygon_maps_finitely(-H, touching)
    assert geometry.polygon_maps_finitely(H, touching - np.array([1.0, 0.0]))  # all w < 0


def test_the_reference_warp_is_output_sized_and_black_outside():
    image = np.full((10, 20), 200, np.uint8)
    out = geometry.warp_image_reference(image, np.eye(3), (30, 12))
    assert out.shape == (12, 30)
    assert (out[:10, :20] == 200).all()
    assert (out[10:, :] == 0).all() and (out[:, 20:] == 0).all()


def test_polygon_bounds_and_corners_accept_integer_lists():
    assert geometry.polygon_bounds([[3, 4], [10, -2], [7, 9]]) == (3.0, -2.0, 10.0, 9.0)
    corners = geometry.bounds_corners([[3, 4], [10, -2], [7, 9]])
    assert corners.dtype == np.float64
    np.testing.assert_array_equal(corners, [[3, -2], [10, -2], [10, 9], [3, 9]])


def test_points_far_from_the_origin_fit_exactly():
    """Hartley normalisation at work: 100 px of spread a million pixels out (a large
    camera mosaic) still fits to the nanopixel."""
    rng = np.random.default_rng(3)
    H_true = np.array([[1.1, 0.05, 3.0], [-0.02, 0.9, 7.0], [1e-7, -2e-7, 1.0]])
    src = 1e6 + rng.uniform(0, 100, (8, 2))
    dst = geometry.apply_homography(H_true, src)
    H = geometry.homography_from_points(src, dst)
    # measured 2.3e-10 px
    assert np.abs(geometry.apply_homography(H, src) - dst).max() < 1e-8


@pytest.mark.parametrize(
    ("polygon", "accepted"),
    [
        # "no area" is judged against the polygon's larger extent, whichever axis it is on
        ([[0, 0], [0.0005, 500], [0, 1000]], False),  # area 0.25 over 1000 px: a line
        ([[0, 0], [500, 0.0005], [1000, 0]], False),
        ([[0, 0], [0.01, 500], [0, 1000]], True),  # area 5 over 1000 px: thin but real
        # below one pixel of extent the threshold stays at 1e-6 px²
        ([[0, 0], [0.001, 0], [0, 0.001]], False),  # area 5e-7
        ([[0, 0], [0.002, 0], [0, 0.002]], True),  # area 2e-6
    ],
)
def test_collinearity_is_judged_relative_to_the_polygons_size(polygon, accepted):
    problem = geometry.polygon_problem(np.array(polygon, float))
    assert (problem is None) == accepted, problem


@pytest.mark.parametrize(
    ("corners", "accepted"),
    [
        ([[0, 0], [1e-4, 500], [0, 1000], [-10, 500]], False),  # 0, 1, 2 on a vertical line
        ([[0, 0], [500, 1e-4], [1000, 0], [500, 10]], False),  # ... on a horizontal line
        ([[0, 0], [0.2, 500], [0, 1000], [-10, 500]], True),
        ([[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001]], False),  # a thousandth of a pixel
        ([[0, 0], [0.002, 0], [0.002, 0.002], [0, 0.002]], True),
    ],
)
def test_corner_pin_collinearity_is_judged_relative_to_the_quads_size(corners, accepted):
    problem = geometry.quad_degeneracy(np.array(corners, float))
    assert (problem is None) == accepted, problem


# --- edges of the specification (each kills a mutant that survived: docs/testing.md) -------


def test_fewer_than_three_points_give_no_triangles():
    for outline in ([[0.0, 0.0], [5.0, 5.0]], [[1.0, 2.0]]):
        tris = geometry.triangulate_polygon(np.array(outline))
        assert tris.shape == (0, 3)
        assert tris.dtype == np.int32


def test_the_horizon_margin_is_1e_12_in_w():
    """A vertex whose w is within 1e-12 of 0 is on the horizon; at 1e-12 it is not."""
    at_margin = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1e-12]])  # w = 1e-12 everywhere
    outline = np.array([[0, 0], [4, 0], [4, 3]], float)
    assert not geometry.polygon_maps_finitely(at_margin, outline)
    assert not geometry.polygon_maps_finitely(-at_margin, outline)
    beyond = at_margin * np.array([1, 1, 2.0])[:, None]  # w = 2e-12
    assert geometry.polygon_maps_finitely(beyond, outline)
    assert geometry.polygon_maps_finitely(-beyond, outline)
    # apply_homography maps a point at w = 1e-12 (far away) and refuses one below it
    np.testing.assert_allclose(
        geometry.apply_homography(at_margin, [[1.0, 2.0]]), [[1e12, 2e12]], rtol=1e-15
    )
    with pytest.raises(ValueError, match="maps to infinity"):
        geometry.apply_homography(at_margin * np.array([1, 1, 0.5])[:, None], [[1.0, 2.0]])


def test_points_a_millionth_of_a_pixel_apart_are_distinct():
    outline = [[0, 0], [1e-6, 0], [10, 10], [0, 10]]  # edge 0-1 exactly 1e-6 long
    assert geometry.polygon_problem(np.array(outline, float)) is None
    outline[1][0] = 9e-7
    assert geometry.polygon_problem(np.array(outline, float)) == "points 0 and 1 are the same"


def test_an_area_exactly_at_the_collinearity_threshold_is_accepted():
    # area 2e-6 / 2 = 1e-6 px² exactly: the threshold (1e-6 × extent², extent at least
    # 1 px); "no area" means below it
    assert geometry.polygon_problem(np.array([[0, 0], [1, 0], [0, 2e-6]], float)) is None
    # the corner pin's triangle (0, 1, 3) has exactly that area too
    quad = np.array([[0, 0], [1, 0], [1, 1], [0, 2e-6]], float)
    assert geometry.quad_degeneracy(quad) is None


def test_a_concave_corner_pin_is_not_a_bow_tie():
    # the line through edge 2-3 separates corners 0 and 1, but the edges do not cross
    dart = np.array([[0, 0], [10, 0], [3, 3], [0, 10]], float)
    assert geometry.quad_degeneracy(dart) is None
    assert geometry.quad_degeneracy(dart[[1, 2, 3, 0]]) is None


def test_five_points_four_on_a_line_do_not_determine_a_homography():
    src = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [0, 1]], float)
    with pytest.raises(ValueError, match=r"^point pairs do not determine a unique homography$"):
        geometry.homography_from_points(src, src * 2 + 1)


def test_a_small_patch_far_from_the_origin_fits_exactly():
    """A 10 × 7 px patch 100 000 px out: normalisation must centre the points on their
    own centroid (measured 9e-13 px; centring badly loses the fit entirely)."""
    H_true = np.array([[1.2, 0.1, 3.0], [0.05, 0.9, -2.0], [1e-4, 2e-4, 1.0]])
    src = np.array([[0, 0], [10, 0], [10, 7], [0, 7], [3, 2], [7, 5]], float) + 1e5
    dst = H_true @ np.vstack([src.T, np.ones(len(src))])
    dst = (dst[:2] / dst[2]).T
    H = geometry.homography_from_points(src, dst)
    mapped = H @ np.vstack([src.T, np.ones(len(src))])
    assert np.abs((mapped[:2] / mapped[2]).T - dst).max() < 1e-8
