"""OSC control of a running show: the dispatcher, replies and feedback, the UDP and TCP servers.

The split follows python-osc: :mod:`mapping.control.osc_codec` turns bytes into messages,
:class:`OscDispatcher` turns messages into registry commands and answers, and the servers
only move packets between sockets and the dispatcher.

* **Addresses** are the registry's (``docs/osc.md`` is generated from it). A first argument
  ``?`` queries the current value, ``+ x`` / ``- x`` change it relatively (QLab, Resolume);
  OSC 1.0 address patterns (``/layer/*/opacity``) are expanded against the live show's
  concrete addresses (cached per show generation) and apply to every match; they may only
  stand for names (layers, cues, …), so that ``/*`` cannot fire every command at once.
* **Time**: a message or an immediate bundle applies at the next frame; a bundle with a time
  tag applies at the first frame at or after that time (through the player's show clock).
* **Replies**: every message is answered with ``/reply<address>`` and ``"ok"`` (plus the
  value, for queries and changes that have one) or ``"error"`` and the reason, sent to the
  sender (or to ``[control] reply_port`` at the sender's address). ``/subscribe [port]``
  adds the sender to the clients that get pushed feedback (:class:`Feedback`); TCP
  connections get replies and feedback on the connection itself.
* **Safety**: only hosts in the allow-list are heard; packets over the size limit, malformed
  packets, unknown addresses and bad arguments get an error reply; a client sending faster
  than its flood limit has the excess dropped; every such event is logged rate-limited.
  Nothing here runs on the render thread except appending replies to the outbox queue and
  comparing the status snapshot once per frame.

TCP framing: the first byte a connection sends decides. ``0x00`` is the top byte of an
OSC 1.0 32-bit length prefix (packets are far below 16 MiB); anything else (the SLIP END
byte ``0xC0`` that OSC 1.1 sends first, or a packet's own first byte) means OSC 1.1 SLIP.
Replies use the connection's framing.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mapping.commands import CommandError, CommandSpec, Result
from mapping.control.osc_codec import (
    IMMEDIATELY,
    LengthPrefixDecoder,
    Message,
    Midi,
    OscError,
    SlipDecoder,
    compile_pattern,
    encode_message,
    frame_length,
    is_pattern,
    messages,
    ntp_to_unix,
    parse_packet,
    slip_encode,
)
from mapping.errors import did_you_mean
from mapping.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

MAX_PACKET_BYTES = 16384
"""A packet (datagram or stream frame) larger than this is refused with an error reply."""
FLOOD_RATE = 25_000.0
"""Messages per second one controller (host) may send, sustained (the burst is the same)."""
MAX_PATTERN_MATCHES = 1024
MAX_SCHEDULE_AHEAD_S = 24 * 3600.0
MAX_SUBSCRIBERS = 32
MAX_TCP_CONNECTIONS = 16
OUTBOX_CAPACITY = 50_000
HEARTBEAT_S = 1.0
ERRORS_PUSHED_PER_S = 20
LOCAL_NETWORKS = ("127.0.0.1/32", "::1/128")

Send = Callable[[bytes], None]


# -- small parts


class TokenBucket:
    """``rate`` events per second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.stamp = clock()
        self.refused_until = 0.0
        """While flooding, the time of the next error reply (one a second)."""

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class AllowList:
    """The controller addresses or networks that may send commands (``[control] allow``)."""

    def __init__(self, networks: Iterable[str] = LOCAL_NETWORKS) -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self._cache: dict[str, bool] = {}

    def allows(self, host: str) -> bool:
        known = self._cache.get(host)
        if known is not None:
            return known
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        ok = any(address.version == n.version and address in n for n in self.networks)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[host] = ok
        return ok


