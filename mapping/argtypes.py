"""Argument types for every command-line parser: numbers checked where they are parsed.

Each function here is an ``argparse`` ``type=``: it turns the text into a value or raises
:class:`argparse.ArgumentTypeError` saying what was expected, so ``--fps 0``,
``--fps nan``, ``--duration inf`` or ``--osc-port 70000`` is an argument error (usage,
the message, exit code 2) before any work starts, never a traceback or a run that never
ends. ``run_show.py`` (run, render, schedule) and ``calibrate`` use these, and nothing
else parses a number from the command line. The bounds are documented in
docs/operations.md ("Bad input").
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_FPS = 1000.0
"""Highest frame rate a command accepts (no projector refreshes faster)."""
MAX_SECONDS = 1e9
"""Longest duration or latest start time, in seconds (about 31 years; keeps n / fps exact)."""
MAX_FRAMES = 10_000_000
"""Most frames one ``render`` writes (over three days at 30 fps)."""
MAX_SIZE_PX = 16384
"""Largest width or height of a WIDTHxHEIGHT argument (as a show's ``MAX_RESOLUTION``)."""


def _float(text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r} (not finite)")
    return value


def _int(text: str, expected: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def float_in(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[str], float]:
    """A ``type=`` for a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    if lo_open:
        expected = f"a number greater than {_num(lo)} and at most {_num(hi)}"
    else:
        expected = f"a number from {_num(lo)} to {_num(hi)}"

    def parse(text: str) -> float:
        value = _float(text, expected)
        if value < lo or value > hi or (lo_open and value == lo):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = "number"  # argparse's "invalid number value" for other failures
    return parse


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """A ``type=`` for a whole number in ``[lo, hi]``."""
    expected = f"a whole number from {lo} to {hi}"

    def parse(text: str) -> int:
        value = _int(text, expected)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


fps = float_in(0.0, MAX_FPS, lo_open=True)
"""Frames per second: finite, > 0, ≤ :data:`MAX_FPS`."""
positive_seconds = float_in(0.0, MAX_SECONDS, lo_open=True)
"""A duration in seconds: finite, > 0."""
nonnegative_seconds = float_in(0.0, MAX_SECONDS)
"""A time or delay in seconds: finite, ≥ 0."""
frames = int_in(1, MAX_FRAMES)
"""A number of frames: 1 or more."""
port = int_in(0, 65535)
"""A TCP/UDP port; 0 lets the system choose a free one."""
display = int_in(0, 63)
"""A display number, as a show's ``display = N``."""
count = int_in(0, 1000)
"""A small count (retries …)."""
seed = int_in(0, 2**32 - 1)
"""A random seed (numpy's range)."""
positive_pixels = float_in(0.0, 1e6, lo_open=True)
"""A distance in pixels: finite, > 0 (thresholds)."""
finite_number = float_in(-1e12, 1e12)
"""Any finite number of sane size (camera exposure in backend units …)."""


def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (``1920x1080``) with each side 2..:data:`MAX_SIZE_PX`."""
    expected = f"a size WIDTHxHEIGHT like 1920x1080, each side 2 to {MAX_SIZE_PX}"
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    width, height = int(parts[0]), int(parts[1])
    if not (2 <= width <= MAX_SIZE_PX and 2 <= height <= MAX_SIZE_PX):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return width, height


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``0.0.0.0:9100``, ``[::1]:9100``), port 0..65535."""
    host, sep, port = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT like 0.0.0.0:9100, got {text!r}")
    return host, int(port)
