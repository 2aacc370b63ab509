"""Watching files for changes: paths and folder trees in, debounced "these changed" out.

This module owns noticing that a show's files (``show.toml``, the calibration files it
references, everything under its folder: ``media/``, ``shaders/``) changed on disk, and
telling the caller once per burst of changes, *only once each file is completely written*.
It knows nothing of GL, shows or players: the caller decides what a change means (the
player reloads and re-validates the show, keeps the last good one on error, and swaps at a
frame boundary).

It uses the maintained ``watchdog`` library (inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows), watching *folders*, not files: an atomic save (temp file
+ rename, as ``calibration.store`` does) replaces the file's inode, which a watch on the
file itself would lose. Creation, modification, deletion, attribute changes and renames
onto or away from a watched path all count. Two kinds of watch:

* ``paths``: single files (their folder is watched, other files in it are ignored);
* ``trees``: folders watched recursively; any file under them counts, except hidden
  names (``.history/``, an editor's ``.show.toml.swp``, the ``.name.XXXX.tmp`` of an
  atomic save) and partial downloads (``~``, ``.tmp``, ``.part``, ``.crdownload``,
  ``.partial``, ``.swp``): their rename into place is what counts.

**Complete files only.** A file still being written (a 2 GB clip copied in) is held back
until it is complete, by one of two rules:

* *close after write* (Linux: inotify reports ``IN_CLOSE_WRITE``, watchdog's
  ``FileClosedEvent``): a file that was created or written is complete when its writer
  closes it. A pause in the copy, however long, does not count; the kernel closes the
  files of a writer that dies, so the close always comes. One exception: a file written
  into a folder created a moment before, before watchdog had put a watch on that new
  folder, is reported only as "created" with data in it; no write or close follows, so
  it counts once unchanged for :data:`APPEARED_SETTLE_S` (any later write cancels that).
* *settle* (other systems, or ``close_events=False``): complete once its size and
  modification time have not changed, and no event came, for ``settle_s``.

Either way a file renamed into place (an atomic save, ``rsync``, a browser download) is
complete at once, and a deleted file counts at once. Complete files whose last event is
``debounce_s`` old are delivered together; a file still being written never delays the
others.

Usage::

    watcher = FileWatcher([calibration_toml], on_change, trees=[show_root], debounce_s=0.1)
    watcher.start()
    ...
    watcher.set_paths(new_show.watched_files())   # after a reload
    ...
    watcher.stop()

``on_change(paths)`` receives a ``frozenset[Path]`` of the paths (absolute, as given after
``os.path.abspath``; under a tree, as found there) that changed. It runs on the watcher's
own thread: keep it short (put a command on a queue), and never touch GL from it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

logger = logging.getLogger(__name__)

ChangeCallback = Callable[[frozenset[Path]], None]

SETTLE_S = 2.0
"""Default quiet time after which a file is taken as complete where the system does not
report a writer's close (the *settle* rule)."""

APPEARED_SETTLE_S = 0.5
"""Close-after-write rule: how long a file that only *appeared* (reported created with
data in it, no write or close seen, as happens inside a folder made a moment ago) must
stay unchanged to count as complete."""

PARTIAL_SUFFIXES = ("~", ".tmp", ".part", ".partial", ".crdownload", ".swp", ".swx")
"""Names under a watched tree that are someone's work in progress, never content."""

_POLL_S = 0.05  # how often pending files are looked at (stat) while some wait

_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
"""What is asked of the system: not the opens and read-only closes of readers (the show's
own decoders open its files all the time)."""


def ignored_name(relative: Path) -> bool:
    """Whether a path under a watched tree is hidden or a partial file (see module doc)."""
    parts = relative.parts
    if any(p.startswith(".") for p in parts):
        return True
    return bool(parts) and parts[-1].lower().endswith(PARTIAL_SUFFIXES)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@dataclass
class _Pending:
    """A changed path not delivered yet."""

    last_event: float
    writing: bool = False  # written since its last close (close-after-write rule)
    renamed: bool = False  # renamed into place since its last write: complete
    appeared: bool = False  # seen only as created with data in it, no write or close since
    stat: tuple[int, int] | None = None
    stat_since: float = 0.0  # when ``stat`` was first seen (settle rule)


