"""Several machines: what a node joining a long show costs, with and without compaction.

What it measures
    A controller and two render nodes in this process (each its own player on a headless
    GL context), over this machine's loopback UDP. Node "a" runs from the start; the
    controller's player applies ``--commands`` commands (OSC-style faders on four layers,
    a master move every 40, a GO every 150) over a few seconds of frames; then node "b"
    starts and joins. Measured for node "b": the bytes the controller sent it until it was
    caught up (heartbeats included), the number of datagrams, and the time from its start
    until it held the whole state (``RenderNode.wait_caught_up``), then whether its next
    frames equal the controller's (``FrameState`` compared exactly).

    Baseline (same process, same commands): compaction off (``compact_every`` larger than
    the log), i.e. the whole log replayed, 64 commands per node per 100 ms — which is also
    what an edit of the show folder (``show.reload``) caused before it could be compacted.
    The third row per length: compaction on, with an edit of ``show.toml`` and its
    ``show.reload`` (what the folder watcher submits) every ``--edit-every`` commands.

Run: ``python bench/bench_cluster_join.py`` (``--commands 2000 5000``).
"""

from __future__ import annotations

import argparse
import logging
import platform
import random
import socket
import tempfile
import time
from pathlib import Path

from _common import format_table

from mapping.cluster.controller import ClusterController
from mapping.cluster.lock import first_slot_at, slot_time
from mapping.cluster.node import RenderNode
from mapping.gl.context import create_headless_context
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.clusterkit import ReferenceClock, write_cluster_show

FPS = 30.0


def _port() -> tuple[str, int]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    address = s.getsockname()
    s.close()
    return address


def one(n_commands: int, compact_every: int, ctx, edit_every: int = 0) -> list[str]:
    addresses = {n: _port() for n in "ab"}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_cluster_show(
            Path(tmp) / "s", {n: f"{h}:{p}" for n, (h, p) in addresses.items()}
        )
        show = load_show(root)
        clock = ReferenceClock()
        controller = ClusterController(
            show,
            FPS,
            clock=clock,
            start_cue="1",
            bind=("127.0.0.1", 0),
            compact_every=compact_every,
        )
        main = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
        controller.attach(main)
        controller.start(0.0)
        players: list[ShowPlayer] = []
        nodes: list[RenderNode] = []

        def run_until(t_end: float) -> None:
            slot = first_slot_at(main.clock(), FPS)
            while slot_time(slot, FPS) < t_end:
                t = slot_time(slot, FPS)
                time.sleep(max(0.0, t - main.clock()))
                for p in (main, *players):
                    p.step(t)
                slot += 1

        def join(name: str) -> RenderNode:
            node = RenderNode(show, name, addresses[name], clock=clock).start()
            nodes.append(node)
            hello = node.wait_hello(5.0)
            assert hello is not None
            node.wait_caught_up(600.0)
            player = ShowPlayer(show, HeadlessOutputs(ctx), start_cue=hello.start_cue)
            node.attach(player)
            players.append(player)
            return node

        rnd = random.Random(5)
        try:
            join("a")
            colours = ("#ff0000", "#ff4000")
            for i in range(n_commands):
                if edit_every and i % edit_every == edit_every // 2:
                    toml = root / "show.toml"
                    toml.write_text(toml.read_text().replace(*colours))
                    colours = colours[::-1]
                    main.submit("show.reload", source="watch")
                elif i % 150 == 75:
                    main.submit("go", source="bench")
                elif i % 40 == 0:
                    main.submit("master", rnd.random(), 0.5, source="osc")
                else:
                    layer = rnd.choice(("red", "green", "blue", "white"))
                    main.submit(
                        "layer.opacity", rnd.random(), 0.0, path={"layer": layer}, source="osc"
                    )
                if i % 100 == 99:
                    run_until(main.clock() + 1 / FPS)
            run_until(main.clock() + 0.5)
            before = dict(controller.sent_bytes)
            packets = controller.sent_packets
            started = time.monotonic()
            b = join("b")
            join_s = time.monotonic() - started
            sent = controller.sent_bytes[addresses["b"]] - before.get(addresses["b"], 0)
            datagrams = controller.sent_packets - packets
            run_until(main.clock() + 0.3)
            same = main.frame_state == players[-1].frame_state
            snapshot = len(controller.base.data) if controller.base is not None else 0
            return [
                f"{n_commands:,}",
                ("on" if compact_every < n_commands else "off (baseline)")
                + (f", an edit every {edit_every}" if edit_every else ""),
                f"{b.snapshots}",
                f"{snapshot:,}",
                f"{sent:,}",
                f"{datagrams:,}",
                f"{join_s * 1000:,.0f}",
                "yes" if same else "NO",
            ]
        finally:
            controller.close()
            for node in nodes:
                node.close()
            for p in (main, *players):
                p.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--edit-every", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ctx = create_headless_context()
    rows = []
    for n in args.commands:
        rows.append(one(n, 10**9, ctx))  # baseline: the whole log replayed
        rows.append(one(n, 1000, ctx))
        rows.append(one(n, 1000, ctx, args.edit_every))
    print(
        f"node joining a running show ({platform.processor() or platform.machine()}, {FPS:g} fps)"
    )
    headers = ["commands", "compaction", "snapshots", "snapshot B", "sent to node B"]
    headers += ["datagrams (all)", "join ms", "same frames"]
    print(format_table(headers, rows))


if __name__ == "__main__":
    main()
