"""The state journal: enough of the running show to resume it after a crash (pure).

Written atomically (``mapping.atomic``) on every cue change and master / blackout change,
read by a restarted player (``run --resume``, which the supervisor passes). It holds the
wall-clock time of show time 0, so a resumed show continues at the right show time, and
for each cue list its current cue and the cue before it with the show times they fired:
resuming jumps to the earlier cue's look and fires the current one again at its own time,
so a fade in progress continues mid-way and layers' media times (clips, generators) go on
where they were rather than restarting. (A current cue reached by a jump rather than GO
is resumed as if GO'd from the cue before it.)

Layout (JSON, version 1)::

    {"version": 1, "show": "/path/to/show", "origin_wall_s": 1795689000.25,
     "cues": [["main", "2", 41.5]], "master": 1.0, "blackout": false,
     "written_wall_s": 1795689060.0}
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapping.atomic import write_atomic

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1


@dataclass(frozen=True)
class Journal:
    """What a restarted player needs to resume.

    Attributes:
        show: the show folder.
        origin_wall_s: Unix time at which show time was 0.
        cues: per cue list, ``(list, cue number, show time it fired)``, in firing order.
        master: master level.
        blackout: whether blackout was on.
        written_wall_s: Unix time of the last write.
    """

    show: str
    origin_wall_s: float
    cues: tuple[tuple[str, str, float], ...]
    master: float = 1.0
    blackout: bool = False
    written_wall_s: float = 0.0

    def show_time_at(self, wall_s: float) -> float:
        """The show time at a wall-clock time (where a resumed show picks up)."""
        return wall_s - self.origin_wall_s

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": JOURNAL_VERSION,
                "show": self.show,
                "origin_wall_s": self.origin_wall_s,
                "cues": [list(c) for c in self.cues],
                "master": self.master,
                "blackout": self.blackout,
                "written_wall_s": self.written_wall_s,
            },
            indent=1,
        )


def write_journal(path: Path, journal: Journal) -> None:
    """Replace the journal at ``path`` atomically."""
    write_atomic(path, journal.to_json().encode("utf-8"))


def read_journal(path: Path) -> Journal | None:
    """The journal at ``path``; ``None`` (with a warning naming the file and what was
    wrong) when it is missing or unreadable — the show then starts afresh."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: cannot read the state journal (%s); starting afresh", path, exc)
        return None
    try:
        return _parse(doc)
    except (TypeError, ValueError, KeyError) as exc:
        log.warning("%s: not a valid state journal (%s); starting afresh", path, exc)
        return None


def parse_journal(text: str) -> Journal:
    """A journal from its JSON text (:meth:`Journal.to_json`; a resumed cluster controller
    sends it to its nodes). Raises ValueError."""
    try:
        return _parse(json.loads(text))
    except (TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a valid state journal ({exc})") from None


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


def _parse(doc: Any) -> Journal:
    if not isinstance(doc, dict) or doc.get("version") != JOURNAL_VERSION:
        raise ValueError(f"expected a JSON object with version {JOURNAL_VERSION}")
    show = doc["show"]
    if not isinstance(show, str):
        raise ValueError("show: expected a folder path")
    cues = []
    for entry in doc["cues"]:
        if not (isinstance(entry, list) and len(entry) == 3):
            raise ValueError(f"cues: expected [list, cue, show time], got {entry!r}")
        name, number, t = entry
        if not isinstance(name, str) or not isinstance(number, str):
            raise ValueError(f"cues: expected names, got {entry!r}")
        cues.append((name, number, _finite(t, "cue time")))
    master = _finite(doc.get("master", 1.0), "master")
    if not 0.0 <= master <= 1.0:
        raise ValueError(f"master: expected 0..1, got {master}")
    blackout = doc.get("blackout", False)
    if not isinstance(blackout, bool):
        raise ValueError("blackout: expected true or false")
    return Journal(
        show,
        _finite(doc["origin_wall_s"], "origin_wall_s"),
        tuple(cues),
        master,
        blackout,
        _finite(doc.get("written_wall_s", 0.0), "written_wall_s"),
    )


def journal_of(live: Any, show_dir: Path, origin_wall_s: float, now_wall_s: float) -> Journal:
    """The journal of a :class:`~mapping.live.LiveShow` now (its cue lists' current cues
    with the show time each fired, the master's target level, blackout)."""
    engine = live.engine
    cues = live.show.cues
    fired = []
    for cue_list, index in engine.current.items():
        if index is None or index not in engine.fired_at:
            continue
        t = engine.fired_at[index]
        earlier = [
            (at, i)
            for i, at in engine.fired_at.items()
            if i != index and cues[i].cue_list == cue_list and at <= t
        ]
        if earlier:  # the cue it faded from: resuming mid-fade starts from its look
            at, i = max(earlier)
            fired.append((cue_list, cues[i].number, float(at)))
        fired.append((cue_list, cues[index].number, float(t)))
    fired.sort(key=lambda entry: entry[2])
    return Journal(
        str(Path(show_dir).resolve()),
        origin_wall_s,
        tuple(fired),
        float(live.master.end),
        bool(live.blackout),
        now_wall_s,
    )


def resume(live: Any, journal: Journal, now_wall_s: float) -> float:
    """Put a freshly loaded :class:`~mapping.live.LiveShow` back in the journal's state and
    return the show time to run from. Cues the show no longer has are skipped (logged)."""
    from mapping.cues import CueEngine, Fade

    engine = CueEngine(live.show)
    entries = list(journal.cues)
    for i, (cue_list, number, fired_s) in enumerate(entries):
        try:
            index = live.show.cue_index(number)
        except KeyError:
            log.warning("resume: the show has no cue %s any more (list %s)", number, cue_list)
            continue
        if any(later[0] == cue_list for later in entries[i + 1 :]):
            engine.goto(index, fired_s, fade_s=0.0)  # the look the current cue faded from
        else:
            engine.start(index, fired_s)  # fired again at its own time: fades mid-way
    live.engine = engine
    live.master = Fade(journal.master, journal.master)
    live.blackout = journal.blackout
    return journal.show_time_at(now_wall_s)
