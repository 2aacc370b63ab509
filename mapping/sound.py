"""The show's soundtrack: what sounds at a show time, and the mixer that renders it (pure).

Sound is positioned by show time exactly like the picture. Each frame the render thread
turns its :class:`~mapping.cues.FrameState` into a :class:`SoundFrame` (:func:`sound_frame`):
one :class:`Voice` per sounding content, with its file, its *offset* (show time − media
time, constant while it plays) and its gain (layer opacity × master × crossfade share). It
hands the snapshot to the :class:`Mixer` with :meth:`Mixer.update`, an atomic reference
swap that any thread may do at any time.

The consumer (the audio device's callback thread live, the recorder offline) asks
:meth:`Mixer.render` for ``n`` samples from *show sample* ``s`` (show time ``s / rate``). A
voice's media sample there is ``s − round(offset × rate)``, so picture and sound are both
functions of show time: a cue that starts a sound at show time ``T`` starts it at show
sample ``round(T × rate)`` whatever thread asks and when.

Gains ramp linearly across each rendered block from the gain the voice had at the end of
the previous block to the latest snapshot's (cue fades and master follow at block
resolution, and a cut never clicks). A voice whose first sample falls inside or after the
block starts there at its full gain (sample-exact GO); one joined mid-sound (live, the
snapshot arrived after the audio head passed its start) ramps in over the block; one that
stopped ramps out over the block.

Files are opened with :class:`~mapping.media.audio.AudioClip` on first use (offline), or
ahead on a worker thread (live: ``open_async=True``; the callback never opens a file, a
voice whose clip is not open yet is silent). A file that cannot be opened is a warning once,
naming the file; a video without a sound track is silently silent.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from mapping.cues import FrameState
from mapping.kinds import LAYER_KINDS, ContentId
from mapping.media.audio import DEFAULT_RATE, AudioClip
from mapping.media.errors import MediaError
from mapping.media.writer import fps_to_fraction
from mapping.show import Layer, Show

log = logging.getLogger(__name__)


def file_identity(path: Path) -> ContentId | None:
    """The file's identity (path, size, mtime): a replaced file is new content; None when
    it is missing."""
    ident = ContentId.of(path)
    return ident if ident.exists else None


def show_can_sound(show: Show) -> bool:
    """Whether any layer of ``show`` can play sound (its kind sounds, not muted)."""
    return any(_sound_of(layer) for layer in show.layers)


@dataclass(frozen=True)
class Voice:
    """One sounding content in a frame."""

    layer: str
    path: Path
    offset_s: float
    """Show time − media time: the show time at which the content's media time is 0."""
    gain: float
    loop: bool = True
    required: bool = True
    """False for a video's own track: a file without sound is normal, not a warning."""
    fades_in: bool = False
    """It started crossfading in from 0 (a content change with a fade): a block that holds
    its first sample ramps it from 0 there, else it starts at its gain."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.layer, str(self.path))


@dataclass(frozen=True)
class SoundFrame:
    """What sounds from ``show_time_s`` on, until the next snapshot."""

    show_time_s: float
    voices: tuple[Voice, ...] = ()
    preload: tuple[tuple[Path, bool], ...] = ()
    """Files the standby cue will need, opened ahead (path, required)."""


def _sound_of(layer: Layer) -> str:
    """``""``, ``"own"`` or ``"file"``: what the layer plays (the kinds' table says)."""
    kind = LAYER_KINDS.get(layer.kind)
    if kind is None or not kind.sound or not layer.audio:
        return ""
    return kind.sound


def sound_frame(frame: FrameState, *, paused: bool = False) -> SoundFrame:
    """The sound of one frame state. ``paused``: the cue engine is paused (media time
    frozen), so nothing sounds."""
    voices: list[Voice] = []
    if not paused:
        t = frame.show_time_s
        for lf in frame.layers:
            layer = lf.layer
            sound = _sound_of(layer)
            if not sound:
                continue
            required = sound == "file"
            share = 1.0
            prev = lf.previous
            if prev is not None:
                share = 1.0 - prev.weight
                if isinstance(prev.content, Path):
                    gain = lf.opacity * frame.master * prev.weight
                    voices.append(
                        Voice(
                            layer.name,
                            prev.content,
                            t - prev.media_time_s,
                            gain,
                            layer.loop,
                            required,
                        )
                    )
            if isinstance(lf.content, Path):
                gain = lf.opacity * frame.master * share
                voices.append(
                    Voice(
                        layer.name,
                        lf.content,
                        t - lf.media_time_s,
                        gain,
                        layer.loop,
                        required,
                        fades_in=prev is not None,
                    )
                )
    preload = tuple(
        (content, _sound_of(layer) == "file")
        for layer, content in frame.preload
        if _sound_of(layer) and isinstance(content, Path)
    )
    return SoundFrame(frame.show_time_s, tuple(voices), preload)


@dataclass
class _Playing:
    voice: Voice
    offset: int  # show sample of the voice's media sample 0
    gain: float  # gain at the end of the last block


@dataclass
class _Slot:
    """An opened (or opening, or failed) file."""

    clip: AudioClip | None = None
    future: Future[AudioClip] | None = None
    error: str | None = None
    last_used: int = 0


class Mixer:
    """Renders the latest :class:`SoundFrame` as float32 ``(n, channels)`` blocks.

    :meth:`update` from any thread; :meth:`render` from one consumer thread at a time.
    """

    def __init__(
        self,
        rate: int = DEFAULT_RATE,
        channels: int = 2,
        *,
        open_async: bool = False,
        opener: Callable[[Path, int, int], AudioClip] | None = None,
    ) -> None:
        self.rate = int(rate)
        self.channels = int(channels)
        self._opener = opener or (lambda p, r, c: AudioClip(p, rate=r, channels=c))
        self._latest: SoundFrame = SoundFrame(0.0)
        self._playing: dict[tuple[str, str], _Playing] = {}
        self._slots: dict[ContentId, _Slot] = {}
        self._executor = ThreadPoolExecutor(1, "sound-open") if open_async else None
        self._blocks = 0
        self._lock = threading.Lock()  # slots: the opener thread and the consumer
        self.errors: dict[str, str] = {}
        """Files that cannot sound: path → reason (required ones are also logged)."""
        self.last_block_voices = 0

    # -- the render thread's side

    def update(self, frame: SoundFrame) -> None:
        """Hand over the latest snapshot (atomic; never blocks on the consumer)."""
        self._latest = frame
        if self._executor is not None:
            for path, required in frame.preload:
                self._slot(path, required)
            for voice in frame.voices:
                self._slot(voice.path, voice.required)

    # -- the consumer's side

    def render(self, first_sample: int, n: int) -> np.ndarray:
        """Samples for show samples ``first_sample .. first_sample + n`` (show time
        ``first_sample / rate`` on)."""
        out = np.zeros((n, self.channels), dtype=np.float32)
        if n <= 0:
            return out
        self._blocks += 1
        frame = self._latest
        end = first_sample + n
        ramp = np.arange(1, n + 1, dtype=np.float32) / n
        wanted: dict[tuple[str, str], Voice] = {v.key: v for v in frame.voices}
        sounding = 0
        # voices that stopped, or restarted at another offset: ramp out
        for key, playing in list(self._playing.items()):
            voice = wanted.get(key)
            if voice is None or abs(self._offset(voice) - playing.offset) > self.rate // 1000:
                self._mix(out, playing.voice, playing.offset, first_sample, playing.gain, 0.0, ramp)
                del self._playing[key]
                sounding += 1
        for key, voice in wanted.items():
            offset = self._offset(voice)
            playing = self._playing.get(key)
            if playing is None:
                if offset >= end:
                    continue  # starts after this block
                clip = self._clip(voice.path, voice.required)
                if clip is None:
                    continue
                # starts inside this block: sample-exact (at its gain, or from 0 when it
                # crossfades in); joined late: ramp in over the block
                g0 = voice.gain if offset >= first_sample and not voice.fades_in else 0.0
                playing = self._playing[key] = _Playing(voice, offset, g0)
            elif voice.gain == playing.gain == 0.0:
                continue
            if self._mix(out, voice, playing.offset, first_sample, playing.gain, voice.gain, ramp):
                sounding += 1
            playing.gain, playing.voice = voice.gain, voice
        self.last_block_voices = sounding
        if self._blocks % 64 == 0:
            self._close_unused(frame)
        return out

    def _offset(self, voice: Voice) -> int:
        return math.floor(voice.offset_s * self.rate + 0.5)

    def _mix(
        self,
        out: np.ndarray,
        voice: Voice,
        offset: int,
        first_sample: int,
        g0: float,
        g1: float,
        ramp: np.ndarray,
    ) -> bool:
        clip = self._clip(voice.path, voice.required)
        if clip is None:
            return False
        n = len(out)
        media = first_sample - offset
        skip = max(0, -media)  # before the voice's start: silence, even when it loops
        if skip >= n:
            return False
        try:
            block = clip.samples(media + skip, n - skip, voice.loop)
        except Exception as exc:  # a broken file must not stop the sound of the others
            self._fail(voice.path, voice.required, f"decoding failed: {exc}")
            return False
        if skip:  # a voice starting inside the block ramps from its start
            ramp = np.arange(1, n - skip + 1, dtype=np.float32) / (n - skip)
        gains = g0 + (g1 - g0) * ramp[: n - skip]
        out[skip:] += block * gains[:, None]
        return True

    # -- files

    def _slot(self, path: Path, required: bool) -> _Slot | None:
        ident = file_identity(path)
        if ident is None:
            self._fail(path, required, "file not found")
            return None
        with self._lock:
            slot = self._slots.get(ident)
            if slot is None:
                slot = self._slots[ident] = _Slot()
                if self._executor is not None:
                    opening = self._executor.submit(self._opener, path, self.rate, self.channels)
                    slot.future = opening
                    slot.future.add_done_callback(
                        lambda f, s=slot, p=path, r=required: self._opened(s, p, r, f)
                    )
        if slot.future is None and slot.clip is None and slot.error is None:
            try:
                slot.clip = self._opener(path, self.rate, self.channels)
            except MediaError as exc:
                slot.error = exc.reason
                self._fail(path, required, exc.reason)
        slot.last_used = self._blocks
        return slot

    def _opened(self, slot: _Slot, path: Path, required: bool, future: Future[AudioClip]) -> None:
        try:
            slot.clip = future.result()
        except MediaError as exc:
            slot.error = exc.reason
            self._fail(path, required, exc.reason)
        except Exception as exc:
            slot.error = str(exc)
            self._fail(path, required, str(exc))

    def _clip(self, path: Path, required: bool) -> AudioClip | None:
        slot = self._slot(path, required)
        return None if slot is None else slot.clip

    def _fail(self, path: Path, required: bool, reason: str) -> None:
        key = str(path)
        if self.errors.get(key) == reason:
            return
        self.errors[key] = reason
        if required:
            log.warning("%s: %s; the layer is silent, the show goes on", path, reason)
        else:
            log.debug("%s: no sound (%s)", path, reason)

    def _close_unused(self, frame: SoundFrame) -> None:
        keep = {file_identity(p) for p, _ in frame.preload}
        keep |= {file_identity(v.path) for v in frame.voices}
        keep |= {file_identity(p.voice.path) for p in self._playing.values()}
        with self._lock:
            for ident in [i for i in self._slots if i not in keep]:
                slot = self._slots[ident]
                if slot.future is not None and not slot.future.done():
                    continue
                del self._slots[ident]
                if slot.clip is not None:
                    slot.clip.close()

    def open_files(self) -> list[Path]:
        """Files open now (diagnostics, tests)."""
        with self._lock:
            return [i.path for i, s in self._slots.items() if s.clip is not None]

    def wait_opened(self, timeout_s: float = 5.0) -> None:
        """Wait for the files being opened ahead (tests, pre-roll before GO)."""
        with self._lock:
            futures = [s.future for s in self._slots.values() if s.future is not None]
        for future in futures:
            try:
                future.result(timeout=timeout_s)
            except Exception:
                pass  # recorded by _opened

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        with self._lock:
            for slot in self._slots.values():
                if slot.clip is not None:
                    slot.clip.close()
            self._slots.clear()
        self._playing.clear()


def render_span(mixer: Mixer, start_sample: int, end_sample: int) -> np.ndarray:
    """Offline helper: the samples of show samples ``[start_sample, end_sample)``."""
    return mixer.render(start_sample, max(0, end_sample - start_sample))


def frame_sample(n: int, fps: float | Fraction, rate: int, start_s: float = 0.0) -> int:
    """Show sample where frame ``n`` of an offline render starts (show time
    ``start + n / fps``, the frame rate made exact as the video writer does)."""
    exact = Fraction(start_s) + n / fps_to_fraction(fps)
    return math.floor(exact * rate + Fraction(1, 2))
