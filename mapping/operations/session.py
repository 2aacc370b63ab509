"""Wiring the unattended-evening pieces into ``run_show.py run`` (kept out of the CLI).

:func:`default_state_dir` is where the journal, the status file, the quarantine list and the
evening logs live: ``$STATE_DIRECTORY`` (set by systemd's ``StateDirectory=``), else
``$XDG_STATE_HOME/facade-mapper``, else ``~/.local/state/facade-mapper``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from mapping.operations.journal import read_journal, resume
from mapping.operations.logfiles import EveningFileHandler
from mapping.operations.monitor import JOURNAL_FILE, ShowMonitor, quarantined_files
from mapping.operations.supervisor import Supervisor

log = logging.getLogger(__name__)

APP = "facade-mapper"
MAX_JOURNAL_AGE_S = 12 * 3600.0
"""A journal older than this is from another evening: a restart starts afresh."""


def default_state_dir() -> Path:
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP


def open_evening_log(log_dir: Path) -> EveningFileHandler:
    """Send every log line of this process to the evening's file too."""
    handler = EveningFileHandler(log_dir)
    logging.getLogger().addHandler(handler)
    return handler


def attach(player: Any, state_dir: Path, *, resume_journal: bool) -> tuple[ShowMonitor, float]:
    """Journal, status file, crash breadcrumbs and quarantine for a player about to run;
    returns the monitor and the show time to start at (where the journal left off when
    resuming the same show, else 0)."""
    show_dir = player.live.show.root.resolve()
    start_at = 0.0
    origin = None
    journal = read_journal(state_dir / JOURNAL_FILE) if resume_journal else None
    now = time.time()
    if journal is not None:
        if Path(journal.show) != show_dir:
            log.warning("resume: the journal is for %s, not this show; starting anew", journal.show)
        elif now - journal.written_wall_s > MAX_JOURNAL_AGE_S:
            log.warning("resume: the journal is from another evening; starting afresh")
        else:
            start_at = resume(player.live, journal, now)
            origin = journal.origin_wall_s
            current = player.live.engine.current_cue()
            log.warning(
                "resumed after a crash: cue %s at show time %.1f s",
                current.label if current is not None else "(none)",
                start_at,
            )
    monitor = ShowMonitor(state_dir, show_dir, origin_wall_s=origin, resumed=origin is not None)
    player.frame_listeners.append(monitor)
    player.renderer.opening_hook = monitor.opening
    quarantined = quarantined_files(state_dir)
    if quarantined:
        player.renderer.quarantined = frozenset(quarantined)
        for path in sorted(quarantined):
            log.error("%s is quarantined (it crashed the show twice): shown as a placeholder", path)
    return monitor, start_at


def supervise(run_argv: list[str], state_dir: Path, watchdog_s: float) -> int:
    """Run ``run_show.py`` with ``run_argv`` (without ``--supervise``) under a supervisor."""
    script = Path(__file__).resolve().parents[2] / "run_show.py"
    command = [sys.executable, str(script), *run_argv]
    return Supervisor(command, state_dir, watchdog_s=watchdog_s).run()
