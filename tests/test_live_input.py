"""LiveInput: newest frame only, capture times, a missing device retried, an unplugged one
recovered. Real FFmpeg inputs (lavfi virtual devices, raw video from a named pipe), no mocks."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from mapping.media import live_input
from mapping.media.live_input import (
    ABSOLUTE_WINDOW_S,
    CaptureClock,
    LiveInput,
    LiveState,
)
from tests.livekit import FifoCamera, read_stamp, stamp_image

FAST_RETRY = {"retry_min_s": 0.05, "retry_max_s": 0.2}


def ffmpeg_rgb_frame(graph: str, size_px: tuple[int, int]) -> np.ndarray:
    """The first frame of a lavfi ``graph`` as RGB, converted by the ffmpeg CLI."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", graph, "-frames:v", "1",
         "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
        check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    w, h = size_px
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def closing() -> Iterator[list[LiveInput]]:
    inputs: list[LiveInput] = []
    yield inputs
    for live in inputs:
        live.close()


# --------------------------------------------------------------------- the capture clock (pure)


def test_clock_stream_timestamps_anchor_at_the_earliest_arrival() -> None:
    clock = CaptureClock()
    wall = 1.7e9
    # pts 0 arrives at 100.010, pts 1/30 at 100.040 (earlier relative to its pts: 100.0067).
    assert clock.capture_time(0.0, 100.010, wall) == pytest.approx(100.010)
    assert clock.capture_time(1 / 30, 100.040, wall) == pytest.approx(100.040)
    assert clock.kind == "stream"
    # A frame that arrives 50 ms late shows 50 ms more than the anchor (100.040 - 1/30).
    anchor = 100.040 - 1 / 30
    assert clock.capture_time(2 / 30, 100.140, wall) == pytest.approx(anchor + 2 / 30)
    # Timestamps restart (a reconnected stream): anchored again.
    assert clock.capture_time(0.0, 200.0, wall) == pytest.approx(200.0)


def test_clock_monotonic_timestamps_are_device_capture_times() -> None:
    clock = CaptureClock()
    # V4L2: the kernel stamped the frame at monotonic 499.970 s; it arrived at 500.000.
    assert clock.capture_time(499.970, 500.0, 1.7e9) == pytest.approx(499.970)
    assert clock.kind == "device"
    assert clock.capture_time(500.010, 500.0, 1.7e9) == 500.0  # never after the arrival


def test_clock_wall_clock_timestamps_are_device_capture_times() -> None:
    clock = CaptureClock()
    # The kernel stamped the frame 30 ms before the wall clock read 1.7e9 s (now).
    assert clock.capture_time(1.7e9 - 0.030, 500.0, 1.7e9) == pytest.approx(500.0 - 0.030)
    assert clock.kind == "device"
    # Just outside the window: a stream timestamp, anchored at its arrival.
    assert clock.capture_time(1.7e9 - ABSOLUTE_WINDOW_S - 1, 600.0, 1.7e9) == 600.0
    assert clock.kind == "stream"


def test_clock_never_after_arrival_and_no_timestamp_is_arrival() -> None:
    clock = CaptureClock()
    assert clock.capture_time(None, 7.0, 1.7e9) == 7.0
    assert clock.kind == "arrival"
    assert clock.capture_time(math.nan, 8.0, 1.7e9) == 8.0
    # A device timestamp "in the future" (clock skew) is clamped to the arrival.
    assert clock.capture_time(1.7e9 + 2.0, 9.0, 1.7e9) == 9.0


def test_stamp_round_trip() -> None:
    for value in (0, 1, 123_456_789_012, 2**48 - 1):
        assert read_stamp(stamp_image(value)) == value
    big = np.kron(stamp_image(987_654_321, (80, 60)), np.ones((3, 3, 1), dtype=np.uint8))
    assert read_stamp(big, scale=3.0) == 987_654_321  # enlarged 3x: still read


# --------------------------------------------------------------------- lavfi virtual devices


def test_lavfi_colour_source_as_rgb(closing: list[LiveInput]) -> None:
    live = LiveInput("color=c=0x3366cc:size=64x48:rate=30", format="lavfi", yuv_planes=False)
    closing.append(live)
    frame = live.wait_frame(timeout_s=5.0)
    assert frame is not None, live.stats()
    assert live.state is LiveState.LIVE
    image = frame.frame.image
    assert image is not None and image.shape == (48, 64, 3)
    # The reference is the ffmpeg CLI's own conversion of the same source (the source is
    # YUV 4:2:0 inside, so 0x3366cc itself comes back a few levels off: 49, 100, 201).
    reference = ffmpeg_rgb_frame("color=c=0x3366cc:size=64x48:rate=30", (64, 48))
    np.testing.assert_allclose(image, reference, atol=1)
    np.testing.assert_allclose(image.reshape(-1, 3).mean(axis=0), (0x33, 0x66, 0xCC), atol=4)
    assert frame.captured_s <= frame.received_s <= time.monotonic()


