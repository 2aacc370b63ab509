"""The live show loop: commands → cue state → render → present, paced by the show clock.

:class:`ShowPlayer` wires one show's :class:`~mapping.cues.CueEngine`, its
:class:`~mapping.gl.renderer.Renderer` and its outputs (windows or headless) together. Each
frame it applies queued commands, asks the cue engine for the frame state at the current
show time, renders and presents. Show time comes from a :class:`ShowClock`: a monotonic
wall clock live, or any function of the frame number for offline renders and tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import moderngl

from mapping.commands import Command, CommandQueue, CyclePattern, Go, ShowPattern, Stop
from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.show import Show

log = logging.getLogger(__name__)


class Outputs(Protocol):
    ctx: moderngl.Context

    def make_current(self) -> None: ...
    def present(self, textures: dict[str, moderngl.Texture]) -> None: ...
    def poll(self) -> bool: ...
    def close(self) -> None: ...


class ShowClock:
    """Show time in seconds since :meth:`start`, from a monotonic clock."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._t0 = now()

    def start(self, at_show_time_s: float = 0.0) -> None:
        self._t0 = self._now() - at_show_time_s

    def __call__(self) -> float:
        return self._now() - self._t0


class ShowPlayer:
    """Runs one show live on a set of outputs."""

    def __init__(self, show: Show, outputs: Outputs, *, start_cue: str | None = None) -> None:
        self.show = show
        self.outputs = outputs
        self.commands = CommandQueue()
        self.engine = CueEngine(show)
        outputs.make_current()
        self.renderer = Renderer(outputs.ctx, show)
        self.clock = ShowClock()
        self.running = True
        self.frames = 0
        self.render_failures = 0
        self._last_render_error: str | None = None
        if start_cue is not None:  # cues track: the state after every cue up to this one
            self.engine = CueEngine.at_cue(show, start_cue)

    def apply(self, command: Command, show_time_s: float) -> None:
        """Apply one command now (on the render thread)."""
        match command:
            case Go(cue=None):
                nxt = 0 if self.engine.current is None else self.engine.current + 1
                if nxt >= len(self.show.cues):
                    log.warning(
                        "GO: no cue after '%s'", self.show.cues[-1].name if self.show.cues else ""
                    )
                    return
                self.engine.go(nxt, show_time_s)
                log.info("GO cue '%s' at %.2f s", self.show.cues[nxt].name, show_time_s)
            case Go(cue=name):
                try:
                    self.engine.go(name, show_time_s)
                except KeyError:
                    log.error("GO: unknown cue '%s'", name)
                    return
                log.info("GO cue '%s' at %.2f s", name, show_time_s)
            case ShowPattern(pattern=pattern, output=output):
                names = self.renderer.output_names() if output is None else [output]
                for name in names:
                    self.renderer.set_pattern(name, pattern)
            case CyclePattern():
                kinds: list[str | None] = [*self.renderer.pattern_kinds(), None]
                for name in self.renderer.output_names():
                    current = self.renderer.pattern(name)
                    nxt_kind = kinds[(kinds.index(current) + 1) % len(kinds)]
                    self.renderer.set_pattern(name, nxt_kind)
                log.info("test pattern: %s", self.renderer.pattern(self.renderer.output_names()[0]))
            case Stop():
                self.running = False

    def step(self, show_time_s: float) -> None:
        """One frame at ``show_time_s``: commands, cue state, render, present."""
        for command in self.commands.drain():
            try:
                self.apply(command, show_time_s)
            except Exception:  # the show goes on
                log.exception("command %r failed", command)
        self.outputs.make_current()
        try:
            self.renderer.render(self.engine.tick(show_time_s))
        except Exception as exc:  # the show goes on: keep presenting the last good frame
            message = f"{type(exc).__name__}: {exc}"
            if message != self._last_render_error:
                log.exception(
                    "rendering the frame at %.3f s failed; showing the last one", show_time_s
                )
                self._last_render_error = message
            self.render_failures += 1
        else:
            self._last_render_error = None
        self.outputs.present(
            {n: self.renderer.output_texture(n) for n in self.renderer.output_names()}
        )
        self.frames += 1

    def run(self, fps: float = 30.0, duration_s: float | None = None) -> None:
        """Run until stopped, a window closes, or ``duration_s`` of show time passes."""
        period = 1.0 / fps
        self.clock.start()
        next_frame = time.monotonic()
        last_report, frames_at_report = time.monotonic(), 0
        try:
            while self.running and self.outputs.poll():
                t = self.clock()
                if duration_s is not None and t >= duration_s:
                    break
                self.step(t)
                now = time.monotonic()
                if now - last_report >= 5.0:
                    rate = (self.frames - frames_at_report) / (now - last_report)
                    cue = self.engine.tick(t).cue
                    log.info("show time %.1f s, %.1f fps, cue %s", t, rate, cue or "(none)")
                    last_report, frames_at_report = now, self.frames
                next_frame += period
                delay = next_frame - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_frame = time.monotonic()  # running late: do not try to catch up
        except KeyboardInterrupt:
            log.info("stopped by Ctrl-C")
        finally:
            self.renderer.release()
            self.outputs.close()
