"""Media time → frame: at any frame rate, playback never skips or repeats a frame.

The timing maths of ``mapping.media.video`` is pure (``frame_index_at``, ``pts_to_index``,
``index_to_pts``, ``frames_to_ticks``); Hypothesis drives it with any rate, time base and
clip length, and a few real clips at awkward rates are played frame by frame.
Expected values come from exact rational arithmetic (``fractions.Fraction``) written here.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mapping.media.video import (
    VideoClip,
    frame_index_at,
    frames_to_ticks,
    index_to_pts,
    pts_to_index,
)

COMMON_RATES = [
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(50), Fraction(60000, 1001), Fraction(60), Fraction(120), Fraction(15, 2),
]  # fmt: skip
RATES = st.one_of(
    st.sampled_from(COMMON_RATES),
    st.builds(Fraction, st.integers(1, 240_000), st.integers(1, 1001)).filter(
        lambda r: Fraction(1, 2) <= r <= 240
    ),
)
FRAME_COUNTS = st.integers(1, 5000)
TIME_BASES = st.one_of(
    st.sampled_from([Fraction(1, 90000), Fraction(1, 1000), Fraction(1, 12800)]),
    st.builds(Fraction, st.just(1), st.integers(1, 1_000_000)),
    st.builds(lambda r: 1 / r, st.sampled_from(COMMON_RATES)),
)


def exact_index(t: Fraction, rate: Fraction, frame_count: int, loop: bool) -> int:
    """The frame whose interval [i / rate, (i + 1) / rate) contains t, exactly."""
    if loop:
        t %= Fraction(frame_count) / rate
    return min(max(math.floor(t * rate), 0), frame_count - 1)


# --- frame_index_at -------------------------------------------------------------------------


@given(RATES, FRAME_COUNTS, st.data())
def test_every_frame_starts_exactly_at_index_over_rate(rate, frame_count, data):
    """t = i / fps computed in floating point, as a show clock does, gives frame i."""
    fps = float(rate)
    for i in data.draw(st.lists(st.integers(0, frame_count - 1), min_size=1, max_size=50)):
        assert frame_index_at(i / fps, rate, frame_count, loop=False) == i
        assert frame_index_at(i / fps, rate, frame_count, loop=True) == i
        assert frame_index_at(i * (1.0 / fps), rate, frame_count, loop=False) == i


@given(RATES, FRAME_COUNTS, st.floats(-1e4, 1e4), st.booleans())
def test_the_frame_is_the_one_whose_interval_contains_the_time(rate, frame_count, t, loop):
    expected = exact_index(Fraction(t), rate, frame_count, loop)
    got = frame_index_at(t, rate, frame_count, loop)
    if got != expected:
        # only allowed within rounding distance of a frame boundary (1e-6 frame)
        boundary = Fraction(round(Fraction(t) * rate)) / rate
        assert abs(Fraction(t) - boundary) * rate < Fraction(1, 10**5), (got, expected)


@given(RATES, st.integers(2, 2000), RATES, st.integers(0, 10**6))
def test_playing_at_any_output_rate_never_skips_or_repeats(clip_rate, frame_count, out_rate, n0):
    """Show time n / out_rate: frames advance by 0 or 1 when the output is at least as fast
    as the clip (no skip), and by at least 1 when it is no faster (no repeat)."""
    out_fps = float(out_rate)
    steps = min(400, frame_count * 3)
    indices = [
        frame_index_at((n0 + n) / out_fps, clip_rate, frame_count, loop=False) for n in range(steps)
    ]
    deltas = np.diff(indices)
    assert (deltas >= 0).all()
    moving = np.array(indices[1:]) < frame_count - 1  # clamped at the end: holds the last
    if out_rate >= clip_rate:
        assert (deltas <= 1).all()
    if out_rate <= clip_rate:
        assert (deltas[moving] >= 1).all()


@given(RATES, FRAME_COUNTS)
def test_playing_at_the_clip_rate_shows_every_frame_once(rate, frame_count):
    fps = float(rate)
    count = min(frame_count, 1000)
    shown = [frame_index_at(n / fps, rate, frame_count, loop=True) for n in range(count)]
    assert shown == list(range(count))


@given(RATES, st.integers(1, 500), st.integers(-20, 20), st.floats(0.05, 0.95))
def test_looping_wraps_modulo_the_duration(rate, frame_count, laps, within):
    index = math.floor(within * frame_count)
    t = float((index + Fraction(1, 2)) / rate + laps * Fraction(frame_count) / rate)
    assert frame_index_at(t, rate, frame_count, loop=True) == index


@given(RATES, FRAME_COUNTS, st.floats(1e-9, 1e6))
def test_without_loop_times_clamp_to_the_first_and_last_frame(rate, frame_count, beyond):
    end = float(Fraction(frame_count) / rate)
    assert frame_index_at(-beyond, rate, frame_count, loop=False) == 0
    assert frame_index_at(end + beyond, rate, frame_count, loop=False) == frame_count - 1


@pytest.mark.parametrize("t", [math.nan, math.inf, -math.inf])
def test_non_finite_times_are_rejected(t):
    with pytest.raises(ValueError, match="finite"):
        frame_index_at(t, Fraction(25), 10, loop=True)


# --- timestamps -----------------------------------------------------------------------------


@given(RATES, TIME_BASES, st.integers(-(10**6), 10**6), st.integers(0, 10**5))
def test_frame_start_timestamps_round_trip_to_their_index(rate, time_base, first_pts, index):
    ticks_per_frame = 1 / (rate * time_base)
    # Containers tick at the frame rate or at least twice as fast. (A frame lasting between
    # one and two ticks, say 18 fps in a 1001/24000 time base, cannot round-trip: frame 3
    # starts at tick 3.996, floored to 3, which is nearer frame 2.)
    assume(ticks_per_frame.denominator == 1 or ticks_per_frame >= 2)
    pts = index_to_pts(index, first_pts, time_base, rate)
    # the tick at or before the exact start of the frame
    assert pts == first_pts + math.floor(index * ticks_per_frame)
    assert pts_to_index(pts, first_pts, time_base, rate) == index


@given(RATES, TIME_BASES, st.integers(0, 10**6), st.integers(0, 10**5), st.floats(-0.49, 0.49))
def test_a_timestamp_off_its_slot_by_under_half_a_frame_rounds_to_it(
    rate, time_base, first_pts, index, off
):
    ticks_per_frame = 1 / (rate * time_base)
    assume(ticks_per_frame >= 4)
    pts = first_pts + round((index + Fraction(off)) * ticks_per_frame)
    exact = (pts - first_pts) / ticks_per_frame
    assume(abs(exact - index) < Fraction(1, 2))
    assert pts_to_index(pts, first_pts, time_base, rate) == index


@given(RATES, TIME_BASES, st.integers(0, 10**4))
def test_frames_to_ticks_is_the_smallest_whole_tick_count_covering_the_frames(
    rate, time_base, frames
):
    ticks = frames_to_ticks(frames, time_base, rate)
    assert ticks * time_base >= frames / rate
    assert (ticks - 1) * time_base < frames / rate


# --- real clips at awkward rates ----------------------------------------------------------


def write_counting_clip(path: Path, rate: Fraction, frame_count: int) -> Path:
    """FFV1 (lossless) frames whose grey level is 8 × their index, at ``rate``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 16, 8, "gray"
        for i in range(frame_count):
            frame = av.VideoFrame.from_ndarray(np.full((8, 16), 8 * i, np.uint8), format="gray")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    "rate", [Fraction(24000, 1001), Fraction(60000, 1001), Fraction(25, 2), Fraction(48)]
)
def test_a_real_clip_plays_each_frame_once_at_its_rate_and_holds_them_at_60_fps(
    tmp_path: Path, rate: Fraction
) -> None:
    frame_count = 30
    path = write_counting_clip(tmp_path / "count.mkv", rate, frame_count)
    with VideoClip(path) as clip:
        assert clip.frame_count == frame_count
        assert clip.fps == pytest.approx(float(rate))
        at_clip_rate = [clip.frame_at(n / float(rate), loop=False) for n in range(frame_count)]
        assert [f.index for f in at_clip_rate] == list(range(frame_count))
        assert [int(f.image[4, 8, 0]) // 8 for f in at_clip_rate] == list(range(frame_count))
        # at 60 fps the frames change by 0 or 1 each tick and every frame is shown
        ticks = math.ceil(frame_count / rate * 60)
        at_60 = [clip.frame_at(n / 60, loop=False) for n in range(ticks)]
        seen = [int(f.image[4, 8, 0]) // 8 for f in at_60]
        assert set(np.diff(seen)) <= {0, 1} and sorted(set(seen)) == list(range(frame_count))
        assert [f.index for f in at_60] == seen


def write_gappy_clip(path: Path, pts: list[int], rate: int = 10) -> Path:
    """FFV1 frames at the given timestamps (in 1/rate s): a variable-rate clip with gaps.
    Each frame's grey level is 8 × its timestamp."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 16, 8, "gray"
        for t in pts:
            frame = av.VideoFrame.from_ndarray(np.full((8, 16), 8 * t, np.uint8), format="gray")
            frame.pts = t
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_a_gap_in_a_variable_rate_clip_holds_the_previous_frame(tmp_path, caplog):
    """Frames are numbered in presentation order and each is shown at its own timestamp;
    across a gap the previous frame stays up."""
    path = write_gappy_clip(tmp_path / "gaps.mkv", [0, 1, 2, 5, 6, 7])
    with caplog.at_level("DEBUG", logger="mapping.media.video"), VideoClip(path) as clip:
        assert clip.frame_count == 6 and not clip.constant_rate
        assert clip.frame_starts_s == pytest.approx((0.0, 0.1, 0.2, 0.5, 0.6, 0.7))
        assert clip.duration_s == pytest.approx(0.8)  # the last frame lasts 1 / 10 s
        # played forwards at 10 fps: at 0.3 and 0.4 s no frame starts, frame 2 stays up
        shown = [clip.frame_at(n / 10, loop=False) for n in range(8)]
        assert [int(f.image[0, 0, 0]) // 8 for f in shown] == [0, 1, 2, 2, 2, 5, 6, 7]
        assert [f.index for f in shown] == [0, 1, 2, 2, 2, 3, 4, 5]
        assert shown[3] is shown[2]  # the same frame object: nothing decoded again
        # and reached by seeking, backwards
        for t, grey in ((0.45, 2), (0.35, 2), (0.75, 7), (0.0, 0), (0.55, 5)):
            assert int(clip.frame_at(t).image[0, 0, 0]) // 8 == grey
    assert f"{path}: opened 16x8, 10.000 fps, 6 frames" in caplog.text


def test_the_first_frames_timestamp_is_the_clips_time_zero(tmp_path):
    path = write_gappy_clip(tmp_path / "late.mkv", [3, 4, 5, 6])
    with VideoClip(path) as clip:
        frame = clip.frame_at(0.0)
        assert (frame.index, frame.pts_s, int(frame.image[0, 0, 0])) == (0, 0.0, 24)
        frame = clip.frame_at(0.25)
        assert (frame.index, frame.pts_s, int(frame.image[0, 0, 0])) == (2, 0.2, 40)
