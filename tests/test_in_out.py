"""In and out points: a video or audio layer plays a window of its file. Media time 0 is the
in point, the clip lasts ``out - in``, loops back to the in point or, played once, holds
the last frame before the out point — the same for the picture (H.264/FFV1 and HAP) and
the sound."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.errors import ValidationError
from mapping.gl.renderer import Renderer
from mapping.media.audio import AudioClip
from mapping.media.hap import HapClip
from mapping.show import Canvas, Layer, Output, Show, Surface, load_show
from mapping.sound import sound_frame
from tests.hapkit import encode_hap
from tests.madeonce import made_once
from tests.videokit import HEIGHT_PX, WIDTH_PX, read_number, write_timed_clip


@pytest.fixture(scope="module")
def numbered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_once(tmp_path_factory, "test_in_out.numbered", _make_numbered)


def _make_numbered(folder: Path) -> Path:
    """Ten frames numbered 0..9, 40 ms apart (25 fps)."""
    return write_timed_clip(folder / "numbered.mkv", [40 * n for n in range(10)], 40)


def _render_number(ctx, clip: Path, t: float, **window) -> int:
    full = (0.0, 0.0, float(WIDTH_PX), float(HEIGHT_PX))
    rect = np.array([[0, 0], [WIDTH_PX, 0], [WIDTH_PX, HEIGHT_PX], [0, HEIGHT_PX]], float)
    layer = Layer("v", "video", clip, 1.0, "normal", full, window.pop("loop", True), **window)
    show = Show(
        clip.parent, "t", Canvas((WIDTH_PX, HEIGHT_PX)), (Output("out", (WIDTH_PX, HEIGHT_PX)),),
        (Surface("all", "out", rect, np.eye(3), "homography"),), (layer,), (),
    )  # fmt: skip
    renderer = Renderer(ctx, show, offline=True)
    try:
        renderer.render(CueEngine(show).tick(t))
        assert not renderer.errors
        return read_number(np.ascontiguousarray(renderer.read_canvas()[..., :3]))
    finally:
        renderer.release()


@pytest.mark.parametrize(
    ("t", "loop", "number"),
    [(0.0, True, 5), (0.05, True, 6), (0.119, True, 7), (0.12, True, 5), (0.17, True, 6),
     (5.0, False, 7), (-1.0, False, 5)],
)  # fmt: skip
def test_a_video_layer_plays_the_window_between_its_in_and_out_points(
    ctx, numbered, t, loop, number
):
    # frames 5, 6, 7 start at 0.20, 0.24, 0.28 s: the window [0.2, 0.32) holds them
    assert _render_number(ctx, numbered, t, in_s=0.2, out_s=0.32, loop=loop) == number


def test_a_hap_clip_keeps_the_same_window(tmp_path):
    path = encode_hap(tmp_path / "six.mov", "hap", frames=6, fps=25)
    with HapClip(path, in_s=0.08, out_s=0.16) as clip:  # frames 2 and 3
        assert clip.duration_s == pytest.approx(0.08)
        assert [clip.index_at(t) for t in (0.0, 0.04, 0.079, 0.08, 0.12)] == [2, 3, 3, 2, 3]
        assert clip.index_at(9.0, loop=False) == 3 and clip.index_at(-1.0, loop=False) == 2
        assert clip.frame_at(0.04).index == 3
    with pytest.raises(Exception, match="leave no frame"):
        HapClip(path, in_s=0.5, out_s=0.6)


def test_an_audio_clip_plays_its_window_sample_exactly(tmp_path):
    rate = 8000
    source = (np.arange(rate) % 20000).astype(np.int16)  # sample i has the value i
    path = tmp_path / "ramp.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(source.tobytes())
    with AudioClip(path, rate=rate, channels=1, in_s=0.5, out_s=0.75) as clip:
        assert clip.frames == 2000 and clip.duration_s == pytest.approx(0.25)
        got = np.round(clip.samples(0, 10)[:, 0] * 32768.0).astype(int)
        assert got.tolist() == list(range(4000, 4010))
        wrapped = np.round(clip.samples(1998, 4, loop=True)[:, 0] * 32768.0).astype(int)
        assert wrapped.tolist() == [5998, 5999, 4000, 4001]
        after = clip.samples(1999, 3, loop=False)[:, 0]
        assert after[0] != 0.0 and not after[1:].any()  # played once: silence after out


def test_in_and_out_are_read_from_the_show_file_and_reach_the_soundtrack(tmp_path, numbered):
    (tmp_path / "clip.mkv").write_bytes(numbered.read_bytes())
    base = (
        "schema_version = 1\n"
        'name = "t"\n[canvas]\nsize = [64, 48]\n[[outputs]]\nname = "o"\nresolution = [64, 48]\n'
        '[[layers]]\nname = "v"\nkind = "video"\nfile = "clip.mkv"\n'
    )
    (tmp_path / "show.toml").write_text(base + "in = 0.2\nout = 0.32\n")
    show = load_show(tmp_path)
    assert (show.layers[0].in_s, show.layers[0].out_s) == (0.2, 0.32)
    voices = sound_frame(CueEngine(show).tick(0.0)).voices
    assert [v.window for v in voices] == [(0.2, 0.32)]
    for extra, key, words in (
        ("in = 0.3\nout = 0.3\n", "layers[0].out", "after the in point"),
        ("in = nan\n", "layers[0].in", "between 0.0 and 86400.0 s, got number nan"),
    ):  # fmt: skip
        (tmp_path / "show.toml").write_text(base + extra)
        with pytest.raises(ValidationError) as info:
            load_show(tmp_path)
        assert any(p.key_path == key and words in p.message for p in info.value.problems), (
            info.value.problems
        )
    (tmp_path / "show.toml").write_text(
        base.replace('kind = "video"\nfile = "clip.mkv"', 'kind = "solid"\ncolor = "#ffffff"')
        + "in = 1.0\n"
    )
    with pytest.raises(ValidationError, match="'in' is for video and audio layers"):
        load_show(tmp_path)
