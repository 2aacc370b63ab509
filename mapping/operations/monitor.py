"""What a running show tells the world while nobody watches: the state journal on every
cue change, and a status file for monitoring tools once a second.

:class:`ShowMonitor` is a frame listener of :class:`~mapping.player.ShowPlayer` (render
thread). Both files are replaced atomically, so a reader (the supervisor, a monitoring
agent, ``cat``) never sees half a file. It also keeps the crash breadcrumb: the content
file being opened right now (``opening``), which the supervisor reads after a crash to
quarantine content that crashed the process twice.

``status.json``::

    {"show": "demo", "show_dir": "...", "pid": 1234, "state": "running",  # "stopped" at the end
     "cue": "2", "next_cue": "3", "show_time_s": 61.2, "fps": 30.0, "frames": 1836,
     "late_frames": 0, "render_failures": 0, "errors": {"logo": "media/logo.png: ..."},
     "reload_error": null,  # or why the last edit of the show folder was refused
     "uptime_s": 61.3, "started_wall_s": ..., "written_wall_s": ..., "master": 1.0,
     "blackout": false, "paused": false, "locked": false, "resumed": false}

The controller of a multi-machine show adds ``"nodes"``: each render node's health
(``ClusterController.health``, ``docs/cluster.md``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from mapping.atomic import write_atomic
from mapping.operations.journal import journal_of, write_journal

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
JOURNAL_FILE = "journal.json"
OPENING_FILE = "opening"
QUARANTINE_FILE = "quarantine.json"
STATUS_PERIOD_S = 1.0


class ShowMonitor:
    """Writes ``journal.json`` on state changes and ``status.json`` every second."""

    def __init__(
        self,
        state_dir: Path,
        show_dir: Path,
        *,
        origin_wall_s: float | None = None,
        resumed: bool = False,
        wall=time.time,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.show_dir = Path(show_dir)
        self.origin_wall_s = origin_wall_s
        self.resumed = resumed
        self._wall = wall
        self._started = time.monotonic()
        self._started_wall = wall()
        self._last_state: Any = None
        self._next_status = 0.0
        self.journal_writes = 0
        self.status_writes = 0

    @property
    def journal_path(self) -> Path:
        return self.state_dir / JOURNAL_FILE

    @property
    def status_path(self) -> Path:
        return self.state_dir / STATUS_FILE

    def __call__(self, player: Any) -> None:
        """Frame listener: journal on change, status on time."""
        status = player.status
        now_wall = self._wall()
        if self.origin_wall_s is None:
            self.origin_wall_s = now_wall - status.show_time_s
        live = player.live
        engine = live.engine
        state = (
            live.show.name,
            tuple(sorted((k, v) for k, v in engine.current.items() if v is not None)),
            tuple(sorted((k, engine.fired_at.get(v)) for k, v in engine.current.items() if v)),
            live.master.end,
            live.blackout,
        )
        if state != self._last_state:
            try:
                write_journal(
                    self.journal_path,
                    journal_of(live, live.show.root, self.origin_wall_s, now_wall),
                )
                self._last_state = state
                self.journal_writes += 1
            except OSError as exc:
                log.warning("cannot write the state journal %s: %s", self.journal_path, exc)
        if now_wall >= self._next_status:
            self._next_status = now_wall + STATUS_PERIOD_S
            self.write_status(player, now_wall)

    def write_status(
        self, player: Any, now_wall: float | None = None, state: str = "running"
    ) -> None:
        status = player.status
        now_wall = self._wall() if now_wall is None else now_wall
        doc = {
            "show": status.show,
            "show_dir": str(self.show_dir.resolve()),
            "pid": os.getpid(),
            "state": state,
            "cue": status.cue,
            "next_cue": status.next_cue,
            "show_time_s": round(status.show_time_s, 3),
            "fps": round(status.fps, 2),
            "frames": status.frames,
            "late_frames": status.late_frames,
            "render_failures": player.render_failures,
            "errors": dict(player.renderer.errors),
            "reload_error": getattr(player.live, "reload_error", None),
            "uptime_s": round(time.monotonic() - self._started, 3),
            "started_wall_s": self._started_wall,
            "written_wall_s": now_wall,
            "master": status.master,
            "blackout": status.blackout,
            "paused": status.paused,
            "locked": status.locked,
            "resumed": self.resumed,
        }
        cluster = getattr(player, "cluster", None)  # a multi-machine show's controller
        if cluster is not None:
            doc["nodes"] = cluster.health()
        try:
            write_atomic(self.status_path, json.dumps(doc, indent=1).encode(), durable=False)
            self.status_writes += 1
        except OSError as exc:
            log.warning("cannot write the status file %s: %s", self.status_path, exc)

    def finish(self, player: Any) -> None:
        """The run ended (its duration, a quit): the last status says ``"stopped"`` with the
        final frame count, rather than a ``"running"`` that stops being rewritten."""
        self.write_status(player, state="stopped")

    # -- crash breadcrumbs (the renderer calls this around opening content)

    def opening(self, path: Path | None) -> None:
        """Record the content file being opened (``None``: done)."""
        crumb = self.state_dir / OPENING_FILE
        try:
            if path is None:
                crumb.unlink(missing_ok=True)
            else:
                write_atomic(crumb, str(path).encode("utf-8"))
        except OSError as exc:
            log.debug("breadcrumb %s: %s", crumb, exc)


def read_quarantine(state_dir: Path) -> dict[str, int]:
    """Crash counts by content file (``quarantine.json``); empty when absent or unreadable."""
    try:
        doc = json.loads((Path(state_dir) / QUARANTINE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {str(k): int(v) for k, v in doc.items() if isinstance(v, int)}


def quarantined_files(state_dir: Path, crashes: int = 2) -> frozenset[Path]:
    """Content files that crashed the show ``crashes`` times or more."""
    return frozenset(Path(k) for k, v in read_quarantine(state_dir).items() if v >= crashes)
