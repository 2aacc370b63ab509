"""The live show loop: commands → cue state → render → present, paced by the show clock.

:class:`ShowPlayer` wires one show's :class:`~mapping.cues.CueEngine`, its
:class:`~mapping.gl.renderer.Renderer` and its outputs (windows or headless) together. Each
frame it applies queued commands, asks the cue engine for the frame state at the current
show time, renders and presents. Show time comes from a :class:`ShowClock`: a monotonic
wall clock live, or any function of the frame number for offline renders and tests.
The offline ``render`` (:mod:`mapping.recorder`) drives the same :meth:`ShowPlayer.step`
with ``offline=True`` (content sources wait for the exact frame) and show time
``start + n / fps``: live and offline share one frame loop.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import moderngl

from mapping.commands import Command, CommandProcessor, CommandQueue, Registry, Result, Ticket
from mapping.control.builtin import build_registry
from mapping.cues import CueEngine, FrameState
from mapping.gl.renderer import Renderer
from mapping.gl.trial import ShaderTrials, default_trials
from mapping.live import LiveShow, ShowLibrary
from mapping.ratelimit import RateLimitedLog
from mapping.show import Show
from mapping.sound import SoundTap

log = logging.getLogger(__name__)

MAX_COMMANDS_PER_FRAME = 5000
"""A flood of commands is spread over frames rather than stalling one."""


class Outputs(Protocol):
    ctx: moderngl.Context

    def make_current(self) -> None: ...
    def present(self, textures: dict[str, moderngl.Texture]) -> None: ...
    def poll(self) -> bool: ...
    def close(self) -> None: ...


class ShowClock:
    """Show time in seconds since :meth:`start`, from a monotonic clock."""

    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._now = now
        self._wall = wall
        self._t0 = now()

    def start(self, at_show_time_s: float = 0.0) -> None:
        self._t0 = self._now() - at_show_time_s

    def __call__(self) -> float:
        return self._now() - self._t0

    def show_time_at_wall(self, wall_s: float) -> float:
        """The show time at a wall-clock (Unix) time, e.g. an OSC bundle's time tag."""
        return self() + (wall_s - self._wall())


@dataclass(frozen=True)
class Status:
    """A snapshot of the running show for feedback (OSC, panel), replaced every frame."""

    show: str
    show_time_s: float
    frames: int
    fps: float
    late_frames: int
    cue: str | None
    next_cue: str | None
    progress: float
    master: float
    blackout: bool
    paused: bool
    locked: bool


def frame_signature(frame: FrameState) -> tuple[Any, ...]:
    """Everything in a frame state that changes the picture, except media times (which only
    matter for sources that move by themselves): equal signatures, same picture."""
    layers = tuple(
        (
            id(lf.layer),
            lf.content,
            lf.opacity,
            tuple(lf.params.items()),
            None if lf.previous is None else (lf.previous.content, lf.previous.weight),
        )
        for lf in frame.layers
    )
    return (
        layers,
        frame.master,
        frame.hidden_surfaces,
        tuple(frame.output_levels.items()),
        tuple(frame.patterns.items()),
        tuple((name, id(image)) for name, image in frame.pattern_images.items()),
        tuple((id(layer), content) for layer, content in frame.preload),
    )


