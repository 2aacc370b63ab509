"""Calibration files: the plain-TOML record of where each facade surface lands on a projector.

This module owns the calibration file format, its validation, its safe saving (atomic,
locked, with history) and the history itself. A calibration file is written by the
calibration tools and may be shared by several shows at one venue. It is plain TOML,
readable and editable by hand::

    schema_version = 1
    venue = "Old Town Hall"          # optional free text

    [surfaces.wall-left]
    output = "left"                   # projector output name
    H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    method = "point-pairs"            # optional, default "manual"; one of METHODS
    residual_rms_px = 0.12            # optional, number >= 0
    residual_max_px = 0.31            # optional, number >= 0
    points = 4                        # optional, number of correspondences used
    updated = "2026-11-25T17:00:00Z"  # optional ISO-8601 text
    pairs_canvas_px = [[0.0, 0.0], [1600.0, 0.0], ...]      # optional: the measured
    pairs_projector_px = [[96.0, 38.0], [1188.0, 84.0], ...]  # point pairs, for a re-fit
    mesh_size = [4, 3]                # optional mesh warp: columns, rows (2..64 each)
    mesh_offsets_px = [[0.0, 0.0], [1.5, -0.25], ...]         # projector_px, row by row

    [blend]                           # optional: soft-edge blend adjustments
    black_level = 0.02                # one projector's black / its white (linear), 0..0.5
    [blend.edges.left.right]          # how output "left" fades out towards output "right"
    width_px = 60.0                   # ramp width in canvas_px; 0 = automatic (the overlap)
    curve = 1.0                       # exponent on the smooth ramp, 0.1..10

* ``schema_version`` (required integer) is one of :data:`SUPPORTED_SCHEMA_VERSIONS`.
  Every key added since version 1 is optional, so files written before them still load.
* ``H_canvas_to_projector`` is a row-major 3x3 homography taking continuous ``canvas_px``
  (pixel centres at +0.5) to continuous ``projector_px``; it is checked by the validator
  shared with show files (:func:`mapping.validate.check_homography`). Floats are written
  with Python's shortest round-trip repr, so a save and load gives back the exact float64
  bits.
* ``updated`` may also be a native TOML datetime; it is read back as ISO-8601 text.

Loading (:func:`load_calibration`) collects every problem in the file and raises one
:class:`mapping.errors.ValidationError`; each :class:`~mapping.errors.Problem` names the
file, the key path (``surfaces.wall-left.H_canvas_to_projector``), the line where it can
be found and what was expected.

Saving never loses work:

* **Atomic.** The new content goes to a temporary file in the target's own directory
  (a rename across file systems would not be atomic), is fsynced, and replaces the old
  file with ``os.replace``. On any failure the old file is untouched and the temporary
  file removed.
* **History.** Before that, the previous file is copied to
  ``<dir>/.history/<stem>.<UTC timestamp>.toml`` — also through a temporary file, fsync
  and rename, so a full disk never leaves a truncated copy — and only the newest
  ``history`` copies are kept. :func:`list_history` and :func:`restore_history` read and
  restore them (a restore is itself a save, so it can be undone).
* **Locked.** Every save holds an exclusive ``fcntl.flock`` on ``<dir>/.<name>.lock``.
  :func:`update_calibration` re-reads the file under that lock, applies one change and
  saves, so two tools saving different surfaces at once both keep their work.
  :func:`save_calibration` of a :class:`CalibrationFile` that was loaded from the file
  refuses (:class:`StaleCalibrationError`) when the file changed on disk since.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import logging
import math
import numbers
import os
import re
import secrets
import time
import tomllib
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from mapping import validate
from mapping.errors import Problem, ValidationError, did_you_mean
from mapping.validate import describe, key_name

logger = logging.getLogger(__name__)

SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
CURRENT_SCHEMA_VERSION = 1
METHODS: tuple[str, ...] = ("corner-pin", "point-pairs", "structured-light", "manual")
HISTORY_DIR_NAME = ".history"
LOCK_TIMEOUT_S = 30.0

_TOP_KEYS = ("schema_version", "venue", "surfaces", "blend")
_BLEND_KEYS = ("black_level", "edges")
_EDGE_KEYS = ("width_px", "curve")
BLACK_LEVEL_RANGE = (0.0, 0.5)
"""Black-level compensation: one projector's black as a fraction of its white (linear)."""
EDGE_WIDTH_RANGE_PX = (0.0, 100_000.0)
"""A blend edge's ramp width in ``canvas_px``; 0 (or the key left out) means automatic."""
EDGE_CURVE_RANGE = (0.1, 10.0)
"""A blend edge's curve: the exponent applied to its smooth ramp (1 = the plain ramp)."""
_SURFACE_KEYS = (
    "output",
    "H_canvas_to_projector",
    "method",
    "residual_rms_px",
    "residual_max_px",
    "points",
    "updated",
    "pairs_canvas_px",
    "pairs_projector_px",
    "mesh_size",
    "mesh_offsets_px",
)
MESH_SIZE_RANGE = (2, 64)
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"


