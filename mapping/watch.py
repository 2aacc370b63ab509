"""Watching files for changes: a set of paths in, debounced "these changed" callbacks out.

This module owns noticing that a show's files (``show.toml``, the calibration files it
references, media) changed on disk, and telling the caller once per burst of changes.
It knows nothing of GL, shows or players: the caller decides what a change means (the
player reloads and re-validates the show, keeps the last good one on error, and swaps
at a frame boundary).

It uses the maintained ``watchdog`` library (inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows), watching the *folders* that hold the files, not the
files: an atomic save (temp file + rename, as ``calibration.store`` does) replaces the
file's inode, which a watch on the file itself would lose. Creation, modification,
deletion and renames onto or away from a watched path all count.

Usage::

    watcher = FileWatcher([show_toml, calibration_toml], on_change, debounce_s=0.25)
    watcher.start()
    ...
    watcher.set_paths(new_show.watched_files())   # after a reload
    ...
    watcher.stop()

``on_change(paths)`` receives a ``frozenset[Path]`` of the watched paths (absolute, as
given after ``os.path.abspath``) that changed in the burst. It runs on the watcher's own
thread: keep it short (put a command on a queue), and never touch GL from it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

logger = logging.getLogger(__name__)

ChangeCallback = Callable[[frozenset[Path]], None]


class FileWatcher:
    """Watch a set of files; after ``debounce_s`` of quiet, call back with those that changed.

    A burst of events (an editor's save, a calibration tool's temp + rename + history
    copy) gives one callback. Files that do not exist yet may be watched (their folder
    must exist); a watched symlink is watched at its target too. Safe to use as a
    context manager; :meth:`stop` is idempotent.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_change: ChangeCallback,
        *,
        debounce_s: float = 0.25,
    ) -> None:
        if not debounce_s >= 0:
            raise ValueError(f"debounce_s must be >= 0, got {debounce_s!r}")
        self._on_change = on_change
        self._debounce_s = float(debounce_s)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: set[Path] = set()
        self._last_event = 0.0
        self._stopping = False
        self._observer: Observer | None = None
        self._thread: threading.Thread | None = None
        self._watches: dict[Path, object] = {}
        self._aliases: dict[Path, Path] = {}  # any name a watched file goes by → as given
        self._set_aliases(paths)

    # -- public API

    @property
    def paths(self) -> frozenset[Path]:
        """The watched files, absolute, as given."""
        with self._lock:
            return frozenset(self._aliases.values())

    def start(self) -> FileWatcher:
        """Start watching (returns ``self``); events before this are not reported."""
        if self._observer is not None:
            return self
        self._observer = Observer()
        self._observer.daemon = True
        self._sync_watches()
        self._observer.start()
        self._thread = threading.Thread(target=self._deliver, name="file-watcher", daemon=True)
        self._thread.start()
        logger.debug("watching %d file(s)", len(self.paths))
        return self

    def set_paths(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Replace the watched set (e.g. after a reload found new files); keeps running."""
        self._set_aliases(paths)
        if self._observer is not None:
            self._sync_watches()

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

    def _set_aliases(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        aliases: dict[Path, Path] = {}
        for raw in paths:
            given = Path(os.path.abspath(raw))
            aliases[given] = given
            aliases.setdefault(Path(os.path.realpath(given)), given)
        with self._lock:
            self._aliases = aliases

    def _sync_watches(self) -> None:
        assert self._observer is not None
        with self._lock:
            folders = {p.parent for p in self._aliases}
        for folder in folders - set(self._watches):
            if not folder.is_dir():
                logger.warning("cannot watch %s: folder %s does not exist", folder, folder)
                continue
            self._watches[folder] = self._observer.schedule(
                _Handler(self), str(folder), recursive=False
            )
        for folder in set(self._watches) - folders:
            self._observer.unschedule(self._watches.pop(folder))

    def _event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        names = [event.src_path, getattr(event, "dest_path", "") or ""]
        with self._lock:
            hits = {self._aliases[p] for n in names if n and (p := Path(str(n))) in self._aliases}
            if not hits:
                return
            self._pending |= hits
            self._last_event = time.monotonic()
            self._wake.notify_all()

    def _deliver(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                quiet_for = time.monotonic() - self._last_event
                if quiet_for < self._debounce_s:
                    self._wake.wait(self._debounce_s - quiet_for)
                    continue
                changed = frozenset(self._pending)
                self._pending.clear()
            try:
                self._on_change(changed)
            except Exception:  # a failing callback must not stop the watching
                logger.exception("file-change callback failed for %s", sorted(changed))


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FileWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "modified", "deleted", "moved", "closed"):
            self._watcher._event(event)
