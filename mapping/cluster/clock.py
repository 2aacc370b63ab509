"""Where a render machine's shared time comes from, and how well it is synchronised (pure).

Every machine of a cluster computes its frames from the same show time, so each needs
the venue's shared time: :class:`ClockSource` gives it (``now()``, seconds since the Unix
epoch on the shared timescale) and says how good it is (``status()``). The engines that
discipline the clock are the ones venues already run (PTP through linuxptp, NTP through
chrony); a source reads their own status interface and never sets the clock itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ClockStatus:
    """How a machine's clock stands against the venue's reference.

    ``offset_s`` is the estimated offset of this machine's clock from the reference (the
    daemon's own figure; positive = this clock is ahead), ``None`` when unknown.
    ``synced`` is the daemon's verdict (locked to a reference). ``detail`` is a short
    human line (the reference's name, stratum, the port state …).
    """

    source: str
    synced: bool
    offset_s: float | None = None
    detail: str = ""


class ClockSource(Protocol):
    """The shared time of one machine and its synchronisation state."""

    def now(self) -> float:
        """Seconds since the Unix epoch on the shared timescale."""
        ...

    def status(self) -> ClockStatus:
        """The current synchronisation state (may query a daemon: not every frame)."""
        ...


class SystemClock:
    """The machine's own realtime clock, as disciplined by whatever runs on it."""

    def now(self) -> float:
        return time.time()

    def status(self) -> ClockStatus:
        return ClockStatus("system", synced=False, offset_s=None, detail="no daemon queried")


class OffsetClock:
    """Another clock shifted by ``offset_s`` (tests inject clock errors through it)."""

    def __init__(self, base: ClockSource, offset_s: float) -> None:
        self.base = base
        self.offset_s = offset_s

    def now(self) -> float:
        return self.base.now() + self.offset_s

    def status(self) -> ClockStatus:
        s = self.base.status()
        off = None if s.offset_s is None else s.offset_s + self.offset_s
        return ClockStatus(s.source, s.synced, off, f"{s.detail} (+{self.offset_s:.6f} s injected)")
