"""The cue engine: cue lists, GO/BACK/GOTO, waits and follows, fades (pure, no GL).

:class:`CueEngine` owns the playback state of one show's cue lists and of what the cues set:
every layer's opacity, content and parameters, every surface's visibility and every
output's level. :meth:`CueEngine.tick` turns a show time into a :class:`FrameState`. A frame
is a function of this state and the show time, so an offline render at frame *n*, a live
show and a test with a manual clock all see the same values.

Operators' vocabulary, as in QLab and on lighting desks:

* Cues are numbered (``1``, ``1.5``, ``2``) and named, in one or more cue lists; each list
  has a *playhead*, the standby cue that the next GO fires.
* **GO** fires the standby cue of a list; **start** fires a given cue; **LOAD** arms a cue
  (moves the playhead to it; the renderer pre-rolls its content) without firing it.
* **GOTO n** fades to the *tracked* state of cue n (every cue of its list up to n), with n's
  fade; **BACK** does the same for the cue before the current one. Neither starts follows.
* A cue's changes start after its **pre-wait**; ``follow = "continue"`` fires the next cue
  ``postwait`` after the changes start, ``follow = "follow"`` when its fades have ended
  (plus ``postwait``); ``next`` names the cue after this one (loops).
* **STOP** cancels pending waits and follows and holds every fade where it is; **PAUSE**
  freezes the whole engine (fades, waits and media time) until **RESUME**; **PANIC** cancels
  everything and fades every layer to black.
* Cues *track*: a cue changes only what it names. A content change crossfades the old
  content into the new over the fade, it never cuts (unless the fade is 0).

Fades follow a curve (:data:`mapping.show.CURVES`): monotonic, exact at both ends.
Layer parameters are typed (:mod:`mapping.params`): floats, colours and points fade per
component; long, bool and image values switch at the start of the fade; an ``event`` is
true for exactly one frame (the next :meth:`CueEngine.tick`) each time it is set.
Internally every time is *engine time*: show time minus the time spent paused.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mapping.params import INTERPOLATED, ParamValue, interpolate
from mapping.show import Content, Cue, Layer, Show, Transition

log = logging.getLogger(__name__)

MAX_EVENTS_PER_TICK = 256
"""Guard against a loop of zero-time follows: the rest wait for the next frame."""


def ease(curve: str, a: float) -> float:
    """Fade progress ``a`` (0..1) through ``curve``; monotonic, 0 at 0 and 1 at 1."""
    a = min(1.0, max(0.0, a))
    if curve == "ease-in":
        return a * a
    if curve == "ease-out":
        return 1.0 - (1.0 - a) * (1.0 - a)
    if curve == "ease-in-out":
        return a * a * (3.0 - 2.0 * a)
    return a


def match_cues(old: Sequence[Cue], new: Sequence[Cue]) -> dict[int, int | None]:
    """Which cue of an edited cue list each old cue is (index → index, ``None``: gone).

    By list and name where the name is unique in its list in both versions (numbers move
    when cues are inserted into an unnumbered list), by list and number among cues of the
    same name; a name no longer there is a cue removed (a renamed cue is a new cue).
    """
    old_names = Counter((c.cue_list, c.name) for c in old)
    new_names = Counter((c.cue_list, c.name) for c in new)
    by_name = {(c.cue_list, c.name): i for i, c in enumerate(new)}
    by_number = {(c.cue_list, c.number): i for i, c in enumerate(new) if c.number}
    remap: dict[int, int | None] = {}
    for i, cue in enumerate(old):
        key = (cue.cue_list, cue.name)
        if new_names[key] == 0:
            remap[i] = None  # removed (or renamed)
        elif old_names[key] == 1 and new_names[key] == 1:
            remap[i] = by_name[key]
        else:
            remap[i] = by_number.get((cue.cue_list, cue.number)) if cue.number else None
    return remap


@dataclass(frozen=True)
class PreviousContent:
    """During a crossfade: the content fading out, and its share of the layer (1 → 0).

    ``transition`` is the ISF transition drawing it (``None``: the plain crossfade), with
    ``progress`` = the new content's share, ``1 − weight``.
    """

    content: Content
    media_time_s: float
    weight: float
    transition: Transition | None = None


@dataclass(frozen=True)
class LayerFrame:
    """One layer as it must be drawn in one frame."""

    layer: Layer
    content: Content
    opacity: float
    media_time_s: float
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    previous: PreviousContent | None = None


@dataclass(frozen=True)
class FrameState:
    """Everything the renderer needs to draw one frame, besides the show itself."""

    show_time_s: float
    layers: tuple[LayerFrame, ...]
    cue: str | None = None
    master: float = 1.0
    next_cue: str | None = None
    hidden_surfaces: frozenset[str] = frozenset()
    output_levels: Mapping[str, float] = field(default_factory=dict)
    patterns: Mapping[str, str | None] = field(default_factory=dict)
    pattern_images: Mapping[str, np.ndarray] = field(default_factory=dict)
    """For a pattern ``image:…`` (a still shown full screen, e.g. structured light): its
    pixels, uint8 RGB or RGBA at the output's resolution."""
    preload: tuple[tuple[Layer, Content], ...] = ()
    """Content the standby cue will need: the renderer opens it before GO (pre-roll)."""


