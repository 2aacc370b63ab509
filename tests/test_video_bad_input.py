"""Bad video files: each is reported with the file and the reason, never a traceback, and
the show goes on (a placeholder, or the clip's last good frame; other layers keep playing).

Every broken file is made here from a good one: emptied, cut in half, replaced by text,
relabelled with a codec FFmpeg does not know (PyAV's FFmpeg decodes every codec it can
encode, so a real stream with an unknown codec ID stands in for an unsupported codec), or
with bytes flipped in the middle. A clip larger than the GPU's texture limit (8K on a small
machine) is in ``test_video_source.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.media.errors import MediaError
from mapping.media.video import VideoClip
from mapping.media.writer import VideoWriter
from mapping.show import Canvas, Layer, Show
from tests.madeonce import made_once
from tests.videokit import HEIGHT_PX, WIDTH_PX, number_image, read_number, write_timed_clip

FPS = 25
FRAMES = 50
GREEN = (0.0, 1.0, 0.0, 1.0)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return made_once(tmp_path_factory, "test_video_bad_input.good", _make_good)


def _make_good(folder: Path) -> dict[str, Path]:
    mp4 = folder / "good.mp4"
    with VideoWriter(mp4, (WIDTH_PX, HEIGHT_PX), FPS, gop=10, preset="ultrafast") as writer:
        for number in range(FRAMES):
            writer.write(number_image(number))
    mkv = write_timed_clip(folder / "good.mkv", [40 * n for n in range(FRAMES)], 40)
    return {"mp4": mp4, "mkv": mkv}


def flipped_in_the_middle(source: Path, target: Path, count: int = 200) -> Path:
    data = bytearray(source.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def broken(kind: str, good: dict[str, Path], folder: Path) -> Path:
    if kind == "empty":
        (path := folder / "empty.mp4").write_bytes(b"")
    elif kind == "truncated":
        data = good["mp4"].read_bytes()
        (path := folder / "half.mp4").write_bytes(data[: len(data) // 2])
    elif kind == "text":
        (path := folder / "notes.mp4").write_text("Projection notes: bring the long HDMI cable.\n")
    elif kind == "unknown-codec":
        # a Matroska file whose codec ID names no codec FFmpeg has
        data = good["mkv"].read_bytes()
        assert data.count(b"V_FFV1") == 1
        (path := folder / "unknown.mkv").write_bytes(data.replace(b"V_FFV1", b"V_QQQQ"))
    else:
        raise ValueError(kind)
    return path


REASONS = {
    "empty": "the file is empty, 0 bytes (expected a video file",
    "truncated": "an MP4/MOV file without its index (no 'moov' box): the file is cut short",
    "text": "not a decodable media file (expected a video file",
    "unknown-codec": "its video codec is not one this FFmpeg build can decode",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_an_unplayable_file_is_a_media_error_naming_the_file_and_why(good, tmp_path, kind):
    path = broken(kind, good, tmp_path)
    with pytest.raises(MediaError) as info:
        VideoClip(path)
    assert info.value.path == path
    assert info.value.reason.startswith(REASONS[kind]), info.value.reason
    assert str(path) in str(info.value)


def two_layer_show(root: Path, clip: Path) -> Show:
    """The broken clip on the left half, a green solid on the right half."""
    half = WIDTH_PX / 2
    layers = (
        Layer("clip", "video", clip, 1.0, "normal", (0.0, 0.0, half, float(HEIGHT_PX))),
        Layer("green", "solid", GREEN, 1.0, "normal", (half, 0.0, half, float(HEIGHT_PX))),
    )
    return Show(root, "bad", Canvas((WIDTH_PX, HEIGHT_PX)), (), (), layers, ())


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_the_layer_shows_a_placeholder_with_the_reason_and_the_others_play_on(
    ctx, good, tmp_path, kind, caplog
):
    path = broken(kind, good, tmp_path)
    show = two_layer_show(tmp_path, path)
    renderer = Renderer(ctx, show)
    try:
        with caplog.at_level(logging.ERROR):
            for t in (0.0, 0.04, 0.08):
                renderer.render(CueEngine(show).tick(t))
        canvas = renderer.read_canvas()
        assert renderer.errors["clip"].startswith(f"{path}: {REASONS[kind]}")
        left = canvas[:, : WIDTH_PX // 2, :3]
        assert left.std() > 10  # the placeholder's drawing, not black
        assert (canvas[:, WIDTH_PX // 2 :, :3] == (0, 255, 0)).all()  # the other layer
    finally:
        renderer.release()
    assert "Traceback" not in caplog.text
    assert caplog.text.count(f"layer 'clip': {path}") == 1  # reported once, not per frame


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_a_corrupt_frame_mid_clip_is_skipped_and_reported_and_the_last_good_frame_stays(
    good, tmp_path, container, caplog
):
    path = flipped_in_the_middle(good[container], tmp_path / f"corrupt.{container}")
    with caplog.at_level(logging.WARNING, logger="mapping.media.video"), VideoClip(path) as clip:
        shown = []
        for n in range(FRAMES):
            frame = clip.frame_at(n / FPS, loop=False)
            shown.append(read_number(frame.image))
        corrupt = clip.corrupt_frame_count
    # never a frame from the future; the damage holds an earlier picture; the first and
    # the last frames (a keyframe after the damage) are exact
    assert all(number <= n for n, number in enumerate(shown)), shown
    assert shown[:10] == list(range(10)) and shown[-5:] == list(range(FRAMES - 5, FRAMES))
    assert any(number < n for n, number in enumerate(shown))
    assert corrupt >= 1
    assert f"{path}: skipped a frame the decoder refused at" in caplog.text


def test_a_corrupt_clip_plays_on_in_the_renderer_with_its_last_good_frame(ctx, good, tmp_path):
    path = flipped_in_the_middle(good["mkv"], tmp_path / "corrupt.mkv")
    layer = Layer("clip", "video", path, 1.0, "normal", (0.0, 0.0, WIDTH_PX, HEIGHT_PX))
    show = Show(tmp_path, "bad", Canvas((WIDTH_PX, HEIGHT_PX)), (), (), (layer,), ())
    renderer = Renderer(ctx, show, offline=True)
    try:
        shown = []
        for n in range(FRAMES):
            renderer.render(CueEngine(show).tick(n / FPS))
            shown.append(read_number(renderer.read_canvas()[..., :3]))
        source = next(iter(renderer._sources.values()))
        assert source.corrupt_frames >= 1
        assert not renderer.errors  # nothing is failing now: the clip plays on
    finally:
        renderer.release()
    assert all(number <= n for n, number in enumerate(shown)), shown
    assert shown[-1] == FRAMES - 1


def test_an_mp4_cut_short_with_its_index_first_plays_what_is_there_and_says_so(tmp_path, caplog):
    """A 'fast start' MP4 (index first) cut in half still opens: the frames that are there
    play, and the clip says how many of the frames its header lists could be read."""
    import av

    path = tmp_path / "faststart.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH_PX, HEIGHT_PX, "yuv420p"
        for number in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(number_image(number), format="rgb24")
            frame.pts = number
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING), VideoClip(cut) as clip:
        assert 0 < clip.frame_count < FRAMES
        numbers = [read_number(clip.frame_at_index(i).image) for i in range(clip.frame_count)]
        # the last packet read may itself be cut: the frame before it then stays up
        assert numbers[:-1] == list(range(clip.frame_count - 1))
        assert numbers[-1] in (clip.frame_count - 2, clip.frame_count - 1)
        assert clip.problems and "of the 50 frames its header lists can be read" in clip.problems[0]
    assert f"{cut}: only {clip.frame_count} of the 50 frames" in caplog.text
