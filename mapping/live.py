"""The live show: everything commands change while a show runs (pure, no GL).

:class:`LiveShow` is the target of every command in :mod:`mapping.control.builtin`: the
show being played, its :class:`~mapping.cues.CueEngine`, the master level and blackout
(which ignore the cue list), the test pattern on each output and the show lock. The frame
loop asks it for the :class:`~mapping.cues.FrameState` at each show time; the renderer
only draws what that says.

Loading another show by name (``/show/load``) goes through :class:`ShowLibrary`, which only
names show folders directly inside the shows folder: no ``..``, no absolute paths, no
symbolic links leading out.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mapping.cues import CueEngine, Fade, FrameState
from mapping.patterns import PATTERN_KINDS
from mapping.show import SHOW_FILE, Show, Surface, load_show

log = logging.getLogger(__name__)

REFERENCE_PATTERN = "reference"
_SHOW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ShowLibrary:
    """The show folders an operator may load by name: the folders inside ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if _SHOW_NAME.fullmatch(p.name) and (p / SHOW_FILE).is_file() and self._inside(p)
        )

    def folder(self, name: str) -> Path:
        """The folder of show ``name``; ValueError naming what was wrong."""
        if not _SHOW_NAME.fullmatch(name) or name in (".", ".."):
            raise ValueError(
                f"show name {name!r}: expected the name of a folder in {self.root} "
                "(letters, digits, '.', '-', '_'; no paths)"
            )
        folder = self.root / name
        if not (folder / SHOW_FILE).is_file():
            raise ValueError(f"no show named {name!r} in {self.root}: expected {name}/{SHOW_FILE}")
        if not self._inside(folder):
            raise ValueError(f"show name {name!r}: leads outside the shows folder {self.root}")
        return folder

    def _inside(self, folder: Path) -> bool:
        try:
            resolved = folder.resolve(strict=True)
        except OSError:
            return False
        return resolved.parent == self.root


