"""Corner pin on the live output: technicians move a surface's corners in ``projector_px``.

This module owns live mapping edits (pure, no GL): :class:`CornerEditor` holds the selected
surface and corner, moves a corner to a point of its output, nudges it (1 px, or 0.1 px
with SHIFT), picks the corner nearest a mouse click, and saves edited surfaces to their
calibration files. Every edit is a registry command (:data:`CORNER_SPECS`), so a technician
can work from the window (mouse, arrow keys), from a tablet over OSC, or from a script, and
undo or redo any step.

The four corners of a surface are the images in ``projector_px`` of four *anchor* points
in ``canvas_px``: the polygon's vertices when it has four, else the corners of its bounding
box. Moving corner *i* refits ``H_canvas_to_projector`` exactly through the four pairs
(``geometry.homography_from_points``); a move that would fold the quad (three corners in a
line, a bow-tie) or send the polygon through the horizon is refused with the reason.

Saving writes each edited surface to the calibration file entry it was loaded from (a
surface mapped with ``calibration = {...}``; other surfaces of the show that share that
entry follow when the file is read again), or to ``calibration.toml`` in the show folder
under its own name, atomically with history (``calibration/store.py``), with method
``corner-pin`` and the surface's mesh warp, if it has one (``mapping/control/mesh_edit.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from calibration.store import (
    CalibrationFile,
    SurfaceCalibration,
    update_calibration,
    with_surface,
)
from mapping import geometry
from mapping.commands import Arg, CommandError, CommandSpec
from mapping.show import Surface

log = logging.getLogger(__name__)

CORNER_NAMES = ("0", "1", "2", "3")
"""Corners are numbered like the polygon's anchors: 0 top-left, 1 top-right, 2 bottom-right,
3 bottom-left for a rectangle drawn clockwise from the top-left."""
DEFAULT_CALIBRATION_FILE = "calibration.toml"
PICK_RADIUS_PX = 40.0


def anchors_canvas_px(surface: Surface) -> np.ndarray:
    """The four ``canvas_px`` points whose images are the surface's corners, shape (4, 2)."""
    polygon = np.asarray(surface.polygon_canvas_px, dtype=np.float64)
    if len(polygon) == 4:
        return polygon.copy()
    x0, y0, x1, y1 = geometry.polygon_bounds(polygon)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def corners_projector_px(surface: Surface) -> np.ndarray:
    """Where the surface's anchors land on its output, shape (4, 2)."""
    return geometry.apply_homography(surface.H_canvas_to_projector, anchors_canvas_px(surface))


