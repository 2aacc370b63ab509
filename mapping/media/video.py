"""Frame-exact video playback driven by a media time (PyAV), with no free-running decoder.

:class:`VideoClip` owns one open video file. The picture it returns is a pure function of
the media time asked for: :meth:`VideoClip.frame_at` gives the frame whose presentation
timestamp is the latest at or before ``media_time_s``, whatever was asked before. The show
clock decides the time; the clip only decodes what that time needs.

Timing model: every frame is shown at its own timestamp, for constant and variable frame
rate alike. When a clip is opened every frame's presentation timestamp is listed: from the
index of a constant-rate MP4/MOV, else by reading its packets once (demuxed, not decoded).
Frame ``index`` (0-based) is the ``index``-th of them in presentation order, shown from
``pts_s`` (seconds since the first frame; a stream ``start_time`` offset is removed) until
the next frame's ``pts_s``. The last frame lasts its packet's duration (else one frame at
the stream's average rate), so ``duration_s`` is the end of the last frame.

A clip whose timestamps all lie within one tick of ``i / fps`` (:func:`is_constant_rate`:
the muxer only rounded them, to the millisecond in Matroska) is timed by those exact slots,
so a constant-rate clip of ``n`` frames lasts ``n / fps`` and ``t = i / fps`` computed in
floating point shows frame ``i``. Other clips use their timestamps, each counting from half
a tick before it (a timestamp is only known to the tick). A frame listed by the demuxer
that the decoder cannot produce (a corrupt packet, a file cut short) is skipped and the
frame before it stays up.

In and out points (``in_s``, ``out_s``, seconds of the file's own time) cut a window out of
the clip: media time 0 is the in point, the clip lasts ``out_s - in_s``, loops back to the
in point and, played once, holds the last frame that starts before the out point.

The lookup maths is pure and module-level (:func:`index_at_time`, and the constant-rate
reference :func:`frame_index_at`, :func:`pts_to_index`, :func:`index_to_pts`,
:func:`frames_to_ticks`), so it is tested for any table of timestamps without a file.

Decoding strategy (what keeps random access frame-exact and forward playback cheap):

* the same frame asked again is served from a one-frame cache, nothing is decoded;
* a frame a little ahead (the next frame, or up to about one second) is reached by
  decoding forward;
* anything else (backwards, far ahead) seeks to the keyframe at or before the target
  (``container.seek(ts, backward=True, stream=...)`` in stream time base) and decodes
  forward to the exact frame. Demuxers seek by *decode* timestamps, so with B-frames a
  seek can land on a keyframe that is *displayed after* the target; that is detected
  (the first frame out is past the target) and the seek retried further back.
* a packet the decoder refuses is skipped, counted (:attr:`VideoClip.corrupt_frame_count`)
  and logged with the file and time; decoding goes on with the next packet. The frames
  decoded after it up to the next keyframe are built on the refused one (an inter-coded
  codec: H.264 P-frames, FFV1 between keyframes), and decoders give them out unflagged, as
  garbage: they are skipped too (:attr:`VideoClip.damaged_frame_count`), so the last good
  frame stays up — for at most :data:`DAMAGE_HOLD_S` of media time, after which the
  decoder's own concealment is shown rather than a frozen picture (a stream without
  keyframes after its first). Frame threads decode until the first refusal; then the
  file is reopened without them, because with them a refusal is reported packets late and
  good frames still in a thread would be taken for garbage (which ones depended on thread
  timing): a damaged clip shows the same frames on every run.

Colour: :attr:`VideoClip.colour` (:class:`ColourInfo`) is the matrix, range and transfer
the stream is tagged with; an untagged stream is guessed the way ffplay/SDL do (fewer than
720 lines: BT.601, else BT.709; limited range unless the pixel format is a full-range
``yuvj`` one) and ``guessed`` says so. Both picture paths use it.

Images come back as read-only uint8 RGB arrays shaped ``(H, W, 3)``, row 0 at the top.
With ``VideoClip(path, yuv_planes=True)`` and a stream in 8-bit planar YUV (4:2:0, 4:2:2 or
4:4:4, limited or full range) frames carry the decoder's own Y, U and V planes instead,
with no colour conversion on the CPU: the renderer uploads them as they are and converts in
its shader with :func:`yuv_to_rgb_matrix`. Other pixel formats come back as RGB, converted
by libswscale with the clip's :attr:`~VideoClip.colour`.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from mapping.media.errors import MediaError
from mapping.media.mediafile import MediaFile
from mapping.ratelimit import RateLimitedLog

logger = logging.getLogger(__name__)
_limited_log = RateLimitedLog(logger, interval_s=5.0)

EXPECTED_VIDEO = "expected a video file (MP4, MOV, MKV, … with a video stream)"

# How far ahead (in seconds of media time) decoding forward is preferred over seeking.
FORWARD_DECODE_LIMIT_S = 1.0
DAMAGE_HOLD_S = 2.0
"""After a refused packet, frames up to the next keyframe are skipped for at most this long
(media time): the last good frame is held, not the decoder's garbage."""

