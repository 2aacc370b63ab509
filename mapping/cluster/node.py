"""A render node of a multi-machine show: drives its own outputs, frame-locked by time.

:class:`RenderNode` listens on UDP for the controller (``mapping.cluster.protocol``): its
heartbeat gives the show epoch, frame rate and start cue; its commands arrive with
sequence numbers and frame slots. The node hands them to its player's queue strictly in
sequence order (a gap waits for the repeat), each tagged with its slot's show time, so it
applies every command at the same frame as every other machine, or — when it arrived after
its frame — as of that frame (:class:`~mapping.cluster.lock.TagTimeProcessor`). It
acknowledges the highest sequence number it holds with none missing, and reports its
health (late frames, clock, CPU and GPU, frame, cue) several times a second. A node that
starts while the show runs (first start, or after a crash) is sent every command of the
show with its original tag and so reaches the current cue and show time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import random
import socket
import threading
import time
import zlib
from pathlib import Path
from typing import IO, Any

from mapping.cluster import protocol
from mapping.cluster.clock import ClockSource, SystemClock
from mapping.cluster.clockalarm import ClockWatch
from mapping.cluster.controller import follow_show
from mapping.cluster.gpuload import GpuLoadWatch
from mapping.cluster.lock import ClusterClock, TagTimeProcessor, frame_index
from mapping.cluster.showhash import HashCache, hash_show
from mapping.ratelimit import RateLimitedLog
from mapping.show import Show

log = logging.getLogger(__name__)

STATUS_PERIOD_S = 0.2
"""The node's heartbeat period."""
CONTROLLER_LOST_S = 2.0
"""No controller heartbeat for this long: said loudly (the node keeps playing)."""
EXIT_REJOIN = 75
"""The exit status of a node that stopped because the controller restarted (its service
manager starts it again and it joins the new show epoch)."""
CATCH_UP_S = 10.0
"""A joining node waits at most this long for the show's commands before it draws."""
EXIT_REFUSED = 3
"""The exit status of a node the controller refused (a different show folder)."""