class StaleCalibrationError(RuntimeError):
    """A save would overwrite a calibration file that changed on disk since it was loaded."""


# --------------------------------------------------------------------------- model


_VALID_H: dict[bytes, None] = {}
"""Matrices the validator accepted lately (bytes), so loading does not check each twice."""


def _remember_valid(H: np.ndarray) -> None:
    if len(_VALID_H) >= 4096:
        _VALID_H.pop(next(iter(_VALID_H)))
    _VALID_H[H.tobytes()] = None


def _point_array(value: Any, name: str) -> np.ndarray:
    points = np.array(value, dtype=np.float64, copy=True)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must be an (N, 2) array of points, got shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} must be finite")
    points.flags.writeable = False
    return points


def _optional_residual(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {number!r}")
    return number


@dataclass(frozen=True, eq=False)
class SurfaceCalibration:
    """Where one canvas surface lands on one projector output, and how that was measured.

    ``H_canvas_to_projector`` is copied to a read-only float64 3x3 array on construction,
    as are the optional point pairs (``pairs_canvas_px`` and ``pairs_projector_px``,
    (N, 2) each, both or neither). Raises ``ValueError`` for a matrix the shared validator
    rejects, an unknown ``method``, a negative or non-finite residual, a negative
    ``points`` or mismatched pairs. Equality compares arrays bit for bit.
    """

    output: str
    H_canvas_to_projector: np.ndarray
    method: str = "manual"
    residual_rms_px: float | None = None
    points: int | None = None
    updated: str | None = None
    residual_max_px: float | None = None
    pairs_canvas_px: np.ndarray | None = None
    pairs_projector_px: np.ndarray | None = None
    mesh_offsets_px: np.ndarray | None = None
    """A mesh warp's control point offsets in ``projector_px``, (rows, columns, 2)."""

    def __post_init__(self) -> None:
        H = np.asarray(self.H_canvas_to_projector)
        if not (H.shape == (3, 3) and H.dtype == np.float64 and H.tobytes() in _VALID_H):
            check = validate.check_homography(H)
            if check.H is None:
                raise ValueError("; ".join(check.problems))
            H = check.H
        H = np.array(H, dtype=np.float64, copy=True)
        H.flags.writeable = False
        object.__setattr__(self, "H_canvas_to_projector", H)
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {METHODS}")
        for name in ("residual_rms_px", "residual_max_px"):
            object.__setattr__(self, name, _optional_residual(getattr(self, name), name))
        if self.points is not None:
            if (
                isinstance(self.points, bool)
                or not isinstance(self.points, numbers.Integral)
                or self.points < 0
            ):
                raise ValueError(f"points must be an integer >= 0, got {self.points!r}")
            object.__setattr__(self, "points", int(self.points))
        if (self.pairs_canvas_px is None) != (self.pairs_projector_px is None):
            raise ValueError("pairs_canvas_px and pairs_projector_px go together")
        if self.pairs_canvas_px is not None:
            canvas = _point_array(self.pairs_canvas_px, "pairs_canvas_px")
            projector = _point_array(self.pairs_projector_px, "pairs_projector_px")
            if len(canvas) != len(projector):
                raise ValueError(
                    f"{len(canvas)} pairs_canvas_px but {len(projector)} pairs_projector_px"
                )
            object.__setattr__(self, "pairs_canvas_px", canvas)
            object.__setattr__(self, "pairs_projector_px", projector)
        if self.mesh_offsets_px is not None:
            mesh = np.array(self.mesh_offsets_px, dtype=np.float64, copy=True)
            lo, hi = MESH_SIZE_RANGE
            if (
                mesh.ndim != 3
                or mesh.shape[2] != 2
                or not all(lo <= n <= hi for n in mesh.shape[:2])
            ):
                raise ValueError(
                    f"mesh_offsets_px must be (rows, columns, 2) with {lo}..{hi} points a side, "
                    f"got shape {mesh.shape}"
                )
            if not np.all(np.isfinite(mesh)):
                raise ValueError("mesh_offsets_px must be finite")
            mesh.flags.writeable = False
            object.__setattr__(self, "mesh_offsets_px", mesh)

    def _key(self) -> tuple[Any, ...]:
        def raw(a: np.ndarray | None) -> bytes | None:
            return None if a is None else a.tobytes() + bytes(str(a.shape), "ascii")

        return (
            self.output,
            raw(self.H_canvas_to_projector),
            self.method,
            self.residual_rms_px,
            self.residual_max_px,
            self.points,
            self.updated,
            raw(self.pairs_canvas_px),
            raw(self.pairs_projector_px),
            raw(self.mesh_offsets_px),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SurfaceCalibration):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True)
