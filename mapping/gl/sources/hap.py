"""A HAP video layer: compressed texture blocks uploaded as they are, decompressed by the GPU.

:class:`HapSource` plays a :class:`~mapping.media.hap.HapClip`: per new frame the CPU only
reads the packet and undoes its Snappy step; the DXT1 / DXT5 / BC4 blocks go to
:class:`~mapping.gl.compressed.CompressedTexture2D` (``glCompressedTexSubImage2D``) and
``layer.glsl`` samples them (Hap, Hap Alpha: ``SOURCE_RGBA``; Hap Q: ``SOURCE_YCOCG``;
Hap Q Alpha: ``SOURCE_YCOCG_ALPHA``). No pixel is decoded on the CPU.

:class:`VideoKindSource` is the ``video`` kind's entry in :data:`mapping.kinds.LAYER_KINDS`:
it makes a ``HapSource`` for a HAP file and a
:class:`~mapping.gl.sources.video.VideoSource` for anything else, so an artist's HAP
delivery needs no other layer kind.

Frames are read and de-Snappied ahead by a :class:`~mapping.media.decode_ahead.DecodeAhead`
worker (``HapClip`` has ``VideoClip``'s timing API), exactly as for other codecs: live, the
render thread never waits; offline it waits for the exact frame. Only the upload of the
blocks happens on the render thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mapping.gl.compressed import CompressedTexture2D, CompressedTextureError, supports
from mapping.gl.sources.base import (
    SOURCE_RGBA,
    SOURCE_YCOCG,
    SOURCE_YCOCG_ALPHA,
    Binding,
    ContentSource,
    SourceEnv,
)
from mapping.gl.sources.decoded import DecodedSource
from mapping.gl.sources.video import VideoSource
from mapping.media.errors import MediaError
from mapping.media.hap import HapClip, HapFrame, is_hap_file
from mapping.show import Content, Layer

log = logging.getLogger(__name__)

# layer.glsl's mode for each set of texture formats a HAP clip can have.
_MODES = {
    ("dxt1",): SOURCE_RGBA,
    ("dxt5",): SOURCE_RGBA,
    ("bc7",): SOURCE_RGBA,
    ("ycocg-dxt5",): SOURCE_YCOCG,
    ("ycocg-dxt5", "bc4"): SOURCE_YCOCG_ALPHA,
}


class HapSource(DecodedSource):
    """One HAP clip, looked up by media time (looping or held, by the layer's ``loop``).

    Raises:
        NotHapError: the file's video stream is not HAP.
        MediaError: the file cannot be opened, its flavour cannot be drawn (Hap
            Alpha-Only), it is larger than the GPU's texture limit, or the GPU cannot
            sample its texture format.
    """

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        path = Path(str(content))
        window = {"in_s": layer.in_s, "out_s": layer.out_s}  # the layer's in and out points
        clip = HapClip(path, **window)
        self.clip_info = clip
        self.upload_count = 0
        self._textures: list[CompressedTexture2D] = []
        try:
            self._open_textures()
            # opening read the first frame: keep it to show until the worker delivers
            first_index = clip.index_at(0.0, layer.loop)
            first = clip.frame_at_index(first_index)
        except BaseException:
            clip.close()
            self.release()
            raise
        # The worker reads packets and undoes Snappy ahead of time; only the upload of the
        # compressed blocks happens on the render thread.
        self._start(path, clip, lambda: HapClip(path, **window), (first_index, first))

    def _open_textures(self) -> None:
        clip, ctx = self.clip_info, self.env.ctx
        formats = clip.texture_formats
        mode = _MODES.get(formats)
        if mode is None:
            raise MediaError(clip.path, f"{clip.flavour} cannot be shown as a layer")
        w, h = clip.size_px
        if max(w, h) > self.env.max_texture_size:
            raise MediaError(
                clip.path,
                f"{w}x{h} px is larger than this GPU's texture limit "
                f"({self.env.max_texture_size} px): encode it smaller",
            )
        for fmt in formats:
            if not supports(ctx, fmt):
                raise MediaError(
                    clip.path,
                    f"this GPU cannot sample {fmt} textures, needed for {clip.flavour}",
                )
            try:
                self._textures.append(CompressedTexture2D(ctx, fmt, clip.size_px))
            except CompressedTextureError as exc:
                raise MediaError(clip.path, str(exc)) from exc
        self._mode = mode

    def _upload(self, frame: HapFrame) -> None:
        if frame.index == self.frame_index and self._binding is not None:
            return
        try:
            for texture, picture in zip(self._textures, frame.textures, strict=True):
                texture.upload(picture)
        except CompressedTextureError as exc:
            message = f"{self.path}: frame {frame.index}: {exc}"
            if self._upload_error != message:
                log.error("layer '%s': %s — holding the last good frame", self.layer.name, message)
            self._upload_error = message
            return
        self._upload_error = None
        self.upload_count += 1
        self.frame_index = frame.index
        if self._binding is None:
            self._binding = Binding(self._mode, tuple(t.texture for t in self._textures))

    def release(self) -> None:
        super().release()
        for texture in self._textures:
            texture.release()
        self._textures = []
        self._binding = None


class VideoKindSource(ContentSource):
    """The ``video`` kind's source: a :class:`HapSource` for HAP files (the GPU
    decompresses), a :class:`~mapping.gl.sources.video.VideoSource` for any other codec.

    Calling it returns one of those two (``__new__`` picks), never an instance of this
    class. Picking opens the file's header once more (a few milliseconds, at open only);
    a file that does not open at all goes to ``VideoSource``, whose error names it.
    """

    def __new__(cls, env: SourceEnv, layer: Layer, content: Content) -> ContentSource:  # type: ignore[misc]
        if is_hap_file(Path(str(content))):
            return HapSource(env, layer, content)
        return VideoSource(env, layer, content)
