"""What every clip source shares: frames decoded ahead by a worker, looked up by media time.

:class:`DecodedSource` drives one :class:`~mapping.media.decode_ahead.DecodeAhead` worker
for a clip (``VideoClip``, ``HapClip``: anything with their timing API). Live
(``env.offline`` false) :meth:`~DecodedSource.binding` never waits on the decoder: it shows
the frame due, or the newest earlier one the worker has, and counts a late frame; a seek
keeps the last frame up until the new one is decoded. The one exception is a source's very
first frame when it was not pre-rolled: opening the file already stalled the render thread,
and the frame due is decoded in that same stall, so a layer never appears showing a wrong
frame. Offline (``render``) every frame waits for exactly the frame due. :meth:`prepare`
(pre-roll, before GO) decodes the first frame, so GO shows it in the very next frame.

A subclass opens its clip, makes its textures, hands both to :meth:`_start` and says how a
frame reaches its textures (:meth:`_upload`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mapping.gl.sources.base import Binding, ContentSource
from mapping.media.decode_ahead import DecodeAhead
from mapping.media.errors import MediaError

log = logging.getLogger(__name__)

RING_BYTES = 64 * 1024 * 1024
"""Memory one clip's ring of decoded frames may use; the ring holds 2 to 8 frames."""


def ring_size_for(size_px: tuple[int, int]) -> int:
    """Frames decoded ahead for a clip of this size (YUV 4:2:0 bytes against RING_BYTES)."""
    w, h = size_px
    return max(2, min(8, RING_BYTES // max(1, (w * h * 3) // 2)))


class DecodedSource(ContentSource):
    """A clip decoded ahead; subclasses upload its frames (see the module docstring)."""

    decoder: DecodeAhead
    path: Path
    _binding: Binding | None = None
    _upload_error: str | None = None

    def _start(
        self, path: Path, clip: Any, factory: Callable[[], Any], first: tuple[int, Any]
    ) -> None:
        """Hand the opened ``clip`` (and its first frame, shown until the worker delivers)
        to a worker that reopens the file with ``factory`` after a crash."""
        self.path = path
        self.fps = clip.fps
        self.duration_s = clip.duration_s
        self.frame_index = -1
        self._shown_once = False
        self._drawn_index: int | None = None  # the index due when the texture was filled
        self.decoder = DecodeAhead(
            factory,
            name=str(path),
            clip=clip,  # handed over: from here on only the worker thread touches it
            ring_size=ring_size_for(clip.size_px),
            shown=first,
        )

    @property
    def error(self) -> str | None:
        """What is failing now (an upload, a decoder being restarted), or ``None``."""
        return self._upload_error or self.decoder.error

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

    def _upload(self, frame: Any) -> None:
        """Put ``frame`` on the textures (and set ``frame_index`` and ``_binding``)."""
        raise NotImplementedError

    def release(self) -> None:
        decoder = getattr(self, "decoder", None)
        if decoder is not None:  # the worker closes the clip as it stops: never wait long
            decoder.close(timeout_s=0.1)
