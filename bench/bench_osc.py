"""OSC: GO-to-frame latency at 60 Hz, and messages per second applied without loss.

What it measures
    (1) **GO latency**: a real UDP client sends ``/go`` to a real :class:`OscServer`, while a
        real :meth:`ShowPlayer.run` loop renders a tiny headless show at 60 Hz (one 160×90
        output, one solid layer; two cues that loop). For each GO, sent at a random moment
        of the frame cycle: the time from ``sendto`` to (a) the start of the frame that
        applies it and (b) the end of that frame (rendered and presented: the first frame
        showing the cue), in frames of 1/60 s. Target: p99 of (b) ≤ 1 frame.
    (2) **Throughput**: the client sends ``/layer/wash/opacity f`` messages at several
        offered rates (paced in bursts of 100) for ``--seconds`` each, while the loop keeps
        rendering at 60 Hz and every message is answered. The client is a separate process
        (a real controller is not in the show's process; in-process it would share the GIL).
        Counted: messages sent, messages the server received, commands applied by the render
        thread (processor listener), and frames rendered. "Lost" is sent minus applied.
        Target: ≥ 20,000 a second with none lost.
    Baseline (same process, same packet): python-osc's bare parse rate (``OscMessage(dgram)``
        in a loop, no sockets, no dispatch), and this project's codec alone.

Run: ``python bench/bench_osc.py`` (``--gos 200 --seconds 2``). Same machine, same run.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import platform
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's mapping/, not an installed copy

from _common import TWO_CUE_SHOW, format_table  # noqa:E402
from pythonosc.osc_message import OscMessage  # noqa: E402

from mapping.control.osc import OscServer  # noqa: E402
from mapping.control.osc_codec import encode_message, parse_packet  # noqa: E402
from mapping.outputs import HeadlessOutputs  # noqa: E402
from mapping.player import ShowPlayer  # noqa: E402
from mapping.show import load_show  # noqa: E402

FPS = 60.0


class Rig:
    """A player loop at 60 Hz on its own thread (it owns the GL context) and an OSC server."""

    def __init__(self, folder: Path, duration_s: float) -> None:
        (folder / "show.toml").write_text(TWO_CUE_SHOW)
        self.show = load_show(folder)
        self.ready = threading.Event()
        self.applied = 0
        self.last_apply = 0.0
        self.frame_starts: list[float] = []
        self.apply_times: list[float] = []
        self.shown_times: list[float] = []
        self._pending: float | None = None
        self.thread = threading.Thread(target=self._run, args=(duration_s,), daemon=True)
        self.thread.start()
        self.ready.wait(30)

    def _run(self, duration_s: float) -> None:
        self.player = ShowPlayer(self.show, HeadlessOutputs())
        self.player.processor.listeners.append(self._on_apply)
        self.player.frame_listeners.append(self._on_frame)
        step = self.player.step

        def timed_step(show_time_s: float) -> None:
            self.frame_starts.append(time.perf_counter())
            step(show_time_s)

        self.player.step = timed_step  # type: ignore[method-assign]
        self.server = OscServer(self.player, port=0)
        self.port = self.server.start()
        self.ready.set()
        self.player.run(fps=FPS, duration_s=duration_s)

    def _on_apply(self, command, result) -> None:
        self.applied += 1
        self.last_apply = time.perf_counter()
        if command.name == "go":
            self._pending = time.perf_counter()

    def _on_frame(self, player) -> None:
        if self._pending is not None:
            self.apply_times.append(self._pending)
            self.shown_times.append(time.perf_counter())
            self._pending = None

    def stop(self) -> None:
        self.player.running = False
        self.thread.join(10)
        self.server.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def go_latency(
    rig: Rig, count: int, rng: random.Random
) -> tuple[list[float], list[float], list[int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    go = encode_message("/go")
    to_apply, to_shown, nth = [], [], []
    for _ in range(count):
        time.sleep(rng.uniform(0.5, 1.5) / FPS)  # a random phase of the frame cycle
        before = len(rig.shown_times)
        sent = time.perf_counter()
        sock.sendto(go, ("127.0.0.1", rig.port))
        deadline = sent + 1.0
        while len(rig.shown_times) == before and time.perf_counter() < deadline:
            time.sleep(0.0005)
        if len(rig.shown_times) == before:
            continue
        applied = rig.apply_times[-1]
        to_apply.append((applied - sent) * FPS)
        to_shown.append((rig.shown_times[-1] - sent) * FPS)
        # which frame after the arrival applied it: 1 = the next frame to start
        nth.append(sum(1 for t in rig.frame_starts[-50:] if sent < t <= applied))
    sock.close()
    return to_apply, to_shown, nth


def _send_paced(port: int, rate: float, total: int) -> None:
    """The controller, in its own process (as a real one is): ``total`` messages at ``rate``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)  # replies: not read
    packets = [encode_message("/layer/wash/opacity", i / 1000) for i in range(1000)]
    burst = 100
    start = time.perf_counter()
    for i in range(0, total, burst):
        for j in range(i, min(total, i + burst)):
            sock.sendto(packets[j % 1000], ("127.0.0.1", port))
        ahead = start + (i + burst) / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    sock.close()


