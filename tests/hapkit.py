"""HAP test clips made with the ffmpeg CLI, and drawing HAP frames through the GL path.

PyAV's bundled FFmpeg decodes HAP but cannot encode it, so clips are encoded with the
``ffmpeg`` program (Debian's, installed by ``scripts/setup.sh``). FFmpeg's own HAP decoder
(through PyAV) is the independent reference for every picture.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import moderngl
import numpy as np
import pytest

from mapping.gl.compressed import CompressedTexture2D
from mapping.gl.shaders import load_program
from mapping.media.hap import HapFrame
from tests.conftest import IN_CI

# A picture whose colour and alpha vary inside every 4×4 block: testsrc2's bars, text and
# gradients; alpha a diagonal ramp moving with the frame number.
RGBA_SOURCE = (
    "testsrc2=size={w}x{h}:rate={fps},format=rgba,"
    "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='mod(X*8+Y*5+N*40,256)'"
)

# layer.glsl's u_source values for HAP textures.
SOURCE_TEXTURE, SOURCE_YCOCG, SOURCE_YCOCG_ALPHA = 1, 4, 5


def need_ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        if IN_CI:
            pytest.fail("ffmpeg (CLI) is missing: scripts/setup.sh installs it")
        pytest.skip("ffmpeg (CLI) not installed")
    return exe


def encode_hap(
    path: Path,
    fmt: str,
    *,
    size: tuple[int, int] = (64, 32),
    frames: int = 6,
    fps: int = 25,
    compressor: str = "snappy",
    chunks: int = 1,
    faststart: bool = False,
) -> Path:
    """``ffmpeg -c:v hap -format FMT`` of :data:`RGBA_SOURCE` (``fmt``: hap, hap_alpha, hap_q)."""
    source = RGBA_SOURCE.format(w=size[0], h=size[1], fps=fps)
    subprocess.run(
        [need_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source,
         "-frames:v", str(frames), "-c:v", "hap", "-format", fmt,
         "-compressor", compressor, "-chunks", str(chunks),
         *(["-movflags", "+faststart"] if faststart else []), str(path)],
        check=True,
    )  # fmt: skip
    return path


def encode_h264(path: Path, *, size: tuple[int, int] = (64, 32), frames: int = 6, fps: int = 25):
    source = RGBA_SOURCE.format(w=size[0], h=size[1], fps=fps)
    subprocess.run(
        [need_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source,
         "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


def with_picture_size(src: Path, dst: Path, size: tuple[int, int]) -> Path:
    """``src`` (a MOV) relabelled as a ``size`` picture, its blocks left as they are.

    FFmpeg's encoder refuses sizes that are not multiples of 4; other HAP encoders write the
    picture size in the header and pad the texture to whole blocks, which is what this
    produces from a padded encode (the ``stsd`` sample entry and ``tkhd`` sizes rewritten).
    """
    data = bytearray(src.read_bytes())
    for tag in (b"Hap1", b"Hap5", b"HapY"):
        if tag in data:
            entry = data.index(tag) - 4  # the sample entry starts with its size
            data[entry + 32 : entry + 36] = struct.pack(">HH", *size)
            break
    else:
        raise AssertionError(f"{src}: no HAP sample entry")
    tkhd = data.index(b"tkhd") - 4
    end = tkhd + struct.unpack(">I", data[tkhd : tkhd + 4])[0]
    data[end - 8 : end] = struct.pack(">II", size[0] << 16, size[1] << 16)
    dst.write_bytes(bytes(data))
    return dst


class HapDrawer:
    """Draws HAP frames 1:1 into an RGBA framebuffer with ``shaders/layer.glsl``,
    the textures uploaded compressed (:class:`CompressedTexture2D`) and reused."""

    def __init__(self, ctx: moderngl.Context, size_px: tuple[int, int]) -> None:
        self.ctx = ctx
        self.size = size_px
        self.prog = load_program(ctx, "layer")
        self.vbo = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], "f4").tobytes())
        self.vao = ctx.vertex_array(self.prog, [(self.vbo, "2f", "a_unit")])
        self.fbo = ctx.simple_framebuffer(size_px, components=4)
        self.textures: list[CompressedTexture2D] = []

    def draw(self, frame: HapFrame) -> np.ndarray:
        """The frame's premultiplied RGBA picture, uint8, rows top first."""
        if not self.textures:
            self.textures = [
                CompressedTexture2D(self.ctx, t.format, t.size_px) for t in frame.textures
            ]
        for gl_tex, tex in zip(self.textures, frame.textures, strict=True):
            gl_tex.upload(tex)
        fmt = frame.textures[0].format
        if fmt == "ycocg-dxt5":
            source = SOURCE_YCOCG_ALPHA if len(frame.textures) == 2 else SOURCE_YCOCG
        else:
            source = SOURCE_TEXTURE
        prog = self.prog
        prog["u_rect_canvas_px"].value = (0.0, 0.0, *map(float, self.size))
        prog["u_canvas_size_px"].value = self.size
        prog["u_texture"].value = 0
        prog["u_plane_u"].value = 1
        prog["u_opacity"].value = 1.0
        prog["u_blend"].value = 0
        prog["u_color"].value = (1.0, 1.0, 1.0, 1.0)
        prog["u_source"].value = source
        for unit, gl_tex in enumerate(self.textures):
            gl_tex.texture.use(unit)
        self.fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self.fbo.clear(0.0, 0.0, 0.0, 0.0)
        self.vao.render(moderngl.TRIANGLE_STRIP)
        w, h = self.size
        return np.frombuffer(self.fbo.read(components=4), np.uint8).reshape(h, w, 4)

    def release(self) -> None:
        # The framebuffer stays: it is still bound, and moderngl re-binds the bound one
        # after creating the next framebuffer (a deleted name: GL_INVALID_OPERATION).
        for obj in (*self.textures, self.vao, self.vbo, self.prog):
            obj.release()


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """Straight-alpha uint8 RGBA → premultiplied, float64 in 0..255 (no rounding)."""
    rgba = rgba.astype(np.float64)
    return np.concatenate([rgba[..., :3] * rgba[..., 3:] / 255.0, rgba[..., 3:]], axis=-1)
