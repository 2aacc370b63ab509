"""The OSC servers on loopback: UDP and TCP (OSC 1.0 length prefix and OSC 1.1 SLIP) with
python-osc as the client, the allow-list, stream limits, and random bytes at every socket
while the show renders."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time

import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.tcp_client import SimpleTCPClient
from pythonosc.udp_client import SimpleUDPClient

from mapping.control.osc import OscServer
from mapping.control.osc_codec import encode_message, frame_length, slip_encode
from mapping.show import Control, load_show
from tests.conftest import IN_CI
from tests.osc_kit import OSC_SHOW, UdpClient, make_player, wait_until


@pytest.fixture
def player(ctx):
    p = make_player(ctx, load_show(OSC_SHOW), start_cue="1")
    p.clock.start()
    yield p
    p.renderer.release()


@pytest.fixture
def server(player):
    with OscServer(player, port=0) as s:
        yield s


def step(player) -> None:
    player.step(player.clock())


def cue_name(player) -> str:
    return player.engine.current_cue().name


def test_the_server_binds_udp_and_tcp_on_one_ephemeral_port(server):
    assert server.port > 0
    assert server._udp.getsockname() == ("127.0.0.1", server.port)
    assert server._tcp.getsockname() == ("127.0.0.1", server.port)


def test_python_osc_udp_client_fires_go_and_gets_the_reply(player, server):
    client = SimpleUDPClient("127.0.0.1", server.port)
    client.send_message("/go", [])
    reply = wait_until(lambda: (step(player), _udp_receive(client))[1])
    assert (reply.address, reply.params) == ("/reply/go", ["ok", "2 clip"])
    assert cue_name(player) == "clip"


def _udp_receive(client: SimpleUDPClient) -> OscMessage | None:
    data = client.receive(timeout=0.01)  # b"" when nothing came
    return OscMessage(data) if data else None


@pytest.mark.parametrize("mode", ["1.0", "1.1"])
def test_python_osc_tcp_client_in_both_framings(player, server, mode):
    client = SimpleTCPClient("127.0.0.1", server.port, mode=mode)
    try:
        client.send_message("/layer/logo/opacity", 0.5)
        client.send_message("/layer/logo/opacity", "?")
        got: list[tuple[str, list]] = []

        def two_replies():
            step(player)
            for data in client.receive(timeout=0.01):
                if data:
                    msg = OscMessage(data)
                    got.append((msg.address, msg.params))
            return len(got) >= 2

        wait_until(two_replies)
        assert got == [
            ("/reply/layer/logo/opacity", ["ok", 0.5]),
            ("/reply/layer/logo/opacity", ["ok", 0.5]),
        ]
    finally:
        client.close()


def test_subscribers_on_udp_get_feedback_at_the_port_they_name(player, server):
    listener = UdpClient(server.port)
    control = UdpClient(server.port)
    try:
        control.send(encode_message("/subscribe", listener.port))
        assert control.wait_for("/reply/subscribe") == ["ok"]
        listener.wait_for("/status/cue", ["1", "preshow"], step=lambda: step(player))
        listener.wait_for("/status/next", ["2", "clip"])
        listener.wait_for("/status/heartbeat", [1])
        control.send(encode_message("/go"))
        listener.wait_for("/status/cue", ["2", "clip"], step=lambda: step(player))
        listener.wait_for("/status/next", ["3", "emblem"])
        control.send(encode_message("/unsubscribe", listener.port))
        assert control.wait_for("/reply/unsubscribe") == ["ok"]
        assert server.dispatcher.feedback.subscribers == ()
    finally:
        listener.close()
        control.close()


def test_hosts_outside_the_allow_list_are_not_heard(player, caplog):
    with OscServer(player, port=0, allow=["10.0.0.0/8"]) as s:
        client = UdpClient(s.port)
        client.send(encode_message("/go"))
        wait_until(lambda: s.dispatcher.stats.refused_hosts >= 1)
        tcp = socket.create_connection(("127.0.0.1", s.port), timeout=2)
        tcp.settimeout(2)
        assert tcp.recv(10) == b""  # closed at once
        tcp.close()
        for _ in range(3):
            step(player)
        client.pump()
        assert client.received == [] and cue_name(player) == "preshow"
        assert s.dispatcher.stats.refused_hosts == 2
        client.close()
    assert "not in the allow-list" in caplog.text


def test_a_tcp_length_prefix_over_the_limit_gets_an_error_and_the_connection_closes(server):
    tcp = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    try:
        tcp.sendall(struct.pack(">i", 1 << 20) + b"/go\x00")
        data = b""
        while chunk := tcp.recv(4096):
            data += chunk
        (size,) = struct.unpack(">i", data[:4])
        msg = OscMessage(data[4 : 4 + size])
        assert msg.address == "/reply" and msg.params[0] == "error"
        assert "stream frame of 1048576 bytes" in msg.params[1]
    finally:
        tcp.close()


def test_slip_frames_over_the_limit_are_answered_and_the_stream_goes_on(player, server):
    tcp = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    tcp.settimeout(0.01)
    try:
        tcp.sendall(
            slip_encode(encode_message("/x", "y" * 20000)) + slip_encode(encode_message("/go"))
        )
        data = b""

        def both():
            step(player)
            nonlocal data
            try:
                data += tcp.recv(65536)
            except TimeoutError:
                pass
            return data.count(b"\xc0") >= 4

        wait_until(both)
        frames = [f for f in data.split(b"\xc0") if f]
        first, second = OscMessage(frames[0]), OscMessage(frames[1])
        assert first.params[0] == "error" and "SLIP frame over the limit" in first.params[1]
        assert (second.address, second.params) == ("/reply/go", ["ok", "2 clip"])
    finally:
        tcp.close()


def test_random_bytes_at_every_socket_while_the_show_renders(player, server):
    """Seeded fuzz: UDP datagrams, and TCP streams in both framings and neither, of random
    bytes and mangled valid packets. The render loop keeps going and /go still works."""
    rng = random.Random(2024)
    valid = [
        encode_message("/layer/logo/opacity", 0.5),
        encode_message("/cue/2/load"),
        encode_message("/layer/*/param/*", 1.0),
        encode_message("/master", "+", 0.1),
    ]

    def junk() -> bytes:
        kind = rng.random()
        if kind < 0.4:
            return rng.randbytes(rng.randint(0, 300))
        data = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data[: rng.randint(1, len(data))] if kind < 0.7 else data)

    stop = threading.Event()
    sent = {"udp": 0, "tcp": 0}

    def fuzz_udp() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not stop.is_set() and sent["udp"] < 3000:
            sock.sendto(junk(), ("127.0.0.1", server.port))
            sent["udp"] += 1
            if sent["udp"] % 100 == 0:
                time.sleep(0.005)
        sock.close()

    def fuzz_tcp() -> None:
        framings = [frame_length, slip_encode, lambda b: b]
        while not stop.is_set() and sent["tcp"] < 60:
            frame = framings[sent["tcp"] % 3]
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1) as tcp:
                    tcp.settimeout(0.2)
                    for _ in range(rng.randint(1, 30)):
                        tcp.sendall(frame(junk()))
            except OSError:
                pass  # the server may close a broken stream first
            sent["tcp"] += 1

    threads = [threading.Thread(target=fuzz_udp), threading.Thread(target=fuzz_tcp)]
    for t in threads:
        t.start()
    frames_before = player.frames
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline and any(t.is_alive() for t in threads):
            step(player)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    rendered = player.frames - frames_before
    assert rendered >= 10, f"only {rendered} frames rendered while fuzzed"
    assert sent["udp"] > 500 and sent["tcp"] > 5
    assert server.dispatcher.stats.packets > 500
    for thread in server._threads:
        assert thread.is_alive()
    player.submit("cue.goto", path={"cue": "1"})
    step(player)
    client = UdpClient(server.port)
    try:
        client.send(encode_message("/go"))
        reply = client.wait_for("/reply/go", step=lambda: step(player))
        assert reply == ["ok", "2 clip"]
    finally:
        client.close()


def test_a_bundle_time_tagged_in_the_future_waits_for_its_frame(player, server):
    """python-osc builds the bundle; the real show clock turns its time tag into show time."""
    delay_s = 0.3
    builder = OscBundleBuilder(time.time() + delay_s)
    builder.add_content(OscMessageBuilder("/go").build())
    client = UdpClient(server.port)
    try:
        client.send(builder.build().dgram)
        due = player.clock() + delay_s
        early_frames = 0

        def fired():
            nonlocal early_frames
            t = player.clock()
            player.step(t)
            if cue_name(player) == "clip":
                return t
            if t < due:
                early_frames += 1
            return None

        fired_at = wait_until(fired)
        assert fired_at >= due - 0.02  # not on arrival (wall and monotonic clocks may drift ms)
        assert fired_at < due + 0.5
        assert early_frames >= 3  # frames were rendered in between without it
        assert client.wait_for("/reply/go") == ["ok", "2 clip"]
    finally:
        client.close()


def test_replies_go_to_the_configured_reply_port(player):
    listener = UdpClient(0)
    with OscServer(player, port=0, reply_port=listener.port) as s:
        sender = UdpClient(s.port)
        try:
            sender.send(encode_message("/blackout", 1))
            assert listener.wait_for("/reply/blackout", step=lambda: step(player)) == ["ok", 1]
            sender.pump()
            assert sender.received == []
        finally:
            sender.close()
            listener.close()


def test_a_udp_flood_is_cut_to_the_limit_and_the_show_keeps_rendering(player, caplog):
    with OscServer(player, port=0, flood_rate=500) as s:
        client = UdpClient(s.port)
        packet = encode_message("/layer/logo/opacity", 0.5)
        frames_before = player.frames
        for i in range(5000):
            client.send(packet)
            if i % 500 == 0:
                step(player)
        wait_until(lambda: (step(player), s.dispatcher.stats.packets >= 4000)[1])
        stats = s.dispatcher.stats
        assert stats.flood_dropped > 0
        assert stats.submitted + stats.flood_dropped == stats.packets
        assert player.frames - frames_before >= 10
        client.close()
    assert sum("OSC flood" in r.getMessage() for r in caplog.records) == 1


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback() and not IN_CI, reason="no IPv6 loopback on this machine")
def test_the_server_listens_on_ipv6_loopback(player):
    with OscServer(player, port=0, bind="::1") as s:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.settimeout(0.01)
        try:
            sock.sendto(encode_message("/ping"), ("::1", s.port))

            def reply():
                try:
                    return OscMessage(sock.recv(1024))
                except TimeoutError:
                    return None

            msg = wait_until(reply)
            assert (msg.address, msg.params) == ("/reply/ping", ["ok"])
        finally:
            sock.close()


def test_the_shows_control_table_configures_the_server_and_the_command_line_wins(player):
    control = Control(
        osc_port=0, bind="127.0.0.1", allow=("10.1.0.0/16",), reply_port=9123, locked=False
    )
    from_show = OscServer.for_show(player, control)
    overridden = OscServer.for_show(player, control, port=0, bind="::1")
    try:
        assert (from_show.bind, from_show.reply_port) == ("127.0.0.1", 9123)
        assert from_show.allow.allows("10.1.2.3") and not from_show.allow.allows("127.0.0.1")
        assert overridden.bind == "::1"
    finally:
        from_show.close()
        overridden.close()
