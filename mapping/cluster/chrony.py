"""The shared time as chrony keeps it: chronyd's own tracking report, read, never acted on.

chronyd disciplines the system clock (NTP from the venue's server, or a GPS receiver through
``refclock SHM``/``PPS``: the same interface); :class:`ChronyClock` reads the system clock
and asks chronyd how good it is with ``chronyc -c -n tracking`` (its command socket, or
``-h PATH`` for a chronyd with its own ``bindcmdaddress``), at most once per
``min_interval_s``. :func:`parse_tracking_csv` is the pure parser of that line and
:func:`tracking_status` the verdict. Nothing here sets the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mapping.cluster.clock import ClockStatus
from mapping.cluster.daemonquery import DaemonOutputError, DaemonQuery

TRACKING_FIELDS = (
    "reference id",
    "reference name",
    "stratum",
    "reference time",
    "system time",
    "last offset",
    "rms offset",
    "frequency",
    "residual frequency",
    "skew",
    "root delay",
    "root dispersion",
    "update interval",
    "leap status",
)
"""The columns of ``chronyc -c tracking``, in order (chrony 3.x and 4.x)."""

LOCAL_REFERENCE_ID = "7F7F0101"
"""chronyd's reference id when it serves its own clock (``local stratum N``): 'LOCL'."""

LEAP_STATUSES = ("Normal", "Insert second", "Delete second", "Not synchronised")


@dataclass(frozen=True)
class ChronyTracking:
    """One ``tracking`` report. Offsets in seconds; ``system_time_s`` keeps chrony's sign
    (positive = the system clock is slow of NTP time)."""

    reference_id: str
    reference_name: str
    stratum: int
    reference_time: float
    system_time_s: float
    last_offset_s: float
    rms_offset_s: float
    frequency_ppm: float
    residual_frequency_ppm: float
    skew_ppm: float
    root_delay_s: float
    root_dispersion_s: float
    update_interval_s: float
    leap_status: str

    @property
    def local_reference(self) -> bool:
        """chronyd serves its own clock: this machine is the venue's reference."""
        return self.reference_id.upper() == LOCAL_REFERENCE_ID

    @property
    def synced(self) -> bool:
        return self.leap_status != "Not synchronised" and 1 <= self.stratum <= 15

    @property
    def offset_s(self) -> float:
        """This clock minus the reference (positive = ahead), the project's sign."""
        return -self.system_time_s

    @property
    def error_bound_s(self) -> float:
        """chrony's bound on the clock's error: |offset| + root dispersion + root delay / 2."""
        return abs(self.system_time_s) + self.root_dispersion_s + self.root_delay_s / 2


def parse_tracking_csv(text: str) -> ChronyTracking:
    """Parse the output of ``chronyc -c tracking``. Raises :class:`DaemonOutputError`."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise DaemonOutputError(
            f"chronyc -c tracking: expected one line of {len(TRACKING_FIELDS)} comma-separated "
            f"fields, got {len(lines)} lines"
        )
    cells = lines[0].strip().split(",")
    if len(cells) != len(TRACKING_FIELDS):
        raise DaemonOutputError(
            f"chronyc -c tracking: expected {len(TRACKING_FIELDS)} fields, got {len(cells)}: "
            f"{lines[0][:120]!r}"
        )

    def num(i: int) -> float:
        try:
            return float(cells[i])
        except ValueError:
            raise DaemonOutputError(
                f"chronyc -c tracking: {TRACKING_FIELDS[i]} should be a number, got {cells[i]!r}"
            ) from None

    ref_id = cells[0]
    if len(ref_id) != 8 or any(c not in "0123456789abcdefABCDEF" for c in ref_id):
        raise DaemonOutputError(
            f"chronyc -c tracking: reference id should be 8 hex digits, got {ref_id!r}"
        )
    stratum = num(2)
    if stratum != int(stratum):
        raise DaemonOutputError(f"chronyc -c tracking: stratum should be whole, got {cells[2]!r}")
    leap = cells[13]
    if leap not in LEAP_STATUSES:
        raise DaemonOutputError(
            f"chronyc -c tracking: leap status should be one of {', '.join(LEAP_STATUSES)}; "
            f"got {leap!r}"
        )
    return ChronyTracking(
        ref_id.upper(),
        cells[1],
        int(stratum),
        *(num(i) for i in range(3, 13)),
        leap,
    )


def tracking_status(t: ChronyTracking) -> ClockStatus:
    """The project's view of a tracking report."""
    if t.local_reference:
        return ClockStatus(
            "chrony",
            synced=t.synced,
            offset_s=0.0,
            detail=f"chrony: this machine is the reference (local stratum {t.stratum})",
        )
    if not t.synced:
        return ClockStatus("chrony", False, None, f"chrony: not synchronised ({t.leap_status})")
    ref = t.reference_name or t.reference_id
    return ClockStatus(
        "chrony",
        synced=True,
        offset_s=t.offset_s,
        detail=(
            f"chrony: {ref} stratum {t.stratum}, error bound {t.error_bound_s * 1e3:.3f} ms "
            f"(root delay {t.root_delay_s * 1e3:.3f} ms, dispersion "
            f"{t.root_dispersion_s * 1e3:.3f} ms), leap {t.leap_status}"
        ),
    )


class ChronyClock:
    """The system clock as chronyd disciplines it, and chronyd's verdict on it.

    ``socket``: chronyd's command socket (``bindcmdaddress /path``); None = chronyc's
    default (``/run/chrony/chronyd.sock`` as root, else UDP to localhost:323).
    """

    def __init__(
        self,
        socket: str | None = None,
        *,
        chronyc: str = "chronyc",
        min_interval_s: float = 1.0,
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        argv = [chronyc, "-c", "-n"]
        if socket is not None:
            argv += ["-h", socket]
        self.query = DaemonQuery(
            [*argv, "tracking"], min_interval_s=min_interval_s, timeout_s=timeout_s, clock=clock
        )
        self.tracking: ChronyTracking | None = None
        """The last report parsed (None before the first or when chronyd did not answer)."""

    def now(self) -> float:
        return time.time()

    def answers(self) -> bool:
        """chronyd answered the last query (runs one if none is recent)."""
        self.status()
        return self.tracking is not None

    def status(self) -> ClockStatus:
        result = self.query.result()
        if not result.ok:
            self.tracking = None
            return ClockStatus("chrony", False, None, f"chronyd not answering: {result.error}")
        try:
            self.tracking = parse_tracking_csv(result.stdout)
        except DaemonOutputError as e:
            self.tracking = None
            return ClockStatus("chrony", False, None, str(e))
        return tracking_status(self.tracking)
