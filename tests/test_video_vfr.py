"""Variable frame rate: every frame is shown at its own timestamp, for ever.

The rule (``mapping.media.video``): the frame shown at media time ``t`` is the latest
whose presentation timestamp is at or before ``t`` (a timestamp is known to half a tick of
its time base). Clips here are written with PyAV at chosen millisecond timestamps, each
frame's number burnt into its picture (``tests.videokit``), and the expected frame is
computed from those timestamps with exact fractions, never by the code under test.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from fractions import Fraction
from pathlib import Path

import av
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mapping.media.decode_ahead import DecodeAhead
from mapping.media.video import VideoClip, frame_index_at, index_at_time, is_constant_rate
from tests.videokit import read_number, write_offset_clip, write_timed_clip

# The clip: frames at 0, 40, 80 and 300 ms, then a few more, irregular.
PTS_MS = [0, 40, 80, 300, 340, 420, 433, 500, 640, 700]
LAST_MS = 60
PERIOD_MS = PTS_MS[-1] + LAST_MS  # 760 ms: the loop length
HALF_TICK = Fraction(1, 2000)  # Matroska and these MP4s tick in milliseconds


def expected_number(t: Fraction, pts_ms=PTS_MS, period_ms=PERIOD_MS, loop=True) -> int:
    """The frame whose timestamp is the latest at or before t (exact), from the list.
    Looped, the next lap's first frame starts at the period: within half a tick before it,
    that frame is the one due."""
    period = Fraction(period_ms, 1000)
    t = t % period if loop else min(max(t, Fraction(0)), period)
    if loop and t + HALF_TICK >= period:
        t = Fraction(0)
    starts = [Fraction(p, 1000) for p in pts_ms]
    return max(bisect.bisect_right(starts, t + HALF_TICK) - 1, 0)


@pytest.fixture(scope="module", params=["ffv1", "libx264"])
def vfr_clip(request, tmp_path_factory) -> Path:
    ext = {"ffv1": "mkv", "libx264": "mp4"}[request.param]
    path = tmp_path_factory.mktemp("vfr") / f"vfr.{ext}"
    return write_timed_clip(path, PTS_MS, LAST_MS, codec=request.param)


def test_the_clip_lists_every_frame_at_its_own_time(vfr_clip):
    with VideoClip(vfr_clip) as clip:
        assert clip.frame_count == len(PTS_MS) and not clip.constant_rate
        assert clip.frame_starts_s == pytest.approx([p / 1000 for p in PTS_MS], abs=1e-9)
        assert clip.duration_s == pytest.approx(PERIOD_MS / 1000, abs=1e-9)


def test_frames_at_40_and_80_ms_are_shown(vfr_clip):
    """The issue's case: slots at the average rate never showed the frames at 40 and 80."""
    with VideoClip(vfr_clip) as clip:
        for ms, number in ((0, 0), (39, 0), (40, 1), (79, 1), (80, 2), (299, 2), (300, 3)):
            frame = clip.frame_at(ms / 1000)
            assert (frame.index, read_number(frame.image)) == (number, number), ms
        # played at 60 fps: every frame due at an output frame is on screen; only frame 5
        # (420 ms, lasting 13 ms, between the ticks at 416.7 and 433.3 ms) never is
        seen = {read_number(clip.frame_at(n / 60, loop=False).image) for n in range(46)}
        assert seen == {expected_number(Fraction(n, 60)) for n in range(46)}
        assert seen == set(range(len(PTS_MS))) - {5}


