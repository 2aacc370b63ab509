"""Compressed textures on the GPU: HAP's DXT/BC blocks uploaded as they are.

The GPU decompresses S3TC (DXT1/DXT5), RGTC1 (BC4) and BPTC (BC7) blocks itself when it
samples them, so a HAP frame costs the CPU only its Snappy step (:mod:`mapping.media.hap`)
and a copy of a quarter (DXT1) or half (DXT5) of the RGBA bytes.

moderngl (5.13) cannot upload compressed data: its ``Texture.write`` checks the byte count
against an uncompressed format. :class:`CompressedTexture2D` therefore keeps a moderngl
texture (so the renderer binds and samples it like any other) and specifies its level 0
with ``glCompressedTexImage2D`` / ``glCompressedTexSubImage2D`` on the texture's ``glo``,
through PyOpenGL's raw entry points. PyOpenGL resolves them through the platform's loader
(GLX, EGL, WGL, CGL); with GLVND (Linux, Mesa and NVIDIA alike) the entry points dispatch
to whichever context is current, so the same calls serve the headless EGL context and the
show's windows. Calls run on the thread whose context is current (the render thread).

The texture's size is the picture's; the data covers it rounded up to whole 4×4 blocks,
which GL accepts for compressed formats, so sampling ``uv`` 0..1 shows exactly the picture
and never the padding.
"""

from __future__ import annotations

import ctypes
import logging

import moderngl

# PyOpenGL says at import, at INFO, that its optional C accelerator is absent: not news.
logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)

from OpenGL.error import GLError  # noqa: E402
from OpenGL.raw.GL.VERSION.GL_1_1 import glBindTexture  # noqa: E402
from OpenGL.raw.GL.VERSION.GL_1_3 import (  # noqa: E402
    glActiveTexture,
    glCompressedTexImage2D,
    glCompressedTexSubImage2D,
)

from mapping.media.hap import CompressedTexture, texture_bytes  # noqa: E402

log = logging.getLogger(__name__)

_GL_TEXTURE_2D = 0x0DE1
_GL_TEXTURE0 = 0x84C0

# GL internal formats of the texture formats of mapping.media.hap.
GL_INTERNAL_FORMAT = {
    "dxt1": 0x83F0,  # COMPRESSED_RGB_S3TC_DXT1_EXT (opaque: HAP's DXT1 is RGB)
    "dxt5": 0x83F3,  # COMPRESSED_RGBA_S3TC_DXT5_EXT
    "ycocg-dxt5": 0x83F3,  # same blocks; colour converted in shaders/layer.glsl
    "bc4": 0x8DBB,  # COMPRESSED_RED_RGTC1 (core since GL 3.0)
    "bc7": 0x8E8C,  # COMPRESSED_RGBA_BPTC_UNORM (core since GL 4.2)
}
# Extensions that provide each format (any one suffices); RGTC is core in GL 3.3.
_EXTENSIONS = {
    "dxt1": ("GL_EXT_texture_compression_s3tc", "GL_EXT_texture_compression_dxt1"),
    "dxt5": ("GL_EXT_texture_compression_s3tc",),
    "ycocg-dxt5": ("GL_EXT_texture_compression_s3tc",),
    "bc4": (),
    "bc7": ("GL_ARB_texture_compression_bptc",),
}


class CompressedTextureError(RuntimeError):
    """The GPU cannot hold this compressed format, or an upload does not fit the texture."""


def supports(ctx: moderngl.Context, fmt: str) -> bool:
    """Whether ``ctx`` can sample textures in ``fmt`` (``"dxt1"``, ``"bc7"``, …)."""
    if fmt == "bc4" or (fmt == "bc7" and ctx.version_code >= 420):
        return True  # core formats
    return bool(set(_EXTENSIONS[fmt]) & set(ctx.extensions))


def _pointer(data: bytes | bytearray) -> ctypes.c_void_p | bytes:
    """A pointer to ``data``'s bytes for a GL call, without copying them."""
    if isinstance(data, bytes):
        return data  # ctypes passes a bytes object as a pointer to its buffer
    return ctypes.cast((ctypes.c_char * len(data)).from_buffer(data), ctypes.c_void_p)


class CompressedTexture2D:
    """A GL texture holding one compressed picture, replaced frame after frame.

    Attributes:
        texture: the moderngl texture to bind (``texture.use(unit)``); bilinear, clamped
            to the edge. Only this class writes it: moderngl's ``write`` would reject it.
        format: the texture format (see :data:`GL_INTERNAL_FORMAT`).
        size_px: ``(width, height)`` of the picture.
    """

    def __init__(self, ctx: moderngl.Context, fmt: str, size_px: tuple[int, int]) -> None:
        if fmt not in GL_INTERNAL_FORMAT:
            raise CompressedTextureError(f"unknown compressed texture format {fmt!r}")
        if not supports(ctx, fmt):
            raise CompressedTextureError(
                f"this GPU/driver cannot sample {fmt} textures (needs one of "
                f"{', '.join(_EXTENSIONS[fmt])})"
            )
        limit = ctx.info["GL_MAX_TEXTURE_SIZE"]
        if max(size_px) > limit:
            raise CompressedTextureError(
                f"{size_px[0]}x{size_px[1]} px is larger than this GPU's texture limit {limit}"
            )
        self.ctx = ctx
        self.format = fmt
        self.size_px = (int(size_px[0]), int(size_px[1]))
        self._gl_format = GL_INTERNAL_FORMAT[fmt]
        self._nbytes = texture_bytes(fmt, self.size_px)
        # A moderngl texture without data (nothing uploaded), re-specified as compressed.
        self.texture = ctx.texture(self.size_px, 4)
        self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.texture.repeat_x = self.texture.repeat_y = False
        self._specified = False
        self.upload_count = 0

    @property
    def nbytes(self) -> int:
        """Bytes of compressed data one picture takes."""
        return self._nbytes

    def _bind(self) -> None:
        # The unit moderngl itself uses for writes, so no unit a draw set up is disturbed.
        glActiveTexture(_GL_TEXTURE0 + self.ctx.default_texture_unit)
        glBindTexture(_GL_TEXTURE_2D, self.texture.glo)

    def upload(self, picture: CompressedTexture) -> None:
        """Replace the texture's picture with ``picture``'s blocks (no CPU decompression).

        Raises:
            CompressedTextureError: ``picture`` has another format or size than the texture,
                or the driver refused the upload (its GL error is in the message).
        """
        if picture.format != self.format or picture.size_px != self.size_px:
            raise CompressedTextureError(
                f"cannot upload a {picture.format} {picture.size_px[0]}x{picture.size_px[1]} "
                f"picture into a {self.format} {self.size_px[0]}x{self.size_px[1]} texture"
            )
        if len(picture.data) != self._nbytes:
            raise CompressedTextureError(
                f"{picture.format} data is {len(picture.data)} bytes, expected {self._nbytes}"
            )
        w, h = self.size_px
        try:
            self._bind()
            if not self._specified:
                glCompressedTexImage2D(
                    _GL_TEXTURE_2D, 0, self._gl_format, w, h, 0, self._nbytes,
                    _pointer(picture.data),
                )  # fmt: skip
                self._specified = True
            else:
                glCompressedTexSubImage2D(
                    _GL_TEXTURE_2D, 0, 0, 0, w, h, self._gl_format, self._nbytes,
                    _pointer(picture.data),
                )  # fmt: skip
        except GLError as exc:
            raise CompressedTextureError(
                f"the driver refused a {self.format} {w}x{h} upload: {exc.description!r}"
            ) from exc
        self.upload_count += 1

    def release(self) -> None:
        self.texture.release()
