"""The evening schedule: which shows start when, from a plain-text file (pure: no GL, no sockets).

This module owns

* the schedule file format (TOML, ``docs/schedule.md`` key by key) and its validation
  (:func:`load_schedule`: every problem with file, key path, line and what was expected);
* resolving start and end rules (``"20:30"``, ``"sunset+15m"``, ``"civil_dusk-5m"``) into
  times at the venue, with the sun from the ``astral`` library (:func:`sun_event`);
* :func:`plan` — one evening's shows, and :func:`state_at` — what should be running at a wall
  clock time and what comes next, given the operator's :class:`Overrides` (hold, skip, start
  now). Both are pure functions of time, so a restart mid-evening picks up where it should;
* :class:`ScheduleState` — the overrides of a running schedule, attached to the
  :class:`~mapping.live.LiveShow` as ``live.schedule`` and changed only by the registry
  commands :data:`SCHEDULE_SPECS` (``/schedule/hold``, ``/schedule/skip``, ``/schedule/start``,
  ``/schedule/next``, ``/schedule/join``); it keeps them in a state file beside the schedule
  (atomic write), so a restart keeps a hold or a skip;
* :class:`ScheduleRunner` — a frame listener of the player that compares the wall clock with
  the plan and submits ``show.load`` and ``cue.start`` (or ``schedule.join``, ``panic``)
  through the registry, never around it.

An *evening* is a show day: it begins at :data:`DAY_STARTS` (06:00) venue time and ends at
06:00 the next morning, so ``"00:30"`` on the evening of Friday is Saturday 00:30.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from astral import Observer
from astral.sun import dusk as astral_dusk
from astral.sun import elevation as astral_elevation
from astral.sun import noon as astral_noon
from astral.sun import sunset as astral_sunset

from mapping import validate
from mapping.commands import Arg, CommandError, CommandSpec
from mapping.errors import Problem, ValidationError, did_you_mean, is_finite_number
from mapping.live import ShowLibrary
from mapping.show import Show, load_show

log = logging.getLogger(__name__)

UTC = dt.UTC
DAY_STARTS = dt.time(6, 0)
"""An evening runs from 06:00 venue time to 06:00 the next morning."""
SUN_EVENTS = ("sunset", "civil_dusk", "dusk")
"""``dusk`` is short for ``civil_dusk``: the sun 6° below the horizon."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_OFFSET = dt.timedelta(hours=12)
DEFAULT_END_FADE_S = 5.0
NEXT_HORIZONS_DAYS = (1, 8, 32)
"""How many evenings ahead :func:`state_at` looks for the next show (further only if none)."""
JOIN_AFTER_S = 1.0
"""A show found running this long after its start is *joined* (see :class:`ScheduleRunner`)."""

_TOP_KEYS = ("schema_version", "shows", "end_fade", "venue", "entries")
_VENUE_KEYS = ("name", "latitude", "longitude", "timezone")
_ENTRY_KEYS = ("show", "start", "end", "duration", "cue", "days")
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_RULE = re.compile(
    r"(?P<clock>\d{1,2}:\d{2})|(?P<sun>[a-z_]+)(?:\s*(?P<sign>[+-])\s*(?P<offset>[0-9hms]+))?"
)
RULE_GRAMMAR = (
    'a clock time "HH:MM" (00:00..23:59), or a sun event (sunset, civil_dusk, dusk) '
    'with an optional offset such as "sunset+15m", "dusk-10m", "civil_dusk+1h30m"'
)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Venue:
    """Where the facade is: its name, position (degrees, north and east positive) and zone."""

    name: str
    latitude: float
    longitude: float
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class TimeRule:
    """A start or end rule: a clock time, or a sun event plus an offset."""

    text: str
    clock: dt.time | None = None
    sun: str | None = None
    offset: dt.timedelta = dt.timedelta(0)


@dataclass(frozen=True)
class Days:
    """On which evenings an entry runs: every day, chosen weekdays and/or given dates."""

    daily: bool = True
    weekdays: frozenset[int] = frozenset()
    dates: frozenset[dt.date] = frozenset()

    def includes(self, evening: dt.date) -> bool:
        return self.daily or evening.weekday() in self.weekdays or evening in self.dates

    def describe(self) -> str:
        if self.daily:
            return "daily"
        parts = [WEEKDAYS[d] for d in sorted(self.weekdays)]
        parts += [d.isoformat() for d in sorted(self.dates)]
        return ", ".join(parts)


@dataclass(frozen=True)
class Entry:
    """One line of the evening: a show, when it starts (and ends), on which days."""

    index: int
    show: str
    start: TimeRule
    end: TimeRule | None = None
    duration: dt.timedelta | None = None
    cue: str | None = None
    days: Days = Days()

    @property
    def key_path(self) -> str:
        return f"entries[{self.index}]"


@dataclass(frozen=True)
class Schedule:
    """A validated schedule file."""

    file: Path
    venue: Venue
    entries: tuple[Entry, ...]
    shows_dir: Path
    end_fade_s: float = DEFAULT_END_FADE_S

    @property
    def state_file(self) -> Path:
        """Where the operator's overrides are kept: ``<name>.state.toml`` beside the file."""
        return self.file.with_name(f"{self.file.stem}.state.toml")


