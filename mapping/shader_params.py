"""The parameters a Shadertoy-style generator declares: its ``uniform`` lines (pure, no GL).

A generator layer's parameters are the uniforms its file declares (``shaders/*.glsl``),
read from the source text without compiling it: comments are stripped (line numbers kept),
``uniform float a, b;`` declares two, precision qualifiers (``highp``) and ``layout(...)``
are skipped, a simple initialiser (``uniform float speed = 1.0;``) is the default.

==========  ===========  =============================================================
GLSL        parameter    value the host sets
==========  ===========  =============================================================
``float``   ``float``    the number (default 0)
``int``     ``long``     the integer (default 0); ``uint`` too, never below 0
``bool``    ``bool``     true/false (default false)
``vec2``    ``point2D``  ``[x, y]`` (default ``[0, 0]``)
``vec4``    ``color``    RGBA 0..1 (default opaque black ``[0, 0, 0, 1]``)
``vec3``    ``color``    RGB 0..1: a colour whose alpha the shader does not receive
==========  ===========  =============================================================

A trailing comment on the declaration's line may give a range and a default::

    uniform float speed;      // range 0..4 default 1
    uniform vec4 tint;        // default 1, 0.5, 0, 1
    uniform int bands;        // range 1..8 default 3

``range LO..HI`` bounds every component (a colour's range is always within 0..1); the
default has one number per component. Without a default, a number defaults to 0 moved
into its range.

The Shadertoy built-ins the host sets (``iTime``, ``iResolution``, ``iFrame``, declared by
the generator prelude) are not parameters. Every other uniform the host cannot set — a
sampler, a matrix, an array, an ``ivec``, a struct, a uniform block, or another
Shadertoy input such as ``iMouse`` — is listed in :attr:`ShaderUniforms.unset` with its line,
so ``check`` warns about it instead of the shader silently reading 0 or black.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mapping.media.errors import MediaError
from mapping.params import ParamError, ParamSpec, coerce

HOST_UNIFORMS = frozenset({"iTime", "iResolution", "iFrame"})
"""Uniforms the generator prelude declares and the host sets every frame."""

SHADERTOY_INPUTS = frozenset(
    {
        "iTimeDelta",
        "iFrameRate",
        "iMouse",
        "iDate",
        "iSampleRate",
        "iChannelTime",
        "iChannelResolution",
        "iChannel0",
        "iChannel1",
        "iChannel2",
        "iChannel3",
    }
)
"""Shadertoy inputs this host does not provide: declared, they are reported, not params."""

_TYPES = {
    "float": "float",
    "int": "long",
    "uint": "long",
    "bool": "bool",
    "vec2": "point2D",
    "vec3": "color",
    "vec4": "color",
}
_PRECISION = {"lowp", "mediump", "highp"}
_DECLARATION = re.compile(r"\buniform\b([^;{]*)(;|\{)")
_ANNOTATION = re.compile(
    r"^\s*(?:range\s+(?P<lo>[-+0-9.eE]+)\s*\.\.\s*(?P<hi>[-+0-9.eE]+))?\s*"
    r"(?:default\s+(?P<default>[-+0-9.eE, ]+?))?\s*$"
)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class UnsetUniform:
    """A uniform the host never sets: the shader reads 0 (or black) there."""

    name: str
    line: int
    glsl_type: str
    reason: str


@dataclass(frozen=True)
class ShaderUniforms:
    """What one shader file declares: its parameters, the uniforms left unset and the
    annotation problems (each ``(line, message)``; that uniform keeps no range)."""

    file: Path
    params: tuple[ParamSpec, ...]
    glsl_types: dict[str, str]
    """The declared GLSL type of every parameter (``vec3`` for an RGB colour)."""
    unset: tuple[UnsetUniform, ...]
    problems: tuple[tuple[int, str], ...] = ()


def read_shader(path: Path) -> str:
    """The shader's text, or MediaError naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MediaError(Path(path), "not a UTF-8 text file (a GLSL shader)") from None
    except OSError as exc:
        raise MediaError(Path(path), f"cannot read shader: {exc.strerror or exc}") from None


