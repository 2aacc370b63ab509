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

# How drivers word a diagnostic (line numbers are ``#line 1``-relative, the file's own):
#   Mesa        0:3(12): error: syntax error, unexpected '}'
#   NVIDIA      0(3) : error C0000: syntax error, unexpected '}'
#   AMD, Intel  ERROR: 0:3: 'x' : undeclared identifier
_LOG_LINES = (
    re.compile(r"^\s*\d+:(?P<line>\d+)\(\d+\):\s*(?:error|warning):?\s*(?P<msg>.*)$"),
    re.compile(
        r"^\s*(?:\w+\s+)?\d+\((?P<line>\d+)\)\s*:\s*(?:error|warning)\s*(?:[A-Z]\d+)?\s*:?\s*"
        r"(?P<msg>.*)$"
    ),
    re.compile(r"^\s*(?:ERROR|WARNING):\s*\d+:(?P<line>\d+):\s*(?P<msg>.*)$"),
)


@dataclass(frozen=True)
class ShaderDiagnostic:
    file: Path
    line: int | None
    message: str
    source_line: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        text = f"{where}: {self.message}"
        if self.source_line:
            text += f"\n    {self.line} | {self.source_line}"
        return text


class ShaderError(Exception):
    """A shader failed to compile or link; ``diagnostics`` point into the shader's file."""

    def __init__(self, file: Path, diagnostics: list[ShaderDiagnostic]):
        self.file = file
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


def map_driver_log(log: str, file: Path, source_lines: list[str]) -> list[ShaderDiagnostic]:
    """Turn a GLSL driver log into diagnostics against ``file`` (``#line 1`` numbering)."""
    diags = []
    for raw in log.splitlines():
        m = next((m for pattern in _LOG_LINES if (m := pattern.match(raw))), None)
        if not m:
            continue
        line = int(m.group("line"))
        src = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""
        diags.append(ShaderDiagnostic(file, line if src or line > 0 else None, m["msg"], src))
    if not diags:
        text = " ".join(s.strip() for s in log.splitlines() if s.strip() and "===" not in s)
        diags.append(ShaderDiagnostic(file, None, text or "shader failed to compile"))
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
