#!/usr/bin/env python3
"""Command-line entry: run, render or check a show folder. Wiring only.

python run_show.py SHOW_DIR [--headless | --windowed] [--cue CUE] [--fps F] [--duration S]
                             [--osc-port N] [--osc-bind ADDR] [--oscquery-port N]
python run_show.py render SHOW_DIR --out DIR [--frames N] [--fps F] [--cue CUE] [--video]
python run_show.py node SHOW_DIR --name NAME [--listen HOST:PORT] [--headless | --windowed]
                                                     (a multi-machine show's node: docs/cluster.md)
python run_show.py check SHOW_DIR [--fps F] [--trial-timeout S]   (docs/shaders.md)
python run_show.py media SHOW_DIR [--json]          (docs/media.md; exit 1: a file has problems)
python run_show.py schedule FILE [--date YYYY-MM-DD] [--at "YYYY-MM-DD HH:MM"]
python run_show.py schedule FILE --run [--headless | --windowed] [--fps F] [--duration S]
python run_show.py calibrate {patterns,capture,decode,solve,fit,history} ...  (docs/calibration.md)
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mapping import argtypes

log = logging.getLogger("run_show")

SUBCOMMANDS = (
    "run",
    "node",
    "render",
    "check",
    "media",
    "displays",
    "schedule",
    "calibrate",
    "hash",
)


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
    run.add_argument(
        "--fps",
        type=argtypes.fps,
        help="frame rate (default: the display's refresh rate in windows, else 60; 30 headless)",
    )
    run.add_argument(
        "--duration",
        type=argtypes.positive_seconds,
        help="stop after this many seconds of show time",
    )
    _trial_option(run)
    run.add_argument(
        "--osc-port",
        type=argtypes.port,
        metavar="N",
        help="OSC port, UDP and TCP (default: [control] osc_port of the show; 0 = any free one)",
    )
    run.add_argument(
        "--osc-bind",
        metavar="ADDR",
        help="interface address OSC listens on (default: [control] bind, 127.0.0.1)",
    )
    run.add_argument(
        "--oscquery-port",
        type=argtypes.port,
        metavar="N",
        help="serve OSCQuery (HTTP + WebSocket) on TCP port N and advertise it by mDNS "
        "(default: [control] oscquery_port; 0: off)",
    )

    sound = run.add_mutually_exclusive_group()
    sound.add_argument(
        "--audio-device",
        metavar="DEV",
        help="sound output: a PortAudio device index, a host API (JACK, ALSA) or part of a "
        "device name (default: the system's default output; docs/media.md#sound)",
    )
    sound.add_argument("--no-audio", action="store_true", help="run without sound")

    _panel_options(run)
    unattended = run.add_argument_group("unattended evenings (docs/operations.md)")
    unattended.add_argument(
        "--supervise",
        action="store_true",
        help="run the show under a supervisor that restarts it after a crash or a hung frame "
        "and resumes the same cue at the right show time",
    )
    unattended.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="journal, status.json, quarantine and logs/ (default: $STATE_DIRECTORY, else "
        "$XDG_STATE_HOME/facade-mapper, else ~/.local/state/facade-mapper)",
    )
    unattended.add_argument(
        "--resume",
        action="store_true",
        help="resume the cue and show time of the state journal (the supervisor adds this)",
    )
    unattended.add_argument(
        "--watchdog",
        type=argtypes.positive_seconds,
        default=5.0,
        metavar="S",
        help="with --supervise: restart the show when no frame was drawn for S seconds",
    )

    _cluster_options(run)
    _node_parser(sub)

    render = sub.add_parser("render", help="render frames to PNG files (and MP4) headless")
    render.add_argument("show", type=Path)
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.add_argument(
        "--frames", type=argtypes.frames, default=1, help="number of frames (default 1)"
    )
    render.add_argument(
        "--fps", type=argtypes.fps, default=30.0, help="frames per second of show time"
    )
    render.add_argument("--cue", help="render the state of this cue (cues track up to it)")
    render.add_argument(
        "--start",
        type=argtypes.nonnegative_seconds,
        default=0.0,
        help="show time of frame 0, seconds",
    )
    render.add_argument("--video", action="store_true", help="also write one MP4 per output")
    render.add_argument(
        "--no-audio", action="store_true", help="with --video: leave the soundtrack out"
    )
    _trial_option(render)

    check = sub.add_parser("check", help="validate a show folder and print a summary")
    check.add_argument("show", type=Path)
    check.add_argument(
        "--fps",
        type=argtypes.fps,
        default=60.0,
        help="the show's frame rate: a shader slower than one frame is reported (default 60)",
    )
    _trial_option(check)

    media = sub.add_parser(
        "media",
        help="list every media file of a show folder with its problems "
        "(exit 0: none, 1: some file has problems, 2: the show file is invalid)",
    )
    media.add_argument("show", type=Path)
    media.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("displays", help="list the displays outputs can name (display = N)")
    hashp = sub.add_parser("hash", help="a show folder's content hash and manifest (cluster)")
    hashp.add_argument("show", type=Path)
    hashp.add_argument("--json", action="store_true", help="machine-readable output")
    hashp.add_argument("--against", type=Path, help="another machine's --json output")
    _schedule_parser(sub)

    from calibration.cli import add_calibrate_parser

    add_calibrate_parser(sub)
    return parser


def _trial_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trial-timeout",
        type=argtypes.float_in(0.1, 600.0),
        default=5.0,
        metavar="S",
        help="a shader's trial frame (drawn in a separate process before the shader is "
        "admitted) must finish within S seconds, else it is refused (default 5)",
    )


def _set_trial_budget(args: argparse.Namespace, fps: float | None) -> None:
    from mapping.gl.trial import TrialBudget, set_default_budget

    set_default_budget(TrialBudget.for_fps(fps, getattr(args, "trial_timeout", None)))


def _node_parser(sub) -> None:  # sub: argparse._SubParsersAction
    node = sub.add_parser("node", help="run a render node of a multi-machine show")
    node.add_argument("show", type=Path, help="show folder (the same as the controller's)")
    node.add_argument("--name", required=True, help="this node's name in the show's [[nodes]]")
    node.add_argument(
        "--listen",
        type=argtypes.host_port,
        metavar="HOST:PORT",
        help="UDP address to listen on (default: all interfaces, the port of the show's address)",
    )
    mode = node.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="offscreen outputs, no window")
    mode.add_argument("--windowed", action="store_true", help="desktop windows (preview)")
    node.add_argument(
        "--duration", type=argtypes.positive_seconds, help="stop at this show time (seconds)"
    )
    node.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="append one JSON line per frame: machine clock, show time, frame index, cue",
    )
    node.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="S",
        help="add S seconds to this node's clock (tests of clock errors; never in a show)",
    )
    from mapping.cluster.clockchoice import add_clock_arguments

    add_clock_arguments(node)
    _trial_option(node)
    node.add_argument(
        "--wait",
        type=argtypes.positive_seconds,
        metavar="S",
        help="give up when no controller is heard within S seconds (default: wait forever)",
    )


def cmd_node(args: argparse.Namespace) -> int:
    from mapping.cluster.clock import OffsetClock
    from mapping.cluster.node import run_node
    from mapping.operations.session import default_state_dir
    from mapping.outputs import HeadlessOutputs, NoDisplayError, WindowOutputs

    show = _load(args.show)
    if show is None:
        return 2
    names = [n.name for n in show.nodes]
    if args.name not in names:
        from mapping.errors import did_you_mean

        log.error(
            "%s: no node named '%s'%s; the show's nodes: %s",
            show.file,
            args.name,
            did_you_mean(args.name, names),
            ", ".join(names) or "none (add [[nodes]])",
        )
        return 2
    _set_trial_budget(args, None)  # the node's shaders are tried like the controller's
    clock = _cluster_clock(args, show)
    if args.clock_offset:
        clock = OffsetClock(clock, args.clock_offset)
    mine = tuple(o for o in show.outputs if o.node == args.name)
    if not mine:
        log.warning('node %s: no output of the show names it (node = "%s")', args.name, args.name)
    if args.headless or not mine:
        outputs = HeadlessOutputs()
    else:
        try:
            outputs = WindowOutputs(mine, windowed=args.windowed)
        except NoDisplayError as exc:
            log.error("%s: cannot open projector windows; add --headless", exc)
            return 3
    return run_node(
        show,
        args.name,
        args.listen,
        outputs,
        clock=clock,
        record=args.record,
        duration_s=args.duration,
        wait_s=args.wait,
        hash_cache=default_state_dir() / "showhash-cache.json",
    )


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    """The controller's options (``run`` and ``schedule --run``); each overrides the show
    file's ``[cluster]`` setting."""
    cluster = parser.add_argument_group("several machines (docs/cluster.md)")
    cluster.add_argument(
        "--lead-frames",
        type=argtypes.frames,
        default=None,
        metavar="N",
        help="when the show names [[nodes]]: commands land this many frames ahead on every "
        "machine (more than the network's delay; default: [cluster] lead_frames, else 4)",
    )
    cluster.add_argument(
        "--cluster-bind",
        metavar="ADDR",
        default="0.0.0.0",
        help="interface the controller talks to the nodes from (default: all)",
    )
    cluster.add_argument(
        "--show-mismatch",
        choices=("refuse", "warn"),
        default=None,
        help="a node whose show folder differs (content hash): refuse it or warn "
        "(default: [cluster] show_mismatch, else refuse)",
    )
    from mapping.cluster.clockchoice import add_clock_arguments

    add_clock_arguments(cluster)  # the shared time, when the show names [[nodes]]


