"""The live show's state as data, so that a node joining a long show starts from a recent
state instead of replaying every command since the start (pure, no GL, no network).

The controller's command log grows with every fader move; a node that (re)joins used to
be sent all of it. Instead the controller takes a :class:`Snapshot` every so many commands,
on its render thread right after the frame that applied them: the cue engine's whole state
(each layer's content and crossfade, every opacity, parameter and output level as the
:class:`~mapping.cues.Fade` it is — start, end, start time, duration, curve — surfaces'
visibility, playheads, loaded cues, fire times, pending waits and follows, pause), the
master fade, blackout, test patterns, the show lock, which show is loaded, and the command
processor's undo and redo history. A node restores it (:func:`restore`) and applies the
commands after it as of their tags, exactly as a node that saw every command would.

The state journal (``mapping.operations.journal``) is not enough for this: it keeps the
cues and the master only (a resumed show restarts its current cue), so faders, a panic,
a stop or a pause would be lost.

Only what the snapshot can express is compacted: the commands in :data:`COMPACTABLE`.
A ``show.reload`` is: the snapshot records the sequence number of the last one applied
(and the controller's show-folder hash then), and a node restoring it loads its own copy
of the show folder first (distributed by rsync or Syncthing; the hash comparison at join
names a node whose copy differs). A ``layer.content`` file is named by its path inside the
show folder. Anything else in the log (a mapping edit, an output image, undo/redo)
stops compaction at that point: the log from there is kept whole. :func:`take` returns
None when the current state holds something it cannot express (an image pattern, an undo
entry it did not see made): the log is then simply kept longer.
"""

from __future__ import annotations

import itertools
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapping.commands import Command

SNAPSHOT_VERSION = 1

COMPACTABLE = frozenset(
    {
        "go",
        "back",
        "stop",
        "pause",
        "resume",
        "panic",
        "cue.start",
        "cue.load",
        "cue.goto",
        "master",
        "blackout",
        "layer.opacity",
        "layer.param",
        "surface.visible",
        "output.level",
        "output.testpattern",
        "testpattern.cycle",
        "lock",
        "show.load",
        "show.reload",  # the snapshot says so: a node loads its own copy of the folder
        "layer.content",  # a file of the show folder, named by its path inside it
        "schedule.join",
        "schedule.hold",  # the schedule's state lives on the controller only
        "schedule.start",
    }
)
"""Commands whose whole effect a snapshot holds (the engine, master, blackout, patterns,
lock, loaded show, undo history of the fader edits below)."""

UNDO_VALUE = {
    "layer.opacity": "opacity",
    "layer.param": "value",
    "surface.visible": "visible",
    "output.level": "level",
    "output.testpattern": "pattern",
    "layer.content": "file",  # the content before: a show's own, or a file named by its path
}
"""The edits whose undo a snapshot can carry: the command again, with the value before it
(and no fade), as of its own time — what their undo does."""


class SnapshotError(ValueError):
    """A snapshot that does not fit the show it is restored on (another show folder)."""


@dataclass(frozen=True)
class Snapshot:
    """The state after command ``seq``, as JSON (zlib-compressed for the wire)."""

    seq: int
    show_time_s: float
    data: bytes

    @property
    def json(self) -> str:
        return zlib.decompress(self.data).decode("utf-8")


# -- values


def _value(v: Any) -> Any:
    if isinstance(v, tuple):
        return {"tuple": [_value(x) for x in v]}
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {"dict": {str(k): _value(x) for k, x in v.items()}}
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"cannot keep a {type(v).__name__} in a snapshot")


def _unvalue(v: Any) -> Any:
    if isinstance(v, dict):
        if "tuple" in v:
            return tuple(_unvalue(x) for x in v["tuple"])
        return {k: _unvalue(x) for k, x in v["dict"].items()}
    if isinstance(v, list):
        return [_unvalue(x) for x in v]
    return v


def _fade(f: Any) -> list[Any]:
    return [_value(f.start), _value(f.end), f.t0, f.duration, f.curve, f.kind]


def _unfade(doc: list[Any]) -> Any:
    from mapping.cues import Fade

    start, end, t0, duration, curve, kind = doc
    return Fade(_unvalue(start), _unvalue(end), float(t0), float(duration), str(curve), str(kind))


def _command(c: Command) -> list[Any]:
    return [c.name, _value(dict(c.args)), c.mode, c.source]


def _uncommand(doc: list[Any]) -> Command:
    name, args, mode, source = doc
    return Command(name, _unvalue(args), mode, None, source)


# -- what the show holds (contents and transitions are named by where they come from)


def _references(show: Any) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
    contents: list[tuple[Any, Any]] = [(["layer", la.name], la.content) for la in show.layers]
    transitions: list[tuple[Any, Any]] = []
    for i, cue in enumerate(show.cues):
        if cue.transition is not None:
            transitions.append((["cue", i], cue.transition))
        for name, change in cue.layers.items():
            if change.content is not None:
                contents.append((["cue", i, name], change.content))
            if change.transition is not None:
                transitions.append((["cue", i, name], change.transition))
    return contents, transitions


