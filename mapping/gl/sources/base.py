"""The small interface every kind of layer content implements on the GPU.

A :class:`ContentSource` owns the GPU side of one layer's content (a texture, a decoder
feeding one, a generator program…). The renderer asks it, once per frame the layer is
drawn, for a :class:`Binding`: which textures ``shaders/layer.glsl`` samples and how
(``mode``). The renderer keeps the canvas composite and the per-output passes; it never
looks inside a source. Which class serves which layer kind is written once, in
:data:`mapping.kinds.LAYER_KINDS`.

Life of a source: made (opens its file; raises ``MediaError`` / ``ShaderError`` when the
content cannot be shown, and the renderer shows a :class:`PlaceholderSource` instead),
:meth:`~ContentSource.prepare` before GO (pre-roll: may block), :meth:`~ContentSource.binding`
every frame (must not block a live show), :meth:`~ContentSource.release` when no cue needs
the content any more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import moderngl
import numpy as np

from mapping.kinds import ContentId
from mapping.media.placeholder import placeholder_image
from mapping.show import Content, Layer

# How layer.glsl reads a binding's textures (its u_source).
SOURCE_COLOUR = 0  # no texture: the binding's colour
SOURCE_RGBA = 1  # unit 0: straight-alpha RGBA (or RGB)
SOURCE_YUV = 2  # units 0, 1, 2: Y, U, V planes; uniforms u_yuv_to_rgb, u_yuv_offset
SOURCE_PREMULTIPLIED = 3  # unit 0: premultiplied RGBA (a crossfade mixed by the renderer)
SOURCE_YCOCG = 4  # unit 0: HAP's scaled YCoCg DXT5 (Hap Q), converted in the shader
SOURCE_YCOCG_ALPHA = 5  # units 0, 1: scaled YCoCg + BC4 alpha in red (Hap Q Alpha)

PLACEHOLDER_RETRY_S = 1.0
"""How often a placeholder looks again at its file (a file that comes back is picked up)."""


@dataclass
class Binding:
    """What layer.glsl samples for one layer this frame."""

    mode: int
    textures: tuple[moderngl.Texture, ...] = ()
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    uniforms: dict[str, bytes] = field(default_factory=dict)


@dataclass
class SourceEnv:
    """What the renderer lends its sources.

    ``offline`` is true for ``render``: sources wait for the exact frame due (frame-exact
    output). Live it is false: a source never waits; it shows the newest frame it has at
    or before the one due and counts a late frame.
    """

    ctx: moderngl.Context
    quad_vbo: moderngl.Buffer
    offline: bool = False
    max_texture_size: int = 16384
    canvas_size_px: tuple[int, int] | None = None  # the show's canvas (the renderer keeps it)
    soundtrack: Callable[[int], np.ndarray | None] | None = None
    """The last ``n`` samples of the show's soundtrack before the frame being drawn,
    float32 ``(n, channels)`` (:class:`mapping.sound.SoundTap`; ``None``: no sound)."""
    sound_rate: int = 48000
    show_root: Path | None = None
    """The show's folder (the renderer sets it with the show): ISF image parameters name
    files in it."""
    show_time_s: float = 0.0
    """The show time of the frame being drawn (the renderer sets it each frame): an
    offline render's ISF ``DATE`` is derived from it."""

    def upload(self, image: np.ndarray) -> moderngl.Texture:
        """A content texture (bilinear, clamped) holding ``image`` (H, W, C uint8)."""
        h, w, c = image.shape
        tex = self.ctx.texture((w, h), c, np.ascontiguousarray(image).tobytes())
        content_sampling(tex)
        return tex

    def texture(self, size: tuple[int, int], components: int) -> moderngl.Texture:
        tex = self.ctx.texture(size, components)
        content_sampling(tex)
        return tex


class ContentSource:
    """Base class of the GPU content of one layer (see module docstring)."""

    #: True for the placeholder shown when the content could not be opened.
    failed = False

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        self.env = env
        self.layer = layer  # the renderer updates it when the show is reloaded
        self.content = content
        self.late_frames = 0

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        """What to draw at this media time (``None``: nothing this frame)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Pre-roll: have the first frame ready before GO (may block)."""

    def animating(self, media_time_s: float) -> bool:
        """Whether the picture can differ from the last one drawn without any change of
        the frame state (a playing clip, a generator using time, a live input). Frames
        whose state is unchanged and whose sources are all still are not drawn at all
        (``ShowPlayer``: nothing is spent on a picture that does not change)."""
        return False

    def release(self) -> None:
        """Free the GPU objects and decoders this source made."""


class PlaceholderSource(ContentSource):
    """Shown when content cannot be opened: the layer's name and the reason, drawn.

    It keeps the identity of the file that failed; the renderer asks :meth:`retry_due`
    and opens the content again once the file has changed (a file that comes back, or is
    replaced by a good one) and then stayed the same (size, modification time) for one
    look, :data:`PLACEHOLDER_RETRY_S` apart: a file still being copied is not opened half
    written. (A running show's folder watcher is quicker: ``mapping.reload``.)
    """

    failed = True

    def __init__(
        self, env: SourceEnv, layer: Layer, content: Content, reason: str, file_id: ContentId | None
    ) -> None:
        super().__init__(env, layer, content)
        self.reason = reason
        self.file_id = file_id
        self._next_check = time.monotonic() + PLACEHOLDER_RETRY_S
        self.stale = False  # the file changed since it failed: open it again
        self._seen = file_id  # what the last look found
        image = placeholder_image(f"layer '{layer.name}'", reason.splitlines()[0][-40:])
        self._texture = env.upload(image)

    def retry_due(self) -> bool:
        """Whether the file has changed since it failed and has stopped changing (looked at
        at most once a second)."""
        if self.stale or self.file_id is None:
            return self.stale
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + PLACEHOLDER_RETRY_S
            seen = ContentId.of(self.file_id.path)
            self.stale = seen != self.file_id and seen == self._seen
            self._seen = seen
        return self.stale

    def animating(self, media_time_s: float) -> bool:
        return self.retry_due()  # a changed file must be drawn: open it again

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        return Binding(SOURCE_RGBA, (self._texture,))

    def release(self) -> None:
        self._texture.release()


def content_sampling(texture: moderngl.Texture) -> None:
    """Bilinear, clamped to the edge: a layer's border never blends with its opposite side."""
    texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
    texture.repeat_x = texture.repeat_y = False


def region_size(layer: Layer, limit_px: tuple[int, int] | None = None) -> tuple[int, int]:
    """The layer region's size in whole canvas pixels (at least 1×1), each side at most
    ``limit_px``'s (the canvas: a region larger than the canvas is never seen whole, so a
    generator is not drawn at more pixels than the canvas has)."""
    _, _, w, h = layer.region_canvas_px
    w_px, h_px = max(1, round(w)), max(1, round(h))
    if limit_px is not None:
        w_px, h_px = min(w_px, max(1, limit_px[0])), min(h_px, max(1, limit_px[1]))
    return w_px, h_px
