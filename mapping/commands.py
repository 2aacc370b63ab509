"""Operator commands: the one typed API through which anything changes a running show.

Every way of controlling the show — keyboard now; OSC, the schedule and scripts in later
issues — turns its input into one of these frozen dataclasses and puts it on a
:class:`CommandQueue`. The player applies queued commands at the start of a frame, on the
render thread, so state never changes mid-frame. Commands are pure data (no GL).
"""

from __future__ import annotations

import queue
from dataclasses import dataclass


@dataclass(frozen=True)
class Go:
    """Fire a cue: ``cue=None`` fires the next one in the list."""

    cue: str | None = None


@dataclass(frozen=True)
class ShowPattern:
    """Show a test pattern on one output (``output=None``: all); ``pattern=None`` clears it."""

    pattern: str | None
    output: str | None = None


@dataclass(frozen=True)
class CyclePattern:
    """Step every output to the next test pattern, then back to the show."""


@dataclass(frozen=True)
class Stop:
    """End the show loop."""


Command = Go | ShowPattern | CyclePattern | Stop


class CommandQueue:
    """Thread-safe FIFO of commands, drained once per frame by the render thread."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()

    def put(self, command: Command) -> None:
        self._queue.put(command)

    def drain(self) -> list[Command]:
        items: list[Command] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items
