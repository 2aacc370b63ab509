"""The schedule runs shows on a real player, through the registry, with a fake wall clock."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapping.commands import Command, Result
from mapping.control.builtin import build_registry
from mapping.control.schedule import ScheduleState, attach, load_schedule, plan
from mapping.live import ShowLibrary
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.schedulekit import FakeWall, paris, shows_folder, write_schedule
from tests.test_cli import frames_drawn

REPO = Path(__file__).resolve().parents[1]

EVENING = """\
[[entries]]
show = "tiny"
start = "21:00"
cue = "1"
duration = "30m"

[[entries]]
show = "finale"
start = "21:30"
cue = "2"
duration = "20m"

[[entries]]
show = "tiny"
start = "22:30"
"""


@pytest.fixture
def shows(tmp_path: Path) -> Path:
    return shows_folder(tmp_path)


@pytest.fixture
def make_player(ctx, shows):
    players: list[ShowPlayer] = []

    def make(wall: FakeWall, schedule: bool = True) -> tuple[ShowPlayer, list[tuple[str, str]]]:
        registry = build_registry()
        show = load_show(shows / "tiny")
        player = ShowPlayer(
            show, HeadlessOutputs(ctx), registry=registry, library=ShowLibrary(shows)
        )
        players.append(player)
        log: list[tuple[str, str]] = []

        def record(command: Command, result: Result) -> None:
            assert result.ok, result.message
            log.append((command.name, command.source))

        player.processor.listeners.append(record)
        if schedule:
            runner = attach(player, load_schedule(write_schedule(shows, EVENING)), wall=wall)
            runner.interval_s = 0.0  # check at every frame (the wall clock is the test's)
        return player, log

    yield make
    for player in players:
        player.renderer.release()


def opacity(player: ShowPlayer, show_time_s: float) -> float:
    (layer,) = player.live.frame(show_time_s).layers
    return layer.opacity


def steps(player: ShowPlayer, *times: float) -> None:
    for t in times:
        player.step(t)


def test_shows_start_and_end_on_time_through_the_registry_even_when_locked(make_player):
    wall = FakeWall(paris(2026, 12, 4, 20, 59, 59))
    player, log = make_player(wall)
    player.live.locked = True  # the show lock refuses show.load from OSC, not from the schedule
    steps(player, 0.0, 0.1)
    assert log == [("panic", "schedule")]  # nothing scheduled yet: dark
    wall.set(21, 0, 0)
    steps(player, 1.0, 1.1, 1.2)
    assert log[1:] == [("show.load", "schedule"), ("cue.start", "schedule")]
    assert player.live.show.name == "tiny" and player.engine.current_cue().number == "1"
    assert opacity(player, 1.2 + 5.0) == pytest.approx(0.25)  # cue 1 fades 0 → 0.5 over 10 s

    wall.set(21, 30, 0)
    steps(player, 2.0, 2.1, 2.2)
    assert log[3:] == [("show.load", "schedule"), ("cue.start", "schedule")]
    assert player.live.show.name == "finale" and player.engine.current_cue().number == "2"

    wall.set(21, 50, 0)  # the finale's 20 minutes are over; the next show is at 22:30
    steps(player, 3.0, 3.1)
    assert log[5:] == [("panic", "schedule")]
    assert opacity(player, 3.1 + 5.0) == pytest.approx(0.0)  # faded to black over end_fade


def test_a_restart_mid_show_joins_it_where_it_would_be(make_player):
    wall = FakeWall(paris(2026, 12, 4, 21, 30, 30))  # the finale began 30 s ago
    player, log = make_player(wall)
    steps(player, 100.0, 100.1)  # the load at the first frame, the join at the next
    assert log == [("show.load", "schedule"), ("schedule.join", "schedule")]
    assert player.live.show.name == "finale" and player.engine.current_cue().number == "2"
    # cue 2 fades 0.5 → 1.0 over 60 s, after cue 1 (tracked): 30 s in, it is half way
    assert opacity(player, 100.1) == pytest.approx(0.75)
    assert opacity(player, 130.1) == pytest.approx(1.0)


def query(player: ShowPlayer, name: str, t: float) -> object:
    ticket = player.commands.submit(player.registry.make(name, mode="query", source="osc"))
    player.step(t)
    assert ticket.result is not None and ticket.result.ok, ticket.result
    return ticket.result.value


def submit(player: ShowPlayer, t: float, name: str, *values: object) -> Result:
    ticket = player.submit(name, *values, source="osc")
    player.step(t)
    assert ticket.result is not None
    return ticket.result


def test_hold_skip_and_start_now_from_an_operator(make_player, shows):
    wall = FakeWall(paris(2026, 12, 4, 20, 50))
    player, log = make_player(wall)
    player.step(0.0)
    assert query(player, "schedule.next", 0.1) == "tiny 21:00 (21:00)"

    assert submit(player, 0.2, "schedule.hold", 1).ok
    wall.set(21, 0, 30)
    steps(player, 1.0, 1.1)
    assert "show.load" not in [name for name, _ in log]  # held: 21:00 does not start
    assert query(player, "schedule.next", 1.2) == "tiny 21:00 (21:00) held"
    assert query(player, "schedule.hold", 1.3) == 1

    assert submit(player, 2.0, "schedule.skip").ok
    assert query(player, "schedule.next", 2.1) == "finale 21:30 (21:30) held"
    assert submit(player, 2.2, "undo").ok  # skip is an edit: undo brings the show back
    assert query(player, "schedule.next", 2.3).startswith("tiny 21:00")
    assert submit(player, 2.4, "schedule.skip").ok

    assert submit(player, 3.0, "schedule.start").ok  # the finale, now, though held
    steps(player, 3.1, 3.2)
    assert [entry for entry in log if entry[1] == "schedule"][-2:] == [
        ("show.load", "schedule"),
        ("cue.start", "schedule"),
    ]
    assert player.live.show.name == "finale" and player.engine.current_cue().number == "2"

    restarted = ScheduleState(player.live.schedule.schedule, wall=wall)  # from the state file
    tiny_at_nine, finale = plan(restarted.schedule, wall.now.date())[:2]
    assert restarted.overrides.skipped == {tiny_at_nine.slot}
    assert restarted.overrides.started_now == {finale.slot: paris(2026, 12, 4, 21, 0, 30)}
    assert restarted.overrides.held_since == paris(2026, 12, 4, 20, 50)
    assert restarted.now().current.planned.slot == finale.slot


def test_schedule_commands_without_a_schedule_answer_an_error(make_player):
    player, _ = make_player(FakeWall(paris(2026, 12, 4, 20, 0)), schedule=False)
    player.processor.listeners.clear()
    result = submit(player, 0.0, "schedule.skip")
    assert not result.ok and "no schedule is running" in result.message
    assert player.running


def test_an_edited_schedule_is_picked_up_and_a_broken_edit_keeps_the_last_good_one(
    make_player, shows, caplog
):
    wall = FakeWall(paris(2026, 12, 4, 20, 56))
    player, log = make_player(wall)
    player.step(0.0)
    file = player.live.schedule.schedule.file
    stamp = file.stat().st_mtime

    def edit(old: str, new: str, seconds_later: int) -> None:
        file.write_text(file.read_text().replace(old, new, 1))
        os.utime(file, (stamp + seconds_later, stamp + seconds_later))

    edit('start = "21:00"', 'start = "20:55"', 10)  # the first show moves earlier
    steps(player, 1.0, 1.1, 1.2)
    assert log[1:] == [("show.load", "schedule"), ("schedule.join", "schedule")]
    assert player.live.show.name == "tiny"

    with caplog.at_level(logging.ERROR):
        edit('start = "21:30"', 'start = "sunrise"', 20)
        steps(player, 2.0, 2.1)
    assert "still running the last good one" in caplog.text and "entries[1].start" in caplog.text
    assert player.live.schedule.now().next.entry.start.text == "21:30"
    assert player.running


def test_the_cli_runs_the_evening_headless(shows):
    file = write_schedule(shows, EVENING)
    args = ["schedule", str(file), "--run", "--headless", "--duration", "0.3"]
    result = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert f"running the schedule {file}" in result.stderr
    assert "Traceback" not in result.stderr
    assert frames_drawn(result.stderr) >= 1  # the evening's player drew its show


def test_a_show_that_fails_to_load_is_logged_once_and_the_player_goes_on(
    make_player, shows, caplog
):
    wall = FakeWall(paris(2026, 12, 4, 21, 29, 59))
    player, _ = make_player(wall)
    player.processor.listeners.clear()  # the failing load is the point here
    player.step(0.0)
    (shows / "finale" / "show.toml").write_text("name = 'half saved'\n")
    wall.set(21, 30, 0)
    with caplog.at_level(logging.ERROR):
        steps(player, 1.0, 1.1, 1.2, 1.3)
    failures = [r for r in caplog.records if "schedule: show.load" in r.getMessage()]
    assert len(failures) == 1 and "finale" in failures[0].getMessage()
    assert player.live.show.name == "tiny" and player.running


def test_releasing_a_hold_starts_the_held_show_from_its_start_cue(make_player):
    wall = FakeWall(paris(2026, 12, 4, 20, 50))
    player, log = make_player(wall)
    assert submit(player, 0.0, "schedule.hold", 1).ok
    wall.set(21, 7, 0)  # a speech ran late: the 21:00 show waits
    steps(player, 1.0, 1.1)
    assert [name for name, _ in log] == ["panic", "schedule.hold"]
    assert submit(player, 2.0, "schedule.hold", 0).ok
    steps(player, 2.1, 2.2)
    assert log[-2:] == [("show.load", "schedule"), ("cue.start", "schedule")]  # from the top
    assert opacity(player, 2.2) == pytest.approx(0.0)  # cue 1 fades in over 10 s from now
    now = player.live.schedule.now()
    assert now.current.start == paris(2026, 12, 4, 21, 7)
    assert now.current.until == paris(2026, 12, 4, 21, 30)  # the finale keeps its time
