"""Specification of load_image: every still image becomes uint8 RGBA (H, W, 4), top row first."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from mapping.media.errors import MediaError
from mapping.media.image import fit_texture_limit, fitted_size, load_image


def write_png_raw(path: Path, pixels: np.ndarray, color_type: int) -> None:
    """Minimal PNG encoder (8-bit), for layouts OpenCV cannot write (grey + alpha)."""
    height, width = pixels.shape[:2]

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def rgb_test_image() -> np.ndarray:
    """(4, 6, 3) RGB: red top-left pixel, everything else a distinct colour per row."""
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[:, :] = (10, 20, 30)
    image[3, :] = (200, 100, 50)  # bottom row
    image[0, 0] = (255, 0, 0)  # top-left: pure red
    return image


def test_rgb_png_gets_opaque_alpha_and_keeps_rgb_order_and_orientation(tmp_path: Path) -> None:
    rgb = rgb_test_image()
    path = tmp_path / "rgb.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    image = load_image(path)
    assert image.shape == (4, 6, 4)
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image[:, :, :3], rgb)
    assert (image[:, :, 3] == 255).all()
    assert tuple(image[0, 0]) == (255, 0, 0, 255)  # row 0 = top, RGB not BGR


def test_png_with_alpha_keeps_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((3, 5, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = np.arange(15, dtype=np.uint8).reshape(3, 5) * 17
    path = tmp_path / "rgba.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    np.testing.assert_array_equal(load_image(path), rgba)


def test_grey_png_becomes_grey_rgb_with_opaque_alpha(tmp_path: Path) -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), grey)
    image = load_image(path)
    assert image.shape == (3, 4, 4)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], grey)
    assert (image[:, :, 3] == 255).all()


def test_grey_with_alpha_png_keeps_alpha(tmp_path: Path) -> None:
    grey_alpha = np.zeros((2, 3, 2), dtype=np.uint8)
    grey_alpha[..., 0] = 90
    grey_alpha[..., 1] = [[0, 128, 255], [255, 64, 1]]
    path = tmp_path / "grey_alpha.png"
    write_png_raw(path, grey_alpha, color_type=4)
    image = load_image(path)
    assert image.shape == (2, 3, 4)
    assert (image[:, :, :3] == 90).all()
    np.testing.assert_array_equal(image[:, :, 3], grey_alpha[..., 1])


def test_16_bit_png_is_scaled_to_8_bit(tmp_path: Path) -> None:
    rgb16 = np.zeros((2, 4, 3), dtype=np.uint16)
    rgb16[0] = [[0, 0, 0], [65535, 65535, 65535], [257 * 128, 0, 65535], [300, 32896, 1000]]
    rgb16[1] = 65535
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    image = load_image(path)
    assert image.dtype == np.uint8
    assert tuple(image[0, 0]) == (0, 0, 0, 255)
    assert tuple(image[0, 1]) == (255, 255, 255, 255)
    assert tuple(image[0, 2]) == (128, 0, 255, 255)
    assert tuple(image[0, 3]) == (1, 128, 4, 255)  # round(v * 255 / 65535)
    assert (image[1] == 255).all()


def test_16_bit_png_with_alpha(tmp_path: Path) -> None:
    rgba16 = np.full((2, 2, 4), 65535, dtype=np.uint16)
    rgba16[..., 3] = [[0, 32896], [65535, 257]]
    path = tmp_path / "deep_alpha.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba16, cv2.COLOR_RGBA2BGRA))
    np.testing.assert_array_equal(load_image(path)[..., 3], [[0, 128], [255, 1]])


def test_jpeg_loads_as_rgba(tmp_path: Path) -> None:
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[:8] = (250, 10, 10)  # top half red
    rgb[8:] = (10, 10, 250)  # bottom half blue
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    image = load_image(path)
    assert image.shape == (16, 16, 4)
    assert (image[..., 3] == 255).all()
    np.testing.assert_allclose(image[2, 2, :3], (250, 10, 10), atol=12)
    np.testing.assert_allclose(image[13, 13, :3], (10, 10, 250), atol=12)


def test_accepts_str_paths(tmp_path: Path) -> None:
    path = tmp_path / "s.png"
    cv2.imwrite(str(path), np.zeros((2, 2, 3), dtype=np.uint8))
    assert load_image(str(path)).shape == (2, 2, 4)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(MediaError) as info:
        load_image(missing)
    assert info.value.path == missing
    assert str(missing) in str(info.value)
    assert "not found" in info.value.reason
    assert "expected an image file (PNG, JPEG" in info.value.reason


@pytest.mark.parametrize("content", [b"", b"this is not an image", b"\x89PNG\r\n\x1a\ntruncated"])
def test_undecodable_file_names_the_path(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(MediaError) as info:
        load_image(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "expected an image file (PNG, JPEG" in info.value.reason


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not a file"):
        load_image(tmp_path)


def test_media_error_formats_path_and_reason() -> None:
    error = MediaError("shows/demo/media/x.png", "cannot decode")
    assert str(error) == "shows/demo/media/x.png: cannot decode"
    assert error.path == Path("shows/demo/media/x.png")
    assert error.reason == "cannot decode"


# --------------------------------------------------------------------- every delivered format


def rgba16_ramp() -> np.ndarray:
    """(3, 8, 4) uint16 RGBA: values around the 8-bit rounding boundaries, alpha varying."""
    values = np.array([0, 128, 129, 385, 386, 32767, 65406, 65535], dtype=np.uint16)
    image = np.zeros((3, 8, 4), dtype=np.uint16)
    image[..., 0] = values
    image[..., 1] = values[::-1]
    image[..., 2] = 257 * np.arange(3, dtype=np.uint16)[:, None] * 100
    image[..., 3] = np.array([65535, 0, 129, 128, 32896, 1000, 65406, 64000], dtype=np.uint16)
    return image


def expected_8bit(image16: np.ndarray) -> np.ndarray:
    """round(v / 257) in float64 (v * 255 / 65535 never lands on .5 for integer v)."""
    return np.floor(image16.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)


def test_16_bit_rounding_reference_values() -> None:
    # The boundaries by hand: 128/257 = 0.498 -> 0, 129/257 = 0.502 -> 1, 385/257 = 1.498 -> 1,
    # 65406/257 = 254.498 -> 254.
    ramp = rgba16_ramp()[0, :, 0]
    assert expected_8bit(ramp).tolist() == [0, 0, 1, 1, 2, 127, 254, 255]


def write_rgba(path: Path, rgba: np.ndarray, params: list[int] | None = None) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), params or [])


@pytest.mark.parametrize("suffix", ["png", "tiff"])
def test_16_bit_rgba_rounds_each_value_and_keeps_alpha(tmp_path: Path, suffix: str) -> None:
    rgba16 = rgba16_ramp()
    path = tmp_path / f"deep.{suffix}"
    write_rgba(path, rgba16)
    np.testing.assert_array_equal(load_image(path), expected_8bit(rgba16))


@pytest.mark.parametrize(
    ("suffix", "params"),
    [
        ("png", []),
        ("tiff", []),
        ("webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),  # above 100: lossless, alpha kept
    ],
)
def test_8_bit_rgba_loads_exactly(tmp_path: Path, suffix: str, params: list[int]) -> None:
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # top-left: opaque red (RGB order, row 0 on top)
    rgba[4, 6] = (0, 0, 255, 0)  # bottom-right: transparent blue
    path = tmp_path / f"rgba.{suffix}"
    write_rgba(path, rgba, params)
    image = load_image(path)
    np.testing.assert_array_equal(image[..., 3], rgba[..., 3])
    # Lossless WebP may drop the colour of fully transparent pixels (libwebp's default).
    visible = rgba[..., 3] > 0
    np.testing.assert_array_equal(image[visible], rgba[visible])
    if suffix != "webp":
        np.testing.assert_array_equal(image, rgba)


def test_lossy_webp_loads_as_rgba(tmp_path: Path) -> None:
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[:, :8] = (240, 20, 20)
    rgb[:, 8:] = (20, 200, 20)
    path = tmp_path / "photo.webp"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 90])
    image = load_image(path)
    assert image.shape == (16, 16, 4)
    assert (image[..., 3] == 255).all()
    np.testing.assert_allclose(image[8, 2, :3], (240, 20, 20), atol=12)
    np.testing.assert_allclose(image[8, 13, :3], (20, 200, 20), atol=12)


def test_8_bit_rgb_tiff(tmp_path: Path) -> None:
    rgb = rgb_test_image()
    path = tmp_path / "rgb.tif"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    image = load_image(path)
    np.testing.assert_array_equal(image[..., :3], rgb)
    assert (image[..., 3] == 255).all()


# --------------------------------------------------------------------- the GPU's texture limit


@pytest.mark.parametrize(
    ("size", "limit", "fitted"),
    [
        ((20000, 10), 16384, (16384, 8)),  # 10 * 16384 / 20000 = 8.19
        ((10, 20000), 16384, (8, 16384)),
        ((16384, 16384), 16384, (16384, 16384)),  # exactly the limit: untouched
        ((300, 200), 100, (100, 67)),  # 200 * 100 / 300 = 66.7
        ((5000, 1), 100, (100, 1)),  # never below one pixel
    ],
)
def test_fitted_size(size: tuple[int, int], limit: int, fitted: tuple[int, int]) -> None:
    assert fitted_size(size, limit) == fitted


def test_image_over_the_limit_is_scaled_by_area_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 400x10: left half red, right half green with alpha 128, a blue stripe at the seam; the
    # limit 100 divides both sides by 4: 100x2 (10 / 4 = 2.5, rounded to even).
    rgba = np.zeros((10, 400, 4), dtype=np.uint8)
    rgba[:, :200] = (255, 0, 0, 255)
    rgba[:, 200:] = (0, 255, 0, 128)
    rgba[:, 198:202] = (0, 0, 255, 255)  # a thin blue stripe at the seam
    path = tmp_path / "wide.png"
    write_rgba(path, rgba)
    with caplog.at_level("WARNING", logger="mapping.media.image"):
        image = load_image(path, max_size=100)
    assert image.shape == (round(10 * 100 / 400), 100, 4)
    # Area interpolation: each output pixel is the mean of a 4-wide, 5-tall source block.
    reference = rgba.astype(np.float64).reshape(image.shape[0], -1, 100, 4, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(image, reference, atol=1.0)
    assert tuple(image[0, 10]) == (255, 0, 0, 255)
    assert tuple(image[0, 90]) == (0, 255, 0, 128)
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert str(path) in warning and "400x10" in warning and "100x2" in warning
    assert "texture limit of 100" in warning


def test_image_within_the_limit_is_returned_as_is(tmp_path: Path) -> None:
    rgba = np.full((4, 6, 4), 9, dtype=np.uint8)
    path = tmp_path / "small.png"
    write_rgba(path, rgba)
    np.testing.assert_array_equal(load_image(path, max_size=6), rgba)
    assert fit_texture_limit(rgba, 6, path) is rgba
