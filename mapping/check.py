"""``check``: validate a show folder without running it, reporting every problem.

Beyond what :func:`mapping.show.load_show` validates (syntax, keys, types, geometry, files
present), the check probes every image and video the show uses with its kind's probe from
:data:`mapping.kinds.LAYER_KINDS` (:func:`mapping.media.probe.probe`, the same inspection
as ``run_show.py media``) and compiles every generator shader in a headless GL context, so
broken media and shader errors (with the shader's own file and line) are found before the
show, not during it.

Warnings do not fail the check: a generator's uniform the host never sets (a sampler, a
matrix, an array, ``iMouse`` …: it silently reads 0 or black) and a range annotation that
cannot be read (:mod:`mapping.shader_params`), each with the shader's file and line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import moderngl

from mapping.errors import Problem, ValidationError
from mapping.gl.isf import load_isf_program
from mapping.gl.shaders import ShaderError, load_generator
from mapping.kinds import LAYER_KINDS, probe_function
from mapping.media.errors import MediaError
from mapping.params import ParamSpec
from mapping.shader_params import scan_uniforms
from mapping.show import LiveDevice, Show, load_show

SHADER_PARAMS = "mapping.shader_params:shader_param_specs"


@dataclass
class CheckReport:
    show: Show | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    """What the show survives but the artist should know (uniforms the host never sets)."""

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


_COMPILERS: dict[str, Callable[[moderngl.Context, Path], object]] = {
    "shader": load_generator,
    "isf": load_isf_program,
}
"""How ``check`` compiles each ``compiled`` kind's content (GL programs, released at once)."""


def check_show(
    path: Path, ctx_factory: Callable[[], moderngl.Context] | None = None
) -> CheckReport:
    """Validate the show at ``path``; ``ctx_factory`` gives a GL context to compile shaders."""
    try:
        show = load_show(path)
    except ValidationError as exc:
        return CheckReport(None, exc.problems)
    report = CheckReport(show)
    shaders: list[tuple[str, Path, str]] = []
    for key_path, file, kind_name in show.content_files():
        kind = LAYER_KINDS[kind_name]
        if kind.compiled:  # checking needs GL: generator shaders are compiled below
            shaders.append((key_path, file, kind_name))
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
    if shaders and ctx_factory is not None:
        ctx = ctx_factory()
        try:
            for key_path, file, kind_name in shaders:
                try:
                    _COMPILERS[kind_name](ctx, file).release()
                except MediaError as exc:  # an ISF file's IMPORTED image
                    problem = Problem(show.file, key_path, f"{exc.path}: {exc.reason}")
                    report.problems.append(problem)
                except ShaderError as exc:
                    for d in exc.diagnostics:
                        message = d.message + (f"  [{d.source_line}]" if d.source_line else "")
                        report.problems.append(Problem(d.file, key_path, message, d.line))
        finally:
            ctx.release()
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