class EdgeBlend:
    """Manual adjustment of one blend edge: how ``output`` fades out towards ``neighbour``.

    ``width_px`` is the ramp's width in ``canvas_px`` measured from the neighbour's
    coverage (``0``: automatic, the width of their overlap); ``curve`` the exponent applied
    to the ramp (``1``: the plain smooth ramp, larger: steeper toward the edge).
    """

    output: str
    neighbour: str
    width_px: float = 0.0
    curve: float = 1.0

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("width_px", EDGE_WIDTH_RANGE_PX), ("curve", EDGE_CURVE_RANGE)):
            if message := validate.number_problem(getattr(self, name), lo, hi):
                raise ValueError(f"{name}: {message}")
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.output == self.neighbour:
            raise ValueError(f"a blend edge joins two outputs, got '{self.output}' twice")


@dataclass(frozen=True)
class BlendCalibration:
    """The venue's soft-edge blend adjustments (``[blend]`` in a calibration file).

    ``black_level``: one projector's black as a fraction of its white, in linear light
    (0: no black-level compensation). ``edges``: manual edge adjustments, at most one per
    ordered pair of outputs (later ones replace earlier ones on construction).
    """

    black_level: float = 0.0
    edges: tuple[EdgeBlend, ...] = ()

    def __post_init__(self) -> None:
        if message := validate.number_problem(self.black_level, *BLACK_LEVEL_RANGE):
            raise ValueError(f"black_level: {message}")
        object.__setattr__(self, "black_level", float(self.black_level))
        unique = {(e.output, e.neighbour): e for e in self.edges}
        object.__setattr__(self, "edges", tuple(unique.values()))

    def edge(self, output: str, neighbour: str) -> EdgeBlend:
        """The adjustment of one edge (the defaults when none was made)."""
        for e in self.edges:
            if (e.output, e.neighbour) == (output, neighbour):
                return e
        return EdgeBlend(output, neighbour)

    def with_edge(self, edge: EdgeBlend) -> BlendCalibration:
        return dataclasses.replace(self, edges=(*self.edges, edge))


