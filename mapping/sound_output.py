"""Live sound: the :class:`~mapping.sound.Mixer` played through PortAudio (``sounddevice``),
each sample at the moment the show clock says.

:class:`SoundOutput` owns one output stream. In its callback (PortAudio's thread) it reads
the show clock and the stream's own timing (``outputBufferDacTime − currentTime``: how far
ahead of now the first sample of this buffer reaches the converter, i.e. the output
latency) and so knows the show time at which that sample will be *heard*. It asks the mixer
for the samples of exactly that show time. The picture of show time ``T`` is presented when
the clock reads ``T``; the sound of ``T`` is heard then too.

Sample clock and system clock drift apart (a sound card's crystal is typically tens of ppm
off, 10 minutes at 100 ppm is 60 ms), and the callback wakes late by varying amounts (a
loaded machine: milliseconds). The show clock − stream clock offset is therefore taken as
the smallest seen over :data:`OFFSET_WINDOW_S` (a late wake-up only ever makes it look
larger), and :class:`DacPosition` keeps the stream's running sample position locked to
the measured one: the error is smoothed over about 20 buffers (the callback wakes with
jitter) and corrected by one sample per buffer (a slew of 1/blocksize, about 4000 ppm at
256, inaudible; up to :data:`MAX_SLEW` while a large error is worked off), or re-anchored
at once beyond :data:`RESYNC_S` (start, an underrun, a clock jump).

No audio device, no PortAudio, or a device that fails: a warning, and the show runs silent.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mapping.sound import Mixer, show_can_sound, sound_frame

log = logging.getLogger(__name__)

RESYNC_S = 0.020
"""A position error beyond this is corrected at once (a jump) instead of slewed."""

OFFSET_WINDOW_S = 0.5
"""The show clock − stream clock offset is the smallest seen over this long. Longer is
steadier against late callbacks but lags a stream clock that drifts (a JACK dummy server
on a loaded machine ran 4000 ppm slow: 2 s of window lagged 8 ms)."""

MAX_SLEW = 4
"""Most samples a buffer is moved by to follow the DAC time (1 for errors under 16
samples; 4 a buffer is 1.6 % at 256, only while a large error is worked off)."""

SETTLE_BLOCKS = 400
SETTLE_S = 0.001
"""For ``SETTLE_BLOCKS`` buffers after a re-anchor (about two seconds), a smoothed error
beyond ``SETTLE_S`` is jumped at once rather than slewed at a sample per buffer."""

SMOOTHING = 0.05
"""Weight of each new measurement in the smoothed position error (≈ 20 buffers)."""


@dataclass
class DacPosition:
    """Where the next buffer starts, in show samples, locked to the measured DAC time.

    Pure: :meth:`next_block` takes the measured show time at which the buffer's first
    sample will be heard and returns the show sample the buffer must start with.
    """

    rate: int
    resync_s: float = RESYNC_S
    smoothing: float = SMOOTHING
    settle_blocks: int = SETTLE_BLOCKS
    settle_s: float = SETTLE_S
    position: int | None = None
    error: float = 0.0
    """Smoothed (measured − played) position, in samples."""
    resyncs: int = 0
    slews: int = 0
    settling: int = 0
    """Blocks left in which a smoothed error beyond ``settle_s`` is jumped, not slewed
    (after a re-anchor, which may have taken one late measurement)."""

    def next_block(self, heard_at_show_s: float, frames: int) -> int:
        measured = heard_at_show_s * self.rate
        if self.position is None or abs(measured - self.position) > self.resync_s * self.rate:
            self.position = round(measured)
            self.error = 0.0
            self.resyncs += 1
            self.settling = self.settle_blocks
        else:
            self.error += self.smoothing * ((measured - self.position) - self.error)
            if self.settling > 0:
                self.settling -= 1
                if abs(self.error) > self.settle_s * self.rate:
                    step = round(self.error)
                    self.position += step
                    self.error -= step
                    self.resyncs += 1
            if abs(self.error) >= 1.0:  # 1 sample a buffer; more for a large error
                size = max(1, min(MAX_SLEW, int(abs(self.error) / 8)))
                step = size if self.error > 0 else -size
                self.position += step
                self.error -= step
                self.slews += 1
        start = self.position
        self.position += frames
        return start


def _sounddevice() -> Any:
    """The ``sounddevice`` module, or None where PortAudio is missing (a warning)."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        log.warning("no sound: PortAudio is not available (%s); the show runs silent", exc)
        return None
    return sounddevice