def test_lavfi_test_source_as_yuv_planes_paced_at_its_rate(closing: list[LiveInput]) -> None:
    live = LiveInput("testsrc2=size=320x240:rate=30", format="lavfi")
    closing.append(live)
    first = live.wait_frame(timeout_s=5.0)
    assert first is not None, live.stats()
    planes = first.frame.planes
    assert planes is not None and first.frame.image is None
    assert planes.y.shape == (240, 320) and planes.u.shape == (120, 160)
    assert planes.matrix == "bt601" and not planes.full_range  # untagged SD
    # Paced like a camera (",realtime" added): about 30 frames a second, not thousands.
    start_frames, start = live.stats().frames, time.monotonic()
    time.sleep(0.5)
    rate = (live.stats().frames - start_frames) / (time.monotonic() - start)
    assert 10 <= rate <= 45, rate  # (a loaded machine delivers late, never thousands)
    stats = live.stats()
    assert (stats.size_px, stats.fps, stats.clock) == ((320, 240), 30.0, "stream")
    assert stats.connects == 1 and stats.reconnects == 0 and stats.failures == 0


def test_latency_is_recorded_once_per_frame_drawn(closing: list[LiveInput]) -> None:
    live = LiveInput("testsrc2=size=64x48:rate=30", format="lavfi")
    closing.append(live)
    frame = live.wait_frame(timeout_s=5.0)
    assert frame is not None
    shown = frame.captured_s + 0.025
    assert live.note_shown(frame, shown) == pytest.approx(0.025)
    assert live.note_shown(frame, shown + 1.0) is None  # drawn again: not counted again
    stats = live.latency_s
    assert stats.count == 1 and stats.p50_s == pytest.approx(0.025)


# --------------------------------------------------------------------- missing and unplugged


