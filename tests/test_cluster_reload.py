"""Edits of the show folder during a multi-machine show (issue 11): ``show.reload`` and
``layer.content`` are held by the compacted log's snapshot, the controller and the nodes
hash their folders again after each reload, a node whose copy lacks the edit is named,
and a node never reloads on its own."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import pytest

from mapping.cluster.node import RenderNode
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.clusterkit import ReferenceClock, write_cluster_show
from tests.test_cluster_evening import FPS, _frames, _param_show, free_port


def _edit(root: Path, old: str, new: str) -> None:
    toml = root / "show.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new, 1))


OTHER_SHADER = "void mainImage(out vec4 c, in vec2 f) { c = vec4(0.0, 1.0, 0.5, 1.0); }\n"


def test_a_snapshot_after_a_reload_and_a_layer_content_gives_the_same_frames(
    tmp_path: Path,
) -> None:
    """The controller shows a file on a layer (``layer.content``), its folder is edited and
    reloaded, a fader moves; a node restoring the snapshot loads its own copy of the edited
    folder and then shows the controller's frames, undos of both edits included. A node
    that kept the folder it had loaded before the edit (told it had already reloaded)
    does not: the reload is what the snapshot carries."""
    from mapping.cluster.controller import RecordingProcessor
    from mapping.cluster.snapshot import COMPACTABLE, restore, take
    from mapping.control.builtin import build_registry
    from mapping.live import LiveShow

    assert {"show.reload", "layer.content"} <= COMPACTABLE
    registry = build_registry()
    root = tmp_path / "p"
    _param_show(root)
    (root / "shaders" / "other.glsl").write_text(OTHER_SHADER)
    node_before = LiveShow(load_show(root))  # a node that loaded the folder before the edit
    stale = LiveShow(load_show(root))
    ctl = LiveShow(load_show(root))
    cp = RecordingProcessor(registry, ctl)

    def apply(name: str, args: list, path: dict | None, t: float) -> None:
        result = cp.apply(registry.make(name, args, path=path), t)
        assert result.ok, result
        ctl.frame(t)

    apply("go", [], None, 0.0)
    apply("layer.content", ["shaders/other.glsl", 1.0], {"layer": "gen"}, 0.5)
    _edit(root, 'color = "#ffffff"', 'color = "#ff00ff"')
    apply("show.reload", [], None, 1.0)
    assert ctl.show.layer("wash").content != stale.show.layer("wash").content
    apply("layer.opacity", [0.7, 0.5], {"layer": "wash"}, 1.2)
    snap = take(ctl, cp, 4, 1.2, cp.recorder.records, reload_seq=3, show_hash="abc")
    assert snap is not None
    np_ = RecordingProcessor(registry, node_before)
    meta = restore(node_before, np_, snap.json)
    assert meta == {"reload_seq": 3, "show_hash": "abc"}
    assert node_before.show.layer("wash").content == ctl.show.layer("wash").content
    assert node_before.engine.content("gen") == (root / "shaders" / "other.glsl").resolve()
    times = [1.2 + k * 0.1 for k in range(30)]
    expected = _frames(ctl, times)
    assert _frames(node_before, times) == expected
    for k, name in enumerate(("undo", "undo", "redo")):  # opacity, content; content again
        for live, p in ((ctl, cp), (node_before, np_)):
            assert p.apply(registry.make(name, []), 4.5 + 0.1 * k).ok
            live.frame(4.5 + 0.1 * k)
        if k == 1:  # both undone: the show's own shader again, on both
            assert ctl.engine.content("gen") != (root / "shaders" / "other.glsl").resolve()
            assert node_before.engine.content("gen") == ctl.engine.content("gen")
    later = [5.0 + k * 0.1 for k in range(20)]
    assert _frames(node_before, later) == _frames(ctl, later)
    # the comparison can fail: a node that does not load its copy of the edited folder
    restore(stale, RecordingProcessor(registry, stale), snap.json, reload_seq=3)
    assert _frames(stale, times) != expected


def test_a_node_never_watches_its_show_folder(tmp_path: Path, ctx) -> None:
    """A node reloads only when the controller's tagged show.reload lands (the same frame
    on every machine): a player with a folder watcher is refused as a node's."""
    from mapping.cluster import protocol
    from mapping.reload import ShowWatcher

    address = free_port()
    show = load_show(write_cluster_show(tmp_path / "s", {"a": f"{address[0]}:{address[1]}"}))
    node = RenderNode(show, "a", address, clock=ReferenceClock())
    node.hello = protocol.Hello(time.time(), FPS, show.name, "1", 0, 0.1, 1)
    player = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    watcher = ShowWatcher(player)
    try:
        with pytest.raises(RuntimeError, match="must not watch its show folder"):
            node.attach(player)
    finally:
        watcher.close()
        node.close()
        player.close()


