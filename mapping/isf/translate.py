"""An ISF document → the GLSL 3.30 core vertex and fragment shaders the project compiles (pure).

What the reference host (VVISF) does to a file, for OpenGL 3.3 core:

- declares the built-ins (``PASSINDEX``, ``RENDERSIZE``, ``isf_FragNormCoord``, ``TIME``,
  ``TIMEDELTA``, ``DATE``, ``FRAMEINDEX``), one uniform per input, and per image (inputs,
  pass buffers, imported images, audio) a ``sampler2D`` plus the private ``_<name>_imgRect``,
  ``_<name>_imgSize`` and ``_<name>_flip`` uniforms its sampling functions read;
- rewrites ``IMG_PIXEL``, ``IMG_NORM_PIXEL`` (2 or 3 arguments: a bias), ``IMG_THIS_PIXEL``,
  ``IMG_THIS_NORM_PIXEL`` and ``IMG_SIZE`` calls into those functions (argument text kept
  verbatim, new lines included);
- writes ``gl_FragColor`` as an ``out vec4`` (``#define gl_FragColor isf_FragColor``);
- ``vv_FragNormCoord`` and ``vv_vertShaderInit`` (v1) become their ``isf_`` names;
- a file without a ``.vs`` gets the pass-through vertex shader
  ``void main() { isf_vertShaderInit(); }``; ``isf_vertShaderInit`` sets ``gl_Position``
  from ``VERTEXDATA`` (the quad in pixels) and ``isf_FragNormCoord``.

For files written for old GLSL, as the issue asks, ``texture2D``/``texture2DRect``/
``texture2DProj``/``texture2DLod`` are mapped to 3.30's functions, ``varying`` to ``in`` /
``out`` and ``attribute`` to ``in``; ``#version`` lines are blanked.

Line numbers: the generated declarations come first, then ``#line N`` with N the line of
the ``.fs`` file where the shader source starts (after the JSON header), so a driver's
line is the artist's line. Rewrites never add or remove a line. Declarations are placed
under ``#line`` :data:`PRELUDE_LINE` so an error there is recognisable.

``IMG_THIS_PIXEL(img)`` is ``IMG_PIXEL(img, gl_FragCoord.xy)`` and ``IMG_THIS_NORM_PIXEL(img)``
is ``IMG_NORM_PIXEL(img, isf_FragNormCoord)``, as the ISF specification defines them
(VVISF computes the same coordinates per vertex).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mapping.isf.document import IsfDocument

PRELUDE_LINE = 100000
"""Lines of the generated declarations are numbered from here (never an artist's line)."""

_SAMPLING = """\
vec4 VVSAMPLER_2DBYPIXEL(sampler2D s, vec4 r, vec2 size, bool flip, vec2 loc) {
    return texture(s, vec2(loc.x / size.x * r.z + r.x,
        flip ? r.w - loc.y / size.y * r.w + r.y : loc.y / size.y * r.w + r.y));
}
vec4 VVSAMPLER_2DBYPIXEL(sampler2D s, vec4 r, vec2 size, bool flip, vec2 loc, float bias) {
    return texture(s, vec2(loc.x / size.x * r.z + r.x,
        flip ? r.w - loc.y / size.y * r.w + r.y : loc.y / size.y * r.w + r.y), bias);
}
vec4 VVSAMPLER_2DBYNORM(sampler2D s, vec4 r, vec2 size, bool flip, vec2 n) {
    return VVSAMPLER_2DBYPIXEL(s, r, size, flip, n * size);
}
vec4 VVSAMPLER_2DBYNORM(sampler2D s, vec4 r, vec2 size, bool flip, vec2 n, float bias) {
    return VVSAMPLER_2DBYPIXEL(s, r, size, flip, n * size, bias);
}
"""
_SAMPLING_VERTEX = (
    _SAMPLING.replace("), bias);", "));")
    .replace("texture(", "textureLod(")
    .replace("r.y));\n}", "r.y), 0.0);\n}")
)

_LEGACY_FRAGMENT = """\
#define gl_FragColor isf_FragColor
#define vv_FragNormCoord isf_FragNormCoord
#define texture2D texture
#define texture2DProj textureProj
#define texture2DLod textureLod
#define texture2DRect(s, c) texture(s, (c) / vec2(textureSize(s, 0)))
#define varying in
"""
_LEGACY_VERTEX = """\
#define vv_FragNormCoord isf_FragNormCoord
#define vv_vertShaderInit isf_vertShaderInit
#define texture2D(s, c) textureLod(s, c, 0.0)
#define texture2DLod textureLod
#define varying out
#define attribute in
"""

_VERT_INIT = """
void isf_vertShaderInit(void) {
    mat4 projectionMatrix = mat4(2. / RENDERSIZE.x, 0., 0., -1.,
        0., 2. / RENDERSIZE.y, 0., -1.,
        0., 0., -1., 0.,
        0., 0., 0., 1.);
    gl_Position = VERTEXDATA * projectionMatrix;
    isf_FragNormCoord = vec2((gl_Position.x + 1.0) / 2.0, (gl_Position.y + 1.0) / 2.0);
}
"""
_THIS_NORM = "_isf_thisNormCoord"
_VERT_INIT_THIS = _VERT_INIT.replace(
    "(gl_Position.y + 1.0) / 2.0);\n",
    f"(gl_Position.y + 1.0) / 2.0);\n    {_THIS_NORM} = isf_FragNormCoord;\n",
)
_PASSTHROUGH_VERTEX = "void main(void) {\n    isf_vertShaderInit();\n}\n"


class TranslateError(ValueError):
    """A macro call the translation cannot rewrite (wrong number of arguments, unclosed)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class IsfSources:
    """The two shaders of an ISF document and the samplers they declare, in unit order."""

    vertex: str
    fragment: str
    samplers: tuple[str, ...]


def image_names(doc: IsfDocument) -> tuple[str, ...]:
    """Every sampler the shaders declare: image and audio inputs, pass buffers, imports."""
    names = [i.name for i in doc.inputs if i.is_image]
    names += [p.target for p in doc.buffers if p.target]
    names += [i.name for i in doc.imported]
    return tuple(dict.fromkeys(names))


def declarations(doc: IsfDocument, stage: str) -> str:
    """The uniforms (and the stage's isf_FragNormCoord) VVISF declares for a document."""
    lines = ["uniform int PASSINDEX;", "uniform vec2 RENDERSIZE;"]
    lines.append(("out" if stage == "vertex" else "in") + " vec2 isf_FragNormCoord;")
    lines += [
        "uniform float TIME;",
        "uniform float TIMEDELTA;",
        "uniform vec4 DATE;",
        "uniform int FRAMEINDEX;",
    ]
    for i in doc.inputs:
        if not i.is_image:
            lines.append(f"uniform {i.glsl_type} {i.name};")
    for name in image_names(doc):
        lines += [
            f"uniform sampler2D {name};",
            f"uniform vec4 _{name}_imgRect;",
            f"uniform vec2 _{name}_imgSize;",
            f"uniform bool _{name}_flip;",
        ]
    return "\n".join(lines) + "\n"


_MACROS = ("IMG_THIS_NORM_PIXEL", "IMG_THIS_PIXEL", "IMG_NORM_PIXEL", "IMG_PIXEL", "IMG_SIZE")
_MACRO_RE = re.compile(r"\b(" + "|".join(_MACROS) + r")\s*\(")
_VERSION_RE = re.compile(r"^[ \t]*#[ \t]*version\b[^\r\n]*", re.MULTILINE)


def _split_args(text: str, start: int, line_of: int, name: str) -> tuple[list[str], int]:
    """Arguments of the call whose '(' is at ``start``; returns them and the index after ')'."""
    depth = 0
    args: list[str] = []
    current = start + 1
    i = start
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[current:i])
                return [a for a in args], i + 1
        elif c == "," and depth == 1:
            args.append(text[current:i])
            current = i + 1
        i += 1
    raise TranslateError(line_of, f"{name}( is never closed")


_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?(?:\*/|$)", re.DOTALL)


def rewrite_macros(source: str, first_line: int, this_norm: str = "isf_FragNormCoord") -> str:
    """Replace ISF's image macros by the sampling functions (new lines kept). Calls
    inside comments are left alone (commented-out code need not be well formed).
    ``IMG_THIS_NORM_PIXEL(img)`` reads ``img`` at ``this_norm``."""
    comments = [(c.start(), c.end()) for c in _COMMENT_RE.finditer(source)]
    out: list[str] = []
    pos = 0
    for_line = first_line
    while True:
        m = _MACRO_RE.search(source, pos)
        if not m:
            out.append(source[pos:])
            return "".join(out)
        inside = next((end for start, end in comments if start <= m.start() < end), None)
        if inside is not None:
            out.append(source[pos:inside])
            pos = inside
            continue
        name = m.group(1)
        line = for_line + source.count("\n", 0, m.start())
        args, end = _split_args(source, m.end() - 1, line, name)
        args = [a for a in args]
        stripped = [a.strip() for a in args]
        sampler = stripped[0] if stripped else ""
        if not re.fullmatch(r"[A-Za-z_]\w*", sampler):
            raise TranslateError(line, f"{name} needs an image name as its first argument")
        common = f"{sampler}, _{sampler}_imgRect, _{sampler}_imgSize, _{sampler}_flip"
        if name in ("IMG_PIXEL", "IMG_NORM_PIXEL"):
            if len(args) not in (2, 3):
                raise TranslateError(
                    line, f"{name} takes 2 or 3 arguments (image, coordinate[, bias])"
                )
            func = "VVSAMPLER_2DBYPIXEL" if name == "IMG_PIXEL" else "VVSAMPLER_2DBYNORM"
            replacement = f"{func}({common},{','.join(args[1:])})"
        else:
            if len(args) != 1:
                raise TranslateError(line, f"{name} takes 1 argument (the image)")
            # keep any new lines inside the parentheses
            keep = "\n" * args[0].count("\n")
            if name == "IMG_SIZE":
                replacement = f"(_{sampler}_imgSize.xy){keep}"
            elif name == "IMG_THIS_PIXEL":
                replacement = f"VVSAMPLER_2DBYPIXEL({common}, gl_FragCoord.xy){keep}"
            else:
                replacement = f"VVSAMPLER_2DBYNORM({common}, {this_norm}){keep}"
        out.append(source[pos : m.start()])
        out.append(replacement)
        pos = end


def _blank_versions(source: str) -> str:
    return _VERSION_RE.sub("", source)


def translate(doc: IsfDocument) -> IsfSources:
    """The GLSL 3.30 core shaders for ``doc``. Raises :class:`TranslateError` (with the
    line of the ``.fs`` or ``.vs`` file) for a macro call it cannot rewrite."""
    # with a custom vertex shader, IMG_THIS_NORM_PIXEL reads where isf_vertShaderInit()
    # put the fragment, as VVISF's per-vertex texture coordinates do, even if the .vs then
    # changes isf_FragNormCoord
    custom = doc.vertex_source is not None
    this_norm = _THIS_NORM if custom else "isf_FragNormCoord"
    frag_body = rewrite_macros(
        _blank_versions(doc.fragment_source), doc.fragment_first_line, this_norm
    )
    fragment = (
        "#version 330 core\n"
        f"#line {PRELUDE_LINE}\n"
        + _LEGACY_FRAGMENT
        + "out vec4 gl_FragColor;\n"
        + declarations(doc, "fragment")
        + (f"in vec2 {_THIS_NORM};\n" if custom else "")
        + _SAMPLING
        + f"#line {doc.fragment_first_line}\n"
        + frag_body
    )
    if doc.vertex_source is not None:
        try:
            vert_body = rewrite_macros(_blank_versions(doc.vertex_source), 1)
        except TranslateError as exc:
            raise TranslateError(exc.line, f"{exc.message} (in the vertex shader)") from None
    else:
        vert_body = _PASSTHROUGH_VERTEX
    vertex = (
        "#version 330 core\n"
        f"#line {PRELUDE_LINE}\n"
        + _LEGACY_VERTEX
        + "in vec4 VERTEXDATA;\nvoid isf_vertShaderInit();\n"
        + declarations(doc, "vertex")
        + (f"out vec2 {_THIS_NORM};\n" if custom else "")
        + _SAMPLING_VERTEX
        + "#line 1\n"
        + vert_body
        + f"\n#line {PRELUDE_LINE + 500}\n"
        + (_VERT_INIT_THIS if custom else _VERT_INIT)
    )
    return IsfSources(vertex, fragment, image_names(doc))