@dataclass(frozen=True)
class FileStamp:
    """Which bytes of which file a :class:`CalibrationFile` was loaded from (or saved as)."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class CalibrationFile:
    """Every surface calibration at one venue; ``surfaces`` maps surface name to calibration.

    ``surfaces`` is copied into a read-only mapping on construction (insertion order kept).
    ``source`` records the file and content it was loaded from; it takes no part in
    equality and lets :func:`save_calibration` notice a file changed behind its back.
    """

    surfaces: Mapping[str, SurfaceCalibration] = field(default_factory=dict)
    venue: str = ""
    schema_version: int = CURRENT_SCHEMA_VERSION
    source: FileStamp | None = field(default=None, compare=False, repr=False)
    blend: BlendCalibration | None = None
    """Soft-edge blend adjustments (``[blend]``), if the file has them."""

    def __post_init__(self) -> None:
        surfaces = dict(self.surfaces)
        for name, surface in surfaces.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"surface names must be non-empty strings, got {name!r}")
            if not isinstance(surface, SurfaceCalibration):
                raise TypeError(f"surface {name!r}: expected SurfaceCalibration, got {surface!r}")
        if self.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(
                f"schema_version {self.schema_version!r} not supported; "
                f"supported: {SUPPORTED_SCHEMA_VERSIONS}"
            )
        object.__setattr__(self, "surfaces", types.MappingProxyType(surfaces))

    def __hash__(self) -> int:
        return hash((tuple(self.surfaces.items()), self.venue, self.schema_version, self.blend))


def with_surface(
    cal: CalibrationFile, name: str, surface_calibration: SurfaceCalibration
) -> CalibrationFile:
    """Return a copy of ``cal`` with surface ``name`` added or replaced (``cal`` is untouched)."""
    surfaces = dict(cal.surfaces)
    surfaces[name] = surface_calibration
    return dataclasses.replace(cal, surfaces=surfaces)


# --------------------------------------------------------------------------- loading


def load_calibration(path: str | os.PathLike[str]) -> CalibrationFile:
    """Read and validate a calibration file.

    Raises :class:`mapping.errors.ValidationError` listing every problem found: missing or
    unreadable file, TOML syntax error (with its line), unsupported ``schema_version``,
    unknown keys (with a "did you mean" hint), missing or mistyped values, an
    ``H_canvas_to_projector`` the shared validator rejects, and unknown methods. With an
    unsupported ``schema_version`` only that problem is reported, since the meaning of the
    other keys depends on the version.
    """
    file = Path(path)
    data = validate.read_input(file, "calibration file")
    text = validate.decode_text(file, data)
    return _parse(file, text, FileStamp(_real(file), _digest(data)))


def _parse(file: Path, text: str, source: FileStamp | None) -> CalibrationFile:
    if problem := validate.nesting_problem(file, text):
        raise ValidationError([problem])
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([validate.toml_syntax_problem(file, exc)]) from None
    checker = _Checker(file, text)
    cal = checker.document(doc)
    if checker.problems or cal is None:
        raise ValidationError(checker.problems)
    logger.debug("loaded calibration %s: %d surfaces", file, len(cal.surfaces))
    return dataclasses.replace(cal, source=source)


class _Checker:
    """Walks a parsed document, collecting problems instead of stopping at the first."""

    def __init__(self, file: Path, text: str):
        self.file = file
        self.text = text
        self.lines: dict[validate.KeyPath, int] | None = None  # built at the first problem
        self.problems: list[Problem] = []

    def problem(self, key_path: str, message: str) -> None:
        if self.lines is None:
            self.lines = validate.toml_line_index(self.text)
        line = validate.find_line(self.lines, key_path)
        self.problems.append(Problem(self.file, key_path, message, line))

    def document(self, doc: dict[str, Any]) -> CalibrationFile | None:
        version = doc.get("schema_version")
        supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        if "schema_version" not in doc:
            self.problem("schema_version", f"missing (required); expected an integer ({supported})")
        elif isinstance(version, bool) or not isinstance(version, int):
            self.problem(
                "schema_version",
                f"unsupported version {describe(version)}; this program reads version {supported}",
            )
        elif version not in SUPPORTED_SCHEMA_VERSIONS:
            self.problem(
                "schema_version",
                f"unsupported version {version}; this program reads version {supported}",
            )
            return None

        self.unknown_keys(doc, _TOP_KEYS, "")
        venue = doc.get("venue", "")
        if not isinstance(venue, str):
            self.problem("venue", f"expected a string, got {describe(venue)}")
            venue = ""

        surfaces_doc = doc.get("surfaces", {})
        surfaces: dict[str, SurfaceCalibration] = {}
        if not isinstance(surfaces_doc, dict):
            self.problem("surfaces", f"expected a table of surfaces, got {describe(surfaces_doc)}")
        else:
            for name, entry in surfaces_doc.items():
                surface = self.surface(name, entry)
                if surface is not None:
                    surfaces[name] = surface
        blend = self.blend(doc["blend"]) if "blend" in doc else None
        if self.problems:
            return None
        return CalibrationFile(
            surfaces=surfaces, venue=venue, schema_version=CURRENT_SCHEMA_VERSION, blend=blend
        )

    def blend(self, table: Any) -> BlendCalibration | None:
        """``[blend]``: black level and ``[blend.edges.<output>.<neighbour>]`` tables."""
        if not isinstance(table, dict):
            self.problem("blend", f"expected a table [blend], got {describe(table)}")
            return None
        before = len(self.problems)
        self.unknown_keys(table, _BLEND_KEYS, "blend")
        black = table.get("black_level", 0.0)
        if message := validate.number_problem(black, *BLACK_LEVEL_RANGE):
            self.problem("blend.black_level", message)
        edges: list[EdgeBlend] = []
        edges_doc = table.get("edges", {})
        if not isinstance(edges_doc, dict):
            self.problem("blend.edges", f"expected a table of outputs, got {describe(edges_doc)}")
            edges_doc = {}
        for output, neighbours in edges_doc.items():
            base = f"blend.edges.{key_name(output)}"
            if not isinstance(neighbours, dict):
                self.problem(
                    base, f"expected a table of neighbour outputs, got {describe(neighbours)}"
                )
                continue
            for neighbour, entry in neighbours.items():
                key = f"{base}.{key_name(neighbour)}"
                if not isinstance(entry, dict):
                    self.problem(
                        key,
                        "expected a table like { width_px = 60.0, curve = 1.0 }, "
                        f"got {describe(entry)}",
                    )
                    continue
                if neighbour == output:
                    self.problem(
                        key, f"a blend edge joins two different outputs, got '{output}' twice"
                    )
                    continue
                self.unknown_keys(entry, _EDGE_KEYS, key)
                values = {"width_px": entry.get("width_px", 0.0), "curve": entry.get("curve", 1.0)}
                ranges = {"width_px": EDGE_WIDTH_RANGE_PX, "curve": EDGE_CURVE_RANGE}
                bad = False
                for name, value in values.items():
                    if message := validate.number_problem(value, *ranges[name]):
                        self.problem(f"{key}.{name}", message)
                        bad = True
                if not bad:
                    edges.append(EdgeBlend(output, neighbour, values["width_px"], values["curve"]))
        if len(self.problems) > before:
            return None
        return BlendCalibration(float(black), tuple(edges))

    def surface(self, name: str, entry: Any) -> SurfaceCalibration | None:
        base = f"surfaces.{key_name(name)}"
        if not isinstance(entry, dict):
            self.problem(base, f"expected a table [{base}], got {describe(entry)}")
            return None
        before = len(self.problems)
        self.unknown_keys(entry, _SURFACE_KEYS, base)

        output = entry.get("output")
        if output is None:
            self.problem(f"{base}.output", "missing (required); expected the projector output name")
        elif not isinstance(output, str) or not output.strip():
            self.problem(f"{base}.output", f"expected a non-empty string, got {describe(output)}")

        H = None
        key = f"{base}.H_canvas_to_projector"
        if "H_canvas_to_projector" not in entry:
            self.problem(
                key,
                "missing (required); expected a 3×3 H_canvas_to_projector like "
                f"{validate.HOMOGRAPHY_EXAMPLE}",
            )
        else:
            check = validate.check_homography(entry["H_canvas_to_projector"])
            for message in check.problems:
                self.problem(key, message)
            H = check.H
            if H is not None:
                _remember_valid(H)

        method = entry.get("method", "manual")
        if not isinstance(method, str) or method not in METHODS:
            self.problem(
                f"{base}.method",
                f"unknown method {method!r}"
                + did_you_mean(method, METHODS)
                + f"; expected one of: {', '.join(METHODS)}",
            )

        residuals: dict[str, float | None] = {}
        for residual in ("residual_rms_px", "residual_max_px"):
            value = entry.get(residual)
            if value is not None and (message := validate.number_problem(value, lo=0.0)):
                self.problem(f"{base}.{residual}", message)
                value = None
            residuals[residual] = None if value is None else float(value)

        points = entry.get("points")
        if points is not None and (message := validate.integer_problem(points, lo=0)):
            self.problem(f"{base}.points", message)

        updated = entry.get("updated")
        if isinstance(updated, dt.datetime | dt.date):
            updated = _iso_text(updated)
        elif updated is not None:
            if not isinstance(updated, str):
                self.problem(
                    f"{base}.updated", f"expected ISO-8601 date-time text, got {describe(updated)}"
                )
            else:
                try:
                    dt.datetime.fromisoformat(updated)
                except ValueError:
                    self.problem(
                        f"{base}.updated",
                        f"expected ISO-8601 date-time text like '2026-11-25T17:00:00Z', "
                        f"got {describe(updated)}",
                    )

        pairs = self.point_pairs(entry, base)
        mesh = self.mesh(entry, base)

        if len(self.problems) > before or H is None:
            return None
        return SurfaceCalibration(
            output=output,
            H_canvas_to_projector=H,
            method=method,
            residual_rms_px=residuals["residual_rms_px"],
            residual_max_px=residuals["residual_max_px"],
            points=points,
            updated=updated,
            pairs_canvas_px=pairs[0] if pairs else None,
            pairs_projector_px=pairs[1] if pairs else None,
            mesh_offsets_px=mesh,
        )

    def mesh(self, entry: dict[str, Any], base: str) -> np.ndarray | None:
        """``mesh_size = [columns, rows]`` and ``mesh_offsets_px``, row by row."""
        if "mesh_size" not in entry and "mesh_offsets_px" not in entry:
            return None
        for key in ("mesh_size", "mesh_offsets_px"):
            if key not in entry:
                other = "mesh_offsets_px" if key == "mesh_size" else "mesh_size"
                self.problem(f"{base}.{key}", f"missing; {other} needs {key} beside it")
                return None
        size = entry["mesh_size"]
        lo, hi = MESH_SIZE_RANGE
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(not validate.integer_problem(n, lo) and n <= hi for n in size)
        ):
            self.problem(
                f"{base}.mesh_size",
                f"expected [columns, rows], integers {lo}..{hi}, got {describe(size)}",
            )
            return None
        nx, ny = size
        if message := validate.points_problem(entry["mesh_offsets_px"], nx * ny):
            self.problem(f"{base}.mesh_offsets_px", f"{message} (mesh_size {nx}×{ny}, row by row)")
            return None
        return np.array(entry["mesh_offsets_px"], dtype=np.float64).reshape(ny, nx, 2)

    def point_pairs(self, entry: dict[str, Any], base: str) -> tuple[np.ndarray, np.ndarray] | None:
        keys = ("pairs_canvas_px", "pairs_projector_px")
        given = [k for k in keys if k in entry]
        if not given:
            return None
        if len(given) == 1:
            other = keys[1 - keys.index(given[0])]
            self.problem(f"{base}.{other}", f"missing; {given[0]} needs {other} beside it")
            return None
        arrays = []
        for key in keys:
            value = entry[key]
            if message := validate.points_problem(value):
                self.problem(f"{base}.{key}", message)
                return None
            arrays.append(np.array(value, dtype=np.float64).reshape(-1, 2))
        if len(arrays[0]) != len(arrays[1]):
            self.problem(
                f"{base}.pairs_projector_px",
                f"expected {len(arrays[0])} points, one for each of pairs_canvas_px, "
                f"got {len(arrays[1])}",
            )
            return None
        return arrays[0], arrays[1]

    def unknown_keys(self, table: dict[str, Any], known: tuple[str, ...], base: str) -> None:
        for key in table:
            if key not in known:
                key_path = f"{base}.{key_name(key)}" if base else key_name(key)
                self.problem(
                    key_path,
                    f"unknown key{did_you_mean(key, known)}; expected one of: {', '.join(known)}",
                )


# --------------------------------------------------------------------------- saving


def save_calibration(
    path: str | os.PathLike[str], cal: CalibrationFile, *, history: int = 20
) -> CalibrationFile:
    """Write ``cal`` to ``path`` atomically and locked, keeping ``history`` previous versions.

    Returns ``cal`` stamped with what was written (save it again, later, without a
    :class:`StaleCalibrationError`). Parent directories are created.

    If ``cal`` was loaded from ``path`` (:func:`load_calibration`) and the file has
    changed on disk since, nothing is written and :class:`StaleCalibrationError` is
    raised: someone else's save would be lost. Use :func:`update_calibration` to apply a
    change to whatever the file holds now. A :class:`CalibrationFile` built from scratch
    replaces the file (the old one goes to history).

    The file is written to a temporary file next to ``path``, fsynced, then moved over
    ``path`` with ``os.replace``; if anything fails the previous file is untouched and no
    temporary file is left. Before replacing an existing file it is copied (temp file,
    fsync, rename) to ``<dir>/.history/<stem>.<YYYYmmddTHHMMSS.ffffffZ>.toml`` (UTC) and
    copies beyond ``history`` are deleted. ``history=0`` keeps no copies.
    """
    _check_history(history)
    file = _target(path)
    with calibration_lock(file):
        current = _read_current(file)
        if (
            cal.source is not None
            and cal.source.path == file
            and current is not None
            and _digest(current) != cal.source.sha256
        ):
            raise StaleCalibrationError(
                f"{file} changed on disk since it was loaded (another tool or person saved "
                "it); not overwriting their work. Reload the file and apply your change "
                "again (update_calibration does this under the file's lock)."
            )
        return _save_locked(file, cal, current, history)


def update_calibration(
    path: str | os.PathLike[str],
    change: str | Callable[[CalibrationFile], CalibrationFile],
    surface: SurfaceCalibration | None = None,
    *,
    history: int = 20,
) -> CalibrationFile:
    """Apply one change to the calibration file at ``path`` as it is now, and save it.

    ``update_calibration(path, "wall-left", surface_calibration)`` adds or replaces one
    surface; ``update_calibration(path, fn)`` saves ``fn(current)``. Under the file's
    exclusive lock the current file is re-read (an empty :class:`CalibrationFile` when
    there is none), the change applied and the result saved atomically with history, so
    concurrent updates of different surfaces never lose one another. A current file that
    does not validate raises :class:`ValidationError` and is left as it is. Returns what
    was saved.
    """
    _check_history(history)
    if isinstance(change, str):
        if surface is None:
            raise TypeError("update_calibration(path, name, surface) needs the surface")
        name, new_surface = change, surface

        def change_fn(cal: CalibrationFile) -> CalibrationFile:
            return with_surface(cal, name, new_surface)

    elif surface is not None:
        raise TypeError("give either a surface name and a SurfaceCalibration, or a function")
    else:
        change_fn = change
    file = _target(path)
    with calibration_lock(file):
        current = _read_current(file)
        if current is None:
            cal = CalibrationFile()
        else:
            text = validate.decode_text(file, current)
            cal = _parse(file, text, FileStamp(file, _digest(current)))
        updated = change_fn(cal)
        if not isinstance(updated, CalibrationFile):
            raise TypeError(f"the change must return a CalibrationFile, got {updated!r}")
        return _save_locked(file, updated, current, history)


@contextlib.contextmanager
def calibration_lock(
    path: str | os.PathLike[str], timeout_s: float = LOCK_TIMEOUT_S
) -> Iterator[Path]:
    """Hold the exclusive lock of the calibration file at ``path`` (``.<name>.lock`` beside it).

    Advisory (``fcntl.flock``): every save in this module takes it. Raises
    ``TimeoutError`` after ``timeout_s``. The lock file is left in place (deleting it
    would let two savers lock two different files).
    """
    file = _target(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    lock_path = file.parent / f".{file.name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{file} is being saved by another process (lock {lock_path} held "
                        f"for more than {timeout_s:g} s)"
                    ) from None
                time.sleep(0.002)
        try:
            yield lock_path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _save_locked(
    file: Path, cal: CalibrationFile, current: bytes | None, history: int
) -> CalibrationFile:
    """Write ``cal`` over ``file`` (whose content is ``current``); the lock is held."""
    data = _compact(tomli_w.dumps(_to_document(cal))).encode("utf-8")
    fd, tmp = _create_temp(file)
    try:
        _write_and_sync(fd, data)
        if current is not None:
            with contextlib.suppress(OSError):  # the file went away: nothing to copy
                os.chmod(tmp, file.stat().st_mode & 0o7777)
            if history > 0:
                _copy_to_history(file, current)
        os.replace(tmp, file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(file.parent)
    if history > 0:
        _rotate_history(file, history)
    logger.info("saved calibration %s: %d surfaces", file, len(cal.surfaces))
    return dataclasses.replace(cal, source=FileStamp(file, _digest(data)))


def _check_history(history: int) -> None:
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        raise ValueError(f"history must be an integer >= 0, got {history!r}")


def _target(path: str | os.PathLike[str]) -> Path:
    """The file a save writes: ``path``, or what it links to (so a link stays a link)."""
    return _real(Path(path))


def _real(file: Path) -> Path:
    file = Path(os.path.abspath(file))
    return file.resolve() if file.is_symlink() else file


def _read_current(file: Path) -> bytes | None:
    """The file's bytes before an update; None if there is none yet. A folder, a FIFO (which
    would block the read), a symlink loop … is a ValidationError, as when loading."""
    message = validate.file_problem(file, "calibration file")
    if message == "calibration file not found":
        return None
    return validate.read_input(file, "calibration file")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_and_sync(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, fsync and close it (closing it also on failure)."""
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "write returned no progress")
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