class CornerEditor:
    """The live corner-pin state of one :class:`~mapping.live.LiveShow`."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.selected: tuple[str, int] | None = None
        self.edited: set[str] = set()

    # -- reading

    def surface(self, name: str) -> Surface:
        try:
            return self.live.show.surface(name)
        except KeyError:
            raise CommandError(f"unknown surface '{name}'") from None

    def corner(self, name: str, corner: int) -> tuple[float, float]:
        x, y = corners_projector_px(self.surface(name))[corner]
        return float(x), float(y)

    # -- editing

    def move(self, name: str, corner: int, x_px: float, y_px: float) -> tuple[float, float]:
        """Put corner ``corner`` of surface ``name`` at (x, y) ``projector_px``; returns where
        it was. CommandError (and nothing changed) if the quad would fold."""
        surface = self.surface(name)
        corners = corners_projector_px(surface)
        before = (float(corners[corner, 0]), float(corners[corner, 1]))
        corners[corner] = (x_px, y_px)
        problem = geometry.quad_degeneracy(corners)
        if problem:
            raise CommandError(f"surface '{name}': corner {corner} cannot go there: {problem}")
        try:
            H = geometry.homography_from_points(anchors_canvas_px(surface), corners)
        except ValueError as exc:
            raise CommandError(f"surface '{name}': {exc}") from None
        if not geometry.polygon_maps_finitely(H, surface.polygon_canvas_px):
            raise CommandError(
                f"surface '{name}': corner {corner} there would send the surface through the "
                "horizon"
            )
        self._replace(surface, H)
        return before

    def _replace(self, surface: Surface, H_canvas_to_projector: np.ndarray) -> None:
        new = dataclasses.replace(surface, H_canvas_to_projector=H_canvas_to_projector)
        surfaces = tuple(new if s.name == surface.name else s for s in self.live.show.surfaces)
        self.live.replace_surfaces(surfaces)
        self.edited.add(surface.name)

    def select(self, name: str, corner: int) -> None:
        self.surface(name)
        self.selected = (name, corner)

    def require_selection(self) -> tuple[str, int]:
        if self.selected is None:
            raise CommandError("no corner selected: click one, or send /calibrate/select s i")
        name, corner = self.selected
        self.surface(name)  # still there after a reload?
        return name, corner

    def pick(self, output: str, x_px: float, y_px: float) -> tuple[str, int] | None:
        """Select the corner of a surface on ``output`` nearest (x, y), within the radius."""
        best: tuple[float, str, int] | None = None
        for surface in self.live.show.surfaces_on(output):
            corners = corners_projector_px(surface)
            distances = np.hypot(corners[:, 0] - x_px, corners[:, 1] - y_px)
            i = int(np.argmin(distances))
            if distances[i] <= PICK_RADIUS_PX and (best is None or distances[i] < best[0]):
                best = (float(distances[i]), surface.name, i)
        self.selected = None if best is None else (best[1], best[2])
        return self.selected

    # -- saving

    def target_file(self, surface: Surface) -> Path:
        if surface.calibration_file is not None:
            return surface.calibration_file
        return self.live.show.root / DEFAULT_CALIBRATION_FILE

    def save(self) -> list[Path]:
        """Write every edited surface to its calibration file; the files written."""
        by_file: dict[Path, list[Surface]] = {}
        for name in sorted(self.edited):
            surface = self.surface(name)
            by_file.setdefault(self.target_file(surface), []).append(surface)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for file, surfaces in by_file.items():
            entries = {}
            for surface in surfaces:
                entries[surface.calibration_entry or surface.name] = SurfaceCalibration(
                    surface.output,
                    geometry.normalize_homography(surface.H_canvas_to_projector),
                    method="corner-pin",
                    points=4,
                    updated=now,
                    mesh_offsets_px=None if surface.mesh is None else surface.mesh.offsets_px,
                )
                if surface.calibration_file is None:
                    log.info(
                        "surface '%s' saved to %s; to use it, map the surface with "
                        'calibration = { file = "%s" }',
                        surface.name,
                        file,
                        DEFAULT_CALIBRATION_FILE,
                    )

            def change(cal: CalibrationFile, entries: dict = entries) -> CalibrationFile:
                for key, entry in entries.items():
                    cal = with_surface(cal, key, entry)
                return cal

            # read-modify-write under the file's lock: another technician's save of another
            # surface in the same file is kept
            update_calibration(file, change)
        self.edited.clear()
        return list(by_file)


# --- the commands -------------------------------------------------------------------------

_SURFACE = Arg("surface", str, "surface name", in_path=True, names=lambda t, _: t.surface_names())
_CORNER = Arg("corner", int, "corner 0..3", in_path=True, names=lambda t, _: CORNER_NAMES)
_NUDGE = 100.0


def _move(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor: CornerEditor = live.corners
    before = editor.move(a["surface"], a["corner"], a["x"], a["y"])
    return lambda: editor.move(a["surface"], a["corner"], *before)


def _nudge(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor: CornerEditor = live.corners
    name, corner = editor.require_selection()
    x, y = editor.corner(name, corner)
    before = editor.move(name, corner, x + a["dx"], y + a["dy"])
    return lambda: editor.move(name, corner, *before)


def _select(live: Any, a: Mapping[str, Any], t: float) -> None:
    live.corners.select(a["surface"], a["corner"])
    mesh = getattr(live, "mesh", None)
    if mesh is not None:
        mesh.selected = None  # nudges go to the corner now, not to a mesh point


def _next_corner(live: Any, a: Mapping[str, Any], t: float) -> None:
    editor: CornerEditor = live.corners
    names = [s.name for s in live.show.surfaces]
    if not names:
        raise CommandError("calibrate.next: the show has no surfaces")
    if editor.selected is None or editor.selected[0] not in names:
        editor.selected = (names[0], 0)
        return
    name, corner = editor.selected
    if corner < 3:
        editor.selected = (name, corner + 1)
    else:
        editor.selected = (names[(names.index(name) + 1) % len(names)], 0)


def _pick(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor: CornerEditor = live.corners
    if a["output"] not in live.output_names():
        raise CommandError(f"calibrate.pick: unknown output '{a['output']}'")
    picked = editor.pick(a["output"], a["x"], a["y"])
    mesh = getattr(live, "mesh", None)
    if mesh is not None:  # a mesh point nearer than any corner is picked instead
        undo = mesh.pick(a["output"], a["x"], a["y"], editor)
        if undo is not None:
            return undo
    if picked is None:
        return None
    name, corner = picked
    before = editor.corner(name, corner)  # a drag that follows is undone in one step
    return lambda: editor.move(name, corner, *before)


def _drag(live: Any, a: Mapping[str, Any], t: float) -> None:
    editor: CornerEditor = live.corners
    mesh = getattr(live, "mesh", None)
    if editor.selected is None and mesh is not None and mesh.selected is not None:
        mesh.drag_to(a["x"], a["y"])
        return
    name, corner = editor.require_selection()
    editor.move(name, corner, a["x"], a["y"])


def _save(live: Any, a: Mapping[str, Any], t: float) -> None:
    editor: CornerEditor = live.corners
    if not editor.edited:
        raise CommandError("calibrate.save: no surface was edited since the last save")
    try:
        files = editor.save()
    except (OSError, ValueError) as exc:
        raise CommandError(f"calibrate.save: {exc}") from None
    log.info("calibration saved: %s", ", ".join(str(f) for f in files))


def _selection(live: Any, a: Mapping[str, Any]) -> str:
    selected = live.corners.selected
    return "" if selected is None else f"{selected[0]} {selected[1]}"


_PX = dict(minimum=-100_000.0, maximum=100_000.0)

CORNER_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "surface.corner",
        "/surface/{surface}/corner/{corner}",
        "Put a corner of a surface at (x, y) on its output, in projector pixels",
        _move,
        (
            _SURFACE,
            _CORNER,
            Arg("x", float, "projector_px", **_PX),
            Arg("y", float, "projector_px", **_PX),
        ),
        query=lambda live, a: live.corners.corner(a["surface"], a["corner"])[0],
        edit=True,
        locked_in_show=True,
        group="calibration",
    ),
    CommandSpec(
        "calibrate.select",
        "/calibrate/select",
        "Select a surface's corner for nudging",
        _select,
        (Arg("surface", str, "surface name"), Arg("corner", int, "0..3", 0, 3)),
        query=_selection,
        locked_in_show=True,
        keys=(),
        group="calibration",
    ),
    CommandSpec(
        "calibrate.next",
        "/calibrate/next",
        "Select the next corner (then the next surface)",
        _next_corner,
        query=_selection,
        locked_in_show=True,
        keys=("TAB",),
        group="calibration",
    ),
    CommandSpec(
        "calibrate.nudge",
        "/calibrate/nudge",
        "Move the selected corner by (dx, dy) projector pixels",
        _nudge,
        (
            Arg("dx", float, "projector_px", -_NUDGE, _NUDGE),
            Arg("dy", float, "projector_px", -_NUDGE, _NUDGE),
        ),
        edit=True,
        locked_in_show=True,
        keys=(
            "LEFT=-1,0",
            "RIGHT=1,0",
            "UP=0,-1",
            "DOWN=0,1",
            "SHIFT+LEFT=-0.1,0",
            "SHIFT+RIGHT=0.1,0",
            "SHIFT+UP=0,-0.1",
            "SHIFT+DOWN=0,0.1",
        ),
        group="calibration",
    ),
    CommandSpec(
        "calibrate.pick",
        "/calibrate/pick",
        "Select the corner nearest (x, y) on an output (a mouse press)",
        _pick,
        (
            Arg("output", str, "output name"),
            Arg("x", float, "projector_px", **_PX),
            Arg("y", float, "projector_px", **_PX),
        ),
        query=_selection,
        edit=True,
        locked_in_show=True,
        group="calibration",
    ),
    CommandSpec(
        "calibrate.drag",
        "/calibrate/drag",
        "Move the selected corner to (x, y) on its output (a mouse drag)",
        _drag,
        (Arg("x", float, "projector_px", **_PX), Arg("y", float, "projector_px", **_PX)),
        locked_in_show=True,
        group="calibration",
    ),
    CommandSpec(
        "calibrate.save",
        "/calibrate/save",
        "Save every edited surface to its calibration file (atomic, with history)",
        _save,
        locked_in_show=True,
        keys=("CTRL+S",),
        group="calibration",
    ),
)
