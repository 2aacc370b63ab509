"""A generator layer: a fragment shader rendered at the layer region's size each frame.

Shadertoy-style uniforms (``iTime`` = the layer's media time, ``iResolution``, ``iFrame``)
and the layer's parameters (float uniforms of the same name) are set before each draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import moderngl

from mapping.gl.shaders import load_generator
from mapping.gl.sources.base import SOURCE_RGBA, Binding, ContentSource, SourceEnv, region_size
from mapping.show import Content, Layer


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
        self._drawn_params: dict[str, float] | None = None

    def animating(self, media_time_s: float) -> bool:
        """A shader that reads ``iTime`` or ``iFrame`` changes every frame."""
        return self._uses_time

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        if not self._uses_time and self._drawn_params == params:
            return self._binding  # a still picture: drawn once per parameter set
        self._drawn_params = dict(params)
        prog = self.program
        for name, value in params.items():  # the layer's parameters, as float uniforms
            if name in prog:
                prog[name].value = value
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
