"""Two network namespaces joined by a veth pair, and time daemons in them, for the clock tests.

:class:`NamespacePair` creates ``mapping-test-clock-<token>-a`` / ``-b`` with a veth pair
and addresses from 10.231.x.x (only inside those namespaces), and deletes them on exit even
after a failure. :class:`Daemon` runs one daemon in a namespace with its own files in a
temporary folder, killed on exit. Needs root and ``ip netns`` (:func:`netns_problem`).
Nothing here touches the machine's clock: chronyd runs with ``-x``, ptp4l with
``free_running 1``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


def netns_problem() -> str | None:
    """Why namespaces cannot be used here (None: they can)."""
    if os.geteuid() != 0:
        return "the clock daemon tests need root (network namespaces)"
    if shutil.which("ip") is None:
        return "the clock daemon tests need iproute2's ip"
    name = f"mapping-test-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class NamespacePair:
    """Namespaces ``a`` and ``b``, veth ``veth_a`` ↔ ``veth_b``, ``addr_a`` / ``addr_b``."""

    def __init__(self) -> None:
        token = secrets.token_hex(3)
        self.a = f"mapping-test-clock-{token}-a"
        self.b = f"mapping-test-clock-{token}-b"
        self.veth_a = f"vc{token}a"
        self.veth_b = f"vc{token}b"
        subnet = 1 + secrets.randbelow(254)
        self.addr_a = f"10.231.{subnet}.1"
        self.addr_b = f"10.231.{subnet}.2"

    def __enter__(self) -> NamespacePair:
        try:
            _ip("netns", "add", self.a)
            _ip("netns", "add", self.b)
            _ip("link", "add", self.veth_a, "type", "veth", "peer", "name", self.veth_b)
            _ip("link", "set", self.veth_a, "netns", self.a)
            _ip("link", "set", self.veth_b, "netns", self.b)
            for ns, dev, addr in (
                (self.a, self.veth_a, self.addr_a),
                (self.b, self.veth_b, self.addr_b),
            ):
                _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
                _ip("-n", ns, "link", "set", dev, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Delete both namespaces (their veth ends go with them) and a veth left outside."""
        for ns in (self.a, self.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.veth_a], capture_output=True)


class Daemon:
    """One daemon process inside a namespace; its output goes to ``log``."""

    def __init__(self, namespace: str, argv: Sequence[str], log: Path) -> None:
        self.argv = list(argv)
        self.log = log
        self._out = open(log, "wb")
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(3)
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.argv[0]} ended (status {self.process.returncode}):\n{self.output()}"
            )


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout_s: float,
    daemons: Sequence[Daemon] = (),
    every_s: float = 0.2,
) -> T:
    """``probe()`` until it gives a value (not None), at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        for daemon in daemons:
            daemon.check_alive()
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {d.argv[0]} ---\n{d.output()}" for d in daemons)
            raise AssertionError(f"{what}: not within {timeout_s:g} s\n{logs}")
        time.sleep(every_s)
