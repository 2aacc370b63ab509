"""Sample-exact audio playback driven by a media time (PyAV), with no free-running decoder.

:class:`AudioClip` owns one open file: an audio file (WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis or
Opus, …) or a video whose own audio track is wanted. Its sound is decoded and resampled
(``av.AudioResampler``) to the output's rate and channel layout as float32, and
:meth:`AudioClip.samples` returns the ``n`` samples starting at any sample index, whatever
was asked before, exactly like :meth:`mapping.media.video.VideoClip.frame_at` for pictures.

Timing model: output sample ``i`` (at :attr:`AudioClip.rate`) sounds at media time
``i / rate``. Media time 0 is the first video frame for a file with a video stream (so a
clip's picture and sound line up as the file says) and the audio stream's start otherwise;
samples a file has before that origin are dropped and gaps are silence. ``loop`` wraps the
index modulo :attr:`AudioClip.frames`; without it, outside ``[0, frames)`` is silence (the
picture holds its last frame, sound stops).

Decoding strategy: a small buffer of decoded chunks (about a second behind the read head);
reading a little ahead decodes forward; anything else seeks (a little before the target,
so decoders with overlap such as MP3 and AAC have warmed up) and decodes forward.
``frames`` comes from the container's header; where decoding reaches the real end first it
is corrected (a warning names the file).

Bad input is a :class:`~mapping.media.errors.MediaError` naming the file: missing, not
decodable, no audio stream. A decoding error mid-file logs a warning and reads as silence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from mapping.media.errors import MediaError
from mapping.media.mediafile import MediaFile

logger = logging.getLogger(__name__)

EXPECTED_AUDIO = "expected an audio file (WAV, FLAC, MP3, AAC, Ogg) or a video with sound"

DEFAULT_RATE = 48000
"""Output sample rate (Hz) unless told otherwise: what projectors' HDMI and pro cards run."""

FORWARD_DECODE_LIMIT_S = 1.0
"""How far ahead of the decoded buffer a read decodes forward instead of seeking."""

KEEP_BEHIND_S = 1.0
"""Decoded sound kept behind the last read (bounded memory whatever the clip's length)."""

SEEK_PREROLL_S = 0.2
"""Seeks land this much before the target: MP3/AAC frames overlap their predecessors."""

_LAYOUTS = {1: "mono", 2: "stereo"}


def layout_for(channels: int) -> str:
    """FFmpeg channel layout name for an output with ``channels`` channels."""
    if channels in _LAYOUTS:
        return _LAYOUTS[channels]
    if channels < 1 or channels > 8:
        raise ValueError(f"channels must be 1..8, got {channels}")
    return av.AudioLayout(channels).name


