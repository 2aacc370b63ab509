"""A still image layer: one RGBA texture, uploaded once.

An image larger than the GPU's texture limit (``SourceEnv.max_texture_size``) is scaled
down to fit, with a warning naming the file and both sizes
(:func:`mapping.media.image.fit_texture_limit`). A file that fails to load is shown as the
renderer's placeholder, which opens it again once the file changes (comes back).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mapping.gl.sources.base import SOURCE_RGBA, Binding, ContentSource, SourceEnv
from mapping.media.image import load_image
from mapping.show import Content, Layer


class ImageSource(ContentSource):
    """The image file's pixels (straight alpha), uploaded when the source is made."""

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        self._texture = env.upload(load_image(Path(str(content)), env.max_texture_size))

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        return Binding(SOURCE_RGBA, (self._texture,))

    def release(self) -> None:
        self._texture.release()
