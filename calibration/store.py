"""Calibration files: the plain-TOML record of where each facade surface lands on a projector.

This module owns the calibration file format, its validation and its safe saving. A
calibration file is written by the calibration tools and may be shared by several shows
at one venue. It is plain TOML, readable and editable by hand::

    schema_version = 1
    venue = "Old Town Hall"          # optional free text

    [surfaces.wall-left]
    output = "left"                   # projector output name
    H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    method = "corner-pin"             # optional, default "manual"; one of METHODS
    residual_rms_px = 0.12            # optional, float >= 0
    points = 4                        # optional, number of correspondences used
    updated = "2026-11-25T17:00:00Z"  # optional ISO-8601 text

* ``schema_version`` (required integer) is one of :data:`SUPPORTED_SCHEMA_VERSIONS`.
* ``H_canvas_to_projector`` is a row-major 3x3 homography taking continuous ``canvas_px``
  (pixel centres at +0.5) to continuous ``projector_px``; it must be finite and
  non-singular. Floats are written with Python's shortest round-trip repr, so a save and
  load gives back the exact float64 bits.
* ``updated`` may also be a native TOML datetime; it is read back as ISO-8601 text.

Loading (:func:`load_calibration`) collects every problem in the file and raises one
:class:`mapping.errors.ValidationError`; each :class:`~mapping.errors.Problem` names the
file, the key path (``surfaces.wall-left.H_canvas_to_projector``), the line where it can
be found and what was expected.

Saving (:func:`save_calibration`) is atomic: the new content goes to a temporary file in
the same directory, is flushed and fsynced, and replaces the old file with
``os.replace``. Before that, the previous file is copied to
``<dir>/.history/<stem>.<UTC timestamp>.toml`` and only the newest ``history`` copies of
that file are kept, so a wrong save can be undone by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import re
import secrets
import shutil
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from mapping.errors import Problem, ValidationError, did_you_mean, is_finite_number

logger = logging.getLogger(__name__)

SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
CURRENT_SCHEMA_VERSION = 1
METHODS: tuple[str, ...] = ("corner-pin", "point-pairs", "structured-light", "manual")
HISTORY_DIR_NAME = ".history"

#: Nominal pixel scale used to condition H before the singularity test (see below).
_NOMINAL_SCALE_PX = 1000.0
#: H counts as singular when |det(Hn)| < SINGULAR_RELATIVE_DET * ||Hn||_F^3, where
#: Hn = N^-1 H N with N = diag(1000, 1000, 1): H expressed in units of 1000 px, so that
#: ordinary translations of a few thousand pixels do not dominate the norm. The test is
#: independent of H's overall scale (homographies are defined up to scale).
SINGULAR_RELATIVE_DET = 1e-10

_TOP_KEYS = ("schema_version", "venue", "surfaces")
_SURFACE_KEYS = (
    "output",
    "H_canvas_to_projector",
    "method",
    "residual_rms_px",
    "points",
    "updated",
)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TOML_LINE = re.compile(r"line (\d+)")
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=False)
class SurfaceCalibration:
    """Where one canvas surface lands on one projector output.

    ``H_canvas_to_projector`` is copied to a read-only float64 3x3 array on construction.
    Raises ``ValueError`` for a matrix that is not 3x3, not finite or singular, an unknown
    ``method``, a negative or non-finite ``residual_rms_px`` or a negative ``points``.
    Equality compares the matrix bit for bit.
    """

    output: str
    H_canvas_to_projector: np.ndarray
    method: str = "manual"
    residual_rms_px: float | None = None
    points: int | None = None
    updated: str | None = None

    def __post_init__(self) -> None:
        H = np.array(self.H_canvas_to_projector, dtype=np.float64, copy=True)
        if H.shape != (3, 3):
            raise ValueError(f"H_canvas_to_projector must be 3x3, got shape {H.shape}")
        problems = _homography_problems(H)
        if problems:
            raise ValueError("H_canvas_to_projector: " + "; ".join(problems))
        H.flags.writeable = False
        object.__setattr__(self, "H_canvas_to_projector", H)
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {METHODS}")
        if self.residual_rms_px is not None:
            rms = float(self.residual_rms_px)
            if not math.isfinite(rms) or rms < 0:
                raise ValueError(f"residual_rms_px must be a finite float >= 0, got {rms!r}")
            object.__setattr__(self, "residual_rms_px", rms)
        if self.points is not None and (isinstance(self.points, bool) or self.points < 0):
            raise ValueError(f"points must be an integer >= 0, got {self.points!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SurfaceCalibration):
            return NotImplemented
        return (
            self.output == other.output
            and self.H_canvas_to_projector.tobytes() == other.H_canvas_to_projector.tobytes()
            and self.method == other.method
            and self.residual_rms_px == other.residual_rms_px
            and self.points == other.points
            and self.updated == other.updated
        )

    def __hash__(self) -> int:
        return hash(
            (
                self.output,
                self.H_canvas_to_projector.tobytes(),
                self.method,
                self.residual_rms_px,
                self.points,
                self.updated,
            )
        )


@dataclass(frozen=True)
class CalibrationFile:
    """Every surface calibration at one venue; ``surfaces`` maps surface name to calibration.

    ``surfaces`` is copied into a read-only mapping on construction (insertion order kept).
    """

    surfaces: Mapping[str, SurfaceCalibration] = field(default_factory=dict)
    venue: str = ""
    schema_version: int = CURRENT_SCHEMA_VERSION

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
        return hash((tuple(self.surfaces.items()), self.venue, self.schema_version))


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
    ``H_canvas_to_projector`` that is not 3x3 numbers, not finite or singular, and unknown
    methods. With an unsupported ``schema_version`` only that problem is reported, since
    the meaning of the other keys depends on the version.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError([Problem(file, "", "calibration file not found")]) from None
    except IsADirectoryError:
        raise ValidationError([Problem(file, "", "is a directory, expected a file")]) from None
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem(file, "", f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise ValidationError([Problem(file, "", f"cannot read file: {exc}")]) from None

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise ValidationError([Problem(file, "", f"TOML syntax error: {exc}", line)]) from None

    checker = _Checker(file, text)
    cal = checker.document(doc)
    if checker.problems or cal is None:
        raise ValidationError(checker.problems)
    logger.info("loaded calibration %s: %d surfaces", file, len(cal.surfaces))
    return cal


class _Checker:
    """Walks a parsed document, collecting problems instead of stopping at the first."""

    def __init__(self, file: Path, text: str):
        self.file = file
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def problem(self, key_path: str, message: str) -> None:
        self.problems.append(Problem(self.file, key_path, message, self._line_of(key_path)))

    def document(self, doc: dict[str, Any]) -> CalibrationFile | None:
        version = doc.get("schema_version")
        supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        if "schema_version" not in doc:
            self.problem("schema_version", f"missing; expected an integer ({supported})")
        elif isinstance(version, bool) or not isinstance(version, int):
            self.problem(
                "schema_version", f"expected an integer ({supported}), got {_show(version)}"
            )
        elif version not in SUPPORTED_SCHEMA_VERSIONS:
            self.problem(
                "schema_version",
                f"version {version} is not supported; supported versions: {supported}",
            )
            return None

        self.unknown_keys(doc, _TOP_KEYS, "")
        venue = doc.get("venue", "")
        if not isinstance(venue, str):
            self.problem("venue", f"expected text, got {_show(venue)}")
            venue = ""

        surfaces_doc = doc.get("surfaces", {})
        surfaces: dict[str, SurfaceCalibration] = {}
        if not isinstance(surfaces_doc, dict):
            self.problem("surfaces", f"expected a table of surfaces, got {_show(surfaces_doc)}")
        else:
            for name, entry in surfaces_doc.items():
                surface = self.surface(name, entry)
                if surface is not None:
                    surfaces[name] = surface
        if self.problems:
            return None
        return CalibrationFile(
            surfaces=surfaces, venue=venue, schema_version=CURRENT_SCHEMA_VERSION
        )

    def surface(self, name: str, entry: Any) -> SurfaceCalibration | None:
        base = f"surfaces.{_key(name)}"
        if not isinstance(entry, dict):
            self.problem(base, f"expected a table [{base}], got {_show(entry)}")
            return None
        before = len(self.problems)
        self.unknown_keys(entry, _SURFACE_KEYS, base)

        output = entry.get("output")
        if output is None:
            self.problem(f"{base}.output", "missing; expected the projector output name (text)")
        elif not isinstance(output, str) or not output:
            self.problem(f"{base}.output", f"expected non-empty text, got {_show(output)}")

        H = self.homography(f"{base}.H_canvas_to_projector", entry.get("H_canvas_to_projector"))

        method = entry.get("method", "manual")
        if not isinstance(method, str) or method not in METHODS:
            self.problem(
                f"{base}.method",
                f"unknown method {_show(method)}; expected one of: {', '.join(METHODS)}"
                + did_you_mean(method, METHODS),
            )

        rms = entry.get("residual_rms_px")
        if rms is not None:
            if isinstance(rms, bool) or not isinstance(rms, int | float):
                self.problem(f"{base}.residual_rms_px", f"expected a number >= 0, got {_show(rms)}")
                rms = None
            elif not is_finite_number(rms) or rms < 0:
                self.problem(f"{base}.residual_rms_px", f"expected a finite number >= 0, got {rms}")
                rms = None
            else:
                rms = float(rms)

        points = entry.get("points")
        if points is not None and (
            isinstance(points, bool) or not isinstance(points, int) or points < 0
        ):
            self.problem(f"{base}.points", f"expected an integer >= 0, got {_show(points)}")

        updated = entry.get("updated")
        if isinstance(updated, dt.datetime | dt.date):
            updated = _iso_text(updated)
        elif updated is not None:
            if not isinstance(updated, str):
                self.problem(
                    f"{base}.updated", f"expected ISO-8601 date-time text, got {_show(updated)}"
                )
            else:
                try:
                    dt.datetime.fromisoformat(updated)
                except ValueError:
                    self.problem(
                        f"{base}.updated",
                        f"expected ISO-8601 date-time text like '2026-11-25T17:00:00Z', "
                        f"got {updated!r}",
                    )

        if len(self.problems) > before or H is None:
            return None
        return SurfaceCalibration(
            output=output,
            H_canvas_to_projector=H,
            method=method,
            residual_rms_px=rms,
            points=points,
            updated=updated,
        )

    def homography(self, key_path: str, value: Any) -> np.ndarray | None:
        expected = "expected a 3x3 array of numbers like [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], ...]"
        if value is None:
            self.problem(key_path, f"missing; {expected}")
            return None
        if (
            not isinstance(value, list)
            or len(value) != 3
            or not all(isinstance(row, list) and len(row) == 3 for row in value)
        ):
            self.problem(key_path, f"{expected}, got {_show(value)}")
            return None
        bad = [
            f"[{i}][{j}] = {_show(v)}"
            for i, row in enumerate(value)
            for j, v in enumerate(row)
            if isinstance(v, bool) or not isinstance(v, int | float)
        ]
        if bad:
            self.problem(key_path, f"{expected}; not numbers: {', '.join(bad)}")
            return None
        H = np.array(value, dtype=np.float64)
        messages = _homography_problems(H)
        for message in messages:
            self.problem(key_path, message)
        return None if messages else H

    def unknown_keys(self, table: dict[str, Any], known: tuple[str, ...], base: str) -> None:
        for key in table:
            if key not in known:
                key_path = f"{base}.{_key(key)}" if base else _key(key)
                self.problem(
                    key_path,
                    f"unknown key {key!r}{did_you_mean(key, known)}; "
                    f"expected one of: {', '.join(known)}",
                )

    def _line_of(self, key_path: str) -> int | None:
        """Best-effort 1-based line of ``key_path``: its ``key =`` line, else its table header.

        Only ``[table]`` headers and ``key = value`` lines are understood (dotted keys and
        inline tables fall back to the header or to ``None``).
        """
        parts = _split_key_path(key_path)
        if not parts:
            return None
        table, key = parts[:-1], parts[-1]
        current: list[str] = []
        header_line: int | None = None
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            if _TABLE_HEADER.match(line):
                current = _split_key_path(line.strip("[] ").split("#")[0].strip().rstrip("]"))
                if current == parts or (header_line is None and current == table):
                    header_line = number
                continue
            if current == table and re.match(rf"^[\"']?{re.escape(key)}[\"']?\s*=", line):
                return number
        return header_line


_TABLE_HEADER = re.compile(r"^\[\s*[A-Za-z0-9_\-\"'. ]+\]\s*(#.*)?$")
"""A ``[table]`` header line; matrix rows such as ``[1.0, 0.0, 3.5],`` are not headers."""


def _homography_problems(H: np.ndarray) -> list[str]:
    """What is wrong with a 3x3 float64 homography (empty when it is usable)."""
    if not np.all(np.isfinite(H)):
        where = ", ".join(f"[{i}][{j}]" for i, j in zip(*np.nonzero(~np.isfinite(H)), strict=True))
        return [f"entries must be finite numbers; not finite at {where}"]
    if not np.any(H[2]):
        return ["singular: the third row is all zero, which sends every point to infinity"]
    N = np.diag([_NOMINAL_SCALE_PX, _NOMINAL_SCALE_PX, 1.0])
    Hn = np.linalg.inv(N) @ H @ N
    Hn = Hn / np.abs(Hn).max()  # overall scale is irrelevant; avoids over/underflow below
    scale = float(np.linalg.norm(Hn))
    relative_det = abs(float(np.linalg.det(Hn))) / scale**3 if scale > 0 else 0.0
    if not relative_det > SINGULAR_RELATIVE_DET:
        return [
            f"singular: |det| relative to the matrix scale is {relative_det:.3g} "
            f"(needs > {SINGULAR_RELATIVE_DET:g}); a homography must be invertible"
        ]
    return []


# --------------------------------------------------------------------------- saving


def save_calibration(
    path: str | os.PathLike[str], cal: CalibrationFile, *, history: int = 20
) -> None:
    """Write ``cal`` to ``path`` atomically, keeping the newest ``history`` previous versions.

    Parent directories are created. The file is written to a temporary file next to
    ``path``, flushed and fsynced, then moved over ``path`` with ``os.replace``; if
    anything fails the previous file is untouched and the temporary file is removed.
    Before replacing an existing file it is copied to
    ``<dir>/.history/<stem>.<YYYYmmddTHHMMSS.ffffffZ>.toml`` (UTC) and older copies beyond
    ``history`` are deleted. ``history=0`` keeps no copies.
    """
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        raise ValueError(f"history must be an integer >= 0, got {history!r}")
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    doc = _to_document(cal)

    fd, tmp = _create_temp(file)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(_compact_matrices(tomli_w.dumps(doc)).encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        if file.exists():
            shutil.copymode(file, tmp)
        if file.exists() and history > 0:
            _copy_to_history(file)
        os.replace(tmp, file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(file.parent)
    if history > 0:
        _rotate_history(file, history)
    logger.info("saved calibration %s: %d surfaces", file, len(cal.surfaces))


_MATRIX = re.compile(
    r"^(?P<key>[ \t]*H_canvas_to_projector = )\[\s*"
    r"\[(?P<r0>[^\]]*)\],\s*\[(?P<r1>[^\]]*)\],\s*\[(?P<r2>[^\]]*)\],?\s*\]",
    re.MULTILINE,
)


def _compact_matrices(text: str) -> str:
    """Write each 3×3 matrix as three short rows, as a person would (same values)."""

    def row(body: str) -> str:
        return "[" + ", ".join(v.strip() for v in body.split(",") if v.strip()) + "]"

    def matrix(m: re.Match[str]) -> str:
        rows = ",\n    ".join(row(m.group(f"r{i}")) for i in range(3))
        return f"{m.group('key')}[\n    {rows},\n]"

    return _MATRIX.sub(matrix, text)


def history_dir(path: str | os.PathLike[str]) -> Path:
    """Directory holding previous versions of the calibration file at ``path``."""
    return Path(path).parent / HISTORY_DIR_NAME


def history_files(path: str | os.PathLike[str]) -> list[Path]:
    """Previous versions of the file at ``path``, oldest first."""
    file = Path(path)
    folder = history_dir(file)
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(file.stem)}\.\d{{8}}T\d{{6}}\.\d{{6}}Z\.toml$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


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
        if surface.points is not None:
            entry["points"] = int(surface.points)
        if surface.updated is not None:
            entry["updated"] = surface.updated
        surfaces[name] = entry
    doc["surfaces"] = surfaces
    return doc


def _create_temp(file: Path) -> tuple[int, Path]:
    """Create ``.<name>.<random>.tmp`` next to ``file``, mode 0o666 less the umask.

    (``tempfile.mkstemp`` would make it 0o600, and the calibration file would lose its
    group / world read permission on replace.)
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


def _copy_to_history(file: Path) -> Path:
    folder = history_dir(file)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC)
    while True:
        target = folder / f"{file.stem}.{stamp.strftime(_TIMESTAMP_FORMAT)}.toml"
        if not target.exists():
            break
        # Two saves in the same microsecond: step forward so names stay unique and sorted.
        stamp += dt.timedelta(microseconds=1)
    shutil.copy2(file, target)
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


def _key(name: str) -> str:
    """A surface or key name as it appears in a key path (quoted unless it is a bare key)."""
    return name if _BARE_KEY.match(name) else '"' + name.replace('"', '\\"') + '"'


def _split_key_path(key_path: str) -> list[str]:
    """Split a dotted key path, honouring quoted parts (``surfaces."a.b".output``)."""
    return [
        m.group(1) if m.group(1) is not None else m.group(2).strip()
        for m in re.finditer(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^.]+))\s*(?:\.|$)', key_path)
        if m.group(0).strip()
    ]


def _show(value: Any) -> str:
    """Short description of a TOML value for messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _iso_text(value: dt.date) -> str:
    text = value.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
