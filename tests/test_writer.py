"""Specification of VideoWriter: RGB frames in, an H.264 MP4 that plays back frame for frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from mapping.media.video import VideoClip
from mapping.media.writer import VideoWriter


def flat_frame(size_px: tuple[int, int], rgb: tuple[int, int, int]) -> np.ndarray:
    width_px, height_px = size_px
    frame = np.empty((height_px, width_px, 3), dtype=np.uint8)
    frame[:, :] = rgb
    return frame


def test_round_trip_keeps_size_frame_count_fps_and_content(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)] * 3
    with VideoWriter(path, (64, 48), 24, preset="ultrafast") as writer:
        for rgb in colours:
            writer.write(flat_frame((64, 48), rgb))
        assert writer.frames_written == len(colours)
    with VideoClip(path) as clip:
        assert clip.size_px == (64, 48)
        assert clip.frame_count == len(colours)
        assert clip.fps == pytest.approx(24.0)
        assert clip.duration_s == pytest.approx(len(colours) / 24)
        for index, rgb in enumerate(colours):
            pixel = clip.frame_at_index(index).image[24, 32].astype(int)
            np.testing.assert_allclose(pixel, rgb, atol=6)  # RGB order survives


def test_file_is_h264_yuv420p_with_frame_n_at_n_over_fps(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with VideoWriter(path, (32, 32), 25, preset="ultrafast") as writer:
        for _ in range(5):
            writer.write(flat_frame((32, 32), (128, 128, 128)))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        times_s = sorted(float(frame.pts * stream.time_base) for frame in container.decode(stream))
    assert times_s == pytest.approx([n / 25 for n in range(5)])


def test_gop_puts_a_keyframe_every_gop_frames(tmp_path: Path) -> None:
    path = tmp_path / "gop.mp4"
    with VideoWriter(path, (32, 32), 25, gop=5, preset="ultrafast") as writer:
        for n in range(20):
            writer.write(flat_frame((32, 32), (n * 10, 0, 0)))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keyframe_indices = sorted(
            round(packet.pts * stream.time_base * 25)
            for packet in container.demux(stream)
            if packet.pts is not None and packet.is_keyframe
        )
    assert keyframe_indices == [0, 5, 10, 15]


def test_rgba_frames_are_accepted_and_alpha_dropped(tmp_path: Path) -> None:
    path = tmp_path / "rgba.mp4"
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)
    rgba[..., 1] = 200  # green, alpha 0: alpha must not matter
    with VideoWriter(path, (16, 16), 10, preset="ultrafast") as writer:
        writer.write(rgba)
    with VideoClip(path) as clip:
        np.testing.assert_allclose(clip.frame_at(0).image[8, 8].astype(int), (0, 200, 0), atol=6)


def test_odd_size_is_padded_to_even_with_black(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, (33, 21), 10, preset="ultrafast") as writer:
        assert writer.size_px == (33, 21)
        assert writer.encoded_size_px == (34, 22)
        writer.write(flat_frame((33, 21), (255, 255, 255)))
    with VideoClip(path) as clip:
        assert clip.size_px == (34, 22)
        image = clip.frame_at(0).image
        assert image[10, 16].min() > 240  # content
        assert image[:, 33].max() < 60  # padded right column is black (4:2:0 bleeds a bit)
        assert image[21, :].max() < 60  # padded bottom row


@pytest.mark.parametrize(
    "bad_frame",
    [
        np.zeros((48, 64, 3), dtype=np.uint8),  # height/width swapped
        np.zeros((64, 48), dtype=np.uint8),  # no channel axis
        np.zeros((64, 48, 2), dtype=np.uint8),  # two channels
    ],
)
def test_wrong_frame_shape_raises_value_error(tmp_path: Path, bad_frame: np.ndarray) -> None:
    with VideoWriter(tmp_path / "bad.mp4", (48, 64), 25) as writer:
        with pytest.raises(ValueError, match=r"expected a frame shaped \(64, 48"):
            writer.write(bad_frame)


def test_non_uint8_frame_raises_value_error(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "bad.mp4", (8, 8), 25) as writer:
        with pytest.raises(ValueError, match="uint8"):
            writer.write(np.zeros((8, 8, 3), dtype=np.float32))


def test_invalid_parameters_raise_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "a.mp4", (0, 8), 25)
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "b.mp4", (8, 8), 0)
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "c.mp4", (8, 8), 25, gop=0)


def test_close_is_idempotent_and_writing_after_close_fails(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "c.mp4", (8, 8), 25, preset="ultrafast")
    writer.write(flat_frame((8, 8), (0, 0, 0)))
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(flat_frame((8, 8), (0, 0, 0)))