def shader_param_specs(path: Path) -> tuple[ParamSpec, ...]:
    """The parameters of a generator file (``LayerKind.params`` of kind ``shader``)."""
    return scan_uniforms(path).params


def scan_uniforms(path: Path, text: str | None = None) -> ShaderUniforms:
    """Every uniform of the shader at ``path`` (its ``text`` if given, else read)."""
    path = Path(path)
    source = read_shader(path) if text is None else text
    code, comments = _strip_comments(source)
    specs: list[ParamSpec] = []
    glsl_types: dict[str, str] = {}
    unset: list[UnsetUniform] = []
    problems: list[tuple[int, str]] = []
    for m in _DECLARATION.finditer(code):
        start_line = code.count("\n", 0, m.start()) + 1
        end_line = code.count("\n", 0, m.end()) + 1
        if m.group(2) == "{":
            block = m.group(1).split()
            name = block[-1] if block else "(unnamed)"
            unset.append(UnsetUniform(name, start_line, "block", "a uniform block"))
            continue
        words = _words(m.group(1))
        if len(words) < 2:
            continue
        gtype, rest = words[0], " ".join(words[1:])
        annotation = comments.get(end_line, "") or comments.get(start_line, "")
        for declarator in _split_declarators(rest):
            name_m = re.match(r"\s*([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*(?:=\s*(.*))?$", declarator)
            if name_m is None:
                continue
            name, array, initial = name_m.group(1), name_m.group(2), name_m.group(3)
            offset = m.start(1) + m.group(1).find(name)
            line = code.count("\n", 0, offset) + 1
            if name in HOST_UNIFORMS:
                continue
            if name in SHADERTOY_INPUTS:
                unset.append(
                    UnsetUniform(name, line, gtype, "a Shadertoy input this host does not set")
                )
                continue
            if array:
                unset.append(UnsetUniform(name, line, gtype + array, "an array"))
                continue
            if gtype not in _TYPES:
                unset.append(UnsetUniform(name, line, gtype, _unsupported(gtype)))
                continue
            spec, problem = _spec(name, gtype, initial, annotation)
            if problem:
                problems.append((line, f"uniform '{name}': {problem}"))
            specs.append(spec)
            glsl_types[name] = gtype
    return ShaderUniforms(path, tuple(specs), glsl_types, tuple(unset), tuple(problems))


def _unsupported(gtype: str) -> str:
    if gtype.startswith(("sampler", "isampler", "usampler", "image")):
        return "a texture (the host binds no image to a generator)"
    if gtype.startswith(("mat", "dmat")):
        return "a matrix"
    if gtype.startswith(("ivec", "uvec", "bvec", "dvec", "double")):
        return "a type with no parameter equivalent"
    return "a struct or an unknown type"


def _words(text: str) -> list[str]:
    """The declaration's words without qualifiers (``layout(...)``, precision)."""
    text = re.sub(r"\blayout\s*\([^)]*\)", " ", text)
    return [w for w in text.replace("\n", " ").split(" ") if w and w not in _PRECISION]


def _split_declarators(text: str) -> list[str]:
    """``a, b[2], c = vec2(1.0, 2.0)`` → the three declarators (commas inside () kept)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _strip_comments(source: str) -> tuple[str, dict[int, str]]:
    """The code with comments blanked (newlines kept) and each line's ``//`` comment text."""
    out: list[str] = []
    comments: dict[int, str] = {}
    i, n, line = 0, len(source), 1
    while i < n:
        ch = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            comments[line] = source[i + 2 : end].strip()
            out.append(" " * (end - i))
            i = end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            chunk = source[i:end]
            out.append("".join("\n" if c == "\n" else " " for c in chunk))
            line += chunk.count("\n")
            i = end
        else:
            if ch == "\n":
                line += 1
            out.append(ch)
            i += 1
    return "".join(out), comments


