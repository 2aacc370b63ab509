"""An asyncio event loop on a daemon thread of its own, for the servers in the show process.

The OSCQuery server and the web panel each serve HTTP and WebSockets from their own loop,
apart from the render thread. :class:`LoopThread` owns that thread: :meth:`~LoopThread.start`
runs an async start-up (binding the port) and returns once it is done, raising what it
raised (a port in use, say); :meth:`~LoopThread.stop` runs an async shutdown on the loop,
stops it and joins the thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class LoopThread:
    """One event loop, one daemon thread (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, startup: Callable[[], Awaitable[None]], what: str, timeout_s: float = 10.0):
        """Run ``startup()`` on the new loop and keep the loop running. Raises
        ``RuntimeError`` when it takes longer than ``timeout_s``, and ``OSError`` naming
        ``what`` when it fails."""
        self._thread = threading.Thread(target=self._run, args=(startup,), name=self.name)
        self._thread.daemon = True
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError(f"{what} did not start within {timeout_s:g} s")
        if self._error is not None:
            raise OSError(f"{what}: {self._error}") from self._error

    def stop(
        self, shutdown: Callable[[], Awaitable[None]], what: str, timeout_s: float = 10.0
    ) -> None:
        """Run ``shutdown()`` on the loop (errors logged), stop it and join the thread."""
        loop = self.loop
        if loop is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout_s)
            except Exception:
                log.exception("%s shutdown failed", what)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self, startup: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(startup())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()
