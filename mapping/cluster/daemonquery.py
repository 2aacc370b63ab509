"""Asking a time daemon's command-line client for its status, at a bounded rate (no clock).

:class:`DaemonQuery` runs one client command (``chronyc …``, ``pmc …``) with a time limit
and keeps the answer for ``min_interval_s``, so a caller may ask every frame or every second
and the daemon is asked at most once per interval. It never raises: a client that is
missing, fails or hangs gives a :class:`QueryResult` with ``ok`` false and the reason.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class DaemonOutputError(ValueError):
    """A daemon's answer is not in the format its parser expects (names what is wrong)."""


@dataclass(frozen=True)
class QueryResult:
    """One run of the client: its standard output, or why there is none."""

    ok: bool
    stdout: str
    error: str
    duration_s: float
    at: float
    """``clock()`` when the answer came (monotonic seconds)."""


class DaemonQuery:
    """Runs ``argv`` at most once per ``min_interval_s``; answers from the cache between.

    ``argv`` may be a function giving the command line, called before each run.
    """

    def __init__(
        self,
        argv: Sequence[str] | Callable[[], Sequence[str]],
        *,
        min_interval_s: float = 1.0,
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.argv = argv
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._lock = threading.Lock()
        self._last: QueryResult | None = None
        self.runs = 0
        """How many times the client was really run (the rest came from the cache)."""

    def result(self) -> QueryResult:
        """The daemon's answer, no older than ``min_interval_s`` (runs the client if it is)."""
        with self._lock:
            last = self._last
            if last is not None and self.clock() - last.at < self.min_interval_s:
                return last
            self._last = self._run()
            return self._last

    def _run(self) -> QueryResult:
        self.runs += 1
        start = time.perf_counter()
        argv = list(self.argv() if callable(self.argv) else self.argv)
        name = argv[0]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except FileNotFoundError:
            return self._result(False, "", f"{name} is not installed", start)
        except subprocess.TimeoutExpired:
            return self._result(False, "", f"{name} did not answer in {self.timeout_s:g} s", start)
        except OSError as e:
            return self._result(False, "", f"{name} could not be run: {e}", start)
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()
            reason = why[-1] if why else f"exit status {done.returncode}"
            return self._result(False, done.stdout, f"{name}: {reason}", start)
        return self._result(True, done.stdout, "", start)

    def _result(self, ok: bool, stdout: str, error: str, start: float) -> QueryResult:
        return QueryResult(ok, stdout, error, time.perf_counter() - start, self.clock())


class Cached(Generic[T]):
    """``fetch()``'s value, fetched again only when older than ``min_interval_s``."""

    def __init__(
        self,
        fetch: Callable[[], T],
        *,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None
        self.runs = 0
        self.last_duration_s = 0.0

    def get(self) -> T:
        with self._lock:
            if self._value is not None and self.clock() - self._value[0] < self.min_interval_s:
                return self._value[1]
            self.runs += 1
            start = time.perf_counter()
            value = self.fetch()
            self.last_duration_s = time.perf_counter() - start
            self._value = (self.clock(), value)
            return value
