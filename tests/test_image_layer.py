"""Image layers through the renderer: an image over the GPU's texture limit is scaled down
with a warning, and a file that was missing and comes back is picked up without restart."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.gl.sources import base
from mapping.show import Canvas, Layer, Output, Show, Surface
from tests.showkit import write_png

CANVAS = (64, 48)


def _show(root, path) -> Show:
    w, h = CANVAS
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    surface = Surface("all", "out", rect, np.eye(3), "homography")
    layer = Layer("img", "image", path, 1.0, "normal", (0.0, 0.0, float(w), float(h)))
    return Show(root, "t", Canvas(CANVAS), (Output("out", CANVAS),), (surface,), (layer,), ())


def test_an_image_wider_than_the_texture_limit_is_scaled_down_with_a_warning(ctx, tmp_path, caplog):
    limit = int(ctx.info["GL_MAX_TEXTURE_SIZE"])
    width = limit + limit // 4  # 20000 on llvmpipe (16384)
    image = np.zeros((10, width, 4), np.uint8)
    image[:, : width // 2] = (255, 0, 0, 255)  # left half red
    image[:, width // 2 :] = (0, 0, 255, 255)  # right half blue
    path = write_png(tmp_path / "media" / "banner.png", image)
    show = _show(tmp_path, path)
    renderer = Renderer(ctx, show)
    try:
        with caplog.at_level(logging.WARNING, logger="mapping.media.image"):
            renderer.render(CueEngine(show).tick(0.0))
        canvas = renderer.read_output("out")
        assert not renderer.errors
    finally:
        renderer.release()
    # The whole region shows the image's colours (it was an opaque black rectangle before).
    assert canvas[24, 8, :3].tolist() == [255, 0, 0]
    assert canvas[24, 56, :3].tolist() == [0, 0, 255]
    assert (canvas[:, :30, 0] == 255).all() and (canvas[:, 34:, 2] == 255).all()
    warning = caplog.text
    fitted = f"{limit}x{round(10 * limit / width)}"
    assert str(path) in warning and f"{width}x10" in warning and fitted in warning


def test_a_missing_image_shows_a_placeholder_until_the_file_appears(
    ctx, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(base, "PLACEHOLDER_RETRY_S", 0.05)
    path = tmp_path / "media" / "late.png"
    show = _show(tmp_path, path)  # validated by hand: the file is not there yet
    renderer = Renderer(ctx, show)
    engine = CueEngine(show)
    try:
        with caplog.at_level(logging.ERROR):
            renderer.render(engine.tick(0.0))
        placeholder = renderer.read_output("out")[..., :3].copy()
        assert "img" in renderer.errors and "late.png" in renderer.errors["img"]
        assert placeholder.any(), "the placeholder is visible"
        assert "late.png" in caplog.text

        green = np.zeros((*CANVAS[::-1], 4), np.uint8)
        green[..., 1] = green[..., 3] = 255
        write_png(path, green)  # the artist's file arrives
        shown = None
        for i in range(100):  # frames go on; a later one shows the file
            renderer.render(engine.tick(0.04 * (i + 1)))
            shown = renderer.read_output("out")[..., :3]
            if (shown == (0, 255, 0)).all():
                break
            time.sleep(0.01)
        assert shown is not None and (shown == (0, 255, 0)).all()
        assert "img" not in renderer.errors
    finally:
        renderer.release()


@pytest.mark.parametrize("suffix", ["png", "tif", "webp", "jpg"])
def test_each_image_format_reaches_the_output(ctx, tmp_path, suffix):
    image = np.zeros((*CANVAS[::-1], 4), np.uint8)
    image[..., :3] = (200, 40, 120)
    image[..., 3] = 255
    path = write_png(tmp_path / f"flat.{suffix}", image)  # cv2 writes by the suffix
    show = _show(tmp_path, path)
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        out = renderer.read_output("out")[..., :3].astype(int)
        assert not renderer.errors
    finally:
        renderer.release()
    tolerance = 3 if suffix in ("jpg", "webp") else 0  # lossy formats
    assert np.abs(out - (200, 40, 120)).max() <= tolerance