def test_a_timestamp_rounded_up_to_the_tick_still_shows_its_frame_on_its_tick(tmp_path):
    """A 60 fps recording in Matroska (milliseconds: frame 1 stored at 17 ms, not 16.67)
    with frame 10 dropped, so it is not constant-rate: played at 60 fps each frame appears
    on its own output tick, because a timestamp counts from half a tick (0.5 ms) before it;
    where frame 10 is missing, frame 9 stays up."""
    slots = [n for n in range(30) if n != 10]
    path = write_timed_clip(
        tmp_path / "phone.mkv", [round(n * 1000 / 60) for n in slots], 17, numbers=slots
    )
    with VideoClip(path) as clip:
        assert not clip.constant_rate
        shown = [read_number(clip.frame_at(n / 60, loop=False).image) for n in range(30)]
    assert shown == [n if n != 10 else 9 for n in range(30)]
    # and never before that half tick: 0.6 ms early is still the previous frame
    with VideoClip(path) as clip:
        assert read_number(clip.frame_at(0.0170 - 0.0006).image) == 0
        assert read_number(clip.frame_at(0.0170 - 0.0004).image) == 1


def test_every_millisecond_of_a_lap_shows_the_frame_due(vfr_clip):
    with VideoClip(vfr_clip) as clip:
        for ms in range(0, PERIOD_MS + 50, 3):
            t = Fraction(ms, 1000)
            frame = clip.frame_at(ms / 1000)
            assert read_number(frame.image) == frame.index == expected_number(t), ms


@pytest.mark.parametrize("via", ["clip", "decode-ahead"])
def test_after_ten_minutes_of_looping_the_frame_is_still_exact(vfr_clip, via):
    """60 fps output frames 36 000 … 36 119 (t = 600 … 602 s): 789 laps of a 760 ms clip,
    then each output frame's picture is the frame due by exact arithmetic."""
    first_n, count = 36_000, 120
    expected = [expected_number(Fraction(n, 60)) for n in range(first_n, first_n + count)]
    with VideoClip(vfr_clip) as clip:
        if via == "clip":
            shown = [clip.frame_at(n / 60) for n in range(first_n, first_n + count)]
            got = [read_number(f.image) for f in shown]
        else:
            ahead = DecodeAhead(lambda: VideoClip(vfr_clip), name=str(vfr_clip), ring_size=4)
            try:
                got = [
                    read_number(ahead.frame_for(n / 60, loop=True, wait=True).image)
                    for n in range(first_n, first_n + count)
                ]
            finally:
                ahead.close()
    assert got == expected
    assert len(set(expected)) == len(PTS_MS)  # the window shows every frame (5 in some laps)
    assert expected[24] == 0  # t = 600.4 s is exactly the start of lap 790


def test_in_and_out_points_cut_a_window_that_loops_and_holds(vfr_clip):
    """In at 50 ms, out at 350 ms: media time 0 shows the frame up at 50 ms (frame 1,
    from 40 ms); the frame at 340 ms is the last; looping wraps after 300 ms."""
    with VideoClip(vfr_clip, in_s=0.05, out_s=0.35) as clip:
        assert clip.duration_s == pytest.approx(0.3)
        assert clip.window_s == (0.05, 0.35)
        for t, loop, number in (
            (0.0, True, 1),
            (0.029, True, 1),
            (0.03, True, 2),  # 80 ms
            (0.25, True, 3),  # 300 ms
            (0.29, True, 4),  # 340 ms, the last before the out point
            (0.30, True, 1),  # wrapped to the in point
            (0.33, True, 2),
            (-0.01, True, 4),
            (5.0, False, 4),  # played once: holds the last frame
            (-1.0, False, 1),
        ):
            frame = clip.frame_at(t, loop=loop)
            assert (frame.index, read_number(frame.image)) == (number, number), (t, loop)
    # an out point exactly on a frame's timestamp leaves that frame out
    with VideoClip(vfr_clip, out_s=0.3) as clip:
        assert clip.index_at(10.0, loop=False) == 2


@pytest.mark.parametrize(("in_s", "out_s"), [(0.8, None), (0.2, 0.2), (-0.1, 0.5)])
def test_in_and_out_points_that_leave_no_frame_are_refused(vfr_clip, in_s, out_s):
    from mapping.media.errors import MediaError

    with pytest.raises(MediaError) as info:
        VideoClip(vfr_clip, in_s=in_s, out_s=out_s)
    assert info.value.path == vfr_clip and "leave no frame" in info.value.reason