def _cluster_clock(args: argparse.Namespace, show):  # show: Show -> ClockSource
    """The shared time ``--clock`` asks for, else the show file's ``[cluster] clock``, else
    ``auto`` (PTP, else chrony, else the system clock)."""
    from mapping.cluster.clockchoice import choose_clock, resolve_choice

    return choose_clock(
        resolve_choice(args.clock, show.cluster.clock),
        ptp_socket=args.ptp_socket,
        chrony_socket=args.chrony_socket,
    ).clock


def _cluster_controller(
    args: argparse.Namespace, show, player, fps: float, state_dir: Path, start_cue: str | None
):  # -> ClusterController | None
    """The controller side of a multi-machine show (``run`` and ``schedule --run`` alike):
    None when the show names no nodes. Attached to ``player`` before anything submits, so
    every command goes to the nodes first; the caller :meth:`~ClusterController.start` s it.
    The command line's options win over the show file's ``[cluster]`` table."""
    if not show.nodes:
        return None
    from mapping.cluster.controller import ClusterController, settings

    lead_frames, mismatch = settings(args.lead_frames, args.show_mismatch, show.cluster)
    cluster = ClusterController(
        show,
        fps,
        clock=_cluster_clock(args, show),
        start_cue=start_cue,
        lead_frames=lead_frames,
        bind=(args.cluster_bind, 0),
        mismatch=mismatch,
        hash_cache=state_dir / "showhash-cache.json",
    )
    cluster.attach(player)
    return cluster


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


