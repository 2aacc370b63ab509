"""Loading still images (PNG, JPEG, TIFF, …) as RGBA uint8 arrays for image layers.

:func:`load_image` owns the conversion rules: every image comes back as uint8 RGBA
shaped ``(H, W, 4)``, row 0 at the top. Grey and RGB files get an opaque alpha; files
with alpha keep it; 16-bit files are scaled to 8 bit (rounded, 65535 → 255); float files
are taken as 0..1 and clipped. JPEG EXIF orientation is applied, so phone photos of a
facade come out upright.

:func:`fit_texture_limit` owns the rule for images larger than the GPU can hold in one
texture (``GL_MAX_TEXTURE_SIZE``): they are scaled down, aspect ratio kept, with area
interpolation, and a warning names the file and both sizes. :func:`load_image` applies it
when given ``max_size``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from mapping.media.errors import MediaError

logger = logging.getLogger(__name__)

EXPECTED_IMAGE = "expected an image file (PNG, JPEG, TIFF, BMP, WebP, …)"

_JPEG_MAGIC = b"\xff\xd8\xff"


def load_image(path: Path | str, max_size: int | None = None) -> np.ndarray:
    """Read an image file as uint8 RGBA ``(H, W, 4)``.

    With ``max_size`` (the GPU's texture limit), an image wider or taller than that is
    scaled down to fit (see :func:`fit_texture_limit`).

    Raises:
        MediaError: the file is missing, not a file, or cannot be decoded as an image.
    """
    path = Path(path)
    if not path.exists():
        raise MediaError(path, f"file not found ({EXPECTED_IMAGE})")
    if not path.is_file():
        raise MediaError(path, f"not a file ({EXPECTED_IMAGE})")
    try:
        data = np.fromfile(path, dtype=np.uint8)  # also works for non-ASCII paths
    except OSError as exc:
        raise MediaError(path, f"cannot read file: {exc}") from exc

    # IMREAD_UNCHANGED keeps alpha and 16 bit but ignores EXIF orientation, which only
    # JPEGs (never with alpha) carry in practice: decode those with orientation applied.
    if data[:3].tobytes() == _JPEG_MAGIC:
        flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
    else:
        flags = cv2.IMREAD_UNCHANGED
    decoded = cv2.imdecode(data, flags) if data.size else None
    if decoded is None:
        raise MediaError(path, f"cannot decode ({EXPECTED_IMAGE})")

    image_rgba = _to_rgba8(decoded)
    if image_rgba is None:
        raise MediaError(
            path, f"unsupported pixel layout {decoded.shape} {decoded.dtype} ({EXPECTED_IMAGE})"
        )
    logger.debug(
        "%s: loaded %dx%d (from %s %s)",
        path,
        image_rgba.shape[1],
        image_rgba.shape[0],
        decoded.shape,
        decoded.dtype,
    )
    if max_size is not None:
        image_rgba = fit_texture_limit(image_rgba, max_size, path)
    return image_rgba


def fitted_size(size_px: tuple[int, int], max_size: int) -> tuple[int, int]:
    """``(width, height)`` scaled down so neither side exceeds ``max_size``, aspect ratio kept
    (each side rounded, at least 1); unchanged when it already fits."""
    w, h = size_px
    if max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size}")
    if w <= max_size and h <= max_size:
        return w, h
    scale = max_size / max(w, h)
    return min(max_size, max(1, round(w * scale))), min(max_size, max(1, round(h * scale)))


def fit_texture_limit(image: np.ndarray, max_size: int, path: Path | str) -> np.ndarray:
    """``image`` scaled down (area interpolation, aspect ratio kept) so that both sides fit in
    a ``max_size`` texture, with a warning naming ``path`` and both sizes; ``image`` itself
    when it already fits."""
    h, w = image.shape[:2]
    new_w, new_h = fitted_size((w, h), max_size)
    if (new_w, new_h) == (w, h):
        return image
    logger.warning(
        "%s: image is %dx%d, larger than the GPU's texture limit of %d px; scaled down to %dx%d",
        path,
        w,
        h,
        max_size,
        new_w,
        new_h,
    )
    return np.ascontiguousarray(cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA))


def _to_8bit(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        # round(v * 255 / 65535), exact in integers
        return ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.dtype == np.int8:
        return image.view(np.uint8)
    raise TypeError(image.dtype)


def _to_rgba8(decoded: np.ndarray) -> np.ndarray | None:
    """OpenCV's grey / BGR / BGRA (any depth) → uint8 RGBA, or None if unsupported."""
    try:
        image = _to_8bit(decoded)
    except TypeError:
        return None
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.ndim != 3:
        return None
    channels = image.shape[2]
    if channels == 1:
        rgba = cv2.cvtColor(image, cv2.COLOR_GRAY2RGBA)
    elif channels == 2:  # grey + alpha
        rgba = np.concatenate([image[:, :, :1].repeat(3, axis=2), image[:, :, 1:]], axis=2)
    elif channels == 3:
        rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
    elif channels == 4:
        rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    else:
        return None
    return np.ascontiguousarray(rgba)