@dataclass(frozen=True)
class PlannedShow:
    """One entry on one evening, with its times resolved (venue time).

    ``end`` is None when the entry gives no end (it runs until the next show starts, or the
    evening ends). ``problem`` says why an entry cannot run that evening (no sunset at the
    venue that day, an end before the start); its ``start`` is then None.
    """

    slot: str
    entry: Entry
    evening: dt.date
    start: dt.datetime | None
    end: dt.datetime | None
    problem: str | None = None


# --------------------------------------------------------------------------- rules


def parse_duration(text: str) -> dt.timedelta:
    """``"45m"``, ``"1h30m"``, ``"90s"`` → timedelta; ValueError if not in that form."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f'expected a duration such as "45m", "1h30m" or "90s", got {text!r}')
    h, m, s = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(hours=h, minutes=m, seconds=s)


def parse_rule(text: str) -> TimeRule:
    """A start/end rule (see :data:`RULE_GRAMMAR`); ValueError saying what was expected."""
    raw = text.strip().lower()
    match = _RULE.fullmatch(raw)
    if match is None:
        raise ValueError(f"expected {RULE_GRAMMAR}; got {text!r}")
    if match.group("clock"):
        hours, minutes = (int(v) for v in match.group("clock").split(":"))
        if hours > 23 or minutes > 59:
            raise ValueError(f'expected a clock time "HH:MM" between 00:00 and 23:59, got {text!r}')
        return TimeRule(text.strip(), clock=dt.time(hours, minutes))
    sun = match.group("sun")
    if sun not in SUN_EVENTS:
        hint = did_you_mean(sun, SUN_EVENTS)
        raise ValueError(
            f"unknown sun event {sun!r}{hint}; expected {', '.join(SUN_EVENTS)} or a clock time"
        )
    offset = dt.timedelta(0)
    if match.group("offset"):
        try:
            offset = parse_duration(match.group("offset"))
        except ValueError:
            raise ValueError(
                f"offset {match.group('offset')!r} in {text!r}: expected minutes, hours or "
                'seconds such as "15m", "1h30m"'
            ) from None
        if offset > MAX_OFFSET:
            raise ValueError(f"offset in {text!r} is more than 12h from {sun}")
        if match.group("sign") == "-":
            offset = -offset
    return TimeRule(text.strip(), sun="civil_dusk" if sun == "dusk" else sun, offset=offset)


class NoSunEventError(ValueError):
    """The sun does not reach that event at the venue on that day (polar day or night)."""


def sun_event(venue: Venue, day: dt.date, event: str) -> dt.datetime:
    """Sunset or civil dusk at the venue on ``day`` (venue time); NoSunEventError if none."""
    observer = Observer(venue.latitude, venue.longitude)
    tz = venue.tz
    try:
        if event == "sunset":
            return astral_sunset(observer, day, tzinfo=tz)
        return astral_dusk(observer, day, tzinfo=tz)
    except ValueError:
        noon = astral_noon(observer, day, tzinfo=tz)
        what = "sunset" if event == "sunset" else "civil dusk (sun 6° below the horizon)"
        if astral_elevation(observer, noon) < 0:
            why = "polar night: the sun stays below the horizon"
        elif event == "sunset":
            why = "midnight sun: the sun stays above the horizon"
        else:
            why = "white night: the sun never gets 6° below the horizon"
        raise NoSunEventError(
            f"no {what} at {venue.latitude:g}, {venue.longitude:g} on {day.isoformat()} ({why})"
        ) from None


def resolve(rule: TimeRule, venue: Venue, evening: dt.date) -> dt.datetime:
    """The time ``rule`` names on ``evening`` (venue time). NoSunEventError for a missing sun event.

    Clock times before :data:`DAY_STARTS` are the morning after. A clock time that does not
    exist (the hour skipped when clocks go forward) moves forward by the gap.
    """
    tz = venue.tz
    if rule.clock is not None:
        day = evening + dt.timedelta(days=1) if rule.clock < DAY_STARTS else evening
        wall = dt.datetime.combine(day, rule.clock, tzinfo=tz)
        return wall.astimezone(UTC).astimezone(tz)
    assert rule.sun is not None
    base = sun_event(venue, evening, rule.sun)
    return (base.astimezone(UTC) + rule.offset).astimezone(tz)


def evening_of(now: dt.datetime, venue: Venue) -> dt.date:
    """The evening (show day) a moment belongs to: the venue date, less a day before 06:00."""
    local = now.astimezone(venue.tz)
    return local.date() - dt.timedelta(days=1) if local.time() < DAY_STARTS else local.date()


# --------------------------------------------------------------------------- loading


def load_schedule(path: Path | str, *, check_shows: bool = True) -> Schedule:
    """Load and validate a schedule file. Raises ValidationError with every problem.

    With ``check_shows`` each show is also loaded from the shows folder (through
    :class:`~mapping.live.ShowLibrary`, so no paths) and each ``cue`` looked up in it.
    """
    file = Path(path)
    _, text, doc = validate.load_toml(file, "schedule file")
    return _Parser(file, text, doc, check_shows).parse()


class _Parser:
    def __init__(self, file: Path, text: str, doc: dict[str, Any], check_shows: bool) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.doc = doc
        self.check_shows = check_shows
        self.problems: list[Problem] = []
        self.shows: dict[Path, Show] = {}

    def problem(self, key_path: str, message: str) -> None:
        line = validate.line_of(list(self.lines), key_path) if key_path else None
        self.problems.append(Problem(self.file, key_path, message, line))

    def unknown_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in table:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                hint = did_you_mean(key, allowed)
                self.problem(where, f"unknown key{hint}; expected one of: {', '.join(allowed)}")

    def number(self, table: Mapping[str, Any], key: str, path: str, lo: float, hi: float) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in table:
            self.problem(where, f"missing (required): a number between {lo:g} and {hi:g}")
            return None
        value = table[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not is_finite_number(value) or not lo <= value <= hi:
            self.problem(where, f"expected a number between {lo:g} and {hi:g}, got {_show(value)}")
            return None
        return float(value)

    def parse(self) -> Schedule:
        doc = self.doc
        self.unknown_keys(doc, _TOP_KEYS, "")
        version = doc.get("schema_version", 1)
        if version != 1 or isinstance(version, bool):
            self.problem("schema_version", f"expected 1 (or leave it out), got {_show(version)}")
        shows_dir = self.file.parent
        if "shows" in doc:
            if isinstance(doc["shows"], str) and doc["shows"].strip():
                shows_dir = (self.file.parent / doc["shows"]).resolve()
                if not shows_dir.is_dir():
                    self.problem("shows", f"no such folder: {shows_dir}")
            else:
                self.problem("shows", f"expected a folder path, got {_show(doc['shows'])}")
        end_fade = DEFAULT_END_FADE_S
        if "end_fade" in doc:
            end_fade = self.number(doc, "end_fade", "", 0.0, 60.0) or 0.0
        venue = self.venue(doc.get("venue"))
        entries = self.entries(doc.get("entries"), ShowLibrary(shows_dir))
        if self.problems:
            raise ValidationError(self.problems)
        assert venue is not None
        return Schedule(self.file, venue, tuple(entries), shows_dir, end_fade)

    def venue(self, table: Any) -> Venue | None:
        if not isinstance(table, dict):
            what = "missing" if table is None else f"expected a table, got {_show(table)}"
            self.problem(
                "venue", f"{what}: [venue] with name, latitude, longitude and timezone (IANA)"
            )
            return None
        self.unknown_keys(table, _VENUE_KEYS, "venue")
        name = table.get("name", "")
        if not isinstance(name, str):
            self.problem("venue.name", f"expected a text, got {_show(name)}")
        latitude = self.number(table, "latitude", "venue", -90.0, 90.0)
        longitude = self.number(table, "longitude", "venue", -180.0, 180.0)
        zone = table.get("timezone")
        tz_ok = False
        if zone is None:
            self.problem(
                "venue.timezone", 'missing (required): an IANA zone such as "Europe/Paris"'
            )
        elif not isinstance(zone, str):
            self.problem("venue.timezone", f"expected an IANA zone name, got {_show(zone)}")
        else:
            try:
                ZoneInfo(zone)
                tz_ok = True
            except (ZoneInfoNotFoundError, ValueError):
                self.problem(
                    "venue.timezone",
                    f'unknown time zone {zone!r}: expected an IANA name such as "Europe/Paris"',
                )
        if latitude is None or longitude is None or not tz_ok or not isinstance(name, str):
            return None
        return Venue(name, latitude, longitude, zone)

    def entries(self, value: Any, library: ShowLibrary) -> list[Entry]:
        if not isinstance(value, list) or not value:
            self.problem(
                "entries",
                "expected one or more [[entries]] tables, each with show and start",
            )
            return []
        out: list[Entry] = []
        for i, table in enumerate(value):
            path = f"entries[{i}]"
            if not isinstance(table, dict):
                self.problem(path, f"expected a table, got {_show(table)}")
                continue
            entry = self.entry(i, table, path, library)
            if entry is not None:
                out.append(entry)
        return out

    def entry(
        self, index: int, table: dict[str, Any], path: str, library: ShowLibrary
    ) -> Entry | None:
        self.unknown_keys(table, _ENTRY_KEYS, path)
        ok = True
        show = table.get("show")
        show_folder: Path | None = None
        if not isinstance(show, str) or not show.strip():
            what = "missing (required)" if show is None else f"got {_show(show)}"
            self.problem(f"{path}.show", f"{what}: expected a show folder name in the shows folder")
            ok = False
        else:
            try:
                show_folder = library.folder(show)
            except ValueError as exc:
                names = library.names()
                message = str(exc)
                if "/" not in show and not (library.root / show).exists():
                    known = ", ".join(names) or "(none)"
                    message = f"no show named {show!r} in {library.root}; shows: {known}"
                self.problem(f"{path}.show", message + did_you_mean(show, names))
                ok = False
        start = self.rule(table, "start", path, required=True)
        end = self.rule(table, "end", path, required=False) if "end" in table else None
        duration = None
        if "duration" in table:
            raw = table["duration"]
            try:
                if not isinstance(raw, str):
                    raise ValueError(f'expected a duration such as "45m" or "1h30m", got {raw!r}')
                duration = parse_duration(raw)
                if duration <= dt.timedelta(0):
                    raise ValueError(f"expected a duration longer than zero, got {raw!r}")
            except ValueError as exc:
                self.problem(f"{path}.duration", str(exc))
                ok = False
            if "end" in table:
                self.problem(f"{path}.duration", "give either end or duration, not both")
                ok = False
        cue = table.get("cue")
        if cue is not None:
            if isinstance(cue, float):  # cue = 2.5 for "2.5"
                cue = f"{cue:g}"
            elif isinstance(cue, int) and not isinstance(cue, bool):
                cue = str(cue)
            if not isinstance(cue, str) or not cue.strip():
                self.problem(f"{path}.cue", f"expected a cue number or name, got {_show(cue)}")
                ok = False
                cue = None
            elif self.check_shows and show_folder is not None:
                ok = self.known_cue(show_folder, cue, f"{path}.cue") and ok
        days = self.days(table.get("days", "daily"), f"{path}.days")
        if start is None or days is None or not ok or (end is None and "end" in table):
            return None
        assert isinstance(show, str)
        return Entry(index, show, start, end, duration, cue, days)

    def rule(self, table: Mapping[str, Any], key: str, path: str, required: bool) -> Any:
        where = f"{path}.{key}"
        if key not in table:
            if required:
                self.problem(where, f"missing (required): {RULE_GRAMMAR}")
            return None
        value = table[key]
        if isinstance(value, dt.time):  # start = 20:30:00 (a TOML local time) is fine too
            value = value.strftime("%H:%M")
        if not isinstance(value, str):
            self.problem(where, f"expected {RULE_GRAMMAR}; got {_show(value)}")
            return None
        try:
            return parse_rule(value)
        except ValueError as exc:
            self.problem(where, str(exc))
            return None

    def days(self, value: Any, where: str) -> Days | None:
        items = [value] if isinstance(value, str | dt.date) else value
        expected = (
            'expected "daily", weekdays (mon, tue, wed, thu, fri, sat, sun) and/or dates '
            "(2026-12-08), as one text or a list"
        )
        if not isinstance(items, list) or not items:
            self.problem(where, f"{expected}; got {_show(value)}")
            return None
        daily, weekdays, dates, bad = False, set(), set(), []
        for item in items:
            if isinstance(item, dt.datetime):
                bad.append(item)
            elif isinstance(item, dt.date):
                dates.add(item)
            elif isinstance(item, str) and item.strip().lower() == "daily":
                daily = True
            elif isinstance(item, str) and item.strip().lower() in _WEEKDAY_NAMES:
                weekdays.add(WEEKDAYS.index(item.strip().lower()[:3]))
            elif isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.strip()):
                try:
                    dates.add(dt.date.fromisoformat(item.strip()))
                except ValueError:
                    bad.append(item)
            else:
                bad.append(item)
        for item in bad:
            hint = (
                did_you_mean(item.strip().lower(), (*WEEKDAYS, "daily"))
                if isinstance(item, str)
                else ""
            )
            self.problem(where, f"{expected}; got {_show(item)}{hint}")
        if bad:
            return None
        return Days(daily, frozenset(weekdays), frozenset(dates))

    def known_cue(self, folder: Path, cue: str, where: str) -> bool:
        try:
            if folder not in self.shows:  # each show is loaded once
                self.shows[folder] = load_show(folder)
            show = self.shows[folder]
        except ValidationError as exc:
            self.problem(
                where.rsplit(".", 1)[0] + ".show",
                f"show {folder.name!r} has {len(exc.problems)} problem(s): "
                f"run 'python run_show.py check {folder}'",
            )
            return False
        try:
            show.cue_index(cue)
        except KeyError:
            names = [c.number for c in show.cues] + [c.name for c in show.cues if c.name]
            hint = did_you_mean(cue, names)
            labels = ", ".join(c.label for c in show.cues) or "(none)"
            self.problem(where, f"no cue {cue!r} in show {folder.name!r}{hint}; cues: {labels}")
            return False
        return True


_WEEKDAY_NAMES = frozenset(
    [*WEEKDAYS, "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
)


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


# --------------------------------------------------------------------------- planning


def slot_id(evening: dt.date, entry: Entry) -> str:
    """One entry on one evening, as overrides name it: ``2026-12-04/entries[1]/demo``."""
    return f"{evening.isoformat()}/{entry.key_path}/{entry.show}"


def plan(schedule: Schedule, evening: dt.date) -> list[PlannedShow]:
    """The entries that run on ``evening``, times resolved in venue time, by start time.

    An entry that cannot run that evening (no sunset at the venue, an end not after its start)
    is listed with its ``problem`` (and no start) after the others.
    """
    planned, problems = [], []
    tz = schedule.venue.tz
    for entry in schedule.entries:
        if not entry.days.includes(evening):
            continue
        slot = slot_id(evening, entry)
        try:
            start = resolve(entry.start, schedule.venue, evening)
            end = None
            if entry.end is not None:
                end = resolve(entry.end, schedule.venue, evening)
            elif entry.duration is not None:
                end = (start.astimezone(UTC) + entry.duration).astimezone(tz)
        except NoSunEventError as exc:
            problems.append(PlannedShow(slot, entry, evening, None, None, str(exc)))
            continue
        if end is not None and end <= start:
            message = (
                f"end {entry.end.text if entry.end else ''!r} ({end:%H:%M}) is not after "
                f"the start {entry.start.text!r} ({start:%H:%M}) on {evening.isoformat()}"
            )
            problems.append(PlannedShow(slot, entry, evening, None, None, message))
            continue
        planned.append(PlannedShow(slot, entry, evening, start, end))
    planned.sort(key=lambda p: (_utc(p.start), p.entry.index))
    return planned + problems


@dataclass(frozen=True)
class Overrides:
    """What the operator changed in tonight's plan (immutable; changes return a new one).

    ``held_since``: while set, no entry starts by itself after that moment. ``skipped``: slots
    that will not run. ``started_now``: slots started by hand, and when.
    """

    held_since: dt.datetime | None = None
    skipped: frozenset[str] = frozenset()
    started_now: Mapping[str, dt.datetime] = field(default_factory=dict)

    def pruned(self, keep_from: dt.date) -> Overrides:
        """Without the slots of evenings before ``keep_from`` (old overrides are forgotten)."""

        def keep(slot: str) -> bool:
            return slot[:10] >= keep_from.isoformat()

        return Overrides(
            self.held_since,
            frozenset(s for s in self.skipped if keep(s)),
            {s: t for s, t in self.started_now.items() if keep(s)},
        )


@dataclass(frozen=True)
class Running:
    """A planned show in its window: started at ``start`` (planned, or by hand), until ``until``."""

    planned: PlannedShow
    start: dt.datetime
    until: dt.datetime
    elapsed_s: float
    by_hand: bool = False


@dataclass(frozen=True)
class ScheduleNow:
    """What should be running at ``now`` and what comes next (times in venue time)."""

    now: dt.datetime
    current: Running | None
    next: PlannedShow | None
    next_start: dt.datetime | None
    held: bool

    def describe(self) -> str:
        """One line for people: ``now: demo (entries[0]) since 20:15, until 20:45; next: …``."""
        if self.current is not None:
            c = self.current
            now = (
                f"now: {c.planned.entry.show} ({c.planned.entry.key_path}) since "
                f"{_hm(c.start)}, {c.elapsed_s / 60:.0f} min in, until {_hm(c.until)}"
            )
        else:
            now = "now: nothing scheduled is running"
        if self.next is not None and self.next_start is not None:
            nxt = f"next: {self.next.entry.show} ({self.next.entry.key_path}) at "
            nxt += f"{self.next_start:%Y-%m-%d} {_hm(self.next_start)}"
        else:
            nxt = "next: nothing planned"
        if self.held:
            nxt += " (HELD: starts nothing until released)"
        return f"{now}; {nxt}"


@dataclass(frozen=True)
class _Slot:
    planned: PlannedShow
    start: dt.datetime  # UTC
    own_end: dt.datetime | None  # UTC
    by_hand: bool


def _timeline(
    schedule: Schedule, evenings: Iterable[dt.date], overrides: Overrides, plans: _PlanCache | None
) -> list[_Slot]:
    slots = []
    for evening in evenings:
        for p in plans(evening) if plans is not None else plan(schedule, evening):
            if p.start is None or p.slot in overrides.skipped:
                continue
            start, end = _utc(p.start), _utc(p.end) if p.end is not None else None
            by_hand = p.slot in overrides.started_now
            if by_hand:  # it runs for its planned length from when it was started
                length = end - start if end is not None else None
                start = _utc(overrides.started_now[p.slot])
                end = start + length if length is not None else None
            slots.append(_Slot(p, start, end, by_hand))
    slots.sort(key=lambda s: (s.start, s.planned.evening, s.planned.entry.index))
    return slots


def _windows(slots: Sequence[_Slot]) -> list[dt.datetime]:
    """When each slot stops: its own end, the next slot's start, or the end of its evening."""
    ends = []
    for i, s in enumerate(slots):
        evening_end = _utc(
            dt.datetime.combine(
                s.planned.evening + dt.timedelta(days=1),
                DAY_STARTS,
                tzinfo=s.planned.start.tzinfo if s.planned.start else UTC,
            )
        )
        until = s.own_end if s.own_end is not None else evening_end
        if i + 1 < len(slots):
            until = min(until, slots[i + 1].start)
        ends.append(until)
    return ends


