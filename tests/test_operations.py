"""An unattended evening: the state journal resumes a crashed show in the same cue at the
right show time, the status file tells monitoring tools how it is going, logs go to one
file per evening, and the supervisor restarts a show that crashed or hung."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from mapping.control.osc_codec import encode_message
from mapping.live import LiveShow
from mapping.operations.journal import Journal, journal_of, read_journal, resume, write_journal
from mapping.operations.logfiles import EveningFileHandler, evening_of
from mapping.operations.monitor import OPENING_FILE, QUARANTINE_FILE, ShowMonitor
from mapping.operations.supervisor import Supervisor
from mapping.show import load_show
from tests.osc_kit import OSC_SHOW, ManualClock, ShowProcess, UdpClient, make_player, wait_until

# -- the journal (pure)


def test_a_journal_survives_a_round_trip_and_a_damaged_one_is_refused_with_its_file(
    tmp_path, caplog
):
    journal = Journal("/shows/demo", 1_000.5, (("main", "2", 41.25),), 0.5, True, 1_060.0)
    path = tmp_path / "journal.json"
    write_journal(path, journal)
    assert read_journal(path) == journal
    assert read_journal(tmp_path / "missing.json") is None
    for bad in ("{", '{"version": 1}', '{"version": 1, "show": "x", "origin_wall_s": NaN, '
                '"cues": []}', '{"version": 2}'):  # fmt: skip
        path.write_text(bad)
        with caplog.at_level(logging.WARNING):
            assert read_journal(path) is None
        assert str(path) in caplog.text
        caplog.clear()


def test_a_show_resumed_from_its_journal_continues_mid_fade_exactly_as_if_it_never_stopped():
    show = load_show(OSC_SHOW)
    original = LiveShow(show)
    original.engine.go(10.0)  # cue 1 at 10 s
    original.engine.go(20.0)  # cue 2 (2 s fade) at 20 s
    original.set_master(0.7, 20.0)
    journal = journal_of(original, OSC_SHOW, origin_wall_s=5_000.0, now_wall_s=5_020.5)
    assert journal.cues == (("main", "1", 10.0), ("main", "2", 20.0))

    restarted = LiveShow(load_show(OSC_SHOW))
    show_time = resume(restarted, journal, now_wall_s=5_021.0)  # the crash cost 0.5 s
    assert show_time == pytest.approx(21.0)
    assert restarted.engine.current_cue().number == "2"
    for t in (21.0, 21.5, 22.5, 30.0):  # the fade is half-way at 21 s, done at 22 s
        want = original.frame(t)
        got = restarted.frame(t)
        assert [(lf.layer.name, lf.opacity) for lf in got.layers] == [
            (lf.layer.name, lf.opacity) for lf in want.layers
        ]
        assert got.master == pytest.approx(want.master)


# -- the status file and the journal, written by a running player


def test_a_running_show_writes_its_journal_on_each_cue_and_its_status_every_second(ctx, tmp_path):
    clock = ManualClock()
    player = make_player(ctx, load_show(OSC_SHOW), clock=clock.show_clock())
    monitor = ShowMonitor(tmp_path, OSC_SHOW, wall=lambda: 1_000.0 + clock.t)
    player.frame_listeners.append(monitor)
    player.step(0.0)
    assert read_journal(monitor.journal_path).cues == ()
    player.submit("go", source="test")
    clock.t = 1.5
    player.step(1.5)
    journal = read_journal(monitor.journal_path)
    assert journal.cues == (("main", "1", 1.5),)  # no cue before it
    assert journal.origin_wall_s == pytest.approx(1_000.0)
    writes = monitor.journal_writes
    player.step(1.6)
    assert monitor.journal_writes == writes  # nothing changed: not written again
    status = json.loads(monitor.status_path.read_text())
    assert status["cue"] == "1 preshow" and status["next_cue"] == "2 clip"
    assert status["pid"] == os.getpid() and status["errors"] == {}
    assert status["show_time_s"] == pytest.approx(1.5) and status["frames"] >= 2
    assert status["state"] == "running"
    player.step(1.7)  # between two writes: the file still has the frame at 1.5 s
    monitor.finish(player)  # the run ended: the last frame and "stopped", at once
    status = json.loads(monitor.status_path.read_text())
    assert (status["state"], status["frames"]) == ("stopped", 4)
    assert status["show_time_s"] == pytest.approx(1.7)
    player.close()


def test_content_that_crashed_the_show_twice_is_shown_as_a_placeholder(ctx, show_dir, tmp_path):
    from mapping.operations.session import attach

    show = load_show(show_dir)
    image = next(layer.content for layer in show.layers if layer.kind == "image")
    (tmp_path / QUARANTINE_FILE).write_text(json.dumps({str(image): 2}))
    player = make_player(ctx, show)
    opened: list[Path | None] = []
    attach(player, tmp_path, resume_journal=False)
    hook = player.renderer.opening_hook
    player.renderer.opening_hook = lambda p: (opened.append(p), hook(p))
    for layer in show.layers:
        player.live.engine.set_opacity(layer.name, 1.0, 0.0)  # every layer drawn
    player.step(0.0)
    layer = next(layer.name for layer in show.layers if layer.content == image)
    assert "quarantined" in player.renderer.errors[layer]
    assert image not in opened  # never opened
    assert opened and opened[-1] is None  # other content was breadcrumbed, then cleared
    assert not (tmp_path / OPENING_FILE).exists()
    player.close()


# -- evening logs


def test_an_evening_runs_from_noon_to_noon_and_old_evenings_are_pruned(tmp_path):
    assert evening_of(dt.datetime(2026, 11, 26, 23, 59)) == dt.date(2026, 11, 26)
    assert evening_of(dt.datetime(2026, 11, 27, 2, 0)) == dt.date(2026, 11, 26)
    assert evening_of(dt.datetime(2026, 11, 27, 12, 0)) == dt.date(2026, 11, 27)
    now = [dt.datetime(2026, 11, 20, 20, 0)]
    handler = EveningFileHandler(tmp_path, keep=3, now=lambda: now[0])
    logger = logging.getLogger("test-evening")
    logger.addHandler(handler)
    try:
        for day in range(20, 26):
            now[0] = dt.datetime(2026, 11, day, 21, 0)
            logger.warning("show on the %d", day)
            now[0] = dt.datetime(2026, 11, day + 1, 1, 0)  # after midnight: same evening
            logger.warning("late on the %d", day)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["show-2026-11-23.log", "show-2026-11-24.log", "show-2026-11-25.log"]
    text = (tmp_path / "show-2026-11-25.log").read_text()
    assert "show on the 25" in text and "late on the 25" in text and "on the 24" not in text


# -- the supervisor, on stand-in children


CHILD = """
import json, os, sys, time
state, mode = sys.argv[1], sys.argv[2]
runs = os.path.join(state, "runs")
with open(runs, "a") as f:
    f.write(" ".join(sys.argv[3:]) + "\\n")
