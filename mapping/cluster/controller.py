"""The controller of a multi-machine show: replicates every state-changing command to the
render nodes, time-tagged a few frames ahead, until each node acknowledges it.

:class:`ClusterController` attaches to the controller's :class:`~mapping.player.ShowPlayer`:
show time becomes the shared clock minus the show epoch it chose
(:class:`~mapping.cluster.lock.ClusterClock`), and its command queue becomes a
:class:`ClusterCommandQueue`: every command that is not a query (keyboard, OSC, OSCQuery,
panel, schedule — they all submit to that queue) gets the next sequence number and the
first frame slot at least the lead time ahead, goes to every node as an OSC bundle
time-tagged at that frame, and waits in the controller's own queue for the same frame.
Nodes acknowledge the highest sequence number they hold with none missing; the
controller repeats what is not acknowledged (a lost packet is not a lost cue), and a node
that comes back with a new instance number is sent the whole log of commands again, with
their original tags, so it rebuilds the state (``docs/cluster.md``).
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from mapping.cluster import protocol
from mapping.cluster.clock import ClockSource, SystemClock
from mapping.cluster.lock import ClusterClock, TagTimeProcessor, first_slot_at, slot_time
from mapping.cluster.showhash import FileEntry, HashCache, ShowHash, compare, describe, hash_show
from mapping.cluster.snapshot import COMPACTABLE, UndoRecorder, take
from mapping.commands import Command, CommandQueue, Result, Ticket
from mapping.ratelimit import RateLimitedLog
from mapping.show import ClusterSettings, Show

log = logging.getLogger(__name__)

HELLO_PERIOD_S = 0.2
"""The controller's heartbeat period."""
RESEND_AFTER_S = 0.1
"""A command not acknowledged this long after it was sent is sent again."""
RESEND_BATCH = 64
"""At most this many commands per node per resend round (bounds a rejoin's traffic)."""
LOST_AFTER_S = 1.0
"""A node silent this long is reported lost."""
MISMATCH_CHOICES = ("refuse", "warn")
DEFAULT_LEAD_FRAMES = 4
DEFAULT_MISMATCH = "refuse"
MAX_LOG = 200_000
"""Commands kept whole for nodes that rejoin (past it, a warning: compaction is stopped)."""
COMPACT_EVERY = 1000
"""The log is compacted every this many commands: a state snapshot replaces them."""
MAX_SNAPSHOT_BYTES = 60_000
"""A snapshot travels in one UDP datagram (compressed); a larger state is not compacted."""


def settings(
    lead_frames: int | None, mismatch: str | None, show: ClusterSettings
) -> tuple[int, str]:
    """The lead (frames) and the show-folder mismatch rule: the command line's (not None)
    over the show file's ``[cluster]``, over the defaults (4 frames, refuse)."""
    lead = lead_frames if lead_frames is not None else show.lead_frames
    rule = mismatch if mismatch is not None else show.show_mismatch
    return (
        DEFAULT_LEAD_FRAMES if lead is None else lead,
        DEFAULT_MISMATCH if rule is None else rule,
    )


def follow_show(renderer: Any, mine: Callable[[Show], frozenset[str]]) -> None:
    """Keep ``renderer.drives`` the outputs ``mine(show)`` of whatever show it is given
    (a ``show.load`` — the evening schedule's — brings other outputs)."""
    set_show = renderer.set_show

    def set_show_following(show: Show, *args: Any, **kwargs: Any) -> None:
        renderer.drives = mine(show)
        set_show(show, *args, **kwargs)  # the player passes what is in use after a reload

    renderer.set_show = set_show_following


@dataclass
class NodeLink:
    """What the controller knows of one node."""

    name: str
    address: tuple[str, int]
    instance: int | None = None
    acked: int = 0
    sent_at: dict[int, float] = field(default_factory=dict)
    health: protocol.NodeHealth | None = None
    last_seen: float | None = None  # monotonic
    rejoins: int = 0
    refused: str | None = None
    manifest: dict[int, tuple[tuple[str, int, str], ...]] = field(default_factory=dict)
    manifest_key: tuple[int, int] | None = None
    differences: str | None = None
    """The files whose content differs from the controller's show folder (from the node's
    manifest), once known."""
    snapshot_sent_at: float = -1.0e9


