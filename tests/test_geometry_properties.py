"""Properties of the pure geometry, for any input Hypothesis can think of.

Expected values are computed independently of ``mapping.geometry``: point-in-polygon and
triangle coverage with float64 numpy written here, OpenCV for homographies, and a tiny GL
program for the GLSL side. Run more examples with ``HYPOTHESIS_PROFILE=thorough``.
"""

from __future__ import annotations

import math

import cv2
import moderngl
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mapping import geometry

# --- independent helpers ------------------------------------------------------------------


def shoelace(points: np.ndarray) -> float:
    """Signed area, positive when the points run clockwise on screen (x right, y down)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd ray casting for (N, 2) points; any winding."""
    x, y = points[:, 0][:, None], points[:, 1][:, None]
    x0, y0 = polygon[:, 0][None], polygon[:, 1][None]
    x1, y1 = np.roll(polygon[:, 0], -1)[None], np.roll(polygon[:, 1], -1)[None]
    straddles = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (np.count_nonzero(straddles & (x < x_cross), axis=1) % 2) == 1


def inside_triangle(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Strictly inside, either orientation."""

    def side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (b[0] - a[0]) * (points[:, 1] - a[1]) - (b[1] - a[1]) * (points[:, 0] - a[0])

    s = np.stack([side(tri[0], tri[1]), side(tri[1], tri[2]), side(tri[2], tri[0])])
    return np.all(s > 0, axis=0) | np.all(s < 0, axis=0)


def sample_points(polygon: np.ndarray, n: int = 40) -> np.ndarray:
    """A jittered grid over the polygon's bounds (jitter keeps samples off vertex lines)."""
    lo, hi = polygon.min(axis=0), polygon.max(axis=0)
    u = (np.arange(n) + 0.5 + 0.123) / n
    gx, gy = np.meshgrid(lo[0] + u * (hi[0] - lo[0]), lo[1] + (u + 0.0371) % 1 * (hi[1] - lo[1]))
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def edge_distance(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Distance from each point to the polygon outline."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a
    t = ((points[:, None] - a[None]) * ab[None]).sum(-1) / (ab * ab).sum(-1)[None]
    closest = a[None] + np.clip(t, 0, 1)[..., None] * ab[None]
    return np.linalg.norm(points[:, None] - closest, axis=-1).min(axis=1)


# --- strategies ---------------------------------------------------------------------------


@st.composite
def star_polygons(draw: st.DrawFn) -> np.ndarray:
    """Simple polygons, convex or not: vertices at increasing angles around a centre (so
    star-shaped, hence simple), each at its own radius. Clockwise on screen as drawn;
    tests reverse them for the other winding."""
    n = draw(st.integers(3, 20))
    jitter = draw(st.lists(st.floats(0.0, 0.7), min_size=n, max_size=n))
    radii = draw(st.lists(st.floats(10.0, 100.0), min_size=n, max_size=n))
    size = draw(st.sampled_from([0.01, 1.0, 100.0]))  # sub-pixel to 10 000 px across
    cx, cy = draw(st.floats(-500, 500)), draw(st.floats(-500, 500))
    angles = [2 * math.pi * (k + j) / n for k, j in enumerate(jitter)]
    p = np.array(
        [[cx + size * r * math.cos(a), cy + size * r * math.sin(a)]
         for a, r in zip(angles, radii, strict=True)]
    )  # fmt: skip
    assume(geometry.polygon_problem(p) is None)
    # keep clear of nearly collinear vertex triples, where "ear or not" is a rounding error
    for k in range(n):
        a, b, c = p[k - 1], p[k], p[(k + 1) % n]
        turn = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        assume(abs(turn) > 1e-3 * np.linalg.norm(b - a) * np.linalg.norm(c - b))
    return p


WINDINGS = st.sampled_from(["clockwise", "counter-clockwise"])


def wound(polygon: np.ndarray, winding: str) -> np.ndarray:
    return polygon if winding == "clockwise" else polygon[::-1].copy()


@st.composite
def homographies(draw: st.DrawFn) -> np.ndarray:
    """Well-conditioned H_canvas_to_projector: a 400×300 canvas onto a random convex quad of
    a 1280×720 output (corners moved up to 120 px from a rectangle, so perspective too)."""
    moves = draw(st.lists(st.floats(-120, 120), min_size=8, max_size=8))
    target = np.array([[200, 100], [1080, 100], [1080, 620], [200, 620]], float)
    target += np.array(moves).reshape(4, 2)
    canvas = np.array([[0, 0], [400, 0], [400, 300], [0, 300]], float)
    assume(geometry.quad_degeneracy(target) is None)
    assume(all(shoelace(np.delete(target, k, 0)) > 1000 for k in range(4)))  # convex
    H, _ = cv2.findHomography(canvas, target)  # the independent fit
    return H / H[2, 2]


POINTS_CANVAS = st.lists(
    st.tuples(st.floats(0, 400), st.floats(0, 300)), min_size=1, max_size=20
).map(lambda pts: np.array(pts, float))


# --- ear clipping -------------------------------------------------------------------------


@given(star_polygons(), WINDINGS)
def test_triangles_exactly_cover_any_simple_polygon_of_either_winding(polygon, winding):
    polygon = wound(polygon, winding)
    tris = geometry.triangulate_polygon(polygon)
    n = len(polygon)
    assert tris.shape == (n - 2, 3) and tris.dtype == np.int32  # as the renderer indexes
    assert set(tris.ravel()) <= set(range(n))
    # every triangle turns the polygon's way: none is flipped or flat
    sign = np.sign(shoelace(polygon))
    for t in tris:
        assert np.sign(shoelace(polygon[t])) == sign
    # the areas add up to the polygon's
    total = sum(abs(shoelace(polygon[t])) for t in tris)
    assert total == pytest.approx(abs(shoelace(polygon)), rel=1e-9)
    # every sample point (off the outline) is in exactly one triangle when inside the polygon
    # and in none outside: no triangle pokes out, none overlaps, no hole
    pts = sample_points(polygon)
    pts = pts[edge_distance(pts, polygon) > 1e-6]
    count = sum(inside_triangle(pts, polygon[t]).astype(int) for t in tris)
    np.testing.assert_array_equal(count, inside_polygon(pts, polygon).astype(int))


CONCAVE = {
    "L": [[0, 0], [30, 0], [30, 10], [10, 10], [10, 30], [0, 30]],
    "U": [[0, 0], [10, 0], [10, 20], [20, 20], [20, 0], [30, 0], [30, 30], [0, 30]],
    "comb": [[0, 0], [40, 0], [40, 30], [30, 30], [30, 10], [20, 10], [20, 30], [10, 30],
             [10, 10], [0, 10]],
    "arrow": [[0, 10], [20, 10], [20, 0], [40, 20], [20, 40], [20, 30], [0, 30]],
    # a reflex vertex exactly on the diagonal of a would-be ear: that is no ear
    "notch-on-diagonal": [[0, 0], [4, 0], [4, 4], [2, 2], [0, 4]],
    "w": [[0, 0], [8, 0], [8, 8], [6, 2], [4, 8], [2, 2], [0, 8]],
    # collinear vertices: mid-edge points and a staircase
    "midpoints": [[0, 0], [5, 0], [10, 0], [10, 5], [10, 10], [5, 10], [0, 10], [0, 5]],
    "stairs": [[0, 0], [3, 0], [3, 1], [2, 1], [2, 2], [1, 2], [1, 3], [0, 3]],
    # a tenth of a pixel across: no threshold may assume pixel-sized numbers
    "tiny-L": [[0, 0], [0.3, 0], [0.3, 0.1], [0.1, 0.1], [0.1, 0.3], [0, 0.3]],
    "tiny-comb": [[0.1, 0.1], [0, 0.1], [0, 0], [0.4, 0], [0.4, 0.3], [0.3, 0.3], [0.3, 0.1],
                  [0.2, 0.1], [0.2, 0.3], [0.1, 0.3]],
}  # fmt: skip


@pytest.mark.parametrize("winding", ["clockwise", "counter-clockwise"])
@pytest.mark.parametrize("name", sorted(CONCAVE))
def test_concave_outlines_are_covered_exactly_in_both_windings(name, winding):
    polygon = wound(np.array(CONCAVE[name], float), winding)
    tris = geometry.triangulate_polygon(polygon)
    areas = [abs(shoelace(polygon[t])) for t in tris]
    # e.g. the L-shape: 500, never the 900 of its bounding triangles (a CCW-blind clipper)
    assert sum(areas) == pytest.approx(abs(shoelace(polygon)))
    pts = sample_points(polygon, 60)
    pts = pts[edge_distance(pts, polygon) > 1e-6]
    count = sum(inside_triangle(pts, polygon[t]).astype(int) for t in tris)
    np.testing.assert_array_equal(count, inside_polygon(pts, polygon).astype(int))


def test_polygon_area_is_positive_clockwise_on_screen():
    clockwise_on_screen = np.array([[0, 0], [10, 0], [10, 5], [0, 5]], float)  # y down
    assert geometry.polygon_area(clockwise_on_screen) == 50.0
    assert geometry.polygon_area(clockwise_on_screen[::-1]) == -50.0


@given(star_polygons(), WINDINGS)
def test_polygon_area_is_the_shoelace_area(polygon, winding):
    polygon = wound(polygon, winding)
    assert geometry.polygon_area(polygon) == pytest.approx(shoelace(polygon), rel=1e-12)


@given(star_polygons(), WINDINGS)
def test_simple_polygons_are_accepted_and_bounds_enclose_them(polygon, winding):
    polygon = wound(polygon, winding)
    assert geometry.polygon_problem(polygon) is None
    x0, y0, x1, y1 = geometry.polygon_bounds(polygon)
    assert (x0, y0) == (polygon[:, 0].min(), polygon[:, 1].min())
    assert (x1, y1) == (polygon[:, 0].max(), polygon[:, 1].max())
    np.testing.assert_array_equal(
        geometry.bounds_corners(polygon), [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    )


@given(star_polygons(), st.integers(0, 19), st.integers(0, 19))
def test_a_polygon_with_two_edges_crossing_is_rejected(polygon, i, offset):
    """Points on a circle have one simple order (and its reverse): swapping two vertices that
    are not neighbours (n ≥ 5) always makes two edges cross."""
    n = len(polygon)
    assume(n >= 5)
    centre = polygon.mean(axis=0)
    # in angular order: a star polygon's vertices need not be, around their mean (found by
    # Hypothesis during a mutation run: a vertex order with a fold is simple after a swap)
    angles = np.sort(np.arctan2(*(polygon - centre).T[::-1]))
    on_circle = centre + 50.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    i, j = i % n, (i + 2 + offset % (n - 3)) % n
    bad = on_circle.copy()
    bad[[i, j]] = bad[[j, i]]
    problem = geometry.polygon_problem(bad)
    assert problem is not None and "cross" in problem


# --- homographies -------------------------------------------------------------------------


@given(homographies(), POINTS_CANVAS)
def test_apply_homography_is_the_projective_map_opencv_computes(H, points):
    mapped = geometry.apply_homography(H, points)
    # cv2.perspectiveTransform uses no pixel convention: the same matrix, the same points
    expected = cv2.perspectiveTransform(points.reshape(-1, 1, 2), H).reshape(-1, 2)
    np.testing.assert_allclose(mapped, expected, atol=1e-6)


@given(homographies(), POINTS_CANVAS)
def test_inverse_homography_round_trips_points(H, points):
    there = geometry.apply_homography(H, points)
    back = geometry.apply_homography(np.linalg.inv(H), there)
    np.testing.assert_allclose(back, points, atol=1e-7)


@given(homographies())
def test_four_corners_determine_the_homography(H):
    canvas = np.array([[0, 0], [400, 0], [400, 300], [0, 300]], float)
    fitted = geometry.homography_from_points(canvas, geometry.apply_homography(H, canvas))
    np.testing.assert_allclose(fitted, H, rtol=1e-7, atol=1e-9)
    assert fitted[2, 2] == 1.0


@given(homographies(), st.floats(-1e3, 1e3).filter(lambda k: abs(k) > 1e-3))
def test_a_homography_is_normalised_whatever_its_scale(H, k):
    np.testing.assert_allclose(geometry.as_homography(k * H), H, rtol=1e-9, atol=1e-12)


@given(homographies(), POINTS_CANVAS)
def test_opencv_convention_is_our_convention_shifted_by_half_a_pixel(H, points):
    H_cv = geometry.to_opencv_homography(H)
    ours = geometry.apply_homography(H, points)
    theirs = cv2.perspectiveTransform((points - 0.5).reshape(-1, 1, 2), H_cv).reshape(-1, 2)
    np.testing.assert_allclose(theirs, ours - 0.5, atol=1e-6)
    np.testing.assert_allclose(geometry.from_opencv_homography(H_cv), H, rtol=1e-12, atol=1e-12)


@given(homographies())
def test_the_mapped_canvas_outline_maps_finitely(H):
    canvas = np.array([[0, 0], [400, 0], [400, 300], [0, 300]], float)
    assert geometry.polygon_maps_finitely(H, canvas)
    assert geometry.polygon_maps_finitely(-H, canvas)  # w < 0 everywhere is fine too


def test_a_polygon_across_the_horizon_does_not_map_finitely():
    H = np.array([[1.0, 0, 0], [0, 1.0, 0], [0.01, 0, 1.0]])  # w = 0 on the line x = -100
    assert not geometry.polygon_maps_finitely(H, np.array([[-150, 0], [0, 0], [0, 10]], float))
    with pytest.raises(ValueError, match="infinity"):
        geometry.apply_homography(H, [[-100.0, 5.0]])


# --- numpy and GLSL agree -----------------------------------------------------------------

_PROBE_VS = """#version 330 core
in vec2 a_projector_px;
in mat3 a_H;
uniform vec2 u_size_px;
flat out mat3 v_H;
void main() {
    v_H = a_H;
    gl_Position = vec4(a_projector_px / u_size_px * 2.0 - 1.0, 0.0, 1.0);
}
"""
_PROBE_FS = """#version 330 core
flat in mat3 v_H;
out vec4 f;
void main() {
    vec3 q = v_H * vec3(gl_FragCoord.xy, 1.0);
    f = vec4(q.xy / q.z, 0.0, 1.0);
}
"""
PROBE_SIZE = (32, 8)


@pytest.fixture(scope="module")
def glsl_probe(gl_session: moderngl.Context):
    """A float framebuffer where each fragment writes H · (its pixel centre), H given as a
    per-vertex mat3 from geometry.mat3_to_glsl (as the warp shader gets it)."""
    ctx = gl_session
    prog = ctx.program(vertex_shader=_PROBE_VS, fragment_shader=_PROBE_FS)
    prog["u_size_px"].value = PROBE_SIZE
    tex = ctx.texture(PROBE_SIZE, 4, dtype="f4")
    fbo = ctx.framebuffer([tex])
    w, h = PROBE_SIZE
    corners = np.array([[0, 0], [w, 0], [w, h], [0, 0], [w, h], [0, h]], "f4")
    vbo = ctx.buffer(reserve=len(corners) * 11 * 4)
    vao = ctx.vertex_array(prog, [(vbo, "2f 9f", "a_projector_px", "a_H")])

    def run(H: np.ndarray) -> np.ndarray:
        data = np.empty((len(corners), 11), "f4")
        data[:, :2] = corners
        data[:, 2:] = geometry.mat3_to_glsl(H)
        vbo.write(data.tobytes())
        fbo.use()
        fbo.clear()
        vao.render(moderngl.TRIANGLES)
        out = np.frombuffer(fbo.read(components=4, dtype="f4"), "f4").reshape(h, w, 4)
        ctx.detect_framebuffer(0).use()  # never release the bound framebuffer
        return out[..., :2].astype(np.float64)

    assert ctx.error == "GL_NO_ERROR"
    yield run
    assert ctx.error == "GL_NO_ERROR"
    for obj in (vao, vbo, fbo, tex, prog):
        obj.release()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(homographies())
def test_glsl_maps_every_pixel_centre_where_numpy_does(glsl_probe, H):
    H_projector_to_canvas = np.linalg.inv(H)
    H_projector_to_canvas /= H_projector_to_canvas[2, 2]
    offset = np.array([[1, 0, 600], [0, 1, 350], [0, 0, 1.0]])  # probe the output's middle
    H_probe = H_projector_to_canvas @ offset
    gl = glsl_probe(H_probe)
    centres = geometry.pixel_centers(*PROBE_SIZE).reshape(-1, 2)
    expected = geometry.apply_homography(H_probe, centres).reshape(gl.shape)
    # float32 maths in the shader: measured ≤ 7.1e-5 px over 2000 random homographies
    np.testing.assert_allclose(gl, expected, atol=2e-4)
