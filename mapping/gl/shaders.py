"""Shader files → GL programs, with driver errors mapped back to the file and line.

The project's own programs live in ``shaders/<name>.glsl``, one file per program with
``#if defined VERTEX_SHADER`` / ``FRAGMENT_SHADER`` sections (moderngl-window's layout).
Artists' generator shaders (Shadertoy-style ``mainImage``) get ``generator_prelude.glsl``
in front and a ``#line 1`` so the driver counts lines in the artist's own file.

Driver logs such as ``0:12(5): error: `x' undeclared`` become
``shows/demo/shaders/sky.glsl:12: `x' undeclared`` followed by the offending source line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import moderngl

SHADER_DIR = Path(__file__).resolve().parents[2] / "shaders"
GLSL_VERSION = "#version 330 core\n"

# How drivers word a diagnostic (line numbers are ``#line 1``-relative, the file's own; the
# first number is the source string, always 0 here). tests/shader_log_samples.py holds
# captured logs of every family, with where each was found.
#   Mesa (llvmpipe, radeonsi, iris …)  0:3(12): error: `iTmie' undeclared
#                                      0:1(1): preprocessor error: #if with no expression
#   NVIDIA                             0(3) : error C1503: undefined variable "iTmie"
#                                      (0) : error C5145: must write to gl_Position
#   glslang-style: AMD, Intel on       ERROR: 0:3: 'iTmie' : undeclared identifier
#   Windows, ANGLE, Apple              ERROR: 0:3: Use of undeclared identifier 'iTmie'
#   older AMD (Catalyst)               ERROR: 0:3: error(#143) Undeclared identifier: iTmie
# A pattern may follow a prefix a driver or a program puts in front ("fragment_shader ",
# "Shader compilation failed: "), so each is searched for after a space, a colon or the
# start of the line.
_START = r"(?:^|(?<=[\s:]))"
_LOG_LINES = (
    re.compile(
        _START + r"\d+:(?P<line>\d+)\(\d+\):\s*(?:preprocessor\s+)?(?P<sev>error|warning):\s*"
        r"(?P<msg>.*)$"
    ),
    re.compile(
        _START + r"\d*\((?P<line>\d+)\)\s*:\s*(?P<sev>error|warning)\b\s*(?:[A-Z]\d{4})?\s*:?\s*"
        r"(?P<msg>.*)$"
    ),
    re.compile(_START + r"(?P<sev>ERROR|WARNING):\s*\d+:(?P<line>\d+):\s*(?P<msg>.*)$"),
)
_NOISE = (
    # glslang-style summaries and follow-ups that say nothing about the artist's code
    re.compile(r"^\s*(?:ERROR|WARNING):\s*(?:error\(#\d+\)\s*)?\d+ compilation errors?\b"),
    re.compile(r"^\s*ERROR:\s*\d+:\d+:\s*'' : compilation terminated"),
)
_HEADERS = re.compile(
    r"^\s*(?:GLSL (?:Compiler|Linker) failed|(?:vertex|fragment|geometry)_shader|Program|"
    r"(?:Vertex|Fragment|Geometry) info|[=-]{3,})\s*$"
)
_SEVERITY = re.compile(r"^(?:error|ERROR):\s*")
_AMD_CODE = re.compile(r"^(?:error|warning)\(#\d+\)\s*")


@dataclass(frozen=True)
class ShaderDiagnostic:
    file: Path
    line: int | None
    message: str
    source_line: str = ""
    severity: str = "error"
    """``error`` or ``warning`` (a warning alone never stops a shader)."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        text = f"{where}: " + ("warning: " if self.severity == "warning" else "") + self.message
        if self.source_line:
            text += f"\n    {self.line} | {self.source_line}"
        return text


class ShaderError(Exception):
    """A shader failed to compile or link; ``diagnostics`` point into the shader's file."""

    def __init__(self, file: Path, diagnostics: list[ShaderDiagnostic]):
        self.file = file
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))

    @property
    def errors(self) -> list[ShaderDiagnostic]:
        """The diagnostics that are errors (all of them if the driver marked none)."""
        errors = [d for d in self.diagnostics if d.severity == "error"]
        return errors or self.diagnostics


def map_driver_log(log: str, file: Path, source_lines: list[str]) -> list[ShaderDiagnostic]:
    """Turn a GLSL driver log into diagnostics against ``file`` (``#line 1`` numbering).

    Every line in a known format (see above) becomes a diagnostic at the artist's line, with
    the driver's message (its error code and the glslang-style summaries left out); a log
    with none — a link error, an unknown driver — becomes one diagnostic without a line
    holding the log's text, so the artist still reads what the driver said.
    """
    diags = []
    for raw in log.splitlines():
        if any(noise.search(raw) for noise in _NOISE):
            continue
        m = next((m for pattern in _LOG_LINES if (m := pattern.search(raw))), None)
        if not m:
            continue
        line = int(m.group("line"))
        src = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""
        message = _AMD_CODE.sub("", m["msg"].strip()) or "error"
        severity = "warning" if m["sev"].lower() == "warning" else "error"
        diags.append(ShaderDiagnostic(file, line if line > 0 else None, message, src, severity))
    if not diags:
        text = "; ".join(
            _SEVERITY.sub("", s.strip())
            for s in log.splitlines()
            if s.strip() and not _HEADERS.match(s)
        )
        diags.append(
            ShaderDiagnostic(
                file, None, text or "shader failed to compile (the driver gave no log)"
            )
        )
    return diags


def _compile(
    ctx: moderngl.Context, file: Path, vertex: str, fragment: str, user_lines: list[str]
) -> moderngl.Program:
    try:
        return ctx.program(vertex_shader=vertex, fragment_shader=fragment)
    except moderngl.Error as exc:
        raise ShaderError(file, map_driver_log(str(exc), file, user_lines)) from None


def load_program(
    ctx: moderngl.Context, name: str, shader_dir: Path = SHADER_DIR
) -> moderngl.Program:
    """Compile ``shaders/<name>.glsl`` (both stages from the one file)."""
    file = shader_dir / f"{name}.glsl"
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines()

    def stage(define: str) -> str:
        return f"{GLSL_VERSION}#define {define}\n#line 1\n{text}"

    return _compile(ctx, file, stage("VERTEX_SHADER"), stage("FRAGMENT_SHADER"), lines)


def generator_source(user_source: str) -> str:
    """The fragment shader a generator file compiles to (prelude, then the artist's lines)."""
    prelude = (SHADER_DIR / "generator_prelude.glsl").read_text(encoding="utf-8")
    return f"{GLSL_VERSION}{prelude}\n#line 1\n{user_source}"


def load_generator(ctx: moderngl.Context, file: Path) -> moderngl.Program:
    """Compile an artist's generator shader; ``ShaderError`` names their file and line."""
    try:
        user_source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShaderError(
            file, [ShaderDiagnostic(file, None, f"cannot read shader: {exc}")]
        ) from None
    if "mainImage" not in user_source:
        raise ShaderError(
            file,
            [
                ShaderDiagnostic(
                    file,
                    None,
                    "expected a function 'void mainImage(out vec4 fragColor, in vec2 fragCoord)'",
                )
            ],
        )
    vertex_text = (SHADER_DIR / "blit.glsl").read_text(encoding="utf-8")
    vertex = f"{GLSL_VERSION}#define VERTEX_SHADER\n#line 1\n{vertex_text}"
    return _compile(ctx, file, vertex, generator_source(user_source), user_source.splitlines())
