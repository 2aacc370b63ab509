"""Frame pacing in a real window (pyglet under Xvfb): a 30 fps clip on a 60 Hz output.

Reports, over ``--seconds`` (default 120) of show time: the interval between frame slots
(p50, p99, max), slots dropped, the interval between frames actually presented, and the
cadence — the share of the clip's frames shown for exactly two refreshes. The baseline,
run in the same process on the same window, is the free-running loop the player used before
(show time read from the clock at whatever moment the frame starts, no slots).

    python bench/bench_pacing.py [--seconds 120] [--hz 60]

Xvfb has no vertical blank, so the slots are paced by the clock alone here; on a real
display the first window's buffer swap waits for vsync as well.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import _common  # noqa: F401  (this checkout first on sys.path)
import av
import numpy as np
from _common import format_table

from mapping.show import load_show

_SHOW = """
schema_version = 1
name = "pacing"
[canvas]
size = [320, 180]
[[outputs]]
name = "out"
resolution = [320, 180]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [320, 0], [320, 180], [0, 180]]
corners = [[0, 0], [320, 0], [320, 180], [0, 180]]
[[layers]]
name = "clip"
kind = "video"
file = "clip30.mp4"
"""


def _make_clip(path: Path, seconds: float = 4.0) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.time_base = Fraction(1, 30)
        for n in range(int(seconds * 30)):
            img = np.full((180, 320, 3), (n * 37) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = n
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("Xvfb is needed (Debian package xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        return proc, f":{f.readline().strip()}"


def _run(show_dir: Path, seconds: float, hz: float, locked: bool) -> dict[str, float]:
    from mapping.outputs import WindowOutputs
    from mapping.player import ShowPlayer

    show = load_show(show_dir)
    outputs = WindowOutputs(show.outputs, windowed=True)
    player = ShowPlayer(show, outputs)
    slots: list[float] = []
    presents: list[tuple[float, int]] = []
    drawn = [0]

    def on_frame(p: ShowPlayer) -> None:
        now = time.perf_counter()
        slots.append(now)
        if p.drawn != drawn[0]:
            drawn[0] = p.drawn
            source = next(iter(p.renderer._sources.values()))
            presents.append((p.status.show_time_s, source.frame_index))

    player.frame_listeners.append(on_frame)
    if locked:
        player.run(fps=hz, duration_s=seconds)
    else:  # the old loop: show time = the clock when the frame starts, sleep the rest
        period = 1.0 / hz
        player.clock.start()
        next_frame = time.monotonic()
        while player.outputs.poll() and (t := player.clock()) < seconds:
            player.step(t)
            next_frame += period
            delay = next_frame - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_frame = time.monotonic()
        player.close()
    intervals = np.diff(slots) * 1e3
    # cadence: for each clip frame, how many refresh slots it stayed on screen
    starts = [round(t * hz) for t, _ in presents]
    held = np.diff(starts)
    changes = [i for i in range(1, len(presents)) if presents[i][1] != presents[i - 1][1]]
    exact_two = sum(1 for i in changes[:-1] if held[i] == 2) / max(1, len(changes) - 1)
    present_ms = np.diff([t for t, _ in presents]) * 1e3
    return {
        "p50": float(np.percentile(intervals, 50)),
        "p99": float(np.percentile(intervals, 99)),
        "max": float(intervals.max()),
        "dropped": float(player.late_frames if locked else np.sum(intervals > 1.5e3 / hz)),
        "present_p50": float(np.percentile(present_ms, 50)) if len(present_ms) else float("nan"),
        "two": exact_two * 100.0,
        "slots": float(len(slots)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--hz", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    xvfb, display = _start_xvfb()
    os.environ["DISPLAY"] = display
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _make_clip(folder / "clip30.mp4")
            (folder / "show.toml").write_text(_SHOW)
            base = _run(folder, args.seconds, args.hz, locked=False)
            slot = _run(folder, args.seconds, args.hz, locked=True)
    finally:
        xvfb.terminate()
        xvfb.wait()
    rows = [
        [name, f"{r['slots']:.0f}", f"{r['p50']:.2f}", f"{r['p99']:.2f}", f"{r['max']:.2f}",
         f"{r['dropped']:.0f}", f"{r['present_p50']:.2f}", f"{r['two']:.1f} %"]
        for name, r in (("free-running (before)", base), ("slot-locked (now)", slot))
    ]  # fmt: skip
    print(f"{args.seconds:g} s of show time, {args.hz:g} Hz slots, 30 fps clip, Xvfb window")
    print(format_table(
        ["loop", "frames", "interval p50 ms", "p99", "max", "dropped", "present p50",
         "clip frames on 2 refreshes"], rows,
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