def _ref(value: Any, table: list[tuple[Any, Any]], what: str, root: Path | None = None) -> Any:
    if value is None:
        return None
    for key, known in table:
        if known == value:
            return key
    if root is not None and isinstance(value, Path):  # a layer.content file
        try:
            return {"file": value.resolve().relative_to(root.resolve()).as_posix()}
        except ValueError:
            raise TypeError(f"a {what} outside the show folder") from None
    raise TypeError(f"a {what} the show file does not name")


def _unref(key: Any, table: list[tuple[Any, Any]], what: str, root: Path | None = None) -> Any:
    if key is None:
        return None
    if isinstance(key, dict) and root is not None:  # a layer.content file
        return (root.resolve() / key["file"]).resolve()
    for known_key, value in table:
        if known_key == key:
            return value
    raise SnapshotError(f"the show has no {what} {key}")


# -- taking and restoring


def take(
    live: Any,
    processor: Any,
    seq: int,
    show_time_s: float,
    undo_records: dict[int, tuple[Any, Any, float]] | None = None,
    *,
    reload_seq: int = 0,
    show_hash: str | None = None,
) -> Snapshot | None:
    """The state of ``live`` (a :class:`~mapping.live.LiveShow`) and ``processor``'s undo
    history after command ``seq``; None when it holds something a snapshot cannot express.
    ``undo_records``: per undo entry (by ``id`` of its function), that function, the value
    before the edit and its show time (:class:`UndoRecorder` keeps them).
    ``reload_seq``: the last ``show.reload`` applied (0: none); ``show_hash``: the
    controller's show-folder hash then."""
    try:
        doc = _document(live, processor, undo_records or {})
        doc["seq"] = seq
        doc["show_time_s"] = show_time_s
        doc["reload_seq"] = reload_seq
        doc["show_hash"] = show_hash
        text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # something it cannot express: the log is kept
        return None
    return Snapshot(seq, show_time_s, zlib.compress(text.encode("utf-8"), 6))


def _document(live: Any, processor: Any, records: dict[int, tuple[Any, Any, float]]) -> dict:
    engine = live.engine
    contents, transitions = _references(live.show)
    root = live.show.root
    if any(k and k.startswith("image:") for k in live.patterns.values()):
        raise TypeError("an image pattern")
    tracks = {}
    for name, tr in engine._tracks.items():
        tracks[name] = {
            "content": _ref(tr.content, contents, "content", root),
            "content_since": tr.content_since,
            "opacity": _fade(tr.opacity),
            "params": {k: _fade(f) for k, f in tr.params.items()},
            "events": sorted(tr.events),
            "previous": _ref(tr.previous, contents, "content", root),
            "previous_since": tr.previous_since,
            "mix": _fade(tr.mix),
            "transition": _ref(tr.transition, transitions, "transition"),
        }
    n = next(engine._seq)  # peek at the event counter (heap order among equal times)
    engine._seq = itertools.count(n)
    undo = []
    for command, fn in processor._undo:
        record = records.get(id(fn))
        if record is None or record[0] is not fn or command.name not in UNDO_VALUE:
            raise TypeError("an undo entry without its value before")
        _, before, t = record
        if command.name == "layer.content":  # a reference, as the tracks' contents
            undo.append([_command(command), _ref(before, contents, "content", root), t])
        else:
            undo.append([_command(command), _value(before), t])
    return {
        "version": SNAPSHOT_VERSION,
        "show": live.show.root.name,
        "engine": {
            "tracks": tracks,
            "visible": dict(engine._visible),
            "levels": {k: _fade(f) for k, f in engine._levels.items()},
            "active_list": engine.active_list,
            "playhead": engine.playhead,
            "current": engine.current,
            "loaded": sorted(engine.loaded),
            "fired_at": [[i, t] for i, t in engine.fired_at.items()],
            "events": [list(e) for e in engine._events],
            "seq": n,
            "paused_at": engine._paused_at,
            "paused_total": engine._paused_total,
        },
        "master": _fade(live.master),
        "blackout": live.blackout,
        "patterns": live.patterns,
        "locked": live.locked,
        "undo": undo,
        "redo": [_command(c) for c in processor._redo],
    }