def test_missing_device_is_retried_and_logged_once(
    closing: list[LiveInput], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = str(tmp_path / "video9")
    with caplog.at_level(logging.INFO, logger="mapping.media.live_input"):
        live = LiveInput(device, format="v4l2", **FAST_RETRY)
        closing.append(live)
        assert wait_for(lambda: live.stats().failures >= 4)
        assert live.state is LiveState.MISSING
        assert "No such file" in live.reason
        assert live.latest() is None
        started = time.monotonic()
        live.close()
        assert time.monotonic() - started < 1.0
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 1, messages  # four failed opens, one line
    assert device in messages[0] and "No such file" in messages[0]
    assert not any(r.exc_info for r in caplog.records)
    assert live.state is LiveState.CLOSED


def test_unplugged_device_shows_nothing_then_recovers(
    closing: list[LiveInput], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "camera.fifo"
    camera = FifoCamera(path).start()
    caplog.set_level(logging.INFO, logger="mapping.media.live_input")
    live = LiveInput(
        str(path), format="rawvideo", options=camera.options, yuv_planes=False, **FAST_RETRY
    )
    closing.append(live)
    try:
        frame = live.wait_frame(timeout_s=5.0)
        assert frame is not None, live.stats()
        assert frame.frame.image is not None and frame.frame.image.shape == (48, 64, 3)

        # Newest only: after a pause the frame handed over is the one just written, not the
        # oldest one waiting, and the ones in between count as drops.
        time.sleep(1.0)
        frame = live.latest()
        assert frame is not None
        written_s = read_stamp(frame.frame.image) / 1e6
        assert time.monotonic() - written_s < 0.5  # the oldest waiting would be 1 s old
        assert live.stats().drops >= 5
        # The capture time agrees with the time written in the picture.
        assert abs(frame.captured_s - written_s) < 0.1

        camera.unplug()
        assert wait_for(lambda: live.state is LiveState.MISSING, 3.0), live.stats()
        assert live.latest() is None
        assert wait_for(lambda: live.stats().failures >= 3, 3.0)  # retried meanwhile
        last_index = frame.frame.index

        camera = FifoCamera(path).start()  # plugged in again
        again = live.wait_frame(after_index=last_index, timeout_s=5.0)
        assert again is not None, live.stats()
        assert live.state is LiveState.LIVE
        assert again.frame.index > last_index  # numbering continues across reconnects
        stats = live.stats()
        assert stats.connects == 2 and stats.reconnects == 1
    finally:
        live.close()
        camera.unplug()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # Lost (the stream ended), then the pipe missing on each retry: one line per reason.
    assert 1 <= len(warnings) <= 2, warnings
    assert all(str(path) in w for w in warnings)
    lives = [r.getMessage() for r in caplog.records if "live," in r.getMessage()]
    assert len(lives) == 2  # live, and live again
    assert not any(r.exc_info for r in caplog.records)


def test_a_device_that_stops_sending_counts_as_missing_until_frames_come_again(
    closing: list[LiveInput], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "capture.fifo"
    camera = FifoCamera(path).start()
    caplog.set_level(logging.INFO, logger="mapping.media.live_input")
    live = LiveInput(
        str(path), format="rawvideo", options=camera.options, yuv_planes=False, stall_s=0.6
    )
    closing.append(live)
    try:
        assert live.wait_frame(timeout_s=5.0) is not None, live.stats()
        camera.paused.set()  # the source is switched off; the device stays open
        assert wait_for(lambda: live.latest() is None, 3.0)
        assert live.state is LiveState.MISSING and "no frame for 0.6 s" in live.reason
        assert live.stats().stalls == 1 and live.stats().connects == 1
        last = live.stats().frames
        camera.paused.clear()  # signal again: the same open device, no reconnect
        again = live.wait_frame(after_index=last - 1, timeout_s=3.0)
        assert again is not None and live.state is LiveState.LIVE
        assert live.stats().connects == 1 and live.stats().stalls == 1
    finally:
        live.close()
        camera.unplug()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no signal" in warnings[0], warnings


def test_a_corrupt_frame_is_skipped_and_the_device_stays_open(
    closing: list[LiveInput], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mjpeg.fifo"
    os.mkfifo(path)
    jpegs = [
        cv2.imencode(".jpg", np.full((48, 64, 3), 20 * (i % 10), np.uint8))[1].tobytes()
        for i in range(60)
    ]
    jpegs[10] = jpegs[10][:20] + b"\x00garbage" * 50 + b"\xff\xd9"  # one broken frame
    stop = threading.Event()

    def camera() -> None:  # an MJPEG capture device: 30 JPEGs a second, one of them broken
        with contextlib.suppress(OSError), open(path, "wb", buffering=0) as pipe:
            for jpeg in jpegs:
                if stop.is_set():
                    return
                pipe.write(jpeg)
                time.sleep(1 / 30)
            stop.wait()

    writer = threading.Thread(target=camera, daemon=True)
    writer.start()
    caplog.set_level(logging.INFO, logger="mapping.media.live_input")
    live = LiveInput(str(path), format="mjpeg", options={"framerate": "30"}, **FAST_RETRY)
    closing.append(live)
    try:
        assert wait_for(lambda: live.stats().frames >= 40, 5.0), live.stats()
        stats = live.stats()
        assert stats.corrupt == 1 and stats.connects == 1 and stats.failures == 0
        assert live.state is LiveState.LIVE
    finally:
        stop.set()
        live.close()
        with contextlib.suppress(OSError):  # release a writer still waiting for a reader
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(2.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "could not be decoded" in warnings[0], warnings
    assert str(path) in warnings[0]


def test_an_error_while_capturing_reconnects_instead_of_freezing(
    closing: list[LiveInput], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}
    convert = live_input.to_video_frame

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise MemoryError("simulated: no memory for this frame")
        return convert(*args, **kwargs)

    monkeypatch.setattr(live_input, "to_video_frame", flaky)
    caplog.set_level(logging.INFO, logger="mapping.media.live_input")
    live = LiveInput("testsrc2=size=64x48:rate=30", format="lavfi", **FAST_RETRY)
    closing.append(live)
    assert wait_for(lambda: live.stats().frames >= 10, 5.0), live.stats()
    stats = live.stats()
    assert stats.connects == 2 and stats.state is LiveState.LIVE
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "simulated: no memory" in warnings[0]
    assert not any(r.exc_info for r in caplog.records)


def test_shared_inputs_open_a_device_once_and_close_it_with_its_last_user() -> None:
    shared = live_input.SharedInputs()
    a = shared.acquire("testsrc2=size=32x24:rate=30", "lavfi")
    b = shared.acquire("testsrc2=size=32x24:rate=30", "lavfi")
    c = shared.acquire("testsrc2=size=32x24:rate=30", "lavfi", {"x": "1"})  # other options
    assert a is b and a is not c and len(shared) == 2
    assert {st.device for st in shared.stats()} == {"testsrc2=size=32x24:rate=30"}
    shared.release(a)
    assert a.state is not LiveState.CLOSED and len(shared) == 2
    shared.release(b)
    shared.release(c)
    assert a.state is LiveState.CLOSED and c.state is LiveState.CLOSED and len(shared) == 0
