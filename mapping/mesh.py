"""Mesh warp: a grid of control points on top of a surface's homography (pure numpy).

For lens distortion, a slightly curved wall or the last pixel of alignment, a surface may
carry a grid of ``nx × ny`` control points (2×2 up to 64×64) laid evenly over its
rectangle in ``projector_px`` (the bounds of its polygon mapped through
``H_canvas_to_projector``, so the grid follows corner-pin edits). Each point holds an
offset ``(dx, dy)`` in ``projector_px``; between points the offset ``D(p)`` is a bicubic
Catmull-Rom interpolation (it passes through every point, is C¹ and reproduces constant
and linear offsets exactly: beyond the last point of a row or column the spline continues
its last step; beyond the rectangle the offset of its border carries on).

The warp moves content by the offsets: an output pixel ``p`` shows the canvas at
``H_projector_to_canvas · (p − D(p))``, so content near a control point moves by about its
offset. With every offset zero, ``D = 0`` exactly and the renderer draws the surface with
the plain homography, bit for bit (a flat grid costs nothing and changes nothing).

This module is that maths in float64; ``shaders/warp.glsl`` is the same in GLSL and
``tests/test_mesh_warp.py`` holds the two together. :func:`outline_projector_px` gives the
surface's outline after the warp (edges subdivided, each vertex moved forward by solving
``q − D(q) = H·v``), which the renderer rasterises as the clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mapping import geometry

MESH_SIZE_RANGE = (2, 64)
OUTLINE_SUBDIVISIONS = 32


@dataclass(frozen=True, eq=False)
class MeshWarp:
    """Control point offsets in ``projector_px``, shape (ny, nx, 2), row 0 at the top."""

    offsets_px: np.ndarray

    def __post_init__(self) -> None:
        offsets = np.array(self.offsets_px, dtype=np.float64, copy=True)
        lo, hi = MESH_SIZE_RANGE
        if offsets.ndim != 3 or offsets.shape[2] != 2:
            raise ValueError(f"expected (rows, columns, 2) offsets, got shape {offsets.shape}")
        ny, nx = offsets.shape[:2]
        if not (lo <= nx <= hi and lo <= ny <= hi):
            raise ValueError(f"a mesh has {lo}..{hi} points a side, got {nx}×{ny}")
        if not np.all(np.isfinite(offsets)):
            raise ValueError("mesh offsets must be finite numbers")
        offsets.flags.writeable = False
        object.__setattr__(self, "offsets_px", offsets)

    @classmethod
    def flat(cls, nx: int, ny: int) -> MeshWarp:
        return cls(np.zeros((ny, nx, 2)))

    @property
    def size(self) -> tuple[int, int]:
        """(columns, rows)."""
        return int(self.offsets_px.shape[1]), int(self.offsets_px.shape[0])

    @property
    def is_flat(self) -> bool:
        return not self.offsets_px.any()

    def with_point(self, i: int, j: int, dx: float, dy: float) -> MeshWarp:
        """A copy with point (column i, row j) at offset (dx, dy)."""
        offsets = self.offsets_px.copy()
        offsets[j, i] = (dx, dy)
        return MeshWarp(offsets)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MeshWarp) and (
            self.offsets_px.shape == other.offsets_px.shape
            and self.offsets_px.tobytes() == other.offsets_px.tobytes()
        )

    def __hash__(self) -> int:
        return hash(self.offsets_px.tobytes())


def mesh_rect(H_canvas_to_projector: np.ndarray, polygon_canvas_px: np.ndarray) -> np.ndarray:
    """The rectangle the grid spans, ``[x0, y0, x1, y1]`` in ``projector_px``."""
    corners = geometry.apply_homography(H_canvas_to_projector, polygon_canvas_px)
    return np.array([*corners.min(axis=0), *corners.max(axis=0)], dtype=np.float64)


def catmull_rom_weights(t: np.ndarray) -> np.ndarray:
    """Weights of the four points around ``t ∈ [0, 1]`` (between the 2nd and 3rd), (..., 4)."""
    t = np.asarray(t, np.float64)
    t2, t3 = t * t, t * t * t
    return 0.5 * np.stack(
        [-t3 + 2 * t2 - t, 3 * t3 - 5 * t2 + 2, -3 * t3 + 4 * t2 + t, t3 - t2], axis=-1
    )


def mesh_offset(
    mesh: MeshWarp, rect: Sequence[float], points_projector_px: np.ndarray
) -> np.ndarray:
    """``D(p)`` at (N, 2) points: Catmull-Rom over the grid, borders clamped."""
    offsets = mesh.offsets_px
    nx, ny = mesh.size
    p = np.asarray(points_projector_px, np.float64).reshape(-1, 2)
    x0, y0, x1, y1 = rect
    gx = np.clip((p[:, 0] - x0) / (x1 - x0) * (nx - 1), 0.0, nx - 1)
    gy = np.clip((p[:, 1] - y0) / (y1 - y0) * (ny - 1), 0.0, ny - 1)
    ix = np.minimum(np.floor(gx).astype(np.int64), nx - 2)
    iy = np.minimum(np.floor(gy).astype(np.int64), ny - 2)
    wx = catmull_rom_weights(gx - ix)
    wy = catmull_rom_weights(gy - iy)
    rows = []
    for a in range(4):
        row = np.clip(iy - 1 + a, 0, ny - 1)
        cols = [offsets[row, np.clip(ix - 1 + b, 0, nx - 1)] for b in range(4)]
        _extend(cols, ix - 1 < 0, ix + 2 > nx - 1)
        rows.append(sum(wx[:, b, None] * cols[b] for b in range(4)))
    _extend(rows, iy - 1 < 0, iy + 2 > ny - 1)
    return sum(wy[:, a, None] * rows[a] for a in range(4))


def _extend(values: list[np.ndarray], before: np.ndarray, after: np.ndarray) -> None:
    """Points beyond the grid's ends continue its last step (``2·P₀ − P₁``), so that
    constant and linear offsets are reproduced up to the border."""
    values[0] = np.where(before[:, None], 2 * values[1] - values[2], values[0])
    values[3] = np.where(after[:, None], 2 * values[2] - values[1], values[3])


def sample_canvas_px(
    H_canvas_to_projector: np.ndarray,
    polygon_canvas_px: np.ndarray,
    mesh: MeshWarp,
    points_projector_px: np.ndarray,
) -> np.ndarray:
    """Where on the canvas output pixels ``p`` look: ``H⁻¹ · (p − D(p))``."""
    rect = mesh_rect(H_canvas_to_projector, polygon_canvas_px)
    p = np.asarray(points_projector_px, np.float64).reshape(-1, 2)
    moved = p - mesh_offset(mesh, rect, p)
    return geometry.apply_homography(np.linalg.inv(H_canvas_to_projector), moved)


def forward_px(
    H_canvas_to_projector: np.ndarray,
    polygon_canvas_px: np.ndarray,
    mesh: MeshWarp,
    points_canvas_px: np.ndarray,
    iterations: int = 30,
) -> np.ndarray:
    """Where canvas points land on the output: ``q`` with ``q − D(q) = H · c`` (fixed
    point; converges while the mesh does not fold)."""
    rect = mesh_rect(H_canvas_to_projector, polygon_canvas_px)
    base = geometry.apply_homography(H_canvas_to_projector, points_canvas_px)
    q = base.copy()
    for _ in range(iterations):
        q = base + mesh_offset(mesh, rect, q)
    return q


def outline_projector_px(
    H_canvas_to_projector: np.ndarray,
    polygon_canvas_px: np.ndarray,
    mesh: MeshWarp | None,
    subdivisions: int = OUTLINE_SUBDIVISIONS,
) -> np.ndarray:
    """The surface polygon in ``projector_px`` after the warp; without a mesh (or a flat
    one) exactly the polygon through the homography, with its own vertices."""
    polygon = np.asarray(polygon_canvas_px, np.float64).reshape(-1, 2)
    if mesh is None or mesh.is_flat:
        return geometry.apply_homography(H_canvas_to_projector, polygon)
    t = np.arange(subdivisions)[:, None] / subdivisions
    dense = np.concatenate(
        [a + t * (b - a) for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True)]
    )
    return forward_px(H_canvas_to_projector, polygon, mesh, dense)


def warp_image_mesh_reference(
    image: np.ndarray,
    H_canvas_to_projector: np.ndarray,
    polygon_canvas_px: np.ndarray,
    mesh: MeshWarp,
    size_px: Sequence[int],
) -> np.ndarray:
    """CPU reference of the mesh warp (bilinear, black outside the canvas): every output
    pixel centre samples the canvas at :func:`sample_canvas_px`."""
    import cv2

    w, h = int(size_px[0]), int(size_px[1])
    centres = geometry.pixel_centers(w, h).reshape(-1, 2)
    canvas = sample_canvas_px(H_canvas_to_projector, polygon_canvas_px, mesh, centres)
    maps = (canvas - geometry.PIXEL_CENTER_OFFSET).reshape(h, w, 2).astype(np.float32)
    return cv2.remap(
        image,
        maps[..., 0],
        maps[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