class AudioClip(MediaFile):
    """One audio track, read as float32 ``(n, channels)`` blocks for any sample index.

    Args:
        path: an audio file, or a video file with an audio track.
        rate: output sample rate in Hz.
        channels: output channels (mono is copied to both sides of stereo by FFmpeg's
            rematrixing; more channels than the output are downmixed).

    Raises:
        MediaError: missing file, not a decodable media file, or no audio stream.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        rate: int = DEFAULT_RATE,
        channels: int = 2,
        in_s: float | None = None,
        out_s: float | None = None,
    ) -> None:
        self._path = Path(path)
        self._in_s, self._out_s = in_s, out_s
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._rate = int(rate)
        self._channels = int(channels)
        self._layout = layout_for(self._channels)
        self._open(self._path, EXPECTED_AUDIO)
        self._start(self._init_and_check)

    def _init_and_check(self) -> None:
        self._init_stream()
        self._check_window()

    def _check_window(self) -> None:
        for value in (self._in_s, self._out_s):
            if value is not None and not math.isfinite(value):
                raise MediaError(self._path, "in and out points must be finite seconds")
        if self._window()[1] <= self._window()[0]:
            raise MediaError(
                self._path,
                f"in point {self._in_s or 0:g} s and out point {self._out_s} s leave no sound "
                f"(the file lasts {self._frames / self._rate:g} s)",
            )

    def _window(self) -> tuple[int, int]:
        """The in and out points as output samples of the file, ``[in, out)``."""
        first = 0 if self._in_s is None else max(0, round(self._in_s * self._rate))
        end = self._frames
        if self._out_s is not None:
            end = min(end, round(self._out_s * self._rate))
        return first, end

    def _init_stream(self) -> None:
        if not self._container.streams.audio:
            kinds = sorted({s.type for s in self._container.streams}) or ["no streams"]
            raise MediaError(
                self._path, f"no audio stream, found {', '.join(kinds)} ({EXPECTED_AUDIO})"
            )
        stream = self._container.streams.audio[0]
        if stream.time_base is None:
            raise MediaError(self._path, f"audio stream has no time base ({EXPECTED_AUDIO})")
        self._stream = stream
        self._time_base: Fraction = stream.time_base
        video = self._container.streams.video
        origin: Fraction | None = None
        if video and video[0].start_time is not None and video[0].time_base is not None:
            origin = video[0].start_time * video[0].time_base
        elif stream.start_time is not None:
            origin = stream.start_time * self._time_base
        self._origin_s: Fraction | None = origin  # fixed by the first frame if unknown

        self.decoded_frame_count = 0  # decoder frames pulled (tests, diagnostics)
        self.seek_count = 0
        self._chunks: list[tuple[int, np.ndarray]] = []  # contiguous (start index, samples)
        self._iter: Iterator[av.AudioFrame] | None = None
        self._resampler: av.AudioResampler | None = None
        self._head = 0  # index of the next sample the decoder will produce
        self._eof = False
        self._failed = False

        self._source_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        self._source_channels = int(stream.codec_context.channels or 0)
        if stream.duration is not None:
            duration_s = float(stream.duration * self._time_base)
            if stream.codec_context.name == "opus" and self._source_rate:
                # Ogg Opus counts the decoder's pre-skip (which it drops) in the length.
                duration_s -= int(stream.codec_context.delay or 0) / self._source_rate
        elif self._container.duration is not None:
            duration_s = self._container.duration / av.time_base
        else:
            duration_s = 0.0
        self._frames_from_header = duration_s > 0.0
        self._frames = max(0, round(duration_s * self._rate))
        # The first block proves the stream decodes (and fixes the origin if unknown).
        self._restart(None)
        if not self._decode_more():
            raise MediaError(self._path, f"audio stream has no decodable sound ({EXPECTED_AUDIO})")
        if self._frames == 0:  # no duration in the header: read it all once
            while self._decode_more():
                pass
            self._frames = self._head
        logger.debug(
            "%s: audio %d Hz %d ch → %d Hz %s, %d samples (%.3f s)",
            self._path,
            self._source_rate,
            self._source_channels,
            self._rate,
            self._layout,
            self._frames,
            self.duration_s,
        )

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        return self._path

    @property
    def rate(self) -> int:
        """Output sample rate (Hz)."""
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def frames(self) -> int:
        """Length in output samples (per channel), between the in and out points when the
        clip has them (media time 0 is the in point, as for ``VideoClip``)."""
        first, end = self._window()
        return max(0, end - first)

    @property
    def duration_s(self) -> float:
        return self.frames / self._rate

    @property
    def buffered_samples(self) -> int:
        """Decoded samples held in memory now (bounded: about :data:`KEEP_BEHIND_S` behind
        the last read plus one decoder block)."""
        return sum(len(chunk) for _, chunk in self._chunks)

    @property
    def source_rate(self) -> int:
        """The file's own sample rate (Hz)."""
        return self._source_rate

    @property
    def source_channels(self) -> int:
        return self._source_channels

    # ------------------------------------------------------------------ reading

    def index_at(self, media_time_s: float) -> int:
        """The sample sounding at ``media_time_s`` (nearest sample start)."""
        return math.floor(media_time_s * self._rate + 0.5)

    def samples_at(self, media_time_s: float, n: int, loop: bool = True) -> np.ndarray:
        """``n`` samples from the one at ``media_time_s`` (see :meth:`samples`)."""
        return self.samples(self.index_at(media_time_s), n, loop)

    def samples(self, start: int, n: int, loop: bool = True) -> np.ndarray:
        """float32 ``(n, channels)``: samples ``start .. start + n`` of the clip.

        With ``loop`` indices wrap modulo :attr:`frames` (negative ones too); without, the
        samples outside the clip are silence.
        """
        self._check_open()
        out = np.zeros((max(0, n), self._channels), dtype=np.float32)
        offset, _ = self._window()
        total = self.frames
        if n <= 0 or total <= 0:
            return out
        pos = 0
        while pos < n:
            index = start + pos
            if loop:
                index %= total
            elif index < 0:
                skip = min(n - pos, -index)
                pos += skip
                continue
            elif index >= total:
                break
            count = min(n - pos, total - index)
            self._read_into(out[pos : pos + count], offset + index)
            pos += count
        return out

    def _read_into(self, out: np.ndarray, start: int) -> None:
        """Fill ``out`` with samples ``start ..`` (within ``[0, frames)``)."""
        end = start + len(out)
        first = self._chunks[0][0] if self._chunks else self._head
        if not (first <= start <= self._head + FORWARD_DECODE_LIMIT_S * self._rate):
            self._restart(start)
            self._decode_more()
            if self._chunks and self._chunks[0][0] > start:  # the seek overshot
                logger.debug("%s: seek for sample %d overshot; from the start", self._path, start)
                self._restart(None)
        while self._head < end and self._decode_more():
            pass
        for chunk_start, chunk in self._chunks:
            lo, hi = max(start, chunk_start), min(end, chunk_start + len(chunk))
            if lo < hi:
                out[lo - start : hi - start] = chunk[lo - chunk_start : hi - chunk_start]
        keep_from = start - int(KEEP_BEHIND_S * self._rate)
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) < keep_from:
            self._chunks.pop(0)

    # ------------------------------------------------------------------ decoding

    def _restart(self, target: int | None) -> None:
        """Start decoding afresh: from the file's start (``None``) or before ``target``.

        Near the start the file is opened again rather than sought: a seek to 0 skips the
        encoder's priming packet (AAC in MP4 stores it before 0), and the first block
        would decode without its overlap.
        """
        self._chunks = []
        self._eof = False
        self._resampler = av.AudioResampler(format="flt", layout=self._layout, rate=self._rate)
        self._head = 0
        self._placed = False  # the first frame's timestamp places the head
        self._align = 0  # source samples to drop from the first frame (resampler phase)
        ts = 0
        if target is not None:
            origin = self._origin_s or Fraction(0)
            seconds = Fraction(target, self._rate) + origin - Fraction(SEEK_PREROLL_S)
            ts = math.floor(seconds / self._time_base)
        start = self._stream.start_time or 0
        if ts <= start:
            if self.decoded_frame_count:
                self._reopen()
        else:
            try:
                self._container.seek(ts, backward=True, any_frame=False, stream=self._stream)
                self.seek_count += 1
            except av.FFmpegError as exc:
                logger.warning("%s: seek failed (%s); decoding from the start", self._path, exc)
                self._reopen()
            else:
                self._align = 1  # the first frame after a seek starts at an arbitrary sample
        self._iter = self._container.decode(self._stream)

    def _reopen(self) -> None:
        self._container.close()
        try:
            self._container = av.open(str(self._path), mode="r")
        except av.FFmpegError as exc:
            raise MediaError(self._path, f"could not be opened again: {exc}") from exc
        self._stream = self._container.streams.audio[0]
        self.seek_count += 1

    def _decode_more(self) -> bool:
        """Decode one more block into the buffer; False at the end of the stream."""
        if self._eof or self._iter is None:
            return False
        try:
            frame = next(self._iter)
        except StopIteration:
            frame = None
        except av.FFmpegError as exc:
            if not self._failed:
                logger.warning("%s: decoding failed (%s); silence from here", self._path, exc)
                self._failed = True
            frame = None
        if frame is None:
            self._eof = True
            if self._resampler is not None and self._placed:
                for out in self._resampler.resample(None):
                    self._append(out)
            if self._placed and self._head < self._frames and not self._failed:
                if self._frames_from_header and self._frames - self._head > 1:
                    logger.warning(
                        "%s: sound ends at sample %d, header said %d",
                        self._path,
                        self._head,
                        self._frames,
                    )
                self._frames = self._head
            return False
        self.decoded_frame_count += 1
        if not self._placed:  # first frame after a (re)start: place it in time
            if frame.pts is None:
                raise MediaError(self._path, f"audio frames carry no timestamps ({EXPECTED_AUDIO})")
            t = Fraction(frame.pts) * self._time_base
            if self._origin_s is None:
                self._origin_s = t
            if self._align and frame.sample_rate != self._rate:
                frame, t = self._phase_align(frame, t)
            self._head = math.floor((t - self._origin_s) * self._rate + Fraction(1, 2))
            self._placed = True
        assert self._resampler is not None
        for out in self._resampler.resample(frame):
            self._append(out)
        return True

    def _phase_align(self, frame: av.AudioFrame, t: Fraction) -> tuple[av.AudioFrame, Fraction]:
        """After a seek with resampling: drop the first frame's leading samples so that it
        starts on a sample where source and output sample grids meet, as they did at the
        file's start (else the output is up to half a sample off, and differs from a
        decode from the start)."""
        src = int(frame.sample_rate)
        step = src // math.gcd(src, self._rate)  # source samples between grid meetings
        origin = self._origin_s or Fraction(0)
        pos = (t - origin) * src  # source-sample position of the frame's first sample
        drop = math.ceil(pos / step) * step - pos
        if drop != int(drop) or drop >= frame.samples:
            return frame, t  # timestamps off the source grid, or too short: leave it
        drop = int(drop)
        if drop == 0:
            return frame, t
        data = frame.to_ndarray()
        planar = frame.format.is_planar
        trimmed = data[:, drop:] if planar else data[:, drop * len(frame.layout.channels) :]
        out = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(trimmed), format=frame.format.name, layout=frame.layout.name
        )
        out.sample_rate = src
        t += Fraction(drop, src)
        out.pts = None
        return out, t

    def _append(self, frame: av.AudioFrame) -> None:
        data = frame.to_ndarray().reshape(-1, self._channels).astype(np.float32, copy=False)
        start = self._head
        self._head += len(data)
        if self._head <= 0:
            return  # before the origin
        if start < 0:
            data, start = data[-start:], 0
        data.flags.writeable = False
        self._chunks.append((start, data))

    # ------------------------------------------------------------------ lifetime

    def _release(self) -> None:
        self._chunks = []
        self._iter = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.duration_s:.3f} s"
        return f"AudioClip({str(self._path)!r}, {self._rate} Hz, {self._channels} ch, {state})"
