"""Live soft-edge blend adjustments: commands with undo, saved to the calibration file.

This module owns the technician's side of blending (pure, no GL): :class:`BlendEditor`
turns blending on or off, sets the black-level compensation and each edge's width and
curve (how output ``o`` fades out towards output ``n``: ``/blend/o/n/width``), and saves
the adjustments to the show's blend calibration file (``[blend]``, atomically with history
through :func:`calibration.store.update_calibration`; the surfaces in the file are kept).
Every change replaces the live show's :class:`~mapping.blend.BlendSettings`, so the renderer
rebuilds the masks on the next frame; the maths is :mod:`mapping.blend`'s.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from calibration.store import (
    BLACK_LEVEL_RANGE,
    EDGE_CURVE_RANGE,
    EDGE_WIDTH_RANGE_PX,
    BlendCalibration,
    CalibrationFile,
    EdgeBlend,
    update_calibration,
)
from mapping.blend import BlendSettings
from mapping.commands import Arg, CommandError, CommandSpec

log = logging.getLogger(__name__)

DEFAULT_CALIBRATION_FILE = "calibration.toml"


class BlendEditor:
    """The live blend adjustments of one :class:`~mapping.live.LiveShow`."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.edited = False

    @property
    def settings(self) -> BlendSettings:
        return self.live.show.blend

    def _replace(self, settings: BlendSettings, edited: bool = True) -> None:
        live = self.live
        live.show = dataclasses.replace(live.show, blend=settings)
        live.engine.show = live.show
        live.generation += 1
        self.edited = self.edited or edited

    def _check_edge(self, output: str, neighbour: str) -> None:
        names = [o.name for o in self.live.show.outputs]
        for name in (output, neighbour):
            if name not in names:
                raise CommandError(f"unknown output '{name}'; outputs are: {', '.join(names)}")
        if output == neighbour:
            raise CommandError(f"a blend edge joins two outputs, got '{output}' twice")

    # -- editing (each returns the value it replaced)

    def set_enabled(self, on: bool) -> bool:
        before = self.settings.enabled
        self._replace(dataclasses.replace(self.settings, enabled=on), edited=False)
        return before

    def set_black_level(self, level: float) -> float:
        cal = self.settings.calibration
        before = cal.black_level
        self._replace(
            dataclasses.replace(
                self.settings, calibration=dataclasses.replace(cal, black_level=level)
            )
        )
        return before

    def edge(self, output: str, neighbour: str) -> EdgeBlend:
        self._check_edge(output, neighbour)
        return self.settings.calibration.edge(output, neighbour)

    def set_edge(self, edge: EdgeBlend) -> EdgeBlend:
        before = self.edge(edge.output, edge.neighbour)
        cal: BlendCalibration = self.settings.calibration.with_edge(edge)
        self._replace(dataclasses.replace(self.settings, calibration=cal))
        return before

    # -- saving

    def target_file(self) -> Path:
        file = self.settings.calibration_file
        return file if file is not None else self.live.show.root / DEFAULT_CALIBRATION_FILE

    def save(self) -> Path:
        """Write the adjustments to the blend calibration file (read-modify-write under the
        file's lock: its surfaces, saved by others meanwhile, are kept)."""
        file = self.target_file()
        blend = self.settings.calibration

        def change(cal: CalibrationFile) -> CalibrationFile:
            return dataclasses.replace(cal, blend=blend)

        update_calibration(file, change)
        self.edited = False
        if self.settings.calibration_file is None:
            self._replace(dataclasses.replace(self.settings, calibration_file=file), False)
        return file


# --- the commands -------------------------------------------------------------------------

_OUTPUT = Arg("output", str, "output name", in_path=True, names=lambda t, _: t.output_names())
_NEIGHBOUR = Arg(
    "neighbour",
    str,
    "the output it fades out towards",
    in_path=True,
    names=lambda t, p: [n for n in t.output_names() if n != p.get("output")],
)


def _editor(live: Any) -> BlendEditor:
    return live.blend


def _enabled(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor = _editor(live)
    before = editor.set_enabled(a["on"])
    return lambda: editor.set_enabled(before)


def _black(live: Any, a: Mapping[str, Any], t: float) -> Any:
    editor = _editor(live)
    before = editor.set_black_level(a["level"])
    return lambda: editor.set_black_level(before)


def _edge_setter(field: str) -> Any:
    def effect(live: Any, a: Mapping[str, Any], t: float) -> Any:
        editor = _editor(live)
        current = editor.edge(a["output"], a["neighbour"])
        before = editor.set_edge(dataclasses.replace(current, **{field: a[field]}))
        return lambda: editor.set_edge(before)

    return effect


def _edge_query(field: str) -> Any:
    def query(live: Any, a: Mapping[str, Any]) -> float:
        return getattr(_editor(live).edge(a["output"], a["neighbour"]), field)

    return query


def _save(live: Any, a: Mapping[str, Any], t: float) -> None:
    try:
        file = _editor(live).save()
    except (OSError, ValueError) as exc:
        raise CommandError(f"blend.save: {exc}") from None
    log.info("blend adjustments saved to %s", file)


BLEND_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "blend.enabled",
        "/blend/enabled",
        "Soft-edge blending on or off (the show file's [blend] enabled, until reloaded)",
        _enabled,
        (Arg("on", bool, "on or off"),),
        query=lambda live, a: live.show.blend.enabled,
        edit=True,
        locked_in_show=True,
        group="blend",
    ),
    CommandSpec(
        "blend.black",
        "/blend/black",
        "Black-level compensation: one projector's black as a fraction of its white (linear)",
        _black,
        (Arg("level", float, "linear, 0 = off", *BLACK_LEVEL_RANGE),),
        query=lambda live, a: live.show.blend.calibration.black_level,
        edit=True,
        locked_in_show=True,
        group="blend",
    ),
    CommandSpec(
        "blend.width",
        "/blend/{output}/{neighbour}/width",
        "Width of the ramp over which an output fades out towards another (0 = automatic)",
        _edge_setter("width_px"),
        (_OUTPUT, _NEIGHBOUR, Arg("width_px", float, "canvas_px", *EDGE_WIDTH_RANGE_PX)),
        query=_edge_query("width_px"),
        edit=True,
        locked_in_show=True,
        group="blend",
    ),
    CommandSpec(
        "blend.curve",
        "/blend/{output}/{neighbour}/curve",
        "Curve of that ramp: the exponent on its smooth step (1 = plain, >1 steeper at the edge)",
        _edge_setter("curve"),
        (_OUTPUT, _NEIGHBOUR, Arg("curve", float, "exponent", *EDGE_CURVE_RANGE)),
        query=_edge_query("curve"),
        edit=True,
        locked_in_show=True,
        group="blend",
    ),
    CommandSpec(
        "blend.save",
        "/blend/save",
        "Save the blend adjustments to the calibration file (atomic, with history)",
        _save,
        locked_in_show=True,
        group="blend",
    ),
)