_MODIFIER_MASK = 0x1 | 0x2 | 0x4  # pyglet's SHIFT, CTRL, ALT (not num/caps lock)


def _known_cue(show, cue: str) -> bool:  # show: Show
    try:
        show.cue_index(cue)
    except KeyError:
        cues = ", ".join(c.label for c in show.cues)
        log.error("unknown cue '%s'; cues are: %s", cue, cues)
        return False
    return True


def cmd_run(args: argparse.Namespace) -> int:
    from mapping.control.keys import key_bindings
    from mapping.control.oscquery import start_for_show
    from mapping.control.panel import start_for_show as start_panel
    from mapping.live import ShowLibrary
    from mapping.operations import session
    from mapping.outputs import HeadlessOutputs, NoDisplayError, WindowOutputs
    from mapping.player import ShowPlayer
    from mapping.reload import ShowWatcher
    from mapping.sound_output import SoundWhenNeeded

    state_dir = args.state_dir or session.default_state_dir()
    if args.supervise:
        run_argv = [a for a in args.argv if a != "--supervise"]
        if args.state_dir is None:
            run_argv += ["--state-dir", str(state_dir)]
        return session.supervise(run_argv, state_dir, args.watchdog)
    evening_log = session.open_evening_log(state_dir / "logs")
    show = _load(args.show)
    if show is None:
        return 2
    start_cue = None
    if not args.no_cue and show.cues:
        start_cue = args.cue or show.cues[0].number
        if not _known_cue(show, start_cue):
            return 2
    player: ShowPlayer | None = None
    bindings: dict[tuple[int, int], tuple[str, tuple[str, ...]]] = {}

    def on_key(symbol: int, modifiers: int) -> None:
        if player is None:
            return
        bound = bindings.get((symbol, modifiers & _MODIFIER_MASK))
        if bound is not None:
            player.submit(bound[0], *bound[1], source="key")

    def on_mouse(output: str, action: str, x_px: float, y_px: float) -> None:
        if player is None:
            return
        if action == "press":
            player.submit("calibrate.pick", output, x_px, y_px, source="key")
        else:
            player.submit("calibrate.drag", x_px, y_px, source="key")

    if args.headless:
        outputs = HeadlessOutputs()
    else:
        try:
            outputs = WindowOutputs(
                show.outputs,
                windowed=args.windowed,
                key_handler=on_key,
                mouse_handler=on_mouse,
                span=show.span,
            )
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
    player = ShowPlayer(
        show, outputs, start_cue=start_cue, library=ShowLibrary(show.root.resolve().parent)
    )
    keys = ""
    if not args.headless:
        bindings.update(key_bindings(player.registry))
        keys = (
            "; keys: SPACE = GO, BACKSPACE = back, T = test patterns, ESC = quit; "
            "calibration: drag a corner, TAB = next corner, arrows = 1 px (SHIFT: 0.1 px), "
            "CTRL+S = save"
        )
    log.info(
        "running '%s' (%s) on %d output(s)%s%s",
        show.name,
        "headless" if args.headless else ("windowed" if args.windowed else "fullscreen"),
        len(show.outputs),
        f", starting in cue {show.cues[show.cue_index(start_cue)].label}" if start_cue else "",
        keys,
    )
    fps = _frame_rate(args, outputs)
    cluster = _cluster_controller(args, show, player, fps, state_dir, start_cue)
    try:
        osc = _start_osc(args, show, player)
    except (OSError, RuntimeError):
        player.renderer.release()
        outputs.close()
        raise
    oscquery = start_for_show(player, args.oscquery_port)
    if oscquery is not None and osc is not None:
        oscquery.set_osc_port(osc.port)
    panel_port = args.panel_port if args.panel_port is not None else show.control.panel_port
    panel = start_panel(
        player, panel_port, args.panel_bind, args.panel_token, state_dir / "panel-token"
    )
    watcher = ShowWatcher(player).start()  # edits and new calibrations are picked up live
    # the audio output opens when the show has a layer that can sound (now or after a reload)
    sound = None if args.no_audio else SoundWhenNeeded(player, device=args.audio_device)
    monitor, start_at = session.attach(player, state_dir, resume_journal=args.resume)
    log.info("status: %s; log: %s", state_dir / "status.json", evening_log.log_dir)
    try:
        _set_trial_budget(args, fps)
        if cluster is not None:
            snapshot = None
            if monitor.resumed:  # the nodes start from the journal's state too
                from mapping.operations.journal import journal_of

                origin = monitor.origin_wall_s or 0.0
                snapshot = journal_of(player.live, show.root, origin, origin + start_at).to_json()
            cluster.start(start_at, snapshot)
        player.run(fps=fps, duration_s=args.duration, start_at_s=start_at)
        monitor.finish(player)
        _log_run_summary(player)
    finally:
        if cluster is not None:
            cluster.close()
        if sound is not None:
            sound.close()
        logging.getLogger().removeHandler(evening_log)
        evening_log.close()
        watcher.close()
        if oscquery is not None:
            oscquery.close()
        if panel is not None:
            panel.close()
        if osc is not None:
            osc.close()
    return 0


