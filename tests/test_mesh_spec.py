"""Specification of the mesh warp's maths (``mapping/mesh.py``), pure numpy, with values
written out here: the Catmull-Rom weights at literal points, the border carried on beyond
the grid on every side, the outline with and without a mesh, the CPU reference's picture
and the mesh's equality and hash."""

from __future__ import annotations

import numpy as np
import pytest

from mapping import geometry
from mapping.mesh import (
    MeshWarp,
    catmull_rom_weights,
    forward_px,
    mesh_offset,
    mesh_rect,
    outline_projector_px,
    sample_canvas_px,
    warp_image_mesh_reference,
)

RECT = (10.0, 20.0, 110.0, 70.0)  # 4 × 3 points: 100 / 3 px and 25 px apart


def _wavy(nx: int, ny: int) -> MeshWarp:
    j, i = np.mgrid[0:ny, 0:nx]
    return MeshWarp(np.stack([5 * np.sin(1.3 * i + 0.7 * j), 5 * np.cos(0.9 * i - 1.1 * j)], -1))


def test_catmull_rom_weights_at_literal_points_for_any_shape():
    t = np.array([[0.0, 1.0, 0.5], [0.25, 0.75, 0.0]])
    w = catmull_rom_weights(t)
    assert w.shape == (2, 3, 4)
    np.testing.assert_allclose(w[0, 0], [0, 1, 0, 0], atol=0)
    np.testing.assert_allclose(w[0, 1], [0, 0, 1, 0], atol=0)
    np.testing.assert_allclose(w[0, 2], [-0.0625, 0.5625, 0.5625, -0.0625], atol=1e-15)
    # t = 1/4: ½(−t³ + 2t² − t, 3t³ − 5t² + 2, −3t³ + 4t² + t, t³ − t²)
    np.testing.assert_allclose(
        w[1, 0], [-9 / 128, 111 / 128, 29 / 128, -3 / 128], rtol=0, atol=1e-15
    )
    np.testing.assert_allclose(w[1, 1], [-3 / 128, 29 / 128, 111 / 128, -9 / 128], atol=1e-15)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-15)


@pytest.mark.parametrize(
    ("point", "node"),
    [
        # (x, y) outside the rectangle → the grid point (column, row) whose offset it takes
        ((9.0, 20.0), (0, 0)),  # just left of the first column, on row 0
        ((0.0, 45.0), (0, 1)),  # left, on row 1
        ((-500.0, 70.0), (0, 2)),
        ((111.0, 20.0), (3, 0)),  # just right of the last column
        ((400.0, 45.0), (3, 1)),
        ((10.0, 19.0), (0, 0)),  # just above the first row
        ((10 + 100 / 3, 5.0), (1, 0)),
        ((10 + 200 / 3, 71.0), (2, 2)),  # just below the last row
        ((110.0, 300.0), (3, 2)),
        ((-3.0, -4.0), (0, 0)),  # beyond a corner, within a cell
        ((1000.0, 1000.0), (3, 2)),
    ],
)
def test_beyond_the_rectangle_the_border_offset_carries_on(point, node):
    mesh = _wavy(4, 3)
    i, j = node
    np.testing.assert_allclose(
        mesh_offset(mesh, RECT, [point])[0], mesh.offsets_px[j, i], atol=1e-12
    )


def test_half_a_cell_beyond_the_border_between_two_rows():
    # between rows 0 and 1 at the middle (y = 32.5), left of the grid: the left column's
    # Catmull-Rom value at t = ½, with the step before row 0 continued (2·P0 − P1)
    mesh = _wavy(4, 3)
    col = mesh.offsets_px[:, 0]
    before = 2 * col[0] - col[1]
    expected = -0.0625 * before + 0.5625 * col[0] + 0.5625 * col[1] - 0.0625 * col[2]
    for x in (9.5, -100.0):
        np.testing.assert_allclose(mesh_offset(mesh, RECT, [[x, 32.5]])[0], expected, atol=1e-12)


H = np.array([[1.2, 0.1, 15.0], [-0.05, 0.9, 8.0], [1e-4, -2e-4, 1.0]])
POLYGON = np.array([[0, 0], [80, 0], [80, 50], [0, 50]], float)


def test_outline_without_a_mesh_or_with_a_flat_one_is_the_polygon_through_h():
    expected = geometry.apply_homography(H, POLYGON)
    for mesh in (None, MeshWarp.flat(5, 4)):
        outline = outline_projector_px(H, POLYGON.astype(int), mesh)
        assert outline.shape == (4, 2)
        np.testing.assert_allclose(outline, expected, rtol=0, atol=1e-12)