_MATRIX = re.compile(
    r"^(?P<key>[ \t]*H_canvas_to_projector = )\[\s*"
    r"\[(?P<r0>[^\]]*)\],\s*\[(?P<r1>[^\]]*)\],\s*\[(?P<r2>[^\]]*)\],?\s*\]",
    re.MULTILINE,
)
_SIZE = re.compile(r"^(?P<key>[ \t]*mesh_size = )\[(?P<body>[^\]\[]*)\]", re.MULTILINE)
_POINTS = re.compile(
    r"^(?P<key>[ \t]*(?:pairs_(?:canvas|projector)|mesh_offsets)_px = )"
    r"\[(?P<body>(?:\s*\[[^\]]*\],?)*)\s*\]",
    re.MULTILINE,
)


def _compact(text: str) -> str:
    """Write each matrix row and each point on one line, as a person would (same values)."""

    def row(body: str) -> str:
        return "[" + ", ".join(v.strip() for v in body.split(",") if v.strip()) + "]"

    def matrix(m: re.Match[str]) -> str:
        rows = ",\n    ".join(row(m.group(f"r{i}")) for i in range(3))
        return f"{m.group('key')}[\n    {rows},\n]"

    def points(m: re.Match[str]) -> str:
        rows = [row(r) for r in re.findall(r"\[([^\]]*)\]", m.group("body"))]
        if not rows:
            return f"{m.group('key')}[]"
        return f"{m.group('key')}[\n    " + ",\n    ".join(rows) + ",\n]"

    def size(m: re.Match[str]) -> str:
        return f"{m.group('key')}{row(m.group('body'))}"

    return _SIZE.sub(size, _POINTS.sub(points, _MATRIX.sub(matrix, text)))


