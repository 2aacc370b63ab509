#!/usr/bin/env python3
"""Command-line entry: run, render or check a show folder. Wiring only.

python run_show.py SHOW_DIR [--headless | --windowed] [--cue CUE] [--fps F] [--duration S]
python run_show.py render SHOW_DIR --out DIR [--frames N] [--fps F] [--cue CUE] [--video]
python run_show.py check SHOW_DIR
python run_show.py calibrate {patterns,capture,decode,solve} ...   (see docs/calibration.md)
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("run_show")

SUBCOMMANDS = ("run", "render", "check", "displays", "calibrate")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_show.py",
        description="Projection-mapping show controller. "
        "Without a subcommand, runs SHOW_DIR live ('run').",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a show live on projector windows or headless")
    run.add_argument("show", type=Path, help="show folder (containing show.toml)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--headless",
        action="store_true",
        help="offscreen outputs, no window (machines without a display)",
    )
    mode.add_argument(
        "--windowed",
        action="store_true",
        help="ordinary desktop windows instead of fullscreen (preview)",
    )
    run.add_argument("--cue", help="cue to start in (default: the first cue)")
    run.add_argument("--no-cue", action="store_true", help="start with no cue fired")
    run.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    run.add_argument("--duration", type=float, help="stop after this many seconds of show time")

    render = sub.add_parser("render", help="render frames to PNG files (and MP4) headless")
    render.add_argument("show", type=Path)
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.add_argument("--frames", type=int, default=1, help="number of frames (default 1)")
    render.add_argument("--fps", type=float, default=30.0, help="frames per second of show time")
    render.add_argument("--cue", help="render the state of this cue (cues track up to it)")
    render.add_argument("--start", type=float, default=0.0, help="show time of frame 0, seconds")
    render.add_argument("--video", action="store_true", help="also write one MP4 per output")

    check = sub.add_parser("check", help="validate a show folder and print a summary")
    check.add_argument("show", type=Path)

    sub.add_parser("displays", help="list the displays outputs can name (display = N)")

    from calibration.cli import add_calibrate_parser

    add_calibrate_parser(sub)
    return parser


def _load(show_dir: Path):  # -> Show | None
    from mapping.errors import ValidationError
    from mapping.show import load_show

    try:
        return load_show(show_dir)
    except ValidationError as exc:
        log.error("the show has %d problem(s):", len(exc.problems))
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def cmd_run(args: argparse.Namespace) -> int:
    from mapping.commands import CyclePattern, Go, Stop
    from mapping.outputs import HeadlessOutputs, NoDisplayError, WindowOutputs
    from mapping.player import ShowPlayer

    show = _load(args.show)
    if show is None:
        return 2
    start_cue = None
    if not args.no_cue and show.cues:
        start_cue = args.cue or show.cues[0].name
        if start_cue not in [c.name for c in show.cues]:
            log.error(
                "unknown cue '%s'; cues are: %s", start_cue, ", ".join(c.name for c in show.cues)
            )
            return 2
    player: ShowPlayer | None = None

    def on_key(symbol: int, modifiers: int) -> None:
        from pyglet.window import key

        if player is None:
            return
        if symbol == key.SPACE:
            player.commands.put(Go())
        elif symbol == key.T:
            player.commands.put(CyclePattern())
        elif symbol in (key.ESCAPE, key.Q):
            player.commands.put(Stop())

    if args.headless:
        outputs = HeadlessOutputs()
    else:
        try:
            outputs = WindowOutputs(show.outputs, windowed=args.windowed, key_handler=on_key)
        except NoDisplayError as exc:
            log.error(
                "%s: cannot open projector windows. To run this show without a display, use\n"
                "    python run_show.py %s --headless\n"
                "or render it to files with\n"
                "    python run_show.py render %s --out out/ --frames 90",
                exc,
                args.show,
                args.show,
            )
            return 3
    player = ShowPlayer(show, outputs, start_cue=start_cue)
    keys = "" if args.headless else "; keys: SPACE = GO, T = test patterns, ESC = quit"
    log.info(
        "running '%s' (%s) on %d output(s)%s%s",
        show.name,
        "headless" if args.headless else ("windowed" if args.windowed else "fullscreen"),
        len(show.outputs),
        f", starting in cue '{start_cue}'" if start_cue else "",
        keys,
    )
    player.run(fps=args.fps, duration_s=args.duration)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from mapping.gl.context import create_headless_context
    from mapping.recorder import render_show

    show = _load(args.show)
    if show is None:
        return 2
    if args.cue is not None and args.cue not in [c.name for c in show.cues]:
        log.error("unknown cue '%s'; cues are: %s", args.cue, ", ".join(c.name for c in show.cues))
        return 2
    if args.frames < 1 or args.fps <= 0:
        log.error("--frames must be ≥ 1 and --fps > 0")
        return 2
    ctx = create_headless_context()
    try:
        result = render_show(
            ctx,
            show,
            args.out,
            frames=args.frames,
            fps=args.fps,
            cue=args.cue,
            start_s=args.start,
            video=args.video,
        )
    finally:
        ctx.release()
    for name, folder in result.png_dirs.items():
        log.info("%s: %d PNG frame(s) in %s", name, result.frames, folder)
    for name, path in result.videos.items():
        log.info("%s: video %s", name, path)
    for layer, error in result.layer_errors.items():
        log.warning("layer '%s' was drawn as a placeholder: %s", layer, error)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from mapping.check import check_show
    from mapping.gl.context import create_headless_context

    report = check_show(args.show, ctx_factory=create_headless_context)
    if report.show is not None:
        print(report.summary())
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(problem, file=sys.stderr)
        return 1
    print("\nOK")
    return 0


def cmd_displays(args: argparse.Namespace) -> int:
    from mapping.outputs import NoDisplayError, list_displays

    try:
        screens = list_displays()
    except NoDisplayError as exc:
        log.error("%s", exc)
        return 3
    for index, (x, y, w, h) in enumerate(screens):
        print(f"display = {index}: {w}×{h} at ({x}, {y})")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # "run_show.py SHOW_DIR ..." is short for "run_show.py run SHOW_DIR ..."
    first, i = None, 0
    while i < len(argv):
        if argv[i] == "--log-level":
            i += 2
            continue
        if not argv[i].startswith("-"):
            first = i
            break
        i += 1
    if first is not None and argv[first] not in SUBCOMMANDS:
        argv.insert(first, "run")
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    from calibration.cli import run as cmd_calibrate

    commands = {
        "run": cmd_run,
        "render": cmd_render,
        "check": cmd_check,
        "displays": cmd_displays,
        "calibrate": cmd_calibrate,
    }
    try:
        return commands[args.command](args)
    except (OSError, RuntimeError) as exc:  # no GL context, unwritable folder, …: say so plainly
        log.debug("details", exc_info=True)
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