def test_outline_with_a_constant_offset_is_every_edge_subdivided_and_moved():
    mesh = MeshWarp(np.tile([2.0, -1.0], (3, 3, 1)))
    outline = outline_projector_px(H, POLYGON, mesh, subdivisions=4)
    corners = POLYGON
    dense = []
    for k in range(4):
        a, b = corners[k], corners[(k + 1) % 4]
        dense += [a + s / 4 * (b - a) for s in range(4)]
    expected = geometry.apply_homography(H, np.array(dense)) + np.array([2.0, -1.0])
    assert outline.shape == (16, 2)
    np.testing.assert_allclose(outline, expected, rtol=0, atol=1e-9)
    assert outline_projector_px(H, POLYGON, mesh).shape == (4 * 32, 2)
    # forward and back: the sampling map takes the outline back to the polygon's edges
    back = sample_canvas_px(H, POLYGON, mesh, outline)
    np.testing.assert_allclose(back, np.array(dense), atol=1e-9)
    np.testing.assert_allclose(forward_px(H, POLYGON, mesh, np.array(dense)), expected, atol=1e-9)
    np.testing.assert_allclose(
        mesh_rect(H, POLYGON), [*expected.min(0) - (2, -1), *expected.max(0) - (2, -1)], atol=1e-9
    )


def test_the_cpu_reference_moves_the_picture_by_the_offsets_and_is_black_outside():
    image = (np.arange(6 * 5 * 3) % 251).astype(np.uint8).reshape(5, 6, 3)
    polygon = np.array([[0, 0], [6, 0], [6, 5], [0, 5]], float)
    mesh = MeshWarp(np.tile([1.0, 2.0], (2, 2, 1)))  # content moves 1 px right, 2 px down
    out = warp_image_mesh_reference(image, np.eye(3), polygon, mesh, (7, 7))
    assert out.shape == (7, 7, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[2:7, 1:7], image)
    assert not out[:2].any() and not out[:, :1].any()  # the canvas ends: black


def test_mesh_equality_and_hash_are_by_shape_and_values():
    a = _wavy(4, 3)
    same = MeshWarp(a.offsets_px.copy())
    moved = a.with_point(1, 2, 0.5, -0.5)
    assert a == same and hash(a) == hash(same)
    assert a != moved and hash(a) != hash(moved)
    assert tuple(moved.offsets_px[2, 1]) == (0.5, -0.5)
    assert MeshWarp.flat(2, 4) != MeshWarp.flat(4, 2)  # the same bytes, other shapes
    assert a != "a mesh" and a != 3


def test_a_mesh_holds_its_own_read_only_float64_copy():
    given = np.zeros((3, 2, 2), np.float64)
    mesh = MeshWarp(given)
    given[0, 0] = (5.0, 5.0)  # the caller's array stays the caller's
    assert given.flags.writeable and mesh.is_flat
    assert mesh.offsets_px.dtype == np.float64 and not mesh.offsets_px.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mesh.offsets_px[0, 0, 0] = 1.0
    from_ints = MeshWarp([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    assert from_ints.offsets_px.dtype == np.float64 and from_ints.size == (2, 2)
    assert from_ints.with_point(0, 0, 0.25, 0.5).offsets_px[0, 0].tolist() == [0.25, 0.5]


def test_mesh_shapes_and_values_are_checked_with_exact_messages():
    with pytest.raises(
        ValueError, match=r"^expected \(rows, columns, 2\) offsets, got shape \(2, 2\)$"
    ):
        MeshWarp(np.zeros((2, 2)))
    with pytest.raises(
        ValueError, match=r"^expected \(rows, columns, 2\) offsets, got shape \(2, 2, 3\)$"
    ):
        MeshWarp(np.zeros((2, 2, 3)))
    assert MeshWarp.flat(64, 64).size == (64, 64)
    assert MeshWarp.flat(2, 2).size == (2, 2)
    with pytest.raises(ValueError, match=r"^a mesh has 2\.\.64 points a side, got 65×2$"):
        MeshWarp.flat(65, 2)
    with pytest.raises(ValueError, match=r"^a mesh has 2\.\.64 points a side, got 2×65$"):
        MeshWarp.flat(2, 65)
    with pytest.raises(ValueError, match=r"^a mesh has 2\.\.64 points a side, got 3×1$"):
        MeshWarp.flat(3, 1)
    with pytest.raises(ValueError, match=r"^mesh offsets must be finite numbers$"):
        MeshWarp(np.full((2, 2, 2), np.inf))
