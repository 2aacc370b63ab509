"""Planar geometry of the mapping: homographies, polygons and pixel conventions (pure numpy).

Coordinate spaces (every variable names the one it lives in):

* ``canvas_px``    — pixels of the facade template, origin top-left, y down.
* ``projector_px`` — pixels of one projector output, origin top-left, y down.
* ``camera_px``    — pixels of the calibration camera, origin top-left, y down.
* ``uv``           — 0..1 texture coordinates inside one texture, ``v`` down like the image rows.

**Pixel-centre convention.** All continuous pixel coordinates in this project put the
centre of pixel ``(i, j)`` at ``(i + 0.5, j + 0.5)``: pixel ``(i, j)`` covers
``[i, i+1) × [j, j+1)``. This is OpenGL's convention (``gl_FragCoord`` of the first pixel
is ``(0.5, 0.5)``), so a homography from this module can go to a shader unchanged. OpenCV
puts pixel centres at integers; :func:`to_opencv_homography` converts a homography between
the two conventions and is the only place that shift is written.

A homography is a float64 3×3 row-major array named for what it maps, e.g.
``H_canvas_to_projector`` takes homogeneous ``canvas_px`` column vectors to ``projector_px``.
:func:`mat3_to_glsl` is the only function that turns one into the layout GLSL's ``mat3``
wants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mapping import validate

PIXEL_CENTER_OFFSET = 0.5
"""Continuous coordinate of the centre of pixel 0 (see the module docstring)."""

_EPS = 1e-12


def pixel_centers(width: int, height: int) -> np.ndarray:
    """Continuous coordinates of every pixel centre, shape (height, width, 2) as (x, y)."""
    xs = np.arange(width, dtype=np.float64) + PIXEL_CENTER_OFFSET
    ys = np.arange(height, dtype=np.float64) + PIXEL_CENTER_OFFSET
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1)


def as_homography(values: object) -> np.ndarray:
    """A float64 3×3 homography from nested sequences, normalised so ``H[2, 2] == 1``.

    Raises ``ValueError`` with a reason a person can act on when it is not one.
    """
    H = np.asarray(values, dtype=np.float64)
    if H.shape != (3, 3):
        raise ValueError(f"expected a 3×3 matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("matrix has non-finite entries")
    return normalize_homography(H)


def normalize_homography(H: np.ndarray) -> np.ndarray:
    """Scale ``H`` so that ``H[2, 2] == 1`` (or its largest entry is 1 when ``H[2, 2]`` ≈ 0).

    Raises ``ValueError`` for a matrix that is not a usable homography (all zeros,
    singular, badly conditioned, entries too large to apply without overflow); the rules
    and their wording are :func:`mapping.validate.homography_problem`'s. Any scale the
    validator accepts is safe here: ``H`` is divided by its largest entry first.
    """
    return validate.normalised_homography(H)


def apply_homography(H_src_to_dst: np.ndarray, points_src: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a homography; returns (N, 2) float64 points."""
    pts = np.asarray(points_src, dtype=np.float64).reshape(-1, 2)
    homog = np.hstack([pts, np.ones((len(pts), 1))]) @ np.asarray(H_src_to_dst).T
    w = homog[:, 2:3]
    if np.any(np.abs(w) < _EPS):
        raise ValueError("a point maps to infinity (it lies on the homography's horizon line)")
    return homog[:, :2] / w