@dataclass
class Fade:
    """One value moving from ``start`` to ``end`` over ``[t0, t0 + duration]`` (engine time).

    ``kind`` is the value's parameter type (:data:`mapping.params.PARAM_TYPES`; opacity and
    levels are ``float``): floats and tuples of floats (colours, points) move per component
    through the curve; the other types switch to ``end`` at ``t0``, the start of the fade.
    """

    start: Any
    end: Any
    t0: float = 0.0
    duration: float = 0.0
    curve: str = "linear"
    kind: str = "float"

    def at(self, t: float) -> Any:
        if self.duration <= 0.0 or t >= self.t0 + self.duration:
            return self.end
        if self.kind not in INTERPOLATED:
            return self.end if t >= self.t0 else self.start
        if t <= self.t0:
            return self.start
        u = ease(self.curve, (t - self.t0) / self.duration)
        if self.kind == "float":  # opacity and levels, every frame: the plain formula
            return self.start + (self.end - self.start) * u
        return interpolate(self.kind, self.start, self.end, u)

    def to(self, value: Any, t: float, duration: float, curve: str) -> None:
        """Start a new fade from wherever this one is at ``t``."""
        self.start, self.end = self.at(t), value
        self.t0, self.duration, self.curve = t, duration, curve

    def hold(self, t: float) -> None:
        self.to(self.at(t), t, 0.0, "linear")

    def running(self, t: float) -> bool:
        return self.duration > 0.0 and self.t0 <= t < self.t0 + self.duration


@dataclass
class _LayerTrack:
    content: Content
    content_since: float
    opacity: Fade
    params: dict[str, Fade]
    events: set[str] = field(default_factory=set)
    """Event parameters set since the last frame: true in the next frame only."""
    previous: Content | None = None
    previous_since: float = 0.0
    mix: Fade = field(default_factory=lambda: Fade(1.0, 1.0))  # share of the new content
    transition: Transition | None = None  # how the change crossfades (None: plain)

    def set_content(
        self,
        content: Content,
        t: float,
        fade: float,
        curve: str,
        transition: Transition | None = None,
    ) -> None:
        if content == self.content:
            return
        if fade > 0.0:
            self.previous, self.previous_since = self.content, self.content_since
            self.mix = Fade(0.0, 1.0, t, fade, curve)
            self.transition = transition
        else:
            self.previous = None
            self.mix = Fade(1.0, 1.0)
            self.transition = None
        self.content, self.content_since = content, t

    def fades(self) -> list[Fade]:
        return [self.opacity, self.mix, *self.params.values()]


@dataclass(frozen=True)
class _Look:
    """A tracked state: what every layer, surface and output shows after some cues."""

    opacity: dict[str, float]
    content: dict[str, Content]
    params: dict[str, dict[str, ParamValue]]
    visible: dict[str, bool]
    level: dict[str, float]


