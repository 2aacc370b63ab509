"""The OSC dispatcher: messages become registry commands applied at a frame, and every
message is answered. No sockets here: a peer collects the replies synchronously."""

from __future__ import annotations

import logging
import math
import shutil

import pytest

from mapping.control.osc import AllowList, OscDispatcher, Outbox, Peer
from mapping.control.osc_codec import (
    IMMEDIATELY,
    encode_bundle,
    encode_message,
    parse_packet,
    unix_to_ntp,
)
from mapping.live import ShowLibrary
from mapping.show import load_show
from tests.osc_kit import OSC_SHOW, ManualClock, make_player


class Controller:
    """A peer whose replies land in a list, parsed."""

    def __init__(self, name: str = "c1") -> None:
        self.replies: list[tuple[str, tuple]] = []
        self.peer = Peer("udp", "127.0.0.1", 9000, self._got)

    def _got(self, data: bytes) -> None:
        msg = parse_packet(data)
        self.replies.append((msg.address, msg.args))

    def take(self) -> list[tuple[str, tuple]]:
        out, self.replies = self.replies, []
        return out


@pytest.fixture
def manual():
    return ManualClock()


@pytest.fixture
def rig(ctx, manual):
    show = load_show(OSC_SHOW)
    player = make_player(ctx, show, manual.show_clock(), start_cue="1")
    dispatcher = OscDispatcher(player, outbox=Outbox(threaded=False), clock=lambda: manual.t)
    yield player, dispatcher, Controller()
    player.renderer.release()


def send(dispatcher, controller, address, *args):
    dispatcher.handle_packet(encode_message(address, *args), controller.peer)


def frame(player, manual, t):
    manual.t = t
    player.step(t)


def test_go_applies_at_the_next_frame_and_is_answered_ok(rig, manual):
    player, dispatcher, c = rig
    send(dispatcher, c, "/go")
    assert c.take() == [] and player.engine.current_cue().name == "preshow"
    frame(player, manual, 0.1)
    assert player.engine.current_cue().name == "clip"
    assert c.take() == [("/reply/go", ("ok", "2 clip"))]


def test_values_queries_and_relative_changes(rig, manual):
    player, dispatcher, c = rig
    send(dispatcher, c, "/layer/logo/opacity", 0.25)
    frame(player, manual, 0.1)
    send(dispatcher, c, "/layer/logo/opacity", "+", 0.5)
    frame(player, manual, 0.2)
    send(dispatcher, c, "/layer/logo/opacity", "?")
    send(dispatcher, c, "/layer/logo/opacity", "-", 5)  # clamped to the range
    frame(player, manual, 0.3)
    assert c.take() == [
        ("/reply/layer/logo/opacity", ("ok", 0.25)),
        ("/reply/layer/logo/opacity", ("ok", 0.75)),
        ("/reply/layer/logo/opacity", ("ok", 0.75)),
        ("/reply/layer/logo/opacity", ("ok", 0.0)),
    ]
    assert player.engine.opacity_target("logo") == 0.0


def test_booleans_as_integers_or_true_false_tags(rig, manual):
    player, dispatcher, c = rig
    send(dispatcher, c, "/blackout", True)
    frame(player, manual, 0.1)
    assert player.live.blackout is True
    send(dispatcher, c, "/blackout", 0)
    frame(player, manual, 0.2)
    assert player.live.blackout is False
    assert [r[1][0] for r in c.take()] == ["ok", "ok"]


def test_address_patterns_apply_to_every_matching_address(rig, manual):
    player, dispatcher, c = rig
    layers = player.live.layer_names()
    send(dispatcher, c, "/layer/*/opacity", 0.5)
    frame(player, manual, 0.1)
    assert {name: player.engine.opacity_target(name) for name in layers} == dict.fromkeys(
        layers, 0.5
    )
    assert sorted(a for a, _ in c.take()) == sorted(f"/reply/layer/{n}/opacity" for n in layers)
    send(dispatcher, c, "/layer/{sky,logo}/opacity", 0.0)
    send(dispatcher, c, "/output/[!l]*/level", 0.3)
    frame(player, manual, 0.2)
    assert [player.engine.opacity_target(n) for n in layers] == [0.0, 0.5, 0.0, 0.5]
    assert player.engine.level_target("right") == pytest.approx(0.3)
    assert player.engine.level_target("left") == 1.0