def _log_run_summary(player) -> None:
    """One line when a run ends: how many frames it drew, to which show time, how many late."""
    status = player.status
    log.info(
        "stopped after %d frame(s), show time %.2f s, %d late, in cue %s",
        status.frames,
        status.show_time_s,
        status.late_frames,
        status.cue,
    )


def _frame_rate(args: argparse.Namespace, outputs) -> float:
    """``--fps``, else one frame per display refresh in windows (60 when the display does
    not say), else 30 headless."""
    if args.fps:
        return args.fps
    if args.headless:
        return 30.0
    return getattr(outputs, "refresh_hz", None) or 60.0


def _start_osc(args: argparse.Namespace, show, player):  # -> OscServer | None
    """The OSC server, if the show or ``--osc-port`` asks for one (same headless or not)."""
    from mapping.control.osc import OscServer

    if args.osc_port is None and not show.control.osc_port:
        return None
    if args.osc_port is not None and not 0 <= args.osc_port <= 65535:
        raise RuntimeError(f"--osc-port {args.osc_port}: expected 0..65535")
    osc = OscServer.for_show(player, show.control, port=args.osc_port, bind=args.osc_bind)
    try:
        port = osc.start()
    except OSError as exc:
        osc.close()
        raise OSError(f"OSC cannot listen on {osc.bind} port {osc.requested_port}: {exc}") from exc
    host = "127.0.0.1" if osc.bind in ("0.0.0.0", "::", "") else osc.bind
    log.info(
        "OSC on UDP and TCP %s:%d (allowed: %s); try: oscsend %s %d /go",
        osc.bind,
        port,
        ", ".join(show.control.allow),
        host,
        port,
    )
    return osc


