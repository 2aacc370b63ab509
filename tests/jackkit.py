"""A real audio server for tests and benchmarks with no sound card: JACK's dummy driver.

:class:`JackServer` runs ``jackd -d dummy`` under a unique server name (clients find it by
``JACK_DEFAULT_SERVER``) and makes PortAudio re-scan, so its JACK host API lists the
server's ``system`` device. :class:`JackRecorder` is a second JACK client (the ``jack``
module) connected to the player's output ports: it keeps what was played, and for each
JACK cycle the frame time and the monotonic clock, so a recorded sample's moment at the
(dummy) converter is ``cycle start + index / rate + playback latency``, with the latency
read by the ``jack_lsp`` tool, not from PortAudio.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

T = TypeVar("T")
RATE = 48000
PERIOD = 256


def bounded(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """``fn()``, or TimeoutError after ``timeout_s``: a JACK call waiting on a server that
    does not answer fails the test instead of hanging the suite."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, name=f"jack: {what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"{what} did not return within {timeout_s} s")
    if error:
        raise error[0]
    return result[0]


class JackServer:
    def __init__(self, name: str | None = None, rate: int = RATE, period: int = PERIOD) -> None:
        self.name = name or f"mapping-test-{os.getpid()}"
        self.rate = rate
        self.period = period
        self.process: subprocess.Popen[bytes] | None = None
        self._env: dict[str, str | None] = {}

    def start(self) -> JackServer:
        jackd = shutil.which("jackd")
        if jackd is None:
            raise FileNotFoundError("jackd not found (scripts/setup.sh installs jackd2)")
        for key, value in (("JACK_DEFAULT_SERVER", self.name), ("JACK_NO_START_SERVER", "1")):
            self._env[key] = os.environ.get(key)
            os.environ[key] = value
        # Real-time scheduling where allowed (jackd carries on without it elsewhere): the
        # dummy driver's cycles then keep time on a busy machine.
        args = [jackd, "-R", "-n", self.name, "-d", "dummy"]
        args += ["-r", str(self.rate), "-p", str(self.period)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import jack

        deadline = time.monotonic() + 10.0
        while True:
            try:
                client = bounded(
                    lambda: jack.Client("probe", servername=self.name, no_start_server=True),
                    10.0,
                    "opening a JACK client",
                )
            except jack.JackError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    self.stop()
                    raise RuntimeError(f"jackd did not start: {err[-500:]}") from None
                time.sleep(0.1)
            else:
                client.close()
                break
        from mapping.sound_output import rescan_devices

        rescan_devices()
        return self

    def playback_latency(self, port: str) -> int:
        """``port``'s playback latency in frames, as ``jack_lsp -l`` reports it."""
        out = subprocess.run(
            ["jack_lsp", "-l", "-s", self.name, port], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"playback latency = \[ (\d+) (\d+) \]", out)
        assert match, out
        return int(match.group(2))

    def stop(self) -> None:
        import sounddevice

        # PortAudio's JACK host API holds a client of this server: end it first (libjack
        # aborts the process when PortAudio re-initialises after its server vanished).
        bounded(sounddevice._terminate, 10.0, "PortAudio's terminate")
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._env = {}
        sounddevice._initialize()

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class JackRecorder:
    """Records channel 0 of ``source`` ports' sound, with each cycle's timing."""

    server: JackServer
    seconds: float
    buffer: np.ndarray = field(init=False)
    cycles: list[tuple[int, int, int, float]] = field(default_factory=list)
    """(index in buffer, cycle's first frame, estimated frame now, monotonic now)."""
    written: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        import jack

        self.buffer = np.zeros(int(self.seconds * self.server.rate), np.float32)
        self.client = jack.Client("recorder", servername=self.server.name, no_start_server=True)
        self.port = self.client.inports.register("in")
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        mono = time.monotonic()
        now, first = self.client.frame_time, self.client.last_frame_time
        i = self.written
        if i + frames <= len(self.buffer):
            self.buffer[i : i + frames] = self.port.get_array()
            self.cycles.append((i, first, now, mono))
            self.written += frames

    def connect(self, source: str) -> None:
        """Record ``source``: a port name, or the first output port whose name has it."""
        ports = self.client.get_ports(source, is_audio=True, is_output=True)
        if not ports:
            raise LookupError(f"no JACK output port like {source!r}")
        self.client.connect(ports[0], self.port)
        self.source = ports[0].name

    def close(self) -> np.ndarray:
        bounded(self.client.deactivate, 10.0, "deactivating the recorder")
        bounded(self.client.close, 10.0, "closing the recorder")
        return self.buffer[: self.written]

    def heard_at(self, index: int, latency_frames: int, window_s: float = 0.5) -> float:
        """Monotonic time at which recorded sample ``index`` reaches the converter.

        Each cycle read the monotonic clock, then JACK's frame estimate: a preemption in
        between makes ``mono − frame / rate`` smaller, never larger, so the largest over
        the cycles within ``window_s`` is the clock offset.
        """
        rate = self.server.rate
        cycles = np.array(self.cycles, dtype=np.float64)
        k = int(np.searchsorted(cycles[:, 0], index, side="right")) - 1
        i, first = int(cycles[k, 0]), int(cycles[k, 1])
        near = np.abs(cycles[:, 1] - first) <= window_s * rate
        offset = float(np.max(cycles[near, 3] - cycles[near, 2] / rate))
        return offset + (first + index - i + latency_frames) / rate
