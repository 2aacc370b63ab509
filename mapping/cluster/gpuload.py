"""A render node's GPU load, where the machine says it, read on a thread of its own.

Sources, in order: the kernel's ``/sys/class/drm/card*/device/gpu_busy_percent`` (amdgpu:
a file read, cheap), else NVIDIA's ``nvidia-smi --query-gpu=utilization.gpu
--format=csv,noheader,nounits`` (a process, with a time limit), else nothing — the load is
then None, shown as "unknown". With several GPUs the busiest one counts (the node's
outputs may hang off any of them). :class:`GpuLoadWatch` samples once a second on a daemon
thread, so neither the render loop nor the heartbeat ever waits for ``nvidia-smi``;
:attr:`GpuLoadWatch.load` is the latest figure, a fraction 0..1.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SYSFS_DRM = Path("/sys/class/drm")
NVIDIA_SMI_ARGS = ("--query-gpu=utilization.gpu", "--format=csv,noheader,nounits")
SAMPLE_PERIOD_S = 1.0
NVIDIA_SMI_TIMEOUT_S = 2.0
STALE_AFTER = 5
"""Samples in a row without an answer after which the load is unknown again."""


def parse_nvidia_smi(text: str) -> float | None:
    """The busiest GPU's load (0..1) from ``nvidia-smi``'s CSV (one percentage per GPU);
    None when no line is a number (``[N/A]``, ``[Not Supported]``, nothing)."""
    values = []
    for line in text.splitlines():
        try:
            percent = float(line.strip())
        except ValueError:
            continue
        if 0.0 <= percent <= 100.0:
            values.append(percent / 100.0)
    return max(values) if values else None


def parse_busy_percent(text: str) -> float | None:
    """amdgpu's ``gpu_busy_percent`` (an integer 0..100) as a fraction; None otherwise."""
    try:
        percent = int(text.strip())
    except ValueError:
        return None
    return percent / 100.0 if 0 <= percent <= 100 else None


def busy_files(drm: Path = SYSFS_DRM) -> list[Path]:
    """The ``gpu_busy_percent`` files of the machine's cards (amdgpu exposes them)."""
    try:
        return sorted(drm.glob("card*/device/gpu_busy_percent"))
    except OSError:
        return []


class GpuLoadWatch:
    """Samples the GPU load every ``period_s`` on its own thread (see the module text).

    ``drm``: the sysfs DRM folder; ``nvidia_smi``: the program (None: looked up on PATH;
    ``""``: never).
    """

    def __init__(
        self,
        period_s: float = SAMPLE_PERIOD_S,
        *,
        drm: Path = SYSFS_DRM,
        nvidia_smi: str | None = None,
    ) -> None:
        self.period_s = period_s
        self.files = busy_files(drm)
        smi = shutil.which("nvidia-smi") if nvidia_smi is None else (nvidia_smi or None)
        self.nvidia_smi = smi
        self.source: str | None = (
            "amdgpu sysfs" if self.files else ("nvidia-smi" if smi is not None else None)
        )
        self.load: float | None = None
        """The latest load, 0..1; None: unknown (no source, or it stopped answering)."""
        self._misses = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> GpuLoadWatch:
        if self.source is None:
            log.info("GPU load: unknown on this machine (no gpu_busy_percent, no nvidia-smi)")
            return self
        self._thread = threading.Thread(target=self._loop, name="gpu-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=NVIDIA_SMI_TIMEOUT_S + 1.0)

    def sample(self) -> float | None:
        """One reading now (the thread's work; blocking, up to the nvidia-smi time limit)."""
        if self.files:
            values = []
            for f in self.files:
                try:
                    value = parse_busy_percent(f.read_text())
                except OSError:
                    continue
                if value is not None:
                    values.append(value)
            return max(values) if values else None
        if self.nvidia_smi is None:
            return None
        try:
            done = subprocess.run(
                [self.nvidia_smi, *NVIDIA_SMI_ARGS],
                capture_output=True,
                text=True,
                timeout=NVIDIA_SMI_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.debug("nvidia-smi: %s", exc)
            return None
        return parse_nvidia_smi(done.stdout) if done.returncode == 0 else None

    def _loop(self) -> None:
        while not self._stop.is_set():
            value = self.sample()
            if value is not None:
                self.load, self._misses = value, 0
            else:
                self._misses += 1
                if self._misses >= STALE_AFTER:
                    self.load = None
            self._stop.wait(self.period_s)


def describe(load: float | None) -> str:
    """``"37 %"``, or ``"unknown"``."""
    return "unknown" if load is None else f"{round(load * 100)} %"
