"""Live pickup of edited show folders and calibration files (runtime wiring, no GL).

:class:`ShowWatcher` watches the running show's whole folder (``show.toml``, ``media/``,
``shaders/`` and anything else under it, recursively: a file *added* counts too) and every
file outside it the show depends on (``Show.watched_files()``: the calibration files its
surfaces use, LUTs), with :class:`mapping.watch.FileWatcher`. A file is only reported once
completely written (the writer closed it, or it was renamed into place; see
:mod:`mapping.watch`). On a change it loads and validates the folder on its own thread
(``LiveShow.offer_loaded``) and submits the ``show.reload`` registry command, which the
render thread applies at the start of a frame: a valid folder is adopted keeping the
cue state (:meth:`mapping.live.LiveShow.reload`) and logged with what changed
(:mod:`mapping.showdiff`); an invalid one is refused, logged with every problem (file,
line, key, what was expected), kept in ``LiveShow.reload_error``, and the show keeps its
last good state. After each reload or show change the watched set follows the new show.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mapping.watch import FileWatcher

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.1
"""Quiet time after a complete change before the show is reloaded (one reload per save)."""


class ShowWatcher:
    """Submits ``show.reload`` to a player when a file of its show changes."""

    def __init__(
        self,
        player: Any,
        debounce_s: float = DEBOUNCE_S,
        *,
        settle_s: float | None = None,
        close_events: bool | None = None,
    ) -> None:
        self.player = player
        self._generation = player.live.generation
        show = player.live.show
        extra = {} if settle_s is None else {"settle_s": settle_s}
        self._watcher = FileWatcher(
            show.watched_files(),
            self._changed,
            trees=[show.root],
            debounce_s=debounce_s,
            close_events=close_events,
            **extra,
        )
        self.reloads = 0
        """Reloads submitted (one per burst of complete changes)."""
        player.frame_listeners.append(self._after_frame)
        player.live.files_in_progress = self._watcher.busy

    @property
    def watcher(self) -> FileWatcher:
        return self._watcher

    def start(self) -> ShowWatcher:
        self._watcher.start()
        return self

    def close(self) -> None:
        self._watcher.stop()
        if self.player.live.files_in_progress == self._watcher.busy:
            self.player.live.files_in_progress = frozenset
        if self._after_frame in self.player.frame_listeners:
            self.player.frame_listeners.remove(self._after_frame)

    def _changed(self, paths: frozenset[Path]) -> None:
        root = self.player.live.show.root
        names = ", ".join(sorted(_shown(p, root) for p in paths))
        log.info("changed on disk: %s; reloading the show", names)
        self.reloads += 1
        try:  # validate here, not in a frame of the render thread
            self.player.live.offer_loaded(root)
        except Exception:
            log.exception("loading %s ahead of the reload failed", root)
        self.player.submit("show.reload", source="watch", on_result=self._report)

    def _report(self, result: Any) -> None:
        if result.ok:
            return  # LiveShow.reload logged what changed
        error = self.player.live.reload_error or result.message
        log.error("the edit was not applied, the show keeps running as it was:\n%s", error)

    def _after_frame(self, player: Any) -> None:
        if player.live.generation != self._generation:
            self._generation = player.live.generation
            show = player.live.show
            self._watcher.set_paths(show.watched_files(), trees=[show.root])


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
