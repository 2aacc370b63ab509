"""``IsfProgram``: an ISF document compiled and drawn, every pass, into an RGBA8 texture.

One program per ISF file (:mod:`mapping.isf` parses and translates it; this module owns
the GL side). :meth:`IsfProgram.render` draws every pass of the file in order: a pass
with a ``TARGET`` draws into that named buffer (RGBA8, or RGBA32F when ``FLOAT``) at the
size its ``WIDTH``/``HEIGHT`` expressions give for this render size; later passes (and the
next frame, for ``PERSISTENT`` buffers) read it by name. Buffers are ping-ponged (a pass
never samples the texture it draws into), persistent buffers are kept across renders and
cleared to transparent black when their size changes.

Orientation: ISF shaders think in GL's bottom-left origin, so every internal buffer stores
ISF's row 0 (the bottom) first. Textures given to :meth:`render` and the one it returns
follow the project's convention (memory row 0 = top of the picture): images passed in and
imported images are read with the reference host's ``_<name>_flip`` uniform set, and the
result is copied, flipped, into the returned texture. Audio textures are data, never
flipped (row 0 = first channel).

Built-ins per render: ``TIME`` (the time given), ``TIMEDELTA`` (since the previous render,
0 on the first), ``FRAMEINDEX`` (the frame index given, else renders counted from 0),
``DATE`` (year, month, day, seconds since midnight: local wall clock unless given),
``RENDERSIZE`` (the pass's size), ``PASSINDEX``. ``event`` inputs are true for the one render
after their value changes to a true value.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path

import moderngl
import numpy as np

from mapping.gl.shaders import ShaderDiagnostic, ShaderError, load_program, map_driver_log
from mapping.isf.document import IsfDocument, IsfPass
from mapping.isf.expr import ExprError, Expression
from mapping.isf.translate import PRELUDE_LINE, TranslateError, translate
from mapping.media.errors import MediaError
from mapping.media.image import load_image
from mapping.params import ParamValue

log = logging.getLogger(__name__)

_MAIN = ""  # the buffer of passes without TARGET

_RAW_SAMPLING = r"\b(?:texture2D\w*|texture\w*|texelFetch\w*)\s*\(\s*{name}\b"
"""A GLSL call reading a sampler directly (not through IMG_*, which honour ``_flip``)."""


def raw_sampled(doc: IsfDocument) -> frozenset[str]:
    """The image inputs a file samples directly (``texture2D(inputImage, uv)``, as many v1
    files do) instead of through ``IMG_*``: those reads see the texture as stored, so the
    host must give them in GL's orientation (row 0 = the bottom), as VVISF's images are."""
    source = doc.fragment_source + "\n" + (doc.vertex_source or "")
    names = [i.name for i in doc.inputs if i.type == "image"]
    return frozenset(n for n in names if re.search(_RAW_SAMPLING.format(name=re.escape(n)), source))


def compile_isf(ctx: moderngl.Context, doc: IsfDocument) -> moderngl.Program:
    """Compile a document's shaders; ``ShaderError`` names the .fs/.vs file and line."""
    try:
        sources = translate(doc)
    except TranslateError as exc:
        file = doc.file
        if "(in the vertex shader)" in exc.message and doc.vertex_file is not None:
            file = doc.vertex_file
        raise ShaderError(file, [ShaderDiagnostic(file, exc.line, exc.message)]) from None
    try:
        return ctx.program(vertex_shader=sources.vertex, fragment_shader=sources.fragment)
    except moderngl.Error as exc:
        raise _shader_error(doc, str(exc)) from None


def _shader_error(doc: IsfDocument, log_text: str) -> ShaderError:
    vertex_failed = "vertex_shader" in log_text.split("=====", 1)[0]
    if vertex_failed and doc.vertex_file is not None:
        file, text = doc.vertex_file, doc.vertex_source or ""
    else:
        file = doc.file
        try:
            text = doc.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            text = ""
    diags = []
    for d in map_driver_log(log_text, file, text.splitlines()):
        if d.line is not None and d.line >= PRELUDE_LINE:
            d = ShaderDiagnostic(
                file,
                None,
                f"{d.message} (in the declarations generated for the ISF header: "
                "is an input named like a GLSL word or built-in?)",
            )
        elif vertex_failed and doc.vertex_file is None:
            d = ShaderDiagnostic(file, None, f"{d.message} (in the generated vertex shader)")
        diags.append(d)
    return ShaderError(file, diags)