class LiveShow:
    """The state commands act upon; see the module docstring."""

    def __init__(
        self,
        show: Show,
        *,
        library: ShowLibrary | None = None,
        loader: Callable[[Path], Show] = load_show,
    ) -> None:
        self.library = library
        self.loader = loader
        self.master = Fade(1.0, 1.0)
        self.blackout = False
        self.running = True
        self.generation = 0
        """Bumped whenever ``show`` is replaced: the frame loop gives the renderer the new one."""
        self.schedule: Any = None
        """The evening schedule's operator state, when a schedule runs the show (else None):
        a :class:`mapping.control.schedule.ScheduleState` that the ``schedule.*`` commands act on.
        """
        self.reload_error: str | None = None
        """Why the last reload was refused (file, line, problem), until one succeeds."""
        self.last_changes: tuple[Any, ...] = ()
        self.files_in_progress: Callable[[], frozenset[Path]] = frozenset
        self._offered: tuple[Path, Show, dict[Path, tuple[int, int]]] | None = None
        """Files being written now (the folder watcher's): not opened until complete."""
        """What the last successful reload changed, in words (:mod:`mapping.showdiff`)."""
        self._adopt(show)
        self.locked = show.control.locked

    def _adopt(self, show: Show) -> None:
        from mapping.control.blending import BlendEditor
        from mapping.control.corners import CornerEditor
        from mapping.control.mesh_edit import MeshEditor
        from mapping.showdiff import folder_snapshot

        self.show = show
        self._snapshot = folder_snapshot(show.root, show.watched_files())
        self.engine = CueEngine(show)
        self.patterns: dict[str, str | None] = {o.name: None for o in show.outputs}
        self.images: dict[str, np.ndarray] = {}
        self._images_shown = 0
        self.corners = CornerEditor(self)
        self.blend = BlendEditor(self)
        self.mesh = MeshEditor(self)
        self.generation += 1

    def replace_surfaces(self, surfaces: tuple[Surface, ...]) -> None:
        """New mappings for the same surfaces (a live calibration edit): cues carry on."""
        self.show = dataclasses.replace(self.show, surfaces=surfaces)
        self.engine.show = self.show
        self.generation += 1

    # -- names commands accept

    def pattern_kinds(self) -> tuple[str, ...]:
        extra = (REFERENCE_PATTERN,) if self.show.canvas.reference is not None else ()
        return (*PATTERN_KINDS, *extra)

    def cue_numbers(self) -> list[str]:
        return [c.number for c in self.show.cues]

    def layer_names(self) -> list[str]:
        return [la.name for la in self.show.layers]

    def param_names(self, layer: str) -> list[str]:
        try:
            return list(self.show.layer(layer).params)
        except KeyError:
            return []

    def surface_names(self) -> list[str]:
        return [s.name for s in self.show.surfaces]

    def output_names(self) -> list[str]:
        return [o.name for o in self.show.outputs]

    def show_names(self) -> list[str]:
        return self.library.names() if self.library is not None else []

    # -- show-wide state

    def master_level(self, show_time_s: float) -> float:
        return self.master.at(show_time_s)

    def set_master(self, value: float, show_time_s: float, fade_s: float = 0.0) -> float:
        before = self.master.at(show_time_s)
        self.master.to(value, show_time_s, fade_s, "linear")
        return before

    def set_pattern(self, output: str, kind: str | None) -> str | None:
        if kind is not None and kind.startswith("image:") and output in self.images:
            pass  # undoing back to an image still held
        elif kind is not None and kind not in self.pattern_kinds():
            raise ValueError(
                f"unknown pattern {kind!r}; expected one of: {', '.join(self.pattern_kinds())}"
            )
        before = self.patterns[output]
        self.patterns[output] = kind
        return before

    def show_image(self, output: str, file: str) -> str | None:
        """Show an image file full screen on ``output`` (``""``: back to the show).

        The file must be inside the show folder (no ``..`` leading out, no symbolic link
        leading out) and exactly the output's resolution, so it lands pixel for pixel (a
        structured-light pattern, a test chart). Returns the pattern it replaced.
        ValueError naming the file and what was expected otherwise.
        """
        from mapping.media.errors import MediaError
        from mapping.media.image import load_image

        before = self.patterns[output]
        if not file:
            self.patterns[output] = None
            self.images.pop(output, None)
            return before
        root = self.show.root.resolve()
        path = (root / file).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"{file}: expected an image file inside the show folder {root}")
        try:
            image = load_image(path)
        except MediaError as exc:
            raise ValueError(str(exc)) from None
        size = self.show.output(output).resolution
        if (image.shape[1], image.shape[0]) != tuple(size):
            raise ValueError(
                f"{file}: {image.shape[1]}×{image.shape[0]} pixels, expected output "
                f"'{output}''s {size[0]}×{size[1]} to show it pixel for pixel"
            )
        self._images_shown += 1
        self.images[output] = image
        self.patterns[output] = f"image:{self._images_shown}:{file}"
        return before

    def set_layer_file(self, layer: str, file: str, show_time_s: float, fade_s: float) -> Any:
        """Show a file of the show folder on a layer (``layer.content``), fading over
        ``fade_s``; returns the content it replaced. The file must be inside the show
        folder, readable, of a kind that takes a file, and completely written (a file
        added while the show runs is available as soon as its copy is complete).
        ValueError naming the file and what was expected otherwise.
        """
        from mapping import validate
        from mapping.kinds import LAYER_KINDS

        kind = LAYER_KINDS[self.show.layer(layer).kind]
        if not kind.takes_file:
            raise ValueError(f"layer '{layer}' is a {kind.name} layer: it shows {kind.expected}")
        root = self.show.root.resolve()
        path = (root / file).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"{file}: expected a file inside the show folder {root}")
        if problem := validate.file_problem(path):
            raise ValueError(f"{file}: {problem} (looked for {path})")
        if path in self.files_in_progress():
            raise ValueError(f"{file}: still being written; try again when it is complete")
        return self.engine.set_content(layer, path, show_time_s, fade_s)

    def cycle_patterns(self) -> None:
        kinds: list[str | None] = [*self.pattern_kinds(), None]
        for name, current in self.patterns.items():
            index = kinds.index(current) if current in kinds else -1
            self.patterns[name] = kinds[(index + 1) % len(kinds)]

    def load_named(self, name: str) -> Show:
        """Load show ``name`` from the library and make it the live show."""
        if self.library is None:
            raise ValueError("no shows folder: start the show from a folder inside one")
        show = self.loader(self.library.folder(name))
        self._adopt(show)
        log.info("loaded show '%s'", show.name)
        return show

    def reload(self, show_time_s: float) -> Show:
        """Read the show folder again (an edit, a new calibration, new media) and adopt it.

        Raises the loader's ValidationError for an invalid folder: the caller reports it and
        the show keeps running on its last good state. A valid one is adopted at once
        (the caller is the render thread, at a frame boundary) keeping the cue state:
        current and standby cues, running fades, show time and media times go on
        (:meth:`CueEngine.adopt`); only values the edit changed in the current cue's
        tracked state jump to their new value. What changed is logged in words
        (:mod:`mapping.showdiff`) and kept in :attr:`last_changes`. A show loaded ahead by
        :meth:`offer_loaded` (the folder watcher's thread) is used instead of loading here.
        """
        from mapping.errors import Problem, ValidationError
        from mapping.showdiff import describe_reload, diff_files, diff_shows, folder_snapshot

        offered, self._offered = self._offered, None
        try:
            if offered is not None and offered[0] == self.show.root:
                new, snapshot = offered[1], offered[2]
            else:
                new = self.loader(self.show.root)
                snapshot = folder_snapshot(new.root, new.watched_files())
            used = {p for _, p in new.media_files()}
            used |= {
                c for name in self.layer_names() if isinstance(c := self.engine.content(name), Path)
            }
            copying = sorted(self.files_in_progress() & used)
            if copying:
                raise ValidationError(
                    Problem(p, "", "still being written; the show reloads when it is complete")
                    for p in copying
                )
        except ValidationError as exc:
            self.reload_error = str(exc)
            raise
        old = self.show
        busy = self.files_in_progress()  # reported when complete, not before
        snapshot = {p: s for p, s in snapshot.items() if p not in busy}
        changes = diff_shows(old, new) + diff_files(new.root, self._snapshot, snapshot)
        self._snapshot = snapshot
        self.reload_error = None
        if not changes:  # a save of the same bytes, a touch: nothing to redo
            log.info("%s", describe_reload(changes))
            return self.show
        self.engine.adopt(new, show_time_s)
        self.show = new
        self.patterns = {o.name: self.patterns.get(o.name) for o in new.outputs}
        self.images = {k: v for k, v in self.images.items() if k in self.patterns}
        self.generation += 1
        self.last_changes = tuple(changes)
        log.info("%s", describe_reload(changes))
        return new

    def offer_loaded(self, root: Path) -> None:
        """Load and validate the show folder ``root`` now, on the calling thread (the
        folder watcher's), for the next :meth:`reload` to adopt, so that the render thread
        does not spend a frame on it. An invalid folder offers nothing: the reload loads
        it again and reports why."""
        from mapping.errors import ValidationError
        from mapping.showdiff import folder_snapshot

        try:
            show = self.loader(root)
        except ValidationError:
            return
        self._offered = (root, show, folder_snapshot(show.root, show.watched_files()))

    def busy(self, show_time_s: float) -> bool:
        return self.engine.busy(show_time_s) or self.master.running(show_time_s)

    def frame(self, show_time_s: float) -> FrameState:
        """What every output shows at ``show_time_s``."""
        state = self.engine.tick(show_time_s)
        master = 0.0 if self.blackout else self.master.at(show_time_s)
        images = {
            n: self.images[n] for n, k in self.patterns.items() if k and k.startswith("image:")
        }
        return dataclasses.replace(
            state, master=master, patterns=dict(self.patterns), pattern_images=images
        )
