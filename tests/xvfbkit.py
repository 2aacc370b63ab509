"""A private Xvfb server for the window tests (the test fails when Xvfb is missing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def xvfb(screen: str = "640x480x24") -> Iterator[str]:
    """Start Xvfb with one screen of ``WxHxDEPTH``; yields its DISPLAY (``":N"``)."""
    binary = shutil.which("Xvfb")
    assert binary, "Xvfb is required for the window test (Debian package xvfb; scripts/setup.sh)"
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [binary, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not report a display number"
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
