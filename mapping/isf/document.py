"""Reading an ISF file (Interactive Shader Format, v1 and v2) into an :class:`IsfDocument`.

The file is a GLSL fragment shader whose first ``/* … */`` comment holds a JSON object:
``INPUTS`` (the shader's controls), ``PASSES`` (render passes into named buffers, with
``PERSISTENT``, ``FLOAT``, ``WIDTH``/``HEIGHT`` expressions), ``IMPORTED`` images and
descriptive keys. A ``.vs`` (or ``.vert``) file of the same name beside it is its vertex
shader. The rules follow the reference host, VVISF (``ISFDoc``): the shader source is
everything after the line holding ``*/``; a float without ``MIN``/``MAX`` ranges 0..1 and
without ``DEFAULT`` starts in the middle of its range, a default outside the range is
clamped; a bool without ``DEFAULT`` is true; ``VALUES``/``LABELS`` of a long count only when
both are there with as many entries; an image input named ``inputImage`` makes a filter,
``startImage`` + ``endImage`` + a float ``progress`` a transition. v1 files (no ``ISFVSN``)
may declare ``PERSISTENT_BUFFERS`` (a list of names or an object of name → size/FLOAT).

Where VVISF silently skips a malformed entry, this reader refuses the file with a
:class:`~mapping.errors.ValidationError` naming the file, the key path
(``INPUTS[2].DEFAULT``), what was expected and the line where it can be found: an artist
learns about the typo at ``check`` instead of wondering why a control is missing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapping.errors import Problem, ValidationError, did_you_mean
from mapping.isf.expr import ExprError, Expression
from mapping.params import GLSL_TYPES as PARAM_GLSL_TYPES
from mapping.params import PARAM_TYPES, ParamSpec, ParamValue

INPUT_TYPES = (
    "float",
    "long",
    "bool",
    "color",
    "point2D",
    "image",
    "event",
    "audio",
    "audioFFT",
)
"""The INPUTS types this host accepts (VVISF also knows ``cube``: refused here)."""

SETTABLE_TYPES = PARAM_TYPES
"""Input types that become layer parameters (audio inputs are fed from the soundtrack)."""

GLSL_TYPES = {**PARAM_GLSL_TYPES, "audio": "sampler2D", "audioFFT": "sampler2D"}

_GLSL_WORDS = frozenset(
    """attribute const uniform varying layout centroid flat smooth noperspective break
    continue do for while switch case default if else in out inout float int void bool true
    false invariant discard return mat2 mat3 mat4 mat2x2 mat2x3 mat2x4 mat3x2 mat3x3 mat3x4
    mat4x2 mat4x3 mat4x4 vec2 vec3 vec4 ivec2 ivec3 ivec4 bvec2 bvec3 bvec4 uint uvec2 uvec3
    uvec4 lowp mediump highp precision sampler1D sampler2D sampler3D samplerCube
    sampler2DRect sampler2DArray sampler2DShadow isampler2D usampler2D samplerBuffer struct
    common partition active asm class union enum typedef template this packed goto inline
    noinline volatile public static extern external interface long short double half fixed
    unsigned superp input output hvec2 hvec3 hvec4 dvec2 dvec3 dvec4 fvec2 fvec3 fvec4
    sampler3DRect filter image1D image2D image3D imageCube iimage1D iimage2D uimage1D
    uimage2D image1DArray image2DArray sizeof cast namespace using row_major patch sample
    subroutine texture""".split()
)
"""GLSL 3.30 keywords, reserved words and built-in function names an input may not take."""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = frozenset(
    (
        "TIME",
        "TIMEDELTA",
        "RENDERSIZE",
        "PASSINDEX",
        "FRAMEINDEX",
        "DATE",
        "isf_FragNormCoord",
        "gl_FragColor",
        "isf_FragColor",
        "main",
    )
)


@dataclass(frozen=True)
class IsfInput:
    """One entry of INPUTS. ``default``/``min``/``max`` are the reference host's values
    after its rules (``None`` where it has none); ``identity`` is ISF's ``IDENTITY``.
    ``max`` of an audio input is the number of samples (audio) or bins (audioFFT) asked for.
    """

    name: str
    type: str
    default: ParamValue | None = None
    min: ParamValue | None = None
    max: ParamValue | None = None
    identity: ParamValue | None = None
    values: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    label: str = ""
    description: str = ""

    @property
    def glsl_type(self) -> str:
        return GLSL_TYPES[self.type]

    @property
    def is_image(self) -> bool:
        return self.type in ("image", "audio", "audioFFT")


@dataclass(frozen=True)
class IsfPass:
    """One render pass: drawn into ``target`` (``None``: the output), a buffer kept across
    frames when ``persistent``, RGBA32F when ``float``; ``width``/``height`` are
    expressions (``None``: the render size)."""

    target: str | None = None
    persistent: bool = False
    float: bool = False
    width: str | None = None
    height: str | None = None


@dataclass(frozen=True)
class IsfImport:
    """An IMPORTED image: a sampler ``name`` reading the image ``path`` (resolved against
    the ISF file's folder)."""

    name: str
    path: Path


@dataclass(frozen=True)
class IsfDocument:
    """A parsed ISF file (see module docstring)."""

    file: Path
    kind: str  # "generator" | "filter" | "transition"
    params: tuple[ParamSpec, ...]
    inputs: tuple[IsfInput, ...]
    passes: tuple[IsfPass, ...]
    imported: tuple[IsfImport, ...]
    fragment_source: str
    fragment_first_line: int
    """The line of the .fs file where ``fragment_source`` starts (the JSON header counts)."""
    vertex_source: str | None = None
    vertex_file: Path | None = None
    isf_version: int = 2
    description: str = ""
    credit: str = ""
    categories: tuple[str, ...] = ()

    def input(self, name: str) -> IsfInput | None:
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def buffers(self) -> tuple[IsfPass, ...]:
        """One entry per named buffer (the first pass that targets it), in pass order."""
        seen: dict[str, IsfPass] = {}
        for p in self.passes:
            if p.target is not None and p.target not in seen:
                seen[p.target] = p
        return tuple(seen.values())


class _Problems:
    def __init__(self, file: Path, text: str, json_start: int) -> None:
        self.file = file
        self.text = text
        self.json_start = json_start  # character index of the JSON in the file
        self.items: list[Problem] = []

    def add(self, key_path: str, message: str, line: int | None = None) -> None:
        self.items.append(Problem(self.file, key_path, message, line))

    def line_of(self, needle: str, after: int = 0) -> int | None:
        """The file line of the first ``needle`` in the JSON header (a guide for the artist)."""
        at = self.text.find(needle, self.json_start + after)
        return self.text.count("\n", 0, at) + 1 if at >= 0 else None


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def split_isf(text: str) -> tuple[str, int, str, int]:
    """``(json_text, json_start_index, shader_source, shader_first_line)`` as VVISF cuts
    them: the JSON is between the first ``/*`` and the first ``*/``; the shader source is
    everything after the line holding ``*/``. Raises ValueError when there is no comment."""
    open_at = text.find("/*")
    close_at = text.find("*/")
    if open_at < 0 or close_at < 0 or close_at < open_at:
        raise ValueError("no /* … */ comment with the ISF JSON header at the top of the file")
    end = close_at
    while end < len(text) and text[end] not in "\r\n":
        end += 1
    if text.startswith("\r\n", end):
        end += 2
    elif end < len(text):
        end += 1
    first_line = text.count("\n", 0, end) + 1
    return text[open_at + 2 : close_at], open_at + 2, text[end:], first_line


def parse_isf(path: Path | str) -> IsfDocument:
    """Read and check an ISF file. Raises :class:`ValidationError` with every problem."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc}"
        raise ValidationError([Problem(file, "", f"{reason} (expected an ISF .fs file)")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            [Problem(file, "", "not UTF-8 text (expected an ISF .fs file)", line)]
        ) from None
    try:
        json_text, json_start, source, first_line = split_isf(text)
    except ValueError as exc:
        raise ValidationError([Problem(file, "", str(exc), 1)]) from None
    problems = _Problems(file, text, json_start)
    header_line = text.count("\n", 0, json_start) + 1
    try:
        blob = json.loads(json_text) if json_text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValidationError(
            [
                Problem(
                    file,
                    "",
                    f"the JSON header is not valid JSON: {exc.msg}",
                    header_line + exc.lineno - 1,
                )
            ]
        ) from None
    if not isinstance(blob, dict):
        raise ValidationError(
            [
                Problem(
                    file,
                    "",
                    f"the JSON header must be an object {{…}}, not {_type_name(blob)}",
                    header_line,
                )
            ]
        )

    version_raw = blob.get("ISFVSN")
    isf_version = (
        2 if isinstance(version_raw, str | int | float) and str(version_raw).startswith("2") else 1
    )

    inputs = _parse_inputs(blob.get("INPUTS"), problems)
    buffers_v1 = _parse_persistent_buffers(blob.get("PERSISTENT_BUFFERS"), problems)
    passes = _parse_passes(blob.get("PASSES"), buffers_v1, problems)
    imported = _parse_imported(blob.get("IMPORTED"), file, problems)

    names = [i.name for i in inputs]
    sampler_names = names + [p.target for p in passes if p.target] + [i.name for i in imported]
    for name in {n for n in sampler_names if sampler_names.count(n) > 1}:
        if names.count(name) > 1 or name in [i.name for i in imported]:
            problems.add(
                "",
                f"the name '{name}' is used twice (inputs, pass targets and imported images "
                "need their own names)",
                problems.line_of(f'"{name}"'),
            )
        elif name in names:
            problems.add(
                "PASSES",
                f"pass target '{name}' has the name of an input",
                problems.line_of(f'"{name}"'),
            )
    scalar_names = {i.name for i in inputs if i.type in ("float", "long", "bool", "event")}
    known = scalar_names | {"WIDTH", "HEIGHT"}
    for index, p in enumerate(passes):
        for key, expr in (("WIDTH", p.width), ("HEIGHT", p.height)):
            if expr is None:
                continue
            try:
                unknown = Expression(expr).names - known
            except ExprError as exc:
                problems.add(
                    f"PASSES[{index}].{key}",
                    f"{expr!r}: {exc}",
                    problems.line_of(expr),
                )
                continue
            if unknown:
                bad = sorted(unknown)[0]
                problems.add(
                    f"PASSES[{index}].{key}",
                    f"{expr!r} reads '{bad}', which is neither $WIDTH, $HEIGHT nor a float, "
                    f"long, bool or event input{did_you_mean(bad, sorted(known))}",
                    problems.line_of(expr),
                )

    vertex_file = next(
        (p for p in (file.with_suffix(".vs"), file.with_suffix(".vert")) if p.is_file()), None
    )
    vertex_source = None
    if vertex_file is not None:
        try:
            vertex_source = vertex_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.add("", f"cannot read the vertex shader {vertex_file.name}: {exc}")

    if problems.items:
        raise ValidationError(problems.items)

    kind = "generator"
    by_name = {i.name: i for i in inputs}
    if by_name.get("inputImage") and by_name["inputImage"].type == "image":
        kind = "filter"
    if (
        getattr(by_name.get("startImage"), "type", None) == "image"
        and getattr(by_name.get("endImage"), "type", None) == "image"
        and getattr(by_name.get("progress"), "type", None) == "float"
    ):
        kind = "transition"

    params = tuple(
        ParamSpec(
            name=i.name,
            type=i.type,
            default=_param_default(i),
            min=i.min if i.type in ("float", "long", "point2D", "color") else None,
            max=i.max if i.type in ("float", "long", "point2D", "color") else None,
            values=i.values,
            labels=i.labels,
            label=i.label,
        )
        for i in inputs
        if i.type in SETTABLE_TYPES
    )
    categories = blob.get("CATEGORIES")
    return IsfDocument(
        file=file,
        kind=kind,
        params=params,
        inputs=inputs,
        passes=passes,
        imported=imported,
        fragment_source=source,
        fragment_first_line=first_line,
        vertex_source=vertex_source,
        vertex_file=vertex_file,
        isf_version=isf_version,
        description=blob["DESCRIPTION"] if isinstance(blob.get("DESCRIPTION"), str) else "",
        credit=blob["CREDIT"] if isinstance(blob.get("CREDIT"), str) else "",
        categories=tuple(c for c in categories if isinstance(c, str))
        if isinstance(categories, list)
        else (),
    )


def _param_default(i: IsfInput) -> ParamValue:
    if i.default is not None:
        return i.default
    return {
        "float": 0.0,
        "long": 0,
        "bool": False,
        "event": False,
        "color": (0.0, 0.0, 0.0, 0.0),
        "point2D": (0.0, 0.0),
        "image": "",
    }[i.type]


def _numbers(value: Any, n: int) -> tuple[float, ...] | None:
    if isinstance(value, list) and len(value) == n and all(_is_number(v) for v in value):
        return tuple(float(v) for v in value)
    return None


def _parse_inputs(raw: Any, problems: _Problems) -> tuple[IsfInput, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(
            "INPUTS",
            f"expected a list of inputs, not {_type_name(raw)}",
            problems.line_of('"INPUTS"'),
        )
        return ()
    inputs: list[IsfInput] = []
    inputs_at = max(0, problems.text.find('"INPUTS"', problems.json_start) - problems.json_start)
    for index, entry in enumerate(raw):
        key = f"INPUTS[{index}]"
        if not isinstance(entry, dict):
            problems.add(
                key,
                f"expected an object with NAME and TYPE, not {_type_name(entry)}",
                problems.line_of('"INPUTS"'),
            )
            continue
        name = entry.get("NAME")
        line = (
            problems.line_of(f'"{name}"', inputs_at)
            if isinstance(name, str)
            else problems.line_of('"INPUTS"')
        )
        if not isinstance(name, str):
            problems.add(
                f"{key}.NAME",
                f"expected the input's name as a string, not {_type_name(name)}",
                line,
            )
            continue
        if not _IDENT.match(name) or name.startswith("gl_"):
            problems.add(
                f"{key}.NAME",
                f"'{name}' is not a GLSL name (letters, digits and _, not starting with a "
                "digit or gl_)",
                line,
            )
            continue
        if name in _RESERVED or name in _GLSL_WORDS:
            what = "an ISF built-in" if name in _RESERVED else "a GLSL word"
            problems.add(f"{key}.NAME", f"'{name}' is {what}; choose another name", line)
            continue
        kind = entry.get("TYPE")
        if kind not in INPUT_TYPES:
            hint = did_you_mean(kind, INPUT_TYPES)
            what = f"'{kind}'" if isinstance(kind, str) else _type_name(kind)
            problems.add(
                f"{key}.TYPE",
                f"unknown input type {what}; expected one of {', '.join(INPUT_TYPES)}{hint}",
                line,
            )
            continue
        label = entry.get("LABEL", "")
        description = entry.get("DESCRIPTION", "")
        label = label if isinstance(label, str) else ""
        description = description if isinstance(description, str) else ""
        parsed = _parse_input(name, kind, entry, key, line, problems)
        if parsed is not None:
            inputs.append(
                IsfInput(name=name, type=kind, label=label, description=description, **parsed)
            )
    return tuple(inputs)


def _parse_input(
    name: str, kind: str, entry: dict, key: str, line: int | None, problems: _Problems
) -> dict[str, Any] | None:
    n_before = len(problems.items)

    def bad(field: str, expected: str) -> None:
        problems.add(
            f"{key}.{field}",
            f"expected {expected}, not {_type_name(entry[field])} ({json.dumps(entry[field])})",
            line,
        )

    out: dict[str, Any] = {}
    if kind == "float":
        lo, hi, default, identity = (entry.get(k) for k in ("MIN", "MAX", "DEFAULT", "IDENTITY"))
        for field, value in (
            ("MIN", lo),
            ("MAX", hi),
            ("DEFAULT", default),
            ("IDENTITY", identity),
        ):
            if value is not None and not _is_number(value):
                bad(field, "a number")
        if len(problems.items) > n_before:
            return None
        if (lo is None) != (hi is None):  # VVISF: one bound without the other → neither
            lo = hi = None
        lo, hi = (0.0, 1.0) if lo is None else (float(lo), float(hi))
        if lo > hi:
            problems.add(f"{key}.MIN", f"MIN ({lo:g}) is above MAX ({hi:g})", line)
            return None
        value = (lo + hi) / 2.0 if default is None else min(max(float(default), lo), hi)
        out.update(
            default=value, min=lo, max=hi, identity=None if identity is None else float(identity)
        )
    elif kind == "long":
        values, labels = entry.get("VALUES"), entry.get("LABELS")
        if values is not None and (
            not isinstance(values, list)
            or not all(_is_number(v) and float(v).is_integer() for v in values)
        ):
            bad("VALUES", "a list of whole numbers")
        if labels is not None and (
            not isinstance(labels, list) or not all(isinstance(v, str) for v in labels)
        ):
            bad("LABELS", "a list of strings")
        for field in ("MIN", "MAX", "DEFAULT", "IDENTITY"):
            if entry.get(field) is not None and not _is_number(entry[field]):
                bad(field, "a whole number")
        if len(problems.items) > n_before:
            return None
        if values is not None and labels is not None and len(values) != len(labels):
            problems.add(
                f"{key}.LABELS",
                f"{len(labels)} labels for {len(values)} VALUES (expected as many)",
                line,
            )
            return None
        lo = hi = None
        vals: tuple[int, ...] = ()
        labs: tuple[str, ...] = ()
        if values is not None and labels is not None:
            vals, labs = tuple(int(v) for v in values), tuple(labels)
        elif entry.get("MIN") is not None and entry.get("MAX") is not None:
            lo, hi = int(entry["MIN"]), int(entry["MAX"])
        default = entry.get("DEFAULT")
        # VVISF (ISFDoc.cpp): no DEFAULT leaves the value null, which its uniform upload
        # reads as 0 (ISFVal::getLongVal) — even for a menu without 0 or a MIN above 0
        value = int(default) if default is not None else 0
        out.update(default=value, min=lo, max=hi, values=vals, labels=labs)
        if entry.get("IDENTITY") is not None:
            out["identity"] = int(entry["IDENTITY"])
        if vals:
            out["min"], out["max"] = min(vals), max(vals)
    elif kind in ("bool", "event"):
        default = entry.get("DEFAULT")
        if kind == "bool":
            if default is not None and not isinstance(default, bool) and not _is_number(default):
                bad("DEFAULT", "true or false")
                return None
            out["default"] = (
                True
                if default is None
                else bool(default > 0)
                if not isinstance(default, bool)
                else default
            )
        else:
            out["default"] = False
    elif kind == "color":
        for field in ("DEFAULT", "IDENTITY", "MIN", "MAX"):
            if entry.get(field) is not None and _numbers(entry[field], 4) is None:
                bad(field, "a list of 4 numbers [r, g, b, a], 0..1")
        if len(problems.items) > n_before:
            return None
        default = _numbers(entry.get("DEFAULT"), 4)
        out.update(
            default=default if default is not None else (0.0, 0.0, 0.0, 0.0),
            min=(0.0, 0.0, 0.0, 0.0),
            max=(1.0, 1.0, 1.0, 1.0),
            identity=_numbers(entry.get("IDENTITY"), 4),
        )
    elif kind == "point2D":
        for field in ("DEFAULT", "IDENTITY", "MIN", "MAX"):
            if entry.get(field) is not None and _numbers(entry[field], 2) is None:
                bad(field, "a list of 2 numbers [x, y]")
        if len(problems.items) > n_before:
            return None
        lo, hi = _numbers(entry.get("MIN"), 2), _numbers(entry.get("MAX"), 2)
        if (lo is None) != (hi is None):
            lo = hi = None
        default = _numbers(entry.get("DEFAULT"), 2)
        out.update(
            default=default if default is not None else (0.0, 0.0),
            min=lo,
            max=hi,
            identity=_numbers(entry.get("IDENTITY"), 2),
        )
    elif kind == "image":
        out["default"] = ""
    else:  # audio, audioFFT: MAX = how many samples / bins the shader wants
        top = entry.get("MAX")
        if top is not None and not (_is_number(top) and top >= 1):
            bad("MAX", "a whole number of samples (at least 1)")
            return None
        if top is not None:
            out["max"] = int(top)
    return out


def _size_expr(value: Any, key: str, problems: _Problems) -> str | None:
    """A WIDTH/HEIGHT value as expression text (a number as its text)."""
    if value is None:
        return None
    if _is_number(value):
        return repr(float(value))
    if isinstance(value, str) and value.strip():
        return value.strip()  # VVISF drops the '$'s; the evaluator reads names with or without
    problems.add(
        key,
        f'expected a number or an expression such as "$WIDTH/2", not {_type_name(value)}',
        problems.line_of(f'"{key.rsplit(".", 1)[-1]}"'),
    )
    return None


def _flag(value: Any, key: str, problems: _Problems) -> bool:
    """PERSISTENT / FLOAT: VVISF takes booleans, numbers (> 0) and strings ("true", "1")."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return value > 0
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    problems.add(
        key,
        f"expected true or false, not {_type_name(value)} ({json.dumps(value)})",
        problems.line_of(f'"{key.rsplit(".", 1)[-1]}"'),
    )
    return False


def _parse_persistent_buffers(raw: Any, problems: _Problems) -> dict[str, IsfPass]:
    """ISF v1's PERSISTENT_BUFFERS: a list of names, or an object name → {WIDTH, HEIGHT, FLOAT}."""
    if raw is None:
        return {}
    out: dict[str, IsfPass] = {}
    if isinstance(raw, list):
        for index, name in enumerate(raw):
            if not isinstance(name, str) or not _IDENT.match(name):
                problems.add(
                    f"PERSISTENT_BUFFERS[{index}]",
                    "expected a buffer name (a GLSL name)",
                    problems.line_of('"PERSISTENT_BUFFERS"'),
                )
                continue
            out[name] = IsfPass(target=name, persistent=True)
    elif isinstance(raw, dict):
        for name, desc in raw.items():
            key = f"PERSISTENT_BUFFERS.{name}"
            if not _IDENT.match(name) or not isinstance(desc, dict):
                problems.add(
                    key,
                    "expected a buffer name (a GLSL name) with an object {WIDTH, HEIGHT, FLOAT}",
                    problems.line_of(f'"{name}"'),
                )
                continue
            out[name] = IsfPass(
                target=name,
                persistent=True,
                float=_flag(desc.get("FLOAT"), f"{key}.FLOAT", problems),
                width=_size_expr(desc.get("WIDTH"), f"{key}.WIDTH", problems),
                height=_size_expr(desc.get("HEIGHT"), f"{key}.HEIGHT", problems),
            )
    else:
        problems.add(
            "PERSISTENT_BUFFERS",
            f"expected a list of names or an object, not {_type_name(raw)}",
            problems.line_of('"PERSISTENT_BUFFERS"'),
        )
    return out


def _parse_passes(raw: Any, v1: dict[str, IsfPass], problems: _Problems) -> tuple[IsfPass, ...]:
    if raw is None or raw == []:
        return (IsfPass(),)
    if not isinstance(raw, list):
        problems.add(
            "PASSES",
            f"expected a list of passes, not {_type_name(raw)}",
            problems.line_of('"PASSES"'),
        )
        return (IsfPass(),)
    passes: list[IsfPass] = []
    declared: dict[str, IsfPass] = dict(v1)
    for index, entry in enumerate(raw):
        key = f"PASSES[{index}]"
        if not isinstance(entry, dict):
            problems.add(
                key,
                f'expected an object such as {{"TARGET": "name"}}, not {_type_name(entry)}',
                problems.line_of('"PASSES"'),
            )
            continue
        target = entry.get("TARGET")
        if target is None or target == "":
            passes.append(IsfPass())
            continue
        if isinstance(target, str) and (target in _GLSL_WORDS or target in _RESERVED):
            problems.add(
                f"{key}.TARGET",
                f"'{target}' is a GLSL word or ISF built-in; choose another buffer name",
                problems.line_of(f'"{target}"'),
            )
            continue
        if not isinstance(target, str) or not _IDENT.match(target):
            problems.add(
                f"{key}.TARGET",
                f"expected a buffer name (a GLSL name), not {json.dumps(target)}",
                problems.line_of('"TARGET"'),
            )
            continue
        width = _size_expr(entry.get("WIDTH"), f"{key}.WIDTH", problems)
        height = _size_expr(entry.get("HEIGHT"), f"{key}.HEIGHT", problems)
        is_float = _flag(entry.get("FLOAT"), f"{key}.FLOAT", problems)
        persistent = _flag(entry.get("PERSISTENT"), f"{key}.PERSISTENT", problems)
        known = declared.get(target)
        if known is not None:  # a v1 persistent buffer, or a buffer an earlier pass named
            persistent = persistent or known.persistent
            is_float = is_float or known.float
            width = width if width is not None else known.width
            height = height if height is not None else known.height
        this = IsfPass(target, persistent, is_float, width, height)
        declared[target] = this
        passes.append(this)
    if not passes:
        passes.append(IsfPass())
    # a buffer takes the properties its passes gave it (the same buffer for every pass)
    return tuple(declared[p.target] if p.target else p for p in passes)


def _parse_imported(raw: Any, file: Path, problems: _Problems) -> tuple[IsfImport, ...]:
    if raw is None:
        return ()
    entries: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        for name, desc in raw.items():
            if isinstance(desc, dict) and "NAME" not in desc:
                desc = {**desc, "NAME": name}
            entries.append((f"IMPORTED.{name}", desc))
    elif isinstance(raw, list):
        entries = [(f"IMPORTED[{i}]", d) for i, d in enumerate(raw)]
    else:
        problems.add(
            "IMPORTED",
            f"expected an object or a list of images, not {_type_name(raw)}",
            problems.line_of('"IMPORTED"'),
        )
        return ()
    out: list[IsfImport] = []
    for key, desc in entries:
        line = problems.line_of('"IMPORTED"')
        if not isinstance(desc, dict):
            problems.add(
                key, f'expected an object {{"NAME": …, "PATH": …}}, not {_type_name(desc)}', line
            )
            continue
        name, path = desc.get("NAME"), desc.get("PATH")
        if not isinstance(name, str) or not _IDENT.match(name):
            problems.add(
                f"{key}.NAME",
                f"expected a sampler name (a GLSL name), not {json.dumps(name)}",
                line,
            )
            continue
        if desc.get("TYPE") == "cube":
            problems.add(f"{key}.TYPE", "cube maps are not supported", line)
            continue
        if not isinstance(path, str) or not path:
            problems.add(
                f"{key}.PATH",
                f"expected the image's path (relative to {file.name}), not {json.dumps(path)}",
                line,
            )
            continue
        full = file.parent / path
        if not full.is_file():
            problems.add(f"{key}.PATH", f"image not found: {full}", problems.line_of(path) or line)
            continue
        out.append(IsfImport(name, full))
    return tuple(out)
