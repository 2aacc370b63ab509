"""Projector test patterns: pure numpy + OpenCV drawing into RGBA images, no GL, no windows.

This module owns the pictures a technician puts on each projector output while lining up
a facade: a labelled pixel grid with the calibrated surface outlines, a checkerboard for
camera calibration, a crosshair for centring and keystone, 75 % colour bars, and flat
white / black.

Conventions (shared with the rest of the project):

* Every pattern is returned as an opaque ``(H, W, 4)`` ``uint8`` RGBA array, row 0 at the
  top. ``size_px`` is always ``(width, height)`` of the projector output, like a display
  mode ``1920x1080``; the array shape is therefore ``(height, width, 4)``.
* Continuous ``projector_px`` coordinates put pixel centres at ``+0.5``: pixel column ``j``
  covers ``[j, j + 1)``. OpenCV drawing functions instead put pixel centres at integers,
  so a point ``p`` in continuous ``projector_px`` is drawn at ``p - 0.5`` in OpenCV.
* 1-px lines are rasterised onto whole pixel columns / rows; each function's docstring says
  which column or row it lights.
"""

from __future__ import annotations

import colorsys
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

logger = logging.getLogger(__name__)

PATTERN_KINDS: tuple[str, ...] = (
    "grid",
    "checkerboard",
    "crosshair",
    "colorbars",
    "white",
    "black",
)

#: Grey level of ordinary grid lines and of every 5th (major) grid line.
GRID_MINOR_LEVEL = 96
GRID_MAJOR_LEVEL = 192
#: A grid line whose index ``k`` (line at column ``k * cell_px``) is a multiple of this is major.
GRID_MAJOR_EVERY = 5
#: Signal level of the 75 % colour bars.
COLORBAR_LEVEL = 191
#: Colour bars from left to right, as (R, G, B) on/off switches scaled by COLORBAR_LEVEL.
COLORBAR_ORDER: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("white", (1, 1, 1)),
    ("yellow", (1, 1, 0)),
    ("cyan", (0, 1, 1)),
    ("green", (0, 1, 0)),
    ("magenta", (1, 0, 1)),
    ("red", (1, 0, 0)),
    ("blue", (0, 0, 1)),
)

# Fixed-point fraction bits for sub-pixel OpenCV drawing (coordinates are multiplied by 16).
_CV_SHIFT = 4
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class SurfaceOutline:
    """A calibrated surface as seen by one projector: its name and its outline.

    ``polygon_projector_px`` is an ``(N, 2)`` float64 array of ``(x, y)`` vertices in
    continuous ``projector_px`` coordinates (pixel centres at ``+0.5``), N >= 2.
    """

    name: str
    polygon_projector_px: np.ndarray

    def __post_init__(self) -> None:
        polygon = np.array(self.polygon_projector_px, dtype=np.float64, copy=True)
        if polygon.ndim != 2 or polygon.shape[1] != 2 or polygon.shape[0] < 2:
            raise ValueError(
                f"surface {self.name!r}: polygon_projector_px must be (N, 2) with N >= 2, "
                f"got shape {polygon.shape}"
            )
        if not np.all(np.isfinite(polygon)):
            raise ValueError(f"surface {self.name!r}: polygon_projector_px must be finite")
        polygon.flags.writeable = False
        object.__setattr__(self, "polygon_projector_px", polygon)