def cmd_render(args: argparse.Namespace) -> int:
    from mapping.gl.context import create_headless_context
    from mapping.recorder import render_show

    show = _load(args.show)
    if show is None:
        return 2
    if args.cue is not None and not _known_cue(show, args.cue):
        return 2
    if args.frames < 1 or args.fps <= 0:
        log.error("--frames must be ≥ 1 and --fps > 0")
        return 2
    _set_trial_budget(args, args.fps)
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
            audio=not args.no_audio,
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
    from mapping.gl.trial import TrialBudget

    budget = TrialBudget.for_fps(args.fps, args.trial_timeout)
    report = check_show(args.show, ctx_factory=create_headless_context, budget=budget)
    if report.show is not None:
        print(report.summary())
    for trial in report.trials:
        if trial.admitted:
            print(f"  trial    {trial.file.name}: {trial.timing()}")
    if report.warnings:
        print(f"\n{len(report.warnings)} warning(s):", file=sys.stderr)
        for warning in report.warnings:
            print(warning, file=sys.stderr)
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(problem, file=sys.stderr)
        return 2  # bad input, as run, render, schedule and calibrate say it
    print("\nOK")
    return 0


def cmd_media(args: argparse.Namespace) -> int:
    import json

    from mapping.media.report import EXIT_INVALID_SHOW, media_report

    show = _load(args.show)
    if show is None:
        return EXIT_INVALID_SHOW
    report = media_report(show)
    print(json.dumps(report.to_json(), indent=2) if args.json else report.table())
    return report.exit_status()


def cmd_hash(args: argparse.Namespace) -> int:
    from mapping.cluster.showhash import run_cli
    from mapping.operations.session import default_state_dir

    cache = default_state_dir() / "showhash-cache.json"
    return run_cli(args.show, as_json=args.json, against=args.against, cache_file=cache)


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


# --- schedule (docs/schedule.md) ------------------------------------------------------------


def _panel_options(parser: argparse.ArgumentParser) -> None:
    panel = parser.add_argument_group("web panel (docs/panel.md)")
    panel.add_argument(
        "--panel-port",
        type=argtypes.port,
        help="web panel port (default: [control] panel_port, else 8470; 0: off)",
    )
    panel.add_argument(
        "--panel-bind",
        default="127.0.0.1",
        help="web panel interface (default 127.0.0.1: this machine only; 0.0.0.0: every one)",
    )
    panel.add_argument(
        "--panel-token",
        help="web panel access token (default: $MAPPING_PANEL_TOKEN, else one made and logged)",
    )


def _schedule_parser(sub) -> None:  # sub: argparse._SubParsersAction
    sched = sub.add_parser("schedule", help="print tonight's schedule, or run the evening")
    sched.add_argument("file", type=Path, help="schedule file (TOML), e.g. shows/evening.toml")
    sched.add_argument("--date", help="the evening to plan, YYYY-MM-DD (default: tonight)")
    sched.add_argument(
        "--at", help='what runs at this venue time, "YYYY-MM-DD HH:MM" (default: now)'
    )
    sched.add_argument("--run", action="store_true", help="run the evening's shows live")
    mode = sched.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="with --run: offscreen outputs")
    mode.add_argument("--windowed", action="store_true", help="with --run: desktop windows")
    sched.add_argument(
        "--fps", type=argtypes.fps, help="with --run: frame rate (default as for run)"
    )
    sched.add_argument(
        "--duration", type=argtypes.positive_seconds, help="with --run: stop after S seconds"
    )
    sound = sched.add_mutually_exclusive_group()
    sound.add_argument("--audio-device", metavar="DEV", help="with --run: sound output (as run)")
    sound.add_argument("--no-audio", action="store_true", help="with --run: no sound")
    _panel_options(sched)
    _cluster_options(sched)  # a multi-machine show: the schedule drives the nodes too


