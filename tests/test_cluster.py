"""Several machines, one show (issue 11), in one process: the show file's nodes, commands
applied as of their tag, the wire format, and a controller with render nodes over
loopback UDP through a lossy relay (the network test in namespaces is
``test_cluster_netns.py``)."""

from __future__ import annotations

import time
from pathlib import Path

import moderngl
import pytest

from mapping.cluster import protocol
from mapping.cluster.clock import OffsetClock
from mapping.cluster.controller import ClusterController
from mapping.cluster.lock import TagTimeProcessor, first_slot_at, slot_time
from mapping.cluster.node import RenderNode
from mapping.control import osc_codec
from mapping.control.panel.state import StateDiff
from mapping.errors import ValidationError
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.clusterkit import Impairment, ReferenceClock, UdpRelay, write_cluster_show

FPS = 30.0


def opacity(player: ShowPlayer, layer: str) -> float:
    assert player.frame_state is not None
    for lf in player.frame_state.layers:
        if lf.layer.name == layer:
            return lf.opacity
    return 0.0


# -- the show file


def test_nodes_and_output_nodes_load(tmp_path: Path) -> None:
    root = write_cluster_show(tmp_path / "s", {"left": "10.0.0.2:9100", "right": "render-2:9101"})
    show = load_show(root)
    assert [(n.name, n.host, n.port) for n in show.nodes] == [
        ("left", "10.0.0.2", 9100),
        ("right", "render-2", 9101),
    ]
    assert [(o.name, o.node) for o in show.outputs] == [
        ("out-left", "left"),
        ("out-right", "right"),
    ]


def test_a_show_without_nodes_is_unchanged(show_dir: Path) -> None:
    show = load_show(show_dir)
    assert show.nodes == ()
    assert all(o.node is None for o in show.outputs)


