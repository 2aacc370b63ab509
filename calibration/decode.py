"""Decoding structured-light captures into projector↔camera correspondences (vectorised numpy).

This module owns turning a captured sequence (see :mod:`calibration.structured_light` for
the layouts) into, for every camera pixel, the continuous ``projector_px`` position it sees:

* ``proj_xy``: float32 ``(cam_h, cam_w, 2)``, (x, y) in ``projector_px`` with pixel centres
  at ``+0.5``; NaN where the pixel could not be decoded.
* ``confidence``: float32 ``(cam_h, cam_w)`` in [0, 1): ``snr / (snr + 10)`` of the weakest
  decision used for that pixel (0.5 at a signal-to-noise ratio of 10); 0 where not decoded.

How (no Python loop over pixels; loops run over the ~50 frames only):

1. **Noise model.** For complementary binary patterns ``pattern + inverse = white + black``
   holds for any blur, ambient light or surface albedo, so the residual of that sum over all
   pairs samples the sensor noise. Its robust spread, binned by brightness, gives a
   noise-level function σ(level) — per pixel, from that pixel's own brightness.
2. **Shadow mask.** ``white − black`` must exceed ``k_sigma`` noise standard deviations
   (and ``min_contrast`` levels): a dark part of a textured facade whose stripes still
   stand out of its own noise is decoded; a fixed global threshold would throw it away.
3. **Bits.** A Gray bit is the sign of ``pattern − inverse``; it is *ambiguous* when
   ``|pattern − inverse| < k_sigma · √2 σ``. Gray→binary is a running XOR over bit planes.
4. **Sub-pixel (native layout).** The ``N`` fringes give the phase ``φ = atan2(Σ Iₙ sin θₙ,
   Σ Iₙ cos θₙ)``, hence the position inside one period ``P``. The Gray code (unit ``P/2``)
   gives the estimate ``x_gray`` (stripe centre), within ``P/4`` of the truth, or just over
   it when the pixel sits on a stripe edge and one bit is ambiguous. Unwrapping picks the
   period candidate ``x_phase + kP`` nearest ``x_gray``; that is right whenever
   ``|x_gray − x| < P/2``, so period boundaries need no special case. A pixel is rejected
   when two bits of one axis are ambiguous, the fringe amplitude is not ``k_sigma`` above
   its noise, or the unwrapped position disagrees with ``x_gray`` by more than ``0.375 P``.
5. **Stripe edges.** One ambiguous bit whose other reading is the *adjacent* stripe means
   the pixel sits on the edge between two stripes; its Gray estimate is that edge. Any other
   ambiguity (two bits, or one giving a distant stripe) rejects the pixel.
6. **OpenCV layout** (1-pixel Gray stripes, no fringes): the position is the centre of the
   decoded projector pixel, or the edge between two (5.): whole or half pixels.

Bad input raises :class:`calibration.errors.CalibrationError` with what to fix.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from calibration.errors import CalibrationError
from calibration.structured_light import AxisCode, PatternLayout

logger = logging.getLogger(__name__)

DEFAULT_K_SIGMA = 3.0
"""Decisions must stand this many noise standard deviations clear (see the module docstring)."""
DEFAULT_MIN_CONTRAST = 4.0
"""White − black below this many grey levels is never decoded, whatever the noise says."""
FIXED_SHADOW_THRESHOLD = 40.0
FIXED_BIT_THRESHOLD = 5.0
"""The fixed global thresholds of OpenCV's example decoder, for ``noise_aware=False``."""
SATURATED_LEVEL = 250
_SNR_HALF = 10.0
_NOISE_FLOOR = 0.5
_NOISE_STRIDE = 4


