"""A generator layer: a fragment shader rendered at the layer region's size each frame.

Shadertoy-style uniforms (``iTime`` = the layer's media time, ``iResolution``, ``iFrame``)
and the layer's parameters are set before each draw: each parameter goes to the uniform of
the same name as its type (:func:`uniform_value`): a float, an int (``long``), a bool, a
``vec4`` colour (a ``vec3`` uniform gets its RGB), a ``vec2`` point.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import moderngl

from mapping.gl.shaders import load_generator
from mapping.gl.sources.base import SOURCE_RGBA, Binding, ContentSource, SourceEnv, region_size
from mapping.params import ParamValue
from mapping.show import Content, Layer

log = logging.getLogger(__name__)


def uniform_value(uniform: moderngl.Uniform, value: ParamValue) -> object | None:
    """``value`` as the uniform takes it, or ``None`` when the uniform cannot hold it.

    Tuples are cut to the uniform's size (a colour's RGB for a ``vec3``), bools and ints
    go to ``bool``/``int`` uniforms as ints, numbers to ``float`` uniforms as floats.
    """
    dimension = uniform.dimension
    if isinstance(value, str) or getattr(uniform, "array_length", 1) != 1:
        return None  # images are bound by the ISF host; arrays are not parameters
    if isinstance(value, tuple):
        if dimension > len(value) or dimension < 2:
            return None
        return tuple(float(v) for v in value[:dimension])
    if dimension != 1:
        return None
    if isinstance(value, bool):
        return int(value) if uniform.fmt.endswith(("i", "I", "?")) else float(value)
    if uniform.fmt.endswith(("i", "I")):
        return int(value)
    return float(value)


class GeneratorSource(ContentSource):
    """The shader's picture, drawn into a texture of the layer region's size."""

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        ctx = env.ctx
        self.program = load_generator(ctx, Path(str(content)))
        self._texture = env.texture(region_size(layer, env.canvas_size_px), 4)
        self._fbo = ctx.framebuffer([self._texture])
        self._vao = ctx.vertex_array(self.program, [(env.quad_vbo, "2f", "a_unit")])
        if "u_flip_y" in self.program:
            self.program["u_flip_y"].value = False
        self._binding = Binding(SOURCE_RGBA, (self._texture,))
        self._uses_time = "iTime" in self.program or "iFrame" in self.program
        self._drawn_params: dict[str, ParamValue] | None = None
        self._refused: set[str] = set()

    def animating(self, media_time_s: float) -> bool:
        """A shader that reads ``iTime`` or ``iFrame`` changes every frame."""
        return self._uses_time

    def binding(self, media_time_s: float, params: Mapping[str, ParamValue]) -> Binding | None:
        if not self._uses_time and self._drawn_params == params:
            return self._binding  # a still picture: drawn once per parameter set
        self._drawn_params = dict(params)
        prog = self.program
        for name, value in params.items():  # the layer's parameters, typed
            uniform = prog.get(name, None)
            if not isinstance(uniform, moderngl.Uniform):
                continue
            typed = uniform_value(uniform, value)
            if typed is None:
                if name not in self._refused:  # once per source: the show goes on
                    self._refused.add(name)
                    log.warning("%s: uniform '%s' cannot take %r", self.content, name, value)
                continue
            uniform.value = typed
        w, h = self._fbo.size
        if "iTime" in prog:
            prog["iTime"].value = media_time_s
        if "iResolution" in prog:
            prog["iResolution"].value = (float(w), float(h), 1.0)
        if "iFrame" in prog:
            prog["iFrame"].value = math.floor(media_time_s * 60.0)
        ctx = self.env.ctx
        ctx.disable(moderngl.BLEND)
        self._fbo.use()
        self._vao.render(moderngl.TRIANGLE_STRIP)
        ctx.enable(moderngl.BLEND)
        return self._binding

    def release(self) -> None:
        for obj in (self._vao, self._fbo, self._texture, self.program):
            obj.release()