# --- the lookup maths, for any table of timestamps --------------------------------------------

TABLES = st.lists(st.integers(1, 500), min_size=1, max_size=40).map(
    lambda gaps: [sum(gaps[:i]) for i in range(len(gaps))]  # increasing ms, from 0
)


@given(TABLES, st.integers(1, 500), st.integers(-100_000, 100_000), st.booleans())
@example(pts_ms=[0, 1], last_ms=1, t_ms4=-1, loop=True)  # 0.25 ms before the loop point
def test_index_at_time_is_the_latest_frame_at_or_before_the_time(pts_ms, last_ms, t_ms4, loop):
    """Times on a quarter-millisecond grid, looped or clamped, against exact fractions."""
    period_ms = pts_ms[-1] + last_ms
    starts = [p / 1000 for p in pts_ms]
    t = Fraction(t_ms4, 4000)
    got = index_at_time(float(t), starts, (0.0, period_ms / 1000), loop, tolerance_s=0.0005)
    assert got == expected_number(t, pts_ms, period_ms, loop)


@given(
    st.sampled_from([Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001), Fraction(60)]),
    st.integers(1, 400),
    st.floats(-1e4, 1e4),
    st.booleans(),
)
def test_a_constant_rate_table_gives_the_constant_rate_answer(rate, count, t, loop):
    starts = [float(i / rate) for i in range(count)]
    got = index_at_time(t, starts, (0.0, float(count / rate)), loop)
    want = frame_index_at(t, rate, count, loop)
    if got != want:  # only within float rounding of a frame boundary
        boundary = Fraction(round(Fraction(t) * rate)) / rate
        assert abs(Fraction(t) - boundary) < Fraction(1, 10**6)


def test_rounded_constant_rate_timestamps_are_recognised_and_gaps_are_not():
    rate, tb = Fraction(24000, 1001), Fraction(1, 1000)
    rounded = [round(i / rate / tb) for i in range(500)]  # Matroska's milliseconds
    assert is_constant_rate(rounded, tb, rate)
    floored = [math.floor(i / rate / tb) for i in range(500)]
    assert is_constant_rate(floored, tb, rate)
    assert not is_constant_rate(rounded[:100] + rounded[101:], tb, rate)  # a dropped frame
    assert not is_constant_rate(PTS_MS, tb, Fraction(25))


# --- where the timestamps come from ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fps", "preset"),
    [(Fraction(30), "veryfast"), (Fraction(30000, 1001), "veryfast"), (Fraction(25), "ultrafast")],
)
def test_a_constant_rate_mp4_is_timed_from_its_index_exactly_as_a_full_read_would(
    tmp_path, fps, preset
):
    """Without reading the file: the MP4 index (decode times, B-frames reordered with
    ``veryfast``) gives the same timestamps as demuxing every packet."""
    from mapping.media.video import _scan_timestamps
    from mapping.media.writer import VideoWriter
    from tests.videokit import HEIGHT_PX, WIDTH_PX, number_image

    path = tmp_path / "cfr.mp4"
    with VideoWriter(path, (WIDTH_PX, HEIGHT_PX), fps, gop=12, preset=preset) as writer:
        for number in range(40):
            writer.write(number_image(number))
    with VideoClip(path) as clip:
        assert clip.timestamps_from == "index" and clip.constant_rate
        scanned = _scan_timestamps(path, 0).pts
        assert clip._pts_table == [p for p in scanned if p >= clip._first_pts]
        for n in (39, 0, 17, 18, 5):
            assert read_number(clip.frame_at(n / float(fps)).image) == n


def test_variable_rate_and_matroska_clips_are_read_once_to_list_their_frames(vfr_clip):
    with VideoClip(vfr_clip) as clip:
        assert clip.timestamps_from == "scan"


