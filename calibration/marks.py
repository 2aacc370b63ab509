"""The marks file: what the technician marked in the camera image, for ``calibrate solve``.

This module owns reading that file. It is plain TOML; paths are relative to the file::

    camera_model = "camera.npz"              # optional: K + dist of the calibration camera

    [outputs.left]                           # one table per projector output
    correspondences = "captures-left/correspondences.npz"   # from 'calibrate decode'

    [surfaces.wall-left]                     # one table per planar facade surface
    output = "left"
    points_canvas_px = [[0, 0], [800, 0], [800, 900], [0, 900]]      # ≥ 4, known on the canvas
    points_camera_px = [[112.5, 80.0], [610.0, 95.5], [600.5, 470.0], [105.0, 455.5]]
    polygon_camera_px = [[...], ...]         # optional: the surface's region in the camera
                                             # image (default: hull of points_camera_px)

``points_camera_px`` are where the canvas points appear in the *photographs* (as shot, lens
distortion included), in continuous camera_px (pixel centres at +0.5), same order as
``points_canvas_px``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibration.decode import Correspondences
from calibration.errors import CalibrationError
from mapping import validate
from mapping.errors import ValidationError


@dataclass(frozen=True)
class SurfaceMarks:
    name: str
    output: str
    points_canvas_px: np.ndarray
    points_camera_px: np.ndarray
    polygon_camera_px: np.ndarray | None


@dataclass
class Marks:
    file: Path
    outputs: dict[str, Path]
    surfaces: list[SurfaceMarks]
    camera_model: Path | None = None
    _loaded: dict[str, Correspondences] = field(default_factory=dict, repr=False)

    def correspondences(self, output: str) -> Correspondences:
        if output not in self._loaded:
            path = self.outputs[output]
            if not path.exists():
                raise CalibrationError(
                    f"{self.file}: outputs.{output}.correspondences: {path} does not exist; "
                    "run 'calibrate decode' on that output's capture folder first"
                )
            self._loaded[output] = Correspondences.load(str(path))
        return self._loaded[output]


def _points(value: Any, where: str, *, minimum: int) -> np.ndarray:
    try:
        pts = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: expected a list of [x, y] numbers") from exc
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise CalibrationError(f"{where}: expected a list of [x, y] pairs, got shape {pts.shape}")
    if len(pts) < minimum:
        raise CalibrationError(
            f"{where}: {len(pts)} point(s); at least {minimum} are needed. Mark more points."
        )
    return pts


def load_marks(path: str | Path) -> Marks:
    """Read and check a marks file; raises :class:`CalibrationError` naming the key."""
    file = Path(path)
    try:
        _, _, doc = validate.load_toml(file, "marks file")
    except ValidationError as exc:
        raise CalibrationError(str(exc)) from None
    base = file.parent
    outputs_doc = doc.get("outputs")
    if not isinstance(outputs_doc, dict) or not outputs_doc:
        raise CalibrationError(f"{file}: needs an [outputs.NAME] table with correspondences = …")
    outputs: dict[str, Path] = {}
    for name, entry in outputs_doc.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("correspondences"), str):
            raise CalibrationError(f"{file}: outputs.{name}.correspondences: expected a path")
        outputs[name] = base / entry["correspondences"]
    surfaces_doc = doc.get("surfaces")
    if not isinstance(surfaces_doc, dict) or not surfaces_doc:
        raise CalibrationError(f"{file}: needs at least one [surfaces.NAME] table")
    surfaces = []
    for name, entry in surfaces_doc.items():
        where = f"{file}: surfaces.{name}"
        if not isinstance(entry, dict):
            raise CalibrationError(f"{where}: expected a table")
        output = entry.get("output")
        if output not in outputs:
            raise CalibrationError(
                f"{where}.output: {output!r} is not one of the outputs: {', '.join(outputs)}"
            )
        canvas = _points(entry.get("points_canvas_px"), f"{where}.points_canvas_px", minimum=4)
        camera = _points(entry.get("points_camera_px"), f"{where}.points_camera_px", minimum=4)
        if len(canvas) != len(camera):
            raise CalibrationError(
                f"{where}: {len(canvas)} points_canvas_px but {len(camera)} points_camera_px; "
                "mark each canvas point once in the camera image, in the same order"
            )
        polygon = entry.get("polygon_camera_px")
        surfaces.append(
            SurfaceMarks(
                name,
                str(output),
                canvas,
                camera,
                None
                if polygon is None
                else _points(polygon, f"{where}.polygon_camera_px", minimum=3),
            )
        )
    model = doc.get("camera_model")
    return Marks(file, outputs, surfaces, base / model if isinstance(model, str) else None)
