"""A solid colour layer: no texture, the colour itself."""

from __future__ import annotations

from collections.abc import Mapping

from mapping.gl.sources.base import SOURCE_COLOUR, Binding, ContentSource


class SolidSource(ContentSource):
    """The layer's RGBA colour (its content), drawn over the whole region."""

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        return Binding(SOURCE_COLOUR, color=self.content)  # type: ignore[arg-type]
