"""A video layer: the frame due at the layer's media time, decoded ahead on a worker thread
and uploaded as the decoder made it.

Decoding runs in a :class:`mapping.media.decode_ahead.DecodeAhead` worker (one per open
clip, a small bounded ring of frames), driven as for every clip by
:class:`mapping.gl.sources.decoded.DecodedSource`: live, the render thread never waits on
the decoder; offline, it waits for exactly the frame due; pre-roll decodes the first frame.

8-bit planar YUV frames are uploaded as their Y, U and V planes and converted in
``layer.glsl`` with the stream's own matrix and range (``VideoClip.colour``,
``media.video.yuv_to_rgb_matrix``); other pixel formats arrive as RGB. A frame is uploaded
only when it changes. A clip larger than the GPU's texture limit is refused with a
``MediaError`` (the layer shows a placeholder saying so), not scaled on the CPU.
"""

from __future__ import annotations

import logging
from pathlib import Path

import moderngl
import numpy as np

from mapping import geometry
from mapping.gl.sources.base import SOURCE_RGBA, SOURCE_YUV, Binding, SourceEnv
from mapping.gl.sources.decoded import DecodedSource
from mapping.media.errors import MediaError
from mapping.media.video import VideoClip, VideoFrame, yuv_to_rgb_matrix
from mapping.show import Content, Layer

log = logging.getLogger(__name__)


def check_texture_size(path: Path, size_px: tuple[int, int], max_texture_size: int) -> None:
    """Raise ``MediaError`` when a picture of ``size_px`` cannot be a texture on this GPU."""
    w, h = size_px
    if w > max_texture_size or h > max_texture_size:
        raise MediaError(
            path,
            f"{w}×{h} is larger than this GPU's texture limit of {max_texture_size} px a side "
            f"(expected a clip at most {max_texture_size}×{max_texture_size}; deliver it "
            "scaled down or split into tiles)",
        )


class VideoSource(DecodedSource):
    """One clip, looked up by media time (looping or held, by the layer's ``loop``)."""

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        path = Path(str(content))
        window = {"in_s": layer.in_s, "out_s": layer.out_s}  # the layer's in and out points
        clip = VideoClip(path, yuv_planes=True, **window)
        try:
            check_texture_size(path, clip.size_px, env.max_texture_size)
            # opening decoded the first frame: keep it to show until the worker delivers
            first_index = clip.index_at(0.0, layer.loop)
            first = clip.frame_at_index(first_index)
        except BaseException:
            clip.close()
            raise
        self.colour = clip.colour
        self._start(
            path, clip, lambda: VideoClip(path, yuv_planes=True, **window), (first_index, first)
        )

    def _upload(self, frame: VideoFrame) -> None:
        if frame.index == self.frame_index and self._binding is not None:
            return
        env = self.env
        if frame.planes is not None:
            planes = frame.planes
            if self._binding is None or self._binding.mode != SOURCE_YUV:
                self._release_textures()
                M, offset = yuv_to_rgb_matrix(planes.matrix, planes.full_range)
                self._binding = Binding(
                    SOURCE_YUV,
                    (_plane_texture(env, planes.y), _plane_texture(env, planes.u),
                     _plane_texture(env, planes.v)),
                    uniforms={
                        "u_yuv_to_rgb": geometry.mat3_to_glsl(M).tobytes(),
                        "u_yuv_offset": offset.astype("f4").tobytes(),
                    },
                )  # fmt: skip
            for texture, plane in zip(
                self._binding.textures, (planes.y, planes.u, planes.v), strict=True
            ):
                texture.write(plane)
        else:
            assert frame.image is not None
            if self._binding is None or self._binding.mode != SOURCE_RGBA:
                self._release_textures()
                h, w = frame.image.shape[:2]
                self._binding = Binding(SOURCE_RGBA, (env.texture((w, h), 3),))
            self._binding.textures[0].write(np.ascontiguousarray(frame.image))
        self.frame_index = frame.index

    def _release_textures(self) -> None:
        if self._binding is not None:
            for texture in self._binding.textures:
                texture.release()
            self._binding = None

    def release(self) -> None:
        super().release()
        self._release_textures()


def _plane_texture(env: SourceEnv, plane: np.ndarray) -> moderngl.Texture:
    h, w = plane.shape
    return env.texture((w, h), 1)
