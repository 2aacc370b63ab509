"""Multi-machine shows in tests and the cluster benchmark: show folders with render nodes,
a UDP relay that delays, jitters and drops datagrams (the kernel here has no netem), and
the checks on the frames each node recorded (``run_show.py node --record``)."""

from __future__ import annotations

import heapq
import itertools
import json
import random
import selectors
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapping.cluster.clock import ClockStatus

CUES = ("red", "green", "blue", "white")


class ReferenceClock:
    """This machine's clock as the venue's reference (what a chronyd serving ``local
    stratum`` or a PTP grand master reports: synchronised, offset 0). All the machines of
    a one-machine test share it."""

    def now(self) -> float:
        return time.time()

    def status(self) -> ClockStatus:
        return ClockStatus("reference", synced=True, offset_s=0.0, detail="this machine")


def write_cluster_show(
    root: Path,
    nodes: dict[str, str],
    *,
    size: tuple[int, int] = (32, 18),
    controller_outputs: int = 0,
    osc_port: int = 0,
    bind: str = "127.0.0.1",
    allow: Sequence[str] = ("127.0.0.1/32",),
    fade_s: float = 0.5,
) -> Path:
    """A show folder: one output per node (``nodes``: name → ``host:port``), plus
    ``controller_outputs`` outputs of the controller's own, one solid layer per cue colour
    and four cues that GO round in a loop (each fades its colour in over ``fade_s``)."""
    w, h = size
    lines = ["schema_version = 1", 'name = "cluster"', "[canvas]", f"size = [{w}, {h}]"]
    outputs = [(f"out-{n}", n) for n in nodes] + [
        (f"own-{i}", None) for i in range(controller_outputs)
    ]
    for name, node in outputs:
        lines += ["[[outputs]]", f'name = "{name}"', f"resolution = [{w}, {h}]"]
        if node is not None:
            lines.append(f'node = "{node}"')
    for name, _node in outputs:
        lines += [
            "[[surfaces]]",
            f'name = "s-{name}"',
            f'output = "{name}"',
            f"polygon = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]",
            f"corners = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]",
        ]
    colours = {"red": "#ff0000", "green": "#00ff00", "blue": "#0000ff", "white": "#ffffff"}
    for cue in CUES:
        lines += [
            "[[layers]]",
            f'name = "{cue}"',
            'kind = "solid"',
            f'color = "{colours[cue]}"',
            "opacity = 0.0",
        ]
    for i, cue in enumerate(CUES):
        lines += ["[[cues]]", f'name = "{cue}"', f"fade = {fade_s}"]
        if i == len(CUES) - 1:
            lines.append('next = "1"')
        for other in CUES:
            lines += [f"[cues.layers.{other}]", f"opacity = {1.0 if other == cue else 0.0}"]
    for name, address in nodes.items():
        lines += ["[[nodes]]", f'name = "{name}"', f'address = "{address}"']
    lines += ["[control]", f"osc_port = {osc_port}", f'bind = "{bind}"']
    lines.append("allow = [" + ", ".join(f'"{a}"' for a in allow) + "]")
    lines.append("panel_port = 0")
    root.mkdir(parents=True, exist_ok=True)
    (root / "show.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


# -- the relay


@dataclass
class Impairment:
    """One-way delay (mean ± uniform jitter) and loss of a link."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    loss: float = 0.0


@dataclass
class _Link:
    front: socket.socket  # where the controller sends (the node's address in the show)
    back: socket.socket  # what the relay sends to the node from
    target: tuple[str, int]
    client: tuple[str, int] | None = None


@dataclass
class RelayStats:
    forwarded: int = 0
    dropped: int = 0
    delays: list[float] = field(default_factory=list)


class UdpRelay:
    """Forwards datagrams between a controller and its nodes with delay, jitter and loss.

    For each node: datagrams sent to ``front`` reach ``target`` from the relay's ``back``
    socket; the node's replies to ``back`` go to whoever last sent to ``front``.
    Delays are drawn per datagram (so jitter reorders, as on a real network).
    """

    def __init__(self, impairment: Impairment, seed: int = 1) -> None:
        self.impairment = impairment
        self._random = random.Random(seed)
        self._links: list[_Link] = []
        self._sel = selectors.DefaultSelector()
        self._heap: list[tuple[float, int, socket.socket, bytes, tuple[str, int]]] = []
        self._n = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = RelayStats()

    def add(
        self, front: tuple[str, int], back_host: str, target: tuple[str, int]
    ) -> tuple[str, int]:
        """Relay ``front`` → ``target``; returns the front address actually bound."""
        f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        f.bind(front)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b.bind((back_host, 0))
        link = _Link(f, b, target)
        self._links.append(link)
        self._sel.register(f, selectors.EVENT_READ, (link, True))
        self._sel.register(b, selectors.EVENT_READ, (link, False))
        return f.getsockname()

    def start(self) -> UdpRelay:
        self._thread = threading.Thread(target=self._loop, name="udp-relay", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for link in self._links:
            link.front.close()
            link.back.close()
        self._sel.close()

    def _schedule(self, sock: socket.socket, data: bytes, to: tuple[str, int]) -> None:
        imp = self.impairment
        if imp.loss and self._random.random() < imp.loss:
            self.stats.dropped += 1
            return
        delay = max(0.0, imp.delay_s + self._random.uniform(-imp.jitter_s, imp.jitter_s))
        self.stats.delays.append(delay)
        self._n += 1
        heapq.heappush(self._heap, (time.monotonic() + delay, self._n, sock, data, to))

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, sock, data, to = heapq.heappop(self._heap)
                try:
                    sock.sendto(data, to)
                    self.stats.forwarded += 1
                except OSError:
                    pass
            timeout = 0.005 if not self._heap else max(0.0, min(0.005, self._heap[0][0] - now))
            for key, _ in self._sel.select(timeout):
                link, is_front = key.data
                try:
                    data, addr = key.fileobj.recvfrom(65536)  # type: ignore[union-attr]
                except OSError:
                    continue
                if is_front:
                    link.client = addr
                    self._schedule(link.back, data, link.target)
                elif link.client is not None:
                    self._schedule(link.front, data, link.client)


# -- records


@dataclass(frozen=True)
class Frame:
    clock: float
    t: float
    frame: int
    cue: str | None
    after_s: float = 0.0
    """How long after its slot's time the frame was presented (over a period: late)."""


def read_records(path: Path) -> list[Frame]:
    """A node's ``--record`` file (a last line cut by SIGKILL is left out)."""
    frames = []
    if not path.exists():
        return frames
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        frames.append(Frame(d["clock"], d["t"], d["frame"], d["cue"], d.get("after_s", 0.0)))
    return frames


def cue_changes(frames: Sequence[Frame]) -> dict[int, str | None]:
    """Frame index → the cue that became current at it, where the frame before it was
    drawn too (a change across dropped frames has no one frame to compare)."""
    out: dict[int, str | None] = {}
    for prev, cur in itertools.pairwise(frames):
        if cur.cue != prev.cue and cur.frame == prev.frame + 1:
            out[cur.frame] = cur.cue
    return out


def disagreements(records: dict[str, Sequence[Frame]]) -> list[str]:
    """Frames two nodes both drew with different cues (the same index must show the same
    state everywhere)."""
    by_frame: dict[int, dict[str, str | None]] = {}
    for node, frames in records.items():
        for f in frames:
            by_frame.setdefault(f.frame, {})[node] = f.cue
    out = []
    for index, cues in sorted(by_frame.items()):
        if len(set(cues.values())) > 1:
            out.append(f"frame {index}: {cues}")
    return out


def index_spread_at_same_instant(records: dict[str, Sequence[Frame]], fps: float) -> int:
    """The largest difference of frame index between two nodes at the same clock time
    (each node's index at an instant = the index of its latest frame drawn by then), over
    the instants where both have drawn; a frame boundary can make it 1. Frames presented
    over a period after their slot (late: dropped frames, counted by :func:`late_frames`)
    are left out."""
    import bisect

    records = {n: [f for f in fs if f.after_s <= 1.0 / fps] for n, fs in records.items()}
    nodes = list(records)
    worst = 0
    for a in nodes:
        for b in nodes:
            if a == b or not records[a] or not records[b]:
                continue
            clocks_b = [f.clock for f in records[b]]
            for f in records[a]:
                i = bisect.bisect_right(clocks_b, f.clock) - 1
                if i < 0:
                    continue
                nb = records[b][i]
                if f.clock - nb.clock > 1.5 / fps:
                    continue  # b was not drawing then (killed, not yet started, a late frame)
                worst = max(worst, abs(f.frame - nb.frame))
    return worst


def late_frames(frames: Sequence[Frame], fps: float) -> int:
    """Frames presented more than a period after their slot's time."""
    return sum(1 for f in frames if f.after_s > 1.0 / fps)
