"""``run_show.py calibrate patterns|capture|decode|solve``: automatic calibration (CLI only).

Each subcommand is one ``cmd_*`` function taking the parsed arguments and returning an exit
status; :func:`add_commands` registers them under ``calibrate`` (:mod:`calibration.cli`).
Bad input raises :class:`calibration.errors.CalibrationError`, printed as one message
(exit 2, no traceback).

* ``calibrate patterns --projector WxH --out DIR`` — the pattern PNGs.
* ``calibrate capture --projector WxH --out DIR (--camera N | --simulate)`` — run the sequence.
* ``calibrate decode CAPTURE_DIR [--projector WxH] [--layout L] [--out FILE]`` —
  ``correspondences.npz`` (``proj_xy``, ``confidence``).
* ``calibrate solve MARKS.toml --calibration FILE`` — fit the surfaces, save atomically.

Heavy imports happen inside the commands so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from mapping import argtypes

log = logging.getLogger("calibrate")


def add_commands(commands: Any) -> None:
    """Add ``patterns``, ``capture``, ``decode`` and ``solve`` to the ``calibrate`` subparsers."""

    patterns = commands.add_parser("patterns", help="write the structured-light pattern PNGs")
    _projector_args(patterns, required=True)
    patterns.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    patterns.set_defaults(calibrate_func=cmd_patterns)

    capture = commands.add_parser("capture", help="project the patterns and photograph them")
    _projector_args(capture, required=True)
    capture.add_argument("--out", type=Path, required=True, help="capture folder to write")
    capture.add_argument(
        "--show",
        type=Path,
        help="run this show and put the patterns on one of its outputs (with --output)",
    )
    capture.add_argument("--output", help="the show's output the projector is on (with --show)")
    source = capture.add_mutually_exclusive_group(required=True)
    source.add_argument("--camera", help="OpenCV camera: device number or stream URL")
    source.add_argument(
        "--simulate", action="store_true", help="simulated camera and facade (no hardware)"
    )
    capture.add_argument(
        "--display",
        type=argtypes.display,
        default=1,
        help="display number the projector is on (default 1)",
    )
    capture.add_argument(
        "--exposure", type=argtypes.finite_number, help="camera exposure (backend units)"
    )
    capture.add_argument(
        "--settle",
        type=argtypes.nonnegative_seconds,
        default=0.15,
        help="seconds to wait after each pattern",
    )
    capture.add_argument(
        "--retries", type=argtypes.count, default=3, help="retakes per pattern (default 3)"
    )
    capture.add_argument(
        "--camera-size",
        type=argtypes.size,
        default=(640, 480),
        help="simulated camera resolution (default 640x480)",
    )
    capture.add_argument("--seed", type=argtypes.seed, default=0, help="simulation seed")
    capture.set_defaults(calibrate_func=cmd_capture)

    decode = commands.add_parser("decode", help="decode a capture folder into correspondences")
    decode.add_argument("captures", type=Path, help="capture folder")
    _projector_args(decode, required=False)
    decode.add_argument(
        "--out", type=Path, help="output .npz (default CAPTURE_DIR/correspondences.npz)"
    )
    decode.add_argument(
        "--fixed-thresholds",
        action="store_true",
        help="OpenCV's fixed thresholds instead of the noise-aware ones (for comparison)",
    )
    decode.set_defaults(calibrate_func=cmd_decode)

    solve = commands.add_parser("solve", help="fit surfaces from marks and save a calibration")
    solve.add_argument("marks", type=Path, help="marks file (TOML, see docs/calibration.md)")
    solve.add_argument("--calibration", type=Path, required=True, help="calibration file")
    lens = solve.add_mutually_exclusive_group()
    lens.add_argument("--camera-model", type=Path, help="camera K + dist (.npz or .toml)")
    lens.add_argument(
        "--estimate-distortion",
        action="store_true",
        help="estimate radial lens distortion from the first surface",
    )
    solve.add_argument("--venue", help="venue name to store in a new calibration file")
    solve.add_argument(
        "--dry-run", action="store_true", help="print the results, do not save anything"
    )
    solve.set_defaults(calibrate_func=cmd_solve)


def _projector_args(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--projector",
        type=argtypes.size,
        required=required,
        help="projector resolution WIDTHxHEIGHT, e.g. 1920x1080",
    )
    parser.add_argument(
        "--layout",
        choices=("native", "opencv"),
        default=None,
        help="pattern order: native (Gray + fringes, default) or opencv (GrayCodePattern)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``calibrate`` subcommand; CalibrationError → message, exit 2."""
    from calibration.errors import CalibrationError

    try:
        return int(args.calibrate_func(args))
    except CalibrationError as exc:
        log.debug("details", exc_info=True)
        print(f"calibrate {args.calibrate_command}: {exc}", file=sys.stderr)
        return 2