def test_constant_rate_means_every_timestamp_within_one_tick_of_its_slot():
    """Expected verdicts from exact arithmetic: frame i starts at i / rate."""
    ms = Fraction(1, 1000)
    assert is_constant_rate([], ms, Fraction(25)) and is_constant_rate([7], ms, Fraction(25))
    assert is_constant_rate([0, 41], ms, Fraction(25))  # 40 ms + exactly one tick
    assert not is_constant_rate([0, 42], ms, Fraction(25))
    assert not is_constant_rate([0, 50], ms, Fraction(25))  # two timestamps are checked too
    assert is_constant_rate([1000, 1040, 1080], ms, Fraction(25))  # from the first timestamp
    # NTSC: time base 1001/30000 s, rate 30000/1001: one tick per frame
    ntsc, rate = Fraction(1001, 30000), Fraction(30000, 1001)
    assert is_constant_rate([5, 6, 7, 8], ntsc, rate)
    assert is_constant_rate([0, 1, 3], ntsc, rate)  # frame 2 one tick late
    assert not is_constant_rate([0, 1, 4], ntsc, rate)


# --- frames the demuxer's list does not name ---------------------------------------------------

# Decode times every 40 ms (25 fps), presentation times moved inside their slot by the
# composition offsets: the MP4 index lists the even slots, so frames 1, 3, 5, 6, 8 and 10
# come out of the decoder with timestamps the list does not hold.
OFFSET_PTS_MS = [0, 50, 80, 145, 160, 205, 279, 280, 332, 360, 430, 440]
SLOT_MS = 40


def test_a_frame_whose_timestamp_is_not_listed_is_shown_in_the_slot_it_falls_in(tmp_path):
    """Each decoded frame is numbered by the slot its own timestamp falls in (exact
    fractions here), forward and after seeks in either direction."""
    dts_ms = [SLOT_MS * n for n in range(len(OFFSET_PTS_MS))]
    path = write_offset_clip(tmp_path / "offsets.mp4", OFFSET_PTS_MS, dts_ms)
    slots = [math.floor(Fraction(p, SLOT_MS)) for p in OFFSET_PTS_MS]
    assert slots == list(range(len(OFFSET_PTS_MS)))  # a frame per slot, half off its start
    with VideoClip(path) as clip:
        assert clip.timestamps_from == "index" and clip.constant_rate
        listed = {round(Fraction(p) * clip._time_base * 1000) for p in clip._pts_table}
        assert set(OFFSET_PTS_MS) - listed == {50, 145, 205, 279, 332, 430}
        for n in [*range(len(slots)), 11, 3, 6, 0, 9, 1, 10, 5, 2, 8]:
            frame = clip.frame_at(float(Fraction(n * SLOT_MS, 1000)) + 0.02)
            assert (frame.index, read_number(frame.image)) == (slots[n], n), n
            assert frame.pts_s == pytest.approx(slots[n] * SLOT_MS / 1000, abs=1e-12)
        assert clip.seek_count >= 3


def test_an_unlisted_frame_inside_the_first_slot_belongs_to_it(tmp_path):
    """Frame 1 at 10 ms falls in slot 0 (0..40 ms): it is numbered 0, and at 40 ms, where no
    frame starts, it is the latest frame at or before the time, so it is on screen."""
    pts_ms = [0, 10, 80, 120, 160]
    path = write_offset_clip(tmp_path / "early.mp4", pts_ms, [-40, 0, 40, 80, 120])
    with VideoClip(path) as clip:
        assert clip.timestamps_from == "index" and clip.frame_count == len(pts_ms)
        frame = clip.frame_at(0.04)
        latest = max(n for n, p in enumerate(pts_ms) if Fraction(p, 1000) <= Fraction(40, 1000))
        assert read_number(frame.image) == latest == 1
        assert (frame.index, frame.pts_s) == (math.floor(Fraction(10, SLOT_MS)), 0.0)


