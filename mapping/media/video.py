"""Frame-exact video playback driven by a media time (PyAV), with no free-running decoder.

:class:`VideoClip` owns one open video file. The picture it returns is a pure function of
the media time asked for: :meth:`VideoClip.frame_at` gives the frame whose display
interval contains ``media_time_s`` (``pts <= t < next pts``), whatever was asked before.
The show clock decides the time; the clip only decodes what that time needs.

Timing model: the clip is treated as constant frame rate at the stream's average rate.
Frame ``index`` (0-based) is shown from ``index / fps`` seconds, counted from the first
decoded frame (a stream ``start_time`` offset is removed), so ``duration_s`` is
``frame_count / fps``. A decoded frame's index is its presentation timestamp rounded to the
nearest frame slot. Variable-rate files play at their average rate, holding the previous
frame across gaps. This maths is pure and module-level (:func:`frame_index_at`,
:func:`pts_to_index`, :func:`index_to_pts`, :func:`frames_to_ticks`), so it is tested for
any rate and time base without a file.

Decoding strategy (what keeps random access frame-exact and forward playback cheap):

* the same frame asked again is served from a one-frame cache, nothing is decoded;
* a frame a little ahead (up to about one second) is reached by decoding forward;
* anything else (backwards, far ahead) seeks to the keyframe at or before the target
  (``container.seek(ts, backward=True, stream=...)`` in stream time base) and decodes
  forward to the exact frame. Demuxers seek by *decode* timestamps, so with B-frames a
  seek can land on a keyframe that is *displayed after* the target; that is detected
  (the first frame out is past the target) and the seek retried further back.

Images come back as read-only uint8 RGB arrays shaped ``(H, W, 3)``, row 0 at the top.
With ``VideoClip(path, yuv_planes=True)`` and a stream in 8-bit planar YUV (4:2:0, 4:2:2 or
4:4:4, limited or full range) frames carry the decoder's own Y, U and V planes instead,
with no colour conversion on the CPU: the renderer uploads them as they are and converts in
its shader with :func:`yuv_to_rgb_matrix`. Other pixel formats still come back as RGB.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.container
import av.video
import numpy as np

from mapping.media.errors import MediaError

logger = logging.getLogger(__name__)

EXPECTED_VIDEO = "expected a video file (MP4, MOV, MKV, … with a video stream)"

# How far ahead (in seconds of media time) decoding forward is preferred over seeking.
FORWARD_DECODE_LIMIT_S = 1.0

# Tolerance when turning a media time into a frame slot, so that t == index / fps
# (computed in floating point) lands on ``index``, never on ``index - 1``.
_SLOT_EPSILON = 1e-6


# 8-bit planar YUV formats whose planes can be uploaded as they are.
_PLANAR_YUV = {
    "yuv420p": False, "yuvj420p": True, "yuv422p": False, "yuvj422p": True,
    "yuv444p": False, "yuvj444p": True,
}  # fmt: skip
# AVColorSpace values that mean BT.709 (1) and BT.601 (5: BT470BG, 6: SMPTE 170M).
_AVCOL_SPC_BT709 = 1
_AVCOL_SPC_BT601 = (5, 6)
_AVCOL_RANGE_JPEG = 2


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
        index: 0-based frame number in the clip.
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


def frame_index_at(media_time_s: float, rate: Fraction, frame_count: int, loop: bool) -> int:
    """The frame shown at ``media_time_s`` in a clip of ``frame_count`` frames at ``rate`` fps.

    Frame ``i`` is shown for ``i / rate <= t < (i + 1) / rate``. With ``loop`` the time wraps
    modulo ``frame_count / rate`` (negative times too); without, it clamps to the first and
    last frame. Raises ``ValueError`` for a non-finite time.
    """
    if not math.isfinite(media_time_s):
        raise ValueError(f"media_time_s must be finite, got {media_time_s!r}")
    if loop:
        media_time_s = media_time_s % float(frame_count / rate)
    index = math.floor(media_time_s * float(rate) + _SLOT_EPSILON)
    return min(max(index, 0), frame_count - 1)


def pts_to_index(pts: int, first_pts: int, time_base: Fraction, rate: Fraction) -> int:
    """The frame slot of a presentation timestamp: its time since the first frame, rounded
    to the nearest frame."""
    return round((pts - first_pts) * time_base * rate)


def index_to_pts(index: int, first_pts: int, time_base: Fraction, rate: Fraction) -> int:
    """The timestamp (in ``time_base`` ticks) at which frame ``index`` starts, rounded down."""
    return first_pts + math.floor(index / (rate * time_base))


def frames_to_ticks(frames: int, time_base: Fraction, rate: Fraction) -> int:
    """How many ``time_base`` ticks ``frames`` frames last, rounded up."""
    return math.ceil(frames / (rate * time_base))


def _yuv_matrix_name(colorspace: int, height_px: int) -> str:
    """The stream's YUV matrix; untagged streams guess by size (SD: BT.601, HD: BT.709)."""
    if colorspace == _AVCOL_SPC_BT709:
        return "bt709"
    if colorspace in _AVCOL_SPC_BT601:
        return "bt601"
    return "bt709" if height_px >= 720 else "bt601"