def _size(text: str | tuple[int, int] | None, what: str = "--projector") -> tuple[int, int] | None:
    from calibration.errors import CalibrationError
    from calibration.structured_light import parse_size

    if text is None or isinstance(text, tuple):  # checked by argtypes.size already
        return text
    try:
        return parse_size(text)
    except ValueError as exc:
        raise CalibrationError(f"{what}: {exc}") from exc


def _layout(args: argparse.Namespace):  # -> PatternLayout
    from calibration.errors import CalibrationError
    from calibration.structured_light import make_layout

    size = _size(args.projector)
    assert size is not None
    try:
        return make_layout(args.layout or "native", size)
    except ValueError as exc:
        raise CalibrationError(str(exc)) from exc


# --------------------------------------------------------------------------- commands


def cmd_patterns(args: argparse.Namespace) -> int:
    from calibration.capture import write_patterns

    layout = _layout(args)
    paths = write_patterns(args.out, layout)
    print(f"wrote {len(paths)} patterns ({layout.kind} layout) to {args.out}")
    return 0


def cmd_capture(args: argparse.Namespace) -> int:
    from calibration.capture import capture_sequence, save_captures
    from calibration.errors import CalibrationError
    from calibration.structured_light import generate_patterns

    layout = _layout(args)
    patterns = generate_patterns(layout)
    if args.simulate:
        from calibration.camera import SimulatedCamera, SimulatedProjector
        from calibration.simulation import default_scene, write_simulation_truth

        camera_size = _size(args.camera_size, "--camera-size")
        assert camera_size is not None
        scene, truth = default_scene(layout.projector_size, camera_size)
        projector = SimulatedProjector(layout.projector_size)
        camera = SimulatedCamera(scene, projector, seed=args.seed)
        captures, stats = capture_sequence(
            patterns, projector, camera, layout=layout, settle_s=0.0, max_retries=args.retries
        )
        save_captures(args.out, captures, layout)
        write_simulation_truth(args.out, truth)
    else:
        from calibration.camera import OpenCVCamera
        from calibration.window_projector import WindowProjector

        device: int | str = int(args.camera) if args.camera.isdigit() else args.camera
        camera = OpenCVCamera(device, exposure=args.exposure)
        camera.open()  # fail before any window opens when the camera is not there
        camera.close()
        if args.show is not None:
            from calibration.show_projector import capture_in_show

            if not args.output:
                raise CalibrationError("--show needs --output: the output the projector is on")
            captures, stats = capture_in_show(
                args.show,
                args.output,
                patterns,
                camera,
                layout,
                settle_s=args.settle,
                max_retries=args.retries,
            )
            save_captures(args.out, captures, layout)
            print(f"captured {len(captures)} patterns into {args.out} ({stats.retakes} retake(s))")
            return 0
        with WindowProjector(args.display, layout.projector_size) as projector:
            captures, stats = capture_sequence(
                patterns,
                projector,
                camera,
                layout=layout,
                settle_s=args.settle,
                max_retries=args.retries,
            )
        save_captures(args.out, captures, layout)
    print(
        f"captured {len(captures)} patterns into {args.out} in {stats.seconds:.1f} s "
        f"({stats.retakes} retake(s))"
    )
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from calibration.capture import load_capture_folder
    from calibration.decode import decode
    from calibration.errors import CalibrationError

    captures, layout, names = load_capture_folder(
        args.captures, projector_size=_size(args.projector), layout_kind=args.layout
    )
    corr = decode(captures, layout, noise_aware=not args.fixed_thresholds, names=names)
    out = args.out or args.captures / "correspondences.npz"
    try:
        corr.save(str(out))
    except OSError as exc:
        raise CalibrationError(
            f"cannot write {out}: {exc.strerror or exc}. Choose another place with --out FILE."
        ) from exc
    w, h = corr.camera_size
    print(
        f"decoded {w}x{h} camera pixels ({layout.kind} layout, projector "
        f"{layout.projector_size[0]}x{layout.projector_size[1]}): "
        f"valid fraction {corr.valid_fraction:.3f}, decode time {corr.decode_s:.3f} s"
    )
    print(f"wrote {out}")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    import datetime as dt

    import cv2
    import numpy as np

    from calibration.marks import load_marks
    from calibration.solve import (
        estimate_radial_distortion,
        load_camera_model,
        projector_overlaps,
        sample_correspondences,
        solve_surface,
    )
    from calibration.store import (
        CalibrationFile,
        SurfaceCalibration,
        load_calibration,
        update_calibration,
        with_surface,
    )
    from mapping.errors import ValidationError

    marks = load_marks(args.marks)
    camera_model = None
    if args.camera_model is not None:
        camera_model = load_camera_model(args.camera_model)
    elif marks.camera_model is not None:
        camera_model = load_camera_model(marks.camera_model)

    solutions = []
    for surface in marks.surfaces:
        corr = marks.correspondences(surface.output)
        if args.estimate_distortion and camera_model is None:
            region = surface.polygon_camera_px
            if region is None:  # the hull of the marks: one plane, not the whole image
                region = cv2.convexHull(surface.points_camera_px.astype(np.float32))
                region = region.reshape(-1, 2).astype(np.float64)
            cam, proj = sample_correspondences(corr, region)
            camera_model = estimate_radial_distortion(cam, proj, corr.camera_size)
            print(
                f"estimated lens distortion k1={camera_model.dist[0]:.4f} "
                f"k2={camera_model.dist[1]:.4f}"
            )
        solution = solve_surface(
            corr,
            name=surface.name,
            output=surface.output,
            points_canvas_px=surface.points_canvas_px,
            points_camera_px=surface.points_camera_px,
            polygon_camera_px=surface.polygon_camera_px,
            camera_model=camera_model,
        )
        solutions.append(solution)
        fit = solution.fit
        print(
            f"surface {surface.name} → output {surface.output}: {solution.points} points, "
            f"{100 * fit.inlier_fraction:.1f}% inliers"
        )
        print(f"  fit residual      {fit.fit}")
        print(f"  held-out residual {fit.held_out}")

    used = {solution.output for solution in solutions}
    sizes = {name: marks.correspondences(name).projector_size for name in used}
    for overlap in projector_overlaps(solutions, sizes):
        print(
            f"overlap {overlap.first} / {overlap.second}: {overlap.area_canvas_px2:.0f} "
            f"canvas_px² (polygon {overlap.polygon_canvas_px.round(1).tolist()})"
        )

    if args.dry_run:
        print("dry run: nothing saved")
        return 0
    if args.calibration.exists():
        try:
            load_calibration(args.calibration)  # refuse a broken file before fitting
        except ValidationError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(
                f"calibrate solve: {args.calibration} has problems; fix it or choose another "
                "file. Nothing was saved.",
                file=sys.stderr,
            )
            return 2
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = {
        solution.name: SurfaceCalibration(
            output=solution.output,
            H_canvas_to_projector=solution.H_canvas_to_projector,
            method="structured-light",
            residual_rms_px=round(_reported_rms(solution.fit), 4),
            points=solution.points,
            updated=now,
        )
        for solution in solutions
    }

    def change(cal: CalibrationFile) -> CalibrationFile:
        if not cal.surfaces and not cal.venue and args.venue:
            cal = CalibrationFile(venue=args.venue)
        for name, entry in entries.items():
            cal = with_surface(cal, name, entry)
        return cal

    # read-modify-write under the file's lock: surfaces another tool saved meanwhile are kept
    update_calibration(args.calibration, change)
    print(f"saved {len(solutions)} surface(s) to {args.calibration}")
    return 0


def _reported_rms(fit: Any) -> float:
    """Held-out RMS when there was enough to hold out, else the fit RMS."""
    import math

    held_out = fit.held_out.rms_px
    return held_out if math.isfinite(held_out) else fit.fit.rms_px