class CueEngine:
    """Cue-list state of one show; commands call its methods, the frame loop calls tick."""

    def __init__(self, show: Show):
        self.show = show
        self._tracks = {
            layer.name: _LayerTrack(
                layer.content,
                0.0,
                Fade(layer.opacity, layer.opacity),
                {
                    spec.name: Fade(
                        layer.params[spec.name], layer.params[spec.name], kind=spec.type
                    )
                    for spec in layer.param_specs
                    if spec.name in layer.params and spec.type != "event"
                },
            )
            for layer in show.layers
        }
        self._visible = {s.name: True for s in show.surfaces}
        self._levels = {o.name: Fade(1.0, 1.0) for o in show.outputs}
        lists = show.cue_lists() or ("main",)
        self.active_list = lists[0]
        self.playhead: dict[str, int | None] = {name: self._first_of(name) for name in lists}
        self.current: dict[str, int | None] = dict.fromkeys(lists)
        self.loaded: set[int] = set()
        self.fired_at: dict[int, float] = {}
        self._events: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()
        self._paused_at: float | None = None
        self._paused_total = 0.0

    @classmethod
    def at_cue(cls, show: Show, cue: str) -> CueEngine:
        """An engine in the tracked state of ``cue`` (number or name), no fades, at t = 0."""
        engine = cls(show)
        engine.goto(cue, 0.0, fade_s=0.0)
        return engine

    # -- time

    def engine_time(self, show_time_s: float) -> float:
        """Show time less the time spent paused."""
        now = self._paused_at if self._paused_at is not None else show_time_s
        return now - self._paused_total

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    # -- cue lookup

    def index(self, cue: int | str) -> int:
        """The index of a cue given by index, number or name. Raises KeyError."""
        if isinstance(cue, int):
            if not 0 <= cue < len(self.show.cues):
                raise KeyError(cue)
            return cue
        return self.show.cue_index(cue)

    def _first_of(self, cue_list: str) -> int | None:
        for i, cue in enumerate(self.show.cues):
            if cue.cue_list == cue_list:
                return i
        return None

    def next_of(self, index: int) -> int | None:
        """The cue after ``index``: its ``next``, or the next cue of the same list."""
        cue = self.show.cues[index]
        if cue.next is not None:
            return self.show.cue_index(cue.next)
        for j in range(index + 1, len(self.show.cues)):
            if self.show.cues[j].cue_list == cue.cue_list:
                return j
        return None

    def _previous_of(self, index: int) -> int | None:
        cue_list = self.show.cues[index].cue_list
        for j in range(index - 1, -1, -1):
            if self.show.cues[j].cue_list == cue_list:
                return j
        return None

    def _list(self, cue_list: str | None) -> str:
        name = cue_list or self.active_list
        if name not in self.playhead:
            raise KeyError(name)
        return name

    # -- operator actions (show time in, engine time inside)

    def go(self, show_time_s: float, cue_list: str | None = None) -> int:
        """Fire the standby cue of a list (default: the active one); returns its index."""
        name = self._list(cue_list)
        index = self.playhead[name]
        if index is None:
            last = self.current[name]
            after = f" after cue {self.show.cues[last].label}" if last is not None else ""
            raise LookupError(f"no cue{after} in list '{name}'")
        self._go_index(index, self.engine_time(show_time_s))
        return index

    def start(self, cue: int | str, show_time_s: float) -> int:
        """Fire one cue now (its pre-wait and follow included), wherever the playhead is."""
        index = self.index(cue)
        self._go_index(index, self.engine_time(show_time_s))
        return index

    def load(self, cue: int | str) -> int:
        """Arm a cue: it becomes its list's standby cue, its content is pre-rolled."""
        index = self.index(cue)
        name = self.show.cues[index].cue_list
        self.playhead[name] = index
        self.active_list = name
        self.loaded = {index}
        return index

    def goto(self, cue: int | str, show_time_s: float, fade_s: float | None = None) -> int:
        """Fade to the tracked state of a cue (its fade and curve unless ``fade_s``)."""
        index = self.index(cue)
        spec = self.show.cues[index]
        self._fade_to(self._look(spec.cue_list, index), show_time_s, fade_s, spec)
        self._set_current(index)
        self.fired_at[index] = self.engine_time(show_time_s)
        return index

    def back(self, show_time_s: float, cue_list: str | None = None) -> int | None:
        """Fade back to the tracked state of the cue before the current one."""
        name = self._list(cue_list)
        current = self.current[name]
        if current is None:
            raise LookupError(f"no cue has run in list '{name}'")
        spec = self.show.cues[current]
        previous = self._previous_of(current)
        self._cancel_events()
        self._fade_to(self._look(name, previous), show_time_s, None, spec)
        self.current[name] = previous
        self.playhead[name] = current
        self.active_list = name
        return previous

    def stop(self, show_time_s: float) -> None:
        """Cancel pending waits and follows; hold every fade where it is now."""
        t = self.engine_time(show_time_s)
        self._cancel_events()
        for track in self._tracks.values():
            for fade in track.fades():
                fade.hold(t)
        for fade in self._levels.values():
            fade.hold(t)

    def pause(self, show_time_s: float) -> None:
        if self._paused_at is None:
            self._paused_at = show_time_s

    def resume(self, show_time_s: float) -> None:
        if self._paused_at is not None:
            self._paused_total += max(0.0, show_time_s - self._paused_at)
            self._paused_at = None

    def panic(self, show_time_s: float, fade_s: float) -> None:
        """Cancel everything pending and fade every layer to black over ``fade_s``."""
        self.resume(show_time_s)
        t = self.engine_time(show_time_s)
        self._cancel_events()
        for track in self._tracks.values():
            track.opacity.to(0.0, t, fade_s, "linear")

    # -- live edits (each returns the value it replaced, for undo)

    def set_opacity(
        self, layer: str, value: float, show_time_s: float, fade_s: float = 0.0
    ) -> float:
        t = self.engine_time(show_time_s)
        fade = self._tracks[layer].opacity
        before = fade.at(t)
        fade.to(value, t, fade_s, "linear")
        return before

    def opacity(self, layer: str, show_time_s: float) -> float:
        return self._tracks[layer].opacity.at(self.engine_time(show_time_s))

    def opacity_target(self, layer: str) -> float:
        """The opacity a layer has or is fading to."""
        return self._tracks[layer].opacity.end

    def param_target(self, layer: str, param: str) -> ParamValue:
        """The value a parameter has or is fading to (an event: whether it is pending)."""
        track = self._tracks[layer]
        if param not in track.params and param in self._event_names(layer):
            return param in track.events
        return track.params[param].end

    def level_target(self, output: str) -> float:
        return self._levels[output].end

    def set_param(
        self, layer: str, param: str, value: ParamValue, show_time_s: float, fade_s: float = 0.0
    ) -> ParamValue:
        """Set (or fade) a parameter to a value of its type; returns the value before.

        An event fires when set true (true in the next frame); setting it false does nothing.
        """
        track = self._tracks[layer]
        if param not in track.params and param in self._event_names(layer):
            before = param in track.events
            if value:
                track.events.add(param)
            return before
        t = self.engine_time(show_time_s)
        fade = track.params[param]
        before = fade.at(t)
        fade.to(value, t, fade_s, "linear")
        return before

    def param(self, layer: str, param: str, show_time_s: float) -> ParamValue:
        track = self._tracks[layer]
        if param not in track.params and param in self._event_names(layer):
            return param in track.events
        return track.params[param].at(self.engine_time(show_time_s))

    def _event_names(self, layer: str) -> set[str]:
        return {s.name for s in self.show.layer(layer).param_specs if s.type == "event"}

    def set_content(
        self, layer: str, content: Content, show_time_s: float, fade_s: float = 0.0
    ) -> Content:
        track = self._tracks[layer]
        before = track.content
        track.set_content(content, self.engine_time(show_time_s), fade_s, "linear")
        return before

    def content(self, layer: str) -> Content:
        return self._tracks[layer].content

    def set_visible(self, surface: str, visible: bool) -> bool:
        before = self._visible[surface]
        self._visible[surface] = visible
        return before

    def visible(self, surface: str) -> bool:
        return self._visible[surface]

    def set_level(
        self, output: str, value: float, show_time_s: float, fade_s: float = 0.0
    ) -> float:
        t = self.engine_time(show_time_s)
        before = self._levels[output].at(t)
        self._levels[output].to(value, t, fade_s, "linear")
        return before

    def level(self, output: str, show_time_s: float) -> float:
        return self._levels[output].at(self.engine_time(show_time_s))

    # -- an edited show (hot reload)

    def adopt(self, show: Show, show_time_s: float) -> None:
        """Carry the playback state over to an edited version of the show (a reload).

        Cue lists, current and standby cues, pending waits and follows, pause and every
        running fade go on as they were (cues are matched by :func:`match_cues`).
        Where the edit changes what the current cue's tracked state says (a layer's
        content, opacity or parameter, a surface's visibility, an output's level), that one
        value is set at once; everything else the edit did not touch is left alone: a fade
        in progress keeps its progress, an operator's live change stays. Layers, params,
        surfaces and outputs that are new start in the current cue's tracked state. When
        the current cue itself was removed, nothing jumps: the state stays as it is.
        """
        t = self.engine_time(show_time_s)
        old = self.show
        old_look = self._look(self.active_list, self.current.get(self.active_list))

        old_current = self.current.get(self.active_list)
        remap = match_cues(old.cues, show.cues)
        lists = show.cue_lists() or ("main",)
        self.show = show
        self.current = {
            n: None if self.current.get(n) is None else remap[self.current[n]]  # type: ignore[index]
            for n in lists
        }
        playhead: dict[str, int | None] = {}
        for n in lists:
            before = self.playhead.get(n)
            index = remap.get(before) if before is not None else None
            if index is None:  # its cue removed, or past the end: maybe cues were added
                cur = self.current[n]
                index = self.next_of(cur) if cur is not None else self._first_of(n)
            playhead[n] = index
        self.playhead = playhead
        if self.active_list not in lists:
            self.active_list = lists[0]
        self.fired_at = {
            remap[i]: at for i, at in self.fired_at.items() if remap.get(i) is not None
        }  # type: ignore[misc]
        self.loaded = {remap[i] for i in self.loaded if remap.get(i) is not None}  # type: ignore[misc]
        self._events = [
            (at, seq, kind, remap[i])  # type: ignore[misc]
            for at, seq, kind, i in self._events
            if remap.get(i) is not None
        ]
        heapq.heapify(self._events)
        look = self._look(self.active_list, self.current.get(self.active_list))
        if old_current is not None and self.current.get(self.active_list) is None:
            old_look = look  # the current cue was removed: nothing jumps, the state stays
        tracks: dict[str, _LayerTrack] = {}
        for layer in show.layers:
            name = layer.name
            track = self._tracks.get(name)
            try:
                kind_same = old.layer(name).kind == layer.kind
            except KeyError:
                kind_same = False
            if track is None or not kind_same:
                opacity = look.opacity[name]
                tracks[name] = _LayerTrack(
                    look.content[name],
                    t,
                    Fade(opacity, opacity),
                    {k: Fade(v, v) for k, v in look.params[name].items()},
                )
                continue
            if look.content[name] != old_look.content.get(name):
                track.set_content(look.content[name], t, 0.0, "linear")
            if look.opacity[name] != old_look.opacity.get(name):
                track.opacity.to(look.opacity[name], t, 0.0, "linear")
            old_params = old_look.params.get(name, {})
            params: dict[str, Fade] = {}
            for k, v in look.params[name].items():
                fade = track.params.get(k)
                if fade is None:
                    fade = Fade(v, v)
                elif old_params.get(k) != v:
                    fade.to(v, t, 0.0, "linear")
                params[k] = fade
            track.params = params
            tracks[name] = track
        self._tracks = tracks
        self._visible = {
            s: v if s not in self._visible or v != old_look.visible.get(s) else self._visible[s]
            for s, v in look.visible.items()
        }
        levels: dict[str, Fade] = {}
        for name, value in look.level.items():
            fade = self._levels.get(name)
            if fade is None:
                fade = Fade(value, value)
            elif value != old_look.level.get(name):
                fade.to(value, t, 0.0, "linear")
            levels[name] = fade
        self._levels = levels

    # -- status

    def current_cue(self, cue_list: str | None = None) -> Cue | None:
        index = self.current.get(cue_list or self.active_list)
        return None if index is None else self.show.cues[index]

    def standby_cue(self, cue_list: str | None = None) -> Cue | None:
        index = self.playhead.get(cue_list or self.active_list)
        return None if index is None else self.show.cues[index]

    def progress(self, show_time_s: float) -> float:
        """How far the current cue's action has gone, 0..1 (1 when done or none)."""
        index = self.current.get(self.active_list)
        if index is None or index not in self.fired_at:
            return 1.0
        duration = self.show.cues[index].duration_s()
        if duration <= 0.0:
            return 1.0
        return min(1.0, max(0.0, (self.engine_time(show_time_s) - self.fired_at[index]) / duration))

    def busy(self, show_time_s: float) -> bool:
        """True while anything can still change without a command (fade, wait, clip)."""
        t = self.engine_time(show_time_s)
        if self._events:
            return True
        return any(f.running(t) for tr in self._tracks.values() for f in tr.fades()) or any(
            f.running(t) for f in self._levels.values()
        )

    # -- the frame

    def tick(self, show_time_s: float) -> FrameState:
        """The state of every layer, surface and output at ``show_time_s``."""
        t = self.engine_time(show_time_s)
        self._run_events(t)
        frames = []
        for layer in self.show.layers:
            track = self._tracks[layer.name]
            previous = None
            mix = track.mix.at(t)
            if track.previous is not None and mix < 1.0:
                previous = PreviousContent(
                    track.previous, t - track.previous_since, 1.0 - mix, track.transition
                )
            elif track.previous is not None:
                track.previous = None
            frames.append(
                LayerFrame(
                    layer,
                    track.content,
                    track.opacity.at(t),
                    t - track.content_since,
                    self._frame_params(layer, track, t),
                    previous,
                )
            )
        current = self.current_cue()
        standby = self.standby_cue()
        preload: list[tuple[Layer, Content]] = []
        if standby is not None:
            for name, change in standby.layers.items():  # what it changes or brings in
                if change.content is not None:
                    preload.append((self.show.layer(name), change.content))
                elif change.opacity and self._tracks[name].opacity.at(t) <= 0.0:
                    preload.append((self.show.layer(name), self._tracks[name].content))
        return FrameState(
            show_time_s,
            tuple(frames),
            current.label if current is not None else None,
            1.0,
            standby.label if standby is not None else None,
            frozenset(n for n, v in self._visible.items() if not v),
            {n: f.at(t) for n, f in self._levels.items()},
            preload=tuple(preload),
        )

    # -- internals

    @staticmethod
    def _frame_params(layer: Layer, track: _LayerTrack, t: float) -> dict[str, ParamValue]:
        values: dict[str, ParamValue] = {k: f.at(t) for k, f in track.params.items()}
        if len(values) < len(layer.param_specs):  # event parameters: true for one frame
            for spec in layer.param_specs:
                if spec.type == "event":
                    values[spec.name] = spec.name in track.events
            track.events.clear()
        return values

    def _set_current(self, index: int) -> None:
        name = self.show.cues[index].cue_list
        self.current[name] = index
        self.playhead[name] = self.next_of(index)
        self.active_list = name
        self.loaded.discard(index)

    def _go_index(self, index: int, t: float) -> None:
        self._set_current(index)
        cue = self.show.cues[index]
        if cue.prewait_s > 0.0:
            self._schedule(t + cue.prewait_s, "fire", index)
        else:
            self._fire(index, t)

    def _fire(self, index: int, t: float) -> None:
        cue = self.show.cues[index]
        self.fired_at[index] = t
        log.debug("cue %s fires at engine time %.3f", cue.label, t)
        for name, change in cue.layers.items():
            track = self._tracks[name]
            fade = cue.fade_s if change.fade_s is None else change.fade_s
            curve = change.curve or cue.curve
            if change.content is not None:
                transition = change.transition or cue.transition
                track.set_content(change.content, t, fade, curve, transition)
            if change.opacity is not None:
                track.opacity.to(change.opacity, t, fade, curve)
            for key, value in change.params.items():
                if key in track.params:
                    track.params[key].to(value, t, fade, curve)
                elif value:  # an event the cue fires
                    track.events.add(key)
        for name, surface in cue.surfaces.items():
            if surface.visible is not None:
                self._visible[name] = surface.visible
        for name, output in cue.outputs.items():
            if output.level is not None:
                self._levels[name].to(output.level, t, cue.fade_s, cue.curve)
        nxt = self.next_of(index)
        if nxt is not None and cue.follow == "continue":
            self._schedule(t + cue.postwait_s, "go", nxt)
        elif nxt is not None and cue.follow == "follow":
            self._schedule(t + cue.duration_s() + cue.postwait_s, "go", nxt)

    def _schedule(self, t: float, kind: str, index: int) -> None:
        heapq.heappush(self._events, (t, next(self._seq), kind, index))

    def _cancel_events(self) -> None:
        self._events.clear()

    def _run_events(self, t: float) -> None:
        for _ in range(MAX_EVENTS_PER_TICK):
            if not self._events or self._events[0][0] > t:
                return
            at, _seq, kind, index = heapq.heappop(self._events)
            if kind == "fire":
                self._fire(index, at)
            else:
                self._go_index(index, at)
        log.warning("more than %d cue events in one frame (a follow loop?)", MAX_EVENTS_PER_TICK)

    def _look(self, cue_list: str, upto: int | None) -> _Look:
        """The tracked state after every cue of ``cue_list`` up to index ``upto``."""
        look = _Look(
            {la.name: la.opacity for la in self.show.layers},
            {la.name: la.content for la in self.show.layers},
            {  # events are moments, not state: a tracked look holds none
                la.name: {s.name: la.params[s.name] for s in la.param_specs if s.type != "event"}
                for la in self.show.layers
            },
            {s.name: True for s in self.show.surfaces},
            {o.name: 1.0 for o in self.show.outputs},
        )
        if upto is None:
            return look
        for cue in self.show.cues[: upto + 1]:
            if cue.cue_list != cue_list:
                continue
            for name, change in cue.layers.items():
                if change.opacity is not None:
                    look.opacity[name] = change.opacity
                if change.content is not None:
                    look.content[name] = change.content
                look.params[name].update(
                    (k, v) for k, v in change.params.items() if k in look.params[name]
                )
            for name, surface in cue.surfaces.items():
                if surface.visible is not None:
                    look.visible[name] = surface.visible
            for name, output in cue.outputs.items():
                if output.level is not None:
                    look.level[name] = output.level
        return look

    def _fade_to(self, look: _Look, show_time_s: float, fade_s: float | None, cue: Cue) -> None:
        t = self.engine_time(show_time_s)
        fade = cue.fade_s if fade_s is None else fade_s
        for name, track in self._tracks.items():
            change = cue.layers.get(name)
            transition = (change.transition if change else None) or cue.transition
            track.set_content(look.content[name], t, fade, cue.curve, transition)
            if track.opacity.at(t) != look.opacity[name] or track.opacity.running(t):
                track.opacity.to(look.opacity[name], t, fade, cue.curve)
            for key, value in look.params[name].items():
                track.params[key].to(value, t, fade, cue.curve)
        self._visible.update(look.visible)
        for name, value in look.level.items():
            self._levels[name].to(value, t, fade, cue.curve)