# --- the lookup at exact boundaries, with no tolerance ------------------------------------------

EXACT_RATES = [
    Fraction(24000, 1001),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(50),
    Fraction(60),
]


@pytest.mark.parametrize("rate", EXACT_RATES, ids=str)
@pytest.mark.parametrize("loop", [True, False])
def test_a_time_exactly_at_a_frame_start_shows_that_frame(rate, loop):
    """t = float(k / rate), the start of frame k: frame k, never k - 1, with tolerance 0
    (the expected index is the nearest whole frame of the exact value of that float)."""
    count = 90
    starts = [float(Fraction(i) / rate) for i in range(count)]
    window = (0.0, float(Fraction(count) / rate))
    for k in range(count):
        t = starts[k]
        exact = Fraction(t) * rate  # the float's own value, in frames
        want = round(exact)
        assert abs(exact - want) < Fraction(1, 10**9)  # it is a frame start
        assert index_at_time(t, starts, window, loop) == want, (k, t)


@pytest.mark.parametrize("rate", EXACT_RATES, ids=str)
def test_the_loop_point_within_a_nanosecond_is_the_first_frame(rate):
    """Looped, a time within the 1 ns float slack of the loop point (what the modulo leaves
    of the end) is the loop point: frame 0; 3 ns before it, still the last frame."""
    count = 48
    starts = [float(Fraction(i) / rate) for i in range(count)]
    span = float(Fraction(count) / rate)
    assert index_at_time(span - 1e-9, starts, (0.0, span), True) == 0
    assert index_at_time(span - 3e-9, starts, (0.0, span), True) == count - 1
    assert index_at_time(span, starts, (0.0, span), True) == 0


@pytest.mark.parametrize("k", [1, 6, 9])
@pytest.mark.parametrize("loop", [True, False])
def test_a_window_shorter_than_half_a_tick_from_a_frame_start_shows_that_frame(k, loop):
    """In point exactly at frame k's start (millisecond timestamps), out point 0.4 ms later
    (under the half-millisecond tolerance): frame k is the one shown at the in point and
    does not start at or after the out point, so it is the only answer, at any time."""
    starts = [p / 1000 for p in PTS_MS]
    window = (PTS_MS[k] / 1000, (PTS_MS[k] + 0.4) / 1000)
    for t in (0.0, 0.0001, 0.00039, 0.0004, 0.5, -0.3):
        assert index_at_time(t, starts, window, loop, tolerance_s=0.0005) == k, t


@pytest.mark.parametrize("t", [math.nan, math.inf, -math.inf])
def test_index_at_time_refuses_a_non_finite_time_and_says_so(t):
    with pytest.raises(ValueError, match=r"media_time_s must be finite, got (nan|inf|-inf)"):
        index_at_time(t, [0.0, 0.04], (0.0, 0.08), loop=True)


# --- constant rate with huge tick counts ------------------------------------------------------


def test_constant_rate_is_exact_past_64_bit_products():
    """The one-tick rule in exact integers, where 64-bit products would wrap."""
    # A nanosecond time base (1/10^9) and frames of 33 366 667 ns (the average rate an MP4
    # with that timescale reduces to): 300 frames, tick × rate products past 2^63 from
    # frame 277 on. Exactly constant, and one frame dropped is not.
    ns = Fraction(1, 10**9)
    rate = Fraction(10**9, 33_366_667)
    pts = [i * 33_366_667 for i in range(300)]
    assert pts[277] * rate.numerator > 2**63
    assert is_constant_rate(pts, ns, rate)
    assert not is_constant_rate(pts[:150] + pts[151:], ns, rate)
    # 90 kHz, 30000/1001 fps: frame 1 is due at 3003 ticks; a timestamp 2^60 ticks later
    # (past 2^53: no float holds it exactly) is not frame 1, though 2^60 × 30000 is
    # a multiple of 2^64, so a 64-bit product would land exactly on the slot.
    khz90, ntsc = Fraction(1, 90_000), Fraction(30_000, 1001)
    assert is_constant_rate([0, 3003], khz90, ntsc)
    assert not is_constant_rate([0, 2**60 + 3003], khz90, ntsc)
    assert not is_constant_rate([7, 2**60 + 3010, 2**61 + 6013], khz90, ntsc)