def cmd_schedule(args: argparse.Namespace) -> int:
    import datetime as dt

    from mapping.control import schedule as sch
    from mapping.errors import ValidationError

    try:
        schedule = sch.load_schedule(args.file)
    except ValidationError as exc:
        print(f"{args.file}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    tz = schedule.venue.tz
    try:
        now = dt.datetime.fromisoformat(args.at).replace(tzinfo=tz) if args.at else None
        evening = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError as exc:
        log.error("--date YYYY-MM-DD, --at 'YYYY-MM-DD HH:MM': %s", exc)
        return 2
    if not args.run:
        now = now or dt.datetime.now(tz)
        print(sch.format_plan(schedule, evening or sch.evening_of(now, schedule.venue), now))
        return 0
    return _run_schedule(args, schedule)


def _run_schedule(args: argparse.Namespace, schedule) -> int:  # schedule: Schedule
    import datetime as dt

    from mapping.control.builtin import build_registry
    from mapping.control.keys import key_bindings
    from mapping.control.panel import start_for_show as start_panel
    from mapping.control.schedule import attach, first_show
    from mapping.live import ShowLibrary
    from mapping.operations.session import default_state_dir
    from mapping.outputs import HeadlessOutputs, NoDisplayError, WindowOutputs
    from mapping.player import ShowPlayer
    from mapping.sound_output import ShowSound

    show = _load(
        ShowLibrary(schedule.shows_dir).folder(first_show(schedule, dt.datetime.now(dt.UTC)))
    )
    if show is None:
        return 2
    player: ShowPlayer | None = None
    bindings: dict[tuple[int, int], str] = {}

    def on_key(symbol: int, modifiers: int) -> None:
        name = bindings.get((symbol, modifiers & _MODIFIER_MASK))
        if player is not None and name is not None:
            player.submit(name, source="key")

    try:
        outputs = (
            HeadlessOutputs()
            if args.headless
            else WindowOutputs(
                show.outputs, windowed=args.windowed, key_handler=on_key, span=show.span
            )
        )
    except NoDisplayError as exc:
        log.error("%s: cannot open projector windows; add --headless", exc)
        return 3
    registry = build_registry()
    player = ShowPlayer(show, outputs, registry=registry, library=ShowLibrary(schedule.shows_dir))
    if not args.headless:
        bindings.update(key_bindings(registry))
    state_dir = default_state_dir()
    fps = _frame_rate(args, outputs)
    # as for run: before the schedule submits anything, so its commands reach the nodes
    cluster = _cluster_controller(args, show, player, fps, state_dir, None)
    attach(player, schedule)
    log.info("running the schedule %s; %s", args.file, player.live.schedule.now().describe())
    panel_port = args.panel_port if args.panel_port is not None else show.control.panel_port
    panel = start_panel(
        player, panel_port, args.panel_bind, args.panel_token, state_dir / "panel-token"
    )
    sound = None
    if not args.no_audio:  # the evening's shows change: the output is opened once for all
        sound = ShowSound(player, device=args.audio_device)
        sound.start()
    try:
        _set_trial_budget(args, fps)
        if cluster is not None:
            cluster.start()
        player.run(fps=fps, duration_s=args.duration)
        _log_run_summary(player)
    finally:
        if cluster is not None:
            cluster.close()
        if sound is not None:
            sound.close()
        if panel is not None:
            panel.close()
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
    args.argv = argv
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    commands = {
        "run": cmd_run,
        "node": cmd_node,
        "render": cmd_render,
        "check": cmd_check,
        "media": cmd_media,
        "displays": cmd_displays,
        "schedule": cmd_schedule,
        "hash": cmd_hash,
    }
    if args.command == "calibrate":
        from calibration.cli import run as cmd_calibrate

        commands["calibrate"] = cmd_calibrate
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:  # Ctrl-C outside the live loop (render, check, a trial frame)
        log.error("interrupted (Ctrl-C): stopped")
        return 130
    except (OSError, RuntimeError) as exc:  # no GL context, unwritable folder, …: say so plainly
        log.debug("details", exc_info=True)
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
