"""One table of layer kinds serves the loader, ``check`` and the renderer; content is
identified by the file's identity (path, size, modification time), not its path alone."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mapping import kinds
from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.gl.sources.base import ContentSource, PlaceholderSource
from mapping.show import load_show
from tests.showkit import single_surface_show, write_png

CANVAS = (16, 12)


def test_every_kind_names_a_gpu_source_and_a_way_to_check_its_content():
    for kind in kinds.LAYER_KINDS.values():
        source = kinds.resolve(kind.gpu_source)
        assert issubclass(source, ContentSource), kind.name
        if kind.takes_file:  # check opens every content file, one way or the other
            assert (kind.probe is None) == kind.compiled, kind.name
        assert kind.content_key in kinds.CONTENT_KEYS


def test_the_loader_takes_its_kind_names_and_content_keys_from_the_table(tmp_path):
    (tmp_path / "show.toml").write_text(
        'name = "t"\n[canvas]\nsize = [16, 12]\n'
        '[[outputs]]\nname = "o"\nresolution = [16, 12]\n'
        '[[layers]]\nname = "a"\nkind = "sold"\ncolor = "#ff0000"\n'
    )
    try:
        load_show(tmp_path)
    except Exception as exc:  # ValidationError
        message = str(exc)
    assert "did you mean 'solid'" in message
    assert "expected one of: " + ", ".join(kinds.LAYER_KINDS) in message


def test_content_id_changes_when_a_file_is_replaced_or_appears(tmp_path):
    path = tmp_path / "a.png"
    missing = kinds.ContentId.of(path)
    assert not missing.exists
    path.write_bytes(b"one")
    first = kinds.ContentId.of(path)
    assert first.exists and first != missing and missing.changed()
    assert not first.changed()
    path.write_bytes(b"three")
    assert first.changed()


def _colour(ctx, renderer: Renderer, show) -> np.ndarray:
    renderer.render(CueEngine(show).tick(0.0))
    return renderer.read_output("out")[6, 8, :3].astype(int)


def test_a_file_replaced_at_the_same_path_is_new_content(ctx, tmp_path):
    red = np.zeros((*CANVAS[::-1], 4), np.uint8)
    red[..., 0] = red[..., 3] = 255
    show = single_surface_show(tmp_path, red, np.eye(3), CANVAS)
    renderer = Renderer(ctx, show)
    try:
        assert _colour(ctx, renderer, show).tolist() == [255, 0, 0]
        blue = red[..., [2, 1, 0, 3]].copy()
        path = write_png(Path(show.layers[0].content), blue)  # same path, new bytes
        os.utime(path, ns=(1, 2_000_000_000))  # a different modification time, for sure
        renderer.set_show(show)  # what a reload does after the watcher saw the change
        assert _colour(ctx, renderer, show).tolist() == [0, 0, 255]
    finally:
        renderer.release()


def test_a_file_that_was_broken_and_comes_back_is_picked_up_without_restart(ctx, tmp_path):
    green = np.zeros((*CANVAS[::-1], 4), np.uint8)
    green[..., 1] = green[..., 3] = 255
    show = single_surface_show(tmp_path, green, np.eye(3), CANVAS)
    path = Path(show.layers[0].content)
    good = path.read_bytes()
    path.write_bytes(b"not a png yet")  # an artist's copy still in progress
    renderer = Renderer(ctx, show)
    try:
        _colour(ctx, renderer, show)
        assert "img" in renderer.errors
        assert any(isinstance(s, PlaceholderSource) for s in renderer._sources.values())
        path.write_bytes(good)
        os.utime(path, ns=(1, 3_000_000_000))
        for source in renderer._sources.values():  # do not wait for the 1 s retry period
            if isinstance(source, PlaceholderSource):
                source._next_check = 0.0
                assert not source.retry_due()  # changed: opened once it stays the same
                source._next_check = 0.0
        assert _colour(ctx, renderer, show).tolist() == [0, 255, 0]
        assert "img" not in renderer.errors
    finally:
        renderer.release()


def test_a_generator_is_never_drawn_at_more_pixels_than_the_canvas_has(ctx, tmp_path):
    from mapping.show import Canvas, Layer, Output, Show, Surface
    from tests.conftest import REPO

    shader = REPO / "shows" / "demo" / "shaders" / "aurora.glsl"
    rect = np.array([[0, 0], [32, 0], [32, 24], [0, 24]], float)
    huge = Layer("sky", "shader", shader, 1.0, "normal", (-100.0, -50.0, 16384.0, 9000.0))
    show = Show(
        tmp_path, "t", Canvas((32, 24)), (Output("out", (32, 24)),),
        (Surface("all", "out", rect, np.eye(3), "homography"),), (huge,), (),
    )  # fmt: skip
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(1.0))
        assert not renderer.errors
        (key, source) = next(iter(renderer._sources.items()))
        assert key.size_px == (32, 24)  # not 16384 × 9000 (about 590 MB of texture)
        assert source._texture.size == (32, 24)
        assert renderer.read_output("out")[..., :3].any()
    finally:
        renderer.release()