class _Buffer:
    """A named pass target: two textures ping-ponged, ``front`` holds the last drawn."""

    def __init__(
        self, ctx: moderngl.Context, spec: IsfPass, default_fbo: moderngl.Framebuffer
    ) -> None:
        self.ctx = ctx
        self.spec = spec
        self._default_fbo = default_fbo
        self.size: tuple[int, int] | None = None
        self.textures: list[moderngl.Texture] = []
        self.fbos: list[moderngl.Framebuffer] = []

    def ensure(self, size: tuple[int, int]) -> None:
        if size == self.size:
            return
        self.release()
        dtype = "f4" if self.spec.float else "f1"
        for _ in range(2):
            tex = self.ctx.texture(size, 4, dtype=dtype)
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            fbo = self.ctx.framebuffer([tex])
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            self.textures.append(tex)
            self.fbos.append(fbo)
        self.size = size

    @property
    def front(self) -> moderngl.Texture:
        return self.textures[0]

    def swap(self) -> None:
        self.textures.reverse()
        self.fbos.reverse()

    def release(self) -> None:
        if self.fbos:
            # moderngl re-binds the current framebuffer when it makes another: never
            # leave a released one current
            self._default_fbo.use()
        for obj in (*self.fbos, *self.textures):
            obj.release()
        self.textures, self.fbos, self.size = [], [], None


