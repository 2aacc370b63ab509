"""Picture/sound offset: where each click of a click track is heard, against its show time.

Three measurements, each beside its baseline in the same process:

* ``live (JACK dummy)``: the mixer played through PortAudio on a real JACK server (dummy
  driver, real-time where allowed) for ``--seconds`` of show time, recorded by a second
  JACK client; each click's moment at the converter (JACK's cycle timing + the port's
  playback latency from ``jack_lsp``) against its show time. Baseline: the same stream
  with a free-running sample counter (anchored once, never locked to the DAC time).
* ``simulated device``: :class:`~mapping.sound_output.DacPosition` against a device whose
  sample clock runs ``--drift-ppm`` off the system clock, woken with ``--jitter-ms`` of
  jitter, for ``--sim-minutes`` (10 minutes of show time by default). Baseline: the
  free-running counter, which drifts ``drift × time``.
* ``offline (render)``: the recorder's loop (frame state, then the span before it) for
  ``--offline-minutes`` at 29.97 fps; every click must land on its exact sample.

The picture of show time ``T`` is presented when the show clock reads ``T`` (the player
paces frames on the same clock), so a click's offset from its show time is the
picture/sound offset, up to the display's own latency, which no software can see.
Run: ``python bench/bench_audio.py`` (about 30 s).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts this checkout first on sys.path)
import numpy as np

from bench._common import format_table
from mapping.player import ShowClock
from mapping.sound import Mixer, SoundFrame, Voice, frame_sample
from mapping.sound_output import DacPosition, SoundOutput
from tests.audiokit import RATE, click_track, encode, onsets

CLICK_EVERY = RATE // 2  # a click every 0.5 s (the file is 0.5 s long and loops)


def stats(offsets_s: list[float] | np.ndarray) -> tuple[str, str, str]:
    a = np.abs(np.asarray(offsets_s)) * 1000
    if len(a) == 0:
        return "0", "-", "-"
    return str(len(a)), f"{np.median(a):.3f}", f"{a.max():.3f}"


def live(clicks: Path, seconds: float, free_running: bool) -> list[float]:
    from tests.jackkit import JackRecorder, JackServer

    with JackServer(f"bench-audio-{time.monotonic_ns()}") as server:
        clock = ShowClock()
        mixer = Mixer(RATE, 2, live=True)
        mixer.update(SoundFrame(0.0, (Voice("clicks", clicks, 0.25, 1.0),)))
        assert mixer.wait_ready()
        clock.start()
        recorder = JackRecorder(server, seconds + 2.0)
        output = SoundOutput(mixer, clock, device="JACK")
        if free_running:  # anchored on the first buffer, then a bare sample counter
            output.position = DacPosition(RATE, resync_s=float("inf"), smoothing=0.0)
        try:
            if not output.start():
                raise RuntimeError("PortAudio did not open the JACK device")
            recorder.connect("PortAudio")
            latency = server.playback_latency(recorder.source)
            pairs = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                pairs.append(clock() - time.monotonic())
                time.sleep(0.05)
        finally:
            output.stop()
            played = recorder.close()
            mixer.close()
    show_minus_mono = min(pairs)
    offsets = []
    for index in onsets(played[:, None], gap=RATE // 10):
        t = recorder.heard_at(index, latency) + show_minus_mono
        if t > 1.0:  # the lock's first second is start-up
            offsets.append(t - (0.25 + round((t - 0.25) * 2) / 2))
    return offsets


def simulated(minutes: float, drift_ppm: float, jitter_s: float, free_running: bool) -> np.ndarray:
    rng = np.random.default_rng(1)
    lock = (
        DacPosition(RATE, resync_s=float("inf"), smoothing=0.0)
        if free_running
        else DacPosition(RATE)
    )
    blocks = int(minutes * 60 * RATE / 256)
    heard = np.arange(blocks) * 256 / RATE / (1 + drift_ppm * 1e-6)
    measured = heard + rng.uniform(0.0, jitter_s, blocks)  # a late wake-up only adds
    measured -= jitter_s / 2
    errors = np.empty(blocks)
    for k in range(blocks):
        errors[k] = lock.next_block(float(measured[k]), 256) / RATE - heard[k]
    return errors[int(RATE / 256) :]  # after the first second


def offline(clicks: Path, minutes: float) -> list[float]:
    fps = 29.97002997  # 30000/1001: frame spans are 1601 or 1602 samples
    mixer = Mixer(RATE, 2)
    mixer.update(SoundFrame(0.0, (Voice("clicks", clicks, 0.25, 1.0),)))
    frames = round(minutes * 60 * fps)
    out = np.zeros((frame_sample(frames, fps, RATE), 2), np.float32)
    for n in range(1, frames + 1):
        a, b = frame_sample(n - 1, fps, RATE), frame_sample(n, fps, RATE)
        out[a:b] = mixer.render(a, b - a)
    mixer.close()
    found = onsets(out, gap=RATE // 10)
    expected = [RATE // 4 + k * CLICK_EVERY for k in range(len(found))]
    return [(f - e) / RATE for f, e in zip(found, expected, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="live run (0: skip)")
    parser.add_argument("--sim-minutes", type=float, default=10.0)
    parser.add_argument("--drift-ppm", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=3.0)
    parser.add_argument("--offline-minutes", type=float, default=10.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clicks = encode(
            click_track(CLICK_EVERY, [0]), Path(tmp) / "clicks.wav", ["-c:a", "pcm_s16le"]
        )
        if args.seconds > 0:
            if shutil.which("jackd") is None:
                print("jackd not found: live rows skipped", file=sys.stderr)
            else:
                span = f"{args.seconds:.0f} s"
                base = live(clicks, args.seconds, free_running=True)
                rows.append(["live, free-running counter (baseline)", span, *stats(base)])
                ours = live(clicks, args.seconds, free_running=False)
                rows.append(["live (JACK dummy), DAC-time lock", span, *stats(ours)])
        if args.sim_minutes > 0:
            span = f"{args.sim_minutes:g} min"
            what = f"{args.drift_ppm:g} ppm, {args.jitter_ms:g} ms jitter"
            jitter = args.jitter_ms / 1000
            base = simulated(args.sim_minutes, args.drift_ppm, jitter, free_running=True)
            rows.append([f"simulated {what}, free-running (baseline)", span, *stats(base)])
            ours = simulated(args.sim_minutes, args.drift_ppm, jitter, free_running=False)
            rows.append([f"simulated {what}, DAC-time lock", span, *stats(ours)])
        if args.offline_minutes > 0:
            span = f"{args.offline_minutes:g} min"
            rows.append(
                ["offline render, 29.97 fps", span, *stats(offline(clicks, args.offline_minutes))]
            )
    print(
        format_table(["sound vs show time", "show time", "clicks/blocks", "p50 ms", "max ms"], rows)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
