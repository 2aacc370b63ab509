"""Cue state: what every layer shows at a given show time (pure, no GL).

:class:`CueEngine` holds the cue-list state — which cue fired when, with which fade — and
:meth:`CueEngine.tick` turns a show time into a :class:`FrameState`: for each layer its
content, its opacity (fades interpolated linearly in show time) and the media time its
video or shader should show. A frame is a function of this state and the show clock, so an
offline render at frame *n* and a live show at the same show time draw the same picture.

Cues *track*, as on a lighting desk: a cue changes only the layers it names; the others keep
what the previous cues set. Jumping to a cue (``--cue``) therefore applies every cue up to
and including it. The full operator cue engine (GO/back, follow-ons, OSC) builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass

from mapping.show import Content, Layer, Show


@dataclass(frozen=True)
class LayerFrame:
    """One layer as it must be drawn in one frame."""

    layer: Layer
    content: Content
    opacity: float
    media_time_s: float


@dataclass(frozen=True)
class FrameState:
    """Everything the renderer needs to draw one frame, besides the show itself."""

    show_time_s: float
    layers: tuple[LayerFrame, ...]
    cue: str | None = None
    master: float = 1.0


@dataclass
class _LayerTrack:
    content: Content
    content_since_s: float
    opacity_from: float
    opacity_to: float
    fade_start_s: float
    fade_s: float

    def opacity_at(self, t: float) -> float:
        if self.fade_s <= 0.0 or t >= self.fade_start_s + self.fade_s:
            return self.opacity_to
        if t <= self.fade_start_s:
            return self.opacity_from
        a = (t - self.fade_start_s) / self.fade_s
        return self.opacity_from + (self.opacity_to - self.opacity_from) * a


class CueEngine:
    """Cue-list state of one show; call :meth:`go` to fire cues, :meth:`tick` each frame."""

    def __init__(self, show: Show):
        self.show = show
        self.current: int | None = None
        self._tracks = {
            layer.name: _LayerTrack(layer.content, 0.0, layer.opacity, layer.opacity, 0.0, 0.0)
            for layer in show.layers
        }

    @classmethod
    def at_cue(cls, show: Show, cue_name: str) -> CueEngine:
        """An engine in the state of ``cue_name`` reached by tracking, with no fades, at t = 0."""
        engine = cls(show)
        target = show.cue_index(cue_name)
        for i in range(target + 1):
            engine.go(i, 0.0, fade_s=0.0)
        return engine

    def go(self, cue: int | str, show_time_s: float, fade_s: float | None = None) -> None:
        """Fire a cue at ``show_time_s`` (by index or name); ``fade_s`` overrides its fade."""
        index = self.show.cue_index(cue) if isinstance(cue, str) else cue
        spec = self.show.cues[index]
        fade = spec.fade_s if fade_s is None else fade_s
        for name, change in spec.layers.items():
            track = self._tracks[name]
            if change.content is not None and change.content != track.content:
                track.content = change.content
                track.content_since_s = show_time_s
            if change.opacity is not None:
                track.opacity_from = track.opacity_at(show_time_s)
                track.opacity_to = change.opacity
                track.fade_start_s = show_time_s
                track.fade_s = fade
        self.current = index

    def tick(self, show_time_s: float) -> FrameState:
        """The state of every layer at ``show_time_s``."""
        frames = []
        for layer in self.show.layers:
            track = self._tracks[layer.name]
            frames.append(
                LayerFrame(
                    layer,
                    track.content,
                    track.opacity_at(show_time_s),
                    show_time_s - track.content_since_s,
                )
            )
        cue = self.show.cues[self.current].name if self.current is not None else None
        return FrameState(show_time_s, tuple(frames), cue)
