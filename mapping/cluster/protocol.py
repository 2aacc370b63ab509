"""The controller ↔ render node messages, as OSC over UDP (pure bytes ↔ objects).

Built on the project's OSC codec (:mod:`mapping.control.osc_codec`); structured fields
travel as one JSON string argument so that numbers keep their full precision (OSC ``f``
is 32-bit).

controller → node
    ``/cluster/hello s`` (JSON: epoch, fps, show, start cue, last sequence number, lead,
    controller instance, show hash): the controller's heartbeat, several times a second.
    ``/cluster/refuse s`` (why): the node has another show folder and is not driven.
    ``/cluster/snapshot i b`` (sequence number, zlib-compressed JSON): the show's state
    after that command (``mapping.cluster.snapshot``), sent instead of the commands before
    it to a node that (re)joins after the log was compacted; acknowledged like a command.
    A bundle time-tagged at the command's frame (epoch + slot / fps) holding
    ``/cluster/cmd i i s`` (sequence number, frame slot, JSON: name, args, mode, source):
    one registry command that changes the show state.
node → controller
    ``/cluster/ack s i i`` (node name, node instance, highest sequence number received
    with none missing before it), sent on every command received.
    ``/cluster/status s`` (JSON health: see :class:`NodeHealth`), the node's heartbeat.
    ``/cluster/manifest s i i i s`` (node, instance, part, parts, JSON files: name, size,
    SHA-256): its show folder's manifest, sent when its hash differs from the controller's,
    so that the controller names the files that differ.
    ``/cluster/thumb s i s i b`` (node, instance, output, sequence number, JPEG): a small
    picture of one of its outputs, for the controller's web panel, while the heartbeat
    asks for them (``thumbs_fps``); at most :data:`MAX_THUMB_BYTES`.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from mapping.cluster.lock import slot_time
from mapping.commands import Command
from mapping.control import osc_codec

HELLO = "/cluster/hello"
CMD = "/cluster/cmd"
ACK = "/cluster/ack"
STATUS = "/cluster/status"
REFUSE = "/cluster/refuse"
MANIFEST = "/cluster/manifest"
SNAPSHOT = "/cluster/snapshot"
THUMB = "/cluster/thumb"
MAX_THUMB_BYTES = 16_000
"""A node's thumbnail travels in one datagram of at most this many bytes of JPEG."""
MANIFEST_CHUNK = 40
"""Files per ``/cluster/manifest`` datagram (about 5 KB)."""


class ProtocolError(ValueError):
    """A cluster packet that does not parse (wrong address, arguments or JSON)."""


@dataclass(frozen=True)
class Hello:
    """The controller's heartbeat: what a node needs to join the running show."""

    epoch_s: float
    fps: float
    show: str
    start_cue: str | None
    last_seq: int
    lead_s: float
    instance: int
    show_hash: str | None = None
    snapshot: str | None = None
    """A resumed controller's state at its start (the state journal's JSON: cue lists'
    cues with their fire times, master, blackout); the command log applies on top."""
    thumbs_fps: float = 0.0
    """Thumbnails of each of its outputs a node sends per second (0: none; the controller
    asks while its web panel is watched)."""


@dataclass(frozen=True)
class TaggedCommand:
    """One replicated registry command: its sequence number and the frame slot it lands on."""

    seq: int
    slot: int
    name: str
    args: dict[str, Any]
    mode: str = "set"
    source: str = ""

    def command(self, fps: float) -> Command:
        return Command(
            self.name, dict(self.args), self.mode, slot_time(self.slot, fps), self.source
        )  # type: ignore[arg-type]


@dataclass(frozen=True)
class StateSnapshot:
    """The show's state after command ``seq`` (zlib-compressed JSON, see
    :mod:`mapping.cluster.snapshot`)."""

    seq: int
    data: bytes


@dataclass(frozen=True)
class Thumb:
    """A small JPEG of one of a node's outputs."""

    node: str
    instance: int
    output: str
    seq: int
    jpeg: bytes


@dataclass(frozen=True)
class Ack:
    node: str
    instance: int
    seq: int


@dataclass
class NodeHealth:
    """A node's heartbeat (``/cluster/status``)."""

    name: str
    instance: int
    acked: int = 0
    frame: int | None = None
    show_time_s: float | None = None
    cue: str | None = None
    late_frames: int = 0
    fps: float = 0.0
    show: str | None = None
    show_hash: str | None = None
    clock_source: str = ""
    clock_synced: bool = False
    clock_offset_s: float | None = None
    clock_alarm: bool = False
    """The clock's offset exceeds a quarter of a frame, is unknown, or the clock is not
    synchronised (``mapping.cluster.clockalarm``)."""
    clock_reason: str = ""
    cpu_load: float | None = None
    gpu: str | None = None
    gpu_load: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refuse:
    """The controller will not drive this node (a different show folder)."""

    reason: str


@dataclass(frozen=True)
class ManifestPart:
    """One part of a node's show-folder manifest (``showhash.ShowHash.files``)."""

    node: str
    instance: int
    part: int
    parts: int
    files: tuple[tuple[str, int, str], ...]