def _to_document(cal: CalibrationFile) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": cal.schema_version}
    if cal.venue:
        doc["venue"] = cal.venue
    surfaces: dict[str, Any] = {}
    for name, surface in cal.surfaces.items():
        entry: dict[str, Any] = {
            "output": surface.output,
            # float() of a float64 is exact; tomli_w writes repr(), the shortest round trip.
            "H_canvas_to_projector": [
                [float(v) for v in row] for row in surface.H_canvas_to_projector
            ],
            "method": surface.method,
        }
        if surface.residual_rms_px is not None:
            entry["residual_rms_px"] = float(surface.residual_rms_px)
        if surface.residual_max_px is not None:
            entry["residual_max_px"] = float(surface.residual_max_px)
        if surface.points is not None:
            entry["points"] = int(surface.points)
        if surface.updated is not None:
            entry["updated"] = surface.updated
        if surface.pairs_canvas_px is not None and surface.pairs_projector_px is not None:
            entry["pairs_canvas_px"] = [[float(v) for v in p] for p in surface.pairs_canvas_px]
            entry["pairs_projector_px"] = [
                [float(v) for v in p] for p in surface.pairs_projector_px
            ]
        if surface.mesh_offsets_px is not None:
            ny, nx = surface.mesh_offsets_px.shape[:2]
            entry["mesh_size"] = [nx, ny]
            entry["mesh_offsets_px"] = [
                [float(v) for v in p] for p in surface.mesh_offsets_px.reshape(-1, 2)
            ]
        surfaces[name] = entry
    doc["surfaces"] = surfaces
    if cal.blend is not None:
        blend: dict[str, Any] = {"black_level": float(cal.blend.black_level)}
        edges: dict[str, dict[str, Any]] = {}
        for edge in cal.blend.edges:
            edges.setdefault(edge.output, {})[edge.neighbour] = {
                "width_px": float(edge.width_px),
                "curve": float(edge.curve),
            }
        if edges:
            blend["edges"] = edges
        doc["blend"] = blend
    return doc


