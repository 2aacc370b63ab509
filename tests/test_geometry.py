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