class ShowPlayer:
    """Runs one show live on a set of outputs.

    Anything that changes the show is a registry command: :meth:`submit` queues one from any
    thread and returns a :class:`~mapping.commands.Ticket` whose result arrives once the
    render thread has applied it, at the start of the next frame at or after its show time.
    """

    def __init__(
        self,
        show: Show,
        outputs: Outputs,
        *,
        start_cue: str | None = None,
        registry: Registry | None = None,
        library: ShowLibrary | None = None,
        clock: ShowClock | None = None,
        offline: bool = False,
        trials: ShaderTrials | None = None,
    ) -> None:
        self.outputs = outputs
        self.registry = registry or build_registry()
        self.live = LiveShow(show, library=library)
        if start_cue is not None:  # cues track: the state after every cue up to this one
            self.live.engine = CueEngine.at_cue(show, start_cue)
        self.processor = CommandProcessor(self.registry, self.live)
        self.commands = CommandQueue()
        outputs.make_current()
        # compiled content (shaders) is admitted only after a trial frame in another process
        trials = trials if trials is not None else default_trials()
        self.renderer = Renderer(outputs.ctx, show, offline=offline, trials=trials)
        self.sound_tap = SoundTap(live=not offline)  # what ISF audio inputs hear
        self.renderer.set_soundtrack(self.sound_tap, self.sound_tap.rate)
        self._generation = self.live.generation
        self.clock = clock or ShowClock()
        self.frames = 0  # frame periods run (commands applied, listeners told)
        self.drawn = 0  # of which rendered and presented (the rest changed nothing)
        self.always_draw = False
        self._drawn_state: object = None
        self.late_frames = 0
        self.render_failures = 0
        self.fps = 0.0
        self._last_render_error: str | None = None
        self._failures = RateLimitedLog(log)
        self.frame_listeners: list[Callable[[ShowPlayer], None]] = []
        self.frame_state: FrameState | None = None
        """The frame state of the latest frame (drawn or not)."""
        self.state_listeners: list[Callable[[ShowPlayer], None]] = []
        """Called each frame as soon as :attr:`frame_state` is known, before rendering
        (the soundtrack: :class:`mapping.sound_output.ShowSound`)."""
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self.status = self._snapshot(0.0)

    # -- compatibility views

    @property
    def show(self) -> Show:
        return self.live.show

    @property
    def engine(self) -> CueEngine:
        return self.live.engine

    @property
    def running(self) -> bool:
        return self.live.running

    @running.setter
    def running(self, value: bool) -> None:
        self.live.running = value

    # -- commands

    def submit(
        self,
        name: str,
        *values: Any,
        path: dict[str, Any] | None = None,
        at_show_time_s: float | None = None,
        source: str = "api",
        on_result: Callable[[Result], None] | None = None,
    ) -> Ticket:
        """Queue command ``name`` (validated now: a bad one is answered at once)."""
        try:
            command = self.registry.make(
                name, values, path=path, at_show_time_s=at_show_time_s, source=source
            )
        except ValueError as exc:
            ticket = Ticket(Command(name, source=source), on_result)
            ticket.resolve(Result.error(name, str(exc)))
            return ticket
        return self.commands.submit(command, on_result)

    def apply_due(self, show_time_s: float) -> list[Result]:
        """Apply every command due at ``show_time_s`` (render thread, start of a frame)."""
        results = []
        for ticket in self.commands.due(show_time_s, MAX_COMMANDS_PER_FRAME):
            result = self.processor.apply(ticket.command, show_time_s)
            if not result.ok:  # one line per kind and sender every 5 s, however many arrive
                self._failures.warning(
                    f"{ticket.command.name}:{ticket.command.source}",
                    "%s (from %s)",
                    result.message,
                    ticket.command.source or "?",
                )
            try:
                ticket.resolve(result)
            except Exception:  # a reply callback must not stop the frame
                log.exception("reply to %s failed", ticket.command.name)
            results.append(result)
        return results

    def call_soon(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` on the render thread at the start of the next frame (after commands).

        For readers that need a consistent view of the live show (OSCQuery's namespace with
        current values, the web panel): the future holds its return value or exception.
        """
        future: Future[Any] = Future()
        self._calls.put((fn, future))
        return future

    def _run_calls(self) -> None:
        for _ in range(MAX_COMMANDS_PER_FRAME):
            try:
                fn, future = self._calls.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

    # -- the frame

    def step(self, show_time_s: float) -> None:
        """One frame at ``show_time_s``: commands, cue state, render, present.

        A frame whose state is the one last drawn, with no source moving by itself
        (:meth:`Renderer.animating`), is neither rendered nor presented: the outputs keep
        showing the last picture (``always_draw`` turns this off).
        """
        self.apply_due(show_time_s)
        self._run_calls()
        drawn = False
        try:
            if self.live.generation != self._generation:
                self.outputs.make_current()
                in_use = []
                if self.frame_state is not None:  # what is on show now stays open
                    for lf in self.frame_state.layers:
                        in_use.append((lf.layer.name, lf.content))
                        if lf.previous is not None:
                            in_use.append((lf.layer.name, lf.previous.content))
                self.renderer.set_show(self.live.show, in_use)
                self._generation = self.live.generation
                self._drawn_state = None
            frame = self.live.frame(show_time_s)
            self.frame_state = frame
            self.sound_tap.update(frame, paused=self.live.engine.paused)
            for listener in self.state_listeners:  # before rendering: sound does not wait
                try:
                    listener(self)
                except Exception:
                    log.exception("state listener failed")
            state = frame_signature(frame)
            if (
                self.always_draw
                or state != self._drawn_state
                or self.renderer.animating(frame)
                or getattr(self.outputs, "damaged", False)
            ):
                self.outputs.make_current()
                self._drawn_state = None
                for name, kind in frame.patterns.items():
                    if self.renderer.pattern(name) != kind:
                        if kind is not None and kind.startswith("image:"):
                            images = frame.pattern_images
                            self.renderer.set_pattern_image(name, kind, images[name])
                        else:
                            self.renderer.set_pattern(name, kind)
                self.renderer.render(frame)
                self._drawn_state = state
                drawn = True
        except Exception as exc:  # the show goes on: keep presenting the last good frame
            message = f"{type(exc).__name__}: {exc}"
            if message != self._last_render_error:
                log.exception(
                    "rendering the frame at %.3f s failed; showing the last one", show_time_s
                )
                self._last_render_error = message
            self.render_failures += 1
            drawn = True  # present what the outputs hold
        else:
            self._last_render_error = None
        if drawn:
            self.outputs.present(
                {n: self.renderer.output_texture(n) for n in self.renderer.output_names()}
            )
            self.drawn += 1
        self.frames += 1
        self.status = self._snapshot(show_time_s)
        for listener in self.frame_listeners:
            try:
                listener(self)
            except Exception:
                log.exception("frame listener failed")

    def _snapshot(self, show_time_s: float) -> Status:
        live = self.live
        current = live.engine.current_cue()
        standby = live.engine.standby_cue()
        return Status(
            live.show.name,
            show_time_s,
            self.frames,
            self.fps,
            self.late_frames,
            current.label if current is not None else None,
            standby.label if standby is not None else None,
            live.engine.progress(show_time_s),
            live.master_level(show_time_s),
            live.blackout,
            live.engine.paused,
            live.locked,
        )

    def run(
        self, fps: float = 30.0, duration_s: float | None = None, start_at_s: float = 0.0
    ) -> None:
        """Run from show time ``start_at_s`` until stopped, a window closes, or the show
        time reaches ``duration_s``.

        Frames are locked to slots of ``1 / fps`` (the display's refresh, for windows): frame
        *n* is drawn at show time exactly ``n / fps``, whatever the jitter of the moment it
        is drawn, so a 30 fps clip on a 60 Hz output shows each of its frames for exactly
        two refreshes. A slot missed because a frame ran late is counted in
        :attr:`late_frames` (a dropped frame) and never drawn late: the next frame is the
        slot due now.
        """
        period = 1.0 / fps
        self.clock.start(start_at_s)
        last_slot: int | None = None
        last_report, frames_at_report, last_log = time.monotonic(), 0, time.monotonic()
        drops_logged = 0
        try:
            while self.running and self.outputs.poll():
                slot = round(self.clock() / period)
                if last_slot is not None:
                    if slot <= last_slot:
                        slot = last_slot + 1  # early: this is the next slot's frame
                    elif slot > last_slot + 1:
                        self.late_frames += slot - last_slot - 1  # slots that were dropped
                t = slot * period
                if duration_s is not None and t >= duration_s:
                    break
                delay = t - self.clock()
                if delay > 0:
                    time.sleep(delay)
                self.step(t)
                last_slot = slot
                now = time.monotonic()
                if now - last_report >= 1.0:
                    self.fps = (self.frames - frames_at_report) / (now - last_report)
                    last_report, frames_at_report = now, self.frames
                if now - last_log >= 5.0:
                    last_log = now
                    dropped = self.late_frames - drops_logged
                    drops_logged = self.late_frames
                    log_at = logging.WARNING if dropped else logging.INFO
                    log.log(
                        log_at,
                        "show time %.1f s, %.1f fps, cue %s%s",
                        t,
                        self.fps,
                        self.status.cue or "(none)",
                        f", {dropped} frame(s) dropped in the last 5 s" if dropped else "",
                    )
        except KeyboardInterrupt:
            log.info("stopped by Ctrl-C")
        finally:
            self.close()

    def close(self) -> None:
        """Release the renderer and the outputs (after :meth:`run`, or a caller's own loop)."""
        self.renderer.release()
        self.sound_tap.close()
        self.outputs.close()
