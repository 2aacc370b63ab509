"""``check``: validate a show folder without running it, reporting every problem.

Beyond what :func:`mapping.show.load_show` validates (syntax, keys, types, geometry, files
present), the check probes every image and video the show uses with its kind's probe from
:data:`mapping.kinds.LAYER_KINDS` (:func:`mapping.media.probe.probe`, the same inspection
as ``run_show.py media``) and draws a trial frame of every compiled content (generator
shaders, and any kind with ``compiled = True``) in a separate process
(:mod:`mapping.gl.trial`, the same trial the live show admits content with), so broken
media, shader errors (with the shader's own file and line), shaders that never finish
(killed after the budget's ``timeout_s``) are found before the show, not during it.

Warnings do not fail the check: a shader that finishes but is estimated slower than one
frame at the show's rate (with its frame time), a generator's uniform the host never sets
(a sampler, a matrix, an array, ``iMouse`` …: it silently reads 0 or black) and a range
annotation that cannot be read (:mod:`mapping.shader_params`), each with the file and line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import moderngl

from mapping.errors import Problem, ValidationError
from mapping.gl.sources.base import region_size
from mapping.gl.trial import ShaderTrials, TrialBudget, TrialResult
from mapping.kinds import LAYER_KINDS, probe_function
from mapping.media.errors import MediaError
from mapping.params import ParamSpec
from mapping.shader_params import scan_uniforms
from mapping.show import Layer, LiveDevice, Show, load_show

SHADER_PARAMS = "mapping.shader_params:shader_param_specs"


@dataclass
class CheckReport:
    show: Show | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    """Worth knowing, not wrong: a shader too slow for the show's frame rate, uniforms the
    host never sets."""
    trials: list[TrialResult] = field(default_factory=list)
    """The trial frame of each compiled content, in show order."""

    @property
    def ok(self) -> bool:
        return self.show is not None and not self.problems

    def summary(self) -> str:
        """Human-readable summary of a valid show."""
        show = self.show
        if show is None:
            return ""
        lines = [f"show '{show.name}' ({show.file})"]
        cw, ch = show.canvas.size_px
        lines.append(
            f"  canvas   {cw}×{ch} px"
            + (f", reference {show.canvas.reference.name}" if show.canvas.reference else "")
        )
        lines.append(f"  outputs  {len(show.outputs)}")
        on_output = Counter(s.output for s in show.surfaces)
        for out in show.outputs:
            n = on_output[out.name]
            lines.append(
                f"    {out.name:<16} {out.resolution[0]}×{out.resolution[1]} on display "
                f"{out.display}, {n} surface{'s' if n != 1 else ''}"
            )
        lines.append(f"  surfaces {len(show.surfaces)}")
        for s in show.surfaces:
            src = s.mapping + (f" ({s.calibration_file.name})" if s.calibration_file else "")
            lines.append(f"    {s.name:<24} → {s.output:<10} {len(s.polygon_canvas_px)}-gon, {src}")
        lines.append(f"  layers   {len(show.layers)}")
        for layer in show.layers:
            content = layer.content.name if isinstance(layer.content, Path) else "colour"
            if isinstance(layer.content, LiveDevice):
                content = layer.content.path
            lines.append(
                f"    {layer.name:<16} {layer.kind:<7} {content:<24} "
                f"opacity {layer.opacity:g}, {layer.blend}"
            )
            if layer.param_specs:
                lines.append("      params " + ", ".join(map(_param_text, layer.param_specs)))
        lines.append(f"  cues     {len(show.cues)}: " + ", ".join(c.name for c in show.cues))
        return "\n".join(lines)


@dataclass(frozen=True)
class CompiledContent:
    """One compiled file a show uses, and where: a layer's (or a cue's) generator, a
    layer's filter or a cue's transition."""

    key_path: str
    file: Path
    kind: str
    layer: Layer | None
    """The layer it is drawn for (its region's size); ``None`` for a cue's transition
    that names no layer (any layer may take it: the canvas's size)."""
    own: bool
    """The layer's content itself (its parameters are the layer's), not a filter or a
    transition."""


def compiled_contents(show: Show) -> list[CompiledContent]:
    """Every compiled file of the show: the layers' own and the cues', their filters and
    the cues' transitions, in show order."""
    layers = {layer.name: layer for layer in show.layers}
    found = []
    for key_path, file, kind_name in show.content_files():
        if not LAYER_KINDS[kind_name].compiled:
            continue
        own = not key_path.endswith("transition") and ".filters[" not in key_path
        layer: Layer | None = None
        if key_path.startswith("layers["):
            layer = show.layers[int(key_path[len("layers[") : key_path.index("]")])]
        elif ".layers." in key_path:  # cues[i].layers.NAME.key
            layer = layers.get(key_path.split(".layers.", 1)[1].rsplit(".", 1)[0])
        found.append(CompiledContent(key_path, file, kind_name, layer, own))
    return found


def check_show(
    path: Path,
    ctx_factory: Callable[[], moderngl.Context] | None = None,
    *,
    trials: ShaderTrials | None = None,
    budget: TrialBudget | None = None,
) -> CheckReport:
    """Validate the show at ``path``.

    Compiled content (shaders) is tried when any of ``ctx_factory`` (kept for callers: the
    trial process makes its own GL context), ``trials`` (a service to reuse) or ``budget``
    (for a service made here, and closed) is given.
    """
    try:
        show = load_show(path)
    except ValidationError as exc:
        return CheckReport(None, exc.problems)
    report = CheckReport(show)
    for key_path, file, kind_name in show.content_files():
        kind = LAYER_KINDS[kind_name]
        if kind.compiled:  # tried below, in a separate process
            if kind.params == SHADER_PARAMS:  # Shadertoy-style: its uniforms
                report.warnings.extend(_uniform_warnings(file, key_path))
            continue
        probe = probe_function(kind)
        if probe is None:
            continue
        try:
            probe(file)
        except MediaError as exc:
            report.problems.append(Problem(show.file, key_path, f"{exc.path}: {exc.reason}"))
    compiled = compiled_contents(show)
    if compiled and (ctx_factory, trials, budget) != (None, None, None):
        service = trials if trials is not None else ShaderTrials(budget)
        try:
            for c in compiled:
                size = (
                    region_size(c.layer, show.canvas.size_px)
                    if c.layer is not None
                    else show.canvas.size_px
                )
                params = c.layer.params if c.own and c.layer is not None else None
                result = service.run(service.key(c.kind, c.file, size), params)
                report.trials.append(result)
                _report_trial(report, c.key_path, result)
        finally:
            if trials is None:
                service.close()
    return report


def _uniform_warnings(file: Path, key_path: str) -> list[Problem]:
    """The uniforms of a generator the host never sets, and unreadable annotations."""
    try:
        uniforms = scan_uniforms(file)
    except MediaError:
        return []  # the compile below reports a file it cannot read
    warnings = [
        Problem(
            file,
            key_path,
            f"uniform '{u.name}' ({u.glsl_type}) is never set by the host: {u.reason}; "
            "the shader reads 0 (black) there",
            u.line,
        )
        for u in uniforms.unset
    ]
    warnings += [Problem(file, key_path, message, line) for line, message in uniforms.problems]
    return warnings


def _param_text(spec: ParamSpec) -> str:
    """``speed (float 0..4)``: a parameter as the summary lists it."""
    text = spec.type
    if spec.values:
        text += " " + "/".join(map(str, spec.values))
    elif spec.min is not None and spec.max is not None and not isinstance(spec.min, tuple):
        text += f" {spec.min:g}..{spec.max:g}"
    return f"{spec.name} ({text})"


def _report_trial(report: CheckReport, key_path: str, result: TrialResult) -> None:
    if result.diagnostics and not result.admitted:
        for d in result.errors:
            message = d.message + (f"  [{d.source_line}]" if d.source_line else "")
            report.problems.append(Problem(d.file, key_path, message, d.line))
    elif not result.admitted:
        report.problems.append(Problem(result.file, key_path, result.reason))
    elif result.slow:
        report.warnings.append(Problem(result.file, key_path, result.slow_reason()))
