"""The quarter-frame alarm (pure): is this machine's clock good enough for frame lock?

Nodes show frame *n* at show time ``n × period`` on their own clock; two clocks a quarter
of a frame apart can put the same frame a frame apart on two projectors near the frame
boundaries. :func:`judge_clock` says whether a :class:`ClockStatus` is within a quarter of
the show's frame period (and synchronised at all); :class:`ClockAlarm` follows a node's
clock over time, logs a loud warning once per change of state (rate-limited through
:class:`mapping.ratelimit.RateLimitedLog`, so a flapping clock cannot flood the log) and
gives the flag and figures for the node's status. :class:`ClockWatch` does the reading on
its own thread, once a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mapping.cluster.clock import ClockSource, ClockStatus
from mapping.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClockVerdict:
    """``ok`` or the ``kind`` of trouble ("unsynced", "unknown", "offset") and a line."""

    ok: bool
    kind: str
    reason: str
    limit_s: float


def judge_clock(status: ClockStatus, frame_period_s: float) -> ClockVerdict:
    """A quarter of ``frame_period_s`` is the most offset allowed; an unsynchronised clock
    or one whose offset is unknown is an alarm too."""
    if not frame_period_s > 0:
        raise ValueError(f"frame period must be > 0 s, got {frame_period_s!r}")
    limit = frame_period_s / 4
    fps = 1 / frame_period_s
    if not status.synced:
        why = status.detail or status.source
        return ClockVerdict(False, "unsynced", f"clock not synchronised ({why})", limit)
    if status.offset_s is None:
        return ClockVerdict(False, "unknown", f"clock offset unknown ({status.detail})", limit)
    if abs(status.offset_s) > limit:
        return ClockVerdict(
            False,
            "offset",
            f"clock offset {status.offset_s * 1e3:+.3f} ms exceeds a quarter frame "
            f"({limit * 1e3:.3f} ms at {fps:g} fps): this node may show frames a frame "
            f"apart from the others ({status.detail})",
            limit,
        )
    return ClockVerdict(True, "ok", "", limit)


class ClockAlarm:
    """Follows one clock's status: logs each change of verdict (warnings rate-limited to
    one per kind and ``interval_s``), keeps the flag for the node's status."""

    def __init__(
        self,
        frame_period_s: float,
        *,
        logger: logging.Logger = log,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        judge_clock(ClockStatus("system", True, 0.0), frame_period_s)  # checks the period
        self.frame_period_s = frame_period_s
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._recovery_logged_at: float | None = None
        self._limited = RateLimitedLog(logger, interval_s, clock)
        self.status: ClockStatus | None = None
        self.verdict: ClockVerdict | None = None
        self.changes = 0
        """How many times the verdict changed (ok ↔ a kind of trouble)."""

    @property
    def alarm(self) -> bool:
        """The last status judged was not good enough (False before the first)."""
        return self.verdict is not None and not self.verdict.ok

    def update(self, status: ClockStatus) -> ClockVerdict:
        """Judge ``status``; log when the verdict's kind changed."""
        verdict = judge_clock(status, self.frame_period_s)
        before = self.verdict
        self.status, self.verdict = status, verdict
        if before is not None and before.kind == verdict.kind:
            return verdict
        if before is not None:
            self.changes += 1
        if not verdict.ok:
            self._limited.warning(f"clock-{verdict.kind}", "CLOCK ALARM: %s", verdict.reason)
        elif before is not None and self._may_log_recovery():
            self.logger.info(
                "clock back within a quarter frame: offset %s (%s)",
                _ms(status.offset_s),
                status.detail,
            )
        return verdict

    def _may_log_recovery(self) -> bool:
        now = self.clock()
        last = self._recovery_logged_at
        if last is not None and now - last < self.interval_s:
            return False
        self._recovery_logged_at = now
        return True

    def status_fields(self) -> dict[str, Any]:
        """For the node's status: the flag, the reason, the source and its figures."""
        s, v = self.status, self.verdict
        return {
            "clock_alarm": self.alarm,
            "clock_reason": v.reason if v is not None else "not judged yet",
            "clock_source": s.source if s is not None else None,
            "clock_synced": s.synced if s is not None else False,
            "clock_offset_ms": None
            if s is None or s.offset_s is None
            else round(s.offset_s * 1e3, 6),
            "clock_limit_ms": round(self.frame_period_s / 4 * 1e3, 6),
            "clock_detail": s.detail if s is not None else "",
        }


def _ms(offset_s: float | None) -> str:
    return "unknown" if offset_s is None else f"{offset_s * 1e3:+.3f} ms"


class ClockWatch:
    """Reads a clock's status every ``interval_s`` on its own daemon thread and feeds a
    :class:`ClockAlarm`, so the render loop never waits for a daemon's answer (a chronyc
    run takes milliseconds); :meth:`fields` gives the latest figures at once."""

    def __init__(
        self,
        clock: ClockSource,
        frame_period_s: float,
        *,
        interval_s: float = 1.0,
        logger: logging.Logger = log,
    ) -> None:
        self.clock = clock
        self.alarm = ClockAlarm(frame_period_s, logger=logger)
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._fields = self.alarm.status_fields()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reads = 0

    def start(self) -> ClockWatch:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clock-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def read_once(self) -> dict[str, Any]:
        """Read the clock now (on the caller's thread) and update the figures."""
        try:
            status = self.clock.status()
        except Exception as e:  # a clock source must not end the watch
            log.exception("clock status failed")
            status = ClockStatus("unknown", False, None, f"clock status failed: {e}")
        self.alarm.update(status)
        fields = self.alarm.status_fields()
        with self._lock:
            self._fields = fields
            self.reads += 1
        return fields

    def fields(self) -> dict[str, Any]:
        """The latest figures (:meth:`ClockAlarm.status_fields`), without waiting."""
        with self._lock:
            return dict(self._fields)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.read_once()
            self._stop.wait(self.interval_s)