# Tolerance when turning a media time into a frame slot, so that t == index / fps
# (computed in floating point) lands on ``index``, never on ``index - 1``.
_SLOT_EPSILON = 1e-6
# Floating-point slack (seconds) on top of half a tick when comparing a time to timestamps.
_TIME_EPSILON_S = 1e-9


# 8-bit planar YUV formats whose planes can be uploaded as they are.
_PLANAR_YUV = {
    "yuv420p": False, "yuvj420p": True, "yuv422p": False, "yuvj422p": True,
    "yuv444p": False, "yuvj444p": True,
}  # fmt: skip
# AVColorSpace values that mean BT.709 (1) and BT.601 (5: BT470BG, 6: SMPTE 170M).
_AVCOL_SPC_BT709 = 1
_AVCOL_SPC_BT601 = (5, 6)
_AVCOL_SPC_UNSPECIFIED = 2
_AVCOL_RANGE_MPEG = 1
_AVCOL_RANGE_JPEG = 2
# AVColorTransferCharacteristic → name (FFmpeg's own names).
_TRANSFER_NAMES = {
    1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m",
    7: "smpte240m", 8: "linear", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
    16: "smpte2084", 18: "arib-std-b67",
}  # fmt: skip
_HDR_TRANSFERS = {"smpte2084": "PQ (HDR10)", "arib-std-b67": "HLG"}
HD_LINES = 720
"""Untagged streams of at least this many lines are guessed BT.709, smaller ones BT.601."""


@dataclass(frozen=True)
class ColourInfo:
    """How a stream's YUV turns into RGB, and whether that was read from its tags.

    Attributes:
        matrix: ``"bt601"`` or ``"bt709"``.
        full_range: True for full range (0..255), False for limited (Y 16..235).
        transfer: FFmpeg's name of the tagged transfer (``"bt709"``, ``"smpte170m"``,
            ``"iec61966-2-1"``, ``"smpte2084"``, …, ``"unspecified"``). SDR transfers are
            shown as they are (the projector expects that signal); HDR ones (PQ, HLG) are not
            tone-mapped and say so in ``note``.
        guessed: True when the matrix or the range was not tagged and was guessed.
        note: a sentence for an artist when something is not honoured, else ``""``.
    """

    matrix: str
    full_range: bool
    transfer: str
    guessed: bool
    note: str = ""

    def describe(self) -> str:
        """One line for listings: ``BT.709 limited range, transfer bt709 (guessed)``."""
        name = {"bt601": "BT.601", "bt709": "BT.709"}[self.matrix]
        text = f"{name} {'full' if self.full_range else 'limited'} range, transfer {self.transfer}"
        if self.guessed:
            text += " (untagged: guessed from the picture size)"
        if self.note:
            text += f"; {self.note}"
        return text


def colour_info(
    colorspace: int, color_range: int, color_trc: int, pix_fmt: str, height_px: int
) -> ColourInfo:
    """The :class:`ColourInfo` of a stream from its AVColorSpace, AVColorRange and
    AVColorTransferCharacteristic tags, its pixel format and its height."""
    guessed = False
    notes = []
    if colorspace == _AVCOL_SPC_BT709:
        matrix = "bt709"
    elif colorspace in _AVCOL_SPC_BT601:
        matrix = "bt601"
    else:
        matrix = "bt709" if height_px >= HD_LINES else "bt601"
        guessed = True
        if colorspace != _AVCOL_SPC_UNSPECIFIED:
            notes.append(f"matrix tag {colorspace} is not supported, {matrix} assumed")
    if pix_fmt.startswith("yuvj") or color_range == _AVCOL_RANGE_JPEG:
        full_range = True
    else:
        full_range = False
        if color_range != _AVCOL_RANGE_MPEG:
            guessed = True
    transfer = _TRANSFER_NAMES.get(color_trc, f"tag {color_trc}")
    if transfer in _HDR_TRANSFERS:
        notes.append(f"{_HDR_TRANSFERS[transfer]} transfer is shown as is, not tone-mapped")
    return ColourInfo(matrix, full_range, transfer, guessed, "; ".join(notes))