def state_at(
    schedule: Schedule,
    now: dt.datetime,
    overrides: Overrides | None = None,
    *,
    plans: _PlanCache | None = None,
) -> ScheduleNow:
    """What should be running at ``now`` (an aware datetime) and what is next.

    A pure function of the schedule, the time and the overrides: a runner restarted at 21:10
    finds the 21:00 show *current*, 10 minutes in, and joins it (see :class:`ScheduleRunner`).

    * A slot runs from its start (planned, or when it was started by hand) until its end, the
      next slot's start, or the end of its evening, whichever comes first.
    * Skipped slots do not exist. While held, slots that would start after the hold began
      do not start (the show running when the hold began goes on, until its own end).
    * *Next* is the first slot after the current one that has not ended: while held that can
      be a slot whose start time has passed; ``/schedule/start`` starts it.
    """
    overrides = overrides or Overrides()
    tz = schedule.venue.tz
    now_utc = _utc(now)
    evening = evening_of(now, schedule.venue)
    evenings = [evening + dt.timedelta(days=d) for d in (-1, 0, 1)]
    slots = _timeline(schedule, evenings, overrides, plans)
    held = overrides.held_since is not None
    running = slots
    if overrides.held_since is not None:
        held_utc = _utc(overrides.held_since)
        running = [s for s in slots if s.by_hand or s.start < held_utc]
    current: Running | None = None
    current_slot: _Slot | None = None
    for s, until in zip(running, _windows(running), strict=True):
        if s.start <= now_utc < until:
            current_slot = s
            current = Running(
                s.planned,
                s.start.astimezone(tz),
                until.astimezone(tz),
                (now_utc - s.start).total_seconds(),
                s.by_hand,
            )
    nxt: _Slot | None = None
    for horizon in NEXT_HORIZONS_DAYS:  # look further ahead only when nothing comes sooner
        if horizon > 1:
            more = [evening + dt.timedelta(days=d) for d in range(2, horizon + 1)]
            slots = _timeline(schedule, [*evenings, *more], overrides, plans)
        for s, until in zip(slots, _windows(slots), strict=True):
            if until <= now_utc or (current_slot is not None and s.start <= current_slot.start):
                continue
            if s.planned.slot == (current_slot.planned.slot if current_slot else None):
                continue
            if not held and s.start <= now_utc:
                continue
            nxt = s
            break
        if nxt is not None:
            break
    return ScheduleNow(
        now.astimezone(tz),
        current,
        nxt.planned if nxt is not None else None,
        nxt.start.astimezone(tz) if nxt is not None else None,
        held,
    )


