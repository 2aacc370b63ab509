"""Soft-edge blending: per-output blend masks in ``canvas_px`` (pure numpy/OpenCV, no GL).

Where several projectors light the same part of the facade, each must give only its share
of the light so that the overlap is neither brighter nor darker than its neighbours, and
the shares must change smoothly so that no edge shows. This module owns that maths:

* **Coverage.** Output ``o`` covers ``C_o``: the union of its surfaces' polygons (in
  ``canvas_px``), each clipped to what the projector's frame can reach through that
  surface's homography. Hidden surfaces are left out.
* **Edges.** For every other output ``n`` that overlaps it, ``o`` fades out towards the part
  of ``n``'s coverage that ``o`` does not cover, ``R = C_n \\ C_o``: with ``d`` the distance
  (``canvas_px``) from ``R``, its ramp is ``ramp(d / width) ** curve``, ``ramp`` the smooth
  step ``t²(3 − 2t)`` (zero slope at both ends, so there is no kink). ``width`` is the
  edge's manual width or, automatically, the depth of the overlap seen from that edge;
  ``curve`` its exponent (:class:`calibration.store.EdgeBlend`). An output's raw weight
  ``f_o`` is the product of its ramps over its neighbours (1 with none), 0 outside ``C_o``.
* **Weights** ``w_o = f_o / Σ f``: in ``[0, 1]``, summing to 1 at every canvas point that
  any output covers, whatever the number of outputs overlapping there, and continuous,
  since each ``f_o`` is and fades to 0 at every edge of ``C_o`` inside another coverage.
  Stacked projectors (the same coverage) share equally.
* **Linear light.** Weights apply to light, not to pixel values: the final pass decodes
  the canvas with the output's gamma, multiplies by the weight and encodes again,
  ``out = (canvas^γ · w)^(1/γ)`` (``shaders/warp.glsl``).
* **Black level.** A projector's black is not black: where ``k`` projectors overlap the
  black is ``k`` times as bright. With the technician's ``black_level`` ``b`` (one
  projector's black as a fraction of its white), every point is lifted, in linear light, by
  ``b·(k_max − k(p))`` shared by the weights, and content is scaled by
  ``1 − b·(k_max − 1)``, so black and white both come out the same everywhere.

:func:`blend_masks` returns per output an ``(h, w, 2)`` float32 mask on a grid over the
canvas (the canvas' own size, or scaled down to at most :data:`MAX_MASK_SIZE`): channel 0
multiplies the linear canvas, channel 1 is added (the black lift). Results are cached by
the geometry and settings they come from, so a show reloaded or a frame with the same
hidden surfaces costs nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from calibration.store import BlendCalibration
from mapping import geometry

if TYPE_CHECKING:
    from mapping.show import Show

DEFAULT_GAMMA = 2.2
GAMMA_RANGE = (1.0, 4.0)
MAX_MASK_SIZE = 512
"""Largest side of a blend mask grid; bigger canvases are sampled at a coarser grid (the
weights are smooth, and the shader interpolates them bilinearly)."""
_CACHE_SIZE = 8


@dataclass(frozen=True)
class BlendSettings:
    """A show's soft-edge blending: on or off, and the venue's adjustments.

    ``calibration_file`` is where the adjustments are read from and saved to (the show's
    ``[blend] calibration`` key, else the first calibration file its surfaces use, else
    ``calibration.toml`` in the show folder).
    """

    enabled: bool = False
    calibration_file: Path | None = None
    calibration: BlendCalibration = field(default_factory=BlendCalibration)


@dataclass(frozen=True, eq=False)
class OutputGeometry:
    """What blending needs to know of one output: its frame and its visible surfaces."""

    name: str
    resolution: tuple[int, int]
    surfaces: tuple[tuple[np.ndarray, np.ndarray], ...]
    """(polygon_canvas_px, H_canvas_to_projector) per visible surface."""


@dataclass(frozen=True, eq=False)
class BlendMasks:
    """Blend weights and shader masks for every output, on one grid over the canvas."""

    canvas_size_px: tuple[int, int]
    grid_size: tuple[int, int]
    """(width, height) of the mask grid; cell (i, j) has its centre at canvas
    ``((i + 0.5) · W / width, (j + 0.5) · H / height)``."""
    coverage: Mapping[str, np.ndarray]
    """(h, w) bool per output: which grid cells it covers."""
    weights: Mapping[str, np.ndarray]
    """(h, w) float64 per output: its share of the light, summing to 1 where covered."""
    masks: Mapping[str, np.ndarray]
    """(h, w, 2) float32 per output, for the shader: multiply, then add (black lift)."""
    overlap_count: np.ndarray
    """(h, w) int: how many outputs cover each cell."""


def geometry_of(show: Show, hidden: Iterable[str] = ()) -> tuple[OutputGeometry, ...]:
    """The outputs of ``show`` with their visible surfaces."""
    hidden = frozenset(hidden)
    return tuple(
        OutputGeometry(
            out.name,
            out.resolution,
            tuple(
                (np.asarray(s.polygon_canvas_px, float), np.asarray(s.H_canvas_to_projector, float))
                for s in show.surfaces_on(out.name)
                if s.name not in hidden
            ),
        )
        for out in show.outputs
    )


def show_blend_masks(show: Show, hidden: Iterable[str] = ()) -> BlendMasks:
    """:func:`blend_masks` for a show (cached), whether or not blending is enabled."""
    settings: BlendSettings = show.blend  # type: ignore[attr-defined]
    return blend_masks(show.canvas.size_px, geometry_of(show, hidden), settings.calibration)


def grid_size(canvas_size_px: tuple[int, int], max_size: int = MAX_MASK_SIZE) -> tuple[int, int]:
    """The mask grid for a canvas: its own size, or scaled down to ``max_size`` at most."""
    w, h = canvas_size_px
    scale = min(1.0, max_size / max(w, h))
    return max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))


_cache: OrderedDict[bytes, BlendMasks] = OrderedDict()


def blend_masks(
    canvas_size_px: tuple[int, int],
    outputs: Sequence[OutputGeometry],
    calibration: BlendCalibration | None = None,
    max_size: int = MAX_MASK_SIZE,
) -> BlendMasks:
    """Blend weights and masks of ``outputs`` over a canvas (see the module docstring)."""
    calibration = calibration or BlendCalibration()
    key = _signature(canvas_size_px, outputs, calibration, max_size)
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    result = _compute(canvas_size_px, outputs, calibration, max_size)
    _cache[key] = result
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return result


def _signature(
    canvas_size_px: tuple[int, int],
    outputs: Sequence[OutputGeometry],
    calibration: BlendCalibration,
    max_size: int,
) -> bytes:
    digest = hashlib.sha256(repr((tuple(canvas_size_px), calibration, max_size)).encode())
    for out in outputs:
        digest.update(repr((out.name, tuple(out.resolution), len(out.surfaces))).encode())
        for polygon, H in out.surfaces:
            digest.update(np.ascontiguousarray(polygon, np.float64).tobytes())
            digest.update(b"|")
            digest.update(np.ascontiguousarray(H, np.float64).tobytes())
    return digest.digest()


def smooth_ramp(t: np.ndarray) -> np.ndarray:
    """``t²(3 − 2t)`` on ``[0, 1]``, clamped outside: 0 → 0, 1 → 1, zero slope at both."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def coverage_mask(
    output: OutputGeometry, canvas_size_px: tuple[int, int], grid: tuple[int, int]
) -> np.ndarray:
    """Which grid cells (by their centres) ``output`` lights: its surfaces' polygons, each
    where the projector's frame reaches through that surface's homography."""
    gw, gh = grid
    sx, sy = gw / canvas_size_px[0], gh / canvas_size_px[1]
    covered = np.zeros((gh, gw), bool)
    fw, fh = output.resolution
    for polygon, H in output.surfaces:
        # cells whose centre ((i + 0.5) / s) lies inside (cv2.fillPoly would also take every
        # cell the outline touches: up to a cell beyond the polygon)
        inside = _centres_inside(np.asarray(polygon, float) * (sx, sy), gw, gh)
        # the polygon is in front of the projector (the loader checks), so its image is the
        # polygon of its vertices' images: when those are in the frame, all of it is
        corners = geometry.apply_homography(H, polygon)
        if not (
            np.all(corners >= 0) and np.all(corners[:, 0] <= fw) and np.all(corners[:, 1] <= fh)
        ):
            # grid cell centre → projector_px; the frame [0, fw) × [0, fh) read back
            S = np.diag([1.0 / sx, 1.0 / sy, 1.0])
            M = geometry.to_opencv_homography(np.asarray(H, float) @ S)
            frame = cv2.warpPerspective(
                np.ones((fh, fw), np.uint8),
                M,
                (gw, gh),
                flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            inside &= frame.astype(bool)
        covered |= inside
    return covered


def _centres_inside(polygon_grid: np.ndarray, gw: int, gh: int) -> np.ndarray:
    """Which cells of a ``gw × gh`` grid have their centre ``(i + 0.5, j + 0.5)`` inside
    ``polygon_grid`` (grid units; even-odd rule, edges half-open: a centre exactly on the
    left or top edge is inside, on the right or bottom edge outside)."""
    p = np.asarray(polygon_grid, np.float64).reshape(-1, 2)
    q = np.roll(p, -1, axis=0)
    yc = np.arange(gh) + 0.5
    below_p = p[:, 1] <= yc[:, None]
    crosses = below_p != (q[:, 1] <= yc[:, None])  # (gh, edges): the edge spans the row
    dy = np.where(q[:, 1] == p[:, 1], 1.0, q[:, 1] - p[:, 1])
    x = p[:, 0] + (yc[:, None] - p[:, 1]) * (q[:, 0] - p[:, 0]) / dy
    # a row's crossings, sorted, pair up into the spans x_a ≤ centre < x_b that are inside:
    # cells ceil(x_a − ½) up to ceil(x_b − ½) (rows cross few edges; +inf pads the rest)
    x = np.sort(np.where(crosses, x, np.inf), axis=1)[:, : int(crosses.sum(axis=1).max(initial=0))]
    cells = np.clip(np.ceil(x - 0.5), 0, gw).astype(np.int64)
    rows = np.broadcast_to(np.arange(gh)[:, None], cells[:, 0::2].shape)
    edges = np.zeros((gh, gw + 1), np.int64)
    np.add.at(edges, (rows, cells[:, 0::2]), 1)
    np.add.at(edges, (rows, cells[:, 1::2]), -1)
    return np.cumsum(edges[:, :gw], axis=1) > 0


def _distance_px(region: np.ndarray, scale: float) -> np.ndarray:
    """Distance (``canvas_px``) of every cell from the cells of ``region``; a cell next to
    the region is half a cell from its edge."""
    if not region.any():
        return np.full(region.shape, np.inf)
    d = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.maximum(d.astype(np.float64) - 0.5, 0.0) / scale


def _compute(
    canvas_size_px: tuple[int, int],
    outputs: Sequence[OutputGeometry],
    calibration: BlendCalibration,
    max_size: int,
) -> BlendMasks:
    grid = grid_size(canvas_size_px, max_size)
    gw, gh = grid
    scale = 0.5 * (gw / canvas_size_px[0] + gh / canvas_size_px[1])
    coverage = {o.name: coverage_mask(o, canvas_size_px, grid) for o in outputs}
    raw: dict[str, np.ndarray] = {}
    for o in outputs:
        mine = coverage[o.name]
        f = mine.astype(np.float64)
        for n in outputs:
            if n.name == o.name:
                continue
            theirs = coverage[n.name]
            overlap = mine & theirs
            if not overlap.any():
                continue
            region = theirs & ~mine
            if not region.any():
                continue  # n lies within o: only n fades (stacked: neither does)
            d = _distance_px(region, scale)
            edge = calibration.edge(o.name, n.name)
            width = edge.width_px if edge.width_px > 0 else float(d[overlap].max()) + 0.5 / scale
            f *= smooth_ramp(d / width) ** edge.curve
        raw[o.name] = f
    count = np.zeros((gh, gw), np.int64)
    for c in coverage.values():
        count += c
    total = np.zeros((gh, gw), np.float64)
    for f in raw.values():
        total += f
    weights: dict[str, np.ndarray] = {}
    degenerate = (count > 0) & (total <= 0)  # no output fades in: share equally
    for o in outputs:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(total > 0, raw[o.name] / total, 0.0)
        w[degenerate] = coverage[o.name][degenerate] / count[degenerate]
        weights[o.name] = w
    black = calibration.black_level
    k_max = int(count.max()) if count.size else 0
    lift = black * np.maximum(k_max - count, 0)
    content_scale = 1.0 - black * max(k_max - 1, 0)
    masks = {
        name: np.ascontiguousarray(np.dstack([w * content_scale, w * lift]), np.float32)
        for name, w in weights.items()
    }
    return BlendMasks(tuple(canvas_size_px), grid, coverage, weights, masks, count)


def encode(linear: np.ndarray, gamma: float) -> np.ndarray:
    """Linear light → a projector's signal (0..1) with its gamma."""
    return np.power(np.clip(linear, 0.0, 1.0), 1.0 / gamma)


def decode(signal: np.ndarray, gamma: float) -> np.ndarray:
    """A projector's signal (0..1) → linear light with its gamma."""
    return np.power(np.clip(signal, 0.0, 1.0), gamma)