class ClusterCommandQueue(CommandQueue):
    """The controller's command queue: state-changing commands are replicated first."""

    def __init__(self, controller: ClusterController, capacity: int = 100_000) -> None:
        super().__init__(capacity)
        self.controller = controller

    def submit(self, command: Command, on_result: Callable[[Result], None] | None = None) -> Ticket:
        if command.mode != "query":
            command, seq = self.controller.publish_seq(command)
            controller, reply = self.controller, on_result

            def on_result(result: Result) -> None:  # on the render thread, in order
                controller.applied_seq = max(controller.applied_seq, seq)
                if command.name == "show.reload":  # the folder changed: hash it again
                    controller.reloaded(seq)
                if reply is not None:
                    reply(result)

        return super().submit(command, on_result)


class RecordingProcessor(TagTimeProcessor):
    """The controller's processor: as :class:`TagTimeProcessor`, and it keeps what a
    snapshot needs of each undo entry (:class:`~mapping.cluster.snapshot.UndoRecorder`)."""

    def __init__(self, registry: Any, target: Any) -> None:
        super().__init__(registry, target)
        self.recorder = UndoRecorder(self)

    def apply(self, command: Command, show_time_s: float) -> Result:
        at = command.at_show_time_s
        self.recorder.before(command, at if at is not None and at < show_time_s else show_time_s)
        try:
            return super().apply(command, show_time_s)
        finally:
            self.recorder.after()