@dataclass(frozen=True)
class YuvPlanes:
    """The decoder's planes of one frame: full-size Y, subsampled U and V (uint8, rows top
    first), and how to turn them into RGB (see :func:`yuv_to_rgb_matrix`)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    matrix: str  # "bt601" or "bt709"
    full_range: bool


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        image: uint8 RGB, shape ``(H, W, 3)``, row 0 at the top; read-only (shared by cache).
            ``None`` when the frame carries ``planes`` instead.
        index: 0-based frame number in the clip (presentation order).
        pts_s: media time at which this frame starts being shown, in seconds from the
            clip's first frame.
        planes: the YUV planes, for clips opened with ``yuv_planes=True`` whose stream is
            8-bit planar YUV; else ``None``.
    """

    image: np.ndarray | None
    index: int
    pts_s: float
    planes: YuvPlanes | None = None


def yuv_to_rgb_matrix(matrix: str, full_range: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(M, offset)`` with ``rgb = M @ (yuv - offset)``, all in 0..1 units.

    ``matrix`` is ``"bt601"`` or ``"bt709"``; limited range maps Y 16..235 and U, V 16..240
    onto 0..1 and -0.5..0.5.
    """
    kr, kb = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}[matrix]
    kg = 1.0 - kr - kb
    to_rgb = np.array(
        [
            [1.0, 0.0, 2.0 * (1.0 - kr)],
            [1.0, -2.0 * (1.0 - kb) * kb / kg, -2.0 * (1.0 - kr) * kr / kg],
            [1.0, 2.0 * (1.0 - kb), 0.0],
        ]
    )
    if full_range:
        scale, offset = np.ones(3), np.array([0.0, 128.0, 128.0]) / 255.0
    else:
        scale = np.array([255.0 / 219.0, 255.0 / 224.0, 255.0 / 224.0])
        offset = np.array([16.0, 128.0, 128.0]) / 255.0
    return to_rgb * scale[None, :], offset


def index_at_time(
    media_time_s: float,
    starts_s: Sequence[float],
    window_s: tuple[float, float],
    loop: bool,
    tolerance_s: float = 0.0,
) -> int:
    """The frame shown at ``media_time_s``: the latest whose start is at or before it.

    ``starts_s`` are the frames' start times (ascending, seconds of the file's time);
    ``window_s`` is ``(in, out)``: media time 0 is ``in`` and the clip lasts ``out - in``.
    With ``loop`` the time wraps modulo that length (negative times too); without, it
    clamps to the window. The answer is never before the frame shown at the in point nor
    at or after the out point. A start within ``tolerance_s`` after the time counts as at
    the time (timestamps are rounded to ticks). Raises ``ValueError`` for a non-finite time.
    """
    if not math.isfinite(media_time_s):
        raise ValueError(f"media_time_s must be finite, got {media_time_s!r}")
    start, end = window_s
    span = end - start
    slack = tolerance_s + _TIME_EPSILON_S
    if loop:
        t = media_time_s % span
        if t >= span - slack:  # the loop point itself, rounded short by the modulo
            t = 0.0
    else:
        t = min(max(media_time_s, 0.0), span)
    first = max(bisect.bisect_right(starts_s, start + slack) - 1, 0)
    last = max(bisect.bisect_left(starts_s, end - slack) - 1, first)
    index = bisect.bisect_right(starts_s, start + t + slack) - 1
    return min(max(index, first), last)


def frame_index_at(media_time_s: float, rate: Fraction, frame_count: int, loop: bool) -> int:
    """Constant-rate reference: the frame shown at ``media_time_s`` in a clip of
    ``frame_count`` frames at ``rate`` fps.

    Frame ``i`` is shown for ``i / rate <= t < (i + 1) / rate``. With ``loop`` the time wraps
    modulo ``frame_count / rate`` (negative times too); without, it clamps to the first and
    last frame. Raises ``ValueError`` for a non-finite time. :func:`index_at_time` gives
    the same answer for a constant-rate table of timestamps.
    """
    if not math.isfinite(media_time_s):
        raise ValueError(f"media_time_s must be finite, got {media_time_s!r}")
    if loop:
        media_time_s = media_time_s % float(frame_count / rate)
    index = math.floor(media_time_s * float(rate) + _SLOT_EPSILON)
    return min(max(index, 0), frame_count - 1)


def pts_to_index(pts: int, first_pts: int, time_base: Fraction, rate: Fraction) -> int:
    """The frame slot of a presentation timestamp: its time since the first frame, rounded
    to the nearest frame (constant-rate maths)."""
    return round((pts - first_pts) * time_base * rate)


def index_to_pts(index: int, first_pts: int, time_base: Fraction, rate: Fraction) -> int:
    """The timestamp (in ``time_base`` ticks) at which frame ``index`` of a constant-rate
    clip starts, rounded down."""
    return first_pts + math.floor(index / (rate * time_base))


def frames_to_ticks(frames: int, time_base: Fraction, rate: Fraction) -> int:
    """How many ``time_base`` ticks ``frames`` frames last, rounded up."""
    return math.ceil(frames / (rate * time_base))


def is_constant_rate(pts: Sequence[int], time_base: Fraction, rate: Fraction) -> bool:
    """True when every timestamp is frame ``i``'s exact start ``i / rate`` (from the first)
    to within one tick: a constant-rate clip whose muxer rounded its timestamps. Such a
    clip is timed by the exact slots, so rounding (a millisecond in Matroska) never makes a
    frame skip or repeat."""
    if len(pts) < 2:
        return True
    # |(pts_i - pts_0) * tb - i / rate| <= tb, in integers: rate = p/q, tb = a/b
    p, q = rate.numerator, rate.denominator
    a, b = time_base.numerator, time_base.denominator
    ticks = np.asarray(pts, dtype=object) - pts[0]
    index = np.arange(len(pts), dtype=object)
    error = ticks * (p * a) - index * (q * b)
    return bool(np.all(np.abs(error) <= p * a))


def _yuv_matrix_name(colorspace: int, height_px: int) -> str:
    """The stream's YUV matrix; untagged streams guess by size (SD: BT.601, HD: BT.709)."""
    return colour_info(colorspace, _AVCOL_RANGE_MPEG, 2, "", height_px).matrix


