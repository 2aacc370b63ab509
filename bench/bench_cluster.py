"""Several machines, one show: GO to frame on every node and frame-index agreement.

What it measures
    A controller (``run_show.py run``) and ``--nodes`` render nodes (``run_show.py node``),
    each its own process with its own headless GL context, on this machine's loopback; every
    datagram between controller and nodes passes a UDP relay in this process, which adds
    delay, jitter and loss per phase. The processes start once; the phases follow each
    other on the same running show:

    * **baseline**: no delay, no loss (the relay only forwards);
    * **20 ms ± 10 ms, 1 % loss** (issue 11's network);
    * **50 ms ± 20 ms, 5 % loss** (a bad network, still below the lead time).

    In each phase ``--gos`` GOs are sent over OSC to the controller at random moments of
    the frame cycle. Each node records every frame (machine clock, show time, frame index,
    cue). Per GO and node: the time from ``sendto`` to the presentation of the first frame
    showing the new cue, in frames (the lead time is the floor: ``--lead-frames``); per GO:
    the spread of that frame's index across nodes (0 = frame-locked). Over the phase, at
    every millisecond, each pair of nodes' frame on screen (the latest each presented) —
    the same index, one apart (a frame boundary fell between their presentations), or
    more — and the frames
    whose index shows different cues on two nodes (must be 0); and the skew: for each frame
    index all nodes drew, how far apart (machine clock) they presented it.

Run: ``python bench/bench_cluster.py`` (``--nodes 3 --gos 20 --fps 30 --lead-frames 6``).
"""

from __future__ import annotations

import argparse
import bisect
import logging
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's mapping/, not an installed copy

from _common import format_table  # noqa: E402

from mapping.control.osc_codec import encode_message  # noqa: E402
from tests.clusterkit import (  # noqa: E402
    Frame,
    Impairment,
    UdpRelay,
    disagreements,
    read_records,
    write_cluster_show,
)