class RenderNode:
    """The network side of a render node; :meth:`attach` gives it its player."""

    def __init__(
        self,
        show: Show,
        name: str,
        listen: tuple[str, int],
        *,
        clock: ClockSource | None = None,
        record: Path | None = None,
        hash_cache: Path | None = None,
    ) -> None:
        names = [n.name for n in show.nodes]
        if name not in names:
            from mapping.errors import did_you_mean

            listed = ", ".join(names) or "none"
            raise ValueError(
                f"{show.file}: no node named '{name}'{did_you_mean(name, names)}; nodes: {listed}"
            )
        self.show = show
        self.name = name
        self.source = clock or SystemClock()
        self.instance = random.randrange(1, 2**31)
        self.outputs = tuple(o for o in show.outputs if o.node == name)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind(listen)
        except OSError as exc:
            self._sock.close()
            raise OSError(
                f"node {name}: cannot listen on UDP {listen[0]}:{listen[1]}: {exc}"
            ) from exc
        self._sock.settimeout(0.02)
        self._lock = threading.Lock()
        self._hello_event = threading.Event()
        self.hello: protocol.Hello | None = None
        self.controller: tuple[str, int] | None = None
        self._last_hello = 0.0
        self._pending: dict[int, protocol.TaggedCommand] = {}
        self.received = 0  # highest sequence number held with none missing
        self._ready: list[protocol.TaggedCommand] = []  # in order, before the player exists
        self._state: protocol.StateSnapshot | None = None  # the state to start from, if sent
        self._restoring = False  # a snapshot waits for the render thread: commands wait too
        self.snapshots = 0
        self.player: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warn = RateLimitedLog(log)
        self._record: IO[str] | None = open(record, "a", encoding="utf-8") if record else None
        self.watch: ClockWatch | None = None  # the quarter-frame alarm, once fps is known
        self.show_hash: str | None = None
        self.hash_seq: int | None = -1
        """The ``show.reload`` its hash follows: -1, hashed at start; None, a reload it
        holds is not hashed yet (the controller compares hashes of the same moment)."""
        self._reload_held = 0  # the last show.reload received
        self.reload_seq = 0  # the last show.reload applied (or restored from a snapshot)
        self._cache = HashCache(hash_cache)
        self._hashing = threading.Lock()
        self._manifest: list[tuple[str, int, str]] = []
        self._manifest_sent = -1.0e9
        self.refused: str | None = None
        threading.Thread(target=self._hash_show, name="show-hash", daemon=True).start()
        self._gpu: str | None = None
        self._thumbnailer: Any = None  # made on the render thread when thumbnails are asked
        self._thumb_thread: int | None = None
        self._thumb_queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=8)
        self._thumb_next = 0.0
        self._thumb_turn = 0
        self._thumb_drawn: dict[str, int] = {}
        self._thumb_seq = 0
        self.thumbs_sent = 0
        self.gpu_watch = GpuLoadWatch()  # sampled on its own thread from start()
        self.late_commands = 0
        self.controller_restarted = False

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def start(self) -> RenderNode:
        self._thread = threading.Thread(
            target=self._loop, name=f"cluster-node-{self.name}", daemon=True
        )
        self._thread.start()
        self.gpu_watch.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.gpu_watch.stop()
        if self._thumbnailer is not None and threading.get_ident() == self._thumb_thread:
            self._thumbnailer.release()  # GL objects: only on the thread that made them
        self._thumbnailer = None
        if self.watch is not None:
            self.watch.stop()
        self._sock.close()
        if self._record is not None:
            self._record.close()
            self._record = None

    def wait_hello(self, timeout: float | None = None) -> protocol.Hello | None:
        """The controller's first heartbeat (what the player needs to start), or None."""
        self._hello_event.wait(timeout)
        return self.hello

    def wait_caught_up(self, timeout: float | None = None) -> bool:
        """Wait until every command the controller had sent when it last said hello has
        arrived (a node joining a running show starts at the right state); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            hello = self.hello
            if hello is not None and self.received >= hello.last_seq:
                return True
            if self.refused is not None:
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # -- the player

    def attach(self, player: Any) -> None:
        """Make ``player`` this node's: cluster show time from the controller's epoch,
        commands as of their tag, only this node's outputs, a record line per frame."""
        hello = self.hello
        if hello is None:
            raise RuntimeError("attach: no heartbeat from the controller yet")
        from mapping.reload import ShowWatcher

        if any(
            isinstance(getattr(f, "__self__", None), ShowWatcher) for f in player.frame_listeners
        ):
            raise RuntimeError(
                "attach: a render node must not watch its show folder: it reloads when the "
                "controller's show.reload lands, at the same frame as every machine"
            )
        player.processor = TagTimeProcessor(player.registry, player.live)
        state = self._state
        if state is not None:  # a compacted log: the state after its snapshot's command
            self._restore(player, state)
        elif hello.snapshot is not None:  # a resumed controller: its state at its start
            from mapping.operations.journal import parse_journal, resume

            try:
                resume(player.live, parse_journal(hello.snapshot), self.source.now())
            except ValueError as exc:
                log.error("the controller's resumed state is unreadable (%s): starting afresh", exc)
        player.clock = ClusterClock(self.source, hello.epoch_s)
        name = self.name
        follow_show(
            player.renderer, lambda show: frozenset(o.name for o in show.outputs if o.node == name)
        )
        player.outputs.make_current()
        player.renderer.set_show(player.live.show)
        player.frame_listeners.append(self._on_frame)
        player.frame_listeners.append(self._thumbs)
        try:
            self._gpu = str(player.outputs.ctx.info.get("GL_RENDERER"))
        except Exception:  # no GL information: the heartbeat says None
            self._gpu = None
        with self._lock:
            self.player = player
            ready, self._ready = self._ready, []
            for tagged in ready:
                self._deliver(tagged)

    def _restore(self, player: Any, state: protocol.StateSnapshot) -> None:
        from mapping.cluster.snapshot import SnapshotError, restore

        try:
            text = zlib.decompress(state.data).decode("utf-8")
            meta = restore(player.live, player.processor, text, self.reload_seq)
            log.info("started from the controller's state after command #%d", state.seq)
        except (SnapshotError, zlib.error, UnicodeDecodeError) as exc:
            log.error("the controller's state snapshot is unusable (%s)", exc)
            return
        reloaded = int(meta["reload_seq"])
        if reloaded > self.reload_seq:  # this copy of the folder was loaded again: hash it
            self.reload_seq = reloaded
            self._start_rehash(reloaded)

    def _restore_now(self, state: protocol.StateSnapshot) -> None:
        """On the render thread: a snapshot that came while running (cut off for long),
        then the commands after it that waited."""
        self._restore(self.player, state)
        with self._lock:
            self._restoring = False
            ready, self._ready = self._ready, []
            for tagged in ready:
                self._deliver(tagged)

    def _deliver(self, tagged: protocol.TaggedCommand) -> None:
        assert self.hello is not None
        command = tagged.command(self.hello.fps)
        if self.player.clock() > command.at_show_time_s:
            self.late_commands += 1
        if tagged.name != "show.reload":
            self.player.commands.submit(command)
            return
        seq = tagged.seq

        def reloaded(result: Any) -> None:  # render thread: the folder was read again
            self.reload_seq = max(self.reload_seq, seq)
            self._start_rehash(seq)

        self.player.commands.submit(command, reloaded)

    def _on_frame(self, player: Any) -> None:
        status = player.status
        if self._record is not None:
            now = self.source.now()
            epoch = self.hello.epoch_s if self.hello else now
            line = {
                "clock": now,
                "t": status.show_time_s,
                "after_s": round(
                    now - epoch - status.show_time_s, 6
                ),  # drawn this long after its slot
                "frame": frame_index(status.show_time_s, self.hello.fps if self.hello else 30.0),
                "cue": status.cue,
                "late": status.late_frames,
            }
            self._record.write(json.dumps(line) + "\n")
            self._record.flush()

    def _thumbs(self, player: Any) -> None:
        """Frame listener (render thread): while the controller asks (its panel is
        watched), shrink one of this node's outputs on the GPU now and then
        (:class:`~mapping.gl.thumbnails.Thumbnailer`, read back a frame later); the network
        thread encodes and sends them."""
        hello = self.hello
        fps = hello.thumbs_fps if hello is not None else 0.0
        thumbnailer = self._thumbnailer
        if thumbnailer is not None:
            for name in thumbnailer.pending():  # captured last frame: the read-back is done
                image = thumbnailer.collect(name)
                if image is not None:
                    with contextlib.suppress(queue.Full):  # the network is behind: skip one
                        self._thumb_queue.put_nowait((name, image))
        if fps <= 0.0:
            return
        now = time.monotonic()
        names = player.renderer.output_names()
        if not names or now < self._thumb_next:
            return
        if thumbnailer is None:
            from mapping.gl.thumbnails import Thumbnailer

            player.outputs.make_current()
            thumbnailer = self._thumbnailer = Thumbnailer(player.outputs.ctx)
            self._thumb_thread = threading.get_ident()
        self._thumb_next = now + 1.0 / (fps * len(names))
        for i in range(len(names)):  # the next output in turn that was redrawn since
            name = names[(self._thumb_turn + i) % len(names)]
            if self._thumb_drawn.get(name) != player.drawn:
                self._thumb_turn = (self._thumb_turn + i + 1) % len(names)
                self._thumb_drawn[name] = player.drawn
                player.outputs.make_current()
                thumbnailer.capture(name, player.renderer.output_texture(name))
                return

    def _send_thumbs(self) -> None:
        """(Network thread.) Encode the thumbnails read back and send them, each in one
        datagram of at most ``MAX_THUMB_BYTES`` (a lower JPEG quality, else skipped)."""
        from mapping.control.panel.server import encode_jpeg

        while True:
            try:
                name, image = self._thumb_queue.get_nowait()
            except queue.Empty:
                return
            data = b""
            for quality in (80, 50, 25):
                try:
                    data = encode_jpeg(image, quality)
                except ValueError:
                    break
                if len(data) <= protocol.MAX_THUMB_BYTES:
                    break
            if not data or len(data) > protocol.MAX_THUMB_BYTES:
                self._warn.warning(
                    f"thumb:{name}", "output %s: no thumbnail small enough to send", name
                )
                continue
            self._thumb_seq += 1
            thumb = protocol.Thumb(self.name, self.instance, name, self._thumb_seq, data)
            self._send(protocol.encode_thumb(thumb))
            self.thumbs_sent += 1

    # -- the network thread

    def _loop(self) -> None:
        next_status = 0.0

        def tick() -> None:
            nonlocal next_status
            if not self._thumb_queue.empty():
                self._send_thumbs()
            now = time.monotonic()
            if self.controller is not None and now >= next_status:
                next_status = now + STATUS_PERIOD_S
                self._send(protocol.encode_status(self.health()))
                if self.hello is not None and now - self._last_hello > CONTROLLER_LOST_S:
                    self._warn.warning(
                        "lost",
                        "no heartbeat from the controller for %.1f s",
                        now - self._last_hello,
                    )

        protocol.serve(self._sock, self._stop, self._receive, tick, self._warn)

    def _send(self, data: bytes) -> None:
        if self.controller is None:
            return
        try:
            self._sock.sendto(data, self.controller)
        except OSError as exc:
            self._warn.warning("send", "cluster: cannot reach the controller: %s", exc)

    def _receive(self, packet: protocol.Packet, addr: tuple[str, int]) -> None:
        if isinstance(packet, protocol.Hello):
            if self.hello is not None and packet.instance != self.hello.instance:
                if not self.controller_restarted:  # a new show epoch: start again, joining it
                    log.error("the controller restarted: this node stops to rejoin (exit 75)")
                    self.controller_restarted = True
                    if self.player is not None:
                        self.player.running = False
                return
            self.controller = addr
            self._last_hello = time.monotonic()
            mine = self.show_hash
            if mine is not None and packet.show_hash is not None and packet.show_hash != mine:
                self._send_manifest(every_s=2.0)  # so that the controller names the files
            if self.hello is not None:
                self.hello = packet  # the latest: its last_seq says what to catch up to
            else:
                log.info(
                    "joined show '%s' at %.3f s show time (%d commands so far)",
                    packet.show,
                    self.source.now() - packet.epoch_s,
                    packet.last_seq,
                )
                if packet.show != self.show.name:
                    log.error(
                        "the controller runs show '%s', this node loaded '%s'",
                        packet.show,
                        self.show.name,
                    )
                self.hello = packet
                self.watch = ClockWatch(self.source, 1.0 / packet.fps).start()
                self._hello_event.set()
        elif isinstance(packet, protocol.Refuse):
            if self.refused is None:
                log.error("the controller refused this node: %s", packet.reason)
                self._send_manifest(every_s=0.0)
                self.refused = packet.reason
                if self.player is not None:
                    self.player.running = False
                self._hello_event.set()  # a node still waiting stops waiting
        elif isinstance(packet, protocol.TaggedCommand | protocol.StateSnapshot):
            self.controller = self.controller or addr
            with self._lock:
                if isinstance(packet, protocol.StateSnapshot):
                    if packet.seq > self.received:
                        self._take_state(packet)
                elif packet.seq > self.received:
                    self._pending[packet.seq] = packet
                while self.received + 1 in self._pending:
                    tagged = self._pending.pop(self.received + 1)
                    self.received += 1
                    if tagged.name == "show.reload":  # its hash waits for it
                        self._reload_held = tagged.seq
                        self.hash_seq = None
                    if self.player is None or self._restoring:
                        self._ready.append(tagged)
                    else:
                        self._deliver(tagged)
                received = self.received
            self._send(protocol.encode_ack(protocol.Ack(self.name, self.instance, received)))

    def _take_state(self, state: protocol.StateSnapshot) -> None:
        """(Under the lock.) The state after command ``state.seq`` replaces every command
        up to it: kept for :meth:`attach`, or restored on the render thread when running."""
        self.snapshots += 1
        self.received = state.seq
        self._ready = []
        for seq in [s for s in self._pending if s <= state.seq]:
            del self._pending[seq]
        self._state = state
        if self.player is not None:
            log.warning("missed commands the controller no longer keeps: taking its state")
            self._restoring = True
            self.player.call_soon(lambda: self._restore_now(state))

    # -- health

    def health(self) -> protocol.NodeHealth:
        fps = self.hello.fps if self.hello else 30.0
        watch = self.watch
        clock = watch.fields() if watch is not None else {}
        offset_ms = clock.get("clock_offset_ms")
        player = self.player
        status = player.status if player is not None else None
        return protocol.NodeHealth(
            name=self.name,
            instance=self.instance,
            acked=self.received,
            frame=None if status is None else frame_index(status.show_time_s, fps),
            show_time_s=None if status is None else round(status.show_time_s, 4),
            cue=None if status is None else status.cue,
            late_frames=0 if status is None else status.late_frames,
            fps=0.0 if status is None else round(status.fps, 2),
            show=self.show.name,
            show_hash=self.show_hash,
            clock_source=clock.get("clock_source") or "",
            clock_synced=bool(clock.get("clock_synced")),
            clock_offset_s=None if offset_ms is None else offset_ms / 1000.0,
            clock_alarm=bool(clock.get("clock_alarm")),
            clock_reason=clock.get("clock_reason") or "",
            cpu_load=_cpu_load(),
            gpu=self._gpu,
            gpu_load=self.gpu_watch.load,
            extra={"late_commands": self.late_commands, "hash_seq": self.hash_seq},
        )

    def _send_manifest(self, every_s: float) -> None:
        now = time.monotonic()
        if self.show_hash is None or now - self._manifest_sent < every_s:
            return
        self._manifest_sent = now
        for data in protocol.encode_manifest(self.name, self.instance, self._manifest):
            self._send(data)

    def _start_rehash(self, after_seq: int) -> None:
        threading.Thread(
            target=self._hash_show, args=(after_seq,), name="show-hash", daemon=True
        ).start()

    def _hash_show(self, after_seq: int = 0) -> None:
        """Hash this node's copy of the show folder: at start, and after each
        ``show.reload`` it applied (``after_seq``; unchanged files are only stat'ed)."""
        try:
            with self._hashing:
                h = hash_show(self.show.root, self._cache)
                with self._lock:
                    self._manifest = [(f.name, f.size, f.sha256) for f in h.files]
                    changed = h.digest != self.show_hash
                    self.show_hash = h.digest
                    if after_seq and after_seq >= self._reload_held:
                        self.hash_seq = after_seq
                        self._manifest_sent = -1.0e9  # differing: the new manifest at once
            if changed:
                log.info("show folder hash %s", h.digest[:16])
        except Exception:  # the node plays on; the controller sees no hash
            log.exception("hashing the show folder failed")


