"""A live layer: the newest frame of a camera or capture card, scaled into the layer region.

The device is read by :class:`mapping.media.live_input.LiveInput` on its own thread; each
frame the layer is drawn, :meth:`LiveSource.binding` takes the newest frame without waiting
(uploading it only when it is new: Y, U, V planes for 8-bit planar YUV, converted in
``layer.glsl`` like a clip, else RGB) and records the capture-to-draw latency
(:attr:`LiveInput.latency_s`). While the device is missing or lost the layer shows a
placeholder with the reason, and the input keeps retrying in the background; the picture
comes back by itself when the device does. Layers naming the same device share one input
(:data:`mapping.media.live_input.SHARED`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from mapping import geometry
from mapping.gl.sources.base import SOURCE_RGBA, SOURCE_YUV, Binding, ContentSource, SourceEnv
from mapping.media.live_input import SHARED, LiveState
from mapping.media.placeholder import placeholder_image
from mapping.media.video import VideoFrame, yuv_to_rgb_matrix
from mapping.show import Content, Layer, LiveDevice

OFFLINE_WAIT_S = 2.0
"""Offline (``render``), how long a live layer waits for the device's first frame."""


class LiveSource(ContentSource):
    """One live device (a :class:`~mapping.show.LiveDevice`), never blocking the render thread.

    ``error`` says why the device is missing (shown by the renderer's ``errors``), or is
    ``None`` while it is live.
    """

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        if not isinstance(content, LiveDevice):
            raise TypeError(f"a live layer shows a LiveDevice, got {content!r}")
        self.input = SHARED.acquire(content.path, content.format, dict(content.options))
        self.frame_index = -1
        self._frame_binding: Binding | None = None
        self._frame_layout: tuple[object, ...] | None = None
        self._placeholder: Binding | None = None
        self._placeholder_reason: str | None = None
        self._shown: str | None = None  # "frame", or the reason on the placeholder drawn

    @property
    def error(self) -> str | None:
        state = self.input.state
        if state is LiveState.MISSING:
            return f"live input {self.input.device}: {self.input.reason}"
        return None

    def prepare(self) -> None:
        """Pre-roll: the device was opened when the source was made (before GO); live,
        nothing more is waited for (pre-roll runs on the render thread), offline the first
        frame is."""
        if self.env.offline:
            self.input.wait_frame(timeout_s=OFFLINE_WAIT_S, while_missing=False)

    def animating(self, media_time_s: float) -> bool:
        """A new frame has arrived, or the device came or went, since the last draw."""
        index = self.input.newest_index()
        if index < 0:
            return self._shown != self._missing_reason()
        return self._shown != "frame" or index != self.frame_index

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        if self.env.offline and self.frame_index < 0 and self.input.state is LiveState.CONNECTING:
            # render: the picture, not a wait
            self.input.wait_frame(timeout_s=OFFLINE_WAIT_S, while_missing=False)
        live = self.input.latest()
        if live is None:
            return self._placeholder_binding()
        if live.frame.index != self.frame_index:
            self._upload(live.frame)
            self.frame_index = live.frame.index
            self.input.note_shown(live)
        self._shown = "frame"
        return self._frame_binding

    # ------------------------------------------------------------------ frames

    def _upload(self, frame: VideoFrame) -> None:
        env = self.env
        planes = frame.planes
        if planes is not None:
            layout: tuple[object, ...] = (
                "yuv", planes.y.shape, planes.u.shape, planes.matrix, planes.full_range
            )  # fmt: skip
        else:
            assert frame.image is not None
            layout = ("rgb", frame.image.shape)
        if layout != self._frame_layout:  # first frame, or the device came back different
            self._release_frame()
            if planes is not None:
                M, offset = yuv_to_rgb_matrix(planes.matrix, planes.full_range)
                textures = tuple(
                    env.texture((p.shape[1], p.shape[0]), 1) for p in (planes.y, planes.u, planes.v)
                )
                self._frame_binding = Binding(
                    SOURCE_YUV,
                    textures,
                    uniforms={
                        "u_yuv_to_rgb": geometry.mat3_to_glsl(M).tobytes(),
                        "u_yuv_offset": offset.astype("f4").tobytes(),
                    },
                )
            else:
                assert frame.image is not None
                h, w = frame.image.shape[:2]
                self._frame_binding = Binding(SOURCE_RGBA, (env.texture((w, h), 3),))
            self._frame_layout = layout
        assert self._frame_binding is not None
        if planes is not None:
            for texture, plane in zip(
                self._frame_binding.textures, (planes.y, planes.u, planes.v), strict=True
            ):
                texture.write(plane)
        else:
            self._frame_binding.textures[0].write(np.ascontiguousarray(frame.image))

    def _missing_reason(self) -> str:
        if self.input.state is LiveState.MISSING:
            return self.input.reason or "device missing"
        return "waiting for the device"

    def _placeholder_binding(self) -> Binding:
        reason = self._missing_reason()
        self._shown = reason
        if reason != self._placeholder_reason:
            if self._placeholder is not None:
                self._placeholder.textures[0].release()
            short = re.sub(r"^\[Errno \d+\] ", "", reason)  # the words, for the picture
            image = placeholder_image(f"live '{self.layer.name}' {self.input.device}", short)
            self._placeholder = Binding(SOURCE_RGBA, (self.env.upload(image),))
            self._placeholder_reason = reason
        assert self._placeholder is not None
        return self._placeholder

    def _release_frame(self) -> None:
        if self._frame_binding is not None:
            for texture in self._frame_binding.textures:
                texture.release()
        self._frame_binding = None
        self._frame_layout = None

    def release(self) -> None:
        SHARED.release(self.input)  # closed with its last user, never waiting here
        self._release_frame()
        if self._placeholder is not None:
            self._placeholder.textures[0].release()
            self._placeholder = None