def rescan_devices() -> None:
    """Make PortAudio look for devices again (e.g. a JACK server started after import:
    PortAudio lists a host API's devices only when it initialises)."""
    sd = _sounddevice()
    if sd is None:
        return
    sd._terminate()  # sounddevice has no public re-scan
    sd._initialize()


def find_output_device(spec: str | int | None) -> int | None:
    """The PortAudio output device for ``spec``: an index, a host API name (``"JACK"``,
    ``"ALSA"``: its default output), or part of a device name; None: the default output.
    Raises LookupError when nothing matches, listing what there is."""
    sd = _sounddevice()
    if sd is None:
        raise LookupError("PortAudio is not available")
    devices = sd.query_devices()
    outputs = [i for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    if spec is None:
        default = sd.default.device[1]
        if default is not None and default >= 0:
            return int(default)
        if outputs:
            return outputs[0]
        raise LookupError("no audio output device")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        index = int(spec)
        if index in outputs:
            return index
    else:
        wanted = spec.lower()
        for api in sd.query_hostapis():
            if wanted in api["name"].lower():
                default = api["default_output_device"]
                if default in outputs:
                    return int(default)
                for i in api["devices"]:
                    if i in outputs:
                        return int(i)
        for i in outputs:
            if wanted in devices[i]["name"].lower():
                return i
    names = ", ".join(
        f"{i}: {devices[i]['name']} ({sd.query_hostapis(devices[i]['hostapi'])['name']})"
        for i in outputs
    )
    raise LookupError(f"no audio output {spec!r}; outputs: {names or 'none'}")


def device_rate(spec: str | int | None) -> int | None:
    """The default sample rate of the output ``spec`` names, None if there is none."""
    sd = _sounddevice()
    if sd is None:
        return None
    try:
        return int(sd.query_devices(find_output_device(spec))["default_samplerate"])
    except (LookupError, ValueError, sd.PortAudioError):
        return None


class SoundOutput:
    """Plays ``mixer`` on an audio device, positioned by ``clock`` (show time, seconds).

    Args:
        mixer: what to play (its rate and channels are the stream's).
        clock: the show clock (``ShowClock``), read in the audio callback.
        device: see :func:`find_output_device`.
        blocksize: frames per callback (256 at 48 kHz: 5.3 ms).
        latency: PortAudio's suggested latency (``"low"``, ``"high"`` or seconds).
    """

    def __init__(
        self,
        mixer: Mixer,
        clock: Callable[[], float],
        *,
        device: str | int | None = None,
        blocksize: int = 256,
        latency: str | float = "low",
    ) -> None:
        self.mixer = mixer
        self.clock = clock
        self.device_spec = device
        self.blocksize = blocksize
        self.latency = latency
        self.position = DacPosition(mixer.rate)
        self.stream: Any = None
        self.device_name: str | None = None
        self.callbacks = 0
        self.underruns = 0
        self.failures = 0
        self.output_latency_s = 0.0
        """The latest ``outputBufferDacTime − currentTime`` the stream reported."""
        self.errors_s: deque[float] = deque(maxlen=20000)
        """Per callback: (played − measured) position of the buffer's first sample, s."""
        self._clock_offsets: deque[float] = deque(
            maxlen=max(8, int(OFFSET_WINDOW_S * mixer.rate / blocksize))
        )

    @property
    def running(self) -> bool:
        return self.stream is not None and bool(self.stream.active)

    def start(self) -> bool:
        """Open and start the stream; False (and one warning) when there is no sound."""
        sd = _sounddevice()
        if sd is None:
            return False
        try:
            index = find_output_device(self.device_spec)
            info = sd.query_devices(index)
            stream = sd.OutputStream(
                samplerate=self.mixer.rate,
                blocksize=self.blocksize,
                device=index,
                channels=self.mixer.channels,
                dtype="float32",
                latency=self.latency,
                callback=self._callback,
            )
            stream.start()
        except (LookupError, sd.PortAudioError, ValueError) as exc:
            log.warning("no sound: %s; the show runs silent", exc)
            return False
        self.stream = stream
        api = sd.query_hostapis(info["hostapi"])["name"]
        self.device_name = f"{info['name']} ({api})"
        log.info(
            "sound on %s: %d Hz, %d channels, %d-frame buffers, output latency %.1f ms",
            self.device_name,
            self.mixer.rate,
            self.mixer.channels,
            self.blocksize,
            stream.latency * 1000,
        )
        return True

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        now_show = self.clock()
        if status.output_underflow:
            self.underruns += 1
        delay = time.outputBufferDacTime - time.currentTime
        if 0.0 <= delay < 1.0 and time.currentTime > 0.0:
            # Show time − stream time, read "now" on both clocks. Anything between
            # PortAudio reading its clock and this line (taking the GIL, preemption)
            # only makes it larger: the smallest over the last half second is the truth.
            offset = now_show - time.currentTime
            if self._clock_offsets and abs(offset - self._clock_offsets[-1]) > RESYNC_S:
                self._clock_offsets.clear()  # the show clock jumped (start, seek, resume)
            self._clock_offsets.append(offset)
            heard_at = time.outputBufferDacTime + min(self._clock_offsets)
        else:  # a host API without stream times: now + the stream's latency
            delay = float(self.stream.latency) if self.stream is not None else 0.0
            heard_at = now_show + delay
        self.output_latency_s = delay
        start = self.position.next_block(heard_at, frames)
        self.errors_s.append(start / self.mixer.rate - heard_at)
        self.callbacks += 1
        try:
            outdata[:] = self.mixer.render(start, frames)
        except Exception:  # never let the sound thread die: silence this buffer
            outdata.fill(0.0)
            self.failures += 1
            if self.failures == 1:
                log.exception("sound mixing failed; silence for this buffer")

    def stop(self) -> None:
        if self.stream is not None:
            try:
                self.stream.stop()
                self.stream.close()
            except Exception:
                log.exception("closing the sound stream failed")
            self.stream = None


class ShowSound:
    """The soundtrack of a running :class:`~mapping.player.ShowPlayer`.

    Each frame, as soon as its state is known (``player.state_listeners``, before the
    picture is rendered), the sound snapshot goes to the mixer; the output stream plays
    it by the player's show clock. Files the standby cue needs are opened ahead.
    ``device=None`` is the default output; no device is a warning and a silent show.
    """

    def __init__(
        self,
        player: Any,
        *,
        device: str | int | None = None,
        rate: int | None = None,
        channels: int = 2,
        blocksize: int = 256,
    ) -> None:
        self.player = player
        if rate is None:  # the device's own rate (a JACK server's, an interface's)
            rate = device_rate(device) or 48000
        self.mixer = Mixer(rate, channels, live=True)
        self.output = SoundOutput(self.mixer, player.clock, device=device, blocksize=blocksize)
        player.state_listeners.append(self._on_state)

    def start(self) -> bool:
        """Start the output; False (a warning was logged) when the show runs silent."""
        return self.output.start()

    def _on_state(self, player: Any) -> None:
        if player.frame_state is not None:
            self.mixer.update(sound_frame(player.frame_state, paused=player.engine.paused))

    def close(self) -> None:
        if self._on_state in self.player.state_listeners:
            self.player.state_listeners.remove(self._on_state)
        self.output.stop()
        self.mixer.close()


class SoundWhenNeeded:
    """Opens a running show's soundtrack (:class:`ShowSound`) once it has a layer that can
    sound: at start, or after a reload or show change that adds one. A show that never
    sounds never opens an audio device (nothing is spent on silence). The device stays open
    once opened; :meth:`close` closes it."""

    def __init__(self, player: Any, *, device: str | int | None = None) -> None:
        self.player = player
        self.device = device
        self.sound: ShowSound | None = None
        self._generation: int | None = None
        player.state_listeners.insert(0, self._check)

    def _check(self, player: Any) -> None:
        generation = player.live.generation
        if self.sound is not None or generation == self._generation:
            return
        self._generation = generation
        if show_can_sound(player.live.show):
            log.info("the show has sound: opening the audio output")
            self.sound = ShowSound(player, device=self.device)
            self.sound.start()  # no device: a warning, and the show runs silent

    def close(self) -> None:
        if self._check in self.player.state_listeners:
            self.player.state_listeners.remove(self._check)
        if self.sound is not None:
            self.sound.close()