def _cpu_load() -> float | None:
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 3)
    except OSError:
        return None


def run_node(
    show: Show,
    name: str,
    listen: tuple[str, int] | None,
    outputs: Any,
    *,
    clock: ClockSource | None = None,
    record: Path | None = None,
    duration_s: float | None = None,
    wait_s: float | None = None,
    hash_cache: Path | None = None,
) -> int:
    """Run a render node until the show ends (``duration_s`` of show time), a window closes
    or Ctrl-C: wait for the controller, start the player at the cluster's show time."""
    from mapping.live import ShowLibrary
    from mapping.player import ShowPlayer

    if listen is None:
        port = next(n.port for n in show.nodes if n.name == name)
        listen = ("0.0.0.0", port)
    node = RenderNode(show, name, listen, clock=clock, record=record, hash_cache=hash_cache)
    node.start()
    try:
        log.info(
            "node %s: outputs %s; listening on UDP %s:%d, waiting for the controller",
            name,
            ", ".join(o.name for o in node.outputs) or "(none)",
            listen[0],
            node.port,
        )
        hello = node.wait_hello(wait_s)
        if node.refused is not None:
            return EXIT_REFUSED
        if hello is None:
            log.error("node %s: no controller heartbeat within %.0f s", name, wait_s or 0)
            outputs.close()
            return 1
        if not node.wait_caught_up(CATCH_UP_S):
            log.warning(
                "node %s: %d of %d commands after %.0f s; starting, the rest follows",
                name,
                node.received,
                node.hello.last_seq if node.hello else 0,
                CATCH_UP_S,
            )
        player = ShowPlayer(
            show,
            outputs,
            start_cue=hello.start_cue,
            library=ShowLibrary(show.root.resolve().parent),
        )
        node.attach(player)
        player.run(fps=hello.fps, duration_s=duration_s)
    finally:
        node.close()
    if node.refused is not None:
        return EXIT_REFUSED
    return EXIT_REJOIN if node.controller_restarted else 0
