"""Helpers for the OSC tests: a player on the test GL context, clients, bounded waits."""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import moderngl
from pythonosc.osc_message import OscMessage

from mapping.outputs import HeadlessOutputs
from mapping.player import ShowClock, ShowPlayer
from mapping.show import Show
from tests.conftest import REPO

OSC_SHOW = REPO / "tests" / "data" / "osc-show"
"""The demo show's names and cues on a tiny canvas of solid layers (fast frames)."""


MemoryOutputs = HeadlessOutputs  # on the test context: HeadlessOutputs(ctx)


class ManualClock:
    """Show time and wall time that move only when a test says so (wall = 1000 s + show)."""

    WALL_AT_ZERO = 1_000_000.0

    def __init__(self) -> None:
        self.t = 0.0

    def show_clock(self) -> ShowClock:
        clock = ShowClock(now=lambda: self.t, wall=lambda: self.WALL_AT_ZERO + self.t)
        clock.start(0.0)
        return clock


def make_player(ctx: moderngl.Context, show: Show, clock: ShowClock | None = None, **kw: Any):
    return ShowPlayer(show, MemoryOutputs(ctx), clock=clock, **kw)


def wait_until(predicate: Callable[[], Any], timeout_s: float = 3.0, poll_s: float = 0.002) -> Any:
    """Poll ``predicate`` until it is truthy (returned) or the timeout passes (AssertionError)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(poll_s)


class UdpClient:
    """A controller on 127.0.0.1: sends raw packets, collects what comes back (python-osc
    parses the replies, so the reply format is checked by another implementation)."""

    def __init__(self, port: int) -> None:
        self.server = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.received: list[tuple[str, list[Any]]] = []

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def pump(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                return
            msg = OscMessage(data)
            self.received.append((msg.address, list(msg.params)))

    def wait_for(
        self,
        address: str,
        params: list[Any] | None = None,
        *,
        timeout_s: float = 3.0,
        step: Callable[[], None] | None = None,
    ) -> list[Any]:
        """The arguments of the first message to ``address`` (with ``params``, if given),
        removed from :attr:`received`; ``step`` runs while waiting (render a frame)."""

        def found():
            if step is not None:
                step()
            self.pump()
            for i, (a, p) in enumerate(self.received):
                if a == address and (params is None or p == params):
                    del self.received[i]
                    return (a, p)
            return None

        return wait_until(found, timeout_s)[1]

    def close(self) -> None:
        self.sock.close()


class ShowProcess:
    """``run_show.py ARGS`` in a subprocess; :attr:`port` is the OSC port its log names."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "run_show.py"), *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        marker = "try: oscsend 127.0.0.1 "
        deadline = time.monotonic() + 30
        port = None
        while port is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.log.append(line)
            if marker in line:
                port = int(line.split(marker)[1].split()[0])
        if port is None:
            self.close()
            raise AssertionError("run_show.py never logged its OSC port:\n" + "".join(self.log))
        self.port = port

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> ShowProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
