"""One log file per evening, kept for a number of evenings.

An evening runs from noon to noon, so a show that goes on past midnight stays in one file:
``<log_dir>/show-YYYY-MM-DD.log`` is named after the day the evening began. Files older
than ``keep`` evenings are deleted when a new evening's file opens.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

EVENING_STARTS_HOUR = 12
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def evening_of(moment: dt.datetime) -> dt.date:
    """The evening a local time belongs to (before noon: the previous day's evening)."""
    return (moment - dt.timedelta(hours=EVENING_STARTS_HOUR)).date()


class EveningFileHandler(logging.Handler):
    """A logging handler writing ``show-<evening>.log`` files in ``log_dir``."""

    def __init__(
        self,
        log_dir: Path,
        *,
        keep: int = 30,
        now: Callable[[], dt.datetime] = dt.datetime.now,
    ) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._now = now
        self._evening: dt.date | None = None
        self._stream = None
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def path_for(self, evening: dt.date) -> Path:
        return self.log_dir / f"show-{evening.isoformat()}.log"

    @property
    def path(self) -> Path | None:
        return None if self._evening is None else self.path_for(self._evening)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            evening = evening_of(self._now())
            if evening != self._evening or self._stream is None:
                self._open(evening)
            assert self._stream is not None
            self._stream.write(self.format(record) + "\n")
            self._stream.flush()
        except Exception:
            self.handleError(record)

    def _open(self, evening: dt.date) -> None:
        if self._stream is not None:
            self._stream.close()
        self._evening = evening
        self._stream = open(self.path_for(evening), "a", encoding="utf-8")
        self._prune()

    def _prune(self) -> None:
        files = sorted(self.log_dir.glob("show-????-??-??.log"))
        for old in files[: max(0, len(files) - self.keep)]:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        super().close()