class IsfProgram:
    """A compiled ISF document (see module docstring). Raises ``ShaderError`` when the
    file does not compile and ``MediaError`` when an IMPORTED image cannot be read."""

    def __init__(
        self, ctx: moderngl.Context, doc: IsfDocument, max_texture_size: int | None = None
    ) -> None:
        self.ctx = ctx
        self.doc = doc
        self.max_texture_size = max_texture_size or int(ctx.info.get("GL_MAX_TEXTURE_SIZE", 16384))
        self.program = compile_isf(ctx, doc)
        prog = self.program
        self._default_fbo = ctx.detect_framebuffer(0)
        self._objects: list = [prog]
        self._vbo = ctx.buffer(reserve=4 * 4 * 4)
        self._objects.append(self._vbo)
        if "VERTEXDATA" in prog:
            self._vao = ctx.vertex_array(prog, [(self._vbo, "4f", "VERTEXDATA")])
        else:  # a custom vertex shader that never calls isf_vertShaderInit
            self._vao = ctx.vertex_array(prog, [])
        self._objects.append(self._vao)
        self._vbo_size: tuple[int, int] | None = None
        self._samplers = [n for n in translate(doc).samplers]
        self._units = {name: unit for unit, name in enumerate(self._samplers)}
        for name, unit in self._units.items():
            if name in prog:
                prog[name].value = unit
        self._exprs: dict[str, Expression] = {}
        for p in doc.passes:
            for text in (p.width, p.height):
                if text is not None and text not in self._exprs:
                    self._exprs[text] = Expression(text)  # parse_isf checked them
        self._buffers: dict[str, _Buffer] = {
            p.target: _Buffer(ctx, p, self._default_fbo) for p in doc.buffers if p.target
        }
        self._buffers[_MAIN] = _Buffer(ctx, IsfPass(), self._default_fbo)
        self._blank = ctx.texture((1, 1), 4, bytes(4))
        self._objects.append(self._blank)
        self._imported: dict[str, moderngl.Texture] = {}
        try:
            for imp in doc.imported:
                # stored bottom row first (GL's, and VVISF's, orientation): IMG_* reads
                # it with _flip false and a direct texture2D() read is the right way up
                image = load_image(imp.path, self.max_texture_size)[::-1]
                h, w = image.shape[:2]
                tex = ctx.texture((w, h), 4, np.ascontiguousarray(image).tobytes())
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
                tex.repeat_x = tex.repeat_y = False
                self._imported[imp.name] = tex
                self._objects.append(tex)
        except MediaError:
            self.release()
            raise
        self._flip_prog = load_program(ctx, "blit")
        self._flip_prog["u_flip_y"].value = True
        self._quad = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
        self._flip_vao = ctx.vertex_array(self._flip_prog, [(self._quad, "2f", "a_unit")])
        # the copy is pixel for pixel: nearest sampling, whatever the buffer's own filter
        self._flip_sampler = ctx.sampler(filter=(moderngl.NEAREST, moderngl.NEAREST))
        self._objects += [self._flip_vao, self._quad, self._flip_prog, self._flip_sampler]
        self._out: moderngl.Texture | None = None
        self._out_fbo: moderngl.Framebuffer | None = None
        self._raw = raw_sampled(doc)
        self._upright: dict[str, tuple[moderngl.Texture, moderngl.Framebuffer]] = {}
        self._last_time: float | None = None
        self._frames = 0
        self._events: dict[str, ParamValue | None] = {}
        self._types = {i.name: i.type for i in doc.inputs}
        self._defaults = {p.name: p.default for p in doc.params}
        self.last_pass_sizes: list[tuple[int, int]] = []

    # -- what the program reads -------------------------------------------------------
    def uses(self, name: str) -> bool:
        """Whether the compiled program reads the uniform ``name`` (TIME, DATE, …)."""
        return name in self.program

    @property
    def persistent(self) -> bool:
        return any(p.persistent for p in self.doc.buffers)

    def pass_size(self, p: IsfPass, size_px: tuple[int, int], scalars: Mapping[str, float]):
        """A pass's size for this render size: its expressions, truncated, 1..the GPU limit
        (an expression that is not a number gives 1, as in VVISF)."""
        values = {**scalars, "WIDTH": float(size_px[0]), "HEIGHT": float(size_px[1])}
        out = []
        for text, whole in ((p.width, size_px[0]), (p.height, size_px[1])):
            if text is None:
                v = float(whole)
            else:
                try:
                    v = self._exprs[text].evaluate(values)
                except ExprError:
                    v = math.nan
            v = 1.0 if not math.isfinite(v) else v
            out.append(int(min(max(v, 1.0), self.max_texture_size)))
        return out[0], out[1]

    # -- drawing ----------------------------------------------------------------------
    def render(
        self,
        size_px: tuple[int, int],
        time_s: float,
        params: Mapping[str, ParamValue],
        images: Mapping[str, moderngl.Texture] | None = None,
        frame_index: int | None = None,
        *,
        date: datetime.datetime | None = None,
    ) -> moderngl.Texture:
        """Draw every pass; the result (RGBA8, row 0 = top) is valid until the next call."""
        images = images or {}
        ctx = self.ctx
        size_px = (max(1, int(size_px[0])), max(1, int(size_px[1])))
        delta = 0.0 if self._last_time is None else time_s - self._last_time
        self._last_time = time_s
        frame = frame_index if frame_index is not None else self._frames
        self._frames += 1
        now = date or datetime.datetime.now()
        seconds = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
        self._set("TIME", float(time_s))
        self._set("TIMEDELTA", float(delta))
        self._set("FRAMEINDEX", int(frame))
        self._set("DATE", (float(now.year), float(now.month), float(now.day), seconds))
        scalars: dict[str, float] = {}
        for spec in self.doc.params:
            value = self._value(spec.name, spec.type, params.get(spec.name))
            if spec.type == "image":
                continue
            if spec.type in ("float", "long", "bool", "event"):
                scalars[spec.name] = float(value)  # type: ignore[arg-type]
            self._set(spec.name, value)

        ctx.disable(moderngl.BLEND)
        images = self._gl_oriented(images)
        self.last_pass_sizes = []
        target = self._buffers[_MAIN]
        for index, p in enumerate(self.doc.passes):
            size = self.pass_size(p, size_px, scalars)
            self.last_pass_sizes.append(size)
            target = self._buffers[p.target or _MAIN]
            target.ensure(size)
            self._set("PASSINDEX", index)
            self._set("RENDERSIZE", (float(size[0]), float(size[1])))
            self._bind_images(images)
            if self._vbo_size != size:
                w, h = size
                quad = np.array([0, 0, 0, 1, w, 0, 0, 1, 0, h, 0, 1, w, h, 0, 1], dtype="f4")
                self._vbo.write(quad.tobytes())
                self._vbo_size = size
            target.fbos[1].use()
            self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
            target.swap()
        # the last pass's picture, flipped into the project's orientation
        out_size = target.size or size_px
        if self._out is None or self._out.size != out_size:
            if self._out_fbo is not None and self._out is not None:
                self._default_fbo.use()
                self._out_fbo.release()
                self._out.release()
            self._out = ctx.texture(out_size, 4)
            self._out.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._out.repeat_x = self._out.repeat_y = False
            self._out_fbo = ctx.framebuffer([self._out])
        assert self._out_fbo is not None
        self._out_fbo.use()
        target.front.use(location=0)
        self._flip_sampler.use(location=0)
        self._flip_vao.render(moderngl.TRIANGLE_STRIP)
        self._flip_sampler.clear(location=0)
        ctx.enable(moderngl.BLEND)
        return self._out

    def _set(self, name: str, value: object) -> None:
        if name in self.program:
            self.program[name].value = value

    def _value(self, name: str, kind: str, given: ParamValue | None) -> ParamValue:
        """A parameter as its uniform wants it (the file's default when missing or bad)."""
        default = self._defaults[name]
        value = default if given is None else given
        try:
            if kind == "float":
                return float(value)  # type: ignore[arg-type]
            if kind == "long":
                return round(float(value))  # type: ignore[arg-type]
            if kind == "bool":
                return bool(value)
            if kind == "event":
                last = self._events.get(name)
                self._events[name] = value
                return bool(value) and value != last
            if kind == "color":
                c = tuple(float(v) for v in value)  # type: ignore[union-attr]
                return (*c, 1.0) if len(c) == 3 else c[:4] if len(c) >= 4 else default
            if kind == "point2D":
                p = tuple(float(v) for v in value)  # type: ignore[union-attr]
                return p[:2] if len(p) >= 2 else default
        except (TypeError, ValueError):
            return default
        return value

    def _gl_oriented(self, images: Mapping[str, moderngl.Texture]) -> dict[str, moderngl.Texture]:
        """``images`` with each one the file samples directly copied upside down (row 0 =
        the bottom, as GL and VVISF store images); the others as given."""
        out = dict(images)
        for name in self._raw:
            given = images.get(name)
            if given is None:
                continue
            held = self._upright.get(name)
            if held is None or held[0].size != given.size:
                if held is not None:
                    self._default_fbo.use()
                    held[1].release()
                    held[0].release()
                tex = self.ctx.texture(given.size, 4)
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
                tex.repeat_x = tex.repeat_y = False
                held = self._upright[name] = (tex, self.ctx.framebuffer([tex]))
            held[1].use()
            given.use(location=0)
            self._flip_sampler.use(location=0)
            self._flip_vao.render(moderngl.TRIANGLE_STRIP)
            self._flip_sampler.clear(location=0)
            out[name] = held[0]
        return out

    def _bind_images(self, images: Mapping[str, moderngl.Texture]) -> None:
        for name, unit in self._units.items():
            flip = True
            if name in self._buffers:
                buf = self._buffers[name]
                tex = buf.front if buf.size is not None else self._blank
                flip = False
            elif name in self._imported:
                tex = self._imported[name]
                flip = False  # loaded bottom row first
            elif name in self._raw and name in images:
                tex = images[name]  # copied bottom row first by _gl_oriented
                flip = False
            else:
                tex = images.get(name) or self._blank
                if self._types.get(name) in ("audio", "audioFFT"):
                    flip = False
            tex.use(location=unit)
            self._set(f"_{name}_imgRect", (0.0, 0.0, 1.0, 1.0))
            self._set(f"_{name}_imgSize", (float(tex.size[0]), float(tex.size[1])))
            self._set(f"_{name}_flip", flip)

    def release(self) -> None:
        for buf in self._buffers.values():
            buf.release()
        if self._upright:
            self._default_fbo.use()
        for tex, fbo in self._upright.values():
            fbo.release()
            tex.release()
        self._upright = {}
        if self._out_fbo is not None and self._out is not None:
            self._default_fbo.use()
            self._out_fbo.release()
            self._out.release()
            self._out = self._out_fbo = None
        for obj in reversed(self._objects):
            obj.release()
        self._objects = []