def _spec(
    name: str, gtype: str, initial: str | None, annotation: str
) -> tuple[ParamSpec, str | None]:
    """The parameter for one declarator, and the problem with its annotation if any."""
    kind = _TYPES[gtype]
    n = {"point2D": 2, "color": 4}.get(kind, 1)
    base = ParamSpec(name, kind, _zero(kind), min=0 if gtype == "uint" else None)
    lo = hi = None
    default = None
    problem = None
    meant = re.match(r"\s*(range|default)\s+[-+.\d]", annotation) is not None  # not prose
    m = _ANNOTATION.match(annotation) if meant else None
    if meant and m is None:
        problem = (
            f"cannot read the annotation '{annotation}'; expected "
            "'// range LO..HI default V' (numbers; a default per component, comma-separated)"
        )
    if m is not None:
        try:
            if m.group("lo") is not None:
                lo, hi = float(m.group("lo")), float(m.group("hi"))
                if not lo < hi:
                    raise ValueError(f"range {m.group('lo')}..{m.group('hi')} is empty")
                if kind == "long":
                    lo, hi = _integral(lo), _integral(hi)
            if m.group("default") is not None:
                default = [float(v) for v in m.group("default").split(",") if v.strip()]
        except ValueError as exc:
            problem = str(exc)
            lo = hi = default = None
    if default is None and initial:
        default = _initialiser(initial)
    spec = ParamSpec(
        name,
        kind,
        base.default,
        min=_bound(kind, lo, base.min),
        max=_bound(kind, hi, None),
    )
    if default is not None:
        if n > 1 and len(default) == 1:  # vec4(1.0): the one number for every component
            default = default * n
        raw: object = default[0] if n == 1 else default
        if kind == "color" and len(default) == 3:
            raw = [*default, 1.0]
        if kind == "bool" and n == 1:
            raw = bool(default[0])
        try:
            value = coerce(spec, raw)
        except ParamError as exc:
            problem = f"default: {exc}"
        else:
            return _with_default(spec, value), problem
    return _with_default(spec, _clamped_zero(spec)), problem


def _integral(value: float) -> int:
    if value != int(value):
        raise ValueError(f"an int uniform's range takes integers, got {value:g}")
    return int(value)


def _bound(kind: str, value: float | None, fallback: object) -> object:
    if value is None:
        return fallback
    if kind == "long":
        return int(value)
    if kind in ("color", "point2D"):
        n = 4 if kind == "color" else 2
        return (float(value),) * n
    return float(value)


def _zero(kind: str) -> object:
    return {
        "float": 0.0,
        "long": 0,
        "bool": False,
        "point2D": (0.0, 0.0),
        "color": (0.0, 0.0, 0.0, 1.0),
    }[kind]


def _clamped_zero(spec: ParamSpec) -> object:
    zero = _zero(spec.type)
    if spec.type in ("float", "long"):
        lo, hi = spec.min, spec.max
        if lo is not None and zero < lo:  # type: ignore[operator]
            return lo
        if hi is not None and zero > hi:  # type: ignore[operator]
            return hi
        return zero
    if spec.type in ("color", "point2D") and spec.min is not None:
        return tuple(
            min(max(z, lo), hi)
            for z, lo, hi in zip(zero, spec.min, spec.max, strict=True)  # type: ignore[arg-type]
        )
    return zero


def _with_default(spec: ParamSpec, value: object) -> ParamSpec:
    return ParamSpec(spec.name, spec.type, value, spec.min, spec.max)  # type: ignore[arg-type]


def _initialiser(text: str) -> list[float] | None:
    """``1.0``, ``true``, ``vec3(1.0, 0.5, 0.0)`` → numbers; anything else: None."""
    text = text.strip()
    if text in ("true", "false"):
        return [1.0 if text == "true" else 0.0]
    if re.fullmatch(_NUMBER + "[uU]?", text):
        return [float(text.rstrip("uU"))]
    m = re.fullmatch(r"(?:vec[234])\s*\((.*)\)", text)
    if m:
        items = [v.strip() for v in m.group(1).split(",")]
        if all(re.fullmatch(_NUMBER, v) for v in items):
            return [float(v) for v in items]
    return None
