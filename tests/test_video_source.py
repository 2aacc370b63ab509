"""The video layer's GPU source: pre-roll before GO, a live picture that never waits on the
decoder, offline frames that are exact.

Clips carry their frame numbers as bars (``tests.videokit``), read back from the rendered
canvas, so each test checks the picture.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.gl.sources import decoded
from mapping.gl.sources import video as video_source
from mapping.gl.sources.base import SourceEnv
from mapping.media.errors import MediaError
from mapping.media.video import VideoClip
from mapping.media.writer import VideoWriter
from mapping.show import Canvas, Layer, Show, load_show
from tests.madeonce import made_once
from tests.videokit import HEIGHT_PX, WIDTH_PX, number_image, read_number

FPS = 25
REGION = (0.0, 0.0, float(WIDTH_PX), float(HEIGHT_PX))


def write_numbered(path: Path, numbers: range) -> Path:
    with VideoWriter(path, (WIDTH_PX, HEIGHT_PX), FPS, gop=10, preset="ultrafast") as writer:
        for number in numbers:
            writer.write(number_image(number))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return made_once(tmp_path_factory, "test_video_source.clips", _make_clips)


def _make_clips(folder: Path) -> dict[str, Path]:
    return {
        "a": write_numbered(folder / "a.mp4", range(50)),
        "b": write_numbered(folder / "b.mp4", range(100, 150)),
    }


def shown_number(renderer: Renderer) -> int:
    return read_number(renderer.read_canvas()[..., :3])


SHOW = """
schema_version = 1
name = "preroll"
[canvas]
size = [{w}, {h}]
[[outputs]]
name = "out"
resolution = [{w}, {h}]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]
corners = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]
[[layers]]
name = "v"
kind = "video"
file = "{a}"
[[cues]]
number = 1
name = "to-b"
[cues.layers.v]
file = "{b}"
"""


def test_go_to_a_pre_rolled_clip_shows_its_first_frame_in_the_next_frame(ctx, tmp_path, clips):
    (tmp_path / "show.toml").write_text(
        textwrap.dedent(SHOW.format(w=WIDTH_PX, h=HEIGHT_PX, a=clips["a"], b=clips["b"]))
    )
    show = load_show(tmp_path)
    engine = CueEngine(show)
    engine.load("1")  # standby: its clip is opened and its first frame decoded before GO
    renderer = Renderer(ctx, show)  # live
    try:
        for n in range(5):
            renderer.render(engine.tick(n / FPS))
            assert shown_number(renderer) <= n  # live: the due frame, or an earlier one
            time.sleep(1 / FPS)
        prerolled = {k: s for k, s in renderer._sources.items() if "b.mp4" in str(k.content)}
        assert len(prerolled) == 1
        source = next(iter(prerolled.values()))
        engine.go(5 / FPS)
        started = time.perf_counter()
        renderer.render(engine.tick(5 / FPS))  # the very next frame after GO
        go_frame_s = time.perf_counter() - started
        assert shown_number(renderer) == 100  # clip b's first frame
        assert source.late_frames == 0
        assert next(s for k, s in renderer._sources.items() if "b.mp4" in str(k.content)) is source
        renderer.render(engine.tick(6 / FPS))
        assert shown_number(renderer) in (100, 101)  # live: the worker may still be one behind
        assert go_frame_s < 0.5
    finally:
        renderer.release()


class SlowSeekClip(VideoClip):
    """A real clip whose jumps (anything but the same or the next frame) take ``delay_s``
    more, as on a slow disk with a long GOP."""

    delay_s = 1.5

    def frame_at_index(self, index: int):
        last = self._current.index if self._current is not None else 0
        if index not in (last, last + 1):
            time.sleep(self.delay_s)
        return super().frame_at_index(index)


def video_show(root: Path, clip: Path) -> Show:
    layer = Layer("v", "video", clip, 1.0, "normal", REGION)
    return Show(root, "v", Canvas((WIDTH_PX, HEIGHT_PX)), (), (), (layer,), ())


def test_a_seek_on_a_live_source_never_blocks_the_render_call(ctx, tmp_path, clips, monkeypatch):
    monkeypatch.setattr(video_source, "VideoClip", SlowSeekClip)
    show = video_show(tmp_path, clips["a"])
    renderer = Renderer(ctx, show)
    engine = CueEngine(show)
    try:
        renderer.render(engine.tick(0.0))
        assert shown_number(renderer) == 0
        started = time.perf_counter()
        renderer.render(engine.tick(1.6))  # frame 40: a seek that takes 1.5 s
        elapsed = time.perf_counter() - started
        # llvmpipe draws this in a few ms; half the seek's time leaves room for a loaded CI
        assert elapsed < 0.75, elapsed
        assert shown_number(renderer) == 0  # the last frame stays up
        assert renderer.late_frames() >= 1
        deadline = time.monotonic() + 5.0
        while shown_number(renderer) != 40 and time.monotonic() < deadline:
            time.sleep(0.05)
            renderer.render(engine.tick(1.6))
        assert shown_number(renderer) == 40
    finally:
        renderer.release()


def test_offline_every_frame_is_the_frame_due(ctx, tmp_path, clips, monkeypatch):
    monkeypatch.setattr(video_source, "VideoClip", SlowSeekClip)
    monkeypatch.setattr(SlowSeekClip, "delay_s", 0.2)
    show = video_show(tmp_path, clips["a"])
    renderer = Renderer(ctx, show, offline=True)
    engine = CueEngine(show)
    try:
        for t, number in ((0.0, 0), (1.6, 40), (0.4, 10), (0.44, 11), (2.04, 1)):
            renderer.render(engine.tick(t))
            assert shown_number(renderer) == number, t
        assert renderer.late_frames() == 0
    finally:
        renderer.release()


def test_a_clip_larger_than_the_texture_limit_is_refused_with_the_file_and_sizes(ctx, clips):
    """An 8K clip on a GPU with 4K textures, in miniature: the limit is the env's."""
    vbo = ctx.buffer(np.zeros(8, "f4").tobytes())
    try:
        env = SourceEnv(ctx, vbo, offline=False, max_texture_size=32)
        layer = Layer("v", "video", clips["a"], 1.0, "normal", REGION)
        with pytest.raises(MediaError) as info:
            video_source.VideoSource(env, layer, clips["a"])
    finally:
        vbo.release()
    assert info.value.path == clips["a"]
    assert info.value.reason.startswith(
        f"{WIDTH_PX}×{HEIGHT_PX} is larger than this GPU's texture limit of 32 px a side"
    )


def test_the_ring_is_sized_to_about_64_mib_of_frames():
    assert decoded.ring_size_for((1920, 1080)) == 8
    assert decoded.ring_size_for((3840, 2160)) == 5
    assert decoded.ring_size_for((7680, 4320)) == 2
    assert decoded.ring_size_for((64, 48)) == 8
