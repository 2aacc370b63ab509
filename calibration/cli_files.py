"""``run_show.py calibrate history|fit``: calibration files and point pairs (CLI only).

Each subcommand is one ``_add_<name>`` function (its arguments) and one ``cmd_<name>``
function (what it does); :func:`add_commands` hooks them under ``calibrate``
(:mod:`calibration.cli`). The work itself lives in :mod:`calibration.store` and
:mod:`calibration.fit`. Every subcommand exits non-zero with a plain message, never a
traceback, on bad input, and a failed run never writes a calibration file.

* ``calibrate history FILE`` — earlier versions of a calibration file, newest first;
  ``--restore N`` (or a timestamp) makes one current again (itself undoable).
* ``calibrate fit POINTS --surface NAME --output OUT --file CALIB.toml`` — fit a
  homography to measured point pairs, print every point's residual and save it.

Point files are TOML (``[[points]]`` tables with ``canvas_px`` and ``projector_px``,
optional ``name``) or CSV (``canvas_x,canvas_y,projector_x,projector_y[,name]``); see
``docs/calibration-files.md``.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mapping import argtypes, validate
from mapping.errors import Problem, ValidationError

log = logging.getLogger("calibrate")

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``history`` and ``fit`` to the ``calibrate`` subparsers."""
    _add_history(sub)
    _add_fit(sub)


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``calibrate`` subcommand; returns the exit status."""
    from calibration.fit import FitError
    from calibration.store import StaleCalibrationError

    try:
        return args.calibrate_func(args)
    except ValidationError as exc:
        _print_problems(exc.problems)
    except (FitError, LookupError, StaleCalibrationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (OSError, TimeoutError) as exc:
        log.debug("details", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_BAD_INPUT


# --------------------------------------------------------------------------- history


def _add_history(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="list earlier versions of a calibration file, or restore one",
        description="List the earlier versions of a calibration file kept in .history/, "
        "newest first, or restore one of them (the version it replaces goes to history, "
        "so a restore can itself be undone).",
    )
    p.add_argument("file", type=Path, help="calibration file (TOML)")
    p.add_argument(
        "--restore",
        metavar="N|TIMESTAMP",
        help="restore version N of the listing (1 = newest) or the one saved at TIMESTAMP "
        "(e.g. 2026-11-26T07:01 or 20261126T0701)",
    )
    p.set_defaults(calibrate_func=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from calibration.store import find_history, list_history, restore_history

    file: Path = args.file
    if args.restore is not None:
        entry = find_history(file, args.restore)
        restore_history(file, args.restore)
        print(
            f"restored {file} to version {entry.number} (saved {_when(entry.saved)}); "
            "the version it replaced is now history version 1 "
            f"(undo with: calibrate history {file} --restore 1)"
        )
        return 0
    if not file.exists():
        raise LookupError(f"{file}: calibration file not found")
    entries = list_history(file)
    if not entries:
        print(f"{file}: no earlier versions")
        return 0
    print(f"earlier versions of {file}, newest first:")
    for entry in entries:
        if entry.problem:
            what = f"does not load: {entry.problem}"
        else:
            what = ", ".join(f"{name} ({method})" for name, method in entry.methods.items())
            what = what or "no surfaces"
        print(f"  {entry.number:>3}  {_when(entry.saved)}  {what}")
    print(f"restore one with: calibrate history {file} --restore N")
    return 0


def _when(stamp: Any) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


# --------------------------------------------------------------------------- fit


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a surface's homography to measured point pairs and save it",
        description="Fit H_canvas_to_projector to N >= 4 measured point pairs, print each "
        "point's residual in projector pixels, and save the surface into the calibration "
        "file (locked, atomic, previous version to history).",
    )
    p.add_argument("points", type=Path, help="point pairs: .toml ([[points]]) or .csv")
    p.add_argument("--surface", required=True, help="surface name in the calibration file")
    p.add_argument("--output", required=True, help="projector output the points were taken on")
    p.add_argument("--file", required=True, type=Path, help="calibration file to update")
    p.add_argument(
        "--threshold",
        type=argtypes.positive_pixels,
        default=None,
        metavar="PX",
        help="residual above which a point is flagged as an outlier (default 3 px)",
    )
    p.add_argument("--dry-run", action="store_true", help="fit and print, do not save")
    p.add_argument(
        "--keep-outliers",
        action="store_true",
        help="save even when suspect points (beyond the threshold, but used) pull the fit",
    )
    p.set_defaults(calibrate_func=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from calibration.fit import DEFAULT_OUTLIER_THRESHOLD_PX, fit_homography
    from calibration.store import SurfaceCalibration, update_calibration, utc_now_text

    if not args.surface.strip() or not args.output.strip():
        raise ValueError("--surface and --output must not be empty")
    pairs = read_point_pairs(args.points)
    threshold = DEFAULT_OUTLIER_THRESHOLD_PX if args.threshold is None else args.threshold
    fit = fit_homography(
        pairs.points_canvas_px, pairs.points_projector_px, outlier_threshold_px=threshold
    )

    held = fit.held_out_px
    print(
        f"{'#':>3}  {'name':<14} {'canvas_px':>21}  {'projector_px':>21}  {'residual':>9}"
        + ("  held out" if held is not None else "")
    )
    for i in range(fit.points):
        c, p = fit.points_canvas_px[i], fit.points_projector_px[i]
        flag = ""
        if not fit.inliers[i]:
            flag = "  <- OUTLIER: left out of the fit; re-measure this point"
        elif i in fit.suspects:
            flag = "  <- SUSPECT: beyond the threshold but used; re-measure this point"
        column = f"  {held[i]:6.2f} px" if held is not None else ""
        print(
            f"{i:>3}  {pairs.names[i]:<14} ({c[0]:9.2f}, {c[1]:9.2f})  "
            f"({p[0]:9.2f}, {p[1]:9.2f})  {fit.residuals_px[i]:6.3f} px{column}{flag}"
        )
    print(
        f"RMS {fit.rms_px:.3f} px, max {fit.max_px:.3f} px over {int(fit.inliers.sum())} "
        f"inliers; outlier threshold {threshold:g} px"
    )
    if fit.points < 6:
        print(
            f"note: with {fit.points} points a wrong click cannot be detected; "
            "measure 6 or more (8+ is better) to have each point checked by the others"
        )
    if fit.suspects and not args.keep_outliers:
        print(
            f"error: point(s) {', '.join(map(str, fit.suspects))} are beyond the threshold "
            "but the fit could not single them out, so it is pulled by them; re-measure "
            "them (or pass --keep-outliers). Nothing was saved.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if args.dry_run:
        print("dry run: nothing saved")
        return 0
    surface = SurfaceCalibration(
        output=args.output,
        H_canvas_to_projector=fit.H_canvas_to_projector,
        method="point-pairs",
        residual_rms_px=fit.rms_px,
        residual_max_px=fit.max_px,
        points=int(fit.inliers.sum()),
        updated=utc_now_text(),
        pairs_canvas_px=fit.points_canvas_px,
        pairs_projector_px=fit.points_projector_px,
    )
    update_calibration(args.file, args.surface, surface)
    print(f"saved surface '{args.surface}' (output '{args.output}') to {args.file}")
    return 0


@dataclass(frozen=True)
class PointPairs:
    """Point pairs read from a file: (N, 2) arrays and a label per point."""

    points_canvas_px: np.ndarray
    points_projector_px: np.ndarray
    names: list[str]


def read_point_pairs(path: Path) -> PointPairs:
    """Read a ``.toml`` or ``.csv`` point file; raises ValidationError naming file and line."""
    text = validate.decode_text(path, validate.read_input(path, "point file"))
    if path.suffix.lower() == ".csv":
        return _read_csv(path, text)
    return _read_toml(path, text)


def _read_toml(path: Path, text: str) -> PointPairs:
    if problem := validate.nesting_problem(path, text):
        raise ValidationError([problem])
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([validate.toml_syntax_problem(path, exc)]) from None
    index = validate.toml_line_index(text)
    problems: list[Problem] = []

    def problem(key_path: str, message: str) -> None:
        problems.append(Problem(path, key_path, message, validate.find_line(index, key_path)))

    for key in doc:
        if key != "points":
            problem(key, "unknown key; expected [[points]] tables")
    tables = doc.get("points")
    if not isinstance(tables, list) or not tables:
        problem("points", "expected [[points]] tables with canvas_px = [x, y] and projector_px")
        raise ValidationError(problems)
    canvas, projector, names = [], [], []
    for i, table in enumerate(tables):
        kp = f"points[{i}]"
        if not isinstance(table, dict):
            problem(kp, f"expected a table, got {validate.describe(table)}")
            continue
        for key in table:
            if key not in ("canvas_px", "projector_px", "name"):
                problem(f"{kp}.{key}", "unknown key; expected canvas_px, projector_px, name")
        pair = []
        for key in ("canvas_px", "projector_px"):
            value = table.get(key)
            if value is None:
                problem(f"{kp}.{key}", "missing (required); expected [x, y]")
            elif validate.points_problem([value]):
                problem(f"{kp}.{key}", f"expected [x, y], got {validate.describe(value)}")
            else:
                pair.append([float(v) for v in value])
        name = table.get("name", str(i))
        if not isinstance(name, str):
            problem(f"{kp}.name", f"expected a string, got {validate.describe(name)}")
        if len(pair) == 2:
            canvas.append(pair[0])
            projector.append(pair[1])
            names.append(str(name))
    if problems:
        raise ValidationError(problems)
    return PointPairs(np.array(canvas), np.array(projector), names)


_CSV_COLUMNS = ("canvas_x", "canvas_y", "projector_x", "projector_y")


def _read_csv(path: Path, text: str) -> PointPairs:
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(text.splitlines()), start=1)
        if row and not row[0].lstrip().startswith("#")
    ]
    problems: list[Problem] = []
    if not rows:
        raise ValidationError([Problem(path, "", "no point pairs in the file")])
    number, header = rows[0]
    header = [h.strip() for h in header]
    if tuple(header[:4]) != _CSV_COLUMNS:
        raise ValidationError(
            [
                Problem(
                    path,
                    "",
                    f"expected a header line '{','.join(_CSV_COLUMNS)}[,name]', "
                    f"got '{','.join(header)}'",
                    number,
                )
            ]
        )
    canvas, projector, names = [], [], []
    for number, row in rows[1:]:
        cells = [c.strip() for c in row]
        try:
            values = [float(c) for c in cells[:4]]
            if len(values) != 4 or not all(np.isfinite(values)):
                raise ValueError
        except ValueError:
            problems.append(
                Problem(
                    path,
                    "",
                    f"expected four finite numbers {','.join(_CSV_COLUMNS)}, got "
                    f"'{','.join(cells)}'",
                    number,
                )
            )
            continue
        canvas.append(values[:2])
        projector.append(values[2:])
        names.append(cells[4] if len(cells) > 4 and cells[4] else str(len(names)))
    if problems:
        raise ValidationError(problems)
    return PointPairs(np.array(canvas).reshape(-1, 2), np.array(projector).reshape(-1, 2), names)


def _print_problems(problems: list[Problem]) -> None:
    print(f"{len(problems)} problem(s):", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
