"""Live mesh warp edits: give a surface a grid of control points and move them (pure, no GL).

Mesh points are edited like corners (:mod:`mapping.control.corners`): every edit is a
registry command with undo (so it reaches keys, OSC and scripts alike), and
``calibrate.save`` (CTRL+S) writes the edited surfaces, mesh included, to their calibration
entries. :class:`MeshEditor` gives a surface a grid (``/surface/{s}/mesh columns rows``;
an existing grid is resampled onto the new one, so its shape is kept; 0 removes it), sets
one point's offset (``/surface/{s}/mesh/{column}/{row} dx dy``, ``projector_px``), and
keeps a selected point that ALT+arrows nudge by 1 px (ALT+SHIFT: 0.1 px). The mouse picks
and drags points like corners: ``calibrate.pick`` selects the mesh point shown nearest the
click when it is nearer than any corner, and ``calibrate.drag`` then moves it (one undo
step for the whole drag). The maths is :mod:`mapping.mesh`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from mapping.commands import Arg, CommandError, CommandSpec
from mapping.control.corners import PICK_RADIUS_PX
from mapping.mesh import MESH_SIZE_RANGE, MeshWarp, mesh_offset, mesh_rect
from mapping.show import Surface


class MeshEditor:
    """The live mesh state of one :class:`~mapping.live.LiveShow`."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.selected: tuple[str, int, int] | None = None

    def surface(self, name: str) -> Surface:
        return self.live.corners.surface(name)

    def _replace(self, surface: Surface, mesh: MeshWarp | None) -> None:
        new = dataclasses.replace(surface, mesh=mesh)
        surfaces = tuple(new if s.name == surface.name else s for s in self.live.show.surfaces)
        self.live.replace_surfaces(surfaces)
        self.live.corners.edited.add(surface.name)

    def set_mesh(self, name: str, mesh: MeshWarp | None) -> MeshWarp | None:
        surface = self.surface(name)
        self._replace(surface, mesh)
        return surface.mesh

    def resize(self, name: str, columns: int, rows: int) -> MeshWarp | None:
        """A grid of ``columns × rows`` (the old one resampled onto it); 0: no mesh."""
        surface = self.surface(name)
        if columns == 0 or rows == 0:
            return self.set_mesh(name, None)
        lo, hi = MESH_SIZE_RANGE
        if not (lo <= columns <= hi and lo <= rows <= hi):
            raise CommandError(f"surface.mesh: {lo}..{hi} points a side (or 0 to remove)")
        old = surface.mesh
        if old is None:
            mesh = MeshWarp.flat(columns, rows)
        else:
            x0, y0, x1, y1 = rect = mesh_rect(
                surface.H_canvas_to_projector, surface.polygon_canvas_px
            )
            j, i = np.mgrid[0:rows, 0:columns]
            nodes = np.stack(
                [x0 + i * (x1 - x0) / (columns - 1), y0 + j * (y1 - y0) / (rows - 1)], -1
            )
            mesh = MeshWarp(mesh_offset(old, rect, nodes.reshape(-1, 2)).reshape(rows, columns, 2))
        return self.set_mesh(name, mesh)

    def point(self, name: str, column: int, row: int) -> tuple[float, float]:
        mesh = self.surface(name).mesh
        if mesh is None:
            raise CommandError(f"surface '{name}' has no mesh: send /surface/{name}/mesh c r")
        columns, rows = mesh.size
        if not (0 <= column < columns and 0 <= row < rows):
            raise CommandError(
                f"surface '{name}': no mesh point ({column}, {row}) in its {columns}×{rows} grid"
            )
        dx, dy = mesh.offsets_px[row, column]
        return float(dx), float(dy)

    def move(self, name: str, column: int, row: int, dx: float, dy: float) -> tuple[float, float]:
        """Set a point's offset; returns the one it had."""
        before = self.point(name, column, row)
        mesh = self.surface(name).mesh
        assert mesh is not None
        self._replace(self.surface(name), mesh.with_point(column, row, dx, dy))
        return before

    def node_px(self, name: str, column: int, row: int) -> tuple[float, float]:
        """Where point (column, row) sits on its output with no offset (``projector_px``)."""
        surface = self.surface(name)
        mesh = surface.mesh
        assert mesh is not None
        columns, rows = mesh.size
        x0, y0, x1, y1 = mesh_rect(surface.H_canvas_to_projector, surface.polygon_canvas_px)
        return x0 + column * (x1 - x0) / (columns - 1), y0 + row * (y1 - y0) / (rows - 1)

    def pick(self, output: str, x_px: float, y_px: float, corners: Any) -> Any:
        """A mouse press: select the mesh point shown nearest (x, y) — a point shows at its
        node plus its offset — if it is nearer than the corner ``corners`` picked (whose
        selection it then clears). Returns the undo of the drag that follows, or ``None``."""
        best: tuple[float, str, int, int] | None = None
        for surface in self.live.show.surfaces_on(output):
            mesh = surface.mesh
            if mesh is None:
                continue
            columns, rows = mesh.size
            for row in range(rows):
                for column in range(columns):
                    nx, ny = self.node_px(surface.name, column, row)
                    dx, dy = mesh.offsets_px[row, column]
                    d = float(np.hypot(nx + dx - x_px, ny + dy - y_px))
                    if d <= PICK_RADIUS_PX and (best is None or d < best[0]):
                        best = (d, surface.name, column, row)
        if best is None:
            self.selected = None
            return None
        if corners.selected is not None:
            cx, cy = corners.corner(*corners.selected)
            if np.hypot(cx - x_px, cy - y_px) <= best[0]:
                self.selected = None
                return None
        corners.selected = None
        _, name, column, row = best
        self.selected = (name, column, row)
        before = self.point(name, column, row)  # a drag that follows is undone in one step
        return lambda: self.move(name, column, row, *before)

    def drag_to(self, x_px: float, y_px: float) -> None:
        """A mouse drag: the selected point shows at (x, y)."""
        name, column, row = self.require_selection()
        nx, ny = self.node_px(name, column, row)
        self.move(name, column, row, x_px - nx, y_px - ny)

    def require_selection(self) -> tuple[str, int, int]:
        if self.selected is None:
            raise CommandError("no mesh point selected: send /calibrate/point s column row")
        name, column, row = self.selected
        self.point(name, column, row)
        return self.selected


