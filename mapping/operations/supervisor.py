"""The supervisor: keeps the show running through a whole evening.

``run_show.py SHOW --supervise`` starts the player as a child process and watches it:

* the child exits 0 (its ``--duration`` ran out, a window was closed): the supervisor ends
  too; exit 2 (the show or an argument is invalid) also ends it — restarting cannot help;
* the child dies any other way (a crash, ``kill -9``, a native abort in a decoder): it is
  started again with ``--resume``, so it comes back in the same cue at the right show
  time (``mapping.operations.journal``), after a short back-off that grows while crashes
  repeat quickly;
* the child hangs (its status file, written every second by the frame loop, is older than
  ``watchdog_s``, or never appears within ``startup_s``): it is killed and restarted;
* the child crashed while opening a content file (the ``opening`` breadcrumb names it):
  the file's crash count goes up in ``quarantine.json``; at two, restarted players show it
  as a placeholder instead of opening it, with a log line saying so.

SIGTERM / SIGINT to the supervisor stop the child cleanly and end the supervisor.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mapping.atomic import write_atomic
from mapping.operations.monitor import OPENING_FILE, QUARANTINE_FILE, STATUS_FILE, read_quarantine

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
STABLE_AFTER_S = 60.0
"""A child that ran this long resets the back-off."""
CRASHES_TO_QUARANTINE = 2
EXIT_INVALID = 2


class Supervisor:
    """Runs ``command`` (the player) until it ends normally; see the module docstring."""

    def __init__(
        self,
        command: Sequence[str],
        state_dir: Path,
        *,
        watchdog_s: float = 5.0,
        startup_s: float = 30.0,
        poll_s: float = 0.2,
        backoff_s: Sequence[float] = BACKOFF_S,
        popen: Callable[..., Any] = subprocess.Popen,
    ) -> None:
        self.command = list(command)
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.watchdog_s = watchdog_s
        self.startup_s = startup_s
        self.poll_s = poll_s
        self.backoff_s = tuple(backoff_s)
        self._popen = popen
        self.restarts = 0
        self.hangs = 0
        self._stopping = False
        self._child: Any = None

    def stop(self, *_: Any) -> None:
        """Stop supervising: terminate the child and return from :meth:`run`."""
        self._stopping = True
        if self._child is not None and self._child.poll() is None:
            self._child.terminate()

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self) -> int:
        failures = 0
        resume = False
        while not self._stopping:
            argv = self.command + (["--resume"] if resume else [])
            started = time.monotonic()
            (self.state_dir / OPENING_FILE).unlink(missing_ok=True)
            log.info("supervisor: starting the show%s", " (resuming)" if resume else "")
            self._child = self._popen(argv)
            outcome = self._watch(self._child, started)
            if self._stopping:
                self._child.wait()
                return 0
            if outcome == 0:
                log.info("supervisor: the show ended normally")
                return 0
            if outcome == EXIT_INVALID:
                log.error("supervisor: the show or its arguments are invalid (exit 2); stopping")
                return EXIT_INVALID
            self._crashed(outcome)
            resume = True
            self.restarts += 1
            failures = 0 if time.monotonic() - started >= STABLE_AFTER_S else failures + 1
            delay = self.backoff_s[min(failures, len(self.backoff_s) - 1)] if failures else 0.0
            log.warning("supervisor: restarting the show in %.1f s", delay)
            self._sleep(delay)
        return 0

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < end:
            time.sleep(min(self.poll_s, max(0.0, end - time.monotonic())))

    def _watch(self, child: Any, started: float) -> int | str:
        """Wait until the child exits (its return code) or hangs (``"hung"``)."""
        status = self.state_dir / STATUS_FILE
        while True:
            rc = child.poll()
            if rc is not None:
                return rc
            if self._stopping:
                child.wait()
                return 0
            age = self._status_age(status, child.pid, started)
            limit = self.startup_s if age is None else self.watchdog_s
            since = time.monotonic() - started if age is None else age
            if since > limit:
                what = "did not start" if age is None else f"drew no frame for {age:.1f} s"
                log.error("supervisor: the show %s; killing it (pid %d)", what, child.pid)
                self.hangs += 1
                child.kill()
                child.wait()
                return "hung"
            time.sleep(self.poll_s)

    @staticmethod
    def _status_age(status: Path, pid: int, started: float) -> float | None:
        """Seconds since this child last wrote its status; None if it has not yet."""
        try:
            doc = json.loads(status.read_text(encoding="utf-8"))
            mtime = status.stat().st_mtime
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("pid") != pid:
            return None
        return max(0.0, time.time() - mtime)

    def _crashed(self, outcome: int | str) -> None:
        if isinstance(outcome, int) and outcome < 0:
            try:
                how = f"killed by {signal.Signals(-outcome).name}"
            except ValueError:
                how = f"killed by signal {-outcome}"
        elif isinstance(outcome, int):
            how = f"exited with code {outcome}"
        else:
            how = "hung"
        crumb = self.state_dir / OPENING_FILE
        try:
            opening = crumb.read_text(encoding="utf-8").strip()
        except OSError:
            opening = ""
        if not opening:
            log.error("supervisor: the show %s", how)
            return
        counts = read_quarantine(self.state_dir)
        counts[opening] = counts.get(opening, 0) + 1
        log.error("supervisor: the show %s while opening %s", how, opening)
        if counts[opening] >= CRASHES_TO_QUARANTINE:
            log.error(
                "supervisor: %s crashed the show %d times: quarantined (shown as a placeholder; "
                "delete %s to try it again)",
                opening,
                counts[opening],
                self.state_dir / QUARANTINE_FILE,
            )
        write_atomic(self.state_dir / QUARANTINE_FILE, json.dumps(counts, indent=1).encode())
        crumb.unlink(missing_ok=True)
