"""Thumbnails shrunk on the GPU: exact area averages against a float64 numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from mapping.gl.thumbnails import Thumbnailer, thumbnail_size
from tests.showkit import textured_image


def _area_weights(source: int, target: int) -> np.ndarray:
    """(target, source): the share of each source pixel in each target pixel (rows sum 1)."""
    scale = source / target
    weights = np.zeros((target, source))
    for i in range(target):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(int(np.floor(lo)), int(np.ceil(hi))):
            weights[i, j] = min(hi, j + 1) - max(lo, j)
    return weights / scale


def _area_reference(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    wx, wy = _area_weights(image.shape[1], size[0]), _area_weights(image.shape[0], size[1])
    rgb = image[..., :3].astype(np.float64)
    return np.stack([wy @ rgb[..., c] @ wx.T for c in range(3)], axis=-1)


def test_the_thumbnail_size_keeps_the_aspect_ratio_and_never_grows():
    assert thumbnail_size((1280, 720), 192) == (192, 108)
    assert thumbnail_size((1920, 1200), 192) == (192, 120)
    assert thumbnail_size((100, 50), 192) == (100, 50)
    assert thumbnail_size((4000, 10), 192) == (192, 1)


def test_a_block_of_four_is_its_plain_mean():
    # the reference itself, on numbers worked by hand
    image = np.zeros((4, 8, 4), np.uint8)
    image[:2, :2, 0] = (10, 20), (30, 40)
    ref = _area_reference(image, (4, 2))
    assert ref[0, 0, 0] == pytest.approx(25.0)
    assert ref[1, 1, 0] == 0.0


@pytest.mark.parametrize(
    ("source", "width"),
    [((320, 176), 80), ((320, 176), 40), ((1280, 720), 192), ((300, 170), 70)],
)
def test_the_thumbnail_is_the_area_average_of_the_output(ctx, source, width):
    w, h = source
    image = textured_image(w, h, seed=3)
    image[h // 4 : h // 2, w // 3] = (255, 255, 255, 255)  # a 1-pixel line: kept, not aliased
    image[h // 2, :] = (255, 0, 0, 255)  # and a 1-pixel row
    texture = ctx.texture(source, 4, image.tobytes())
    thumbs = Thumbnailer(ctx, width=width)
    try:
        thumbs.capture("out", texture)
        got = thumbs.collect("out")
        size = thumbnail_size(source, width)
        assert got is not None and got.shape == (size[1], size[0], 3)
        error = np.abs(got.astype(np.float64) - _area_reference(image, size))
        assert error.max() <= 0.51  # the 8-bit rounding of the mean, nothing more
        assert thumbs.collect("out") is None  # collected once per capture
        assert thumbs.pending() == []
    finally:
        thumbs.release()
        texture.release()
