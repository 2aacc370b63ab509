"""Live pickup of edited show folders and calibration files (runtime wiring, no GL).

:class:`ShowWatcher` watches every file the running show depends on
(``Show.watched_files()``: ``show.toml``, the calibration files its surfaces use, its media
and shaders) with :class:`mapping.watch.FileWatcher`, and on a change submits the
``show.reload`` registry command. The render thread applies it at a frame boundary: a
valid folder is adopted (mappings swap in without touching the cue state), an invalid one
is refused with its problems and the show keeps its last good state. After each reload the
watched set follows the new show.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mapping.watch import FileWatcher

log = logging.getLogger(__name__)


class ShowWatcher:
    """Submits ``show.reload`` to a player when a file of its show changes."""

    def __init__(self, player: Any, debounce_s: float = 0.25) -> None:
        self.player = player
        self._generation = player.live.generation
        self._watcher = FileWatcher(
            player.live.show.watched_files(), self._changed, debounce_s=debounce_s
        )
        player.frame_listeners.append(self._after_frame)

    def start(self) -> ShowWatcher:
        self._watcher.start()
        return self

    def close(self) -> None:
        self._watcher.stop()
        if self._after_frame in self.player.frame_listeners:
            self.player.frame_listeners.remove(self._after_frame)

    def _changed(self, paths: frozenset[Path]) -> None:
        names = ", ".join(sorted(p.name for p in paths))
        log.info("changed on disk: %s; reloading the show", names)
        self.player.submit("show.reload", source="watch", on_result=self._report)

    @staticmethod
    def _report(result: Any) -> None:
        if result.ok:
            log.info("show reloaded")
        # a refusal is already logged by the player with its problems

    def _after_frame(self, player: Any) -> None:
        if player.live.generation != self._generation:
            self._generation = player.live.generation
            self._watcher.set_paths(player.live.show.watched_files())