def _create_temp(file: Path) -> tuple[int, Path]:
    """Create ``.<name>.<random>.tmp`` in ``file``'s own folder, mode 0o666 less the umask.

    The same folder, so the final ``os.replace`` is a rename within one file system
    (atomic), never a copy across devices. (``tempfile.mkstemp`` would make it 0o600,
    and the calibration file would lose its group / world read permission on replace.)
    """
    for _ in range(100):
        tmp = file.parent / f".{file.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(f"could not create a temporary file next to {file}")


# --------------------------------------------------------------------------- history


def history_dir(path: str | os.PathLike[str]) -> Path:
    """Directory holding previous versions of the calibration file at ``path``."""
    return _target(path).parent / HISTORY_DIR_NAME


def history_files(path: str | os.PathLike[str]) -> list[Path]:
    """Previous versions of the file at ``path``, oldest first (temporary files ignored)."""
    file = _target(path)
    folder = history_dir(file)
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(file.stem)}\.\d{{8}}T\d{{6}}\.\d{{6}}Z\.toml$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name) and p.is_file())


@dataclass(frozen=True)
class HistoryEntry:
    """One previous version of a calibration file, as :func:`list_history` describes it.

    ``number`` counts back from the newest (1 = the version the last save replaced).
    ``methods`` maps surface name to method; ``problem`` says why a copy does not load
    (``None`` when it does).
    """

    number: int
    path: Path
    saved: dt.datetime
    methods: Mapping[str, str]
    problem: str | None = None