@dataclass(frozen=True)
class _Decoded:
    """A frame pulled from the decoder, not yet converted to RGB."""

    index: int
    pts: int
    av_frame: av.VideoFrame


@dataclass(frozen=True)
class _Timestamps:
    """What one demux pass over the file found: every video packet's pts, in presentation
    order, and each one's duration in ticks (0 when the container has none)."""

    pts: list[int]
    durations: dict[int, int]
    problem: str = ""


def _open_failure(path: Path, exc: av.FFmpegError) -> str:
    """Why FFmpeg could not open a file, in words for a person."""
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError:
        head = b""
    detail = getattr(exc, "strerror", None) or str(exc)
    if head[4:8] == b"ftyp":
        return (
            "an MP4/MOV file without its index (no 'moov' box): the file is cut short or "
            f"was never finished writing ({EXPECTED_VIDEO}; FFmpeg: {detail})"
        )
    return f"not a decodable media file ({EXPECTED_VIDEO}; FFmpeg: {detail})"


def _timestamps_from_index(
    stream: av.video.VideoStream, file_size: int, first_pts: int, rate: Fraction
) -> list[int] | None:
    """The frames' timestamps without reading the file, where its index makes them certain.

    MP4/MOV keep every sample's decode timestamp, position and size in their index (read
    when the file is opened). When there is one entry per frame, none to be discarded, all
    inside the file, evenly spaced by one frame at the stream's rate, the presentation
    timestamps are those same slots counted from the first frame's: a long constant-rate
    clip opens without a pass over its gigabytes. Anything else returns ``None`` (the
    packets are then read once, :func:`_scan_timestamps`).
    """
    try:
        entries = stream.index_entries
    except AttributeError:  # an older PyAV
        return None
    count = len(entries)
    if count < 2 or not stream.frames or count != stream.frames:
        return None
    start = entries[0].timestamp
    step = entries[1].timestamp - start
    time_base = stream.time_base
    if step <= 0 or time_base is None or abs(step * time_base - 1 / rate) > time_base:
        return None
    last = entries[count - 1]
    if last.pos < 0 or last.pos + last.size > file_size:  # cut short: read what is there
        return None
    for i, entry in enumerate(entries):
        if entry.is_discard or entry.timestamp != start + i * step:
            return None
    return [first_pts + i * step for i in range(count)]


