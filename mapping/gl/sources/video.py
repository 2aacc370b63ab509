"""A video layer: the frame due at the layer's media time, decoded ahead on a worker thread
and uploaded as the decoder made it.

Decoding runs in a :class:`mapping.media.decode_ahead.DecodeAhead` worker (one per open
clip, a small bounded ring of frames). Live (``env.offline`` false) :meth:`binding` never
waits on the decoder: it shows the frame due, or the newest earlier one the worker has, and
counts a late frame; a seek keeps the last frame up until the new one is decoded. The one
exception is a source's very first frame when it was not pre-rolled: opening the file
already stalls the render thread, and the frame due is decoded in that same stall, so a
layer never appears showing a wrong frame. Offline (``render``) every frame waits for
exactly the frame due. :meth:`prepare` (pre-roll, before GO) decodes the first frame, so
GO shows it in the very next rendered frame.

8-bit planar YUV frames are uploaded as their Y, U and V planes and converted in
``layer.glsl`` with the stream's own matrix and range (``VideoClip.colour``,
``media.video.yuv_to_rgb_matrix``); other pixel formats arrive as RGB. A frame is uploaded
only when it changes. A clip larger than the GPU's texture limit is refused with a
``MediaError`` (the layer shows a placeholder saying so), not scaled on the CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import moderngl
import numpy as np

from mapping import geometry
from mapping.gl.sources.base import SOURCE_RGBA, SOURCE_YUV, Binding, ContentSource, SourceEnv
from mapping.media.decode_ahead import DecodeAhead
from mapping.media.errors import MediaError
from mapping.media.video import VideoClip, VideoFrame, yuv_to_rgb_matrix
from mapping.show import Content, Layer

log = logging.getLogger(__name__)

RING_BYTES = 64 * 1024 * 1024
"""Memory one clip's ring of decoded frames may use; the ring holds 2 to 8 frames."""


def ring_size_for(size_px: tuple[int, int]) -> int:
    """Frames decoded ahead for a clip of this size (YUV 4:2:0 bytes against RING_BYTES)."""
    w, h = size_px
    return max(2, min(8, RING_BYTES // max(1, (w * h * 3) // 2)))


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


class VideoSource(ContentSource):
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
        self.path = path
        self.colour = clip.colour
        self.fps = clip.fps
        self.duration_s = clip.duration_s
        self.frame_index = -1
        self._binding: Binding | None = None
        self._shown_once = False
        self._drawn_index: int | None = None  # the index due when the texture was filled
        self.decoder = DecodeAhead(
            lambda: VideoClip(path, yuv_planes=True, **window),
            name=str(path),
            clip=clip,  # handed over: from here on only the worker thread touches it
            ring_size=ring_size_for(clip.size_px),
            shown=(first_index, first),
        )

    @property
    def error(self) -> str | None:
        """What is failing now (a decoder being restarted), or ``None``."""
        return self.decoder.error

    @property
    def corrupt_frames(self) -> int:
        return self.decoder.corrupt_frames

    def prepare(self) -> None:
        frame = self.decoder.prepare(0.0, self.layer.loop)
        self._shown_once = True
        if frame is not None:
            self._upload(frame)
            self._drawn_index = self.decoder.shown_index

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        wait = self.env.offline or not self._shown_once
        try:
            frame = self.decoder.frame_for(media_time_s, self.layer.loop, wait=wait)
        except MediaError as exc:  # offline: the frame never came; hold the last one
            log.error("layer '%s': %s — holding the last good frame", self.layer.name, exc)
            frame = None
        self._shown_once = True
        self.late_frames = self.decoder.late_frames
        if frame is not None:
            self._upload(frame)
            self._drawn_index = self.decoder.shown_index
        return self._binding

    def animating(self, media_time_s: float) -> bool:
        """Whether the frame due at ``media_time_s`` is not the one on the texture (a 30 fps
        clip on a 60 Hz output changes every other refresh; a held last frame never; a live
        source still catching up after a seek, yes)."""
        due = self.decoder.due_index(media_time_s, self.layer.loop)
        return due is None or due != self._drawn_index

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
        # the worker closes the clip itself as it stops: never wait long on the render thread
        self.decoder.close(timeout_s=0.1)
        self._release_textures()


def _plane_texture(env: SourceEnv, plane: np.ndarray) -> moderngl.Texture:
    h, w = plane.shape
    return env.texture((w, h), 1)