def restore(live: Any, processor: Any, text: str, reload_seq: int = 0) -> dict[str, Any]:
    """Put ``live`` and ``processor`` in the snapshot's state (``text``: its JSON). Loads
    the snapshot's show by name first when another one is loaded; when the controller
    reloaded its show folder after the last ``show.reload`` ``live`` applied
    (``reload_seq``), loads this machine's copy of the folder again first. Returns the
    snapshot's ``reload_seq`` and ``show_hash``. Raises :class:`SnapshotError` when the
    snapshot does not fit the show (or the folder copy does not load)."""
    from mapping.cues import CueEngine
    from mapping.errors import ValidationError

    try:
        doc = json.loads(text)
        if doc.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(f"expected snapshot version {SNAPSHOT_VERSION}")
        reloaded = int(doc.get("reload_seq", 0))
        try:
            if doc["show"] != live.show.root.name:
                live.load_named(doc["show"])
            elif reloaded > reload_seq:  # the folder was edited: this machine's copy of it
                live._adopt(live.loader(live.show.root))
        except ValidationError as exc:
            raise SnapshotError(f"the show folder does not load: {exc}") from None
        except ValueError as exc:
            raise SnapshotError(str(exc)) from None
        contents, transitions = _references(live.show)
        root = live.show.root
        e = doc["engine"]
        engine = CueEngine(live.show)
        if set(e["tracks"]) != set(engine._tracks):
            raise SnapshotError("the show's layers differ from the controller's")
        for name, t in e["tracks"].items():
            tr = engine._tracks[name]
            tr.content = _unref(t["content"], contents, "content", root)
            tr.content_since = float(t["content_since"])
            tr.opacity = _unfade(t["opacity"])
            tr.params = {k: _unfade(f) for k, f in t["params"].items()}
            tr.events = set(t["events"])
            tr.previous = _unref(t["previous"], contents, "content", root)
            tr.previous_since = float(t["previous_since"])
            tr.mix = _unfade(t["mix"])
            tr.transition = _unref(t["transition"], transitions, "transition")
        engine._visible = dict(e["visible"])
        engine._levels = {k: _unfade(f) for k, f in e["levels"].items()}
        engine.active_list = e["active_list"]
        engine.playhead = dict(e["playhead"])
        engine.current = dict(e["current"])
        engine.loaded = set(e["loaded"])
        engine.fired_at = {int(i): float(t) for i, t in e["fired_at"]}
        engine._events = [(float(t), int(s), str(k), int(i)) for t, s, k, i in e["events"]]
        engine._seq = itertools.count(int(e["seq"]))
        engine._paused_at = e["paused_at"]
        engine._paused_total = float(e["paused_total"])
        live.engine = engine
        live.master = _unfade(doc["master"])
        live.blackout = bool(doc["blackout"])
        live.patterns = dict(doc["patterns"])
        live.locked = bool(doc["locked"])
        processor._undo = [_undo_entry(live, processor, *entry) for entry in doc["undo"]]
        processor._redo = [_uncommand(c) for c in doc["redo"]]
        return {"reload_seq": reloaded, "show_hash": doc.get("show_hash")}
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, SnapshotError):
            raise
        raise SnapshotError(f"not a valid snapshot ({exc})") from None


def _undo_entry(live: Any, processor: Any, command: list[Any], before: Any, t: float) -> Any:
    c = _uncommand(command)
    spec = processor.registry.spec(c.name)
    args = dict(c.args)
    if c.name == "layer.content":  # what its own undo does: the content before, at once
        content = _unref(before, _references(live.show)[0], "content", live.show.root)

        def undo_content() -> None:
            live.engine.set_content(args["layer"], content, t)

        return (c, undo_content)
    value = _unvalue(before)
    if c.name == "output.testpattern" and value is None:
        value = "off"
    args[UNDO_VALUE[c.name]] = value
    if "fade" in args:
        args["fade"] = 0.0

    def undo() -> None:
        spec.effect(live, args, t)

    return (c, undo)


class UndoRecorder:
    """Keeps, for each undo entry a processor makes, the value before the edit and its
    show time — what a snapshot needs to carry the undo history. Call :meth:`before`
    with a command just before it is applied and :meth:`after` just after."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor
        self.records: dict[int, tuple[Any, Any, float]] = {}
        self._pending: tuple[Any, float, int, Any] | None = None

    def before(self, command: Command, show_time_s: float) -> None:
        undo = self.processor._undo
        top = undo[-1][1] if undo else None
        value = _before_value(self.processor.target, command, show_time_s)
        self._pending = (value, show_time_s, len(undo), top)

    def after(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        value, t, n, top = pending
        undo = self.processor._undo
        if undo and (len(undo) != n or undo[-1][1] is not top) and value is not _UNKNOWN:
            fn = undo[-1][1]
            self.records[id(fn)] = (fn, value, t)
        if len(self.records) > 4 * max(1, len(undo)) + 64:  # forget entries long gone
            alive = {id(fn) for _, fn in undo}
            self.records = {k: v for k, v in self.records.items() if k in alive}


_UNKNOWN = object()


def _before_value(live: Any, command: Command, t: float) -> Any:
    a = command.args
    try:
        if command.name == "layer.opacity":
            return live.engine.opacity(a["layer"], t)
        if command.name == "layer.param":
            return live.engine.param(a["layer"], a["param"], t)
        if command.name == "surface.visible":
            return live.engine.visible(a["surface"])
        if command.name == "output.level":
            return live.engine.level(a["output"], t)
        if command.name == "output.testpattern":
            return live.patterns[a["output"]]
        if command.name == "layer.content":
            return live.engine.content(a["layer"])
    except (KeyError, TypeError):
        return _UNKNOWN
    return _UNKNOWN
