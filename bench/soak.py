"""Soak: the demo show (video, generator, image and solid layers) headless for an hour,
cycling its cues, sampling resident memory, open files, threads and live GL objects.

    python bench/soak.py                 # 60 minutes, a sample every minute
    python bench/soak.py --minutes 3 --sample-s 15   # a short run

Target (issue 10): every figure flat — within 2 % of the first sample taken after the first
minute — and no frame later than one period. The baseline is the first such sample, taken
in the same run. Frames run on the live loop's own pacing (``ShowPlayer.run``) with a GO
every ``--cue-s`` seconds (back to the first cue after the last). Not part of CI.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import threading
import time

import _common  # noqa: F401  (this checkout first on sys.path)
import moderngl
from _common import REPO, format_table

from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show

_GL_TYPES = (
    moderngl.Texture,
    moderngl.Buffer,
    moderngl.Framebuffer,
    moderngl.Program,
    moderngl.VertexArray,
    moderngl.Sampler,
)


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _gl_objects() -> int:
    """Live (not released) moderngl objects in this process."""
    return sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, _GL_TYPES) and type(obj.mglo).__name__ != "InvalidObject"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sample-s", type=float, default=60.0)
    parser.add_argument("--cue-s", type=float, default=7.0, help="seconds between GOs")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    show = load_show(REPO / "shows" / "demo")
    player = ShowPlayer(show, HeadlessOutputs(), start_cue=show.cues[0].number)
    samples: list[list[str]] = []
    raw: list[tuple[float, ...]] = []
    period = 1.0 / args.fps
    intervals: list[float] = []
    last = [0.0]

    def on_frame(p: ShowPlayer) -> None:
        now = time.monotonic()
        if last[0]:
            intervals.append(now - last[0])
        last[0] = now

    player.frame_listeners.append(on_frame)
    stop_at = time.monotonic() + args.minutes * 60.0

    def driver() -> None:
        next_cue = time.monotonic() + args.cue_s
        next_sample = time.monotonic()
        while time.monotonic() < stop_at:
            now = time.monotonic()
            if now >= next_cue:
                next_cue += args.cue_s
                if player.status.next_cue is None:
                    player.submit("cue.goto", path={"cue": show.cues[0].number}, source="soak")
                else:
                    player.submit("go", source="soak")
            if now >= next_sample:
                next_sample += args.sample_s
                fds = len(os.listdir("/proc/self/fd"))
                gl = player.call_soon(_gl_objects).result(timeout=30)
                row = (now - (stop_at - args.minutes * 60.0), _rss_mib(), fds,
                       threading.active_count(), gl, player.late_frames)  # fmt: skip
                raw.append(row)
                late = sum(1 for i in intervals if i > 2 * period)
                samples.append(
                    [f"{row[0] / 60:.1f}", f"{row[1]:.1f}", str(fds), str(row[3]), str(gl),
                     str(player.late_frames), str(late), player.status.cue or "-"]
                )  # fmt: skip
                print(format_table(
                    ["min", "RSS MiB", "fds", "threads", "GL objects", "late", ">2 periods", "cue"],
                    samples[-1:],
                ).splitlines()[-1], flush=True)  # fmt: skip
            time.sleep(0.05)
        player.running = False

    thread = threading.Thread(target=driver, daemon=True)
    thread.start()
    player.run(fps=args.fps)
    thread.join()
    print()
    print(format_table(
        ["min", "RSS MiB", "fds", "threads", "GL objects", "late", ">2 periods", "cue"], samples
    ))  # fmt: skip
    settled = [r for r in raw if r[0] >= 60.0] or raw[-1:]
    base, end = settled[0], raw[-1]
    print()
    rows = []
    for i, name in ((1, "RSS MiB"), (2, "open files"), (3, "threads"), (4, "GL objects")):
        drift = (end[i] - base[i]) / base[i] * 100.0 if base[i] else 0.0
        rows.append([name, f"{base[i]:.1f}", f"{end[i]:.1f}", f"{drift:+.1f} %",
                     "flat" if abs(drift) <= 2.0 else "GROWS"])  # fmt: skip
    p = sorted(intervals)
    rows.append(["frame interval p50 / max ms", f"{p[len(p) // 2] * 1e3:.1f}",
                 f"{p[-1] * 1e3:.1f}", f"period {period * 1e3:.1f}",
                 "ok" if p[-1] <= 2 * period else "LATE FRAMES"])  # fmt: skip
    print(format_table(["figure", "after 1 min (baseline)", "end", "drift", "verdict"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