# --- the commands -------------------------------------------------------------------------

_SURFACE = Arg("surface", str, "surface name", in_path=True, names=lambda t, _: t.surface_names())
_OFFSET = dict(minimum=-10_000.0, maximum=10_000.0)
_NUDGE = 100.0
_SIZE = dict(minimum=0, maximum=MESH_SIZE_RANGE[1])


def _grid_names(axis: int) -> Any:
    def names(live: Any, path: Mapping[str, Any]) -> list[str]:
        try:
            mesh = live.show.surface(path.get("surface", "")).mesh
        except KeyError:
            return []
        return [] if mesh is None else [str(k) for k in range(mesh.size[axis])]

    return names


def _resize(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor: MeshEditor = live.mesh
    before = editor.resize(a["surface"], a["columns"], a["rows"])
    return lambda: editor.set_mesh(a["surface"], before)


def _move(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor: MeshEditor = live.mesh
    before = editor.move(a["surface"], a["column"], a["row"], a["dx"], a["dy"])
    return lambda: editor.move(a["surface"], a["column"], a["row"], *before)


def _select(live: Any, a: Mapping[str, Any], t: float) -> None:
    editor: MeshEditor = live.mesh
    editor.point(a["surface"], a["column"], a["row"])
    editor.selected = (a["surface"], a["column"], a["row"])


def _nudge(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor: MeshEditor = live.mesh
    name, column, row = editor.require_selection()
    dx, dy = editor.point(name, column, row)
    before = editor.move(name, column, row, dx + a["dx"], dy + a["dy"])
    return lambda: editor.move(name, column, row, *before)


def _columns(live: Any, a: Mapping[str, Any]) -> int:
    mesh = live.mesh.surface(a["surface"]).mesh
    return 0 if mesh is None else mesh.size[0]


def _selection(live: Any, a: Mapping[str, Any]) -> str:
    selected = live.mesh.selected
    return "" if selected is None else " ".join(str(v) for v in selected)


MESH_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "surface.mesh",
        "/surface/{surface}/mesh",
        "Give a surface a mesh warp of columns × rows points (2..64; an existing one is "
        "resampled onto it; 0 removes it)",
        _resize,
        (
            _SURFACE,
            Arg("columns", int, "points across", **_SIZE),
            Arg("rows", int, "points down", **_SIZE),
        ),
        query=_columns,
        edit=True,
        locked_in_show=True,
        group="calibration",
    ),
    CommandSpec(
        "surface.meshpoint",
        "/surface/{surface}/mesh/{column}/{row}",
        "Offset of one mesh point, in projector pixels (content there moves by it)",
        _move,
        (
            _SURFACE,
            Arg("column", int, "0 = left", in_path=True, names=_grid_names(0)),
            Arg("row", int, "0 = top", in_path=True, names=_grid_names(1)),
            Arg("dx", float, "projector_px", **_OFFSET),
            Arg("dy", float, "projector_px", **_OFFSET),
        ),
        query=lambda live, a: live.mesh.point(a["surface"], a["column"], a["row"])[0],
        edit=True,
        locked_in_show=True,
        group="calibration",
    ),
    CommandSpec(
        "calibrate.point",
        "/calibrate/point",
        "Select a mesh point for nudging",
        _select,
        (
            Arg("surface", str, "surface name"),
            Arg("column", int, "0 = left", 0, MESH_SIZE_RANGE[1] - 1),
            Arg("row", int, "0 = top", 0, MESH_SIZE_RANGE[1] - 1),
        ),
        query=_selection,
        locked_in_show=True,
        group="calibration",
    ),
    CommandSpec(
        "calibrate.pointnudge",
        "/calibrate/pointnudge",
        "Move the selected mesh point by (dx, dy) projector pixels",
        _nudge,
        (
            Arg("dx", float, "projector_px", -_NUDGE, _NUDGE),
            Arg("dy", float, "projector_px", -_NUDGE, _NUDGE),
        ),
        edit=True,
        locked_in_show=True,
        keys=(
            "ALT+LEFT=-1,0",
            "ALT+RIGHT=1,0",
            "ALT+UP=0,-1",
            "ALT+DOWN=0,1",
            "ALT+SHIFT+LEFT=-0.1,0",
            "ALT+SHIFT+RIGHT=0.1,0",
            "ALT+SHIFT+UP=0,-0.1",
            "ALT+SHIFT+DOWN=0,0.1",
        ),
        group="calibration",
    ),
)
