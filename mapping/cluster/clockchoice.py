"""Which clock a node uses: ``--clock auto|ptp|chrony|system`` (or the show file's choice).

``auto`` takes PTP when a ptp4l answers on its management socket, else chrony when a
chronyd answers, else the system clock alone, and says which and why
(:class:`ClockChoice`). An explicit choice is taken as given even when its daemon does not
answer yet: its status then says so (and the quarter-frame alarm sounds).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

from mapping.cluster.chrony import ChronyClock
from mapping.cluster.clock import ClockSource, SystemClock
from mapping.cluster.ptp import DEFAULT_UDS, PtpClock

log = logging.getLogger(__name__)

CLOCK_CHOICES = ("auto", "ptp", "chrony", "system")


@dataclass(frozen=True)
class ClockChoice:
    """The clock taken, its name ("ptp", "chrony", "system") and why."""

    clock: ClockSource
    name: str
    reason: str


def resolve_choice(cli: str | None, show: str | None = None) -> str:
    """The command line's choice, else the show file's, else ``auto``. Raises ValueError
    for a name that is not one of :data:`CLOCK_CHOICES`."""
    for origin, value in (("--clock", cli), ("show file clock", show)):
        if value is not None:
            if value not in CLOCK_CHOICES:
                raise ValueError(
                    f"{origin}: expected one of {', '.join(CLOCK_CHOICES)}; got {value!r}"
                )
            return value
    return "auto"


def choose_clock(
    choice: str = "auto",
    *,
    ptp_socket: str = DEFAULT_UDS,
    chrony_socket: str | None = None,
    timeout_s: float = 1.0,
) -> ClockChoice:
    """The clock for ``choice`` (one of :data:`CLOCK_CHOICES`), logged with its reason."""
    if choice not in CLOCK_CHOICES:
        raise ValueError(f"clock: expected one of {', '.join(CLOCK_CHOICES)}; got {choice!r}")
    made: ClockChoice
    if choice == "ptp":
        made = ClockChoice(PtpClock(ptp_socket, timeout_s=timeout_s), "ptp", "asked for")
    elif choice == "chrony":
        made = ClockChoice(ChronyClock(chrony_socket, timeout_s=timeout_s), "chrony", "asked for")
    elif choice == "system":
        made = ClockChoice(SystemClock(), "system", "asked for")
    else:
        ptp = PtpClock(ptp_socket, timeout_s=timeout_s)
        ptp_status = ptp.status()
        if ptp.state is not None:
            made = ClockChoice(ptp, "ptp", f"auto: ptp4l answered at {ptp_socket}")
        else:
            ptp.close()
            chrony = ChronyClock(chrony_socket, timeout_s=timeout_s)
            chrony_status = chrony.status()
            if chrony.tracking is not None:
                where = chrony_socket or "its default socket"
                made = ClockChoice(chrony, "chrony", f"auto: chronyd answered at {where}")
            else:
                made = ClockChoice(
                    SystemClock(),
                    "system",
                    f"auto: no time daemon answered ({ptp_status.detail}; "
                    f"{chrony_status.detail}): the system clock alone, unsynchronised",
                )
    log.info("clock: %s (%s)", made.name, made.reason)
    return made


def add_clock_arguments(parser: argparse.ArgumentParser) -> None:
    """``--clock``, ``--ptp-socket``, ``--chrony-socket`` for a command that needs a clock."""
    parser.add_argument(
        "--clock",
        choices=CLOCK_CHOICES,
        default=None,
        help="where the shared time comes from (default: the show file's, else auto: "
        "PTP if ptp4l answers, else chrony, else the system clock)",
    )
    parser.add_argument(
        "--ptp-socket",
        default=DEFAULT_UDS,
        metavar="PATH",
        help=f"ptp4l's management socket (default {DEFAULT_UDS})",
    )
    parser.add_argument(
        "--chrony-socket",
        default=None,
        metavar="PATH",
        help="chronyd's command socket (default: chronyc's own default)",
    )
