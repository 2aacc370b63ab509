"""Encoding RGB frames (and a soundtrack) to an H.264 MP4 file (offline renders, test clips).

:class:`VideoWriter` owns one output file. Frame ``n`` written gets presentation time
``n / fps``: the stream time base is ``1 / fps`` and frame ``n`` has ``pts == n`` at the
encoder (the MP4 muxer may store another time base in the file; readers rescale).

Frames are RGB (or RGBA, whose alpha is dropped) uint8 arrays shaped ``(H, W, C)`` with
row 0 at the top, converted to BT.601 limited-range YUV and tagged so (matrix, primaries,
transfer: SMPTE 170M), so every player converts them back the same way. H.264 in yuv420p
needs even dimensions: for an odd ``size_px`` the encoded picture is one pixel wider and/or
taller, and the extra column/row on the right and/or bottom is black.
:attr:`VideoWriter.encoded_size_px` says what is in the file.

With ``audio_rate`` the file also gets a sound stream (AAC; lossless FLAC in a fragmented
file, which has no edit list to hide AAC's priming): :meth:`VideoWriter.write_audio`
appends float32 samples, and sample ``k`` written has presentation time ``k / audio_rate``,
so a recorder that writes the samples of ``[n / fps, (n + 1) / fps)`` with frame ``n``
keeps sound and picture sample-exact. The encoder's priming (1024 samples before the
first) is recorded in the MP4's edit list, which decoders (FFmpeg, players) honour: the
first decoded sample is the first one written.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

logger = logging.getLogger(__name__)


FRAGMENTED_MP4_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof+frag_every_frame",
    "flush_packets": "1",
}
"""Muxer options of a fragmented MP4 that stays playable if the writer is killed: every
frame its own fragment, flushed to the file."""
FRAGMENTED_MP4_WITH_SOUND_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": "500000",
    "flush_packets": "1",
}
"""The same with a sound stream: a fragment at least every 0.5 s. (With ``frag_every_frame``
and sound, FFmpeg drops the end of the sound stream and the last video frame.)"""


def fps_to_fraction(fps: float | Fraction) -> Fraction:
    """Turn a frame rate into an exact fraction (29.97002997 → 30000/1001, 25.0 → 25)."""
    rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    return rate


class VideoWriter:
    """Writes RGB uint8 frames to an MP4 file with H.264 (libx264, yuv420p).

    Args:
        path: the ``.mp4`` file to create (overwritten if it exists; parent must exist).
        size_px: ``(width, height)`` of the frames that will be written.
        fps: frames per second; frame ``n`` is shown at ``n / fps`` seconds.
        gop: keyframe interval in frames (``None``: the encoder's default). With a value,
            scene-cut keyframes are disabled, so keyframes fall exactly every ``gop`` frames.
        crf: x264 constant rate factor (lower = better; 18 is visually lossless-ish).
        preset: x264 speed/size preset.
        audio_rate: sample rate of a soundtrack (``None``: no audio stream).
        audio_channels: its channels.
        audio_bitrate: AAC bit rate (bits/s).
        fragmented: write a fragmented MP4 (``movflags=frag_keyframe+empty_moov+
            default_base_moof+frag_every_frame``, every packet flushed to the file): a process
            killed mid-way leaves a file that plays up to the last frame the encoder had
            finished (x264 holds about 40 frames of look-ahead), instead of an unplayable
            one whose index was never written. With a sound stream the fragments are 0.5 s
            instead (:data:`FRAGMENTED_MP4_WITH_SOUND_OPTIONS`) and the sound is FLAC.
            Offline renders use it; such a file has no frame count in its header
            (``stream.frames == 0``), so clips meant as media keep the default.
    """

    def __init__(
        self,
        path: Path | str,
        size_px: tuple[int, int],
        fps: float | Fraction,
        *,
        gop: int | None = None,
        crf: int = 18,
        preset: str = "medium",
        audio_rate: int | None = None,
        audio_channels: int = 2,
        audio_bitrate: int = 256_000,
        fragmented: bool = False,
    ) -> None:
        width_px, height_px = (int(v) for v in size_px)
        if width_px <= 0 or height_px <= 0:
            raise ValueError(f"size_px must be positive, got {size_px!r}")
        if gop is not None and gop < 1:
            raise ValueError(f"gop must be >= 1, got {gop!r}")
        self._path = Path(path)
        self._size_px = (width_px, height_px)
        self._encoded_size_px = (width_px + width_px % 2, height_px + height_px % 2)
        self._rate = fps_to_fraction(fps)
        # Kept apart from ``stream.time_base``: the MP4 muxer replaces the stream's time
        # base (e.g. with 1/12800) when it writes the header at the first mux, and frames
        # stamped with that would be rescaled to the wrong pts.
        self._time_base = 1 / self._rate
        self._frames_written = 0
        self._closed = False

        container_options: dict[str, str] = {}
        if fragmented:
            with_sound = audio_rate is not None
            container_options = (
                FRAGMENTED_MP4_WITH_SOUND_OPTIONS if with_sound else FRAGMENTED_MP4_OPTIONS
            )
        self._container = av.open(
            str(self._path), mode="w", format="mp4", options=dict(container_options)
        )
        try:
            options = {"crf": str(crf), "preset": preset}
            if gop is not None:
                options["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0"
            stream = self._container.add_stream("libx264", rate=self._rate, options=options)
            stream.width, stream.height = self._encoded_size_px
            stream.pix_fmt = "yuv420p"
            stream.time_base = self._time_base
            # Frames are converted with libswscale's default, BT.601 limited range: say so
            # in the stream, so players (and VideoClip) do not guess BT.709 for HD sizes.
            context = stream.codec_context
            context.colorspace = context.color_primaries = context.color_trc = 6  # SMPTE 170M
            context.color_range = 1  # limited (MPEG)
            if gop is not None:
                stream.codec_context.gop_size = gop
            self._audio: av.audio.stream.AudioStream | None = None
            if audio_rate is not None:
                from mapping.media.audio import layout_for

                # AAC starts with 1024 priming samples that only an edit list tells players
                # to skip, and FFmpeg writes no edit list in a fragmented MP4: the soundtrack
                # would be 21 ms late. A fragmented file carries lossless FLAC instead (no
                # priming: sample-exact), a plain one AAC.
                codec = "flac" if fragmented else "aac"
                audio = self._container.add_stream(codec, rate=int(audio_rate))
                audio.layout = layout_for(audio_channels)
                audio.format = "s16" if fragmented else "fltp"
                if not fragmented:
                    audio.bit_rate = int(audio_bitrate)
                audio.time_base = Fraction(1, int(audio_rate))
                self._audio = audio
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        self._audio_rate = audio_rate
        self._audio_channels = audio_channels
        self._audio_pending = np.zeros((0, audio_channels), np.float32)
        self._samples_written = 0  # samples handed to the encoder (pts of the next frame)
        self._samples_received = 0
        if self._encoded_size_px != self._size_px:
            logger.info(
                "%s: odd size %dx%d padded to %dx%d with black",
                self._path,
                *self._size_px,
                *self._encoded_size_px,
            )

    @property
    def path(self) -> Path:
        return self._path

    @property
    def size_px(self) -> tuple[int, int]:
        """``(width, height)`` of the frames :meth:`write` accepts."""
        return self._size_px

    @property
    def encoded_size_px(self) -> tuple[int, int]:
        """``(width, height)`` stored in the file: :attr:`size_px` rounded up to even."""
        return self._encoded_size_px

    @property
    def fps(self) -> float:
        return float(self._rate)

    @property
    def frames_written(self) -> int:
        return self._frames_written

    @property
    def samples_written(self) -> int:
        """Soundtrack samples (per channel) received by :meth:`write_audio`."""
        return self._samples_received

    def write_audio(self, samples: np.ndarray) -> None:
        """Append float32 ``(n, channels)`` samples to the soundtrack (values -1..1)."""
        if self._closed:
            raise ValueError(f"{self._path}: writer is closed")
        if self._audio is None:
            raise ValueError(f"{self._path}: made without audio_rate, no soundtrack")
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != self._audio_channels:
            raise ValueError(
                f"{self._path}: expected samples shaped (n, {self._audio_channels}), "
                f"got {data.shape}"
            )
        self._samples_received += len(data)
        self._audio_pending = np.concatenate([self._audio_pending, data])
        self._encode_audio(final=False)

    def _encode_audio(self, final: bool) -> None:
        audio = self._audio
        if audio is None:
            return
        size = audio.codec_context.frame_size or 1024
        pending = self._audio_pending
        while len(pending) >= size or (final and len(pending)):
            chunk, pending = pending[:size], pending[size:]
            if audio.format.name == "s16":  # interleaved 16-bit (FLAC)
                pcm = np.round(np.clip(chunk, -1.0, 1.0) * 32767.0).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(
                    pcm.reshape(1, -1), format="s16", layout=audio.layout.name
                )
            else:
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk.T), format="fltp", layout=audio.layout.name
                )
            frame.sample_rate = self._audio_rate
            frame.pts = self._samples_written
            frame.time_base = audio.time_base
            self._samples_written += len(chunk)
            for packet in audio.encode(frame):
                self._container.mux(packet)
        self._audio_pending = pending

    def write(self, image: np.ndarray) -> None:
        """Encode one frame: uint8 ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA (alpha dropped)."""
        if self._closed:
            raise ValueError(f"{self._path}: writer is closed")
        width_px, height_px = self._size_px
        if (
            not isinstance(image, np.ndarray)
            or image.ndim != 3
            or image.shape[:2] != (height_px, width_px)
            or image.shape[2] not in (3, 4)
        ):
            shape = getattr(image, "shape", None)
            raise ValueError(
                f"{self._path}: expected a frame shaped ({height_px}, {width_px}, 3 or 4), "
                f"got {shape}"
            )
        if image.dtype != np.uint8:
            raise ValueError(f"{self._path}: expected a uint8 frame, got {image.dtype}")
        rgb = image[:, :, :3]
        if self._encoded_size_px != self._size_px:
            enc_w, enc_h = self._encoded_size_px
            padded = np.zeros((enc_h, enc_w, 3), dtype=np.uint8)
            padded[:height_px, :width_px] = rgb
            rgb = padded
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self._frames_written
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file. Safe to call more than once.

        A writer closed before any frame was written leaves no file behind (the MP4
        header is only written with the first packet).
        """
        if self._closed:
            return
        self._closed = True
        if self._frames_written == 0:
            logger.warning("%s: closed without frames; no file written", self._path)
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._encode_audio(final=True)
                for packet in self._audio.encode(None):
                    self._container.mux(packet)
        finally:
            self._container.close()
        logger.debug("%s: wrote %d frames", self._path, self._frames_written)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
