"""DecodeAhead: a worker thread per clip, a bounded ring, a live caller that never waits.

Real clips (H.264, frame numbers burnt into the picture) decoded by the real ``VideoClip``.
Two clip wrappers stand in for trouble that a real file cannot be made to produce on cue:
a slow one (every seek costs up to 1.2 s, as on a busy disk) and a flaky one (raises once while
decoding, as a decoder bug would). Everything else they pass to the real clip.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from mapping.media.decode_ahead import DecodeAhead
from mapping.media.errors import MediaError
from mapping.media.video import VideoClip
from mapping.media.writer import VideoWriter
from tests.madeonce import made_once
from tests.videokit import HEIGHT_PX, WIDTH_PX, number_image, read_number

FPS = 25
FRAMES = 50  # 2 s


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_once(tmp_path_factory, "test_decode_ahead.clip_path", _make_clip_path)


def _make_clip_path(folder: Path) -> Path:
    path = folder / "count.mp4"
    with VideoWriter(path, (WIDTH_PX, HEIGHT_PX), FPS, gop=10, preset="ultrafast") as writer:
        for number in range(FRAMES):
            writer.write(number_image(number))
    return path


class SlowSeekClip:
    """A real clip whose jumps (anything but the next frame) take ``delay_s`` more."""

    def __init__(self, path: Path, delay_s: float) -> None:
        self.clip = VideoClip(path)
        self.delay_s = delay_s
        self.last = 0
        self.threads: set[str] = set()

    def index_at(self, media_time_s: float, loop: bool = True) -> int:
        return self.clip.index_at(media_time_s, loop)

    def frame_at_index(self, index: int):
        self.threads.add(threading.current_thread().name)
        if index not in (self.last, self.last + 1):
            time.sleep(self.delay_s)
        self.last = index
        return self.clip.frame_at_index(index)

    def close(self) -> None:
        self.clip.close()


class FlakyClip(SlowSeekClip):
    """A real clip that raises once, the first time frame ``bad`` is asked of any copy."""

    failed: ClassVar[list[int]] = []

    def __init__(self, path: Path, bad: int) -> None:
        super().__init__(path, 0.0)
        self.bad = bad

    def frame_at_index(self, index: int):
        if index == self.bad and not FlakyClip.failed:
            FlakyClip.failed.append(index)
            raise RuntimeError("decoder exploded")
        return super().frame_at_index(index)


def number_of(frame) -> int:
    return read_number(frame.image)


def test_waiting_gives_exactly_the_frame_due_forwards_backwards_and_across_the_loop(clip_path):
    ahead = DecodeAhead(lambda: VideoClip(clip_path), name=str(clip_path), ring_size=4)
    try:
        times = [n / FPS for n in range(45, 60)] + [0.5, 0.3, 1.96, 0.0, 3.0, 10.02]
        got = [number_of(ahead.frame_for(t, loop=True, wait=True)) for t in times]
        want = [n % FRAMES for n in range(45, 60)] + [12, 7, 49, 0, 25, 0]
        assert got == want
        # play once: past the end the last frame holds
        assert number_of(ahead.frame_for(5.0, loop=False, wait=True)) == FRAMES - 1
    finally:
        ahead.close()


def test_the_ring_stays_bounded_and_the_worker_stops_when_it_is_full(clip_path):
    ahead = DecodeAhead(lambda: VideoClip(clip_path), name=str(clip_path), ring_size=3)
    try:
        ahead.prepare(0.0, loop=True)
        deadline = time.monotonic() + 5
        while ahead.ring_frames < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # a runaway worker would decode on
        assert ahead.ring_frames == 3
        assert ahead.decoded == 4  # the frame shown and three ahead, nothing more
        # the caller takes frames 1, 2: the worker tops the ring up, one for one
        for n in (1, 2):
            assert number_of(ahead.frame_for(n / FPS, loop=True, wait=False)) == n
        deadline = time.monotonic() + 5
        while ahead.decoded < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        assert (ahead.decoded, ahead.ring_frames, ahead.late_frames) == (6, 3, 0)
    finally:
        ahead.close()


def test_a_live_seek_never_blocks_and_shows_the_last_frame_until_the_new_one_is_ready(
    clip_path,
):
    slow = SlowSeekClip(clip_path, delay_s=1.2)
    ahead = DecodeAhead(lambda: slow, name=str(clip_path), ring_size=4)
    try:
        assert number_of(ahead.prepare(0.4, loop=True)) == 10
        started = time.perf_counter()
        frame = ahead.frame_for(1.6, loop=True, wait=False)  # frame 40: a seek, 1.2 s
        elapsed = time.perf_counter() - started
        assert elapsed < 0.6, elapsed  # a lookup; the seek itself takes 1.2 s
        assert number_of(frame) == 10 and ahead.late_frames == 1
        # the worker delivers; the caller then gets the new frame, still without waiting
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            frame = ahead.frame_for(1.6, loop=True, wait=False)
            if number_of(frame) == 40:
                break
            time.sleep(0.02)
        assert number_of(frame) == 40
        assert slow.threads == {f"decode {clip_path}"}  # only the worker touched the clip
    finally:
        ahead.close()


def test_a_worker_behind_shows_the_newest_earlier_frame_and_counts_it_late(clip_path):
    slow = SlowSeekClip(clip_path, delay_s=0.0)
    ahead = DecodeAhead(lambda: slow, name=str(clip_path), ring_size=2)
    try:
        ahead.prepare(0.0, loop=True)
        deadline = time.monotonic() + 5
        while ahead.ring_frames < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        # the ring holds 1 and 2; show time is already at frame 5
        frame = ahead.frame_for(5 / FPS, loop=True, wait=False)
        assert number_of(frame) == 2 and ahead.late_frames == 1
        assert number_of(ahead.frame_for(5 / FPS, loop=True, wait=True)) == 5
    finally:
        ahead.close()


def test_a_worker_that_dies_is_logged_with_the_file_and_restarted(clip_path, caplog):
    FlakyClip.failed.clear()
    ahead = DecodeAhead(
        lambda: FlakyClip(clip_path, bad=5), name=str(clip_path), restart_backoff_s=0.01
    )
    try:
        with caplog.at_level(logging.ERROR, logger="mapping.media.decode_ahead"):
            got = [number_of(ahead.frame_for(n / FPS, True, wait=True)) for n in range(12)]
        assert got == list(range(12))
        assert ahead.restarts == 1 and ahead.error is None
        assert ahead.last_error == f"{clip_path}: RuntimeError('decoder exploded')"
        assert f"decoder for {clip_path} failed" in caplog.text and "restarting" in caplog.text
    finally:
        ahead.close()


def test_a_file_that_cannot_be_opened_is_retried_with_backoff_and_shows_nothing(tmp_path):
    missing = tmp_path / "gone.mp4"
    ahead = DecodeAhead(
        lambda: VideoClip(missing), name=str(missing), restart_backoff_s=0.01, max_backoff_s=0.05
    )
    try:
        time.sleep(0.3)
        assert ahead.frame_for(0.0, loop=True, wait=False) is None  # a placeholder's turn
        assert ahead.restarts >= 3  # retried, not given up
        assert ahead.error is not None and str(missing) in ahead.error
        assert "file not found" in ahead.error
    finally:
        ahead.close()


def test_close_stops_the_thread_and_closes_the_clip(clip_path):
    clips: list[VideoClip] = []

    def factory() -> VideoClip:
        clips.append(VideoClip(clip_path))
        return clips[-1]

    ahead = DecodeAhead(factory, name=str(clip_path))
    ahead.prepare(0.0)
    ahead.close()
    ahead.close()
    assert not ahead._thread.is_alive()
    with pytest.raises(ValueError, match="closed"):
        clips[0].frame_at_index(0)


def test_any_clip_with_the_protocol_is_decoded_ahead_a_hap_clip_too(tmp_path):
    """The worker knows only ``index_at`` / ``frame_at_index`` / ``close``: HAP clips
    (compressed frames, no CPU picture decoding) go through it unchanged."""
    from mapping.media.hap import HapClip
    from tests.hapkit import encode_hap

    path = encode_hap(tmp_path / "clip.mov", "hap", frames=8, fps=25)
    with HapClip(path) as direct:
        expected = [direct.frame_at_index(i) for i in range(8)]
    ahead = DecodeAhead(lambda: HapClip(path), name=str(path), ring_size=3)
    try:
        for n in (0, 1, 2, 7, 3, 9):
            frame = ahead.frame_for(n / 25, loop=True, wait=True)
            want = expected[n % 8]
            assert frame.index == want.index == n % 8
            assert [t.data for t in frame.textures] == [t.data for t in want.textures]
    finally:
        ahead.close()


def test_offline_a_file_that_breaks_for_good_costs_one_timeout_then_holds(clip_path, tmp_path):
    """The clip dies at frame 5 and the file is gone when the worker reopens it: the first
    wait for frame 5 times out with the reason; later waits hold frame 4 at once."""
    gone = tmp_path / "gone.mp4"
    FlakyClip.failed.clear()
    ahead = DecodeAhead(
        lambda: VideoClip(gone),
        name=str(clip_path),
        clip=FlakyClip(clip_path, bad=5),
        restart_backoff_s=0.01,
        max_backoff_s=0.05,
    )
    try:
        assert number_of(ahead.frame_for(4 / FPS, True, wait=True)) == 4
        with pytest.raises(MediaError) as info:
            ahead.frame_for(5 / FPS, True, wait=True, timeout_s=0.3)
        assert "did not deliver frame 5 within 0.3 s" in info.value.reason
        assert "file not found" in info.value.reason
        started = time.perf_counter()
        assert number_of(ahead.frame_for(6 / FPS, True, wait=True)) == 4
        assert time.perf_counter() - started < 0.1
    finally:
        ahead.close()