def test_an_evening_of_folder_edits_keeps_compaction_and_nodes_in_step(
    tmp_path: Path, ctx, caplog
) -> None:
    """Over loopback UDP: 400 fader moves and GOs with three edits of the show folder, each
    reloaded by ``show.reload`` (as the folder watcher submits it); the log goes on being
    compacted past them, the controller hashes its folder again after each and node a
    (which reloaded at the same frames) keeps the same hash. Node b joins after the edits
    from a snapshot plus a few commands, loading its folder, and shows exactly the
    controller's frames; node c, whose copy of the folder lacks the last edit, is named
    with the file that differs and refused."""
    from mapping.cluster.controller import ClusterController
    from mapping.cluster.lock import first_slot_at, slot_time

    addresses = {n: free_port() for n in "abc"}
    root = write_cluster_show(tmp_path / "s", {n: f"{h}:{p}" for n, (h, p) in addresses.items()})
    show = load_show(root)
    clock = ReferenceClock()
    controller = ClusterController(
        show,
        FPS,
        clock=clock,
        start_cue="1",
        bind=("127.0.0.1", 0),
        compact_every=100,
        lead_frames=8,
    )
    main = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    controller.attach(main)
    controller.start(0.0)
    players: dict[str, ShowPlayer] = {}
    nodes: dict[str, RenderNode] = {}

    def join(name: str, folder: Path = root) -> RenderNode:
        node = RenderNode(load_show(folder), name, addresses[name], clock=clock).start()
        nodes[name] = node
        hello = node.wait_hello(5.0)
        assert hello is not None and node.wait_caught_up(5.0)
        player = ShowPlayer(load_show(folder), HeadlessOutputs(ctx), start_cue=hello.start_cue)
        node.attach(player)
        players[name] = player
        return node

    differ: list[float] = []

    def run_until(show_time: float) -> None:
        slot = first_slot_at(main.clock(), FPS)
        while slot_time(slot, FPS) < show_time:
            t = slot_time(slot, FPS)
            time.sleep(max(0.0, t - main.clock()))
            for p in (main, *players.values()):
                p.step(t)
            if any(p.frame_state != main.frame_state for p in players.values()):
                differ.append(t)
            slot += 1

    edits = {120: ("#ff0000", "#ff8000"), 230: ("#00ff00", "#00ff80"), 330: ("#ff8000", "#804000")}
    copy = tmp_path / "copy" / "s"
    rnd = random.Random(7)
    try:
        a = join("a")
        while a.show_hash is None or controller.show_hash is None:
            time.sleep(0.01)
        first_hash = controller.show_hash
        for i in range(400):
            if i in edits:
                if i == 330:
                    shutil.copytree(root, copy)  # node c's copy misses the last edit
                _edit(root, *(f'"{c}"' for c in edits[i]))
                main.submit("show.reload", source="watch")
            elif i % 150 == 75:
                main.submit("go", source="test")
            elif i % 40 == 0:
                main.submit("master", rnd.random(), 0.5, source="osc")
            else:
                layer = rnd.choice(("red", "green", "blue", "white"))
                main.submit(
                    "layer.opacity",
                    rnd.random(),
                    rnd.choice((0.0, 0.4)),
                    path={"layer": layer},
                    source="osc",
                )
            if i % 40 == 39:
                run_until(main.clock() + 1 / FPS)
        run_until(main.clock() + 0.4)  # every command applied, the folder hashed again
        assert differ == []  # node a reloaded at the same frames
        failed = [r.getMessage() for r in caplog.records if "rendering the frame" in r.getMessage()]
        assert failed == []  # every machine drew the reloaded show (its renderer took it)
        assert controller._barrier is None and controller.compactions >= 3
        assert controller.base is not None and controller.base.seq > 331
        assert main.live.show.layer("red").content != show.layer("red").content  # reloaded
        deadline = time.monotonic() + 3.0
        while controller.hash_seq != 331 or a.hash_seq != 331:
            assert time.monotonic() < deadline, (controller.hash_seq, a.hash_seq)
            time.sleep(0.02)
        assert controller.show_hash != first_hash and a.show_hash == controller.show_hash
        assert controller.rehashes >= 1 and controller.nodes["a"].refused is None
        sent_before = dict(controller.sent_bytes)
        b = join("b")
        assert b.snapshots == 1 and b.received == len(controller.log) == 400
        assert players["b"].live.show.layer("red").content == main.live.show.layer("red").content
        differ.clear()
        for _ in range(10):
            main.submit("layer.opacity", rnd.random(), 0.2, path={"layer": "red"}, source="osc")
            run_until(main.clock() + 0.05)
        run_until(main.clock() + 0.3)
        assert differ == []
        to_b = controller.sent_bytes[addresses["b"]] - sent_before.get(addresses["b"], 0)
        to_a = controller.sent_bytes[addresses["a"]]  # a saw every command
        assert to_b < to_a / 3 and len(controller.base.data) < 8000, (to_a, to_b)
        # node c's folder lacks the last edit: named with the file, refused
        c = RenderNode(load_show(copy), "c", addresses["c"], clock=clock).start()
        nodes["c"] = c
        deadline = time.monotonic() + 5.0
        while c.refused is None or controller.nodes["c"].differences is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert "show.toml" in (controller.nodes["c"].differences or "")
        assert "folder differs" in c.refused
        assert controller.nodes["b"].refused is None and controller.nodes["a"].refused is None
    finally:
        controller.close()
        for node in nodes.values():
            node.close()
        for p in (main, *players.values()):
            p.close()