def throughput(rig: Rig, rate: float, seconds: float) -> dict[str, float]:
    stats = rig.server.dispatcher.stats
    received0, applied0, frames0 = stats.packets, rig.applied, rig.player.frames
    total = int(rate * seconds)
    sender = multiprocessing.get_context("fork").Process(
        target=_send_paced, args=(rig.port, rate, total)
    )
    start = time.perf_counter()
    sender.start()
    sender.join(seconds * 10 + 10)
    send_s = time.perf_counter() - start
    deadline = time.perf_counter() + 5.0
    while rig.applied - applied0 < total and time.perf_counter() < deadline:
        time.sleep(0.01)
    wall_s = time.perf_counter() - start
    done_s = rig.last_apply - start
    applied = rig.applied - applied0
    return {
        "offered": rate,
        "sent": total,
        "received": stats.packets - received0,
        "applied": applied,
        "lost": total - applied,
        "applied_per_s": applied / done_s if done_s > 0 else 0.0,
        "send_s": send_s,
        "fps": (rig.player.frames - frames0) / wall_s,
    }


def parse_rate(fn, data: bytes, seconds: float = 0.5) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            fn(data)
        n += 1000
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gos", type=int, default=200, help="GO messages for the latency")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per offered rate")
    parser.add_argument(
        "--rates", default="10000,20000,30000,40000", help="offered messages per second"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rng = random.Random(1)
    rates = [float(r) for r in args.rates.split(",")]

    packet = encode_message("/layer/wash/opacity", 0.5)
    baseline_py = parse_rate(OscMessage, packet)
    baseline_ours = parse_rate(parse_packet, packet)

    with tempfile.TemporaryDirectory() as tmp:
        rig = Rig(Path(tmp), duration_s=3600)
        try:
            time.sleep(0.5)
            to_apply, to_shown, nth = go_latency(rig, args.gos, rng)
            results = [throughput(rig, rate, args.seconds) for rate in rates]
        finally:
            rig.stop()

    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, player at {FPS:g} Hz, 160×90 headless output\n"
    )
    print(f"(1) GO over UDP → frame, {len(to_shown)} of {args.gos} GOs, in frames of 1/60 s")
    rows = []
    for name, values in (("to the frame applying it", to_apply), ("to that frame shown", to_shown)):
        rows.append(
            [
                name,
                f"{_pct(values, 50):.2f}",
                f"{_pct(values, 99):.2f}",
                f"{max(values):.2f}",
                f"{statistics.mean(values):.2f}",
            ]
        )
    rows.append(
        [
            "frames until applied (1 = next)",
            str(_pct(nth, 50)),
            str(_pct(nth, 99)),
            str(max(nth)),
            f"{statistics.mean(nth):.2f}",
        ]
    )
    print(format_table(["latency", "p50", "p99", "max", "mean"], rows))
    print("\n(2) messages applied while rendering (each answered with /reply)")
    rows = [
        [
            f"{r['offered']:,.0f}/s offered",
            f"{r['sent']:,}",
            f"{r['received']:,}",
            f"{r['applied']:,}",
            f"{r['lost']:,}",
            f"{r['applied_per_s']:,.0f}",
            f"{r['fps']:.1f}",
        ]
        for r in results
    ]
    print(format_table(["run", "sent", "received", "applied", "lost", "applied/s", "fps"], rows))
    print("\nbaseline, same process and packet (parse only, no sockets, no dispatch):")
    print(
        format_table(
            ["parser", "messages/s"],
            [
                ["python-osc OscMessage", f"{baseline_py:,.0f}"],
                ["mapping.control.osc_codec", f"{baseline_ours:,.0f}"],
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