def list_history(path: str | os.PathLike[str]) -> list[HistoryEntry]:
    """Every previous version of the file at ``path``, newest first, numbered from 1."""
    entries = []
    for number, copy in enumerate(reversed(history_files(path)), start=1):
        stamp = copy.name[len(_target(path).stem) + 1 : -len(".toml")]
        saved = dt.datetime.strptime(stamp, _TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
        try:
            cal = load_calibration(copy)
        except ValidationError as exc:
            entries.append(HistoryEntry(number, copy, saved, {}, str(exc.problems[0])))
            continue
        methods = {name: s.method for name, s in cal.surfaces.items()}
        entries.append(HistoryEntry(number, copy, saved, types.MappingProxyType(methods)))
    return entries


def find_history(path: str | os.PathLike[str], which: int | str) -> HistoryEntry:
    """The history entry ``which``: its number (1 = newest) or a prefix of its timestamp.

    A timestamp may be written as in the file name (``20261125T170000``) or as ISO-8601
    (``2026-11-25T17:00:00``). Raises ``LookupError`` naming what is available.
    """
    entries = list_history(path)
    if not entries:
        raise LookupError(f"{_target(path)} has no history")
    if isinstance(which, int) or (isinstance(which, str) and which.isdigit() and len(which) < 6):
        number = int(which)
        for entry in entries:
            if entry.number == number:
                return entry
        raise LookupError(f"no history version {number}; there are {len(entries)} (1 = newest)")
    wanted = re.sub(r"[-:]", "", which).rstrip("Z")
    matches = [e for e in entries if e.saved.strftime(_TIMESTAMP_FORMAT).startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"no history version saved at {which!r}")
    raise LookupError(
        f"{len(matches)} history versions match {which!r}; give more of the timestamp or the number"
    )


def restore_history(
    path: str | os.PathLike[str], which: int | str, *, history: int = 20
) -> CalibrationFile:
    """Make history version ``which`` (see :func:`find_history`) the current file again.

    The copy is validated first (an invalid copy raises :class:`ValidationError` and
    nothing changes); the restore is an ordinary locked, atomic save, so the version it
    replaces goes to history and the restore can itself be undone.
    """
    entry = find_history(path, which)
    cal = load_calibration(entry.path)
    restored = save_calibration(path, dataclasses.replace(cal, source=None), history=history)
    logger.info("restored %s from %s", _target(path), entry.path.name)
    return restored


def _copy_to_history(file: Path, data: bytes) -> Path:
    """Write ``data`` (the file's current content) as a new history copy, atomically."""
    folder = history_dir(file)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC)
    while True:
        target = folder / f"{file.stem}.{stamp.strftime(_TIMESTAMP_FORMAT)}.toml"
        if not target.exists():
            break
        # Two saves in the same microsecond: step forward so names stay unique and sorted.
        stamp += dt.timedelta(microseconds=1)
    fd, tmp = _create_temp(target)
    try:
        _write_and_sync(fd, data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(folder)
    return target


def _rotate_history(file: Path, keep: int) -> None:
    copies = history_files(file)
    for old in copies[: max(0, len(copies) - keep)]:
        try:
            old.unlink()
        except OSError as exc:  # a stale history copy must never fail a save
            logger.warning("could not remove old calibration history %s: %s", old, exc)


def _fsync_directory(folder: Path) -> None:
    """Make the rename durable where the platform allows it (POSIX); best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- helpers


def _iso_text(value: dt.date) -> str:
    text = value.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def utc_now_text() -> str:
    """The current UTC time as ISO-8601 text to the second (for ``updated``)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
