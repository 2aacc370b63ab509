"""Every command the show understands, declared once (pure, no GL, no sockets).

:func:`build_registry` returns the :class:`~mapping.commands.Registry` of these specs, all
acting on a :class:`~mapping.live.LiveShow`. OSC addresses, OSCQuery, key bindings,
``docs/osc.md`` and the tests all come from here. Effects take the show time at which the
command applies; edits return an undo function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mapping import params
from mapping.commands import Arg, CommandError, CommandSpec, Registry
from mapping.live import LiveShow

PANIC_FADE_S = 2.0

_CUE = Arg("cue", str, "cue number", in_path=True, names=lambda t, _: t.cue_numbers())
_LAYER = Arg("layer", str, "layer name", in_path=True, names=lambda t, _: t.layer_names())
_PARAM = Arg(
    "param", str, "parameter name", in_path=True, names=lambda t, p: t.param_names(p["layer"])
)
_SURFACE = Arg("surface", str, "surface name", in_path=True, names=lambda t, _: t.surface_names())
_OUTPUT = Arg("output", str, "output name", in_path=True, names=lambda t, _: t.output_names())
_FADE = Arg("fade", float, "fade time in seconds", minimum=0.0, maximum=3600.0, default=0.0)
_LIST = Arg("cue_list", str, "cue list (default: the active one)", default="")


def _lookup(fn: Any, what: str) -> Any:
    try:
        return fn()
    except (KeyError, LookupError) as exc:
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        raise CommandError(f"{what}: {message}") from None


def _go(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    _lookup(lambda: live.engine.go(t, a["cue_list"] or None), "go")


def _back(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    _lookup(lambda: live.engine.back(t, a["cue_list"] or None), "back")


def _current(live: LiveShow, a: Mapping[str, Any]) -> str:
    cue = live.engine.current_cue()
    return cue.label if cue is not None else ""


def _set_master(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    before = live.set_master(a["level"], t, a["fade"])
    return lambda: live.set_master(before, t)


def _set_blackout(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    before, live.blackout = live.blackout, a["on"]
    return lambda: setattr(live, "blackout", before)


def _set_opacity(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    before = live.engine.set_opacity(a["layer"], a["opacity"], t, a["fade"])
    return lambda: live.engine.set_opacity(a["layer"], before, t)


def _set_param(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    before = live.engine.set_param(a["layer"], a["param"], a["value"], t, a["fade"])
    return lambda: live.engine.set_param(a["layer"], a["param"], before, t)


def _param_spec(live: LiveShow, a: Mapping[str, Any]) -> params.ParamSpec:
    return _lookup(lambda: live.show.layer(a["layer"]).param_spec(a["param"]), "layer.param")


def _resolve_param(live: LiveShow, a: dict[str, Any], relative: bool) -> dict[str, Any]:
    """``value`` (every value the sender gave, then maybe the fade) typed by the spec.

    A colour takes 4 numbers when given 4 or more (RGBA), else 3 (RGB, alpha 1), or one
    "#rrggbb" text; a point 2; every other type 1. One value left over is the fade.
    """
    spec = _param_spec(live, a)
    raw = list(a["value"]) if isinstance(a["value"], tuple | list) else [a["value"]]
    n = params.components(spec)
    if spec.type == "color" and raw and isinstance(raw[0], str):
        n = 1
    elif spec.type == "color" and len(raw) < 4:
        n = 3
    elif spec.type == "event" and not raw:
        raw = [True]
    given, extra = raw[:n], raw[n:]
    where = f"layer.param: '{a['layer']}' parameter '{a['param']}'"
    if len(given) < n:
        raise CommandError(f"{where}: expected {params.expected(spec)}, got {len(given)} value(s)")
    if relative and spec.type in ("float", "long"):  # +/-: clamped into the range
        number = float(given[0])
        if spec.min is not None:
            number = max(float(spec.min), number)  # type: ignore[arg-type]
        if spec.max is not None:
            number = min(float(spec.max), number)  # type: ignore[arg-type]
        given = [round(number) if spec.type == "long" else number]
    try:
        value = params.coerce(spec, given[0] if n == 1 else given)
    except params.ParamError as exc:
        raise CommandError(f"{where}: {exc}") from None
    out = dict(a)
    out["value"] = value
    if len(extra) > 1:
        raise CommandError(
            f"{where}: expected {params.expected(spec)} then an optional fade, "
            f"got {len(raw)} values"
        )
    if extra:
        out["fade"] = _FADE.convert(extra[0], "layer.param")
    return out


def _param_value(live: LiveShow, a: Mapping[str, Any]) -> Any:
    return live.engine.param_target(a["layer"], a["param"])


def _param_type(live: LiveShow, path: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    spec = live.show.layer(path["layer"]).param_spec(path["param"])
    return params.osc_tags(spec), params.osc_range(spec)


def _set_content(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    try:
        before = live.set_layer_file(a["layer"], a["file"], t, a["fade"])
    except ValueError as exc:
        raise CommandError(f"layer.content: {exc}") from None
    return lambda: live.engine.set_content(a["layer"], before, t)


def _content_query(live: LiveShow, a: Mapping[str, Any]) -> str:
    from pathlib import Path

    content = live.engine.content(a["layer"])
    if not isinstance(content, Path):
        return ""
    root = live.show.root.resolve()
    return content.relative_to(root).as_posix() if content.is_relative_to(root) else str(content)


def _set_visible(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    before = live.engine.set_visible(a["surface"], a["visible"])
    return lambda: live.engine.set_visible(a["surface"], before)


def _set_level(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    before = live.engine.set_level(a["output"], a["level"], t, a["fade"])
    return lambda: live.engine.set_level(a["output"], before, t)


def _set_pattern(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    kind = None if a["pattern"] in ("", "off", "none") else a["pattern"]
    try:
        before = live.set_pattern(a["output"], kind)
    except ValueError as exc:
        raise CommandError(f"output.testpattern: {exc} (or off)") from None
    return lambda: live.set_pattern(a["output"], before)


def _show_image(live: LiveShow, a: Mapping[str, Any], t: float) -> Any:
    try:
        before = live.show_image(a["output"], a["file"])
    except ValueError as exc:
        raise CommandError(f"output.image: {exc}") from None
    return lambda: live.set_pattern(a["output"], before)


def _set_lock(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    live.locked = a["on"]


def _load_show(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    try:
        live.load_named(a["name"])
    except ValueError as exc:
        raise CommandError(f"show.load: {exc}") from None


def _reload(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    from mapping.errors import ValidationError

    try:
        live.reload(t)
    except ValidationError as exc:
        problems = exc.problems
        first = str(problems[0])
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CommandError(
            f"show.reload: the show keeps running as it was; {first}{more}"
        ) from None


def _quit(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    live.running = False


def _noop(live: LiveShow, a: Mapping[str, Any], t: float) -> None:
    """undo and redo are handled by the processor itself."""


SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "go",
        "/go",
        "Fire the standby cue of a cue list (GO)",
        _go,
        (_LIST,),
        query=_current,
        keys=("SPACE",),
        group="playback",
    ),
    CommandSpec(
        "back",
        "/back",
        "Fade back to the cue before the current one",
        _back,
        (_LIST,),
        keys=("BACKSPACE",),
        group="playback",
    ),
    CommandSpec(
        "stop",
        "/stop",
        "Cancel pending waits and follows; hold every fade where it is",
        lambda live, a, t: live.engine.stop(t),
        group="playback",
    ),
    CommandSpec(
        "pause",
        "/pause",
        "Freeze fades, waits and clips until resume",
        lambda live, a, t: live.engine.pause(t),
        query=lambda live, a: int(live.engine.paused),
        group="playback",
    ),
    CommandSpec(
        "resume",
        "/resume",
        "Continue after pause",
        lambda live, a, t: live.engine.resume(t),
        group="playback",
    ),
    CommandSpec(
        "panic",
        "/panic",
        "Cancel everything pending and fade every layer to black",
        lambda live, a, t: live.engine.panic(t, a["fade"]),
        (Arg("fade", float, "fade time in seconds", 0.0, 60.0, default=PANIC_FADE_S),),
        keys=("SHIFT+ESCAPE",),
        group="playback",
    ),
    CommandSpec(
        "cue.start",
        "/cue/{cue}/start",
        "Fire this cue now (pre-wait and follow included)",
        lambda live, a, t: _lookup(lambda: live.engine.start(a["cue"], t), "cue.start"),
        (_CUE,),
        group="playback",
    ),
    CommandSpec(
        "cue.load",
        "/cue/{cue}/load",
        "Arm this cue as the next GO and pre-roll its content, without firing it",
        lambda live, a, t: _lookup(lambda: live.engine.load(a["cue"]), "cue.load"),
        (_CUE,),
        group="playback",
    ),
    CommandSpec(
        "cue.goto",
        "/cue/{cue}/goto",
        "Fade to the tracked state of this cue (every cue of its list up to it)",
        lambda live, a, t: _lookup(lambda: live.engine.goto(a["cue"], t), "cue.goto"),
        (_CUE,),
        group="playback",
    ),
    CommandSpec(
        "master",
        "/master",
        "Master level of every output, ignoring the cue list",
        _set_master,
        (Arg("level", float, "0 = black, 1 = full", 0.0, 1.0), _FADE),
        query=lambda live, a: live.master.end,
        group="levels",
    ),
    CommandSpec(
        "blackout",
        "/blackout",
        "Blackout every output at once (1), or bring the picture back (0)",
        _set_blackout,
        (Arg("on", bool, "1 = black"),),
        query=lambda live, a: int(live.blackout),
        keys=("B",),
        group="levels",
    ),
    CommandSpec(
        "layer.opacity",
        "/layer/{layer}/opacity",
        "Opacity of a layer (holds until a cue changes it)",
        _set_opacity,
        (_LAYER, Arg("opacity", float, "0..1", 0.0, 1.0), _FADE),
        query=lambda live, a: live.engine.opacity_target(a["layer"]),
        edit=True,
        group="layers",
    ),
    CommandSpec(
        "layer.param",
        "/layer/{layer}/param/{param}",
        "A layer's parameter, of the type its content declares: a number, an integer, "
        "0/1, a colour (3 or 4 numbers 0..1, or #rrggbb), a point (2 numbers); "
        "numbers, colours and points fade",
        _set_param,
        (_LAYER, _PARAM, Arg("value", tuple, "the parameter's value (then the fade)"), _FADE),
        query=_param_value,
        edit=True,
        group="layers",
        resolve=_resolve_param,
        value_type=_param_type,
    ),
    CommandSpec(
        "layer.content",
        "/layer/{layer}/content",
        "Show a file of the show folder on a layer (image, clip or shader, as the layer's "
        "kind takes; a file added while the show runs works as soon as it is copied)",
        _set_content,
        (_LAYER, Arg("file", str, "file path inside the show folder"), _FADE),
        query=_content_query,
        edit=True,
        group="layers",
    ),
    CommandSpec(
        "surface.visible",
        "/surface/{surface}/visible",
        "Show (1) or hide (0) a surface on its output",
        _set_visible,
        (_SURFACE, Arg("visible", bool, "1 = shown")),
        query=lambda live, a: int(live.engine.visible(a["surface"])),
        edit=True,
        locked_in_show=True,
        group="surfaces",
    ),
    CommandSpec(
        "output.level",
        "/output/{output}/level",
        "Level of one output (0..1)",
        _set_level,
        (_OUTPUT, Arg("level", float, "0..1", 0.0, 1.0), _FADE),
        query=lambda live, a: live.engine.level_target(a["output"]),
        edit=True,
        group="outputs",
    ),
    CommandSpec(
        "output.testpattern",
        "/output/{output}/testpattern",
        "Show a test pattern on an output (off: back to the show)",
        _set_pattern,
        (_OUTPUT, Arg("pattern", str, "pattern name, or off")),
        query=lambda live, a: live.patterns[a["output"]] or "off",
        edit=True,
        locked_in_show=True,
        group="outputs",
    ),
    CommandSpec(
        "output.image",
        "/output/{output}/image",
        "Show an image file of the show folder full screen on an output, pixel for pixel "
        '(structured-light patterns, charts); "" returns to the show',
        _show_image,
        (_OUTPUT, Arg("file", str, "image path inside the show folder, or empty")),
        query=lambda live, a: live.patterns[a["output"]] or "",
        edit=True,
        locked_in_show=True,
        group="outputs",
    ),
    CommandSpec(
        "testpattern.cycle",
        "/testpattern/cycle",
        "Step every output to the next test pattern, then back to the show",
        lambda live, a, t: live.cycle_patterns(),
        keys=("T",),
        locked_in_show=True,
        group="outputs",
    ),
    CommandSpec(
        "show.load",
        "/show/load",
        "Load another show from the shows folder, by folder name",
        _load_show,
        (Arg("name", str, "show folder name"),),
        query=lambda live, a: live.show.root.name,
        locked_in_show=True,
        group="show",
    ),
    CommandSpec(
        "show.reload",
        "/show/reload",
        "Read the show folder again (edits, new calibrations); an invalid one is refused",
        _reload,
        group="show",
    ),
    CommandSpec(
        "lock",
        "/lock",
        "Show lock: 1 refuses calibration and editing commands during a performance",
        _set_lock,
        (Arg("on", bool, "1 = locked"),),
        query=lambda live, a: int(live.locked),
        group="show",
    ),
    CommandSpec(
        "undo", "/undo", "Undo the last edit", _noop, edit=False, locked_in_show=True, group="show"
    ),
    CommandSpec(
        "redo", "/redo", "Redo the last undone edit", _noop, locked_in_show=True, group="show"
    ),
    CommandSpec(
        "quit",
        "/quit",
        "End the show program",
        _quit,
        keys=("ESCAPE", "Q"),
        locked_in_show=True,
        group="show",
    ),
)


def build_registry(extra: tuple[CommandSpec, ...] = ()) -> Registry:
    """A registry of every command: playback and levels (here), corner pin, mesh warp,
    blending, the evening schedule (answered "no schedule is running" when none is), and
    ``extra`` ones."""
    from mapping.control.blending import BLEND_SPECS
    from mapping.control.corners import CORNER_SPECS
    from mapping.control.mesh_edit import MESH_SPECS
    from mapping.control.schedule import SCHEDULE_SPECS

    specs = (*SPECS, *CORNER_SPECS, *MESH_SPECS, *BLEND_SPECS, *SCHEDULE_SPECS, *extra)
    return Registry(specs)