def test_a_time_tagged_bundle_applies_at_the_first_frame_at_or_after_its_time(rig, manual):
    player, dispatcher, c = rig
    at_wall = ManualClock.WALL_AT_ZERO + 5.0
    bundle = encode_bundle(
        unix_to_ntp(at_wall), [encode_message("/go"), encode_message("/master", 0.5)]
    )
    dispatcher.handle_packet(bundle, c.peer)  # arrives at show time 0
    for t in (1 / 60, 4.9, 4.99):
        frame(player, manual, t)
        assert player.engine.current_cue().name == "preshow" and player.live.master.end == 1.0
    frame(player, manual, 5.01)
    assert player.engine.current_cue().name == "clip"
    assert player.live.master.end == 0.5
    assert player.engine.fired_at  # fired at the frame's show time, not on arrival
    assert [a for a, _ in c.take()] == ["/reply/go", "/reply/master"]


def test_an_immediate_bundle_applies_at_the_next_frame(rig, manual):
    player, dispatcher, c = rig
    dispatcher.handle_packet(encode_bundle(IMMEDIATELY, [encode_message("/go")]), c.peer)
    frame(player, manual, 0.02)
    assert player.engine.current_cue().name == "clip"


def test_a_time_tag_far_in_the_future_is_refused(rig, manual):
    player, dispatcher, c = rig
    tag = unix_to_ntp(ManualClock.WALL_AT_ZERO + 3 * 24 * 3600)
    dispatcher.handle_packet(encode_bundle(tag, [encode_message("/go")]), c.peer)
    assert c.take() == [("/reply/go", ("error", "time tag more than 24 h ahead: refused"))]
    assert len(player.commands) == 0


@pytest.mark.parametrize(
    ("address", "args", "error"),
    [
        ("/nothing/here", (), "unknown address '/nothing/here'"),
        ("/mastr", (0.5,), "unknown address '/mastr' (did you mean '/master'?)"),
        ("/master", ("loud",), "master: argument 'level': expected a number in [0, 1], got 'loud'"),
        ("/master", (1.5,), "master: argument 'level': expected a number in [0, 1], got 1.5"),
        ("/master", (math.nan,), "argument nan ('f'): expected a finite number"),
        ("/master", (math.inf,), "argument inf ('f'): expected a finite number"),
        ("/master", (0.5, 1.0, 2.0), "master: expected at most 2 argument(s)"),
        ("/master", (), "master: missing argument 'level'"),
        ("/master", (None,), "an argument of type 'N' is not accepted here"),
        ("/master", (b"\x00",), "master: argument 'level': expected a number in [0, 1], got b"),
        ("/master", ("?", 1), "a query ('?') takes no other arguments"),
        ("/master", ("+",), "'+' needs the amount to change by"),
        ("/go", ("+", 1), "go: relative changes (+/-) take a numeric value command"),
        ("/stop", ("?",), "stop: has no value to query"),
        ("/layer/nope/opacity", (0.5,), "layer.opacity: unknown layer 'nope'"),
        ("/layer/*/nope", (), "no address matches the pattern '/layer/*/nope'"),
        ("/*", (), "pattern '/*' selects commands, not names"),
        ("/[gq]*", (), "pattern '/[gq]*' selects commands, not names"),
        ("/layer/[z-a]/opacity", (), "pattern '/layer/[z-a]/opacity': range z-a is reversed"),
    ],
)
def test_bad_messages_get_an_error_reply_and_change_nothing(rig, manual, address, args, error):
    player, dispatcher, c = rig
    before = player.live.frame(0.0)
    send(dispatcher, c, address, *args)
    frame(player, manual, 0.1)
    replies = c.take()
    assert len(replies) == 1
    reply_address, reply_args = replies[0]
    assert reply_address == "/reply" + address
    assert reply_args[0] == "error" and reply_args[1].startswith(error), reply_args
    assert player.live.frame(0.0) == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x00\x01garbage", "malformed OSC packet: "),
        (b"/go\x00,f\x00\x00", "malformed OSC packet: argument runs past the end"),
        (encode_message("/master", "x" * 20000), "packet of 20016 bytes is over the limit"),
    ],
)
def test_malformed_and_oversized_packets_get_an_error_reply(rig, data, error):
    _player, dispatcher, c = rig
    dispatcher.handle_packet(data, c.peer)
    [(address, args)] = c.take()
    assert address == "/reply" and args[0] == "error" and args[1].startswith(error)