def test_a_refused_frame_is_reported_at_its_time_from_the_first_frame(tmp_path, caplog):
    """A clip whose first frame is at 1 s of the file's time, frame 8's packet damaged: the
    warning gives the time (from the first frame, on the frame grid) of the packet at which
    the decoder refused, frame 8's or a later one (frame threads report an error late)."""
    pts_ms = [1000 + 40 * n for n in range(48)]
    path = write_timed_clip(tmp_path / "late.mkv", pts_ms, 40)
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    pos, size = packets[8]
    data = bytearray(path.read_bytes())
    for i in range(pos + size // 4, pos + 3 * size // 4):
        data[i] ^= 0xFF
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), VideoClip(damaged) as clip:
        for n in range(48):
            clip.frame_at(n * 0.04, loop=False)
        assert clip.corrupt_frame_count >= 1
    times = re.findall(r"skipped a frame the decoder refused at (-?[\d.e+]+) s", caplog.text)
    assert times, caplog.text
    grid = {f"{float(Fraction(p - pts_ms[0], 1000)):.3f}" for p in pts_ms[8:]}
    assert set(times) <= grid, times


def test_frames_built_on_a_refused_packet_are_held_back_until_the_next_keyframe(tmp_path, caplog):
    """FFV1 carries its coding state from frame to frame between keyframes: after frame 8's
    packet is damaged, the decoder refuses it and then gives frames 9, 10 and 11 out as
    garbage, unflagged. The clip shows frame 7 (the last good one) for 8..11 and the
    pictures are exact again from the next keyframe on.

    The refusal is reported on the damaged packet itself, at 0.320 s: with frame threads it
    came packets later and frame 7, still in a thread, was then taken for garbage after a
    seek (about one run in 200), so the clip drops frame threads at the first refusal."""
    pts_ms = [40 * n for n in range(24)]
    path = write_timed_clip(tmp_path / "clip.mkv", pts_ms, 40)
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size, p.is_keyframe) for p in container.demux(video=0) if p.size]
    keyframes = [n for n, (_, _, key) in enumerate(packets) if key]
    next_key = min(n for n in keyframes if n > 8)
    assert next_key < 24  # the clip has a keyframe after the damage (FFV1's GOP)
    pos, size, _ = packets[8]
    data = bytearray(path.read_bytes())
    for i in range(pos + size // 4, pos + 3 * size // 4):
        data[i] ^= 0xFF
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    expected = [n if n < 8 or n >= next_key else 7 for n in range(24)]
    with VideoClip(damaged) as clip:
        shown = [read_number(clip.frame_at_index(n).image) for n in range(24)]
        assert shown == expected
        # counted each time decoding passes them (each look-up of 8..11 decodes them again)
        assert clip.corrupt_frame_count >= 1
        assert clip.damaged_frame_count >= next_key - 9
        # a seek back into the damage shows the same (the seek lands on a keyframe first)
        assert read_number(clip.frame_at_index(10).image) == 7
        assert read_number(clip.frame_at_index(next_key).image) == next_key
    refusals = [r.getMessage() for r in caplog.records if "decoder refused" in r.getMessage()]
    assert refusals and all(" at 0.320 s:" in m for m in refusals), refusals
    for _ in range(20):  # the same frames on every run, after any seek
        with VideoClip(damaged) as clip:
            assert read_number(clip.frame_at_index(23).image) == 23
            assert [read_number(clip.frame_at_index(n).image) for n in (10, 7, 11)] == [7, 7, 7]