PHASES = (
    ("baseline: no delay, no loss", Impairment()),
    ("20 ms ± 10 ms, 1 % loss", Impairment(0.020, 0.010, 0.01)),
    ("50 ms ± 20 ms, 5 % loss", Impairment(0.050, 0.020, 0.05)),
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Cluster:
    """The controller and nodes as processes, their traffic through one relay."""

    def __init__(self, folder: Path, nodes: int, fps: float, lead: int) -> None:
        self.folder = folder
        self.relay = UdpRelay(Impairment(), seed=5)
        fronts: dict[str, str] = {}
        listens: dict[str, int] = {}
        for k in range(1, nodes + 1):
            name = f"n{k}"
            listens[name] = _free_port()
            front = self.relay.add(("127.0.0.1", 0), "127.0.0.1", ("127.0.0.1", listens[name]))
            fronts[name] = f"{front[0]}:{front[1]}"
        self.relay.start()
        self.osc_port = _free_port()
        root = write_cluster_show(folder / "show", fronts, osc_port=self.osc_port, fade_s=0.1)
        self.records = {n: folder / f"{n}.jsonl" for n in fronts}
        run = [sys.executable, str(REPO / "run_show.py"), "--log-level", "WARNING"]
        self.procs = [
            subprocess.Popen(
                [*run, "run", str(root), "--headless", "--clock", "system", "--no-audio",
                 "--fps", str(fps), "--lead-frames", str(lead),
                 "--state-dir", str(folder / "state")],
                stdout=subprocess.DEVNULL, stderr=open(folder / "controller.log", "wb"),
            )
        ]  # fmt: skip
        for name, port in listens.items():
            self.procs.append(
                subprocess.Popen(
                    [*run, "node", str(root), "--name", name, "--headless", "--clock", "system",
                     "--listen", f"127.0.0.1:{port}", "--record", str(self.records[name])],
                    stdout=subprocess.DEVNULL, stderr=open(folder / f"{name}.log", "wb"),
                )
            )  # fmt: skip
        self.osc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(read_records(p)) >= 10 for p in self.records.values()):
                return
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.1)
        logs = "".join(p.read_text()[-1500:] for p in self.folder.glob("*.log"))
        raise RuntimeError(f"the cluster did not start:\n{logs}")

    def go(self) -> float:
        sent = time.time()
        self.osc.sendto(encode_message("/go"), ("127.0.0.1", self.osc_port))
        return sent

    def close(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait(5)
        self.osc.close()
        self.relay.close()


def phase(cluster: Cluster, imp: Impairment, gos: int, fps: float, rng: random.Random) -> dict:
    cluster.relay.impairment = imp
    time.sleep(0.5)  # what was in flight under the previous phase has landed
    start = time.time()
    sent = []
    for _ in range(gos):
        time.sleep(rng.uniform(0.35, 0.35 + 1.0 / fps))  # longer than the lead and fade
        sent.append(cluster.go())
    time.sleep(1.0)
    end = time.time()
    records = {
        n: [f for f in read_records(p) if start <= f.clock <= end]
        for n, p in cluster.records.items()
    }
    latencies: list[float] = []
    spreads: list[int] = []
    missed = 0
    for t_sent in sent:
        frames_of_go = []
        for fs in records.values():
            first = next((i for i, f in enumerate(fs) if f.clock >= t_sent), None)
            change = None
            if first is not None:
                change = next((f for f in fs[first + 1 :] if f.cue != fs[first].cue), None)
            if change is None:
                missed += 1
                continue
            latencies.append((change.clock - t_sent) * fps)
            frames_of_go.append(change.frame)
        if frames_of_go:
            spreads.append(max(frames_of_go) - min(frames_of_go))
    same, boundary, more, compared = _agreement(records, fps, start, end)
    presented: dict[int, list[float]] = {}
    for fs in records.values():
        for f in fs:
            if f.after_s <= 1.0 / fps:  # late frames are counted apart
                presented.setdefault(f.frame, []).append(f.clock)
    skews = [(max(c) - min(c)) * 1000 for c in presented.values() if len(c) == len(records)] or [
        float("nan")
    ]
    return {
        "latencies": latencies or [float("nan")],
        "spreads": spreads or [0],
        "missed": missed,
        "same": same,
        "boundary": boundary,
        "more": more,
        "compared": compared,
        "cue_disagreements": len(disagreements(records)),
        "skews": skews,
        "late": sum(1 for fs in records.values() for f in fs if f.after_s > 1.0 / fps),
        "frames": sum(len(fs) for fs in records.values()),
        "dropped": cluster.relay.stats.dropped,
    }


def _agreement(
    records: dict[str, list[Frame]], fps: float, start: float, end: float
) -> tuple[int, int, int, int]:
    """At every millisecond of the phase, each pair of nodes' frame on screen (the latest
    frame each presented by then): the same index, one apart (a frame boundary fell
    between their presentations), or more. Instants where a node was not drawing, and
    late frames (presented over a period after their slot: counted apart), are left out."""
    records = {n: [f for f in fs if f.after_s <= 1.0 / fps] for n, fs in records.items()}
    clocks = {n: [f.clock for f in fs] for n, fs in records.items()}
    names = sorted(records)
    same = boundary = more = compared = 0
    for step in range(int((end - start) * 1000)):
        instant = start + step / 1000
        shown = {}
        for n in names:
            i = bisect.bisect_right(clocks[n], instant) - 1
            if i >= 0 and instant - clocks[n][i] <= 1.5 / fps:
                shown[n] = records[n][i].frame
        for x, a in enumerate(names):
            for b in names[x + 1 :]:
                if a in shown and b in shown:
                    compared += 1
                    d = abs(shown[a] - shown[b])
                    same += d == 0
                    boundary += d == 1
                    more += d > 1
    return same, boundary, more, compared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, help="render nodes")
    parser.add_argument("--gos", type=int, default=20, help="GOs per phase")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the show")
    parser.add_argument("--lead-frames", type=int, default=6, help="controller's lead time")
    parser.add_argument("--phases", type=int, default=len(PHASES), help="run the first N phases")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rng = random.Random(1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), args.nodes, args.fps, args.lead_frames)
        try:
            cluster.wait_ready()
            for name, imp in PHASES[: args.phases]:
                before = cluster.relay.stats.dropped
                r = phase(cluster, imp, args.gos, args.fps, rng)
                r["dropped"] -= before
                results.append((name, r))
        finally:
            cluster.close()

    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; controller + {args.nodes} nodes (processes, headless "
        f"32×18 outputs) at {args.fps:g} fps on loopback, lead {args.lead_frames} frames; "
        f"{args.gos} GOs per phase\n"
    )
    print("(1) GO → first frame showing it, on every node (frames); spread across nodes")
    rows = []
    for name, r in results:
        lat = r["latencies"]
        rows.append(
            [
                name,
                f"{_pct(lat, 50):.2f}",
                f"{_pct(lat, 99):.2f}",
                f"{max(lat):.2f}",
                str(max(r["spreads"])),
                str(r["missed"]),
                str(r["dropped"]),
            ]
        )
    print(
        format_table(
            ["network", "p50", "p99", "max", "max spread", "GOs missed", "datagrams lost"], rows
        )
    )
    print("\n(2) frame index on screen, each pair of nodes, every millisecond of the run")
    rows = []
    for name, r in results:
        n = max(r["compared"], 1)
        rows.append(
            [
                name,
                f"{r['compared']:,}",
                f"{100 * r['same'] / n:.1f} %",
                f"{100 * r['boundary'] / n:.1f} %",
                str(r["more"]),
                f"{_pct(r['skews'], 50):.1f} / {_pct(r['skews'], 99):.1f}",
                str(r["cue_disagreements"]),
                f"{r['late']} / {r['frames']:,}",
            ]
        )
    print(
        format_table(
            [
                "network",
                "compared",
                "same",
                "±1 (boundary)",
                "> 1",
                "skew p50/p99 ms",
                "cue differs",
                "late frames",
            ],
            rows,
        )
    )
    failed = any(
        r["cue_disagreements"] or max(r["spreads"]) or r["missed"] or r["more"] for _, r in results
    )
    if failed:
        print("\nFAILED: a GO landed on different frames, or nodes disagreed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