def resolve_image_param(name: str, show_root: Path | None, shader: Path) -> Path:
    """The file an ``image`` parameter names: absolute as given; else in the show folder
    (as the show loader checked it), else beside the shader (values sent over OSC)."""
    path = Path(name)
    if path.is_absolute():
        return path
    folders = [f for f in (show_root, shader.parent, shader.parent.parent) if f is not None]
    for folder in folders:
        if (folder / path).is_file():
            return folder / path
    return folders[0] / path


class ImageInputs:
    """The pictures of an ISF program's ``image`` parameters (other than the ones the host
    feeds: ``inputImage``, ``startImage``, ``endImage``): each file loaded once and kept
    while its identity (path, size, mtime) holds; a value that changes (a cue) switches to
    the new file's texture on the first frame that asks for it. A file that cannot be
    read is logged once and reads as transparent black."""

    KEEP = 8
    """Files kept loaded at most (per program): the ones in use and the last used."""

    def __init__(self, ctx: moderngl.Context, max_texture_size: int, owner: str) -> None:
        self.ctx = ctx
        self.max_texture_size = max_texture_size
        self.owner = owner
        self._textures: dict[Path, tuple[object, moderngl.Texture | None]] = {}
        self.loads = 0  # files read (for tests: loaded once, not per frame)

    def textures(
        self,
        doc: IsfDocument,
        values: Mapping[str, ParamValue],
        show_root: Path | None,
        skip: tuple[str, ...] = (),
    ) -> dict[str, moderngl.Texture]:
        from mapping.kinds import ContentId

        out: dict[str, moderngl.Texture] = {}
        used: set[Path] = set()
        for spec in doc.params:
            if spec.type != "image" or spec.name in skip:
                continue
            value = values.get(spec.name, spec.default)
            if not isinstance(value, str) or not value:
                continue
            path = resolve_image_param(value, show_root, doc.file)
            ident = ContentId.of(path)
            cached = self._textures.get(path)
            if cached is None or cached[0] != ident:
                if cached is not None and cached[1] is not None:
                    cached[1].release()
                tex: moderngl.Texture | None = None
                try:
                    image = load_image(path, self.max_texture_size)
                except MediaError as exc:
                    log.error("%s: image input %s: %s", self.owner, spec.name, exc)
                else:
                    h, w = image.shape[:2]
                    tex = self.ctx.texture((w, h), 4, np.ascontiguousarray(image).tobytes())
                    tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
                    tex.repeat_x = tex.repeat_y = False
                    self.loads += 1
                cached = self._textures[path] = (ident, tex)
            self._textures[path] = self._textures.pop(path)  # most recently used last
            used.add(path)
            if cached[1] is not None:
                out[spec.name] = cached[1]
        self._prune(used)
        return out

    def _prune(self, used: set[Path]) -> None:
        """Keep at most :attr:`KEEP` files besides the ones in use: a cue list stepping
        through many pictures does not hold them all (the least recently used goes; it
        is read again if named again)."""
        spare = [p for p in self._textures if p not in used]
        for path in spare[: max(0, len(self._textures) - self.KEEP)]:
            _, tex = self._textures.pop(path)
            if tex is not None:
                tex.release()

    def release(self) -> None:
        for _, tex in self._textures.values():
            if tex is not None:
                tex.release()
        self._textures = {}