@dataclass(frozen=True)
class Correspondences:
    """Where each camera pixel looks in one projector (see the module docstring)."""

    proj_xy: np.ndarray
    confidence: np.ndarray
    projector_size: tuple[int, int]
    decode_s: float = 0.0

    @property
    def camera_size(self) -> tuple[int, int]:
        """``(width, height)`` of the camera images."""
        return int(self.proj_xy.shape[1]), int(self.proj_xy.shape[0])

    @property
    def valid(self) -> np.ndarray:
        """bool ``(cam_h, cam_w)``: decoded pixels."""
        return np.isfinite(self.proj_xy[..., 0])

    @property
    def valid_fraction(self) -> float:
        return float(np.mean(self.valid))

    def save(self, path: str) -> None:
        """Write ``proj_xy``, ``confidence`` and ``projector_size`` to an ``.npz`` file."""
        np.savez_compressed(
            path,
            proj_xy=self.proj_xy,
            confidence=self.confidence,
            projector_size=np.asarray(self.projector_size, dtype=np.int32),
        )

    @staticmethod
    def load(path: str) -> Correspondences:
        """Read a file written by :meth:`save` (or any ``.npz`` with ``proj_xy``/``confidence``;
        without ``projector_size`` the size is taken from the largest decoded position)."""
        try:
            with np.load(path) as data:
                proj_xy = np.asarray(data["proj_xy"], dtype=np.float32)
                confidence = np.asarray(data["confidence"], dtype=np.float32)
                size = data["projector_size"] if "projector_size" in data else None
        except (OSError, KeyError, ValueError) as exc:
            raise CalibrationError(
                f"cannot read correspondences from {path}: {exc}. "
                "Run 'calibrate decode' on the capture folder to write it."
            ) from exc
        if proj_xy.ndim != 3 or proj_xy.shape[2] != 2 or confidence.shape != proj_xy.shape[:2]:
            raise CalibrationError(
                f"{path}: proj_xy must be (height, width, 2) and confidence (height, width); "
                f"got {proj_xy.shape} and {confidence.shape}"
            )
        if size is None:
            finite = proj_xy[np.isfinite(proj_xy[..., 0])]
            top = np.ceil(finite.max(axis=0)) if len(finite) else np.zeros(2)
            size = top.astype(int)
        return Correspondences(proj_xy, confidence, (int(size[0]), int(size[1])))


@dataclass(frozen=True)
class NoiseModel:
    """Sensor noise σ (grey levels) as a function of brightness, estimated from the captures."""

    levels: np.ndarray
    sigmas: np.ndarray

    def sigma(self, level: np.ndarray) -> np.ndarray:
        return np.interp(level, self.levels, self.sigmas).astype(np.float32)


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 grey from a grey or BGR(A) capture."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        img = cv2.cvtColor(img, code)
    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        else:
            raise CalibrationError(f"captures must be 8-bit images, got dtype {img.dtype}")
    return img


def check_captures(
    captures: Sequence[np.ndarray], layout: PatternLayout, names: Sequence[str] | None = None
) -> list[np.ndarray]:
    """Grey uint8 captures after checking count, sizes and exposure; raises CalibrationError."""
    w, h = layout.projector_size
    if len(captures) != layout.count:
        raise CalibrationError(
            f"expected {layout.count} captures for a {w}x{h} projector in the {layout.kind} "
            f"layout, got {len(captures)}. Check --projector and --layout, and that no photo "
            "is missing or extra."
        )
    frames = [to_grey(c) for c in captures]
    shape = frames[layout.white_index].shape
    for i, frame in enumerate(frames):
        if frame.shape != shape:
            label = names[i] if names else f"capture {i}"
            raise CalibrationError(
                f"{label} is {frame.shape[1]}x{frame.shape[0]} but the white capture is "
                f"{shape[1]}x{shape[0]}; every capture must come from the same camera at the "
                "same resolution."
            )
    check_white_black(frames[layout.white_index], frames[layout.black_index])
    return frames


def check_white_black(white: np.ndarray, black: np.ndarray) -> None:
    """Raise :class:`CalibrationError` for a covered lens, overexposure or a dead projector."""
    if float(np.percentile(white, 99)) < 12:
        raise CalibrationError(
            "the white capture is black (99% of pixels below level 12): the lens may be "
            "covered, the camera not pointed at the facade, or the projector off. Uncover the "
            "lens, aim the camera and capture again."
        )
    if float(np.mean(black >= SATURATED_LEVEL)) > 0.5:
        raise CalibrationError(
            "the captures are overexposed: even the black frame is saturated on "
            f"{100 * np.mean(black >= SATURATED_LEVEL):.0f}% of the image. Lower the exposure "
            "time, gain or aperture and capture again."
        )
    saturated = white >= SATURATED_LEVEL
    lit = saturated | ((white.astype(np.int16) - black.astype(np.int16)) > 20)
    lit_saturated = float(np.mean(saturated[lit])) if np.any(lit) else 0.0
    if lit_saturated > 0.5:
        raise CalibrationError(
            f"the captures are overexposed: {100 * lit_saturated:.0f}% of the lit part of the "
            "white capture is saturated, so stripes cannot be told apart. Lower the exposure "
            "time, gain or aperture and capture again."
        )
    if lit_saturated > 0.05:
        logger.warning(
            "%.0f%% of the lit part of the white capture is saturated: those pixels lose "
            "precision; lower the exposure a little next time",
            100 * lit_saturated,
        )
    # Averaged over 5x5 pixels the sensor noise all but vanishes; a working projector lifts
    # at least some of the image by several grey levels.
    contrast = cv2.blur(white.astype(np.float32) - black.astype(np.float32), (5, 5))
    if float(np.mean(contrast > 2 * DEFAULT_MIN_CONTRAST)) < 0.005:
        raise CalibrationError(
            "the white and black captures are the same: the projector never changed. Check "
            "the projector cable and input, that the right output shows the patterns, and "
            "that the projector shutter is open."
        )