class _PlanCache:
    """``plan`` per evening, computed once (the sun does not move between calls)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._plans: dict[dt.date, list[PlannedShow]] = {}

    def __call__(self, evening: dt.date) -> list[PlannedShow]:
        if evening not in self._plans:
            if len(self._plans) > 64:
                self._plans.clear()
            self._plans[evening] = plan(self.schedule, evening)
        return self._plans[evening]


def _file_signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _utc(moment: dt.datetime | None) -> dt.datetime:
    assert moment is not None
    if moment.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware")
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- overrides on disk


def load_overrides(path: Path) -> Overrides:
    """The overrides saved at ``path``; none if there is no file (or it is unreadable)."""
    if not path.is_file():
        return Overrides()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        held = doc.get("held_since")
        skipped = doc.get("skipped", [])
        started = doc.get("started_now", {})
        if held is not None and not (isinstance(held, dt.datetime) and held.tzinfo):
            raise ValueError("held_since: expected a date-time with its UTC offset")
        if not isinstance(skipped, list) or not all(isinstance(s, str) for s in skipped):
            raise ValueError("skipped: expected slot names")
        if not all(isinstance(t, dt.datetime) and t.tzinfo for t in started.values()):
            raise ValueError("started_now: expected date-times with their UTC offset")
        return Overrides(held, frozenset(skipped), dict(started))
    except (OSError, ValueError, AttributeError, tomllib.TOMLDecodeError) as exc:
        log.warning("ignoring the schedule state file %s: %s", path, exc)
        return Overrides()


def save_overrides(path: Path, overrides: Overrides) -> None:
    """Write ``overrides`` to ``path`` atomically (temp file, fsync, rename, fsync folder)."""
    doc: dict[str, Any] = {}
    if overrides.held_since is not None:
        doc["held_since"] = _utc(overrides.held_since)
    doc["skipped"] = sorted(overrides.skipped)
    doc["started_now"] = {k: _utc(v) for k, v in sorted(overrides.started_now.items())}
    text = (
        "# Operator overrides of the evening schedule (hold, skip, start now), written by\n"
        "# facade-mapper at each change. Delete this file to go back to the plan.\n"
        + tomli_w.dumps(doc)
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------- live state


def wall_now() -> dt.datetime:
    return dt.datetime.now(UTC)


class ScheduleState:
    """A running schedule and its overrides; the overrides change by ``schedule.*`` commands only.

    Attached to the live show as ``live.schedule``. Every change is saved to the schedule's
    state file (when ``persist``), so a restart keeps it. :meth:`reload_if_changed` picks up
    an edited schedule file; one with problems is reported and the last good one kept.
    """

    def __init__(
        self,
        schedule: Schedule,
        *,
        wall: Callable[[], dt.datetime] = wall_now,
        persist: bool = True,
    ) -> None:
        self.schedule = schedule
        self.wall = wall
        self.persist = persist
        self.plans = _PlanCache(schedule)
        self.overrides = load_overrides(schedule.state_file) if persist else Overrides()
        self._signature = _file_signature(schedule.file)

    def reload_if_changed(self) -> bool:
        """Load the schedule file again if it changed on disk; True if the new one is in use."""
        signature = _file_signature(self.schedule.file)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            schedule = load_schedule(self.schedule.file)
        except ValidationError as exc:
            log.error(
                "the edited schedule %s has %d problem(s); still running the last good one:\n%s",
                self.schedule.file,
                len(exc.problems),
                "\n".join(str(p) for p in exc.problems),
            )
            return False
        self.schedule = schedule
        self.plans = _PlanCache(schedule)
        log.info("schedule %s reloaded: %d entries", schedule.file, len(schedule.entries))
        return True

    def now(self) -> ScheduleNow:
        return state_at(self.schedule, self.wall(), self.overrides, plans=self.plans)

    def _set(self, overrides: Overrides) -> None:
        keep_from = evening_of(self.wall(), self.schedule.venue) - dt.timedelta(days=1)
        self.overrides = overrides.pruned(keep_from)
        if self.persist:
            try:
                save_overrides(self.schedule.state_file, self.overrides)
            except OSError as exc:  # the show goes on; the override holds until a restart
                log.error("could not save the schedule state %s: %s", self.schedule.state_file, exc)

    def hold(self, on: bool) -> None:
        """Hold (no show starts by itself), or release.

        A hold delays: on release, a show whose start time passed during the hold starts now,
        from its start cue, for its planned length; the shows after it keep their times.
        """
        if on and self.overrides.held_since is None:
            self._set(dataclasses.replace(self.overrides, held_since=self.wall()))
            log.info("schedule held: no show starts by itself until released")
        elif not on and self.overrides.held_since is not None:
            now = self.wall()
            state = self.now()
            started = dict(self.overrides.started_now)
            if state.next is not None and state.next_start is not None and state.next_start <= now:
                started[state.next.slot] = now  # it was held back: it starts now
                log.info("schedule released: %s starts now", state.next.slot)
            else:
                log.info("schedule released")
            self._set(dataclasses.replace(self.overrides, held_since=None, started_now=started))

    def _next(self, what: str) -> PlannedShow:
        nxt = self.now().next
        if nxt is None:
            raise CommandError(f"{what}: no show left in the schedule")
        return nxt

    def skip_next(self) -> str:
        slot = self._next("schedule.skip").slot
        self._set(dataclasses.replace(self.overrides, skipped=self.overrides.skipped | {slot}))
        log.info("schedule: skipping %s", slot)
        return slot

    def unskip(self, slot: str) -> None:
        self._set(dataclasses.replace(self.overrides, skipped=self.overrides.skipped - {slot}))

    def start_next(self) -> str:
        slot = self._next("schedule.start").slot
        started = {**self.overrides.started_now, slot: self.wall()}
        self._set(dataclasses.replace(self.overrides, started_now=started))
        log.info("schedule: starting %s now", slot)
        return slot

    def next_text(self) -> str:
        state = self.now()
        if state.next is None or state.next_start is None:
            return ""
        text = f"{state.next.entry.show} {_hm(state.next_start)} ({state.next.entry.start.text})"
        return text + (" held" if state.held else "")


# --------------------------------------------------------------------------- commands


def _state(live: Any, command: str) -> ScheduleState:
    state = getattr(live, "schedule", None)
    if state is None:
        raise CommandError(f"{command}: no schedule is running (run_show.py schedule FILE --run)")
    return state


def _hold(live: Any, a: Mapping[str, Any], t: float) -> None:
    _state(live, "schedule.hold").hold(a["on"])


def _skip(live: Any, a: Mapping[str, Any], t: float) -> Any:
    state = _state(live, "schedule.skip")
    slot = state.skip_next()
    return lambda: state.unskip(slot)


def _start(live: Any, a: Mapping[str, Any], t: float) -> None:
    _state(live, "schedule.start").start_next()


def _join(live: Any, a: Mapping[str, Any], t: float) -> None:
    """Fire a cue as if it had fired ``elapsed`` seconds ago, after the cues before it."""
    show = live.show
    try:
        index = show.cue_index(a["cue"])
    except KeyError:
        labels = ", ".join(c.label for c in show.cues)
        raise CommandError(f"schedule.join: unknown cue {a['cue']!r}; cues: {labels}") from None
    fired_at = t - a["elapsed"]
    cue_list = show.cues[index].cue_list
    before = [i for i in range(index) if show.cues[i].cue_list == cue_list]
    if before:  # the tracked state up to the cue before, as if the show had run to here
        live.engine.goto(before[-1], fired_at, fade_s=0.0)
    live.engine.start(index, fired_at)


SCHEDULE_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "schedule.hold",
        "/schedule/hold",
        "Hold the evening schedule (1): no show starts by itself until released (0)",
        _hold,
        (Arg("on", bool, "1 = hold, 0 = release"),),
        query=lambda live, a: int(_state(live, "schedule.hold").overrides.held_since is not None),
        group="schedule",
    ),
    CommandSpec(
        "schedule.skip",
        "/schedule/skip",
        "Skip the next show of the schedule (undo brings it back)",
        _skip,
        edit=True,
        group="schedule",
    ),
    CommandSpec(
        "schedule.start",
        "/schedule/start",
        "Start the next show of the schedule now (even while held)",
        _start,
        group="schedule",
    ),
    CommandSpec(
        "schedule.next",
        "/schedule/next",
        'The next show of the schedule: "show HH:MM (rule)", "" if none',
        lambda live, a, t: None,
        query=lambda live, a: _state(live, "schedule.next").next_text(),
        group="schedule",
    ),
    CommandSpec(
        "schedule.join",
        "/schedule/join",
        "Fire a cue as if it had fired some seconds ago (join a scheduled show in progress)",
        _join,
        (
            Arg("cue", str, "cue number or name"),
            Arg("elapsed", float, "seconds since it fired", 0.0, 86400.0, default=0.0),
        ),
        group="schedule",
    ),
)


# --------------------------------------------------------------------------- the runner


class ScheduleRunner:
    """Starts the schedule's shows on a player, through the registry (a frame listener).

    Every ``interval_s`` of wall time it asks :func:`state_at` what should be running. When
    that changes it submits, with ``source="schedule"``:

    * ``show.load NAME``, then (once loaded) the start cue: ``cue.start`` when on time, or
      ``schedule.join CUE ELAPSED`` when the show's window began more than
      :data:`JOIN_AFTER_S` ago — after a restart, or an edit that moved its start — so the
      show runs where it would be had it started on time (fades, follows and clip positions
      derive from that time), rather than from the top;
    * ``panic END_FADE`` when a show's window ends and nothing follows (and ``panic 0`` at
      start-up when nothing is scheduled yet): the facade goes dark between shows.

    A show that fails to load is logged and not retried for that slot. An edited schedule
    file is picked up at the next check (see :meth:`ScheduleState.reload_if_changed`).
    """

    def __init__(self, state: ScheduleState, interval_s: float = 1.0) -> None:
        self.state = state
        self.interval_s = interval_s
        self.running_slot: str | None = None
        self.started = False
        self._last_check: dt.datetime | None = None

    def __call__(self, player: Any) -> None:
        now = self.state.wall()
        if self._last_check is not None and (now - self._last_check).total_seconds() < (
            self.interval_s
        ):
            return
        self._last_check = now
        self.check(player)

    def check(self, player: Any) -> ScheduleNow:
        self.state.reload_if_changed()
        state = self.state.now()
        slot = state.current.planned.slot if state.current is not None else None
        if slot != self.running_slot or not self.started:
            if state.current is None:
                fade = self.state.schedule.end_fade_s if self.started else 0.0
                log.info("schedule: nothing running now; %s", state.describe())
                player.submit("panic", fade, source="schedule")
            else:
                self._begin(player, state.current)
            self.running_slot = slot
            self.started = True
        return state

    def _begin(self, player: Any, running: Running) -> None:
        entry = running.planned.entry
        log.info(
            "schedule: starting '%s' (%s, %s)%s",
            entry.show,
            entry.key_path,
            entry.start.text,
            f", joining {running.elapsed_s:.0f} s in" if running.elapsed_s > JOIN_AFTER_S else "",
        )

        def loaded(result: Any) -> None:
            if not result.ok:
                log.error("schedule: %s", result.message)
                return
            show = player.live.show
            if not show.cues:
                return
            try:
                cue = show.cues[show.cue_index(entry.cue)] if entry.cue else show.cues[0]
            except KeyError:
                log.error("schedule: no cue %r in show '%s'", entry.cue, entry.show)
                return
            elapsed = (self.state.wall() - running.start).total_seconds()
            if elapsed > JOIN_AFTER_S:
                player.submit("schedule.join", cue.number, elapsed, source="schedule")
            else:
                player.submit("cue.start", path={"cue": cue.number}, source="schedule")

        player.submit("show.load", entry.show, source="schedule", on_result=loaded)


def attach(player: Any, schedule: Schedule, **state_kwargs: Any) -> ScheduleRunner:
    """Give ``player`` (built with ``build_registry()``) a schedule."""
    missing = [s.name for s in SCHEDULE_SPECS if s.name not in player.registry]
    if missing:
        raise ValueError(f"the player's registry lacks {', '.join(missing)}: add SCHEDULE_SPECS")
    state = ScheduleState(schedule, **state_kwargs)
    player.live.schedule = state
    runner = ScheduleRunner(state)
    player.frame_listeners.append(runner)
    runner(player)  # queued now, so the very first frame already shows the right thing
    return runner


def first_show(schedule: Schedule, now: dt.datetime) -> str:
    """The show a runner starts with: the one running now, else the next, else the first."""
    state = state_at(schedule, now, load_overrides(schedule.state_file))
    if state.current is not None:
        return state.current.planned.entry.show
    if state.next is not None:
        return state.next.entry.show
    return schedule.entries[0].show


# --------------------------------------------------------------------------- the plan as text


def format_plan(schedule: Schedule, evening: dt.date, now: dt.datetime | None = None) -> str:
    """Tonight's plan as a table (show, start rule, start, end, days), and what runs at ``now``."""
    venue = schedule.venue
    lines = [
        f"Schedule {schedule.file}",
        f"Venue: {venue.name or '(unnamed)'} ({venue.latitude:.4f}, {venue.longitude:.4f}, "
        f"{venue.timezone})",
    ]
    sun = []
    for event, label in (("sunset", "sunset"), ("civil_dusk", "civil dusk")):
        try:
            sun.append(f"{label} {_hm(sun_event(venue, evening, event))}")
        except NoSunEventError:
            sun.append(f"no {label}")
    lines.append(f"Evening of {evening:%A %Y-%m-%d}: {', '.join(sun)}")
    lines.append("")
    rows = [("show", "start rule", "start", "end", "days", "entry")]
    notes = []
    for p in plan(schedule, evening):
        e = p.entry
        if p.start is None:
            rows.append((e.show, e.start.text, "-", "-", e.days.describe(), e.key_path))
            notes.append(f"  {e.key_path}: cannot run: {p.problem}")
            continue
        rows.append(
            (
                e.show,
                e.start.text,
                _clock(p.start, evening),
                _clock(p.end, evening) if p.end is not None else "(next)",
                e.days.describe(),
                e.key_path,
            )
        )
    if len(rows) == 1:
        lines.append("No show is scheduled on this evening.")
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines.extend(notes)
    if now is not None:
        overrides = load_overrides(schedule.state_file)
        lines.append("")
        lines.append(f"At {now.astimezone(venue.tz):%Y-%m-%d %H:%M}: ")
        lines[-1] += state_at(schedule, now, overrides).describe()
    return "\n".join(lines)


def _clock(moment: dt.datetime | None, evening: dt.date) -> str:
    """``21:15``, or ``00:30+1`` for a time on the morning after the evening's date."""
    assert moment is not None
    rounded = _nearest_minute(moment)
    days = (rounded.date() - evening).days
    return f"{rounded:%H:%M}" + (f"+{days}" if days else "")


def _nearest_minute(moment: dt.datetime) -> dt.datetime:
    """For display, as almanacs print times: to the nearest minute."""
    return (moment.astimezone(UTC) + dt.timedelta(seconds=30)).astimezone(moment.tzinfo)


def _hm(moment: dt.datetime) -> str:
    return f"{_nearest_minute(moment):%H:%M}"