def _scan_timestamps(path: Path, stream_index: int) -> _Timestamps:
    """Demux (not decode) the whole file once, listing its video packets' timestamps."""
    durations: dict[int, int] = {}
    problem = ""
    try:
        with av.open(str(path), mode="r") as container:
            stream = container.streams[stream_index]
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                durations[int(packet.pts)] = int(packet.duration or 0)
    except av.FFmpegError as exc:  # a damaged tail: keep what was read before it
        problem = f"reading stopped after {len(durations)} frames: {exc}"
    return _Timestamps(sorted(durations), durations, problem)


class _RefusedUnderFrameThreadsError(Exception):
    """A packet was refused while frame threads decode: reopen without them, seek again."""


class VideoClip(MediaFile):
    """A video file whose frames are looked up by media time (see module docstring).

    Args:
        path: the file.
        yuv_planes: frames of 8-bit planar YUV streams carry their planes, not RGB.
        in_s, out_s: in and out points, seconds of the file's time (``None``: its start,
            its end).

    Raises:
        MediaError: the file is missing, is not a decodable media file, has no video
            stream, its video stream yields no frame with a timestamp, or the in/out
            points leave no frame.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        yuv_planes: bool = False,
        in_s: float | None = None,
        out_s: float | None = None,
    ) -> None:
        self._want_planes = yuv_planes
        self._open(path, EXPECTED_VIDEO, refuse_empty=True, failure=_open_failure)
        self._start(lambda: self._init_stream(in_s, out_s))

    def _init_stream(self, in_s: float | None, out_s: float | None) -> None:
        if not self._container.streams.video:
            kinds = sorted({s.type for s in self._container.streams}) or ["no streams"]
            raise MediaError(
                self._path, f"no video stream, found {', '.join(kinds)} ({EXPECTED_VIDEO})"
            )
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._frame_threads = True  # until the first refused packet (_drop_frame_threads)
        self._stream: av.video.VideoStream = stream
        if stream.time_base is None:
            raise MediaError(self._path, f"video stream has no time base ({EXPECTED_VIDEO})")
        self._time_base: Fraction = stream.time_base
        context = stream.codec_context
        codec_name = context.name if context is not None else ""
        if not codec_name:
            raise MediaError(
                self._path,
                "its video codec is not one this FFmpeg build can decode "
                "(expected H.264, HEVC, ProRes, HAP, VP9, AV1, …)",
            )
        self.problems: list[str] = []  # what is wrong but still plays, for listings

        # Internal counters, read by tests and diagnostics.
        self.decoded_frame_count = 0  # frames pulled out of the decoder
        self.converted_frame_count = 0  # frames converted to RGB arrays
        self.seek_count = 0  # container seeks, retries included
        self.corrupt_frame_count = 0  # packets the decoder refused (skipped)
        self.damaged_frame_count = 0  # frames after a refused packet, before a keyframe
        self._damaged_since: int | None = None  # pts of the first frame after a refusal
        self._refused = False  # a packet was refused since the last keyframe

        self._frame_iter: Iterator[av.VideoFrame] = self._decode_packets()
        self._head: _Decoded | None = None  # latest frame pulled from the decoder
        self._eof = False
        self._current: VideoFrame | None = None  # last frame returned (the cache)

        # The first decoded frame fixes the time origin and proves the stream decodes.
        self._first_pts = 0
        try:
            first = self._pull_raw()
        except _RefusedUnderFrameThreadsError:  # the very first packet refused
            self._drop_frame_threads()
            stream = self._stream
            first = self._pull_raw()
        if first is None:
            raise MediaError(self._path, f"video stream has no decodable frames ({EXPECTED_VIDEO})")
        if first.pts is None:
            raise MediaError(
                self._path,
                "video frames carry no timestamps (expected a container such as MP4/MOV/MKV, "
                "not a raw elementary stream)",
            )
        self._first_pts = int(first.pts)

        nominal = stream.average_rate or stream.guessed_rate or stream.base_rate
        table = None
        if nominal and nominal > 0:
            table = _timestamps_from_index(
                stream, self._path.stat().st_size, self._first_pts, Fraction(nominal)
            )
        self.timestamps_from = "index" if table is not None else "scan"
        if table is None:
            scan = _scan_timestamps(self._path, stream.index)
            if scan.problem:
                self.problems.append(scan.problem)
            if stream.frames and len(scan.pts) < stream.frames:
                self.problems.append(
                    f"only {len(scan.pts)} of the {stream.frames} frames its header lists can "
                    "be read (a file cut short?)"
                )
            table = [p for p in scan.pts if p >= self._first_pts]
            if not table or table[0] != self._first_pts:
                table.insert(0, self._first_pts)
            durations = scan.durations
        else:
            durations = {}
        for problem in self.problems:
            logger.warning("%s: %s", self._path, problem)
        self._pts_table: list[int] = table
        self._pts_index = {p: i for i, p in enumerate(table)}

        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            if len(table) > 1:
                span = Fraction((table[-1] - table[0]) * self._time_base)
                rate = Fraction(len(table) - 1) / span
            else:
                raise MediaError(self._path, f"video stream has no frame rate ({EXPECTED_VIDEO})")
        self._rate: Fraction = Fraction(rate)
        self.constant_rate = is_constant_rate(table, self._time_base, self._rate)
        if self.constant_rate:  # the exact slots the rounded timestamps stand for
            self._starts_s = [float(i / self._rate) for i in range(len(table))]
            self._file_duration_s = float(len(table) / self._rate)
        else:
            self._starts_s = [float((p - self._first_pts) * self._time_base) for p in table]
            last_ticks = durations.get(table[-1], 0)
            last_s = float(last_ticks * self._time_base) if last_ticks > 0 else float(1 / rate)
            self._file_duration_s = self._starts_s[-1] + last_s
        self._half_tick_s = float(self._time_base) / 2.0

        window_in = 0.0 if in_s is None else float(in_s)
        window_out = self._file_duration_s if out_s is None else float(out_s)
        if not (math.isfinite(window_in) and math.isfinite(window_out)):
            raise MediaError(self._path, "in and out points must be finite seconds")
        window_out = min(window_out, self._file_duration_s)
        if window_in < 0.0 or window_in >= window_out:
            raise MediaError(
                self._path,
                f"in point {window_in:g} s and out point {window_out:g} s leave no frame "
                f"(the clip lasts {self._file_duration_s:g} s)",
            )
        self._window_s = (window_in, window_out)

        self._head = _Decoded(0, self._first_pts, first)
        self._size_px = (int(stream.codec_context.width), int(stream.codec_context.height))
        if self._size_px[0] <= 0 or self._size_px[1] <= 0:
            self._size_px = (first.width, first.height)
        self._colour = colour_info(
            int(first.colorspace),
            int(first.color_range),
            int(first.color_trc),
            first.format.name,
            first.height,
        )
        self._codec_name = codec_name
        logger.debug(
            "%s: opened %dx%d, %.3f fps, %d frames, time base %s, first pts %d",
            self._path,
            *self._size_px,
            self.fps,
            self.frame_count,
            self._time_base,
            self._first_pts,
        )

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        return self._path

    @property
    def size_px(self) -> tuple[int, int]:
        """``(width, height)`` of the decoded pictures."""
        return self._size_px

    @property
    def fps(self) -> float:
        """The stream's average frame rate (nominal; frames are shown at their own pts)."""
        return float(self._rate)

    @property
    def frame_count(self) -> int:
        """Frames in the file (all of them, whatever the in and out points)."""
        return len(self._pts_table)

    @property
    def duration_s(self) -> float:
        """How long the clip plays before it loops: out point minus in point (by default
        the end of the last frame's display interval)."""
        return self._window_s[1] - self._window_s[0]

    @property
    def window_s(self) -> tuple[float, float]:
        """``(in, out)`` in seconds of the file's time."""
        return self._window_s

    @property
    def frame_starts_s(self) -> tuple[float, ...]:
        """Every frame's start time (seconds from the first frame), in presentation order."""
        return tuple(self._starts_s)

    @property
    def colour(self) -> ColourInfo:
        """The matrix, range and transfer the pictures are converted with, and whether
        they were guessed (untagged stream)."""
        return self._colour

    @property
    def codec_name(self) -> str:
        return self._codec_name

    # ------------------------------------------------------------------ lookup

    def index_at(self, media_time_s: float, loop: bool = True) -> int:
        """The frame index shown at ``media_time_s`` (wrapped if ``loop``, else clamped).

        Pure timing (no decoding, nothing mutated): safe from any thread.
        """
        return index_at_time(
            media_time_s, self._starts_s, self._window_s, loop, tolerance_s=self._half_tick_s
        )

    def frame_at(self, media_time_s: float, loop: bool = True) -> VideoFrame:
        """The frame whose presentation timestamp is the latest at or before ``media_time_s``.

        With ``loop`` the time wraps modulo :attr:`duration_s` (negative times too);
        without, times before 0 give the first frame and times past the end the last.
        """
        return self.frame_at_index(self.index_at(media_time_s, loop))

    def frame_at_index(self, index: int) -> VideoFrame:
        """Frame ``index`` (0-based, clamped to the clip).

        Where the decoder cannot produce that frame (corrupt packet, truncated file) the
        latest decodable frame before it comes back.
        """
        self._check_open()
        index = min(max(int(index), 0), len(self._pts_table) - 1)
        if self._current is not None and self._current.index == index:
            return self._current
        head = self._head
        if (
            head is not None
            and head.index <= index
            and (
                index - head.index <= 1
                or self._starts_s[index] - self._starts_s[head.index] <= FORWARD_DECODE_LIMIT_S
            )
            and not (self._eof and head.index < index)
        ):
            forward = True
        else:
            forward = False
        try:
            decoded = self._decode_forward_to(index) if forward else self._seek_to(index)
        except _RefusedUnderFrameThreadsError:
            self._drop_frame_threads()
            decoded = self._seek_to(index)
        if decoded.index != index:
            logger.debug("%s: frame %d not decodable, showing %d", self._path, index, decoded.index)
        return self._publish(decoded)

    # ------------------------------------------------------------------ decoding

    def _decode_packets(self) -> Iterator[av.VideoFrame]:
        """Frames from the demuxer's packets; a packet the decoder refuses is skipped."""
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                if self._frame_threads:
                    raise _RefusedUnderFrameThreadsError from exc
                self.corrupt_frame_count += 1
                at = "" if packet.pts is None else f" at {self._ticks_to_s(packet.pts):.3f} s"
                _limited_log.warning(
                    f"corrupt:{self._path}",
                    "%s: skipped a frame the decoder refused%s: %s (%d so far)",
                    self._path,
                    at,
                    exc,
                    self.corrupt_frame_count,
                )
                self._refused = True
                continue
            yield from frames

    def _drop_frame_threads(self) -> None:
        """Reopen the file decoding without frame threads (slice threads stay), for good.

        With frame threads a refused packet is reported packets later, and good frames
        still in the threads' pipeline then come out after the refusal: which frames would be
        shown depended on thread timing. Without them a refusal is reported on its own
        packet, so a damaged clip shows the same frames on every run. The caller seeks again.
        """
        logger.info("%s: a packet was refused; decoding on without frame threads", self._path)
        self._container.close()
        try:
            self._container = av.open(str(self._path), mode="r")
        except av.FFmpegError as exc:
            self._closed = True
            raise MediaError(self._path, f"could not be opened again: {exc}") from exc
        stream = self._container.streams.video[0]
        stream.thread_type = "SLICE"
        self._stream = stream
        self._frame_threads = False
        self._frame_iter = self._decode_packets()
        self._refused, self._damaged_since = False, None
        self._head = None
        self._eof = False

    def _ticks_to_s(self, pts: int) -> float:
        return float((int(pts) - self._first_pts) * self._time_base)

    def _pull_raw(self) -> av.VideoFrame | None:
        """Next frame from the decoder, or None at the end of the stream."""
        try:
            av_frame = next(self._frame_iter)
        except StopIteration:
            self._eof = True
            return None
        except av.FFmpegError as exc:  # the demuxer failed: treat as the end of the stream
            logger.warning("%s: reading stopped: %s", self._path, exc)
            self._eof = True
            self._frame_iter = iter(())
            return None
        self.decoded_frame_count += 1
        return av_frame

    def _pull(self) -> _Decoded | None:
        while True:
            av_frame = self._pull_raw()
            if av_frame is None:
                return None
            if av_frame.pts is None:  # cannot be placed in time; skip it
                logger.warning("%s: skipping a frame without timestamp", self._path)
                continue
            pts = int(av_frame.pts)
            if self._built_on_refused(av_frame, pts):
                continue
            decoded = _Decoded(self._pts_to_index(pts), pts, av_frame)
            self._head = decoded
            return decoded

    def _built_on_refused(self, av_frame: av.VideoFrame, pts: int) -> bool:
        """Whether to skip a frame decoded after a refused packet and before the next
        keyframe (garbage the decoder does not flag), within :data:`DAMAGE_HOLD_S`."""
        if not self._refused:
            return False
        if av_frame.key_frame:
            self._refused, self._damaged_since = False, None
            return False
        if self._damaged_since is None:
            self._damaged_since = pts
        if float((pts - self._damaged_since) * self._time_base) >= DAMAGE_HOLD_S:
            self._refused, self._damaged_since = False, None  # show the concealment
            return False
        self.damaged_frame_count += 1
        return True

    def _decode_forward_to(self, index: int) -> _Decoded:
        """Decode forward from the head to frame ``index`` (head.index <= index).

        Returns frame ``index``, or, where the decoder does not produce it, the last frame
        before it; at the end of the stream, the last frame decoded.
        """
        best = self._head
        if best is not None and best.index > index:
            raise AssertionError("decode forward past the target")  # caller's contract
        while best is None or best.index < index:
            nxt = self._pull()
            if nxt is None:  # end of stream before the target
                if best is None:
                    raise MediaError(self._path, f"no frame decodable at or before {index}")
                logger.debug(
                    "%s: stream ends at frame %d of %d", self._path, best.index, self.frame_count
                )
                return best
            if nxt.index > index:  # the target did not decode: keep the frame before it
                return best if best is not None else nxt
            best = nxt
        return best

    def _seek_to(self, index: int) -> _Decoded:
        """Seek to the keyframe at or before frame ``index`` and decode forward to it."""
        target_ts = self._pts_table[index]
        back_frames = 0
        forward_limit_frames = max(1, math.ceil(FORWARD_DECODE_LIMIT_S * self._rate))
        while True:
            ts = target_ts - self._frames_to_ticks(back_frames)
            at_start = ts <= self._first_pts
            self._seek(max(ts, self._first_pts))
            first = self._pull()
            if first is None:
                if at_start:
                    raise MediaError(self._path, "no frame decodable after seeking to the start")
            elif first.index <= index or at_start:
                break
            # Landed on a keyframe shown after the target (seek goes by decode time with
            # B-frames, or the index is coarse): go further back and try again.
            back_frames = max(forward_limit_frames, 2 * back_frames)
            logger.debug(
                "%s: seek for frame %d overshot; retrying %d frames earlier",
                self._path,
                index,
                back_frames,
            )
        if first.index > index:  # nothing earlier exists: the first frame out is the answer
            return first
        return self._decode_forward_to(index)

    def _seek(self, pts: int) -> None:
        try:
            self._container.seek(pts, backward=True, any_frame=False, stream=self._stream)
        except av.FFmpegError as exc:
            raise MediaError(self._path, f"seek to pts {pts} failed: {exc}") from exc
        self.seek_count += 1
        # A fresh generator: the old one may hold frames decoded before the seek.
        self._frame_iter = self._decode_packets()
        self._refused, self._damaged_since = False, None  # a seek lands on a keyframe
        self._head = None
        self._eof = False

    def _publish(self, decoded: _Decoded) -> VideoFrame:
        if self._current is not None and self._current.index == decoded.index:
            return self._current
        av_frame = decoded.av_frame
        pts_s = self._starts_s[decoded.index]
        colour = self._colour
        if self._want_planes and av_frame.format.name in _PLANAR_YUV:
            y, u, v = (_plane_array(plane) for plane in av_frame.planes[:3])
            planes = YuvPlanes(y, u, v, colour.matrix, colour.full_range)
            frame = VideoFrame(None, decoded.index, pts_s, planes)
        else:
            rgb = av_frame.reformat(
                format="rgb24",
                src_colorspace=Colorspace.ITU709 if colour.matrix == "bt709" else Colorspace.ITU601,
                src_color_range=ColorRange.JPEG if colour.full_range else ColorRange.MPEG,
            )
            image = rgb.to_ndarray()
            image.flags.writeable = False
            self.converted_frame_count += 1
            frame = VideoFrame(image, decoded.index, pts_s)
        self._current = frame
        return frame

    # ------------------------------------------------------------------ time maths

    def _pts_to_index(self, pts: int) -> int:
        index = self._pts_index.get(pts)
        if index is None:  # a frame the demuxer did not list: the slot it falls in
            index = max(bisect.bisect_right(self._pts_table, pts) - 1, 0)
        return index

    def _frames_to_ticks(self, frames: int) -> int:
        return frames_to_ticks(frames, self._time_base, self._rate)

    # ------------------------------------------------------------------ lifetime

    def _release(self) -> None:
        self._head = None
        self._current = None

    def __repr__(self) -> str:
        return (
            f"VideoClip({str(self._path)!r}, {self._size_px[0]}x{self._size_px[1]}, "
            f"{self.fps:g} fps, {self.frame_count} frames)"
        )


def _plane_array(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A decoder plane as a read-only (height, width) uint8 array (copied out of the frame)."""
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    array = np.ascontiguousarray(rows[:, : plane.width])
    array.flags.writeable = False
    return array