def encode_manifest(node: str, instance: int, files: list[tuple[str, int, str]]) -> list[bytes]:
    """A manifest in parts of :data:`MANIFEST_CHUNK` files (at least one part)."""
    chunks = [files[i : i + MANIFEST_CHUNK] for i in range(0, len(files), MANIFEST_CHUNK)] or [[]]
    return [
        osc_codec.encode_message(MANIFEST, node, instance, i, len(chunks), json.dumps(chunk))
        for i, chunk in enumerate(chunks)
    ]


def encode_snapshot(snapshot: StateSnapshot) -> bytes:
    return osc_codec.encode_message(SNAPSHOT, snapshot.seq, snapshot.data)


def encode_thumb(thumb: Thumb) -> bytes:
    return osc_codec.encode_message(
        THUMB, thumb.node, thumb.instance, thumb.output, thumb.seq, thumb.jpeg
    )


def encode_refuse(refuse: Refuse) -> bytes:
    return osc_codec.encode_message(REFUSE, refuse.reason)


def encode_hello(hello: Hello) -> bytes:
    return osc_codec.encode_message(HELLO, json.dumps(asdict(hello)))


def encode_command(cmd: TaggedCommand, epoch_s: float, fps: float) -> bytes:
    body = json.dumps({"name": cmd.name, "args": cmd.args, "mode": cmd.mode, "source": cmd.source})
    message = osc_codec.encode_message(CMD, cmd.seq, cmd.slot, body)
    tag = osc_codec.unix_to_ntp(epoch_s + slot_time(cmd.slot, fps))
    return osc_codec.encode_bundle(tag, [message])


def encode_ack(ack: Ack) -> bytes:
    return osc_codec.encode_message(ACK, ack.node, ack.instance, ack.seq)


def encode_status(health: NodeHealth) -> bytes:
    return osc_codec.encode_message(STATUS, json.dumps(asdict(health)))


Packet = Hello | TaggedCommand | Ack | NodeHealth | Refuse | ManifestPart | StateSnapshot | Thumb


def decode(data: bytes) -> list[Packet]:
    """Every cluster message of a UDP datagram; :class:`ProtocolError` if it is not one."""
    try:
        packet = osc_codec.parse_packet(data)
    except osc_codec.OscError as exc:
        raise ProtocolError(f"not OSC: {exc}") from exc
    out: list[Packet] = []
    for _, msg in osc_codec.messages(packet):
        try:
            out.append(_decode_message(msg))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"{msg.address}: {exc}") from exc
    return out


def _decode_message(msg: osc_codec.Message) -> Packet:
    a = msg.args
    if msg.address == CMD:
        seq, slot, body = a
        doc = json.loads(body)
        args = doc["args"]
        if not isinstance(args, dict):
            raise TypeError("args: expected an object")
        return TaggedCommand(
            int(seq), int(slot), str(doc["name"]), args, doc["mode"], doc["source"]
        )
    if msg.address == ACK:
        node, instance, seq = a
        return Ack(str(node), int(instance), int(seq))
    if msg.address == HELLO:
        return Hello(**json.loads(a[0]))
    if msg.address == STATUS:
        return NodeHealth(**json.loads(a[0]))
    if msg.address == SNAPSHOT:
        seq, data = a
        if not isinstance(data, bytes):
            raise TypeError("expected a blob")
        return StateSnapshot(int(seq), data)
    if msg.address == THUMB:
        node, instance, output, seq, jpeg = a
        if not isinstance(jpeg, bytes) or len(jpeg) > MAX_THUMB_BYTES:
            raise TypeError(f"expected a JPEG of at most {MAX_THUMB_BYTES} bytes")
        return Thumb(str(node), int(instance), str(output), int(seq), jpeg)
    if msg.address == REFUSE:
        return Refuse(str(a[0]))
    if msg.address == MANIFEST:
        node, instance, part, parts, body = a
        files = tuple((str(n), int(size), str(sha)) for n, size, sha in json.loads(body))
        return ManifestPart(str(node), int(instance), int(part), int(parts), files)
    raise ValueError("not a cluster message")


_log = logging.getLogger(__name__)


def serve(
    sock: socket.socket,
    stop: threading.Event,
    handle: Callable[[Packet, tuple[str, int]], None],
    tick: Callable[[], None],
    warn: Any,
) -> None:
    """The network thread of a controller or a node: receive datagrams (``sock`` has a
    short timeout), hand each decoded packet to ``handle``, call ``tick`` after each
    receive or timeout (heartbeats, resends), until ``stop`` is set. A packet that does not
    decode is warned about (``warn``: a :class:`mapping.ratelimit.RateLimitedLog`, once per
    sender and interval); one whose handling fails is logged; neither stops the thread."""
    while not stop.is_set():
        try:
            data, addr = sock.recvfrom(65536)
        except TimeoutError:
            data = None
        except OSError:
            if stop.is_set():
                return
            data = None
        if data is not None:
            try:
                packets = decode(data)
            except ProtocolError as exc:
                warn.warning(f"bad:{addr}", "cluster: ignored a packet from %s: %s", addr, exc)
                packets = []
            for packet in packets:
                try:
                    handle(packet, addr)
                except Exception:  # one bad packet is logged; the thread goes on
                    _log.exception("cluster: handling a packet from %s failed", addr)
        tick()
