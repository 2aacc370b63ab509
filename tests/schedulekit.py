"""Builders for schedule tests: a shows folder of tiny shows, schedule files, a fake wall clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

LYON_VENUE = """\
[venue]
name = "Lyon"
latitude = 45.7640
longitude = 4.8357
timezone = "Europe/Paris"
"""

TINY_SHOW = """\
schema_version = 1
name = "{name}"

[canvas]
size = [16, 8]

[[outputs]]
name = "out"
resolution = [16, 8]

[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [16, 0], [16, 8], [0, 8]]
corners = [[0, 0], [16, 0], [16, 8], [0, 8]]

[[layers]]
name = "wash"
kind = "solid"
color = "#ffffff"
opacity = 0.0

[[cues]]
number = "1"
name = "warm-up"
fade = 10.0
[cues.layers.wash]
opacity = 0.5

[[cues]]
number = "2"
name = "full"
fade = 60.0
[cues.layers.wash]
opacity = 1.0
"""


def shows_folder(root: Path, names: tuple[str, ...] = ("tiny", "finale")) -> Path:
    """``root/shows`` holding one tiny show folder per name (16×8 canvas and output)."""
    shows = root / "shows"
    for name in names:
        (shows / name).mkdir(parents=True, exist_ok=True)
        (shows / name / "show.toml").write_text(TINY_SHOW.format(name=name))
    return shows


def write_schedule(shows: Path, entries: str, venue: str = LYON_VENUE, extra: str = "") -> Path:
    path = shows / "evening.toml"
    path.write_text(extra + venue + "\n" + entries)
    return path


class FakeWall:
    """A wall clock the test moves by hand (aware datetimes)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, hour: int, minute: int, second: int = 0, day: int | None = None) -> None:
        self.now = self.now.replace(
            hour=hour, minute=minute, second=second, day=day or self.now.day
        )

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def paris(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=PARIS)