n = len(open(runs).read().splitlines())
def status():
    json.dump({"pid": os.getpid()}, open(os.path.join(state, "status.json"), "w"))
if mode == "crash-once" and n == 1:
    status(); os._exit(9)
if mode == "hang-once" and n == 1:
    status(); time.sleep(60)
if mode == "crash-opening" and n <= 3:
    open(os.path.join(state, "opening"), "w").write("/shows/bad.mp4"); os._exit(11)
if mode == "invalid":
    sys.exit(2)
status(); sys.exit(0)
"""


def _supervise(tmp_path: Path, mode: str) -> tuple[Supervisor, int, list[str]]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    sup = Supervisor(
        [sys.executable, str(script), str(tmp_path), mode],
        tmp_path,
        watchdog_s=1.0,
        startup_s=5.0,
        poll_s=0.05,
        backoff_s=(0.0,),
    )
    rc = sup.run()
    return sup, rc, (tmp_path / "runs").read_text().splitlines()


def test_the_supervisor_restarts_a_crashed_show_with_resume_and_ends_when_it_ends(tmp_path):
    sup, rc, runs = _supervise(tmp_path, "crash-once")
    assert rc == 0 and sup.restarts == 1
    assert runs == ["", "--resume"]


def test_the_supervisor_kills_and_restarts_a_show_that_stopped_drawing(tmp_path):
    started = time.monotonic()
    sup, rc, runs = _supervise(tmp_path, "hang-once")
    assert rc == 0 and sup.hangs == 1 and runs == ["", "--resume"]
    assert time.monotonic() - started < 10  # the watchdog (1 s), not the child's 60 s sleep


def test_the_supervisor_stops_on_an_invalid_show(tmp_path):
    sup, rc, runs = _supervise(tmp_path, "invalid")
    assert rc == 2 and sup.restarts == 0 and runs == [""]


def test_content_that_crashes_the_show_twice_is_quarantined(tmp_path, caplog):
    with caplog.at_level(logging.ERROR):
        sup, rc, runs = _supervise(tmp_path, "crash-opening")
    assert rc == 0 and sup.restarts == 3 and runs[1:] == ["--resume"] * 3
    assert json.loads((tmp_path / QUARANTINE_FILE).read_text()) == {"/shows/bad.mp4": 3}
    assert "/shows/bad.mp4 crashed the show 2 times: quarantined" in caplog.text


# -- the real thing


def test_kill_9_mid_show_and_the_supervised_show_comes_back_in_the_same_cue(tmp_path):
    state = tmp_path / "state"
    with ShowProcess(
        str(OSC_SHOW), "--headless", "--supervise", "--state-dir", str(state),
        "--osc-port", "0", "--fps", "20", "--duration", "120",
    ) as show:  # fmt: skip
        status_file = state / "status.json"

        def status() -> dict:
            try:
                return json.loads(status_file.read_text())
            except (OSError, ValueError):
                return {}

        client = UdpClient(show.port)
        try:
            client.send(encode_message("/go"))  # it starts in cue 1
            wait_until(lambda: status().get("cue") == "2 clip", timeout_s=15)
        finally:
            client.close()
        before = status()
        os.kill(before["pid"], signal.SIGKILL)
        after = wait_until(
            lambda: (s := status()).get("pid") not in (None, before["pid"]) and s, timeout_s=20
        )
        assert after["cue"] == "2 clip" and after["resumed"] is True
        assert after["show_time_s"] >= before["show_time_s"]  # show time went on
        show.proc.send_signal(signal.SIGTERM)
        assert show.proc.wait(timeout=15) == 0
    logs = list((state / "logs").glob("show-*.log"))
    assert logs and "resumed after a crash: cue 2 clip" in logs[0].read_text()