def test_the_show_lock_refuses_calibration_and_editing_addresses_with_a_reply(rig, manual):
    player, dispatcher, c = rig
    send(dispatcher, c, "/lock", 1)
    frame(player, manual, 0.1)
    send(dispatcher, c, "/surface/left-wing/visible", 0)
    send(dispatcher, c, "/output/left/testpattern", "grid")
    send(dispatcher, c, "/go")  # playback is not locked
    frame(player, manual, 0.2)
    assert c.take() == [
        ("/reply/lock", ("ok", 1)),
        (
            "/reply/surface/left-wing/visible",
            ("error", "surface.visible: refused, the show is locked (send /lock 0 first)"),
        ),
        (
            "/reply/output/left/testpattern",
            ("error", "output.testpattern: refused, the show is locked (send /lock 0 first)"),
        ),
        ("/reply/go", ("ok", "2 clip")),
    ]
    assert player.engine.visible("left-wing") and player.live.patterns["left"] is None


def test_show_load_names_only_shows_inside_the_shows_folder(ctx, manual, tmp_path):
    library = tmp_path / "shows"
    library.mkdir()
    shutil.copytree(OSC_SHOW, library / "demo")
    shutil.copytree(OSC_SHOW, library / "second")
    outside = tmp_path / "outside"
    shutil.copytree(OSC_SHOW, outside)
    (library / "escape").symlink_to(outside)
    player = make_player(
        ctx, load_show(library / "demo"), manual.show_clock(), library=ShowLibrary(library)
    )
    dispatcher = OscDispatcher(player, outbox=Outbox(threaded=False))
    c = Controller()
    try:
        for name in ("../outside", str(outside), "escape", "nosuch", "second"):
            send(dispatcher, c, "/show/load", name)
        frame(player, manual, 0.1)
        replies = c.take()
        assert [args[0] for _, args in replies] == ["error", "error", "error", "error", "ok"]
        assert "no paths" in replies[0][1][1] and "no paths" in replies[1][1][1]
        assert "leads outside the shows folder" in replies[2][1][1]
        assert "'nosuch'" in replies[3][1][1]
        assert player.live.show.root == (library / "second").resolve()
    finally:
        player.renderer.release()


def test_addresses_and_patterns_follow_the_show_that_is_loaded(ctx, manual, tmp_path):
    library = tmp_path / "shows"
    shutil.copytree(OSC_SHOW, library / "first")
    shutil.copytree(OSC_SHOW, library / "second")
    toml = library / "second" / "show.toml"
    toml.write_text(toml.read_text().replace('"logo"', '"crest"').replace(".logo]", ".crest]"))
    player = make_player(
        ctx, load_show(library / "first"), manual.show_clock(), library=ShowLibrary(library)
    )
    dispatcher = OscDispatcher(player, outbox=Outbox(threaded=False))
    c = Controller()
    try:
        send(dispatcher, c, "/layer/logo/opacity", 0.5)
        send(dispatcher, c, "/show/load", "second")
        frame(player, manual, 0.1)
        assert [args[0] for _, args in c.take()] == ["ok", "ok"]
        send(dispatcher, c, "/layer/*/opacity", 0.0)
        send(dispatcher, c, "/layer/logo/opacity", 0.5)
        frame(player, manual, 0.2)
        replies = c.take()
        assert sorted(a for a, args in replies if args[0] == "ok") == [
            f"/reply/layer/{n}/opacity" for n in sorted(["sky", "clip", "crest", "warm-wash"])
        ]
        assert (
            "/reply/layer/logo/opacity",
            ("error", "layer.opacity: unknown layer 'logo'"),
        ) in replies
    finally:
        player.renderer.release()


def test_a_flood_is_cut_to_the_clients_rate_with_one_reply_and_one_log_line(ctx, manual, caplog):
    player = make_player(ctx, load_show(OSC_SHOW), manual.show_clock())
    dispatcher = OscDispatcher(
        player, outbox=Outbox(threaded=False), flood_rate=100, clock=lambda: manual.t
    )
    c, other = Controller(), Controller()
    other.peer = Peer("udp", "127.0.0.2", 9000, other._got)
    packet = encode_message("/master", 0.5)
    try:
        with caplog.at_level(logging.WARNING, logger="mapping.control.osc"):
            for _ in range(3000):
                dispatcher.handle_packet(packet, c.peer)
            dispatcher.handle_packet(packet, other.peer)  # another controller is not affected
        assert dispatcher.stats.submitted == 101 and dispatcher.stats.flood_dropped == 2900
        assert len(player.commands) == 101
        flood_lines = [r for r in caplog.records if "flood" in r.getMessage()]
        assert len(flood_lines) == 1
        errors = [args for _, args in c.take() if args[0] == "error"]
        assert errors == [("error", "flood: messages dropped")]
        frame(player, manual, 0.1)
        assert [args for _, args in other.take()] == [("ok", 0.5)]
    finally:
        player.renderer.release()


