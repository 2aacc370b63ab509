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

import bisect
import math
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
    if len(p) <= 16:  # plain floats: no numpy call overhead for the common small outline
        pts = p.tolist()
        return 0.5 * sum(
            x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True)
        )
    x, y = p[:, 0], p[:, 1]
    x1, y1 = np.concatenate((x[1:], x[:1])), np.concatenate((y[1:], y[:1]))
    return 0.5 * float(np.sum(x * y1 - x1 * y))


def _segments_cross(
    a: Sequence[float], b: Sequence[float], c: Sequence[float], d: Sequence[float]
) -> bool:
    """Whether open segments ab and cd properly intersect."""

    def orient(p: Sequence[float], q: Sequence[float], r: Sequence[float]) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    d1, d2 = orient(c, d, a), orient(c, d, b)
    d3, d4 = orient(a, b, c), orient(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def polygon_problem(polygon: np.ndarray) -> str | None:
    """Why a polygon cannot be used as a surface outline, or ``None`` if it can.

    Rejects fewer than 3 vertices, non-finite values, (near) zero area, repeated vertices
    and self-intersections, in O(n log n) time for n vertices (:func:`first_crossing`).
    """
    p = np.asarray(polygon, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        return f"expected a list of [x, y] points, got shape {p.shape}"
    n = len(p)
    if n < 3:
        return f"expected at least 3 points, got {n}"
    if not np.all(np.isfinite(p)):
        return "points must be finite numbers"
    same = np.flatnonzero(np.hypot(*(p - np.concatenate((p[1:], p[:1]))).T) < 1e-6)
    if len(same):
        i = int(same[0])
        return f"points {i} and {(i + 1) % n} are the same"
    if (pair := first_crossing(p)) is not None:
        i, j = pair
        return f"edges {i}-{(i + 1) % n} and {j}-{(j + 1) % n} cross (self-intersecting)"
    scale = max(float(np.ptp(p[:, 0])), float(np.ptp(p[:, 1])), 1.0)
    if abs(polygon_area(p)) < 1e-6 * scale * scale:
        return "points are collinear (the polygon has no area)"
    return None


def first_crossing(polygon: np.ndarray) -> tuple[int, int] | None:
    """A pair of edges ``(i, j)``, ``i < j``, that properly cross, or ``None``.

    Edge ``i`` runs from vertex ``i`` to ``i + 1``; edges that only touch (at a shared
    vertex, or an end on the other edge) do not cross. A sweep line (Shamos and Hoey,
    1976) moves across the outline from left to right keeping the edges it cuts in their
    order along it; while no two edges cross that order never changes, so the first
    crossing is between two edges that are next to each other in it at some moment, and
    only neighbours need testing: O(n log n) for n edges, whatever the outline's shape
    (the all-pairs test was n²/2: 2 million tests for 2000 vertices). It agrees with the
    all-pairs test (``tests/test_polygon_algorithms.py``) except for vertices within about
    1e-300 of each other, where both are decided by floating-point underflow.
    """
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    n = len(p)
    if n < 4:
        return None
    if n <= 8:  # a handful of pairs: test them all, without the sweep's set-up
        pts = p.tolist()
        for i in range(n):
            for j in range(i + 2, n - (i == 0)):
                if _segments_cross(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]):
                    return (i, j)
        return None
    a, b = p, np.concatenate((p[1:], p[:1]))
    flip = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    left = np.where(flip[:, None], b, a)
    right = np.where(flip[:, None], a, b)
    dx = right[:, 0] - left[:, 0]
    dy = right[:, 1] - left[:, 1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        slope = np.where(dx > 0, dy / dx, np.inf)  # ±inf: vertical, or too steep for a float
    slope = np.where(np.isnan(slope), np.inf, slope)
    lx, ly, ry, sl = left[:, 0].tolist(), left[:, 1].tolist(), right[:, 1].tolist(), slope.tolist()
    # events: every edge enters at its left end and leaves at its right end; at one point,
    # leaving comes first, then entering
    # (an edge of no length crosses nothing: it has no events)
    real = np.flatnonzero(np.any(left != right, axis=1))
    xs = np.concatenate([left[real, 0], right[real, 0]])
    ys = np.concatenate([left[real, 1], right[real, 1]])
    m = len(real)
    kind = np.concatenate([np.ones(m, np.int8), np.zeros(m, np.int8)])  # 1 enter, 0 leave
    order = np.lexsort((kind, ys, xs))
    event_x, event_kind = xs[order].tolist(), kind[order].tolist()
    event_edge = real[order % m].tolist()
    ax, ay, bx, by = a[:, 0].tolist(), a[:, 1].tolist(), b[:, 0].tolist(), b[:, 1].tolist()

    def crosses(i: int, j: int) -> bool:  # _segments_cross, on plain floats
        d1 = (bx[j] - ax[j]) * (ay[i] - ay[j]) - (by[j] - ay[j]) * (ax[i] - ax[j])
        d2 = (bx[j] - ax[j]) * (by[i] - ay[j]) - (by[j] - ay[j]) * (bx[i] - ax[j])
        d3 = (bx[i] - ax[i]) * (ay[j] - ay[i]) - (by[i] - ay[i]) * (ax[j] - ax[i])
        d4 = (bx[i] - ax[i]) * (by[j] - ay[i]) - (by[i] - ay[i]) * (bx[j] - ax[i])
        return d1 * d2 < 0 and d3 * d4 < 0

    sweep_x = 0.0

    def key(e: int) -> tuple[float, float]:
        """Where edge e cuts the sweep line, then its slope (ties: the steeper is above)."""
        s = sl[e]
        if math.isinf(s):  # all its x within a rounding error: its end where the sweep is
            return (ly[e] if sweep_x <= lx[e] else ry[e], s)
        return (ly[e] + s * (sweep_x - lx[e]), s)

    active: list[int] = []
    for x, k, e in zip(event_x, event_kind, event_edge, strict=True):
        sweep_x = x
        if k == 1:
            at = bisect.bisect_left(active, key(e), key=key)
            active.insert(at, e)
            for other in (
                active[at - 1] if at > 0 else -1,
                active[at + 1] if at + 1 < len(active) else -1,
            ):
                if other >= 0 and crosses(e, other):
                    return (min(e, other), max(e, other))
        else:
            at = bisect.bisect_left(active, key(e), key=key)
            while at < len(active) and active[at] != e and key(active[at]) <= key(e):
                at += 1
            if at >= len(active) or active[at] != e:  # rounding put it elsewhere
                at = active.index(e)
            del active[at]
            if 0 < at < len(active) and crosses(active[at - 1], active[at]):
                i, j = active[at - 1], active[at]
                return (min(i, j), max(i, j))
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
        tri = q[[i for i in range(4) if i != skip]]
        if abs(polygon_area(tri)) < 1e-6 * scale * scale:
            others = [i for i in range(4) if i != skip]
            return f"corners {others[0]}, {others[1]} and {others[2]} are collinear"
    if _segments_cross(q[0], q[1], q[2], q[3]) or _segments_cross(q[1], q[2], q[3], q[0]):
        return "the quad is self-intersecting (corners out of order: a bow-tie)"
    return None


def triangulate_polygon(polygon: np.ndarray) -> np.ndarray:
    """Triangles covering a simple polygon exactly; returns (T, 3) int32 vertex indices.

    Ear clipping with z-order hashing (mapbox earcut, C++): O(n log n) in practice, a
    2000-vertex outline in about a millisecond. Every triangle turns the polygon's way
    (the same sign of area), so a CCW and a CW outline give the same coverage. A polygon
    with collinear vertices may get fewer than n - 2 triangles (the flat ones are left out).
    """
    import mapbox_earcut

    p = np.array(polygon, dtype=np.float64, order="C").reshape(-1, 2)  # writable, for earcut
    n = len(p)
    if n < 3:
        return np.zeros((0, 3), dtype=np.int32)
    tris = mapbox_earcut.triangulate_float64(p, np.array([n], dtype=np.uint32))
    tris = np.asarray(tris, dtype=np.int64).reshape(-1, 3)
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    turn = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    if polygon_area(p) > 0:
        flip = turn < 0
    else:
        flip = turn > 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris.astype(np.int32)


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
