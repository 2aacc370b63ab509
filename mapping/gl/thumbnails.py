"""Small pictures of the rendered outputs for the web panel, shrunk on the GPU.

:class:`Thumbnailer` owns, per output, a small framebuffer (``width`` pixels wide, the
output's aspect ratio) and a pixel-pack buffer. :meth:`Thumbnailer.capture` draws the real
output texture into the small framebuffer with ``shaders/thumbnail.glsl`` (exact area
averaging with ``texelFetch``, as OpenCV's ``INTER_AREA``: no mipmaps built on, and no
filter state changed in, the output texture) and starts
the read-back of the *small* image into the buffer; :meth:`Thumbnailer.collect`, called a
frame later, maps it as an ``(h, w, 3)`` uint8 RGB array (row 0 at the top). A full-size
output is never read back. Render thread only.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from mapping.gl.shaders import load_program

THUMB_WIDTH = 192
_UNIT_QUAD = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4")


@dataclass
class _Target:
    size: tuple[int, int]  # thumbnail (w, h)
    source_size: tuple[int, int]
    texture: moderngl.Texture
    fbo: moderngl.Framebuffer
    pack: moderngl.Buffer
    pending: bool = False

    def release(self) -> None:
        self.fbo.release()
        self.texture.release()
        self.pack.release()


def thumbnail_size(source_size: tuple[int, int], width: int = THUMB_WIDTH) -> tuple[int, int]:
    """(w, h) of the thumbnail of a ``source_size`` output: ``width`` wide (never wider than
    the source), the same aspect ratio, at least 1 pixel high."""
    sw, sh = source_size
    w = max(1, min(width, sw))
    return w, max(1, round(sh * w / sw))


class Thumbnailer:
    """Per-output thumbnails drawn from output textures (see the module docstring)."""

    def __init__(self, ctx: moderngl.Context, width: int = THUMB_WIDTH) -> None:
        self.ctx = ctx
        self.width = width
        self._prog = load_program(ctx, "thumbnail")
        self._vbo = ctx.buffer(_UNIT_QUAD.tobytes())
        self._vao = ctx.vertex_array(self._prog, [(self._vbo, "2f", "a_unit")])
        self._targets: dict[str, _Target] = {}
        self._default_fbo = ctx.detect_framebuffer(0)

    def _target(self, name: str, source_size: tuple[int, int]) -> _Target:
        target = self._targets.get(name)
        if target is not None and target.source_size == source_size:
            return target
        if target is not None:
            target.release()
        size = thumbnail_size(source_size, self.width)
        texture = self.ctx.texture(size, 4)
        fbo = self.ctx.framebuffer(color_attachments=[texture])
        pack = self.ctx.buffer(reserve=size[0] * size[1] * 3)
        target = _Target(size, source_size, texture, fbo, pack)
        self._targets[name] = target
        return target

    def capture(self, name: str, source: moderngl.Texture) -> None:
        """Shrink ``source`` into output ``name``'s thumbnail and start reading it back."""
        target = self._target(name, source.size)
        tw, th = target.size
        sw, sh = source.size
        target.fbo.use()
        target.fbo.viewport = (0, 0, tw, th)
        self._prog["u_texture"] = 0
        self._prog["u_scale"] = (sw / tw, sh / th)
        source.use(0)
        self.ctx.disable(moderngl.BLEND)  # the thumbnail is the output's pixels, unblended
        self._vao.render(moderngl.TRIANGLE_STRIP)
        self.ctx.enable(moderngl.BLEND)  # as the renderer leaves it (its canvas pass sets it)
        target.fbo.read_into(target.pack, components=3, alignment=1)
        # framebuffer 0 bound again: moderngl re-binds the current framebuffer when it makes
        # another, which must not be one of ours once released
        self._default_fbo.use()
        target.pending = True

    def collect(self, name: str) -> np.ndarray | None:
        """The thumbnail last captured for ``name`` as (h, w, 3) uint8 RGB, or None."""
        target = self._targets.get(name)
        if target is None or not target.pending:
            return None
        target.pending = False
        w, h = target.size
        return np.frombuffer(target.pack.read(), np.uint8).reshape(h, w, 3)

    def pending(self) -> list[str]:
        return [n for n, t in self._targets.items() if t.pending]

    def forget(self, keep: set[str]) -> None:
        """Release the thumbnails of outputs not in ``keep`` (the show changed)."""
        for name in [n for n in self._targets if n not in keep]:
            self._targets.pop(name).release()

    def release(self) -> None:
        for target in self._targets.values():
            target.release()
        self._targets.clear()
        self._vao.release()
        self._vbo.release()
        self._prog.release()
