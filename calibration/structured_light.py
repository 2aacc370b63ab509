"""Structured-light pattern sequences: what each projected frame is, in which order (pure numpy).

This module owns the *pattern layouts* — which frame of a capture sequence is white, black,
which Gray-code bit (and its inverse), which phase step — and the pattern images themselves.
Decoding lives in :mod:`calibration.decode`; it reads the same :class:`PatternLayout`.

Two layouts:

``native`` (:func:`native_layout`, the default for captures made by this project)
    white, black, then complementary Gray code for the columns (each bit, most significant
    first, followed by its inverse), the same for the rows, then ``phase_steps`` phase-shifted
    sinusoidal fringes for the columns and the same for the rows.

    The Gray code encodes ``floor(x / unit)`` with ``unit = period_px / 2`` (half a fringe
    period); the fringes give the position inside one period to a small fraction of a pixel.
    Unwrapping picks the period whose phase position is nearest the Gray-code estimate, so a
    Gray-code decision that lands one stripe off near a stripe edge (blur, noise) costs nothing:
    the Gray estimate is then still within ``period_px / 2`` of the truth (see
    :mod:`calibration.decode`).

    Fringe ``n`` of ``N`` for projector column ``j`` is
    ``0.5 + 0.5 cos(2π (j + 0.5) / P − 2π n / N)``: the phase is written at the pixel *centre*,
    so the decoded position is continuous ``projector_px`` with centres at ``+0.5``.

``opencv`` (:func:`opencv_layout`)
    The order of OpenCV contrib's ``structured_light.GrayCodePattern``: ``ceil(log2(width))``
    column bits, most significant first, each as pattern then inverse, then
    ``ceil(log2(height))`` row bits the same way, then white, then black. Stripes are one
    projector pixel wide; there are no fringes, so positions are whole pixels (centres).

Every pattern image is a ``(height, width)`` ``uint8`` grey image, row 0 at the top;
``projector_size`` is ``(width, height)`` like a display mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

LayoutKind = Literal["native", "opencv"]
LAYOUT_KINDS: tuple[str, ...] = ("native", "opencv")

DEFAULT_PERIOD_PX = 16
DEFAULT_PHASE_STEPS = 8


@dataclass(frozen=True)
class AxisCode:
    """How one projector axis (columns: x, rows: y) is coded in a sequence.

    ``gray_pairs`` are ``(pattern_index, inverse_index)`` frame indices, most significant bit
    first; bit ``b`` of the Gray code of ``floor(coordinate / unit_px)``. ``phase_indices``
    are the frame indices of the fringes, step ``n`` at position ``n`` (empty: Gray code only).
    """

    size_px: int
    unit_px: int
    gray_pairs: tuple[tuple[int, int], ...]
    period_px: int = 0
    phase_indices: tuple[int, ...] = ()

    @property
    def bits(self) -> int:
        return len(self.gray_pairs)

    @property
    def phase_steps(self) -> int:
        return len(self.phase_indices)


@dataclass(frozen=True)
class PatternLayout:
    """Which frame of a structured-light sequence shows what (see the module docstring)."""

    kind: LayoutKind
    projector_size: tuple[int, int]
    white_index: int
    black_index: int
    columns: AxisCode
    rows: AxisCode
    count: int

    def frame_names(self) -> list[str]:
        """A short file-name-friendly name for every frame, in sequence order."""
        names = [""] * self.count
        names[self.white_index] = "white"
        names[self.black_index] = "black"
        for axis, code in (("col", self.columns), ("row", self.rows)):
            for bit, (p, q) in enumerate(code.gray_pairs):
                names[p] = f"{axis}-gray{bit:02d}"
                names[q] = f"{axis}-gray{bit:02d}-inv"
            for step, index in enumerate(code.phase_indices):
                names[index] = f"{axis}-phase{step:02d}"
        return names


def bits_for(count: int) -> int:
    """Number of bits needed to number ``count`` stripes (at least 1)."""
    return max(1, math.ceil(math.log2(max(count, 2))))


def native_layout(
    projector_size: tuple[int, int],
    *,
    period_px: int = DEFAULT_PERIOD_PX,
    phase_steps: int = DEFAULT_PHASE_STEPS,
) -> PatternLayout:
    """The project's own sequence: white, black, Gray pairs (x then y), fringes (x then y).

    ``period_px`` must be even and ≥ 4 (the Gray unit is half a period); ``phase_steps`` must
    be ≥ 3. Eight steps cancel the fringe harmonics a projector's gamma curve adds up to the
    6th, so no gamma calibration is needed.
    """
    width, height = _check_size(projector_size)
    if period_px < 4 or period_px % 2:
        raise ValueError(f"period_px must be an even number >= 4, got {period_px}")
    if phase_steps < 3:
        raise ValueError(f"phase_steps must be >= 3, got {phase_steps}")
    unit = period_px // 2
    index = 2
    axes = []
    for size in (width, height):
        nbits = bits_for(math.ceil(size / unit))
        pairs = tuple((index + 2 * b, index + 2 * b + 1) for b in range(nbits))
        index += 2 * nbits
        axes.append((size, nbits, pairs))
    codes = []
    for size, _, pairs in axes:
        phases = tuple(range(index, index + phase_steps))
        index += phase_steps
        codes.append(AxisCode(size, unit, pairs, period_px, phases))
    return PatternLayout("native", (width, height), 0, 1, codes[0], codes[1], index)


def opencv_layout(projector_size: tuple[int, int]) -> PatternLayout:
    """OpenCV contrib ``GrayCodePattern`` order: column bits, row bits (pairs), white, black."""
    width, height = _check_size(projector_size)
    col_bits, row_bits = bits_for(width), bits_for(height)
    cols = tuple((2 * b, 2 * b + 1) for b in range(col_bits))
    base = 2 * col_bits
    rows = tuple((base + 2 * b, base + 2 * b + 1) for b in range(row_bits))
    white = base + 2 * row_bits
    return PatternLayout(
        "opencv",
        (width, height),
        white,
        white + 1,
        AxisCode(width, 1, cols),
        AxisCode(height, 1, rows),
        white + 2,
    )


def make_layout(kind: str, projector_size: tuple[int, int]) -> PatternLayout:
    """Layout by name (``native`` or ``opencv``)."""
    if kind == "native":
        return native_layout(projector_size)
    if kind == "opencv":
        return opencv_layout(projector_size)
    raise ValueError(f"unknown layout {kind!r}; expected one of: {', '.join(LAYOUT_KINDS)}")


def gray_encode(values: np.ndarray) -> np.ndarray:
    """Reflected binary Gray code of non-negative integers."""
    v = np.asarray(values, dtype=np.int64)
    return v ^ (v >> 1)


def gray_bit_planes(size_px: int, unit_px: int, bits: int) -> np.ndarray:
    """``(bits, size_px)`` bool: bit ``b`` (MSB first) of the Gray code of ``floor(i / unit)``."""
    codes = gray_encode(np.arange(size_px) // unit_px)
    shifts = np.arange(bits - 1, -1, -1)[:, None]
    return ((codes[None, :] >> shifts) & 1).astype(bool)


def fringe_profile(size_px: int, period_px: int, step: int, steps: int) -> np.ndarray:
    """Fringe ``step`` of ``steps`` along one axis as float64 in [0, 1], phase at pixel centres."""
    centres = np.arange(size_px, dtype=np.float64) + 0.5
    return 0.5 + 0.5 * np.cos(2 * np.pi * centres / period_px - 2 * np.pi * step / steps)


def generate_patterns(layout: PatternLayout) -> list[np.ndarray]:
    """Every frame of ``layout`` as ``(height, width)`` uint8 grey images, in sequence order."""
    width, height = layout.projector_size
    frames: list[np.ndarray | None] = [None] * layout.count
    frames[layout.white_index] = np.full((height, width), 255, np.uint8)
    frames[layout.black_index] = np.zeros((height, width), np.uint8)
    for vertical, code in ((True, layout.columns), (False, layout.rows)):
        planes = gray_bit_planes(code.size_px, code.unit_px, code.bits)
        for (p, q), plane in zip(code.gray_pairs, planes, strict=True):
            line = plane.astype(np.uint8) * np.uint8(255)
            frames[p] = _spread(line, vertical, width, height)
            frames[q] = _spread(255 - line, vertical, width, height)
        for step, index in enumerate(code.phase_indices):
            profile = fringe_profile(code.size_px, code.period_px, step, code.phase_steps)
            line = np.round(profile * 255.0).astype(np.uint8)
            frames[index] = _spread(line, vertical, width, height)
    assert all(f is not None for f in frames)
    return [f for f in frames if f is not None]


def _spread(line: np.ndarray, vertical: bool, width: int, height: int) -> np.ndarray:
    """A 1-D profile repeated into a full image (columns vary when ``vertical``)."""
    if vertical:
        return np.ascontiguousarray(np.broadcast_to(line[None, :], (height, width)))
    return np.ascontiguousarray(np.broadcast_to(line[:, None], (height, width)))


def _check_size(projector_size: tuple[int, int]) -> tuple[int, int]:
    width, height = (int(v) for v in projector_size)
    if width < 2 or height < 2:
        raise ValueError(f"projector size must be at least 2x2, got {width}x{height}")
    return width, height


def parse_size(text: str) -> tuple[int, int]:
    """``'1920x1080'`` → ``(1920, 1080)``; raises ``ValueError`` with the expected form."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"expected a size like 1920x1080, got {text!r}")
    width, height = int(parts[0]), int(parts[1])
    if width < 2 or height < 2:
        raise ValueError(f"size must be at least 2x2, got {text!r}")
    return width, height