@dataclass(frozen=True)
class _Decoded:
    """A frame pulled from the decoder, not yet converted to RGB."""

    index: int
    pts: int
    av_frame: av.VideoFrame


class VideoClip:
    """A video file whose frames are looked up by media time (see module docstring).

    Raises:
        MediaError: the file is missing, is not a decodable media file, has no video
            stream, or its video stream yields no frame with a timestamp.
    """

    def __init__(self, path: Path | str, *, yuv_planes: bool = False) -> None:
        self._path = Path(path)
        self._want_planes = yuv_planes
        if not self._path.exists():
            raise MediaError(self._path, f"file not found ({EXPECTED_VIDEO})")
        if not self._path.is_file():
            raise MediaError(self._path, f"not a file ({EXPECTED_VIDEO})")
        try:
            container = av.open(str(self._path), mode="r")
        except av.FFmpegError as exc:
            raise MediaError(
                self._path, f"not a decodable media file ({EXPECTED_VIDEO}): {exc}"
            ) from exc
        self._container: av.container.InputContainer = container
        self._closed = False
        try:
            self._init_stream()
        except BaseException:
            self._container.close()
            self._closed = True
            raise

    def _init_stream(self) -> None:
        if not self._container.streams.video:
            kinds = sorted({s.type for s in self._container.streams}) or ["no streams"]
            raise MediaError(
                self._path, f"no video stream, found {', '.join(kinds)} ({EXPECTED_VIDEO})"
            )
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._stream: av.video.VideoStream = stream
        if stream.time_base is None:
            raise MediaError(self._path, f"video stream has no time base ({EXPECTED_VIDEO})")
        self._time_base: Fraction = stream.time_base
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise MediaError(self._path, f"video stream has no frame rate ({EXPECTED_VIDEO})")
        self._rate: Fraction = Fraction(rate)

        # Internal counters, read by tests and diagnostics.
        self.decoded_frame_count = 0  # frames pulled out of the decoder
        self.converted_frame_count = 0  # frames converted to RGB arrays
        self.seek_count = 0  # container seeks, retries included

        self._frame_iter = self._container.decode(self._stream)
        self._head: _Decoded | None = None  # latest frame pulled from the decoder
        self._eof = False
        self._current: VideoFrame | None = None  # last frame returned (the cache)

        # The first decoded frame fixes the time origin and proves the stream decodes.
        self._first_pts = 0
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
        self._head = _Decoded(0, self._first_pts, first)

        if stream.frames and stream.frames > 0:
            frame_count = int(stream.frames)
        else:
            if stream.duration is not None:
                duration_s = float(stream.duration * self._time_base)
            elif self._container.duration is not None:
                duration_s = self._container.duration / av.time_base
            else:
                duration_s = 0.0
            frame_count = round(duration_s * self._rate)
        self._frame_count = max(1, frame_count)
        self._size_px = (int(stream.codec_context.width), int(stream.codec_context.height))
        if self._size_px[0] <= 0 or self._size_px[1] <= 0:
            self._size_px = (first.width, first.height)
        self._forward_limit_frames = max(1, math.ceil(FORWARD_DECODE_LIMIT_S * self._rate))
        logger.debug(
            "%s: opened %dx%d, %.3f fps, %d frames, time base %s, first pts %d",
            self._path,
            *self._size_px,
            self.fps,
            self._frame_count,
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
        return float(self._rate)

    @property
    def frame_count(self) -> int:
        return self._frame_count

    @property
    def duration_s(self) -> float:
        """``frame_count / fps``: the end of the last frame's display interval."""
        return float(self._frame_count / self._rate)

    # ------------------------------------------------------------------ lookup

    def index_at(self, media_time_s: float, loop: bool = True) -> int:
        """The frame index shown at ``media_time_s`` (wrapped if ``loop``, else clamped)."""
        return frame_index_at(media_time_s, self._rate, self._frame_count, loop)

    def frame_at(self, media_time_s: float, loop: bool = True) -> VideoFrame:
        """The frame whose display interval contains ``media_time_s``.

        With ``loop`` the time wraps modulo :attr:`duration_s` (negative times too);
        without, times before 0 give the first frame and times past the end the last.
        """
        return self.frame_at_index(self.index_at(media_time_s, loop))

    def frame_at_index(self, index: int) -> VideoFrame:
        """Frame ``index`` (0-based, clamped to the clip)."""
        self._check_open()
        index = min(max(int(index), 0), self._frame_count - 1)
        if self._current is not None and self._current.index == index:
            return self._current
        head = self._head
        if (
            head is not None
            and head.index <= index
            and (index - head.index <= self._forward_limit_frames)
            and not (self._eof and head.index < index)
        ):
            decoded = self._decode_forward_to(index)
        else:
            decoded = self._seek_to(index)
        if decoded.index != index:
            logger.debug("%s: frame %d not in stream, showing %d", self._path, index, decoded.index)
        return self._publish(decoded)

    # ------------------------------------------------------------------ decoding

    def _pull_raw(self) -> av.VideoFrame | None:
        """Next frame from the decoder, or None at the end of the stream."""
        try:
            av_frame = next(self._frame_iter)
        except StopIteration:
            self._eof = True
            return None
        except av.FFmpegError as exc:
            raise MediaError(self._path, f"decoding failed: {exc}") from exc
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
            decoded = _Decoded(self._pts_to_index(pts), pts, av_frame)
            self._head = decoded
            return decoded

    def _decode_forward_to(self, index: int) -> _Decoded:
        """Decode forward from the head to frame ``index`` (head.index <= index).

        Returns frame ``index``, or, where the stream has no frame in that slot, the last
        frame before it (the one whose display interval covers the slot); at the end of
        the stream, the last frame.
        """
        best = self._head
        if best is not None and best.index > index:
            raise AssertionError("decode forward past the target")  # caller's contract
        while best is None or best.index < index:
            nxt = self._pull()
            if nxt is None:  # end of stream before the target
                if best is None:
                    raise MediaError(self._path, f"no frame decodable at or before {index}")
                if best.index < self._frame_count - 1:
                    logger.warning(
                        "%s: stream ends at frame %d, header said %d frames",
                        self._path,
                        best.index,
                        self._frame_count,
                    )
                    self._frame_count = best.index + 1
                return best
            if nxt.index > index:  # gap in the stream: keep showing the previous frame
                return best if best is not None else nxt
            best = nxt
        return best

    def _seek_to(self, index: int) -> _Decoded:
        """Seek to the keyframe at or before frame ``index`` and decode forward to it."""
        target_ts = self._index_to_pts(index)
        back_frames = 0
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
            back_frames = max(self._forward_limit_frames, 2 * back_frames)
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
        self._frame_iter = self._container.decode(self._stream)
        self._head = None
        self._eof = False

    def _publish(self, decoded: _Decoded) -> VideoFrame:
        if self._current is not None and self._current.index == decoded.index:
            return self._current
        av_frame = decoded.av_frame
        pts_s = float((decoded.pts - self._first_pts) * self._time_base)
        full_range = _PLANAR_YUV.get(av_frame.format.name)
        if self._want_planes and full_range is not None:
            y, u, v = (_plane_array(plane) for plane in av_frame.planes[:3])
            planes = YuvPlanes(
                y, u, v,
                _yuv_matrix_name(int(av_frame.colorspace), av_frame.height),
                full_range or int(av_frame.color_range) == _AVCOL_RANGE_JPEG,
            )  # fmt: skip
            frame = VideoFrame(None, decoded.index, pts_s, planes)
        else:
            image = av_frame.to_ndarray(format="rgb24")
            image.flags.writeable = False
            self.converted_frame_count += 1
            frame = VideoFrame(image, decoded.index, pts_s)
        self._current = frame
        return frame

    # ------------------------------------------------------------------ time maths

    def _pts_to_index(self, pts: int) -> int:
        return pts_to_index(pts, self._first_pts, self._time_base, self._rate)

    def _index_to_pts(self, index: int) -> int:
        return index_to_pts(index, self._first_pts, self._time_base, self._rate)

    def _frames_to_ticks(self, frames: int) -> int:
        return frames_to_ticks(frames, self._time_base, self._rate)

    # ------------------------------------------------------------------ lifetime

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self._path}: clip is closed")

    def close(self) -> None:
        """Release the file and decoder. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._head = None
        self._current = None
        self._container.close()

    def __enter__(self) -> VideoClip:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"VideoClip({str(self._path)!r}, {self._size_px[0]}x{self._size_px[1]}, "
            f"{self.fps:g} fps, {self._frame_count} frames)"
        )


def _plane_array(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A decoder plane as a read-only (height, width) uint8 array (copied out of the frame)."""
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    array = np.ascontiguousarray(rows[:, : plane.width])
    array.flags.writeable = False
    return array