def test_hashes_are_compared_only_after_the_same_reload(tmp_path: Path) -> None:
    """A running node's hash is judged against the controller's only when both hashed
    after the same show.reload (or the node hashed at its start): never in the frames
    between a reload and its hash, where a folder in step would look different."""
    from mapping.cluster import protocol
    from mapping.cluster.controller import ClusterController
    from mapping.commands import Command

    show = load_show(write_cluster_show(tmp_path / "s", {"a": "127.0.0.1:9"}))
    controller = ClusterController(
        show, FPS, clock=ReferenceClock(), bind=("127.0.0.1", 0), show_hash="new"
    )
    link = controller.nodes["a"]

    def judged(theirs: str, hash_seq: int | None) -> bool:
        link.refused = None
        health = protocol.NodeHealth("a", 1, show_hash=theirs, extra={"hash_seq": hash_seq})
        controller._judge_hash(link, health)
        return link.refused is not None

    try:
        assert judged("old", -1)  # hashed at its start: compared (and refused)
        assert not judged("new", -1)
        controller.publish(Command("show.reload", {}))  # #1 on its way: nobody judged
        assert not judged("old", -1) and not judged("old", None)
        controller.hash_seq = 1  # the controller hashed after #1
        assert not judged("old", None)  # the node holds #1, not hashed yet
        assert not judged("old", 0)  # (a hash from before it)
        assert judged("old", 1)  # both after #1: its folder lacks the edit
        assert not judged("new", 1)
    finally:
        controller.close()