def test_subscribers_get_cue_next_progress_heartbeat_and_errors(rig, manual):
    player, dispatcher, c = rig
    send(dispatcher, c, "/subscribe")
    assert c.take() == [("/reply/subscribe", ("ok",))]
    frame(player, manual, 0.0)
    pushed = dict(c.take())
    assert pushed["/status/cue"] == ("1", "preshow")
    assert pushed["/status/next"] == ("2", "clip")
    assert pushed["/status/heartbeat"] == (1,) and "/status/fps" in pushed
    assert pushed["/status/progress"] == (1.0,) and pushed["/status/late"] == (0,)
    send(dispatcher, c, "/go")
    frame(player, manual, 0.1)  # "clip" fades over 2 s
    pushed = c.take()
    assert ("/status/cue", ("2", "clip")) in pushed and ("/status/next", ("3", "emblem")) in pushed
    frame(player, manual, 1.1)
    assert ("/status/progress", (pytest.approx(0.5),)) in c.take()
    send(dispatcher, c, "/layer/nope/opacity", 1.0)  # refused on arrival
    assert ("/error", ("layer.opacity: unknown layer 'nope'",)) in c.take()
    send(dispatcher, c, "/lock", 1)
    send(dispatcher, c, "/quit")  # refused when applied
    frame(player, manual, 1.2)
    refusal = "quit: refused, the show is locked (send /lock 0 first)"
    assert ("/error", (refusal,)) in c.take()
    send(dispatcher, c, "/unsubscribe")
    frame(player, manual, 2.5)
    assert c.take() == [("/reply/unsubscribe", ("ok",))]


def test_a_cue_fired_again_is_pushed_again(rig, manual):
    player, dispatcher, c = rig
    send(dispatcher, c, "/subscribe")
    frame(player, manual, 0.0)
    c.take()
    send(dispatcher, c, "/cue/1/start")
    frame(player, manual, 0.5)
    assert ("/status/cue", ("1", "preshow")) in c.take()


def test_a_flood_of_refused_commands_is_answered_one_by_one_and_logged_in_a_few_lines(
    rig, manual, caplog
):
    player, dispatcher, c = rig
    send(dispatcher, c, "/lock", 1)
    frame(player, manual, 0.0)
    c.take()
    with caplog.at_level(logging.WARNING):
        for _ in range(3000):
            send(dispatcher, c, "/quit")  # refused by the lock when applied
            send(dispatcher, c, "/layer/nope/opacity", 1.0)  # refused on arrival
        frames = 0
        while len(player.commands):
            frame(player, manual, 0.1 + frames / 60)
            frames += 1
    replies = c.take()
    assert len(replies) == 6000 and all(args[0] == "error" for _, args in replies)
    assert frames <= 2  # applied within the per-frame budget, not one frame each
    assert len(caplog.records) <= 4, [r.getMessage() for r in caplog.records]
    assert player.running


def test_the_allow_list_takes_addresses_and_networks_of_both_families():
    allow = AllowList(["127.0.0.1/32", "::1/128", "192.168.10.0/24"])
    assert allow.allows("127.0.0.1") and allow.allows("::1")
    assert allow.allows("192.168.10.77") and allow.allows("::ffff:192.168.10.77")
    assert not allow.allows("192.168.11.1") and not allow.allows("10.0.0.1")
    assert not allow.allows("fe80::1") and not allow.allows("not-an-address")
    assert not AllowList([]).allows("127.0.0.1")


def test_malformed_packets_and_bundled_messages_draw_on_the_same_flood_budget(ctx, manual):
    player = make_player(ctx, load_show(OSC_SHOW), manual.show_clock())
    dispatcher = OscDispatcher(
        player, outbox=Outbox(threaded=False), flood_rate=100, clock=lambda: manual.t
    )
    c = Controller()
    try:
        for _ in range(1000):
            dispatcher.handle_packet(b"\x00garbage", c.peer)
        replies = c.take()
        assert len(replies) == 101  # 100 errors within the budget, then one flood reply
        assert replies[-1] == ("/reply", ("error", "flood: messages dropped"))
        manual.t += 1.0  # the budget refills: 100 more
        bundle = encode_bundle(IMMEDIATELY, [encode_message("/ping")] * 150)
        dispatcher.handle_packet(bundle, c.peer)
        replies = c.take()
        assert replies.count(("/reply/ping", ("ok",))) == 100
        assert replies[100:] == [("/reply/ping", ("error", "flood: messages dropped"))]
    finally:
        player.renderer.release()
