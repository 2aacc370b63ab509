"""The evening schedule (pure): file format, the sun, days, planning, resume, overrides, CLI.

Sun times are checked against values published for a place and date (not recomputed with
the astronomy library), to a minute: published times are rounded to the minute.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mapping.control.schedule import (
    Overrides,
    ScheduleState,
    load_overrides,
    load_schedule,
    parse_rule,
    plan,
    state_at,
)
from mapping.errors import ValidationError
from tests.schedulekit import PARIS, FakeWall, paris, shows_folder, write_schedule
from tests.test_show_fuzz import REPLACEMENTS, _mutate

REPO = Path(__file__).resolve().parents[1]
FRIDAY = dt.date(2026, 12, 4)  # a Friday
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def shows(tmp_path: Path) -> Path:
    return shows_folder(tmp_path)


def venue(name: str, lat: float, lon: float, zone: str) -> str:
    return f'[venue]\nname = "{name}"\nlatitude = {lat}\nlongitude = {lon}\ntimezone = "{zone}"\n'


def entry(show: str = "tiny", start: str = "21:00", **keys: str) -> str:
    text = f'[[entries]]\nshow = "{show}"\nstart = "{start}"\n'
    for key, value in keys.items():
        text += f"{key} = {value}\n"
    return text + "\n"


def near(moment: dt.datetime, published: dt.datetime, tolerance: dt.timedelta = MINUTE) -> bool:
    return abs(moment - published) <= tolerance


# --------------------------------------------------------------------------- the sun


@pytest.mark.parametrize(
    ("where", "zone", "day", "rule", "published"),
    [
        # Lyon Capitale, "Le jour le plus long": Lyon, Sunday 21 June 2020, sunset 21:34 CEST
        ((45.7640, 4.8357), "Europe/Paris", dt.date(2020, 6, 21), "sunset", (21, 34)),
        # Lyon Capitale, solstice times in winter time: Lyon, 21 December 2018, sunset 16:59 CET
        ((45.7640, 4.8357), "Europe/Paris", dt.date(2018, 12, 21), "sunset", (16, 59)),
        # London (diamond geezer's almanac table), 21 December 2014: sunset 15:53 GMT
        ((51.5074, -0.1278), "Europe/London", dt.date(2014, 12, 21), "sunset", (15, 53)),
        # K-State Weather Data Library: Manhattan, Kansas, 27 April 2018: end of civil
        # twilight 8:44 p.m. CDT
        ((39.1836, -96.5717), "America/Chicago", dt.date(2018, 4, 27), "civil_dusk", (20, 44)),
        ((39.1836, -96.5717), "America/Chicago", dt.date(2018, 4, 27), "dusk", (20, 44)),
    ],
)
def test_sun_rules_resolve_to_the_published_almanac_time(shows, where, zone, day, rule, published):
    file = write_schedule(shows, entry(start=rule), venue=venue("v", *where, zone))
    (planned,) = plan(load_schedule(file), day)
    expected = dt.datetime.combine(day, dt.time(*published)).replace(tzinfo=ZoneInfo(zone))
    assert planned.start is not None and near(planned.start, expected)
    assert planned.start.utcoffset() == expected.utcoffset()  # venue time, summer time included


def test_offsets_move_a_sun_event_by_exactly_that_much(shows):
    entries = entry(start="sunset+15m") + entry(start="sunset - 1h30m") + entry(start="sunset")
    file = write_schedule(shows, entries)
    day = dt.date(2020, 6, 21)  # Lyon sunset 21:34 (published, see above)
    later, earlier, sunset = sorted(plan(load_schedule(file), day), key=lambda p: p.entry.index)
    assert near(later.start, paris(2020, 6, 21, 21, 49))
    assert near(earlier.start, paris(2020, 6, 21, 20, 4))
    assert later.start - sunset.start == dt.timedelta(minutes=15)
    assert sunset.start - earlier.start == dt.timedelta(minutes=90)


TROMSO = venue("Tromsø", 69.6492, 18.9553, "Europe/Oslo")


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (dt.date(2026, 6, 21), "midnight sun"),  # the sun does not set from late May to July
        (dt.date(2026, 12, 21), "polar night"),  # nor rise from late November to January
    ],
)
def test_no_sunset_at_high_latitude_is_a_problem_for_that_day_not_a_crash(shows, day, why):
    file = write_schedule(shows, entry(start="sunset+15m") + entry(start="20:00"), venue=TROMSO)
    clock, sun = plan(load_schedule(file), day)
    assert clock.start == dt.datetime(
        day.year, day.month, day.day, 20, 0, tzinfo=ZoneInfo("Europe/Oslo")
    )
    assert sun.start is None and "no sunset" in sun.problem and why in sun.problem
    assert day.isoformat() in sun.problem


def test_in_a_white_night_there_is_a_sunset_but_no_civil_dusk(shows):
    file = write_schedule(shows, entry(start="sunset") + entry(start="dusk"), venue=TROMSO)
    sunset, dusk = plan(load_schedule(file), dt.date(2026, 8, 5))
    assert sunset.start is not None and sunset.start.hour >= 21
    assert dusk.start is None and "no civil dusk" in dusk.problem


# --------------------------------------------------------------------------- the file


def test_the_example_schedule_loads(tmp_path):
    schedule = load_schedule(REPO / "shows" / "evening.toml")
    assert schedule.venue.timezone == "Europe/Paris"
    assert [e.show for e in schedule.entries] == ["demo"] * 4
    assert schedule.shows_dir == REPO / "shows"


@pytest.mark.parametrize(
    ("text", "clock", "sun", "offset_min"),
    [
        ("20:30", dt.time(20, 30), None, 0),
        ("0:05", dt.time(0, 5), None, 0),
        ("sunset", None, "sunset", 0),
        ("sunset+15m", None, "sunset", 15),
        ("Sunset - 10m", None, "sunset", -10),
        ("dusk", None, "civil_dusk", 0),
        ("civil_dusk+1h30m", None, "civil_dusk", 90),
        ("civil_dusk-45s", None, "civil_dusk", -0.75),
    ],
)
def test_start_rule_grammar(text, clock, sun, offset_min):
    rule = parse_rule(text)
    assert (rule.clock, rule.sun) == (clock, sun)
    assert rule.offset == dt.timedelta(minutes=offset_min)


BAD = """\
schema_version = 1
colour = "red"

