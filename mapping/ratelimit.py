"""Rate-limited logging (pure): a flood of the same event makes one line per interval.

A show that is sent thousands of bad commands a second must not spend its frames writing
log lines; :class:`RateLimitedLog` logs an event kind at most once per interval and says
how many it left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any


class RateLimitedLog:
    """Logs a kind of event at most once per ``interval_s``, counting what it left out."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}

    def warning(self, key: str, message: str, *args: Any) -> bool:
        """Log ``message % args`` unless ``key`` was logged less than the interval ago;
        True if it was logged."""
        now = self.clock()
        with self._lock:
            last = self._state.get(key)
            if last is not None and now - last[0] < self.interval_s:
                self._state[key] = (last[0], last[1] + 1)
                return False
            if len(self._state) > 4096:
                self._state.clear()
            self._state[key] = (now, 0)
        suppressed = last[1] if last is not None else 0
        if suppressed:
            message += f" ({suppressed} more like this in the last {self.interval_s:g} s)"
        self.logger.warning(message, *args)
        return True