def estimate_noise(frames: Sequence[np.ndarray], layout: PatternLayout) -> NoiseModel:
    """Noise-level function from ``pattern + inverse − white − black`` (see module docstring)."""
    h, w = frames[layout.white_index].shape
    s = max(_NOISE_STRIDE, int(np.sqrt(h * w / 65536)))  # ~65k sample pixels at most
    white = frames[layout.white_index][::s, ::s].astype(np.float32)
    black = frames[layout.black_index][::s, ::s].astype(np.float32)
    pairs = list(layout.columns.gray_pairs) + list(layout.rows.gray_pairs)
    residuals = np.stack(
        [
            frames[p][::s, ::s].astype(np.float32) + frames[q][::s, ::s] - white - black
            for p, q in pairs
        ]
    )
    # Four images in each residual: σ_pixel ≈ σ_residual / 2; MAD → σ for a normal law.
    sigma_px = 1.4826 * np.median(np.abs(residuals), axis=0) / 2.0
    level = 0.5 * (white + black)
    edges = np.linspace(0, 256, 17)
    centres, sigmas = [], []
    for lo, hi in itertools.pairwise(edges):
        inside = (level >= lo) & (level < hi)
        if np.count_nonzero(inside) >= 50:
            centres.append(0.5 * (lo + hi))
            # Upper quartile: the MAD of ~20 samples is itself noisy; stay conservative.
            sigmas.append(float(np.percentile(sigma_px[inside], 75)))
    if not centres:
        return NoiseModel(np.array([0.0, 255.0]), np.array([1.0, 1.0]))
    sig = np.maximum(np.asarray(sigmas), _NOISE_FLOOR)
    return NoiseModel(np.asarray(centres), sig)


def decode(
    captures: Sequence[np.ndarray],
    layout: PatternLayout,
    *,
    k_sigma: float = DEFAULT_K_SIGMA,
    min_contrast: float = DEFAULT_MIN_CONTRAST,
    noise_aware: bool = True,
    names: Sequence[str] | None = None,
) -> Correspondences:
    """Decode a captured sequence into :class:`Correspondences` (see the module docstring).

    ``noise_aware=False`` uses OpenCV's fixed global thresholds instead (white − black > 40,
    ``|pattern − inverse| >= 5``), for comparison.
    """
    t0 = time.perf_counter()
    frames = check_captures(captures, layout, names)
    white = frames[layout.white_index]
    black = frames[layout.black_index]
    _check_projector_changed(frames, layout)

    contrast = cv2.subtract(white, black, dtype=cv2.CV_16S).astype(np.float32)
    if noise_aware:
        noise = estimate_noise(frames, layout)
        level = 0.5 * (white.astype(np.float32) + black)
        sigma = noise.sigma(level)
        sigma_diff = sigma * np.float32(np.sqrt(2.0))
        shadow_ok = (contrast > k_sigma * sigma_diff) & (contrast >= min_contrast)
        bit_threshold = k_sigma * sigma_diff
        logger.debug("noise model: levels %s sigma %s", noise.levels, noise.sigmas)
    else:
        sigma = np.full(contrast.shape, 1.0, np.float32)
        shadow_ok = contrast > FIXED_SHADOW_THRESHOLD
        bit_threshold = np.full(contrast.shape, FIXED_BIT_THRESHOLD, np.float32)

    threshold_u8 = np.clip(np.ceil(bit_threshold), 0, 255).astype(np.uint8)
    x, snr_x, ok_x = _decode_axis(frames, layout.columns, threshold_u8, sigma, k_sigma)
    y, snr_y, ok_y = _decode_axis(frames, layout.rows, threshold_u8, sigma, k_sigma)
    ok = shadow_ok & ok_x & ok_y
    snr = np.minimum(snr_x, snr_y)
    proj_xy = np.stack([x, y], axis=-1).astype(np.float32)
    proj_xy[~ok] = np.nan
    confidence = np.where(ok, snr / (snr + _SNR_HALF), 0.0).astype(np.float32)
    elapsed = time.perf_counter() - t0
    result = Correspondences(proj_xy, confidence, layout.projector_size, elapsed)
    logger.info(
        "decoded %dx%d camera pixels: %.1f%% valid in %.3f s",
        contrast.shape[1],
        contrast.shape[0],
        100 * result.valid_fraction,
        elapsed,
    )
    return result