def _problems(root: Path, old: str, new: str) -> list:
    text = (root / "show.toml").read_text()
    assert old in text
    (root / "show.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(ValidationError) as info:
        load_show(root)
    return info.value.problems


def test_an_unknown_node_name_is_named_with_a_hint(tmp_path: Path) -> None:
    root = write_cluster_show(tmp_path / "s", {"left": "10.0.0.2:9100"})
    problems = _problems(root, 'node = "left"', 'node = "lfet"')
    assert [p.key_path for p in problems] == ["outputs[0].node"]
    assert "unknown node 'lfet' (did you mean 'left'?)" in problems[0].message
    assert problems[0].line is not None and problems[0].file == root / "show.toml"


def test_bad_node_addresses_and_duplicates(tmp_path: Path) -> None:
    root = write_cluster_show(tmp_path / "s", {"a": "10.0.0.2:9100", "b": "10.0.0.3:9100"})
    problems = _problems(root, 'address = "10.0.0.2:9100"', 'address = "10.0.0.2:99999"')
    assert [p.key_path for p in problems] == ["nodes[0].address"]
    assert '"host:port"' in problems[0].message and "99999" in problems[0].message
    root = write_cluster_show(tmp_path / "t", {"a": "10.0.0.2:9100", "b": "10.0.0.3:9100"})
    problems = _problems(root, 'name = "b"\naddress', 'name = "a"\naddress')
    assert any(p.key_path == "nodes[1].name" and "duplicate" in p.message for p in problems)


# -- time tags


def test_slots_are_the_players_frame_times() -> None:
    for fps in (24.0, 29.97, 30.0, 60.0):
        for t in (0.0, 0.1, 1.0 / 3.0, 12.345, 3600.0):
            slot = first_slot_at(t, fps)
            assert slot_time(slot, fps) >= t > slot_time(slot - 1, fps)
            assert slot_time(slot, fps) == slot * (1.0 / fps)  # bit for bit, as ShowPlayer.run


def test_a_command_on_the_wire_keeps_its_slot_tag_and_arguments() -> None:
    tagged = protocol.TaggedCommand(
        7, 123456, "layer.opacity", {"layer": "red", "value": 0.1}, "set", "osc"
    )
    data = protocol.encode_command(tagged, 1_700_000_000.25, FPS)
    packet = osc_codec.parse_packet(data)
    assert isinstance(packet, osc_codec.Bundle)  # an OSC bundle, time-tagged at its frame
    tag_unix = osc_codec.ntp_to_unix(packet.timetag)
    assert tag_unix == pytest.approx(1_700_000_000.25 + 123456 / FPS, abs=1e-6)
    assert protocol.decode(data) == [tagged]
    command = tagged.command(FPS)
    assert command.at_show_time_s == 123456 * (1.0 / FPS) and command.args["value"] == 0.1
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(osc_codec.encode_message("/cluster/cmd", 1))


def test_a_command_received_after_its_tag_applies_as_of_the_tag(
    tmp_path: Path, ctx: moderngl.Context
) -> None:
    """GO tagged at 1.0 s (fade 0.5 s): the node that got it in time and the node that got
    it at 1.2 s show the same fade at 1.25 s (half way), not a fade started at 1.2 s."""
    show = load_show(write_cluster_show(tmp_path / "s", {"a": "127.0.0.1:9"}, fade_s=0.5))
    on_time = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    late = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    plain = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")  # without the tag rule
    for p in (on_time, late):
        p.processor = TagTimeProcessor(p.registry, p.live)
    on_time.submit("go", at_show_time_s=1.0)
    for t in (0.9, 1.0, 1.1):
        for p in (on_time, late, plain):
            p.step(t)
    late.submit("go", at_show_time_s=1.0)  # arrives at 1.2 s, after its frame
    plain.submit("go", at_show_time_s=1.0)
    for t in (1.2, 1.25):
        for p in (on_time, late, plain):
            p.step(t)
    assert opacity(on_time, "green") == pytest.approx(0.5)  # (1.25 − 1.0) / 0.5
    assert opacity(late, "green") == pytest.approx(0.5)
    assert opacity(late, "red") == pytest.approx(0.5)
    assert opacity(plain, "green") == pytest.approx(0.1)  # played late: (1.25 − 1.2) / 0.5
    assert late.status.cue == on_time.status.cue == "2 green"
    for p in (on_time, late, plain):
        p.close()


# -- controller and nodes over loopback UDP, through a lossy relay


def test_controller_and_nodes_frame_locked_through_loss_and_a_late_join(
    tmp_path: Path, ctx: moderngl.Context
) -> None:
    """20 % of datagrams lost each way: repeats every 100 ms within a lead of 15 frames
    (0.5 s) make a command later than its frame improbable (0.2⁵ per node and command)."""
    relay = UdpRelay(Impairment(delay_s=0.01, jitter_s=0.005, loss=0.2), seed=3)
    fronts = {}
    nodes_listen = {}
    for name in ("a", "b", "c"):
        probe = RenderNodePort()
        nodes_listen[name] = probe.address
        fronts[name] = relay.add(("127.0.0.1", 0), "127.0.0.1", probe.address)
        probe.close()
    relay.start()
    root = write_cluster_show(
        tmp_path / "s", {n: f"{h}:{p}" for n, (h, p) in fronts.items()}, controller_outputs=1
    )
    show = load_show(root)
    clock = ReferenceClock()
    controller = ClusterController(
        show,
        FPS,
        clock=clock,
        start_cue="1",
        lead_frames=15,
        bind=("127.0.0.1", 0),
        hash_cache=tmp_path / "hashes.json",
    )
    main = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    controller.attach(main)
    controller.start(0.0)
    assert main.renderer.output_names() == ["own-0"]
    players: dict[str, ShowPlayer] = {}
    nodes: dict[str, RenderNode] = {}

    def join(name: str) -> None:
        node = RenderNode(show, name, nodes_listen[name], clock=clock).start()
        hello = node.wait_hello(5.0)
        assert hello is not None and hello.fps == FPS
        assert node.wait_caught_up(5.0)  # a node joining a running show: the log first
        player = ShowPlayer(show, HeadlessOutputs(ctx), start_cue=hello.start_cue)
        node.attach(player)
        assert player.renderer.output_names() == [f"out-{name}"]
        nodes[name], players[name] = node, player

    cues: dict[str, dict[int, str | None]] = {}

    def run_until(show_time: float) -> None:
        slot = first_slot_at(main.clock(), FPS)
        while slot_time(slot, FPS) < show_time:
            t = slot_time(slot, FPS)
            time.sleep(max(0.0, t - main.clock()))
            for name, p in {"main": main, **players}.items():
                p.step(t)
                cues.setdefault(name, {})[slot] = p.status.cue
            slot += 1

    try:
        join("a")
        join("b")
        run_until(0.3)
        for _ in range(3):
            main.submit("go", source="test")
            run_until(main.clock() + 0.8)
        main.submit("layer.opacity", 0.25, path={"layer": "white"}, source="test")
        join("c")  # joins late: gets the whole log, replayed as of each tag
        run_until(main.clock() + 0.9)
        assert main.status.cue == "4 white"
        for name, p in players.items():
            assert p.status.cue == "4 white", name
            assert opacity(p, "white") == pytest.approx(opacity(main, "white")), name
        # every frame that two machines drew shows the same cue
        for slot, cue in cues["main"].items():
            for name in ("a", "b", "c"):
                if slot in cues.get(name, {}):
                    assert cues[name][slot] == cue, (name, slot)
        assert relay.stats.dropped > 0 and controller.resent > 0  # the repeats did the work
        health = {h["name"]: h for h in controller.health()}
        assert set(health) == {"a", "b", "c"}
        assert all(h["state"] == "ok" and h["behind"] == 0 for h in health.values()), health
        assert health["a"]["gpu"] and health["a"]["clock_source"] == "reference"
        assert health["a"]["show_hash_same"] is True  # the same folder: the same hash
        # the operator page's view of them (the panel's state, pushed as differences)
        panel = StateDiff().state(main, 0.0)["nodes"]
        assert [(n["name"], n["state"], n["cue"]) for n in panel] == [
            ("a", "ok", "4 white"),
            ("b", "ok", "4 white"),
            ("c", "ok", "4 white"),
        ]
        assert StateDiff().state(players["a"], 0.0)["nodes"] is None  # not a controller
    finally:
        controller.close()
        for node in nodes.values():
            node.close()
        relay.close()
        for p in (main, *players.values()):
            p.close()


class RenderNodePort:
    """A free loopback UDP port for a node to listen on."""

    def __init__(self) -> None:
        import socket

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.address = self._sock.getsockname()

    def close(self) -> None:
        self._sock.close()


def test_an_offset_clock_raises_the_alarm_and_another_show_folder_is_refused(
    tmp_path: Path,
) -> None:
    ports = [RenderNodePort() for _ in range(3)]
    addresses = {n: p.address for n, p in zip("abc", ports, strict=True)}
    for p in ports:
        p.close()
    root = write_cluster_show(tmp_path / "s", {n: f"{h}:{p}" for n, (h, p) in addresses.items()})
    other = tmp_path / "other"
    other.mkdir()
    (other / "show.toml").write_text((root / "show.toml").read_text() + "# edited on b\n")
    show = load_show(root)
    controller = ClusterController(show, FPS, clock=ReferenceClock(), bind=("127.0.0.1", 0))
    nodes = [
        RenderNode(show, "a", addresses["a"], clock=OffsetClock(ReferenceClock(), 0.020)),
        RenderNode(load_show(other), "b", addresses["b"], clock=ReferenceClock()),
        RenderNode(show, "c", addresses["c"], clock=ReferenceClock()),
    ]
    try:
        controller.start(0.0)
        for node in nodes:
            node.start()
        deadline = time.monotonic() + 5.0
        health: dict = {}
        while time.monotonic() < deadline:
            health = {h["name"]: h for h in controller.health()}
            if [health[n]["state"] for n in "abc"] == ["warning", "refused", "ok"]:
                break
            time.sleep(0.05)
        assert [health[n]["state"] for n in "abc"] == ["warning", "refused", "ok"], health
        # +20 ms is over a quarter of a 30 fps frame (8.3 ms): said, and shown in the status
        assert health["a"]["clock_alarm"] and health["a"]["clock_offset_s"] == pytest.approx(0.02)
        assert "quarter frame" in health["a"]["clock_reason"]
        assert not health["c"]["clock_alarm"] and health["c"]["show_hash_same"]
        assert health["b"]["show_hash_same"] is False and "differs" in health["b"]["refused"]
        assert nodes[1].refused is not None and nodes[0].refused is None  # b was told
        # b sent its manifest: the controller names the file that differs
        while health["b"]["files_differ"] is None and time.monotonic() < deadline + 5.0:
            time.sleep(0.05)
            health = {h["name"]: h for h in controller.health()}
        assert health["b"]["files_differ"].startswith("show.toml: differs"), health["b"]
    finally:
        controller.close()
        for node in nodes:
            node.close()


def test_a_resumed_controller_gives_joining_nodes_its_state(
    tmp_path: Path, ctx: moderngl.Context
) -> None:
    """After a crash the supervisor resumes the controller from its journal (not from
    commands): nodes that join start from the same state, then follow the commands."""
    from mapping.operations.journal import journal_of

    port = RenderNodePort()
    address = port.address
    port.close()
    root = write_cluster_show(tmp_path / "s", {"a": f"{address[0]}:{address[1]}"})
    show = load_show(root)
    main = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    main.live.engine.start("3", 0.0)  # what resuming the journal did: cue 3 fired at 0 s
    snapshot = journal_of(main.live, root, 0.0, 0.0).to_json()
    controller = ClusterController(show, FPS, clock=ReferenceClock(), start_cue="1")
    controller.attach(main)
    controller.start(0.0, snapshot)
    node = RenderNode(show, "a", address, clock=ReferenceClock()).start()
    try:
        hello = node.wait_hello(5.0)
        assert hello is not None and hello.snapshot == snapshot
        player = ShowPlayer(show, HeadlessOutputs(ctx), start_cue=hello.start_cue)
        node.attach(player)
        main.submit("go", source="test")  # then the commands, on top of that state
        deadline = time.monotonic() + 5.0
        while node.received < len(controller.log) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert node.received == len(controller.log) == 1
        t = slot_time(first_slot_at(main.clock() + 1.0, FPS), FPS)  # past the 0.5 s fade
        for p in (main, player):
            p.step(t)
        assert main.status.cue == player.status.cue == "4 white"
        assert opacity(player, "white") == opacity(main, "white") == pytest.approx(1.0)
    finally:
        controller.close()
        node.close()
        main.close()
        player.close()


def test_node_command_line_names_an_unknown_node(tmp_path: Path, caplog) -> None:
    import run_show

    root = write_cluster_show(tmp_path / "s", {"left": "127.0.0.1:9", "right": "127.0.0.1:10"})
    assert run_show.main(["node", str(root), "--name", "lfet", "--headless"]) == 2
    assert "no node named 'lfet' (did you mean 'left'?)" in caplog.text
    assert "left, right" in caplog.text


def test_a_node_cut_off_from_the_network_catches_up_when_it_comes_back(
    tmp_path: Path, ctx: moderngl.Context
) -> None:
    """A cable out for a second (every datagram lost both ways) while the operator GOes:
    the node keeps drawing its state, then gets the commands it missed and applies them as
    of their tags — the same state as the controller, no restart of anyone."""
    relay = UdpRelay(Impairment(), seed=7)
    probe = RenderNodePort()
    listen = probe.address
    front = relay.add(("127.0.0.1", 0), "127.0.0.1", listen)
    probe.close()
    relay.start()
    root = write_cluster_show(tmp_path / "s", {"a": f"{front[0]}:{front[1]}"}, fade_s=2.0)
    show = load_show(root)
    clock = ReferenceClock()
    controller = ClusterController(show, FPS, clock=clock, start_cue="1", bind=("127.0.0.1", 0))
    main = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    controller.attach(main)
    controller.start(0.0)
    node = RenderNode(show, "a", listen, clock=clock).start()
    player = None
    try:
        hello = node.wait_hello(5.0)
        assert hello is not None
        player = ShowPlayer(show, HeadlessOutputs(ctx), start_cue=hello.start_cue)
        node.attach(player)

        def run_for(seconds: float) -> None:
            end = main.clock() + seconds
            while main.clock() < end:
                t = slot_time(first_slot_at(main.clock(), FPS), FPS)
                time.sleep(max(0.0, t - main.clock()))
                for p in (main, player):
                    p.step(t)

        run_for(0.3)
        relay.impairment = Impairment(loss=1.0)  # the cable is out
        main.submit("go", source="test")
        run_for(1.0)
        assert main.status.cue == "2 green" and player.status.cue == "1 red"  # cut off
        assert {h["name"]: h["state"] for h in controller.health()} == {"a": "lost"}
        relay.impairment = Impairment()  # back
        run_for(0.6)
        assert player.status.cue == main.status.cue == "2 green"
        # a 2 s fade that started 1.6 s ago, the same on both (applied as of its tag)
        assert opacity(player, "green") == pytest.approx(opacity(main, "green"))
        assert 0.5 < opacity(main, "green") < 1.0
        assert controller.health()[0]["state"] == "ok" and controller.health()[0]["rejoins"] == 0
    finally:
        controller.close()
        node.close()
        relay.close()
        main.close()
        if player is not None:
            player.close()
