"""Spec for mapping.patterns: projector test patterns as opaque RGBA numpy images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mapping.patterns import (
    COLORBAR_LEVEL,
    GRID_MAJOR_LEVEL,
    GRID_MINOR_LEVEL,
    PATTERN_KINDS,
    SurfaceOutline,
    colorbar_edges,
    polygon_centroid,
    render_pattern,
)

# Width and height deliberately differ and are not multiples of the cell size.
SIZE_PX = (643, 419)  # (width, height)


@pytest.mark.parametrize("kind", PATTERN_KINDS)
def test_every_kind_is_opaque_rgba_uint8_of_height_by_width(kind: str) -> None:
    img = render_pattern(kind, SIZE_PX, output_name="left")
    assert img.dtype == np.uint8
    assert img.shape == (419, 643, 4)
    assert np.all(img[..., 3] == 255)


def test_unknown_kind_error_lists_every_valid_kind() -> None:
    with pytest.raises(ValueError, match="zebra") as info:
        render_pattern("zebra", SIZE_PX)
    for kind in PATTERN_KINDS:
        assert kind in str(info.value)


@pytest.mark.parametrize("size_px", [(0, 10), (10, -1), (10,), (1.5, 10)])
def test_bad_size_is_a_value_error(size_px: object) -> None:
    with pytest.raises(ValueError, match="size_px"):
        render_pattern("black", size_px)  # type: ignore[arg-type]


def test_white_and_black_are_flat() -> None:
    assert np.all(render_pattern("white", SIZE_PX)[..., :3] == 255)
    assert np.all(render_pattern("black", SIZE_PX)[..., :3] == 0)


# --------------------------------------------------------------------------- grid


def test_grid_lights_columns_and_rows_at_multiples_of_cell_and_the_last_one() -> None:
    width, height, cell = 1000, 700, 100
    rgb = render_pattern("grid", (width, height), cell_px=cell)[..., :3]
    # Probe strips away from the labels (beside major lines) and the centre title.
    strip_rows = slice(150, 160)
    strip_cols = slice(60, 70)
    lit_columns = [*range(0, width, cell), width - 1]
    lit_rows = [*range(0, height, cell), height - 1]
    for x in range(width):
        column_lit = bool(np.all(rgb[strip_rows, x] > 0))
        assert column_lit == (x in lit_columns), f"pixel column {x}"
    for y in range(height):
        row_lit = bool(np.all(rgb[y, strip_cols] > 0))
        assert row_lit == (y in lit_rows), f"pixel row {y}"


def test_grid_every_fifth_line_is_brighter() -> None:
    img = render_pattern("grid", (1200, 700), cell_px=100)
    y = 250  # between rows, away from labels
    assert img[y, 100, 0] == GRID_MINOR_LEVEL
    assert img[y, 400, 0] == GRID_MINOR_LEVEL
    assert img[y, 0, 0] == GRID_MAJOR_LEVEL
    assert img[y, 500, 0] == GRID_MAJOR_LEVEL
    assert img[y, 1000, 0] == GRID_MAJOR_LEVEL
    assert GRID_MAJOR_LEVEL > GRID_MINOR_LEVEL


def test_grid_is_grey_except_surface_outlines() -> None:
    img = render_pattern("grid", (800, 600), output_name="left")
    rgb = img[..., :3].astype(int)
    assert np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2])


def test_grid_shows_output_name_and_resolution_at_the_centre() -> None:
    plain = render_pattern("grid", (800, 600), cell_px=1000)  # no interior lines
    named = render_pattern("grid", (800, 600), output_name="left", cell_px=1000)
    centre = (slice(250, 350), slice(200, 600))
    assert np.count_nonzero(plain[centre][..., 0] == 255) > 100  # "800 x 600"
    assert not np.array_equal(plain, named)  # the name adds text


def test_grid_draws_each_surface_outline_in_its_own_colour_with_its_name_inside() -> None:
    wall = SurfaceOutline(
        "wall-left", np.array([[100.0, 100.0], [500.0, 120.0], [480.0, 500.0], [90.0, 480.0]])
    )
    door = SurfaceOutline(
        "door", np.array([[900.0, 150.0], [1150.0, 150.0], [1150.0, 550.0], [900.0, 550.0]])
    )
    img = render_pattern("grid", (1280, 720), surfaces=[wall, door], cell_px=1000)
    rgb = img[..., :3].astype(int)
    saturated = (rgb.max(axis=2) - rgb.min(axis=2)) > 60

    colours = []
    for surface in (wall, door):
        # The outline passes through every vertex (continuous coords: pixel = floor(p)).
        for x, y in surface.polygon_projector_px:
            patch = saturated[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3]
            assert patch.any(), f"{surface.name}: no outline near vertex ({x}, {y})"
        # The name is drawn in colour around the centroid, inside the polygon.
        cx, cy = polygon_centroid(surface.polygon_projector_px).astype(int)
        near = saturated[cy - 25 : cy + 25, cx - 80 : cx + 80]
        assert np.count_nonzero(near) > 50, f"{surface.name}: no name text at centroid"
        ys, xs = np.nonzero(near)
        colours.append(tuple(np.median(rgb[cy - 25 + ys, cx - 80 + xs], axis=0)))
        contour = (surface.polygon_projector_px - 0.5).astype(np.float32)
        assert cv2.pointPolygonTest(contour, (float(cx), float(cy)), False) > 0
    assert colours[0] != colours[1]


def test_grid_outline_is_anti_aliased_and_closed() -> None:
    tri = SurfaceOutline("t", np.array([[100.0, 100.0], [600.0, 130.0], [200.0, 500.0]]))
    img = render_pattern("grid", (700, 600), surfaces=[tri], cell_px=1000)
    rgb = img[..., :3].astype(int)
    saturated = (rgb.max(axis=2) - rgb.min(axis=2)) > 0
    # Closing edge (200,500) -> (100,100): its midpoint is lit.
    assert saturated[299 - 2 : 299 + 3, 149 - 2 : 149 + 3].any()
    # Anti-aliasing leaves intermediate intensities along a slanted edge.
    edge_levels = np.unique(rgb.max(axis=2)[saturated])
    assert len(edge_levels) > 3


def test_surface_outline_polygon_is_read_only_float64() -> None:
    poly = [[0, 0], [10, 0], [10, 10]]
    s = SurfaceOutline("a", poly)  # type: ignore[arg-type]
    assert s.polygon_projector_px.dtype == np.float64
    assert not s.polygon_projector_px.flags.writeable
    with pytest.raises(ValueError):
        SurfaceOutline("bad", np.zeros((3, 3)))


def test_polygon_centroid_of_a_square() -> None:
    square = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0]])
    np.testing.assert_allclose(polygon_centroid(square), [2.0, 1.0])


# --------------------------------------------------------------------------- checkerboard


def test_checkerboard_starts_white_with_exact_edges() -> None:
    cell = 50
    img = render_pattern("checkerboard", (640, 480), cell_px=cell)
    gray = img[..., 0]
    assert set(np.unique(img[..., :3])) == {0, 255}  # no anti-aliasing
    assert gray[0, 0] == 255
    assert gray[0, cell - 1] == 255 and gray[0, cell] == 0
    assert gray[cell - 1, 0] == 255 and gray[cell, 0] == 0
    assert gray[cell, cell] == 255
    rows, cols = np.mgrid[0:480, 0:640]
    expected = np.where((rows // cell + cols // cell) % 2 == 0, 255, 0)
    assert np.array_equal(gray, expected)


@pytest.mark.parametrize(
    ("size_px", "cell"),
    [((800, 600), 100), ((1280, 720), 80), ((650, 430), 100)],
)
def test_checkerboard_corners_found_by_opencv_at_expected_positions(
    size_px: tuple[int, int], cell: int
) -> None:
    width, height = size_px
    img = render_pattern("checkerboard", size_px, cell_px=cell)
    gray = cv2.cvtColor(img, cv2.COLOR_RGBA2GRAY)
    inner = (-(-width // cell) - 1, -(-height // cell) - 1)  # inner corners (cols, rows)
    found, corners = cv2.findChessboardCorners(gray, inner)
    assert found
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4)
    corners = cv2.cornerSubPix(gray, corners, (5, 5), (-1, -1), criteria).reshape(-1, 2)

    # Inner corner between squares at continuous (k*cell, m*cell) is at k*cell - 0.5 in
    # OpenCV's integer-centre convention. Detection order may be flipped, so match nearest.
    ks, ms = np.meshgrid(np.arange(1, inner[0] + 1), np.arange(1, inner[1] + 1))
    expected_cv = np.stack([ks.ravel() * cell - 0.5, ms.ravel() * cell - 0.5], axis=1)
    dist = np.linalg.norm(corners[:, None, :] - expected_cv[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    assert len(set(nearest.tolist())) == len(expected_cv)  # one detection per corner
    assert dist.min(axis=1).max() < 0.1


# --------------------------------------------------------------------------- crosshair


def test_crosshair_centre_lines_corner_marks_and_quarter_crosses() -> None:
    width, height = 640, 480
    img = render_pattern("crosshair", (width, height))
    lit = img[..., 0] == 255
    assert np.all(lit[:, width // 2]) and np.all(lit[height // 2, :])
    assert not lit[10:20, width // 2 - 1].any() and not lit[10:20, width // 2 + 1].any()
    # L-marks on the outermost pixels at all four corners.
    arm = min(width, height) // 10
    for y, x, dy, dx in [
        (0, 0, 1, 1),
        (0, width - 1, 1, -1),
        (height - 1, 0, -1, 1),
        (height - 1, width - 1, -1, -1),
    ]:
        assert all(lit[y, x + dx * i] for i in range(arm))
        assert all(lit[y + dy * i, x] for i in range(arm))
    # Quarter-point crosses.
    for qx in (width // 4, 3 * width // 4):
        for qy in (height // 4, 3 * height // 4):
            assert lit[qy, qx] and lit[qy, qx - 3] and lit[qy + 3, qx]
    # A circle of radius min(w, h) // 4 around the centre pixel: its top, bottom, left and
    # right extremes are lit next to the centre lines.
    radius = min(width, height) // 4
    cx, cy = width // 2, height // 2
    assert lit[cy - radius - 1 : cy - radius + 2, cx + 1 : cx + 3].any()
    assert lit[cy + radius - 1 : cy + radius + 2, cx + 1 : cx + 3].any()
    assert lit[cy + 1 : cy + 3, cx - radius - 1 : cx - radius + 2].any()
    assert lit[cy + 1 : cy + 3, cx + radius - 1 : cx + radius + 2].any()
    assert not lit[cy - radius // 2, cx - radius // 2]  # inside the circle is dark
    assert set(np.unique(img[..., :3])) <= {0, 255}


# --------------------------------------------------------------------------- colour bars


def test_colorbars_are_seven_75_percent_bars_with_integer_edges() -> None:
    width, height = 643, 100
    img = render_pattern("colorbars", (width, height))
    edges = colorbar_edges(width)
    assert edges[0] == 0 and edges[-1] == width and len(edges) == 8
    widths = np.diff(edges)
    assert widths.max() - widths.min() <= 1
    expected = [
        (191, 191, 191),  # white
        (191, 191, 0),  # yellow
        (0, 191, 191),  # cyan
        (0, 191, 0),  # green
        (191, 0, 191),  # magenta
        (191, 0, 0),  # red
        (0, 0, 191),  # blue
    ]
    assert COLORBAR_LEVEL == 191
    for i, rgb in enumerate(expected):
        bar = img[:, edges[i] : edges[i + 1], :3]
        assert np.all(bar == np.array(rgb, dtype=np.uint8)), f"bar {i}"


@pytest.mark.parametrize("kind", PATTERN_KINDS)
@pytest.mark.parametrize("size_px", [(1, 1), (3, 2), (7, 500), (4000, 30)])
def test_tiny_and_extreme_sizes_render(kind: str, size_px: tuple[int, int]) -> None:
    line = SurfaceOutline("a", np.array([[0.0, 0.0], [1.0, 1.0]]))
    img = render_pattern(kind, size_px, output_name="x", surfaces=[line], cell_px=2)
    assert img.shape == (size_px[1], size_px[0], 4)