def _check_projector_changed(frames: Sequence[np.ndarray], layout: PatternLayout) -> None:
    """Raise when every pattern equals its inverse (projector stuck on one picture)."""
    s = _NOISE_STRIDE
    white = frames[layout.white_index][::s, ::s].astype(np.int16)
    black = frames[layout.black_index][::s, ::s].astype(np.int16)
    lit = (white - black) > 20
    if np.count_nonzero(lit) < 100:
        return
    for code in (layout.columns, layout.rows):
        # The most significant bits have the widest stripes: clearest under any blur.
        p, q = code.gray_pairs[0]
        d = np.abs(frames[p][::s, ::s].astype(np.int16) - frames[q][::s, ::s])[lit]
        span = (white - black)[lit]
        if float(np.median(d / span)) < 0.1:
            raise CalibrationError(
                f"frames {p} and {q} (a pattern and its inverse) look the same: the projector "
                "stopped changing during the capture (cable, input switching, screen saver or "
                "a frozen output). Check the projector and capture again."
            )


def _decode_axis(
    frames: Sequence[np.ndarray],
    code: AxisCode,
    bit_threshold: np.ndarray,
    sigma: np.ndarray,
    k_sigma: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position (projector_px, continuous), SNR and validity along one axis.

    ``bit_threshold`` is uint8: ``|pattern − inverse|`` below it is ambiguous (the integer
    ceiling of the real threshold, so the test is exact for integer differences). The bit
    loop runs on uint8/uint16 planes with OpenCV's vectorised operations.
    """
    shape = frames[0].shape
    binary = np.zeros(shape, np.uint16)
    running = np.zeros(shape, np.uint8)
    ambiguous = np.zeros(shape, np.uint8)
    flip = np.zeros(shape, np.uint16)
    weakest = np.full(shape, 255, np.uint8)
    for bit_number, (p, q) in enumerate(code.gray_pairs):
        pattern, inverse = frames[p], frames[q]
        running = cv2.bitwise_xor(running, cv2.compare(pattern, inverse, cv2.CMP_GT))
        binary <<= 1
        binary |= running & 1
        absdiff = cv2.absdiff(pattern, inverse)
        unsure = cv2.compare(absdiff, bit_threshold, cv2.CMP_LT)  # 255 where ambiguous
        unsure_01 = unsure & 1
        ambiguous += unsure_01
        # Flipping Gray bit at position `pos` (from the LSB) flips binary bits pos..0.
        pos = code.bits - 1 - bit_number
        flip |= unsure_01.astype(np.uint16) * np.uint16((1 << (pos + 1)) - 1)
        weakest = cv2.min(weakest, cv2.bitwise_or(absdiff, unsure))  # ambiguous bits: 255
    # One ambiguous bit is a pixel on the edge between two neighbouring stripes when the
    # other reading of that bit is the adjacent stripe: its best estimate is that edge.
    binary_i = binary.astype(np.int32)
    other = binary_i ^ flip
    on_edge = (ambiguous == 1) & (np.abs(other - binary_i) == 1)
    readable = (ambiguous == 0) | on_edge
    estimate = np.where(
        on_edge,
        np.maximum(binary_i, other).astype(np.float32) * np.float32(code.unit_px),
        (binary_i.astype(np.float32) + np.float32(0.5)) * np.float32(code.unit_px),
    )
    noise_diff = sigma * np.float32(np.sqrt(2.0))
    snr_bits = (weakest.astype(np.float32) / noise_diff).astype(np.float32)

    if code.phase_steps == 0:
        ok = readable & (estimate <= code.size_px)
        return estimate.astype(np.float32), snr_bits, ok

    steps = code.phase_steps
    theta = 2 * np.pi * np.arange(steps) / steps
    weights = np.stack([np.sin(theta), np.cos(theta)]).astype(np.float32)
    stack = np.stack([frames[i].reshape(-1) for i in code.phase_indices]).astype(np.float32)
    s_sum, c_sum = (weights @ stack).reshape(2, *shape)  # one BLAS call for all steps
    period = np.float32(code.period_px)
    phase = np.arctan2(s_sum, c_sum)
    x_phase = np.mod(phase * (period / np.float32(2 * np.pi)), period)
    x_gray = estimate
    position = x_phase + period * np.round((x_gray - x_phase) / period)
    amplitude = np.hypot(s_sum, c_sum) * np.float32(2.0 / steps)
    amplitude_noise = sigma * np.float32(np.sqrt(2.0 / steps))
    snr = (amplitude / amplitude_noise).astype(np.float32)
    ok = (
        readable
        & (snr > k_sigma)
        & (np.abs(position - x_gray) <= 0.375 * period)
        & (position >= 0)
        & (position <= code.size_px)
    )
    return position.astype(np.float32), snr, ok