[venue]
name = "Lyon"
latitude = 145.0
timezone = "Europe/Lyon"

[[entries]]
show = "../tiny"
start = "sunrise+5m"

[[entries]]
show = "tinny"
start = "25:00"
end = "22:00"
duration = "1h"

[[entries]]
show = "tiny"
strat = "21:00"
days = ["fri", "funday"]
cue = "7"

[[entries]]
show = "tiny"
start = "sunset+15"
duration = "soon"
"""


def test_every_problem_is_reported_with_file_key_path_line_and_what_was_expected(shows):
    file = shows / "bad.toml"
    file.write_text(BAD)
    with pytest.raises(ValidationError) as caught:
        load_schedule(file)
    found = {(p.key_path, p.line): p.message for p in caught.value.problems}
    assert all(p.file == file for p in caught.value.problems)

    def message(key_path: str, line: int) -> str:
        assert (key_path, line) in found, sorted(found)
        return found[(key_path, line)]

    assert "unknown key" in message("colour", 2)
    assert "between -90 and 90, got float 145.0" in message("venue.latitude", 6)
    assert "missing (required)" in message("venue.longitude", 4)  # located at [venue]
    assert "unknown time zone 'Europe/Lyon'" in message("venue.timezone", 7)
    assert "no paths" in message("entries[0].show", 10)
    assert "unknown sun event 'sunrise'" in message("entries[0].start", 11)
    assert "did you mean 'tiny'?" in message("entries[1].show", 14)
    assert "between 00:00 and 23:59" in message("entries[1].start", 15)
    assert "either end or duration" in message("entries[1].duration", 17)
    assert "did you mean 'start'?" in message("entries[2].strat", 21)
    assert "missing (required)" in message("entries[2].start", 19)
    assert "'funday'" in message("entries[2].days", 22)
    assert "no cue '7' in show 'tiny'" in message("entries[2].cue", 23)
    assert "1 warm-up, 2 full" in message("entries[2].cue", 23)
    assert "offset '15'" in message("entries[3].start", 27)
    assert '"45m"' in message("entries[3].duration", 28)
    assert len(caught.value.problems) == 15


@pytest.mark.parametrize(
    ("text", "key_path", "expected"),
    [
        ("[venue\nlatitude = 1\n", "", "TOML syntax error"),
        ("", "venue", "missing"),
        (venue("v", 1, 1, "UTC"), "entries", "one or more [[entries]]"),
        (venue("v", 1, 1, "UTC") + "entries = 3\n", "entries", "one or more"),
        (venue("v", 1, 1, "UTC") + entry(days="[]"), "entries[0].days", "daily"),
        (venue("v", 1, 1, "UTC") + entry(days="2026-12-04T20:00:00"), "entries[0].days", "dates"),
        (venue("v", 1, 1, "UTC") + entry(start="sunset+13h"), "entries[0].start", "12h"),
        (venue("v", 1, 1, "UTC") + entry(duration='"0m"'), "entries[0].duration", "longer"),
        (venue("v", 1, 1, "UTC") + entry(cue="true"), "entries[0].cue", "cue number"),
        (venue("v", 1, 1, "UTC") + entry(cue="1" + "0" * 400), "entries[0].cue", "no cue"),
        (venue("v", 1, 1, "UTC") + entry(show="nope"), "entries[0].show", "no show named"),
        ("shows = 'missing'\n" + venue("v", 1, 1, "UTC") + entry(), "shows", "no such folder"),
    ],
)
def test_bad_input_is_reported_not_raised_as_a_crash(shows, text, key_path, expected):
    file = shows / "bad.toml"
    file.write_text(text)
    with pytest.raises(ValidationError) as caught:
        load_schedule(file)
    assert any(p.key_path == key_path and expected in p.message for p in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]


def test_a_show_that_does_not_load_is_reported_on_the_entry(shows):
    (shows / "tiny" / "show.toml").write_text("name = 'broken'\n")
    file = write_schedule(shows, entry(cue='"1"'))
    with pytest.raises(ValidationError) as caught:
        load_schedule(file)
    (problem,) = caught.value.problems
    assert problem.key_path == "entries[0].show" and "run_show.py check" in problem.message


# --------------------------------------------------------------------------- days and midnight


def test_days_choose_the_evenings_an_entry_runs(shows):
    entries = (
        entry(start="20:00")
        + entry(start="21:00", days='["fri", "saturday"]')
        + entry(start="22:00", days='[2026-12-08, "2026-12-10"]')
        + entry(start="23:00", days='"sun"')
    )
    schedule = load_schedule(write_schedule(shows, entries))

    def starts(day: dt.date) -> list[str]:
        return [f"{p.start:%H:%M}" for p in plan(schedule, day)]

    assert starts(dt.date(2026, 12, 3)) == ["20:00"]  # Thursday
    assert starts(FRIDAY) == ["20:00", "21:00"]
    assert starts(dt.date(2026, 12, 5)) == ["20:00", "21:00"]  # Saturday
    assert starts(dt.date(2026, 12, 6)) == ["20:00", "23:00"]  # Sunday
    assert starts(dt.date(2026, 12, 8)) == ["20:00", "22:00"]  # a Tuesday, by date
    assert starts(dt.date(2026, 12, 10)) == ["20:00", "22:00"]


def test_a_plan_across_midnight_belongs_to_the_evening_it_began(shows):
    entries = entry(start="23:30", end='"00:15"') + entry(
        start="00:30", duration='"15m"', days='"fri"'
    )
    schedule = load_schedule(write_schedule(shows, entries))
    late, after_midnight = plan(schedule, FRIDAY)
    assert (late.start, late.end) == (paris(2026, 12, 4, 23, 30), paris(2026, 12, 5, 0, 15))
    assert after_midnight.start == paris(2026, 12, 5, 0, 30)  # Saturday morning, Friday's line
    assert plan(schedule, dt.date(2026, 12, 5))[-1].start == paris(2026, 12, 5, 23, 30)
    now = state_at(schedule, paris(2026, 12, 5, 0, 35))
    assert now.current is not None and now.current.planned.slot == after_midnight.slot
    assert now.current.elapsed_s == 300
    assert now.next is not None and now.next.start == paris(2026, 12, 5, 23, 30)


def test_a_duration_is_real_time_across_the_night_clocks_go_back(shows):
    # Europe/Paris leaves summer time on Sunday 25 October 2026 at 03:00 CEST (01:00 UTC).
    schedule = load_schedule(write_schedule(shows, entry(start="01:30", duration='"2h"')))
    (p,) = plan(schedule, dt.date(2026, 10, 24))
    assert p.start.astimezone(dt.UTC) == dt.datetime(2026, 10, 24, 23, 30, tzinfo=dt.UTC)
    assert p.end.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    assert f"{p.end:%H:%M %Z}" == "02:30 CET"


def test_an_end_before_the_start_on_some_evening_is_a_problem_for_that_evening(shows):
    schedule = load_schedule(write_schedule(shows, entry(start="civil_dusk", end='"21:30"')))
    assert plan(schedule, FRIDAY)[0].end == paris(2026, 12, 4, 21, 30)
    (summer,) = plan(schedule, dt.date(2026, 6, 21))  # Lyon's civil dusk is after 22:00
    assert summer.start is None and "not after the start" in summer.problem


# --------------------------------------------------------------------------- resume, overrides

EVENING = (
    entry(start="20:00", duration='"30m"')
    + entry("finale", "21:00", duration='"30m"')
    + entry(start="22:00")
)


def evening(shows: Path):
    return load_schedule(write_schedule(shows, EVENING))


def test_a_restart_mid_evening_finds_the_show_that_should_be_running(shows):
    schedule = evening(shows)
    now = state_at(schedule, paris(2026, 12, 4, 21, 10))
    assert now.current is not None
    assert now.current.planned.entry.show == "finale"
    assert now.current.start == paris(2026, 12, 4, 21, 0)
    assert now.current.elapsed_s == 600
    assert now.current.until == paris(2026, 12, 4, 21, 30)
    assert now.next is not None and now.next.start == paris(2026, 12, 4, 22, 0)


def test_between_shows_nothing_runs_and_a_show_without_end_runs_until_the_evening_ends(shows):
    schedule = evening(shows)
    gap = state_at(schedule, paris(2026, 12, 4, 20, 45))
    assert gap.current is None and gap.next.entry.show == "finale"
    late = state_at(schedule, paris(2026, 12, 5, 3, 0))
    assert late.current.planned.entry.index == 2 and late.current.until == paris(2026, 12, 5, 6, 0)
    assert late.next.start == paris(2026, 12, 5, 20, 0)


def test_hold_keeps_the_next_show_from_starting_until_released(shows):
    schedule = evening(shows)
    held = Overrides(held_since=paris(2026, 12, 4, 20, 50))
    at = state_at(schedule, paris(2026, 12, 4, 21, 5), held)
    assert at.current is None and at.held
    assert at.next.entry.show == "finale" and at.next_start == paris(2026, 12, 4, 21, 0)
    assert "HELD" in at.describe()
    state = ScheduleState(schedule, wall=FakeWall(paris(2026, 12, 4, 21, 5)), persist=False)
    state.overrides = held
    state.hold(False)  # a hold delays: the finale starts now, for its 30 minutes
    released = state.now()
    assert released.current.planned.entry.show == "finale" and released.current.by_hand
    assert released.current.elapsed_s == 0
    assert released.current.until == paris(2026, 12, 4, 21, 35)
    assert released.next.start == paris(2026, 12, 4, 22, 0)


def test_a_hold_lets_the_running_show_finish(shows):
    schedule = evening(shows)
    held = Overrides(held_since=paris(2026, 12, 4, 20, 10))
    assert state_at(schedule, paris(2026, 12, 4, 20, 20), held).current.planned.entry.index == 0
    assert state_at(schedule, paris(2026, 12, 4, 20, 40), held).current is None


def test_skip_and_start_now_change_what_comes_next(shows):
    schedule = evening(shows)
    finale = plan(schedule, FRIDAY)[1].slot
    skipped = state_at(schedule, paris(2026, 12, 4, 20, 45), Overrides(skipped=frozenset({finale})))
    assert skipped.next.entry.index == 2
    assert (
        state_at(schedule, paris(2026, 12, 4, 21, 5), Overrides(skipped={finale})).current is None
    )
    by_hand = Overrides(started_now={finale: paris(2026, 12, 4, 20, 15)})
    at = state_at(schedule, paris(2026, 12, 4, 20, 20), by_hand)
    assert at.current.planned.slot == finale and at.current.by_hand
    assert at.current.until == paris(2026, 12, 4, 20, 45)  # its duration from when it started
    assert at.next.entry.index == 2


def test_a_show_started_by_hand_runs_for_its_planned_length(shows):
    schedule = load_schedule(write_schedule(shows, entry(start="20:00", end='"20:40"')))
    tomorrow = plan(schedule, dt.date(2026, 12, 5))[0].slot  # an encore at 23:00, say
    by_hand = Overrides(started_now={tomorrow: paris(2026, 12, 4, 23, 0)})
    at = state_at(schedule, paris(2026, 12, 4, 23, 10), by_hand)
    assert at.current.planned.slot == tomorrow
    assert at.current.until == paris(2026, 12, 4, 23, 40)
    assert at.next.start == paris(2026, 12, 6, 20, 0)


def test_overrides_are_kept_in_a_state_file_beside_the_schedule(shows, caplog):
    schedule = evening(shows)
    wall = FakeWall(paris(2026, 12, 4, 20, 45))
    state = ScheduleState(schedule, wall=wall)
    slot = state.skip_next()
    state.hold(True)
    assert schedule.state_file == shows / "evening.state.toml"
    assert "# Operator overrides" in schedule.state_file.read_text()
    restarted = ScheduleState(schedule, wall=wall)
    assert restarted.overrides.skipped == {slot}
    assert restarted.overrides.held_since == wall.now
    assert list(shows.glob(".*.tmp")) == []
    schedule.state_file.write_text("held_since = 'soon'\n")
    with caplog.at_level(logging.WARNING):
        assert load_overrides(schedule.state_file) == Overrides()
    assert "ignoring the schedule state file" in caplog.text


# --------------------------------------------------------------------------- the CLI


def _cli():
    spec = importlib.util.spec_from_file_location("run_show", REPO / "run_show.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_cli_prints_the_plan_with_sun_times_and_what_runs_now(shows, capsys):
    entries = entry(start="sunset+15m", duration='"30m"') + entry("finale", "22:00", end='"00:15"')
    file = write_schedule(shows, entries)
    code = _cli()(["schedule", str(file), "--date", "2020-06-21", "--at", "2020-06-21 22:10"])
    out = capsys.readouterr().out
    assert code == 0
    rows = {
        line.split()[0]: line.split() for line in out.splitlines() if line[:5] in ("tiny ", "final")
    }
    # Lyon, 21 June 2020: sunset 21:34 CEST (published), so the show starts at 21:49 ± 1 min
    start = dt.datetime.strptime(rows["tiny"][2], "%H:%M")
    assert abs(start - dt.datetime(1900, 1, 1, 21, 49)) <= MINUTE
    assert rows["tiny"][1] == "sunset+15m" and rows["tiny"][4] == "daily"
    assert rows["finale"][1:4] == ["22:00", "22:00", "00:15+1"]
    assert "Evening of Sunday 2020-06-21" in out
    assert "now: finale (entries[1]) since 22:00, 10 min in, until 00:15" in out


def test_cli_lists_every_problem_and_exits_2_on_an_invalid_schedule(shows, capsys):
    file = shows / "bad.toml"
    file.write_text(BAD)
    assert _cli()(["schedule", str(file)]) == 2
    err = capsys.readouterr().err
    assert "15 problem(s)" in err
    assert f"{file}:15: entries[1].start:" in err and f"{file}:6: venue.latitude:" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- robustness

SCHEDULE_VALUES = [
    *REPLACEMENTS,
    '"sunset+99h"',
    '"25:61"',
    '"dusk-"',
    '"fri"',
    '["mon", 3]',
    "20:30:00",
    "1979-05-27T07:32:00Z",
    '"Europe/Nowhere"',
    "90",
    "-180.5",
]


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_never_crash_the_schedule_loader_or_the_planner(shows, seed):
    original = (REPO / "shows" / "evening.toml").read_text().replace('"demo"', '"tiny"')
    file = shows / "evening.toml"
    rng = random.Random(seed)
    outcomes = {"schedule": 0, "problems": 0}
    for _ in range(40):
        text = _mutate(original, rng)
        for _ in range(rng.randint(0, 2)):  # schedule-specific values on some key
            lines = text.splitlines()
            keyed = [i for i, line in enumerate(lines) if "=" in line and line[0] != "#"]
            i = rng.choice(keyed)
            lines[i] = f"{lines[i].split('=', 1)[0]}= {rng.choice(SCHEDULE_VALUES)}"
            text = "\n".join(lines) + "\n"
        file.write_text(text)
        try:
            schedule = load_schedule(file)
        except ValidationError as exc:
            assert all(p.message for p in exc.problems)
            outcomes["problems"] += 1
            continue
        outcomes["schedule"] += 1
        for day in (dt.date(2026, 6, 21), FRIDAY):
            plan(schedule, day)
            state_at(schedule, dt.datetime.combine(day, dt.time(22, 0), tzinfo=PARIS))
    assert outcomes["problems"] > 0