@dataclass(eq=False)
class Peer:
    """Where a packet came from, and how to send it a packet back."""

    transport: str
    host: str
    port: int
    send: Send
    bucket: TokenBucket | None = None
    closed: bool = False

    @property
    def name(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


class Outbox:
    """Encodes and sends replies and feedback off the render thread (bounded; excess dropped)."""

    def __init__(self, threaded: bool = True, capacity: int = OUTBOX_CAPACITY) -> None:
        self.threaded = threaded
        self.dropped = 0
        self.failed = 0
        self._logs = RateLimitedLog(log)
        self.capacity = capacity
        self._queue: queue.SimpleQueue[tuple[Peer, str, tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._sent = 0
        self._queued = 0
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="osc-outbox", daemon=True)
            self._thread.start()

    def put(self, peer: Peer, address: str, args: tuple[Any, ...]) -> None:
        if peer.closed:
            return
        if not self.threaded:
            self._send(peer, address, args)
            return
        if self._queued - self._sent >= self.capacity:
            self.dropped += 1
            self._logs.warning("outbox", "OSC replies are not going out fast enough; dropped")
            return
        self._queued += 1  # only the render thread and the receivers put; a miscount is harmless
        self._queue.put((peer, address, args))

    def _send(self, peer: Peer, address: str, args: tuple[Any, ...]) -> None:
        if peer.closed:
            return
        try:
            peer.send(encode_message(address, *args))
        except Exception as exc:  # a gone client must not stop the others
            self.failed += 1
            if peer.closed:
                return
            self._logs.warning(f"send:{peer.name}", "OSC reply to %s failed: %s", peer.name, exc)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._send(*item)
            self._sent += 1

    def flush(self, timeout_s: float = 1.0) -> None:
        """Wait until everything queued so far has been sent (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self.threaded and self._queued > self._sent and time.monotonic() < deadline:
            time.sleep(0.001)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2.0)
            self._thread = None


def osc_value(value: Any) -> Any:
    """A query result as an OSC argument."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


# -- feedback


_UNSET: Any = object()


@dataclass
class _Pushed:
    cue: Any = _UNSET
    next: Any = _UNSET
    progress: float | None = None
    late: int | None = None
    heartbeat_at: float = -math.inf
    beats: int = 0


class Feedback:
    """Pushed updates for subscribed clients, computed once per frame on the render thread.

    ``/status/cue s s`` (number, name; "" "" for none) whenever a cue fires,
    ``/status/next s s`` when the standby cue changes, ``/status/progress f`` while the current
    cue's action runs (steps of 0.02, and its end), ``/status/late i`` when frames run late,
    ``/status/heartbeat i`` and ``/status/fps f`` every second, ``/error s`` for every refused
    command (at most 20 a second).
    """

    def __init__(self, outbox: Outbox, wall: Callable[[], float] = time.monotonic) -> None:
        self.outbox = outbox
        self.wall = wall
        self._lock = threading.Lock()
        self.subscribers: tuple[Peer, ...] = ()
        self._pushed = _Pushed()
        self._errors_second = 0.0
        self._errors_sent = 0

    def subscribe(self, peer: Peer) -> str | None:
        with self._lock:
            if any(_same(p, peer) for p in self.subscribers):
                self._pushed = _Pushed(heartbeat_at=self._pushed.heartbeat_at)
                return None
            if len(self.subscribers) >= MAX_SUBSCRIBERS:
                return f"too many subscribers (at most {MAX_SUBSCRIBERS})"
            self.subscribers = (*self.subscribers, peer)
            self._pushed = _Pushed(heartbeat_at=self._pushed.heartbeat_at)  # resend everything
        return None

    def unsubscribe(self, peer: Peer) -> None:
        with self._lock:
            self.subscribers = tuple(p for p in self.subscribers if not _same(p, peer))

    def push(self, address: str, *args: Any) -> None:
        for peer in self.subscribers:
            self.outbox.put(peer, address, args)

    def error(self, message: str) -> None:
        if not self.subscribers:
            return
        now = self.wall()
        if now - self._errors_second >= 1.0:
            self._errors_second, self._errors_sent = now, 0
        if self._errors_sent < ERRORS_PUSHED_PER_S:
            self._errors_sent += 1
            self.push("/error", message)

    def on_frame(self, player: Any) -> None:
        if not self.subscribers:
            return
        pushed = self._pushed
        engine = player.live.engine
        status = player.status
        index = engine.current.get(engine.active_list)
        cue = engine.current_cue()
        cue_key = (index, engine.fired_at.get(index)) if index is not None else None
        if pushed.cue is _UNSET or pushed.cue != cue_key:
            pushed.cue = cue_key
            self.push("/status/cue", *((cue.number, cue.name) if cue is not None else ("", "")))
        standby = engine.standby_cue()
        nxt = (standby.number, standby.name) if standby is not None else ("", "")
        if pushed.next != nxt:
            pushed.next = nxt
            self.push("/status/next", *nxt)
        progress = float(status.progress)
        if (
            pushed.progress is None
            or abs(progress - pushed.progress) >= 0.02
            or (progress in (0.0, 1.0) and progress != pushed.progress)
        ):
            pushed.progress = progress
            self.push("/status/progress", progress)
        if pushed.late != status.late_frames:
            pushed.late = status.late_frames
            self.push("/status/late", int(status.late_frames))
        now = self.wall()
        if now - pushed.heartbeat_at >= HEARTBEAT_S:
            pushed.heartbeat_at = now
            pushed.beats += 1
            self.push("/status/heartbeat", pushed.beats)
            self.push("/status/fps", float(status.fps))


def _same(a: Peer, b: Peer) -> bool:
    return (a.transport, a.host, a.port) == (b.transport, b.host, b.port)


# -- the dispatcher


@dataclass
class OscStats:
    """Counters for monitoring and tests (updated without locks: approximate under load)."""

    packets: int = 0
    messages: int = 0
    submitted: int = 0
    errors: int = 0
    flood_dropped: int = 0
    refused_hosts: int = 0


class OscDispatcher:
    """OSC messages → registry commands on a :class:`~mapping.player.ShowPlayer`; replies."""

    def __init__(
        self,
        player: Any,
        *,
        outbox: Outbox | None = None,
        max_packet_bytes: int = MAX_PACKET_BYTES,
        flood_rate: float = FLOOD_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.player = player
        self.registry = player.registry
        self.outbox = outbox or Outbox()
        self.max_packet_bytes = max_packet_bytes
        self.flood_rate = flood_rate
        self.clock = clock
        self.stats = OscStats()
        self.logs = RateLimitedLog(log, clock=clock)
        self.feedback = Feedback(self.outbox, clock)
        self._addresses: tuple[int, list[tuple[str, CommandSpec, dict[str, str]]]] = (-1, [])
        self._address_set: frozenset[str] = frozenset()
        self._buckets: dict[str, TokenBucket] = {}
        self._matches: dict[str, tuple[CommandSpec, dict[str, str]] | None] = {}
        player.frame_listeners.append(self.feedback.on_frame)
        player.processor.listeners.append(self._on_applied)

    def detach(self) -> None:
        """Stop listening to the player (the server closes)."""
        for hooks, fn in (
            (self.player.frame_listeners, self.feedback.on_frame),
            (self.player.processor.listeners, self._on_applied),
        ):
            if fn in hooks:
                hooks.remove(fn)

    # -- input

    def handle_packet(self, data: bytes, peer: Peer) -> None:
        """One packet from ``peer`` (already admitted by the allow-list). Never raises.

        Every packet and every further message of a bundle takes one unit of the sender's
        flood budget before anything else is done with it, malformed ones included.
        """
        self.stats.packets += 1
        try:
            if not self._admit(peer, ""):
                return
            if len(data) > self.max_packet_bytes:
                self._refuse(
                    peer,
                    "",
                    f"packet of {len(data)} bytes is over the limit of {self.max_packet_bytes}",
                    "oversized",
                )
                return
            try:
                packet = parse_packet(data)
            except OscError as exc:
                self._refuse(peer, "", f"malformed OSC packet: {exc}", "malformed")
                return
            for n, (timetag, message) in enumerate(messages(packet)):
                if n == 0 or self._admit(peer, message.address):
                    self.handle_message(message, timetag, peer)
        except Exception:  # the show goes on, whatever arrives
            self.logs.warning("crash", "OSC packet from %s failed", peer.name)
            log.debug("details", exc_info=True)

    def _admit(self, peer: Peer, address: str) -> bool:
        """Take one unit of the sender's flood budget; False (and dealt with) if it is spent."""
        bucket = peer.bucket
        if bucket is None:  # one budget per host, however many ports it sends from
            bucket = self._buckets.get(peer.host)
            if bucket is None:
                if len(self._buckets) > 4096:
                    self._buckets.clear()
                bucket = TokenBucket(self.flood_rate, self.flood_rate, self.clock)
                self._buckets[peer.host] = bucket
            peer.bucket = bucket
        if bucket.take():
            return True
        self.stats.flood_dropped += 1
        self.logs.warning(
            f"flood:{peer.host}",
            "OSC flood from %s: more than %g messages a second, the excess is dropped",
            peer.host,
            self.flood_rate,
        )
        now = self.clock()
        if now >= bucket.refused_until:  # one error reply a second while flooding
            bucket.refused_until = now + 1.0
            self._reply(peer, address, Result.error("", "flood: messages dropped"))
        return False

    def handle_message(self, message: Message, timetag: int, peer: Peer) -> None:
        """One message (already admitted): a session address, or commands to submit."""
        self.stats.messages += 1
        address = message.address
        if address in ("/subscribe", "/unsubscribe", "/ping"):
            self._session(message, peer)
            return
        try:
            mode, values = _mode_and_values(message)
            at = self._show_time(timetag)
            targets = self._resolve(address)
        except CommandError as exc:
            self._refuse(peer, address, str(exc), "bad")
            return
        for concrete, spec, path in targets:
            try:
                command = self.registry.make(
                    spec.name, values, path=path, mode=mode, at_show_time_s=at, source=peer.name
                )
            except CommandError as exc:
                self._refuse(peer, concrete, str(exc), "bad")
                continue
            self.stats.submitted += 1
            self.player.commands.submit(
                command, on_result=functools.partial(self._reply, peer, concrete)
            )

    def forget(self, peer: Peer) -> None:
        """A connection closed: no more feedback to it."""
        peer.closed = True
        self.feedback.unsubscribe(peer)

    # -- parts

    def _session(self, message: Message, peer: Peer) -> None:
        """``/ping``; ``/subscribe [port]`` and ``/unsubscribe [port]`` (UDP: feedback to
        that port at the sender's address; TCP: on the connection, the port is ignored)."""
        address = message.address
        if address == "/ping":
            self._reply(peer, address, Result(True, "ping"))
            return
        target = peer
        if message.args:
            port = message.args[0]
            if (
                len(message.args) != 1
                or isinstance(port, bool)
                or not isinstance(port, int)
                or not 1 <= port <= 65535
            ):
                self._refuse(peer, address, f"{address}: expected one port (1..65535) or none", "")
                return
            if peer.transport == "udp" and port != peer.port:
                target = Peer("udp", peer.host, port, _udp_sender_like(peer, port))
        if address == "/unsubscribe":
            self.feedback.unsubscribe(target)
            self._reply(peer, address, Result(True, "unsubscribe"))
            return
        problem = self.feedback.subscribe(target)
        if problem is not None:
            self._refuse(peer, address, f"/subscribe: {problem}", "")
            return
        self._reply(peer, address, Result(True, "subscribe"))

    def _resolve(self, address: str) -> list[tuple[str, CommandSpec, dict[str, str]]]:
        if is_pattern(address):
            try:
                regex = compile_pattern(address)
            except OscError as exc:
                raise CommandError(str(exc)) from None
            matching = [t for t in self.address_list() if regex.fullmatch(t[0])]
            # patterns expand names (layers, cues, outputs, …), never commands: a stray
            # "/*" must not fire GO, PANIC and QUIT at once
            found = [t for t in matching if t[1].path_args]
            if not found:
                if matching:
                    raise CommandError(
                        f"pattern {address!r} selects commands, not names: patterns may only "
                        "stand for names (layers, cues, surfaces, outputs, parameters)"
                    )
                raise CommandError(f"no address matches the pattern {address!r}")
            if len(found) > MAX_PATTERN_MATCHES:
                raise CommandError(
                    f"pattern {address!r} matches {len(found)} addresses "
                    f"(at most {MAX_PATTERN_MATCHES})"
                )
            return found
        match = self._matches.get(address, False)
        if match is False:
            match = self.registry.match(address)
            if len(self._matches) > 4096:
                self._matches.clear()
            self._matches[address] = match
        if match is None:
            known = [a for a, _, _ in self.address_list()]
            hint = did_you_mean(address, known)
            raise CommandError(f"unknown address {address[:80]!r}{hint}")
        spec, path = match
        if path and all(a.names is not None for a in spec.path_args):
            self.address_list()
            if address not in self._address_set:  # refused here, not on the render thread
                raise CommandError(self._unknown_name(spec, path))
        return [(address, spec, path)]

    def _unknown_name(self, spec: CommandSpec, path: dict[str, str]) -> str:
        for arg in spec.path_args:
            assert arg.names is not None
            names = [str(n) for n in arg.names(self.player.live, path)]
            if path[arg.name] not in names:
                hint = did_you_mean(path[arg.name], names)
                return f"{spec.name}: unknown {arg.name} '{path[arg.name][:80]}'{hint}"
        return f"{spec.name}: unknown address"

    def address_list(self) -> list[tuple[str, CommandSpec, dict[str, str]]]:
        """Every concrete address of the live show, cached per show generation.

        The names come from the live show's frozen :class:`~mapping.show.Show`; the list is
        taken again if the show was replaced while it was read. The processor checks names
        again when it applies a command, so a stale match is an error reply, never harm.
        """
        live = self.player.live
        generation, cached = self._addresses
        if generation == live.generation:
            return cached
        for _ in range(3):
            generation = live.generation
            found = list(self.registry.addresses(live))
            if live.generation == generation:
                break
        self._addresses = (generation, found)
        self._address_set = frozenset(a for a, _, _ in found)
        return found

    def _show_time(self, timetag: int) -> float | None:
        if timetag == IMMEDIATELY:
            return None
        unix = ntp_to_unix(timetag)
        assert unix is not None
        at = float(self.player.clock.show_time_at_wall(unix))
        if at - self.player.clock() > MAX_SCHEDULE_AHEAD_S:
            raise CommandError(
                f"time tag more than {MAX_SCHEDULE_AHEAD_S / 3600:g} h ahead: refused"
            )
        return at

    def _refuse(self, peer: Peer, address: str, message: str, kind: str) -> None:
        self.stats.errors += 1
        if kind:
            self.logs.warning(f"{kind}:{peer.name}", "OSC from %s: %s", peer.name, message)
        self._reply(peer, address, Result.error("", message))
        self.feedback.error(message)

    def _reply(self, peer: Peer, address: str, result: Result) -> None:
        if result.ok:
            args: tuple[Any, ...] = ("ok",)
            if isinstance(result.value, tuple):  # a colour or a point: its components
                args += tuple(osc_value(v) for v in result.value)
            elif result.value is not None:
                args += (osc_value(result.value),)
        else:
            args = ("error", result.message)
        self.outbox.put(peer, "/reply" + address, args)

    def _on_applied(self, command: Any, result: Result) -> None:
        if not result.ok:
            self.feedback.error(result.message)


def _udp_sender_like(peer: Peer, port: int) -> Send:
    sock = getattr(peer.send, "sock", None)
    if sock is None:
        return peer.send
    return _UdpSend(sock, (peer.host, port))


class _UdpSend:
    def __init__(self, sock: socket.socket, address: tuple[str, int]) -> None:
        self.sock = sock
        self.address = address

    def __call__(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)


def _mode_and_values(message: Message) -> tuple[str, list[Any]]:
    """The mode (set, add, sub, query) and the values of a message, checked for OSC-only
    trouble (NaN, infinity, nil, MIDI); the command's own arguments check the rest."""
    args = message.args
    if message.tags in ("f", "i") and (message.tags == "i" or math.isfinite(args[0])):
        return "set", list(args)  # the common case (a fader, a switch): nothing to look at
    tags = message.tags or "?" * len(args)
    pairs = list(zip(tags, args, strict=False))
    mode = "set"
    if pairs and isinstance(pairs[0][1], str) and pairs[0][1] in ("?", "+", "-"):
        first = pairs.pop(0)[1]
        if first == "?":
            if pairs:
                raise CommandError("a query ('?') takes no other arguments")
            mode = "query"
        else:
            if not pairs:
                raise CommandError(f"'{first}' needs the amount to change by")
            mode = "add" if first == "+" else "sub"
    values: list[Any] = []
    for tag, value in pairs:
        if isinstance(value, float) and not math.isfinite(value):
            raise CommandError(f"argument {value} ('{tag}'): expected a finite number")
        if value is None or isinstance(value, Midi):
            raise CommandError(f"an argument of type '{tag}' is not accepted here")
        values.append(value)
    return mode, values


# -- servers


class OscServer:
    """OSC over UDP and TCP on one port number, bound to one interface.

    ``start()`` binds both sockets (port 0: an ephemeral port, the same number for both) and
    starts the receiver threads; :attr:`port` is the bound port. ``close()`` stops them.
    """

    def __init__(
        self,
        player: Any,
        *,
        port: int = 0,
        bind: str = "127.0.0.1",
        allow: Sequence[str] = LOCAL_NETWORKS,
        reply_port: int = 0,
        max_packet_bytes: int = MAX_PACKET_BYTES,
        flood_rate: float = FLOOD_RATE,
    ) -> None:
        self.player = player
        self.requested_port = port
        self.bind = bind
        self.allow = AllowList(allow)
        self.reply_port = reply_port
        self.dispatcher = OscDispatcher(
            player, max_packet_bytes=max_packet_bytes, flood_rate=flood_rate
        )
        self.port = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._udp_peers: dict[tuple[str, int], Peer] = {}
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_show(
        cls, player: Any, control: Any, *, port: int | None = None, bind: str | None = None
    ) -> OscServer:
        """A server configured by a show's ``[control]`` table (port and bind overridable)."""
        return cls(
            player,
            port=control.osc_port if port is None else port,
            bind=control.bind if bind is None else bind,
            allow=control.allow,
            reply_port=control.reply_port,
        )

    def start(self) -> int:
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        for attempt in range(20):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                _large_receive_buffer(udp)
                udp.bind((self.bind, self.requested_port))
                port = udp.getsockname()[1]
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self.bind, port))
                tcp.listen(MAX_TCP_CONNECTIONS)
            except OSError:
                udp.close()
                tcp.close()
                if self.requested_port or attempt == 19:
                    raise
                continue
            break
        udp.settimeout(0.05)
        tcp.settimeout(0.05)
        self._udp, self._tcp, self.port = udp, tcp, port
        for target, name in ((self._serve_udp, "osc-udp"), (self._serve_tcp, "osc-tcp")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return port

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._threads.clear()
        with self._lock:
            for conn in list(self._connections):
                _close(conn)
            self._connections.clear()
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self.dispatcher.outbox.close()
        self.dispatcher.detach()

    def __enter__(self) -> OscServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- UDP

    def _udp_peer(self, host: str, port: int) -> Peer:
        key = (host, port)
        peer = self._udp_peers.get(key)
        if peer is None:
            if len(self._udp_peers) > 4096:
                self._udp_peers.clear()
            assert self._udp is not None
            send = _UdpSend(self._udp, (host, self.reply_port or port))
            peer = self._udp_peers[key] = Peer("udp", host, port, send)
        return peer

    def _serve_udp(self) -> None:
        sock = self._udp
        assert sock is not None
        dispatcher = self.dispatcher
        while not self._stop.is_set():
            try:
                data, address = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            host, port = address[0], address[1]
            if not self.allow.allows(host):
                dispatcher.stats.refused_hosts += 1
                dispatcher.logs.warning(
                    f"refused:{host}",
                    "OSC from %s refused: not in the allow-list ([control] allow)",
                    host,
                )
                continue
            dispatcher.handle_packet(data, self._udp_peer(host, port))

    # -- TCP

    def _serve_tcp(self) -> None:
        sock = self._tcp
        assert sock is not None
        while not self._stop.is_set():
            try:
                conn, address = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            host = address[0]
            if not self.allow.allows(host):
                self.dispatcher.stats.refused_hosts += 1
                self.dispatcher.logs.warning(
                    f"refused:{host}",
                    "OSC TCP connection from %s refused: not in the allow-list ([control] allow)",
                    host,
                )
                _close(conn)
                continue
            with self._lock:
                if len(self._connections) >= MAX_TCP_CONNECTIONS:
                    self.dispatcher.logs.warning(
                        "tcp-full", "OSC TCP connection from %s refused: too many", host
                    )
                    _close(conn)
                    continue
                self._connections.add(conn)
            thread = threading.Thread(
                target=self._serve_connection, args=(conn, host, address[1]), daemon=True
            )
            thread.start()

    def _serve_connection(self, conn: socket.socket, host: str, port: int) -> None:
        conn.settimeout(0.05)
        send_lock = threading.Lock()
        framing: Callable[[bytes], bytes] = frame_length
        decoder: SlipDecoder | LengthPrefixDecoder | None = None
        peer: Peer | None = None
        dispatcher = self.dispatcher

        def send(data: bytes) -> None:
            with send_lock:
                conn.sendall(framing(data))

        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                if decoder is None:
                    if chunk[0] == 0:
                        decoder = LengthPrefixDecoder(dispatcher.max_packet_bytes)
                    else:
                        decoder = SlipDecoder(dispatcher.max_packet_bytes)
                        framing = slip_encode
                    peer = Peer("tcp", host, port, send)
                assert peer is not None
                oversized = getattr(decoder, "oversized", 0)
                try:
                    packets = decoder.feed(chunk)
                except OscError as exc:  # a broken length prefix: the stream is lost
                    dispatcher._refuse(peer, "", f"{exc}; closing the connection", "oversized")
                    dispatcher.outbox.flush(0.5)
                    break
                if getattr(decoder, "oversized", 0) != oversized:
                    dispatcher._refuse(
                        peer,
                        "",
                        f"SLIP frame over the limit of {dispatcher.max_packet_bytes} bytes",
                        "oversized",
                    )
                for packet in packets:
                    dispatcher.handle_packet(packet, peer)
        except Exception:
            dispatcher.logs.warning("tcp-crash", "OSC TCP connection from %s failed", host)
            log.debug("details", exc_info=True)
        finally:
            if peer is not None:
                dispatcher.forget(peer)
            with self._lock:
                self._connections.discard(conn)
            _close(conn)


UDP_RECEIVE_BUFFER = 32 << 20
"""Bytes of queued datagrams the kernel keeps while the receiver is busy (a flood, a busy
machine). Without the privilege to force it, the kernel caps the request at
``net.core.rmem_max`` (raise it with sysctl on a show machine)."""


def _large_receive_buffer(sock: socket.socket) -> None:
    force = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, UDP_RECEIVE_BUFFER)
            return
        except OSError:
            pass  # not privileged: ask, and get at most net.core.rmem_max
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    except OSError:
        log.debug("could not enlarge the OSC receive buffer", exc_info=True)


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