def render_pattern(
    kind: str,
    size_px: tuple[int, int],
    *,
    output_name: str = "",
    surfaces: Sequence[SurfaceOutline] = (),
    cell_px: int = 100,
) -> np.ndarray:
    """Render test pattern ``kind`` for one projector output.

    ``size_px`` is ``(width, height)``; the result is an opaque ``(height, width, 4)``
    uint8 RGBA array. ``output_name`` and ``surfaces`` are drawn by the ``grid`` pattern
    only; ``cell_px`` sets the grid spacing and the checkerboard square size.

    Raises ``ValueError`` for an unknown ``kind`` (the message lists :data:`PATTERN_KINDS`),
    a non-positive size or a ``cell_px`` below 2.
    """
    if kind not in PATTERN_KINDS:
        raise ValueError(
            f"unknown pattern kind {kind!r}; valid kinds are: {', '.join(PATTERN_KINDS)}"
        )
    width_px, height_px = _check_size(size_px)
    if isinstance(cell_px, bool) or not isinstance(cell_px, int | np.integer) or cell_px < 2:
        raise ValueError(f"cell_px must be an integer >= 2, got {cell_px!r}")
    cell_px = int(cell_px)

    if kind == "grid":
        rgb = _grid(width_px, height_px, cell_px, output_name, surfaces)
    elif kind == "checkerboard":
        rgb = _checkerboard(width_px, height_px, cell_px)
    elif kind == "crosshair":
        rgb = _crosshair(width_px, height_px)
    elif kind == "colorbars":
        rgb = _colorbars(width_px, height_px)
    elif kind == "white":
        rgb = np.full((height_px, width_px, 3), 255, dtype=np.uint8)
    else:  # black
        rgb = np.zeros((height_px, width_px, 3), dtype=np.uint8)

    rgba = np.empty((height_px, width_px, 4), dtype=np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    logger.debug("rendered %s pattern %dx%d for output %r", kind, width_px, height_px, output_name)
    return rgba


def colorbar_edges(width_px: int) -> list[int]:
    """Integer column edges of the 7 colour bars: bar ``i`` covers ``[e[i], e[i + 1])``.

    ``e[i] = i * width_px // 7``, so bar widths differ by at most one pixel and the bars
    tile the width exactly (``e[0] = 0``, ``e[7] = width_px``).
    """
    n = len(COLORBAR_ORDER)
    return [i * width_px // n for i in range(n + 1)]


def polygon_centroid(polygon_px: np.ndarray) -> np.ndarray:
    """Area centroid ``(x, y)`` of a closed polygon (vertex mean if its area is ~0)."""
    pts = np.asarray(polygon_px, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area2 = cross.sum()
    scale = max(float(np.ptp(x)) * float(np.ptp(y)), 1e-300)
    if abs(area2) <= 1e-9 * scale:
        return pts.mean(axis=0)
    cx = ((x + x1) * cross).sum() / (3.0 * area2)
    cy = ((y + y1) * cross).sum() / (3.0 * area2)
    return np.array([cx, cy])


# --------------------------------------------------------------------------- patterns


def _check_size(size_px: tuple[int, int]) -> tuple[int, int]:
    try:
        width_px, height_px = size_px
    except (TypeError, ValueError):
        raise ValueError(f"size_px must be (width, height), got {size_px!r}") from None
    for value in (width_px, height_px):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"size_px must be two positive integers, got {size_px!r}")
    return int(width_px), int(height_px)


def _grid(
    width_px: int,
    height_px: int,
    cell_px: int,
    output_name: str,
    surfaces: Sequence[SurfaceOutline],
) -> np.ndarray:
    """Labelled grid.

    Vertical lines light pixel columns ``x = 0, cell_px, 2 * cell_px, ...`` (the line at
    continuous ``x = k * cell_px`` is drawn on the column just right of it) plus column
    ``width_px - 1`` as a border; horizontal lines likewise light rows ``0, cell_px, ...``
    and row ``height_px - 1``. Lines with index ``k % 5 == 0`` (and the borders) are
    brighter. Labels give the line's coordinate next to each line, repeated beside every
    major line so they can be read anywhere on the facade.
    """
    rgb = np.zeros((height_px, width_px, 3), dtype=np.uint8)
    xs = list(range(0, width_px, cell_px))
    ys = list(range(0, height_px, cell_px))

    # Minor lines first, then major lines and borders on top so crossings read as major.
    for x in xs:
        if (x // cell_px) % GRID_MAJOR_EVERY:
            rgb[:, x] = GRID_MINOR_LEVEL
    for y in ys:
        if (y // cell_px) % GRID_MAJOR_EVERY:
            rgb[y, :] = GRID_MINOR_LEVEL
    for x in xs:
        if (x // cell_px) % GRID_MAJOR_EVERY == 0:
            rgb[:, x] = GRID_MAJOR_LEVEL
    for y in ys:
        if (y // cell_px) % GRID_MAJOR_EVERY == 0:
            rgb[y, :] = GRID_MAJOR_LEVEL
    rgb[:, width_px - 1] = GRID_MAJOR_LEVEL
    rgb[height_px - 1, :] = GRID_MAJOR_LEVEL

    _grid_labels(rgb, xs, ys, cell_px)
    _centre_title(rgb, output_name)
    for index, surface in enumerate(surfaces):
        _surface_outline(rgb, surface, _surface_colour(index))
    return rgb


def _grid_labels(rgb: np.ndarray, xs: list[int], ys: list[int], cell_px: int) -> None:
    """Coordinate labels: x values below major rows, y values right of major columns."""
    height_px, width_px = rgb.shape[:2]
    scale = 0.4
    thickness = 1
    colour = (GRID_MAJOR_LEVEL,) * 3
    (_, text_h), _ = cv2.getTextSize("0", _FONT, scale, thickness)
    widest = cv2.getTextSize(str(max(width_px, height_px)), _FONT, scale, thickness)[0][0]
    # Label every line if labels fit in a cell, otherwise only the major lines.
    every = 1 if cell_px >= widest + 8 else GRID_MAJOR_EVERY
    major_xs = [x for x in xs if (x // cell_px) % GRID_MAJOR_EVERY == 0]
    major_ys = [y for y in ys if (y // cell_px) % GRID_MAJOR_EVERY == 0]
    for y0 in major_ys:
        for x in xs:
            if (x // cell_px) % every == 0:
                _put_text(rgb, str(x), (x + 3, y0 + 4 + text_h), scale, colour, thickness)
    for x0 in major_xs:
        for y in ys:
            if y and (y // cell_px) % every == 0:
                _put_text(rgb, str(y), (x0 + 3, y - 4), scale, colour, thickness)


def _centre_title(rgb: np.ndarray, output_name: str) -> None:
    """Output name and resolution in large white text with a black halo at the image centre."""
    height_px, width_px = rgb.shape[:2]
    lines = [line for line in (output_name, f"{width_px} x {height_px}") if line]
    thickness_ref = 2
    widest_ref = max(cv2.getTextSize(line, _FONT, 1.0, thickness_ref)[0][0] for line in lines)
    scale = min(0.5 * width_px / max(widest_ref, 1), height_px / 12 / 22, 6.0)
    scale = max(scale, 0.3)
    thickness = max(1, round(scale * 2))
    halo = max(2, thickness)
    sizes = [cv2.getTextSize(line, _FONT, scale, thickness) for line in lines]
    line_gap = int(0.5 * sizes[0][0][1])
    block_h = sum(h + base for (_, h), base in sizes) + line_gap * (len(lines) - 1)
    top = (height_px - block_h) // 2
    y = top
    for line, ((w, h), base) in zip(lines, sizes, strict=True):
        y += h
        origin = ((width_px - w) // 2, y)
        _put_text(rgb, line, origin, scale, (0, 0, 0), thickness + 2 * halo)
        _put_text(rgb, line, origin, scale, (255, 255, 255), thickness)
        y += base + line_gap


def _surface_colour(index: int) -> tuple[int, int, int]:
    """Distinct saturated RGB colour for surface ``index`` (golden-ratio hue steps)."""
    hue = (0.13 + index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return round(r * 255), round(g * 255), round(b * 255)


def _surface_outline(
    rgb: np.ndarray, surface: SurfaceOutline, colour: tuple[int, int, int]
) -> None:
    """Closed anti-aliased outline and the surface name centred on the polygon's centroid.

    Vertices are continuous ``projector_px``; OpenCV wants integer pixel centres, so they are
    shifted by ``-0.5`` and drawn with fixed-point sub-pixel precision.
    """
    polygon_cv = surface.polygon_projector_px - 0.5
    pts = np.round(polygon_cv * (1 << _CV_SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(
        rgb, [pts], isClosed=True, color=colour, thickness=2, lineType=cv2.LINE_AA, shift=_CV_SHIFT
    )
    if not surface.name:
        return
    height_px, width_px = rgb.shape[:2]
    centroid_cv = polygon_centroid(surface.polygon_projector_px) - 0.5
    scale = max(0.5, min(width_px, height_px) / 1080 * 1.6)
    thickness = max(1, round(scale * 1.5))
    (w, h), _ = cv2.getTextSize(surface.name, _FONT, scale, thickness)
    origin = (round(centroid_cv[0] - w / 2), round(centroid_cv[1] + h / 2))
    # Dark halo first so the name reads over grid lines and bright labels.
    _put_text(rgb, surface.name, origin, scale, (0, 0, 0), thickness + 3)
    _put_text(rgb, surface.name, origin, scale, colour, thickness)


def _put_text(
    rgb: np.ndarray,
    text: str,
    origin_cv: tuple[int, int],
    scale: float,
    colour: tuple[int, ...],
    thickness: int,
) -> None:
    """Anti-aliased text; ``origin_cv`` is the bottom-left of the text in OpenCV pixels."""
    cv2.putText(
        rgb,
        text,
        (int(origin_cv[0]), int(origin_cv[1])),
        _FONT,
        scale,
        colour,
        thickness,
        cv2.LINE_AA,
    )


def _checkerboard(width_px: int, height_px: int, cell_px: int) -> np.ndarray:
    """Squares of ``cell_px`` with exact pixel edges, white at the top-left.

    Pixel ``(row, col)`` is white when ``row // cell_px + col // cell_px`` is even, so the
    inner corners sit at continuous ``(k * cell_px, m * cell_px)``; squares at the right and
    bottom edges are cut short when the size is not a multiple of ``cell_px``.
    """
    rows = (np.arange(height_px) // cell_px)[:, None]
    cols = (np.arange(width_px) // cell_px)[None, :]
    white = (rows + cols) % 2 == 0
    level = np.where(white, np.uint8(255), np.uint8(0))
    return np.repeat(level[:, :, None], 3, axis=2)


def _crosshair(width_px: int, height_px: int) -> np.ndarray:
    """Centre cross, circle, corner L-marks and quarter-point crosses, white on black.

    * Centre lines light column ``width_px // 2`` and row ``height_px // 2`` (for an even
      size that is the pixel just right of / below the continuous centre; for an odd size
      it is the pixel containing it).
    * A circle of radius ``min(width, height) // 4`` around that centre pixel.
    * L-marks on the outermost pixel columns / rows (``0`` and ``width_px - 1``, ``0`` and
      ``height_px - 1``) with arms ``min(width, height) // 10`` long, so the raster edge
      is visible on the facade.
    * Small crosses centred on pixels ``(width_px // 4, height_px // 4)`` and the other
      three combinations of ``width_px // 4``, ``3 * width_px // 4`` and likewise in y.
    """
    rgb = np.zeros((height_px, width_px, 3), dtype=np.uint8)
    white = (255, 255, 255)
    cx, cy = width_px // 2, height_px // 2
    rgb[:, cx] = 255
    rgb[cy, :] = 255
    short_side = min(width_px, height_px)
    radius = short_side // 4
    if radius > 0:
        cv2.circle(rgb, (cx, cy), radius, white, thickness=1, lineType=cv2.LINE_8)

    arm = max(1, short_side // 10)
    right, bottom = width_px - 1, height_px - 1
    rgb[0, :arm] = rgb[:arm, 0] = 255
    rgb[0, right - arm + 1 :] = rgb[:arm, right] = 255
    rgb[bottom, :arm] = rgb[bottom - arm + 1 :, 0] = 255
    rgb[bottom, right - arm + 1 :] = rgb[bottom - arm + 1 :, right] = 255

    half = max(1, short_side // 40)
    for qx in (width_px // 4, 3 * width_px // 4):
        for qy in (height_px // 4, 3 * height_px // 4):
            rgb[qy, max(0, qx - half) : qx + half + 1] = 255
            rgb[max(0, qy - half) : qy + half + 1, qx] = 255
    return rgb


def _colorbars(width_px: int, height_px: int) -> np.ndarray:
    """Seven 75 % bars (white, yellow, cyan, green, magenta, red, blue at level 191).

    Bar ``i`` covers columns ``[i * width_px // 7, (i + 1) * width_px // 7)``; see
    :func:`colorbar_edges`.
    """
    rgb = np.zeros((height_px, width_px, 3), dtype=np.uint8)
    edges = colorbar_edges(width_px)
    for i, (_, switches) in enumerate(COLORBAR_ORDER):
        rgb[:, edges[i] : edges[i + 1]] = np.array(switches, dtype=np.uint8) * COLORBAR_LEVEL
    return rgb
