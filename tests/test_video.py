"""Specification of VideoClip: the frame shown is a pure function of the media time.

Test clips are written with our own VideoWriter. Each frame carries its own index as
eight black/white vertical bars (bit 7 on the left), big flat blocks that survive H.264
exactly, so every test can read back which frame it was given.
"""

from __future__ import annotations

import random
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from mapping.media.errors import MediaError
from mapping.media.video import VideoClip, VideoFrame
from mapping.media.writer import VideoWriter
from tests.madeonce import made_once

WIDTH_PX, HEIGHT_PX = 64, 48
BAR_WIDTH_PX = WIDTH_PX // 8


def index_image(index: int) -> np.ndarray:
    """A (48, 64, 3) RGB frame whose eight bars spell ``index`` in binary (MSB left)."""
    image = np.zeros((HEIGHT_PX, WIDTH_PX, 3), dtype=np.uint8)
    for bit in range(8):
        if (index >> (7 - bit)) & 1:
            image[:, bit * BAR_WIDTH_PX : (bit + 1) * BAR_WIDTH_PX] = 255
    return image


def read_index(image: np.ndarray) -> int:
    """Decode the index spelled by :func:`index_image` (samples the middle of each bar)."""
    assert image.shape == (HEIGHT_PX, WIDTH_PX, 3)
    value = 0
    for bit in range(8):
        x_px = bit * BAR_WIDTH_PX + BAR_WIDTH_PX // 2
        sample = int(image[HEIGHT_PX // 2 - 4 : HEIGHT_PX // 2 + 4, x_px - 2 : x_px + 2].mean())
        value = (value << 1) | (sample > 128)
    return value


def write_index_clip(path: Path, frame_count: int, fps: float, gop: int | None) -> Path:
    with VideoWriter(path, (WIDTH_PX, HEIGHT_PX), fps, gop=gop, preset="ultrafast") as writer:
        for index in range(frame_count):
            writer.write(index_image(index))
    return path


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_once(tmp_path_factory, "test_video.clip_path", _make_clip_path)


def _make_clip_path(folder: Path) -> Path:
    """60 frames at 25 fps (2.4 s), a keyframe every 10 frames, no B-frames (ultrafast).

    Reordered (B-frame) streams are covered by ``bframe_clip_path``.
    """
    path = folder / "index.mp4"
    return write_index_clip(path, frame_count=60, fps=25, gop=10)


@pytest.fixture(scope="module")
def bframe_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_once(tmp_path_factory, "test_video.bframe_clip_path", _make_bframe_clip_path)


def _make_bframe_clip_path(folder: Path) -> Path:
    """120 frames at 30 fps, keyframe every 30 frames, x264 default B-frames (pts != dts)."""
    path = folder / "bframes.mp4"
    with VideoWriter(path, (WIDTH_PX, HEIGHT_PX), 30, gop=30, preset="veryfast") as writer:
        for index in range(120):
            writer.write(index_image(index))
    return path


@pytest.fixture()
def clip(clip_path: Path) -> VideoClip:
    with VideoClip(clip_path) as opened:
        yield opened


def test_index_pattern_round_trips_through_h264(clip: VideoClip) -> None:
    for index in range(clip.frame_count):
        assert read_index(clip.frame_at_index(index).image) == index


# --------------------------------------------------------------------- metadata


def test_reports_size_fps_frame_count_and_duration(clip: VideoClip, clip_path: Path) -> None:
    assert clip.path == clip_path
    assert clip.size_px == (WIDTH_PX, HEIGHT_PX)
    assert clip.fps == pytest.approx(25.0)
    assert clip.frame_count == 60
    assert clip.duration_s == pytest.approx(60 / 25)


def test_frame_is_rgb_uint8_read_only_with_index_and_pts(clip: VideoClip) -> None:
    frame = clip.frame_at(0.5)
    assert isinstance(frame, VideoFrame)
    assert frame.image.shape == (HEIGHT_PX, WIDTH_PX, 3)
    assert frame.image.dtype == np.uint8
    assert not frame.image.flags.writeable
    assert frame.index == 12
    assert frame.pts_s == pytest.approx(12 / 25)


# --------------------------------------------------------------------- time → frame


@pytest.mark.parametrize(
    ("media_time_s", "expected_index"),
    [
        (0.0, 0),
        (0.039, 0),  # still inside frame 0's interval [0, 0.04)
        (0.04, 1),  # exactly the next pts: the next frame
        (0.28, 7),  # t = 7 / 25 computed in floating point
        (1.0, 25),
        (2.399, 59),  # last frame
    ],
)
def test_frame_whose_interval_contains_the_time(
    clip: VideoClip, media_time_s: float, expected_index: int
) -> None:
    frame = clip.frame_at(media_time_s)
    assert frame.index == expected_index
    assert read_index(frame.image) == expected_index


def test_every_frame_start_time_gives_that_frame(clip: VideoClip) -> None:
    for index in range(clip.frame_count):
        frame = clip.frame_at(index / 25)
        assert (frame.index, read_index(frame.image)) == (index, index)


@pytest.mark.parametrize(
    ("media_time_s", "expected_index"),
    [(2.4, 0), (2.44, 1), (2.4 * 3 + 0.2, 5), (-0.04, 59), (-2.4, 0), (-0.5, 47)],
)
def test_loop_wraps_time_modulo_duration(
    clip: VideoClip, media_time_s: float, expected_index: int
) -> None:
    frame = clip.frame_at(media_time_s, loop=True)
    assert (frame.index, read_index(frame.image)) == (expected_index, expected_index)


@pytest.mark.parametrize(
    ("media_time_s", "expected_index"),
    [(-1.0, 0), (-0.001, 0), (2.4, 59), (100.0, 59), (1.0, 25)],
)
def test_without_loop_time_clamps_to_first_and_last_frame(
    clip: VideoClip, media_time_s: float, expected_index: int
) -> None:
    frame = clip.frame_at(media_time_s, loop=False)
    assert (frame.index, read_index(frame.image)) == (expected_index, expected_index)


def test_non_finite_time_is_rejected(clip: VideoClip) -> None:
    with pytest.raises(ValueError):
        clip.frame_at(float("nan"))


# --------------------------------------------------------------------- access patterns


def test_sequential_playback_decodes_each_frame_once_without_seeking(clip: VideoClip) -> None:
    seeks_before = clip.seek_count
    for index in range(clip.frame_count):
        assert read_index(clip.frame_at(index / 25 + 0.01).image) == index
    assert clip.seek_count == seeks_before
    assert clip.decoded_frame_count == clip.frame_count


def test_same_frame_again_is_served_from_cache(clip: VideoClip) -> None:
    first = clip.frame_at(1.0)
    decoded, converted = clip.decoded_frame_count, clip.converted_frame_count
    for media_time_s in (1.0, 1.01, 1.039, 1.0):
        assert clip.frame_at(media_time_s) is first
    assert clip.decoded_frame_count == decoded
    assert clip.converted_frame_count == converted


def test_small_step_forward_decodes_forward_without_seeking(clip: VideoClip) -> None:
    clip.frame_at(1.0)  # frame 25
    seeks = clip.seek_count
    frame = clip.frame_at(1.0 + 0.6)  # frame 40, 15 frames (< 1 s) ahead
    assert read_index(frame.image) == 40
    assert clip.seek_count == seeks


def test_backwards_and_far_jumps_seek_and_stay_exact(clip: VideoClip) -> None:
    assert read_index(clip.frame_at(2.0).image) == 50
    seeks = clip.seek_count
    assert read_index(clip.frame_at(0.2).image) == 5  # backwards
    assert clip.seek_count > seeks
    seeks = clip.seek_count
    assert read_index(clip.frame_at(2.2).image) == 55  # > 1 s ahead
    assert clip.seek_count > seeks


def test_seek_decodes_from_keyframe_not_from_start(clip: VideoClip) -> None:
    clip.frame_at(2.3)  # frame 57
    decoded = clip.decoded_frame_count
    assert read_index(clip.frame_at_index(35).image) == 35
    # keyframes every 10 frames: at most frames 30..35 (plus codec delay) are decoded
    assert clip.decoded_frame_count - decoded <= 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_access_is_frame_exact(clip_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    indices = list(range(60)) * 2
    rng.shuffle(indices)
    with VideoClip(clip_path) as clip:
        for index in indices:
            frame = clip.frame_at(index / 25 + rng.uniform(0.0, 0.039))
            assert (frame.index, read_index(frame.image)) == (index, index)


def test_random_access_is_frame_exact_with_b_frames(bframe_clip_path: Path) -> None:
    rng = random.Random(7)
    indices = list(range(120))
    rng.shuffle(indices)
    # around keyframes, where decode order and display order differ most
    indices += [30, 29, 31, 59, 60, 61, 89, 90, 0, 119, 28, 91, 1]
    with VideoClip(bframe_clip_path) as clip:
        assert clip.frame_count == 120
        assert clip.fps == pytest.approx(30.0)
        for index in indices:
            frame = clip.frame_at_index(index)
            assert (frame.index, read_index(frame.image)) == (index, index)


def test_seek_landing_after_the_target_is_retried_further_back(
    clip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Demuxers seek by decode time; with B-frames a seek can land on the keyframe *after*
    the target. Simulate that once: the clip must notice and seek further back."""
    with VideoClip(clip_path) as clip:
        clip.frame_at_index(55)
        real_seek = clip._seek
        calls: list[int] = []

        def late_seek(pts: int) -> None:
            calls.append(pts)
            if len(calls) == 1:
                pts += clip._frames_to_ticks(5)  # lands on keyframe 30 instead of 20
            real_seek(pts)

        monkeypatch.setattr(clip, "_seek", late_seek)
        frame = clip.frame_at_index(29)
        assert (frame.index, read_index(frame.image)) == (29, 29)
        assert len(calls) == 2
        assert calls[1] < calls[0]


def test_playing_backwards_frame_by_frame_is_exact(bframe_clip_path: Path) -> None:
    with VideoClip(bframe_clip_path) as clip:
        for index in reversed(range(clip.frame_count)):
            assert read_index(clip.frame_at((index + 0.5) / 30).image) == index


def test_loop_playback_across_the_end_is_exact(clip: VideoClip) -> None:
    for step in range(55, 70):  # plays 55..59 then wraps to 0..9
        frame = clip.frame_at(step / 25 + 0.005)
        assert read_index(frame.image) == step % 60


def test_non_integer_frame_rate(tmp_path: Path) -> None:
    path = write_index_clip(tmp_path / "ntsc.mp4", frame_count=20, fps=30000 / 1001, gop=5)
    with VideoClip(path) as clip:
        assert clip.fps == pytest.approx(29.97, abs=1e-3)
        assert clip.frame_count == 20
        for index in (19, 3, 10, 0, 15):
            assert read_index(clip.frame_at(index * 1001 / 30000).image) == index


# --------------------------------------------------------------------- lifetime


def test_closed_clip_refuses_frames(clip_path: Path) -> None:
    clip = VideoClip(clip_path)
    clip.close()
    clip.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        clip.frame_at(0.0)


# --------------------------------------------------------------------- errors


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(MediaError) as info:
        VideoClip(missing)
    assert info.value.path == missing
    assert str(missing) in str(info.value)
    assert "not found" in info.value.reason
    assert "expected a video file" in info.value.reason


def test_garbage_file_is_not_decodable_media(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(MediaError) as info:
        VideoClip(garbage)
    assert str(garbage) in str(info.value)
    assert "expected a video file" in info.value.reason


def test_directory_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not a file"):
        VideoClip(tmp_path)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(MediaError) as info:
        VideoClip(path)
    assert str(path) in str(info.value)
    assert "no video stream" in info.value.reason
    assert "audio" in info.value.reason


# --- YUV planes --------------------------------------------------------------------------


def test_yuv_matrices_map_video_black_and_white_and_primaries() -> None:
    from mapping.media.video import yuv_to_rgb_matrix

    for matrix in ("bt601", "bt709"):
        M, offset = yuv_to_rgb_matrix(matrix, full_range=False)
        black = M @ (np.array([16, 128, 128]) / 255.0 - offset)
        white = M @ (np.array([235, 128, 128]) / 255.0 - offset)
        np.testing.assert_allclose(black, 0.0, atol=1e-9)
        np.testing.assert_allclose(white, 1.0, atol=1e-9)
    M, offset = yuv_to_rgb_matrix("bt709", full_range=True)
    kr, kb = 0.2126, 0.0722
    red_y = kr
    red_cb = -kr / (2 * (1 - kb))
    red_cr = 0.5
    np.testing.assert_allclose(M @ np.array([red_y, red_cb, red_cr]), [1.0, 0.0, 0.0], atol=1e-9)
    assert offset.tolist() == [0.0, 128 / 255, 128 / 255]


def test_yuv_planes_are_the_decoders_planes_and_match_its_rgb(tmp_path: Path) -> None:
    from mapping.media.video import yuv_to_rgb_matrix

    path = tmp_path / "colour.mp4"
    rng = np.random.default_rng(3)
    smooth = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (64, 48))
    with VideoWriter(path, (64, 48), 10) as writer:
        for _ in range(3):
            writer.write(smooth)
    with VideoClip(path, yuv_planes=True) as clip:
        frame = clip.frame_at(0.1)
        assert frame.image is None and frame.planes is not None
        planes = frame.planes
        assert planes.y.shape == (48, 64) and planes.u.shape == planes.v.shape == (24, 32)
        assert (planes.matrix, planes.full_range) == ("bt601", False)  # untagged SD
        assert clip.converted_frame_count == 0  # nothing converted on the CPU
    with VideoClip(path) as clip:
        rgb = clip.frame_at(0.1).image.astype(float)
    M, offset = yuv_to_rgb_matrix(planes.matrix, planes.full_range)
    up = [np.repeat(np.repeat(p, 2, 0), 2, 1) for p in (planes.u, planes.v)]
    yuv = np.stack([planes.y, *up], axis=-1) / 255.0
    ours = np.clip((yuv - offset) @ M.T, 0, 1) * 255
    assert np.abs(ours - rgb).mean() < 1.5


def test_streams_that_are_not_planar_yuv_still_come_back_as_rgb(tmp_path: Path) -> None:
    path = tmp_path / "rgb.mov"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("png", rate=10)
        stream.width, stream.height, stream.pix_fmt = 16, 8, "rgb24"
        image = np.zeros((8, 16, 3), np.uint8)
        image[:, 8:] = (255, 0, 0)
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with VideoClip(path, yuv_planes=True) as clip:
        frame = clip.frame_at(0.0)
    assert frame.planes is None
    np.testing.assert_array_equal(frame.image, image)


# --- counters, read-only data and diagnostics -----------------------------------------------


def test_counters_count_each_decode_conversion_and_seek_once(clip_path: Path) -> None:
    with VideoClip(clip_path) as clip:
        assert (clip.decoded_frame_count, clip.converted_frame_count, clip.seek_count) == (1, 0, 0)
        for index in range(5):
            clip.frame_at_index(index)
        assert (clip.decoded_frame_count, clip.converted_frame_count, clip.seek_count) == (5, 5, 0)
        clip.frame_at_index(2)  # backwards: one seek to keyframe 0, frames 0, 1, 2 decoded
        assert (clip.decoded_frame_count, clip.converted_frame_count, clip.seek_count) == (8, 6, 1)


def test_repr_names_the_file_size_rate_and_length(clip: VideoClip, clip_path: Path) -> None:
    assert repr(clip) == f"VideoClip({str(clip_path)!r}, 64x48, 25 fps, 60 frames)"


def test_yuv_planes_are_read_only_and_carry_index_and_time(tmp_path: Path) -> None:
    path = write_index_clip(tmp_path / "planes.mp4", frame_count=5, fps=10, gop=5)
    with VideoClip(path, yuv_planes=True) as clip:
        frame = clip.frame_at(0.3)
    assert (frame.index, frame.pts_s) == (3, pytest.approx(0.3))
    for plane in (frame.planes.y, frame.planes.u, frame.planes.v):
        assert not plane.flags.writeable


def test_a_seek_that_overshoots_is_logged_with_how_far_back_it_retries(
    clip_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with VideoClip(clip_path) as clip:
        clip.frame_at_index(55)
        real_seek = clip._seek
        calls: list[int] = []

        def late_seek(pts: int) -> None:
            calls.append(pts)
            real_seek(pts + clip._frames_to_ticks(5) if len(calls) == 1 else pts)

        monkeypatch.setattr(clip, "_seek", late_seek)
        with caplog.at_level("DEBUG", logger="mapping.media.video"):
            assert read_index(clip.frame_at_index(29).image) == 29
    assert f"{clip_path}: seek for frame 29 overshot; retrying 25 frames earlier" in caplog.text
    assert len(calls) == 2


def test_a_raw_elementary_stream_is_refused_for_its_missing_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "raw.h264"
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(MediaError) as info:
        VideoClip(path)
    assert info.value.path == path
    assert info.value.reason == (
        "video frames carry no timestamps (expected a container such as MP4/MOV/MKV, "
        "not a raw elementary stream)"
    )


def test_a_single_frame_clip_lasts_one_frame(tmp_path: Path) -> None:
    path = write_index_clip(tmp_path / "one.mp4", frame_count=1, fps=4, gop=1)
    with VideoClip(path) as clip:
        assert (clip.frame_count, clip.duration_s) == (1, 0.25)
        assert read_index(clip.frame_at(0.9).image) == 0
        assert clip.index_at(0.3) == 0 and clip.index_at(0.3, loop=False) == 0


def test_index_at_loops_unless_told_not_to(clip: VideoClip) -> None:
    assert clip.index_at(2.44) == 1
    assert clip.index_at(2.44, loop=False) == 59


def test_more_than_a_second_ahead_seeks_even_at_half_a_frame_per_second(tmp_path: Path) -> None:
    path = write_index_clip(tmp_path / "slow.mp4", frame_count=4, fps=0.5, gop=1)
    with VideoClip(path) as clip:
        assert read_index(clip.frame_at_index(1).image) == 1  # 2 s ahead... but the next frame
        assert clip.seek_count == 0
        assert read_index(clip.frame_at_index(3).image) == 3  # two frames, 4 s ahead: seek
        assert clip.seek_count == 1
