"""The GPU side of a layer that only sounds (``kind = "audio"``): it draws nothing.

Its sound is the soundtrack's business (:mod:`mapping.sound`, positioned by show time like
every picture); the renderer still gets a source for it, as for every layer, so the
composite needs no special case. Opening the file here is left to the mixer: a broken
sound file is a warning from the soundtrack, never a placeholder drawn on the facade.
"""

from __future__ import annotations

from collections.abc import Mapping

from mapping.gl.sources.base import Binding, ContentSource


class SilentSource(ContentSource):
    """Nothing to draw, ever."""

    def binding(self, media_time_s: float, params: Mapping[str, float]) -> Binding | None:
        return None
