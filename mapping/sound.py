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

Offline (the recorder) files are opened with :class:`~mapping.media.audio.AudioClip` and
read on the consumer's thread, which may wait. Live (``live=True``) a feeder thread opens
and decodes every voice, and every sound the standby cue will start, half a second ahead
into a small buffer per voice; the audio callback only copies and mixes, never opens,
seeks or decodes. A sound not decoded in time (a voice joined mid-sound without pre-roll,
a jump) is silent until the feeder catches up, then plays in sync. A file that cannot be
opened is a warning once, naming the file; a video without a sound track is silent.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
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
    window: tuple[float | None, float | None] = (None, None)
    """The layer's in and out points (seconds of the file; media time 0 is the in point)."""
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
    preload: tuple[tuple[str, Path, bool, bool, tuple[float | None, float | None]], ...] = ()
    """Sounds the standby cue will start: (layer, file, required, loop, in/out window),
    decoded ahead live."""


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
                            (layer.in_s, layer.out_s),
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
                        (layer.in_s, layer.out_s),
                        fades_in=prev is not None,
                    )
                )
    preload = tuple(
        (layer.name, content, _sound_of(layer) == "file", layer.loop, (layer.in_s, layer.out_s))
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
    """An opened (or failed) file, offline."""

    clip: AudioClip | None = None
    error: str | None = None


FEED_AHEAD_S = 0.5
"""Live: how much sound each playing (or standby) voice has decoded ahead of its reader."""

FEED_BLOCK = 4096
"""Samples decoded per step by the feeder thread."""

FEED_JUMP_S = 0.05
"""After a jump (a seek, a voice joined mid-sound without pre-roll) decoding restarts this
far ahead of the reader: the time a seek takes; until then the voice is silent."""

FEED_IDLE_S = 2.0
"""A feed no snapshot has named for this long is closed."""


class _Feed:
    """Live: one voice's sound, decoded ahead on the feeder thread into a small buffer.

    Positions are *virtual* media samples (media sample of the voice, growing past the
    clip's end when it loops: the clip wraps them). The reader (the audio callback) only
    copies from the buffer, under a lock held for microseconds; the feeder opens the file,
    seeks and decodes.
    """

    def __init__(
        self,
        path: Path,
        ident: ContentId,
        required: bool,
        loop: bool,
        rate: int,
        channels: int,
        window: tuple[float | None, float | None] = (None, None),
    ) -> None:
        self.path, self.ident, self.required, self.loop = path, ident, required, loop
        self.window = window
        self.rate, self.channels = rate, channels
        self.jump = int(FEED_JUMP_S * rate)
        self.lock = threading.Lock()
        self.clip: AudioClip | None = None
        self.error: str | None = None
        self.chunks: list[tuple[int, np.ndarray]] = []
        self.start = 0  # the buffer holds [start, end)
        self.end = 0
        self.want = 0  # the next position the reader needs
        self.reading = False  # a reader has asked (a jump then skips ahead)
        self.generation = 0  # bumped at every jump: a decode in flight is dropped
        self.named_at = time.monotonic()
        self.misses = 0  # samples asked for that were not decoded yet

    def read(self, v: int, n: int) -> np.ndarray | None:
        """Samples ``v .. v + n`` if decoded (missing parts silent), None if not open."""
        with self.lock:
            if self.clip is None:
                self.misses += n if self.error is None else 0
                return None
            out = np.zeros((n, self.channels), np.float32)
            end = v + n
            got = 0
            for start, chunk in self.chunks:
                lo, hi = max(v, start), min(end, start + len(chunk))
                if lo < hi:
                    out[lo - v : hi - v] = chunk[lo - start : hi - start]
                    got += hi - lo
            self.misses += n - got
            catching_up = self.start - self.jump <= v < self.start  # skipped ahead of us
            if not (self.start <= v <= self.end or catching_up):
                self.generation += 1  # a jump: the feeder restarts ahead of us
                self.chunks, self.start, self.end = [], v, v
            self.want = end
            self.reading = True
        return out

    def step(self) -> bool:
        """Feeder thread: open, or decode one block ahead. False when nothing to do."""
        if self.error is not None:
            return False
        if self.clip is None:
            try:
                clip = AudioClip(
                    self.path,
                    rate=self.rate,
                    channels=self.channels,
                    in_s=self.window[0],
                    out_s=self.window[1],
                )
            except MediaError as exc:
                self.error = exc.reason
                return False
            with self.lock:
                self.clip = clip
            return True
        with self.lock:
            generation = self.generation
            if not self.chunks and self.reading and self.end <= self.want:
                # after a jump: skip ahead by the time a seek takes
                self.start = self.end = self.want + self.jump
            if self.end - self.want >= FEED_AHEAD_S * self.clip.rate:
                return False
            pos = self.end
        block = self.clip.samples(pos, FEED_BLOCK, self.loop)  # the slow part, unlocked
        block.flags.writeable = False
        with self.lock:
            if generation != self.generation or pos != self.end:
                return True  # the reader jumped meanwhile
            self.chunks.append((pos, block))
            self.end = pos + len(block)
            keep_from = self.want - FEED_BLOCK
            while self.chunks and self.chunks[0][0] + len(self.chunks[0][1]) <= keep_from:
                self.chunks.pop(0)
            self.start = self.chunks[0][0] if self.chunks else self.end
        return True

    def ready(self) -> bool:
        with self.lock:
            if self.error is not None:
                return True
            if self.clip is None:
                return False
            return self.end - self.want >= min(FEED_AHEAD_S * self.clip.rate, FEED_BLOCK)

    def close(self) -> None:
        with self.lock:
            clip, self.clip = self.clip, None
            self.chunks = []
            self.error = self.error or "closed"
        if clip is not None:
            clip.close()


class Mixer:
    """Renders the latest :class:`SoundFrame` as float32 ``(n, channels)`` blocks.

    :meth:`update` from any thread; :meth:`render` from one consumer thread at a time.
    Offline (``live=False``) files are opened and decoded on the consumer's thread, which
    may wait. Live, a feeder thread opens and decodes every voice (and every sound the
    standby cue will start) ahead; :meth:`render` only mixes what is decoded and never
    waits: a sound not decoded yet is silent (and counted in :attr:`misses`).
    """

    def __init__(
        self,
        rate: int = DEFAULT_RATE,
        channels: int = 2,
        *,
        live: bool = False,
        opener: Callable[..., AudioClip] | None = None,
    ) -> None:
        self.rate = int(rate)
        self.channels = int(channels)
        self.live = live
        self._opener = opener or (
            lambda p, r, c, window=(None, None): AudioClip(
                p, rate=r, channels=c, in_s=window[0], out_s=window[1]
            )
        )
        self._latest: SoundFrame = SoundFrame(0.0)
        self._playing: dict[tuple[str, str], _Playing] = {}
        self._slots: dict[tuple[ContentId, tuple[float | None, float | None]], _Slot] = {}
        self._feeds: dict[tuple[str, str], _Feed] = {}
        self._feeds_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._feeder: threading.Thread | None = None
        self._retired: list[_Feed] = []  # replaced feeds, for the feeder to close
        if live:
            self._feeder = threading.Thread(target=self._feed_loop, name="sound-feeder")
            self._feeder.daemon = True
            self._feeder.start()
        self.errors: dict[str, str] = {}
        """Files that cannot sound: path → reason (required ones are also logged)."""
        self.last_block_voices = 0

    @property
    def misses(self) -> int:
        """Live: samples a voice needed that were not decoded yet (heard as silence)."""
        with self._feeds_lock:
            return sum(f.misses for f in self._feeds.values())

    # -- the render thread's side

    def update(self, frame: SoundFrame) -> None:
        """Hand over the latest snapshot (atomic; never blocks on the consumer)."""
        self._latest = frame
        if not self.live:
            return
        now = time.monotonic()
        named = [(v.layer, v.path, v.required, v.loop, v.window) for v in frame.voices]
        named += list(frame.preload)
        with self._feeds_lock:
            for layer, path, required, loop, *rest in named:
                window = rest[0] if rest else (None, None)
                key = (layer, str(path))
                feed = self._feeds.get(key)
                if (
                    feed is None
                    or feed.loop != loop
                    or feed.window != window
                    or feed.ident.changed()
                ):
                    ident = ContentId.of(path)
                    if not ident.exists:
                        self._fail(path, required, "file not found")
                        continue
                    if feed is not None:  # the file was replaced, or the loop flag changed
                        self._retired.append(feed)
                    feed = _Feed(path, ident, required, loop, self.rate, self.channels, window)
                    self._feeds[key] = feed
                feed.named_at = now
        self._wake.set()

    def _feed_loop(self) -> None:
        while not self._stop:
            worked = False
            with self._feeds_lock:
                feeds = list(self._feeds.items())
                retired, self._retired = self._retired, []
            for feed in retired:
                feed.close()
            now = time.monotonic()
            for key, feed in feeds:
                if now - feed.named_at > FEED_IDLE_S and key not in self._playing:
                    with self._feeds_lock:
                        if self._feeds.get(key) is feed:
                            del self._feeds[key]
                    feed.close()
                    continue
                try:
                    worked |= feed.step()
                except Exception as exc:  # a broken file: silent, a warning, the rest plays
                    feed.error = f"decoding failed: {exc}"
                if feed.error is not None and feed.error != "closed":
                    self._fail(feed.path, feed.required, feed.error)
            if not worked:
                self._wake.wait(0.01)
                self._wake.clear()

    # -- the consumer's side

    def render(self, first_sample: int, n: int) -> np.ndarray:
        """Samples for show samples ``first_sample .. first_sample + n`` (show time
        ``first_sample / rate`` on)."""
        out = np.zeros((n, self.channels), dtype=np.float32)
        if n <= 0:
            return out
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
        if not self.live:
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
        n = len(out)
        media = first_sample - offset
        skip = max(0, -media)  # before the voice's start: silence, even when it loops
        if skip >= n:
            return False
        block = self._read(voice, media + skip, n - skip)
        if block is None:
            return False
        if skip:  # a voice starting inside the block ramps from its start
            ramp = np.arange(1, n - skip + 1, dtype=np.float32) / (n - skip)
        gains = g0 + (g1 - g0) * ramp[: n - skip]
        out[skip:] += block * gains[:, None]
        return True

    def _read(self, voice: Voice, start: int, n: int) -> np.ndarray | None:
        if self.live:
            feed = self._feeds.get(voice.key)
            return None if feed is None else feed.read(start, n)
        clip = self._clip(voice.path, voice.required, voice.window)
        if clip is None:
            return None
        try:
            return clip.samples(start, n, voice.loop)
        except Exception as exc:  # a broken file must not stop the sound of the others
            self._fail(voice.path, voice.required, f"decoding failed: {exc}")
            return None

    # -- files (offline)

    def _clip(
        self,
        path: Path,
        required: bool,
        window: tuple[float | None, float | None] = (None, None),
    ) -> AudioClip | None:
        ident = file_identity(path)
        if ident is None:
            self._fail(path, required, "file not found")
            return None
        slot = self._slots.get((ident, window))
        if slot is None:
            slot = self._slots[(ident, window)] = _Slot()
            try:
                if window == (None, None):
                    slot.clip = self._opener(path, self.rate, self.channels)
                else:
                    slot.clip = self._opener(path, self.rate, self.channels, window)
            except MediaError as exc:
                slot.error = exc.reason
                self._fail(path, required, exc.reason)
        return slot.clip

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
        keep = {(file_identity(v.path), v.window) for v in frame.voices}
        keep |= {(file_identity(p.voice.path), p.voice.window) for p in self._playing.values()}
        for ident in [i for i in self._slots if i not in keep]:
            slot = self._slots.pop(ident)
            if slot.clip is not None:
                slot.clip.close()

    def open_files(self) -> list[Path]:
        """Files open now (diagnostics, tests)."""
        if self.live:
            with self._feeds_lock:
                return [f.path for f in self._feeds.values() if f.clip is not None]
        return [i.path for (i, _), s in self._slots.items() if s.clip is not None]

    def wait_ready(self, timeout_s: float = 5.0) -> bool:
        """Live: wait until every named sound is open and decoded ahead (pre-roll)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._feeds_lock:
                feeds = list(self._feeds.values())
            if all(f.ready() for f in feeds):
                return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        if self._feeder is not None:
            self._feeder.join(5.0)
        with self._feeds_lock:
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.close()
        for slot in self._slots.values():
            if slot.clip is not None:
                slot.clip.close()
        self._slots.clear()
        self._playing.clear()


class SoundTap:
    """The soundtrack as the picture hears it: the ``n`` samples just before the show time
    of the frame being drawn (for ISF ``audio`` / ``audioFFT`` inputs,
    ``SourceEnv.soundtrack``).

    It mixes with its own :class:`Mixer` (the output's is the audio thread's alone): live,
    decoded by its own feeder and never waiting; offline, exact. The mixer is made on the
    first request, so a show whose pictures never listen decodes nothing more. A voice the
    tap meets already playing ramps in over that first block.
    """

    def __init__(self, rate: int = DEFAULT_RATE, channels: int = 2, *, live: bool = False):
        self.rate = int(rate)
        self.channels = int(channels)
        self.live = live
        self._mixer: Mixer | None = None
        self._frame: FrameState | None = None
        self._paused = False

    def update(self, frame: FrameState, *, paused: bool = False) -> None:
        """The frame about to be drawn (cheap until someone listens)."""
        self._frame, self._paused = frame, paused
        if self._mixer is not None:
            self._mixer.update(sound_frame(frame, paused=paused))

    def __call__(self, n: int) -> np.ndarray | None:
        """float32 ``(n, channels)``: show samples ``T·rate − n .. T·rate`` of the frame at
        show time ``T``; ``None`` before the first frame."""
        if self._frame is None:
            return None
        if self._mixer is None:
            self._mixer = Mixer(self.rate, self.channels, live=self.live)
            self._mixer.update(sound_frame(self._frame, paused=self._paused))
        end = math.floor(self._frame.show_time_s * self.rate + 0.5)
        return self._mixer.render(end - n, n)

    def close(self) -> None:
        if self._mixer is not None:
            self._mixer.close()
            self._mixer = None


def render_span(mixer: Mixer, start_sample: int, end_sample: int) -> np.ndarray:
    """Offline helper: the samples of show samples ``[start_sample, end_sample)``."""
    return mixer.render(start_sample, max(0, end_sample - start_sample))


def frame_sample(n: int, fps: float | Fraction, rate: int, start_s: float = 0.0) -> int:
    """Show sample where frame ``n`` of an offline render starts (show time
    ``start + n / fps``, the frame rate made exact as the video writer does)."""
    exact = Fraction(start_s) + n / fps_to_fraction(fps)
    return math.floor(exact * rate + Fraction(1, 2))