def homography_from_points(points_src: np.ndarray, points_dst: np.ndarray) -> np.ndarray:
    """The homography taking ``points_src`` to ``points_dst`` (≥ 4 pairs; exact for 4).

    Direct linear transform with Hartley normalisation, least squares for more than four
    pairs. Raises ``ValueError`` for degenerate point sets (three collinear of four).
    """
    src = np.asarray(points_src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(points_dst, dtype=np.float64).reshape(-1, 2)
    if len(src) != len(dst):
        raise ValueError(f"{len(src)} source points but {len(dst)} destination points")
    if len(src) < 4:
        raise ValueError(f"a homography needs at least 4 point pairs, got {len(src)}")
    for name, pts in (("source", src), ("destination", dst)):
        if len(pts) == 4 and (reason := quad_degeneracy(pts)):
            raise ValueError(f"{name} points are degenerate: {reason}")
    T_src = _normalising_transform(src)
    T_dst = _normalising_transform(dst)
    s = apply_homography(T_src, src)
    d = apply_homography(T_dst, dst)
    rows = []
    for (x, y), (u, v) in zip(s, d, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, sv, vt = np.linalg.svd(np.asarray(rows))
    if sv[-2] < 1e-10 * sv[0]:
        raise ValueError("point pairs do not determine a unique homography")
    H_norm = vt[-1].reshape(3, 3)
    H = np.linalg.inv(T_dst) @ H_norm @ T_src
    return normalize_homography(H)


def _normalising_transform(points: np.ndarray) -> np.ndarray:
    centroid = points.mean(axis=0)
    mean_dist = np.mean(np.linalg.norm(points - centroid, axis=1))
    s = np.sqrt(2.0) / max(mean_dist, _EPS)
    return np.array([[s, 0, -s * centroid[0]], [0, s, -s * centroid[1]], [0, 0, 1.0]])


def to_opencv_homography(H: np.ndarray) -> np.ndarray:
    """Express a homography in OpenCV's pixel convention (pixel centres at integers).

    ``p_cv = p - 0.5``, so ``H_cv = S(-0.5) · H · S(+0.5)`` where ``S(t)`` translates by t.
    Use it when handing a homography to ``cv2.warpPerspective`` and friends.
    """
    o = PIXEL_CENTER_OFFSET
    S_minus = np.array([[1, 0, -o], [0, 1, -o], [0, 0, 1.0]])
    S_plus = np.array([[1, 0, o], [0, 1, o], [0, 0, 1.0]])
    return S_minus @ np.asarray(H, dtype=np.float64) @ S_plus


def from_opencv_homography(H_cv: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_opencv_homography`."""
    o = PIXEL_CENTER_OFFSET
    S_minus = np.array([[1, 0, -o], [0, 1, -o], [0, 0, 1.0]])
    S_plus = np.array([[1, 0, o], [0, 1, o], [0, 0, 1.0]])
    return S_plus @ np.asarray(H_cv, dtype=np.float64) @ S_minus


def mat3_to_glsl(H: np.ndarray) -> np.ndarray:
    """The 9 float32 values GLSL's column-major ``mat3`` wants for the row-major ``H``.

    In GLSL, ``mat3 M`` built from these values satisfies ``M * vec3(x, y, 1) == H @ [x, y, 1]``.
    Used both for uniforms and for per-vertex ``mat3`` attributes.
    """
    return np.ascontiguousarray(np.asarray(H, dtype=np.float64).T, dtype=np.float32).reshape(9)


# --- polygons -----------------------------------------------------------------------------


def polygon_area(polygon: np.ndarray) -> float:
    """Signed area (shoelace); positive for clockwise order on screen (y down)."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _segments_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    """Whether open segments ab and cd properly intersect."""

    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    d1, d2 = orient(c, d, a), orient(c, d, b)
    d3, d4 = orient(a, b, c), orient(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def polygon_problem(polygon: np.ndarray) -> str | None:
    """Why a polygon cannot be used as a surface outline, or ``None`` if it can.

    Rejects fewer than 3 vertices, non-finite values, (near) zero area, repeated vertices
    and self-intersections.
    """
    p = np.asarray(polygon, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        return f"expected a list of [x, y] points, got shape {p.shape}"
    n = len(p)
    if n < 3:
        return f"expected at least 3 points, got {n}"
    if not np.all(np.isfinite(p)):
        return "points must be finite numbers"
    for i in range(n):
        if np.linalg.norm(p[i] - p[(i + 1) % n]) < 1e-6:
            return f"points {i} and {(i + 1) % n} are the same"
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if _segments_cross(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n]):
                return f"edges {i}-{(i + 1) % n} and {j}-{(j + 1) % n} cross (self-intersecting)"
    scale = max(float(np.ptp(p[:, 0])), float(np.ptp(p[:, 1])), 1.0)
    if abs(polygon_area(p)) < 1e-6 * scale * scale:
        return "points are collinear (the polygon has no area)"
    return None


def quad_degeneracy(corners: np.ndarray) -> str | None:
    """Why four corner-pin points cannot define a warp, or ``None`` if they can.

    Rejects three collinear corners and self-intersecting ("bow-tie") quads.
    """
    q = np.asarray(corners, dtype=np.float64)
    if q.shape != (4, 2):
        return f"expected 4 [x, y] corners, got shape {q.shape}"
    if not np.all(np.isfinite(q)):
        return "corners must be finite numbers"
    scale = max(float(np.ptp(q[:, 0])), float(np.ptp(q[:, 1])), 1.0)
    for skip in range(4):
        tri = np.delete(q, skip, axis=0)
        if abs(polygon_area(tri)) < 1e-6 * scale * scale:
            others = [i for i in range(4) if i != skip]
            return f"corners {others[0]}, {others[1]} and {others[2]} are collinear"
    if _segments_cross(q[0], q[1], q[2], q[3]) or _segments_cross(q[1], q[2], q[3], q[0]):
        return "the quad is self-intersecting (corners out of order: a bow-tie)"
    return None


def triangulate_polygon(polygon: np.ndarray) -> np.ndarray:
    """Ear-clipping triangulation of a simple polygon; returns (T, 3) vertex indices."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    n = len(p)
    idx = list(range(n))
    ccw = polygon_area(p) > 0
    tris: list[tuple[int, int, int]] = []

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    def inside(pt: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
        c1, c2, c3 = cross(a, b, pt), cross(b, c, pt), cross(c, a, pt)
        return (c1 >= 0 and c2 >= 0 and c3 >= 0) or (c1 <= 0 and c2 <= 0 and c3 <= 0)

    guard = 0
    while len(idx) > 3 and guard < 10 * n * n:
        guard += 1
        m = len(idx)
        for k in range(m):
            i0, i1, i2 = idx[(k - 1) % m], idx[k], idx[(k + 1) % m]
            turn = cross(p[i0], p[i1], p[i2])
            if (turn > 0) != ccw or abs(turn) < 1e-12:
                continue
            if any(inside(p[j], p[i0], p[i1], p[i2]) for j in idx if j not in (i0, i1, i2)):
                continue
            tris.append((i0, i1, i2))
            del idx[k]
            break
        else:
            break  # numerically stuck: fall back to a fan over what remains
    if len(idx) >= 3:
        tris.extend((idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1))
    return np.asarray(tris, dtype=np.int32).reshape(-1, 3)


def polygon_bounds(polygon: np.ndarray) -> tuple[float, float, float, float]:
    """Axis-aligned bounds ``(x0, y0, x1, y1)``."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def bounds_corners(polygon: np.ndarray) -> np.ndarray:
    """Corners of a polygon's bounding box in corner-pin order: TL, TR, BR, BL."""
    x0, y0, x1, y1 = polygon_bounds(polygon)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def polygon_maps_finitely(H: np.ndarray, polygon: np.ndarray) -> bool:
    """Whether every vertex stays on the same side of ``H``'s horizon (w > 0 for all)."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    w = np.hstack([p, np.ones((len(p), 1))]) @ np.asarray(H)[2]
    return bool(np.all(w > _EPS) or np.all(w < -_EPS))


def warp_image_reference(
    image: np.ndarray, H_src_to_dst: np.ndarray, size_px: Sequence[int]
) -> np.ndarray:
    """CPU reference warp in this project's pixel convention (bilinear, black outside).

    The same maths the warp shader does, through ``cv2.warpPerspective``; used by tests and
    by the CPU baseline in the benchmarks.
    """
    import cv2

    w, h = int(size_px[0]), int(size_px[1])
    return cv2.warpPerspective(
        image,
        to_opencv_homography(H_src_to_dst),
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
