"""The shared time as PTP keeps it: ptp4l's own management answers, read, never acted on.

On a PTP show network ptp4l locks the network card's clock (PHC) to the grand master and
phc2sys locks the system clock to the PHC (with software timestamping, ``ptp4l -S``, ptp4l
disciplines the system clock itself). Either way the shared time a node uses is its
**system clock**; :class:`PtpClock` reads it and asks ptp4l, through its local management
socket (``uds_address``, or the read-only ``uds_ro_address``), how it stands:
``pmc -u -b 0 'GET TIME_STATUS_NP' 'GET PORT_DATA_SET'`` gives ``master_offset`` (ns),
``gmPresent``, the grand master and each port's state. ``master_offset`` is the PHC's
offset; phc2sys's own residual (typically well under a microsecond) comes on top.

:func:`parse_pmc` is the pure parser of pmc's text, :func:`ptp_status` the verdict. Nothing
here sets a clock.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mapping.cluster.clock import ClockStatus
from mapping.cluster.daemonquery import Cached, DaemonOutputError, DaemonQuery

DEFAULT_UDS = "/var/run/ptp4l"
"""ptp4l's default management socket (``uds_address``)."""

_HEADER = re.compile(r"^\s*(\S+)\s+seq\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
_FIELD = re.compile(r"^\s+(\S+)\s+(.*?)\s*$")

SYNCED_STATES = frozenset({"SLAVE"})
GRAND_MASTER_STATES = frozenset({"MASTER", "GRAND_MASTER", "PASSIVE"})


@dataclass(frozen=True)
class PmcResponse:
    """One answer of ptp4l as pmc prints it: the sender's port, the management id, the
    fields (name → text), or the error it answered with."""

    source: str
    action: str
    management_id: str
    fields: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def parse_pmc(text: str) -> list[PmcResponse]:
    """Parse pmc's printed answers (``sending:`` lines and unknown lines are skipped).
    Raises :class:`DaemonOutputError` for a field line before any answer's header."""
    responses: list[PmcResponse] = []
    current: PmcResponse | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("sending:"):
            continue
        header = _HEADER.match(line)
        if header and header.group(3) in ("RESPONSE", "ACKNOWLEDGE"):
            source, _, action, kind, mid = header.groups()
            error = None if kind == "MANAGEMENT" else kind
            current = PmcResponse(source, action, mid, {}, error)
            responses.append(current)
            continue
        found = _FIELD.match(line)
        if found is None:
            continue
        if current is None:
            raise DaemonOutputError(f"pmc output line {number}: a field before any answer")
        current.fields[found.group(1)] = found.group(2)
    return responses


@dataclass(frozen=True)
class PtpState:
    """What ptp4l said: its own clock, the grand master, the offset and its ports."""

    clock_identity: str
    master_offset_ns: int
    gm_present: bool
    gm_identity: str
    ports: tuple[tuple[str, str], ...]
    """(port identity, port state) per port answering PORT_DATA_SET."""

    @property
    def port_states(self) -> frozenset[str]:
        return frozenset(state for _, state in self.ports)

    @property
    def grand_master_here(self) -> bool:
        """This machine's clock is the grand master (its ports MASTER, or some passive)."""
        states = self.port_states
        return (
            self.gm_identity == self.clock_identity
            and states <= GRAND_MASTER_STATES
            and bool(states - {"PASSIVE"})
        )


def ptp_state(responses: list[PmcResponse]) -> PtpState:
    """The state in pmc's answers. Raises :class:`DaemonOutputError` when TIME_STATUS_NP is
    missing or malformed."""
    status = next(
        (r for r in responses if r.management_id == "TIME_STATUS_NP" and r.error is None), None
    )
    if status is None:
        raise DaemonOutputError("pmc: ptp4l gave no TIME_STATUS_NP answer")
    f = status.fields
    try:
        offset = int(f["master_offset"])
        present = f["gmPresent"]
        gm = f["gmIdentity"]
    except KeyError as e:
        raise DaemonOutputError(f"pmc: TIME_STATUS_NP without {e.args[0]}") from None
    except ValueError:
        raise DaemonOutputError(
            f"pmc: master_offset should be whole nanoseconds, got {f['master_offset']!r}"
        ) from None
    if present not in ("true", "false"):
        raise DaemonOutputError(f"pmc: gmPresent should be true or false, got {present!r}")
    ports = tuple(
        (r.fields.get("portIdentity", r.source), r.fields.get("portState", "?"))
        for r in responses
        if r.management_id == "PORT_DATA_SET" and r.error is None
    )
    return PtpState(status.source.rsplit("-", 1)[0], offset, present == "true", gm, ports)


def ptp_status(state: PtpState) -> ClockStatus:
    """The project's view of ptp4l's state: synced when a port is SLAVE of a present grand
    master (offset = master_offset), or when this machine is the grand master (offset 0)."""
    states = state.port_states
    names = ", ".join(sorted(states)) or "unknown"
    if state.gm_present and states & SYNCED_STATES:
        return ClockStatus(
            "ptp",
            True,
            state.master_offset_ns * 1e-9,
            f"ptp: slave of grand master {state.gm_identity}, port {names}",
        )
    if state.grand_master_here:
        return ClockStatus("ptp", True, 0.0, f"ptp: this machine is the grand master, port {names}")
    if state.gm_present and "UNCALIBRATED" in states:
        return ClockStatus(
            "ptp",
            False,
            state.master_offset_ns * 1e-9,
            f"ptp: locking to grand master {state.gm_identity} (port UNCALIBRATED)",
        )
    if state.gm_present and not states:
        return ClockStatus(
            "ptp",
            False,
            state.master_offset_ns * 1e-9,
            f"ptp: grand master {state.gm_identity} present, port state unknown",
        )
    return ClockStatus("ptp", False, None, f"ptp: no grand master (port {names})")


class PtpClock:
    """The system clock as PTP (ptp4l + phc2sys) disciplines it, and ptp4l's verdict on it.

    ``uds``: ptp4l's management socket (``uds_address``; linuxptp 4 also offers a read-only
    ``uds_ro_address`` for a node running as an ordinary user). ``method``: ``"uds"`` speaks
    the management protocol on the socket directly (:mod:`mapping.cluster.ptpuds`, about a
    millisecond), ``"pmc"`` runs linuxptp's pmc and parses its text (about 0.1 s: pmc
    waits for late answers). Either way ptp4l is asked at most once per ``min_interval_s``.
    The answer socket lives in a private temporary folder.
    """

    def __init__(
        self,
        uds: str = DEFAULT_UDS,
        *,
        method: str = "uds",
        pmc: str = "pmc",
        domain: int = 0,
        min_interval_s: float = 1.0,
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if method not in ("uds", "pmc"):
            raise ValueError(f"PtpClock method: expected uds or pmc, got {method!r}")
        self.uds = uds
        self.method = method
        self.domain = domain
        self.timeout_s = timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="mapping-ptp-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        own = self._dir / "pmc.sock"

        def argv() -> list[str]:
            own.unlink(missing_ok=True)  # left behind by a pmc killed at the time limit
            return [
                pmc, "-u", "-b", "0", "-d", str(domain), "-s", uds, "-i", str(own),
                "GET TIME_STATUS_NP", "GET PORT_DATA_SET",
            ]  # fmt: skip

        self.query = DaemonQuery(argv, min_interval_s=0.0, timeout_s=timeout_s)
        fetch = self._fetch_pmc if method == "pmc" else self._fetch_uds
        self.cached = Cached(fetch, min_interval_s=min_interval_s, clock=clock)
        self.state: PtpState | None = None
        """The last state read (None before the first or when ptp4l did not answer)."""

    def now(self) -> float:
        return time.time()

    def answers(self) -> bool:
        """ptp4l answered the last query (runs one if none is recent)."""
        self.status()
        return self.state is not None

    def status(self) -> ClockStatus:
        self.state, status = self.cached.get()
        return status

    def _verdict(self, responses: list[PmcResponse]) -> tuple[PtpState | None, ClockStatus]:
        if not responses:
            return None, ClockStatus("ptp", False, None, f"ptp4l not answering at {self.uds}")
        try:
            state = ptp_state(responses)
        except DaemonOutputError as e:
            return None, ClockStatus("ptp", False, None, str(e))
        return state, ptp_status(state)

    def _fetch_pmc(self) -> tuple[PtpState | None, ClockStatus]:
        result = self.query.result()
        if not result.ok:
            return None, ClockStatus("ptp", False, None, f"ptp4l not answering: {result.error}")
        try:
            responses = parse_pmc(result.stdout)
        except DaemonOutputError as e:
            return None, ClockStatus("ptp", False, None, str(e))
        return self._verdict(responses)

    def _fetch_uds(self) -> tuple[PtpState | None, ClockStatus]:
        from mapping.cluster.ptpuds import query_uds

        try:
            responses = query_uds(self.uds, self._dir, domain=self.domain, timeout_s=self.timeout_s)
        except OSError as e:
            why = e.strerror or str(e)
            return None, ClockStatus(
                "ptp", False, None, f"ptp4l not answering at {self.uds}: {why}"
            )
        except DaemonOutputError as e:
            return None, ClockStatus("ptp", False, None, str(e))
        return self._verdict(responses)

    def close(self) -> None:
        """Remove the private folder of the answer sockets."""
        self._finalizer()