RENDER_DATE_ORIGIN = datetime.datetime(2000, 1, 1, 0, 0, 0)
"""``DATE`` in an offline render: this moment plus the frame's show time (so two renders
of a show give the same frames); live, ``DATE`` is the wall clock."""


def isf_date(offline: bool, show_time_s: float) -> datetime.datetime | None:
    """The ``DATE`` an ISF program gets: ``None`` (the wall clock) live; offline the
    render's fixed origin plus the show time."""
    if not offline:
        return None
    return RENDER_DATE_ORIGIN + datetime.timedelta(seconds=max(0.0, float(show_time_s)))


def load_isf_program(ctx: moderngl.Context, file: Path) -> IsfProgram:
    """Parse and compile an ISF file: ``ShaderError`` for problems of the header (each
    with its key path) and of the GLSL, ``MediaError`` for an unreadable IMPORTED image."""
    from mapping.errors import ValidationError
    from mapping.isf.document import parse_isf

    try:
        doc = parse_isf(file)
    except ValidationError as exc:
        raise ShaderError(
            file,
            [
                ShaderDiagnostic(
                    p.file, p.line, f"{p.key_path}: {p.message}" if p.key_path else p.message
                )
                for p in exc.problems
            ],
        ) from None
    return IsfProgram(ctx, doc)