class ClusterController:
    """Replicates commands to the nodes of ``show.nodes`` and keeps their health."""

    def __init__(
        self,
        show: Show,
        fps: float,
        *,
        clock: ClockSource | None = None,
        start_at_s: float = 0.0,
        start_cue: str | None = None,
        lead_frames: int = 4,
        bind: tuple[str, int] = ("0.0.0.0", 0),
        show_hash: str | None = None,
        mismatch: str = "refuse",
        hash_cache: Path | None = None,
        compact_every: int = COMPACT_EVERY,
    ) -> None:
        """``show_hash``: this show folder's digest (None: computed on a thread at
        :meth:`start` and after each ``show.reload``, cached in ``hash_cache``);
        ``mismatch``: what to do with a node whose show folder differs — ``refuse`` it
        (named, not driven, told to stop) or ``warn``."""
        if mismatch not in MISMATCH_CHOICES:
            raise ValueError(f"mismatch: expected one of {', '.join(MISMATCH_CHOICES)}")
        if lead_frames < 1:
            raise ValueError(f"lead_frames: expected at least 1, got {lead_frames}")
        self.show = show
        self.fps = fps
        self.source = clock or SystemClock()
        self.epoch_s = self.source.now() - start_at_s
        self.clock = ClusterClock(self.source, self.epoch_s)
        self.start_cue = start_cue
        self.snapshot: str | None = None
        self.lead_frames = lead_frames
        self.show_hash = show_hash
        self.mismatch = mismatch
        self._my_hash: ShowHash | None = None
        self._hash_cache = hash_cache
        self._cache: HashCache | None = None
        self._hashing = threading.Lock()  # one hash of the folder at a time
        self.hash_seq = 0
        """The ``show.reload`` (sequence number; 0: the start) after which :attr:`show_hash`
        was computed."""
        self.reload_seq = 0
        """The last ``show.reload`` the controller applied (0: none)."""
        self._reload_published = 0  # the last show.reload sent: hashes wait for it
        self._reload_tried = 0  # the last show.reload a snapshot was tried right after
        self.rehashes = 0
        self.instance = random.randrange(1, 2**31)
        self.nodes = {n.name: NodeLink(n.name, _resolve(n.host, n.port)) for n in show.nodes}
        self.log: list[protocol.TaggedCommand | None] = []
        """Every command of the show by sequence number; those a snapshot replaced: None."""
        self.base: protocol.StateSnapshot | None = None
        """The latest snapshot: the state after command ``base.seq`` (None: not compacted)."""
        self.compact_every = compact_every
        self.applied_seq = 0  # the last command the controller's own player applied
        self._barrier: int | None = None  # the first command a snapshot cannot hold
        self._next_try = compact_every
        self.compactions = 0
        self.snapshot_sends = 0
        self.thumbs: dict[str, tuple[int, bytes]] = {}
        """Output name → (sequence number, JPEG): the nodes' outputs' latest thumbnails."""
        self._thumb_seq = 0
        self._thumbs_fps = 0.0
        self._thumbs_until = -1.0e9
        self._player: Any = None
        self._last_slot = -(2**62)
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind(bind)
        except OSError as exc:
            self._sock.close()
            raise OSError(
                f"cluster controller: cannot bind UDP {bind[0]}:{bind[1]}: {exc}"
            ) from exc
        self._sock.settimeout(0.02)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warn = RateLimitedLog(log)
        self.sent_packets = 0
        self.sent_bytes: dict[tuple[str, int], int] = {}
        """Bytes sent to each node's address (heartbeats, commands, snapshots)."""
        self.resent = 0

    @property
    def lead_s(self) -> float:
        return self.lead_frames / self.fps

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    # -- wiring

    def attach(self, player: Any) -> None:
        """Make ``player`` the controller's: cluster show time, tag-time commands,
        replicated queue, only the outputs no node drives (call before anything submits)."""
        player.clock = self.clock
        player.processor = RecordingProcessor(player.registry, player.live)
        player.commands = ClusterCommandQueue(self)
        player.cluster = self
        self._player = player
        player.frame_listeners.append(self._compact)
        follow_show(
            player.renderer, lambda show: frozenset(o.name for o in show.outputs if o.node is None)
        )
        player.outputs.make_current()
        player.renderer.set_show(player.live.show)

    def start(
        self, start_at_s: float | None = None, snapshot: str | None = None
    ) -> ClusterController:
        """Start talking to the nodes; ``start_at_s``: the show time now (a resumed show);
        ``snapshot``: a resumed show's state journal (JSON), which joining nodes resume."""
        self.snapshot = snapshot
        if start_at_s is not None:
            with self._lock:
                self.epoch_s = self.source.now() - start_at_s
                self.clock.epoch_s = self.epoch_s
        if self.show_hash is None:
            threading.Thread(target=self._hash_show, name="show-hash", daemon=True).start()
        self._thread = threading.Thread(target=self._loop, name="cluster-controller", daemon=True)
        self._thread.start()
        log.info(
            "cluster controller on UDP port %d: %d node(s) (%s), lead %d frames (%.0f ms)",
            self.port,
            len(self.nodes),
            ", ".join(f"{n.name} at {n.address[0]}:{n.address[1]}" for n in self.nodes.values()),
            self.lead_frames,
            self.lead_s * 1000,
        )
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._sock.close()

    def _hash_show(self, after_seq: int = 0) -> None:
        """Hash the show folder (on a thread of its own): at start, and after the
        ``show.reload`` ``after_seq`` (the cache makes that cheap: unchanged files are only
        stat'ed). Nodes are then compared with the new hash."""
        try:
            with self._hashing:
                if after_seq < self.hash_seq:
                    return  # a later reload's hash is already in
                if self._cache is None:
                    self._cache = HashCache(self._hash_cache)
                mine = hash_show(self.show.root, self._cache)
                with self._lock:
                    changed = mine.digest != self.show_hash
                    self._my_hash, self.show_hash, self.hash_seq = mine, mine.digest, after_seq
                    if after_seq:
                        self.rehashes += 1
                    for link in self.nodes.values():  # their files are compared again
                        link.differences = None
                        link.manifest = {}
                        link.manifest_key = None
            if after_seq == 0 or changed:
                log.info("show folder hash %s", mine.digest[:16])
        except Exception:  # no hash: nodes are not compared, the show goes on
            log.exception("hashing the show folder failed")

    def reloaded(self, seq: int) -> None:
        """The controller applied ``show.reload`` number ``seq`` (render thread): hash the
        folder again on a thread; the nodes' hashes are compared with it once they too
        reloaded."""
        self.reload_seq = max(self.reload_seq, seq)
        threading.Thread(target=self._hash_show, args=(seq,), name="show-hash", daemon=True).start()

    # -- commands

    def publish(self, command: Command) -> Command:
        """Give ``command`` its sequence number and frame slot, send it to every node, and
        return it tagged for the controller's own queue."""
        return self.publish_seq(command)[0]

    def publish_seq(self, command: Command) -> tuple[Command, int]:
        """:meth:`publish`, and the sequence number it got."""
        with self._lock:
            earliest = self.clock() + self.lead_s
            if command.at_show_time_s is not None:
                earliest = max(earliest, command.at_show_time_s)
            slot = max(first_slot_at(earliest, self.fps), self._last_slot)
            self._last_slot = slot
            tagged = protocol.TaggedCommand(
                len(self.log) + 1,
                slot,
                command.name,
                dict(command.args),
                command.mode,
                command.source,
            )
            if command.name == "show.reload":
                self._reload_published = tagged.seq
            if command.name not in COMPACTABLE and self._barrier is None:
                self._barrier = tagged.seq
                log.info(
                    "cluster: %s cannot be compacted: rejoining nodes replay the commands "
                    "from #%d on",
                    command.name,
                    tagged.seq,
                )
            if len(self.log) - (self.base.seq if self.base else 0) == MAX_LOG:
                log.warning(
                    "more than %d commands since the last snapshot: rejoining nodes replay "
                    "them all",
                    MAX_LOG,
                )
            self.log.append(tagged)
            data = protocol.encode_command(tagged, self.epoch_s, self.fps)
            now = time.monotonic()
            for link in self.nodes.values():
                if link.refused is None:
                    link.sent_at[tagged.seq] = now
                    self._send(data, link.address)
        return replace(command, at_show_time_s=slot_time(slot, self.fps)), tagged.seq

    def _compact(self, player: Any) -> None:
        """Frame listener (render thread, after the frame applied its commands): every
        :attr:`compact_every` commands and after each ``show.reload``, replace the log up
        to the last applied one by a snapshot of the state (``mapping.cluster.snapshot``)."""
        cut = self.applied_seq
        base = self.base.seq if self.base else 0
        if self._barrier is not None and cut >= self._barrier:
            return
        # right after a show.reload, whatever the count: a node joining later then starts
        # from the state of the folder as it has it now, not replaying the reload against it
        after_reload = base < self.reload_seq <= cut and self._reload_tried < self.reload_seq
        if cut - base < self._next_try and not after_reload:
            return
        self._reload_tried = max(self._reload_tried, self.reload_seq if after_reload else 0)
        try:
            snap = take(
                player.live,
                player.processor,
                cut,
                player.status.show_time_s,
                getattr(player.processor, "recorder", None) and player.processor.recorder.records,
                reload_seq=self.reload_seq,
                show_hash=self.show_hash if self.hash_seq == self.reload_seq else None,
            )
        except Exception as exc:  # never a listener failing every frame: logged, log kept
            log.debug("snapshot failed", exc_info=True)
            self._warn.warning("snapshot", "cluster: taking a state snapshot failed: %s", exc)
            snap = None
        if snap is None or len(snap.data) > MAX_SNAPSHOT_BYTES:
            if snap is not None:
                self._warn.warning(
                    "snapshot-size",
                    "cluster: the show's state is %d bytes compressed (over %d): the command "
                    "log is kept whole",
                    len(snap.data),
                    MAX_SNAPSHOT_BYTES,
                )
            self._next_try = cut - base + max(1, self.compact_every // 4)  # later, again
            return
        with self._lock:
            for seq in range(base + 1, cut + 1):
                self.log[seq - 1] = None
            self.base = protocol.StateSnapshot(cut, snap.data)
            self.compactions += 1
        self._next_try = self.compact_every
        log.debug("cluster: log compacted to a %d-byte snapshot after #%d", len(snap.data), cut)

    # -- the network thread

    def _send(self, data: bytes, address: tuple[str, int]) -> None:
        try:
            self._sock.sendto(data, address)
            self.sent_packets += 1
            self.sent_bytes[address] = self.sent_bytes.get(address, 0) + len(data)
        except OSError as exc:  # unreachable for now: the heartbeat and resends go on
            self._warn.warning(
                f"send:{address}", "cluster: cannot send to %s:%d: %s", *address, exc
            )

    def want_thumbs(self, fps: float, for_s: float = 2.0) -> None:
        """Ask the nodes for thumbnails of their outputs, ``fps`` per output and second,
        for the next ``for_s`` seconds (the web panel calls this while it is watched)."""
        self._thumbs_fps = fps
        self._thumbs_until = time.monotonic() + for_s

    def thumbs_since(self, seq: int) -> list[tuple[str, int, bytes]]:
        """The nodes' thumbnails newer than ``seq``: (output, sequence number, JPEG)."""
        with self._lock:
            return [(name, s, jpeg) for name, (s, jpeg) in self.thumbs.items() if s > seq]

    def hello(self) -> protocol.Hello:
        return protocol.Hello(
            self.epoch_s,
            self.fps,
            self.show.name,
            self.start_cue,
            len(self.log),
            self.lead_s,
            self.instance,
            self.show_hash,
            self.snapshot,
            self._thumbs_fps if time.monotonic() < self._thumbs_until else 0.0,
        )

    def _send_snapshot(self, link: NodeLink, now: float) -> None:
        base = self.base
        assert base is not None
        if now - link.snapshot_sent_at < RESEND_AFTER_S:
            return
        link.snapshot_sent_at = now
        self._send(protocol.encode_snapshot(base), link.address)
        self.snapshot_sends += 1

    def _loop(self) -> None:
        next_hello = 0.0

        def tick() -> None:
            nonlocal next_hello
            now = time.monotonic()
            if now >= next_hello:
                next_hello = now + HELLO_PERIOD_S
                data = protocol.encode_hello(self.hello())
                for link in self.nodes.values():
                    self._send(data, link.address)
            self._resend(now)

        protocol.serve(self._sock, self._stop, lambda p, _a: self._receive(p), tick, self._warn)

    def _receive(self, packet: protocol.Packet) -> None:
        if isinstance(packet, protocol.ManifestPart):
            self._manifest_part(packet)
            return
        if isinstance(packet, protocol.Thumb):
            self._thumb(packet)
            return
        if isinstance(packet, protocol.Ack):
            name, instance, acked = packet.node, packet.instance, packet.seq
        elif isinstance(packet, protocol.NodeHealth):
            name, instance, acked = packet.name, packet.instance, packet.acked
        else:
            return
        link = self.nodes.get(name)
        if link is None:
            self._warn.warning(
                f"unknown:{name}", "cluster: a node named '%s' is not in the show", name
            )
            return
        with self._lock:
            if link.instance != instance:
                if link.instance is not None:
                    link.rejoins += 1
                    log.warning(
                        "node %s restarted: sending it %s",
                        name,
                        self._catch_up_text(acked),
                    )
                else:
                    log.info("node %s joined: sending it %s", name, self._catch_up_text(acked))
                link.instance = instance
                link.acked = acked
                link.sent_at.clear()
                link.differences = None
                link.manifest = {}
            elif acked > link.acked:
                link.acked = acked
            for seq in [s for s in link.sent_at if s <= link.acked]:
                del link.sent_at[seq]
            link.last_seen = time.monotonic()
            if isinstance(packet, protocol.NodeHealth):
                if link.health is None or packet.clock_alarm != link.health.clock_alarm:
                    if packet.clock_alarm:
                        log.error(
                            "node %s: CLOCK ALARM: %s",
                            name,
                            packet.clock_reason or f"offset {_ms(packet.clock_offset_s)}",
                        )
                    elif link.health is not None:
                        log.warning("node %s: clock back within a quarter frame", name)
                self._judge_hash(link, packet)
                link.health = packet

    def _thumb(self, thumb: protocol.Thumb) -> None:
        """Keep a node's thumbnail, if that node drives that output."""
        link = self.nodes.get(thumb.node)
        show = self._player.live.show if self._player is not None else self.show
        output = next((o for o in show.outputs if o.name == thumb.output), None)
        if link is None or link.instance != thumb.instance or output is None:
            return
        if output.node != thumb.node or link.refused is not None:
            return
        with self._lock:
            self._thumb_seq += 1
            self.thumbs[thumb.output] = (self._thumb_seq, thumb.jpeg)

    def _catch_up_text(self, acked: int) -> str:
        base = self.base.seq if self.base is not None and self.base.seq > acked else acked
        state = f"the state after command #{base}, then " if base > acked else ""
        return f"{state}{len(self.log) - base} command(s)"

    def _manifest_part(self, part: protocol.ManifestPart) -> None:
        """Collect a node's manifest; complete, name the files that differ from ours."""
        link = self.nodes.get(part.node)
        mine = self._my_hash
        if link is None or mine is None or not 0 <= part.part < part.parts <= 10_000:
            return
        if link.health is None or not self._comparable(link.health):
            return  # a reload on its way: the node's files are compared after it
        with self._lock:
            if link.manifest_key != (part.instance, part.parts):  # another manifest
                link.manifest_key = (part.instance, part.parts)
                link.manifest = {}
            link.manifest[part.part] = part.files
            if len(link.manifest) < part.parts or link.differences is not None:
                return
            files = tuple(
                FileEntry(*f) for i in range(part.parts) for f in link.manifest.get(i, ())
            )
            link.differences = describe(compare(mine, ShowHash("", files))) or "none"
        log.error(
            "node %s: files that differ from the controller's: %s", link.name, link.differences
        )

    def _comparable(self, health: protocol.NodeHealth) -> bool:
        """Whether the node's hash and the controller's are of the same moment: not while
        a ``show.reload`` is on its way or being hashed on either side. A node reports the
        reload its hash follows (``extra["hash_seq"]``: -1, hashed at its start; None, a
        reload it holds is not hashed yet)."""
        if self.show_hash is None or health.show_hash is None:
            return False
        if self.hash_seq < self._reload_published:
            return False
        theirs = health.extra.get("hash_seq", -1)
        return theirs == -1 or theirs == self.hash_seq

    def _judge_hash(self, link: NodeLink, health: protocol.NodeHealth) -> None:
        """A node whose show folder differs is named, and refused unless set to warn."""
        mine, theirs = self.show_hash, health.show_hash
        if not self._comparable(health):
            return
        if mine is None or theirs is None or mine == theirs:
            if link.refused is not None and mine == theirs:
                log.warning("node %s now has the same show folder: driven again", link.name)
                link.refused = None
                link.instance = None  # it restarts: the next report makes it rejoin
            return
        why = f"its show folder differs (hash {theirs[:12]}, the controller's {mine[:12]})"
        if self.mismatch == "warn":
            self._warn.warning(f"hash:{link.name}", "node %s: %s", link.name, why)
            return
        if link.refused is None:
            log.error(
                "node %s refused: %s (run_show.py hash --against names the files)", link.name, why
            )
            link.refused = why
        self._send(protocol.encode_refuse(protocol.Refuse(why)), link.address)

    def _resend(self, now: float) -> None:
        with self._lock:
            last = len(self.log)
            for link in self.nodes.values():
                if link.instance is None or link.acked >= last or link.refused is not None:
                    continue  # never heard of (it gets the log when it joins), or up to date
                if link.last_seen is None or now - link.last_seen > LOST_AFTER_S:
                    continue  # silent: repeats wait until it is heard from again
                if self.base is not None and link.acked < self.base.seq:
                    self._send_snapshot(link, now)  # the state, then the commands after it
                    continue
                count = 0
                for seq in range(link.acked + 1, last + 1):
                    sent = link.sent_at.get(seq)
                    if sent is not None and now - sent < RESEND_AFTER_S:
                        continue
                    link.sent_at[seq] = now
                    tagged = self.log[seq - 1]
                    assert tagged is not None  # compacted ones are never past acked
                    self._send(
                        protocol.encode_command(tagged, self.epoch_s, self.fps), link.address
                    )
                    self.resent += 1
                    count += 1
                    if count >= RESEND_BATCH:
                        break

    # -- health

    def health(self) -> list[dict[str, Any]]:
        """Every node's health, for ``status.json`` and the panel."""
        now = time.monotonic()
        out = []
        with self._lock:
            last = len(self.log)
            for link in self.nodes.values():
                h = link.health
                if link.last_seen is None:
                    state = "waiting"
                elif now - link.last_seen > LOST_AFTER_S:
                    state = "lost"
                elif link.refused is not None:
                    state = "refused"
                elif h is not None and (
                    h.clock_alarm or (self._comparable(h) and h.show_hash != self.show_hash)
                ):
                    state = "warning"
                else:
                    state = "ok"
                doc: dict[str, Any] = {
                    "name": link.name,
                    "address": f"{link.address[0]}:{link.address[1]}",
                    "state": state,
                    "seen_s_ago": None
                    if link.last_seen is None
                    else round(now - link.last_seen, 3),
                    "behind": last - link.acked,
                    "rejoins": link.rejoins,
                    "refused": link.refused,
                    "files_differ": link.differences,
                    "show_hash_same": None
                    if h is None or not self._comparable(h)
                    else h.show_hash == self.show_hash,
                }
                if h is not None:
                    d = asdict(h)
                    for key in ("name", "instance", "extra"):
                        d.pop(key)
                    doc.update(d)
                out.append(doc)
        return out


def _ms(offset_s: float | None) -> str:
    return "unknown" if offset_s is None else f"{offset_s * 1000:+.3f} ms"


def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        info = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
        return str(info[0][4][0]), port
    except OSError:
        return host, port