class FileWatcher:
    """Watch files and folder trees; call back with complete changed files (module doc).

    A burst of events (an editor's save, a calibration tool's temp + rename + history
    copy) gives one callback. Files that do not exist yet may be watched (their folder
    must exist); a watched symlink is watched at its target too. Safe to use as a
    context manager; :meth:`stop` is idempotent.

    ``close_events``: ``None`` (default) uses the close-after-write rule where the system
    reports closes (inotify) and the settle rule elsewhere; ``False`` forces the settle
    rule; ``True`` requires close events.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_change: ChangeCallback,
        *,
        trees: Iterable[str | os.PathLike[str]] = (),
        debounce_s: float = 0.25,
        settle_s: float = SETTLE_S,
        close_events: bool | None = None,
    ) -> None:
        if not debounce_s >= 0:
            raise ValueError(f"debounce_s must be >= 0, got {debounce_s!r}")
        if not settle_s >= 0:
            raise ValueError(f"settle_s must be >= 0, got {settle_s!r}")
        self._on_change = on_change
        self._debounce_s = float(debounce_s)
        self._settle_s = float(settle_s)
        self._close_events_wanted = close_events
        self.close_events = False
        """Whether the close-after-write rule is in use (known after :meth:`start`)."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: dict[Path, _Pending] = {}
        self._stopping = False
        self._observer: Observer | None = None
        self._thread: threading.Thread | None = None
        self._watches: dict[tuple[Path, bool], object] = {}
        self._aliases: dict[Path, Path] = {}  # any name a watched file goes by → as given
        self._trees: tuple[Path, ...] = ()
        self._set_aliases(paths, trees)

    # -- public API

    @property
    def paths(self) -> frozenset[Path]:
        """The watched files, absolute, as given."""
        with self._lock:
            return frozenset(self._aliases.values())

    @property
    def trees(self) -> tuple[Path, ...]:
        """The folders watched recursively, absolute."""
        with self._lock:
            return self._trees

    def start(self) -> FileWatcher:
        """Start watching (returns ``self``); events before this are not reported."""
        if self._observer is not None:
            return self
        self._observer = Observer()
        self._observer.daemon = True
        reports_closes = type(self._observer).__name__ == "InotifyObserver"
        if self._close_events_wanted and not reports_closes:
            raise RuntimeError(
                f"close_events=True: {type(self._observer).__name__} does not report a "
                "writer's close; use the settle rule (close_events=None or False)"
            )
        self.close_events = reports_closes and self._close_events_wanted is not False
        self._sync_watches()
        self._observer.start()
        self._thread = threading.Thread(target=self._deliver, name="file-watcher", daemon=True)
        self._thread.start()
        logger.debug(
            "watching %d file(s) and %d folder(s), complete files by %s",
            len(self.paths),
            len(self.trees),
            "close after write" if self.close_events else f"{self._settle_s:g} s settle",
        )
        return self

    def set_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        trees: Iterable[str | os.PathLike[str]] | None = None,
    ) -> None:
        """Replace the watched set (e.g. after a reload found new files); keeps running.
        ``trees=None`` keeps the watched folders."""
        self._set_aliases(paths, self.trees if trees is None else trees)
        if self._observer is not None:
            self._sync_watches()

    def busy(self) -> frozenset[Path]:
        """Changed files held back because they are still being written."""
        now = time.monotonic()
        with self._lock:
            return frozenset(p for p, e in self._pending.items() if not self._complete(p, e, now))

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop watching; pending changes not yet delivered are dropped."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout_s)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> FileWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals

    def _set_aliases(
        self, paths: Iterable[str | os.PathLike[str]], trees: Iterable[str | os.PathLike[str]]
    ) -> None:
        aliases: dict[Path, Path] = {}
        for raw in paths:
            given = Path(os.path.abspath(raw))
            aliases[given] = given
            aliases.setdefault(Path(os.path.realpath(given)), given)
        tree_list = tuple(dict.fromkeys(Path(os.path.abspath(t)) for t in trees))
        with self._lock:
            self._aliases = aliases
            self._trees = tree_list

    def _in_tree(self, path: Path) -> Path | None:
        for tree in self._trees:
            if path == tree or path.is_relative_to(tree):
                return tree
        return None

    def _sync_watches(self) -> None:
        assert self._observer is not None
        with self._lock:
            wanted = {(t, True) for t in self._trees}
            wanted |= {(p.parent, False) for p in self._aliases if self._in_tree(p.parent) is None}
        for folder, recursive in wanted - set(self._watches):
            if not folder.is_dir():
                logger.warning("cannot watch %s: folder %s does not exist", folder, folder)
                continue
            self._watches[(folder, recursive)] = self._observer.schedule(
                _Handler(self), str(folder), recursive=recursive, event_filter=_EVENTS
            )
        for key in set(self._watches) - wanted:
            self._observer.unschedule(self._watches.pop(key))

    def _match(self, name: str) -> Path | None:
        """The watched path an event's path stands for (lock held), or None."""
        path = Path(name)
        if path in self._aliases:
            return self._aliases[path]
        tree = self._in_tree(path)
        if tree is None or path == tree or ignored_name(path.relative_to(tree)):
            return None
        return path

    def _event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if event.is_directory and kind in ("created", "modified", "attrib", "closed"):
            return  # a new folder changes nothing by itself: its files are reported
        now = time.monotonic()
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(getattr(event, "dest_path", "") or "")
        with self._lock:
            hits: list[tuple[Path, str]] = []  # (path, what happened to it)
            if (hit := self._match(src)) is not None:
                what = kind
                if kind in ("created", "modified") and not event.is_directory:
                    what = "written"
                    if kind == "created" and os.path.islink(src):
                        what = "renamed"  # a symlink is complete when made
                    elif kind == "created" and (_stat(Path(src)) or (0, 0))[0] > 0:
                        what = "appeared"  # e.g. in a folder made a moment ago (see below)
                hits.append((hit, what))
            if dest and (hit := self._match(dest)) is not None:
                hits.append((hit, "renamed"))  # renamed into place: complete at once
            for path, what in hits:
                entry = self._pending.get(path)
                if entry is None:
                    entry = self._pending[path] = _Pending(now, stat_since=now)
                entry.last_event = now
                if what == "written":
                    entry.writing, entry.renamed, entry.appeared = True, False, False
                elif what == "appeared" and not entry.writing:
                    entry.writing, entry.renamed, entry.appeared = True, False, True
                elif what in ("closed", "moved", "deleted"):
                    entry.writing = entry.appeared = False
                elif what == "renamed":
                    entry.writing, entry.renamed = False, True
            if hits:
                self._wake.notify_all()

    def _complete(self, path: Path, entry: _Pending, now: float) -> bool:
        """Whether a changed path is completely written (lock held)."""
        if entry.renamed:
            return not entry.writing
        stat = _stat(path)
        if stat != entry.stat:
            entry.stat, entry.stat_since = stat, now
        if stat is None:
            return True  # gone: nothing left to write
        quiet = min(now - entry.last_event, now - entry.stat_since)
        if self.close_events:
            # A file in a folder created a moment ago can be written before the watch on
            # that folder exists: watchdog then reports it "created" with data in it and
            # no write or close will follow. It is complete once quiet for a short settle.
            return not entry.writing or (entry.appeared and quiet >= APPEARED_SETTLE_S)
        return quiet >= self._settle_s

    def _deliver(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                now = time.monotonic()
                ready = {p: e for p, e in self._pending.items() if self._complete(p, e, now)}
                # a burst is delivered once its newest complete change is debounce_s old
                if not ready:
                    self._wake.wait(_POLL_S)  # files being written: look again soon
                    continue
                wait = self._debounce_s - (now - max(e.last_event for e in ready.values()))
                if wait > 0:
                    self._wake.wait(wait)  # woken early by any new event
                    continue
                for path in ready:
                    del self._pending[path]
                changed = frozenset(ready)
            try:
                self._on_change(changed)
            except Exception:  # a failing callback must not stop the watching
                logger.exception("file-change callback failed for %s", sorted(changed))


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FileWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "modified", "deleted", "moved", "closed", "attrib"):
            self._watcher._event(event)
