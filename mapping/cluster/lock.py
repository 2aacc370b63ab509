"""Frame lock by time (pure): show time from the shared clock, commands as of their tag.

Every machine of a cluster derives show time from its :class:`~mapping.cluster.clock.
ClockSource` and the show epoch the controller chose (show time = shared time − epoch), so
the frame slot ``round(show_time · fps)`` — the player's frame index — is the same on every
machine at the same instant. Commands carry the show time of a frame slot (their *tag*);
every machine applies a command at the first frame that reaches its tag and always *as of*
the tag, so a machine that received it late has the state it should have (a fade is where
it should be), instead of playing the cue late.
"""

from __future__ import annotations

import math

from mapping.cluster.clock import ClockSource
from mapping.commands import Command, CommandProcessor, Result
from mapping.player import ShowClock


class ClusterClock(ShowClock):
    """Show time = the shared clock − the show epoch; :meth:`start` changes nothing
    (a machine joining late joins the running show time)."""

    def __init__(self, source: ClockSource, epoch_s: float) -> None:
        self.source = source
        self.epoch_s = epoch_s
        super().__init__(now=self.__call__, wall=source.now)

    def start(self, at_show_time_s: float = 0.0) -> None:
        """Show time is the cluster's: the controller chose the epoch for ``at_show_time_s``."""

    def __call__(self) -> float:
        return self.source.now() - self.epoch_s

    def show_time_at_wall(self, wall_s: float) -> float:
        return wall_s - self.epoch_s


class TagTimeProcessor(CommandProcessor):
    """Applies a time-tagged command as of its tag, even when the frame is past it."""

    def apply(self, command: Command, show_time_s: float) -> Result:
        at = command.at_show_time_s
        if at is not None and at < show_time_s:
            show_time_s = at
        return super().apply(command, show_time_s)


def slot_time(slot: int, fps: float) -> float:
    """The show time of frame slot ``slot``, computed as :meth:`ShowPlayer.run` does (bit
    for bit: ``slot * (1 / fps)``), so a tag and the frame it lands on compare equal."""
    return slot * (1.0 / fps)


def first_slot_at(show_time_s: float, fps: float) -> int:
    """The first frame slot whose show time is at or after ``show_time_s``."""
    period = 1.0 / fps
    slot = math.ceil(show_time_s / period - 1e-9)
    while slot * period < show_time_s:
        slot += 1
    return slot


def frame_index(show_time_s: float, fps: float) -> int:
    """The frame slot a show time falls in (as the player's loop rounds it)."""
    return round(show_time_s / (1.0 / fps))
