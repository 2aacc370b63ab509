"""The daemons' outputs parsed (captured from the real chronyc and pmc: tests/data/clock),
the quarter-frame verdict, and the rate-limited query (no daemon needed)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from mapping.cluster.chrony import ChronyClock, parse_tracking_csv, tracking_status
from mapping.cluster.clock import ClockStatus, OffsetClock, SystemClock
from mapping.cluster.clockalarm import ClockAlarm, ClockWatch, judge_clock
from mapping.cluster.clockchoice import resolve_choice
from mapping.cluster.daemonquery import DaemonOutputError, DaemonQuery
from mapping.cluster.ptp import parse_pmc, ptp_state, ptp_status

DATA = Path(__file__).parent / "data" / "clock"


def read(name: str) -> str:
    return (DATA / name).read_text()


# --- chrony --------------------------------------------------------------------------------


def test_chrony_synced_csv_matches_the_text_report() -> None:
    """The CSV's signed figure against chronyc's own words ("N seconds fast of NTP time")."""
    t = parse_tracking_csv(read("chrony_tracking_synced.csv"))
    text = read("chrony_tracking_synced.txt")
    seconds, way = re.search(r"System time\s*:\s*([\d.]+) seconds (fast|slow)", text).groups()
    ahead = float(seconds) if way == "fast" else -float(seconds)
    status = tracking_status(t)
    assert status.synced and status.source == "chrony"
    assert status.offset_s == pytest.approx(ahead, abs=1e-12)
    assert status.offset_s == pytest.approx(2.789e-6, abs=1e-12)  # "fast": ahead, positive
    assert t.reference_name == "10.231.77.1" and t.stratum == 9
    assert t.root_delay_s == pytest.approx(9.202e-6) and t.leap_status == "Normal"
    assert t.error_bound_s == pytest.approx(2.789e-6 + 0.519e-6 + 9.202e-6 / 2)
    assert "10.231.77.1 stratum 9" in status.detail


def test_chrony_local_reference_is_synced_at_zero() -> None:
    t = parse_tracking_csv(read("chrony_tracking_local.csv"))
    assert t.local_reference and t.stratum == 8
    assert tracking_status(t) == ClockStatus(
        "chrony", True, 0.0, "chrony: this machine is the reference (local stratum 8)"
    )


def test_chrony_unsynced() -> None:
    status = tracking_status(parse_tracking_csv(read("chrony_tracking_unsynced.csv")))
    assert not status.synced and status.offset_s is None
    assert "Not synchronised" in status.detail


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "one line"),
        ("a,b\nc,d\n", "one line"),
        ("0AE74D01,x,9,1.0", "14 fields"),
        ("0AE74D0,x,9,1,0,0,0,0,0,0,0,0,0,Normal", "8 hex digits"),
        ("0AE74D01,x,nine,1,0,0,0,0,0,0,0,0,0,Normal", "stratum should be a number"),
        ("0AE74D01,x,9.5,1,0,0,0,0,0,0,0,0,0,Normal", "stratum should be whole"),
        ("0AE74D01,x,9,1,fast,0,0,0,0,0,0,0,0,Normal", "system time should be a number"),
        ("0AE74D01,x,9,1,0,0,0,0,0,0,0,0,0,Sideways", "leap status should be one of"),
    ],
)
def test_chrony_bad_output_is_named(text: str, words: str) -> None:
    with pytest.raises(DaemonOutputError, match=words):
        parse_tracking_csv(text)


def test_chrony_clock_with_a_client_that_prints_nonsense(tmp_path: Path) -> None:
    fake = tmp_path / "chronyc"
    fake.write_text("#!/bin/sh\necho 'hello'\n")
    fake.chmod(0o755)
    status = ChronyClock(chronyc=str(fake)).status()
    assert not status.synced and "14 fields" in status.detail


def test_chrony_clock_without_chronyc() -> None:
    status = ChronyClock(chronyc="/nonexistent/chronyc").status()
    assert not status.synced and "not installed" in status.detail


# --- ptp -----------------------------------------------------------------------------------


def test_pmc_slave_uncalibrated() -> None:
    responses = parse_pmc(read("ptp_slave_uncalibrated.txt"))
    assert [r.management_id for r in responses] == ["TIME_STATUS_NP", "PORT_DATA_SET"]
    state = ptp_state(responses)
    assert state.master_offset_ns == -157 and state.gm_present
    assert state.gm_identity == "16cea4.fffe.f39928"
    assert state.clock_identity == "92e96c.fffe.db9ff4"
    assert state.ports == (("92e96c.fffe.db9ff4-1", "UNCALIBRATED"),)
    status = ptp_status(state)
    assert not status.synced and status.offset_s == pytest.approx(-157e-9)
    assert "UNCALIBRATED" in status.detail


def test_pmc_slave_locked() -> None:
    """The same answer with the port locked (SLAVE: the state a disciplining ptp4l reaches;
    the captured slave runs free and never gets there)."""
    text = read("ptp_slave_uncalibrated.txt").replace("UNCALIBRATED", "SLAVE")
    status = ptp_status(ptp_state(parse_pmc(text)))
    assert status.synced and status.offset_s == pytest.approx(-157e-9)
    assert "16cea4.fffe.f39928" in status.detail


def test_pmc_grand_master() -> None:
    state = ptp_state(parse_pmc(read("ptp_master.txt")))
    assert not state.gm_present and state.grand_master_here
    status = ptp_status(state)
    assert status.synced and status.offset_s == 0.0 and "grand master" in status.detail


def test_pmc_master_gone() -> None:
    """gmPresent stays true after the master left; the port is LISTENING: not synced."""
    state = ptp_state(parse_pmc(read("ptp_slave_no_master.txt")))
    assert state.gm_present and state.port_states == {"LISTENING"}
    status = ptp_status(state)
    assert not status.synced and status.offset_s is None and "LISTENING" in status.detail


def test_pmc_no_answer_and_bad_answers() -> None:
    assert parse_pmc("sending: GET TIME_STATUS_NP\n") == []
    with pytest.raises(DaemonOutputError, match="no TIME_STATUS_NP"):
        ptp_state([])
    with pytest.raises(DaemonOutputError, match="before any answer"):
        parse_pmc("\t\tmaster_offset 5\n")
    text = read("ptp_slave_uncalibrated.txt")
    with pytest.raises(DaemonOutputError, match="whole nanoseconds"):
        ptp_state(parse_pmc(re.sub(r"master_offset\s+-157", "master_offset x", text)))
    with pytest.raises(DaemonOutputError, match="without gmPresent"):
        ptp_state(parse_pmc(re.sub(r".*gmPresent.*\n", "", text)))


# --- the quarter-frame verdict --------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_s", "ok"),
    [(0.0, True), (0.004, True), (-0.004, True), (0.0042, False), (-0.0042, False)],
)
def test_quarter_frame_at_60_fps(offset_s: float, ok: bool) -> None:
    """60 fps: a quarter frame is 1/240 s = 4.1667 ms."""
    verdict = judge_clock(ClockStatus("ptp", True, offset_s), 1 / 60)
    assert verdict.ok is ok and verdict.limit_s == pytest.approx(1 / 240)
    if not ok:
        assert verdict.kind == "offset" and "4.167 ms at 60 fps" in verdict.reason


def test_unsynced_and_unknown_offsets_alarm() -> None:
    assert judge_clock(SystemClock().status(), 1 / 25).kind == "unsynced"
    assert judge_clock(ClockStatus("chrony", True, None, "?"), 1 / 25).kind == "unknown"
    with pytest.raises(ValueError, match="frame period"):
        judge_clock(ClockStatus("ptp", True, 0.0), 0.0)


def test_alarm_logs_once_per_change_and_rate_limits_flapping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    logger = logging.getLogger("test.alarm")
    alarm = ClockAlarm(1 / 50, logger=logger, interval_s=10.0, clock=lambda: now[0])
    good = OffsetClock(_Fixed(ClockStatus("ptp", True, 0.0, "gm")), 0.0)
    with caplog.at_level(logging.INFO, logger="test.alarm"):
        assert alarm.status_fields()["clock_alarm"] is False
        for step in range(40):  # flapping every 0.5 s across the 5 ms limit for 20 s
            now[0] = step * 0.5
            good.offset_s = 0.006 if step % 2 else 0.0
            alarm.update(good.status())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert alarm.changes == 39
    assert len(warnings) == 2  # at 0.5 s and 10.5 s (one per 10 s), the second counting
    assert "9 more like this" in warnings[1]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 2 and "back within a quarter frame" in infos[0]  # at 1 s and 11 s
    fields = alarm.status_fields()
    assert fields["clock_alarm"] is True and fields["clock_offset_ms"] == pytest.approx(6.0)
    assert fields["clock_limit_ms"] == pytest.approx(5.0)


class _Fixed:
    def __init__(self, status: ClockStatus) -> None:
        self._status = status

    def now(self) -> float:
        return 0.0

    def status(self) -> ClockStatus:
        return self._status


class _Broken:
    def now(self) -> float:
        return 0.0

    def status(self) -> ClockStatus:
        raise RuntimeError("daemon client exploded")


def test_clock_watch_survives_a_failing_source() -> None:
    watch = ClockWatch(_Broken(), 1 / 25)
    assert watch.fields()["clock_reason"] == "not judged yet"
    fields = watch.read_once()
    assert fields["clock_alarm"] and "daemon client exploded" in fields["clock_reason"]
    assert watch.fields() == fields


def test_resolve_choice() -> None:
    assert resolve_choice(None, None) == "auto"
    assert resolve_choice(None, "chrony") == "chrony"
    assert resolve_choice("ptp", "chrony") == "ptp"
    with pytest.raises(ValueError, match="show file clock: expected one of auto"):
        resolve_choice(None, "gps")


# --- the query ------------------------------------------------------------------------------


def test_query_caches_for_its_interval_and_reports_failures() -> None:
    now = [0.0]
    q = DaemonQuery([sys.executable, "-c", "print('hi')"], min_interval_s=1.0, clock=lambda: now[0])
    assert q.result().stdout == "hi\n"
    now[0] = 0.9
    q.result()
    assert q.runs == 1
    now[0] = 1.0
    assert q.result().ok and q.runs == 2
    slow = DaemonQuery([sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.2)
    result = slow.result()
    assert not result.ok and "did not answer in 0.2 s" in result.error
    assert result.duration_s < 2.0
    failing = DaemonQuery([sys.executable, "-c", "import sys; sys.exit('no daemon')"])
    result = failing.result()
    assert not result.ok and result.error.endswith("no daemon")


# --- ptp4l's management socket, spoken directly -------------------------------------------


def test_get_request_layout() -> None:
    from mapping.cluster.ptpuds import TIME_STATUS_NP, get_request

    msg = get_request(TIME_STATUS_NP, 0x1234, bytes(range(10)), domain=3)
    assert len(msg) == 54  # 34 header + 10 target + 4 hops/action + 6 TLV
    assert msg[0] == 0x0D and msg[1] == 2  # management, PTP version 2
    assert msg[2:4] == b"\x00\x36" and msg[4] == 3  # length 54, domain 3
    assert msg[20:30] == bytes(range(10)) and msg[30:32] == b"\x12\x34"
    assert msg[32] == 4 and msg[33] == 0x7F  # control: management; interval 0x7f
    assert msg[34:44] == b"\xff" * 10 and msg[44:48] == b"\x00\x00\x00\x00"  # GET, 0 hops
    assert msg[48:54] == bytes.fromhex("0001 0002 c000")  # MANAGEMENT TLV, length 2, id


def test_parse_time_status_and_port_data_set() -> None:
    """Answers assembled byte by byte from IEEE 1588 and linuxptp's tlv.h / ds.h layouts,
    with the values of the captured ptp_slave_uncalibrated.txt."""
    from mapping.cluster.ptpuds import parse_management

    source = bytes.fromhex("92e96cfffedb9ff4 0000")
    header = (
        bytes.fromhex("0d 02 0068 00 00 0000 0000000000000000 00000000")
        + source
        + bytes.fromhex("0000 04 7f")
    )
    mgmt = bytes.fromhex("ffffffffffffffffffff 00 00 02 00")  # RESPONSE
    time_status = (
        bytes.fromhex("0001 0034 c000")  # MANAGEMENT TLV, length 2 + 50, TIME_STATUS_NP
        + (-157).to_bytes(8, "big", signed=True)
        + (1795693176085656832).to_bytes(8, "big")
        + bytes(4 + 4 + 2 + 12)
        + (1).to_bytes(4, "big")
        + bytes.fromhex("16cea4fffef39928")
    )
    r = parse_management(header + mgmt + time_status)
    assert r is not None and r.action == "RESPONSE" and r.management_id == "TIME_STATUS_NP"
    assert r.source == "92e96c.fffe.db9ff4-0"
    assert r.fields == {
        "master_offset": "-157",
        "ingress_time": "1795693176085656832",
        "gmPresent": "true",
        "gmIdentity": "16cea4.fffe.f39928",
    }
    port_ds = (
        bytes.fromhex("0001 001c 2004")  # length 2 + 26, PORT_DATA_SET
        + bytes.fromhex("92e96cfffedb9ff4 0001")
        + bytes([8, 0])  # UNCALIBRATED, logMinDelayReqInterval
        + bytes(8)
        + bytes([0xFE, 3, 0xFD, 1, 0, 2])
    )
    r2 = parse_management(header + mgmt + port_ds)
    assert r2 is not None
    assert r2.fields == {"portIdentity": "92e96c.fffe.db9ff4-1", "portState": "UNCALIBRATED"}
    status = ptp_status(ptp_state([r, r2]))
    assert not status.synced and status.offset_s == pytest.approx(-157e-9)
    with pytest.raises(DaemonOutputError, match="too short"):
        parse_management(header + mgmt + time_status[:20])
    error = bytes.fromhex("0002 0008 0002 c000 00000000")  # error status: NO_SUCH_ID
    r3 = parse_management(header + mgmt + error)
    assert r3 is not None and r3.error and r3.management_id == "TIME_STATUS_NP"
