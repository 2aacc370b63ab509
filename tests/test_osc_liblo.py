"""OSC with another implementation: liblo's ``oscsend`` fires cues and ``oscdump`` receives
the feedback, in-process and against ``run_show.py --headless``.

The tools come from the Debian package ``liblo-tools`` (scripts/setup.sh installs it). On a
developer machine without them these tests skip; in CI (``CI=true``) a missing tool fails.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from mapping.control.osc import OscServer
from mapping.show import load_show
from tests.osc_kit import OSC_SHOW, ShowProcess, make_player, wait_until


def liblo_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"'{name}' not found: install the Debian package liblo-tools (scripts/setup.sh)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dump:
    """``oscdump`` on a UDP port; its lines collected by a reader thread."""

    def __init__(self) -> None:
        self.port = free_udp_port()
        self.proc = subprocess.Popen(
            [liblo_tool("oscdump"), "-L", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[str] = []
        wait_until(lambda: self._listening() or self.proc.poll() is not None, timeout_s=5)
        assert self.proc.poll() is None, "oscdump did not start"

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                return True
        return False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def wait_for(self, text: str, timeout_s: float = 5.0, step=None) -> str:
        """The first line containing ``text`` (every line read is kept in ``seen``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if step is not None:
                step()
            try:
                line = self.lines.get(timeout=0.01)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"oscdump never printed {text!r}; it printed {self.seen}")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


@pytest.fixture
def dump() -> Iterator[Dump]:
    d = Dump()
    yield d
    d.close()


def oscsend(*args: str) -> None:
    subprocess.run([liblo_tool("oscsend"), *args], check=True, timeout=10)


@pytest.fixture
def player(ctx):
    p = make_player(ctx, load_show(OSC_SHOW), start_cue="1")
    p.clock.start()
    yield p
    p.renderer.release()


def test_oscsend_fires_cues_and_oscdump_gets_the_feedback(player, dump):
    def step():
        player.step(player.clock())

    with OscServer(player, port=0) as server:
        port = str(server.port)
        oscsend("127.0.0.1", port, "/subscribe", "i", str(dump.port))
        dump.wait_for('/status/cue ss "1" "preshow"', step=step)
        oscsend("127.0.0.1", port, "/go")
        dump.wait_for('/status/cue ss "2" "clip"', step=step)
        dump.wait_for('/status/next ss "3" "emblem"', step=step)
        oscsend("127.0.0.1", port, "/layer/logo/opacity", "f", "0.25")
        oscsend("127.0.0.1", port, "/nonsense", "i", "1")
        line = dump.wait_for("/error s", step=step)
        assert "unknown address '/nonsense'" in line
        wait_until(lambda: (step(), player.engine.opacity_target("logo") == 0.25)[1])
        # liblo over TCP (its own stream framing)
        oscsend(f"osc.tcp://127.0.0.1:{port}", "/cue/4/start")
        dump.wait_for('/status/cue ss "4" "out"', step=step)
        oscsend("127.0.0.1", port, "/unsubscribe")


def test_run_show_headless_answers_oscsend_with_feedback(dump):
    with ShowProcess("shows/demo", "--headless", "--osc-port", "0", "--duration", "60") as show:
        port = str(show.port)
        oscsend("127.0.0.1", port, "/subscribe", "i", str(dump.port))
        dump.wait_for('/status/cue ss "1" "preshow"', timeout_s=10)
        oscsend("127.0.0.1", port, "/go")
        dump.wait_for('/status/cue ss "2" "clip"')
        dump.wait_for("/status/heartbeat i")
        oscsend("127.0.0.1", port, "/quit")
        assert show.proc.wait(timeout=10) == 0
