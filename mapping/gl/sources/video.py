"""A video layer: the frame due at the layer's media time, uploaded as the decoder made it.

8-bit planar YUV frames are uploaded as their Y, U and V planes and converted in
``layer.glsl`` with the stream's own matrix and range (``media.video.yuv_to_rgb_matrix``);
other pixel formats arrive as RGB. A frame is uploaded only when it changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import moderngl
import numpy as np

from mapping import geometry
from mapping.gl.sources.base import SOURCE_RGBA, SOURCE_YUV, Binding, ContentSource, SourceEnv
from mapping.media.errors import MediaError
from mapping.media.video import VideoClip, yuv_to_rgb_matrix
from mapping.show import Content, Layer

log = logging.getLogger(__name__)


class VideoSource(ContentSource):
    """One clip, looked up by media time (looping or held, by the layer's ``loop``)."""

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        self.clip = VideoClip(Path(str(content)), yuv_planes=True)
        self.frame_index = -1
        self.error: str | None = None
        self._binding: Binding | None = None

    def prepare(self) -> None:
        self._update(0.0)

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        self._update(media_time_s)
        return self._binding

    def animating(self, media_time_s: float) -> bool:
        """Whether the frame due at ``media_time_s`` is not the one on the texture (a 30 fps
        clip on a 60 Hz output changes every other refresh; a held last frame never)."""
        return self.clip.index_at(media_time_s, self.layer.loop) != self.frame_index

    def _update(self, media_time_s: float) -> None:
        try:
            frame = self.clip.frame_at(media_time_s, loop=self.layer.loop)
        except MediaError as exc:
            if self.error != str(exc):
                log.error("layer '%s': %s — holding the last good frame", self.layer.name, exc)
            self.error = str(exc)
            return
        self.error = None
        if frame.index == self.frame_index:
            return
        env = self.env
        if frame.planes is not None:
            planes = frame.planes
            if self._binding is None:
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
            if self._binding is None:
                h, w = frame.image.shape[:2]
                self._binding = Binding(SOURCE_RGBA, (env.texture((w, h), 3),))
            self._binding.textures[0].write(np.ascontiguousarray(frame.image))
        self.frame_index = frame.index

    def release(self) -> None:
        self.clip.close()
        if self._binding is not None:
            for texture in self._binding.textures:
                texture.release()


def _plane_texture(env: SourceEnv, plane: np.ndarray) -> moderngl.Texture:
    h, w = plane.shape
    return env.texture((w, h), 1)
