"""A virtual camera for live-input tests and the live bench: raw RGB frames written in real
time into a named pipe (FIFO), each carrying the monotonic time it was written, in the
picture itself, as 48 black/white blocks.

Unplugging is deleting the pipe and closing it (the reader sees the stream end, then no
device); plugging in again is a new pipe and a new writer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BLOCK_PX = 8
STAMP_SIZE_PX = (64, 48)  # 8 x 6 blocks of 8 px: 48 bits of microseconds (8.9 years)
_COLS, _ROWS = STAMP_SIZE_PX[0] // BLOCK_PX, STAMP_SIZE_PX[1] // BLOCK_PX
STAMP_BITS = _COLS * _ROWS


def stamp_into(image: np.ndarray, time_us: int) -> np.ndarray:
    """Write ``time_us`` into the top-left 64x48 pixels of ``image`` (RGB uint8, at least
    that big) as black/white blocks (row-major, MSB first, white = 1); returns ``image``."""
    bits = [(time_us >> (STAMP_BITS - 1 - i)) & 1 for i in range(STAMP_BITS)]
    grid = np.array(bits, dtype=np.uint8).reshape(_ROWS, _COLS) * 255
    blocks = np.kron(grid, np.ones((BLOCK_PX, BLOCK_PX), dtype=np.uint8))
    image[: STAMP_SIZE_PX[1], : STAMP_SIZE_PX[0], :3] = blocks[..., None]
    return image


def stamp_image(time_us: int, size_px: tuple[int, int] = STAMP_SIZE_PX) -> np.ndarray:
    """A grey RGB frame of ``size_px`` with ``time_us`` stamped in its top-left corner."""
    w, h = size_px
    return stamp_into(np.full((h, w, 3), 96, dtype=np.uint8), time_us)


def read_stamp(image: np.ndarray, scale: float = 1.0) -> int:
    """The time (µs) stamped by :func:`stamp_into`, read at block centres of ``image`` (RGB
    or RGBA; ``scale``: how much the picture was enlarged since it was stamped)."""
    value = 0
    for r in range(_ROWS):
        for c in range(_COLS):
            y, x = int((r + 0.5) * BLOCK_PX * scale), int((c + 0.5) * BLOCK_PX * scale)
            value = (value << 1) | int(image[y, x, :3].mean() >= 128)
    return value


class FifoCamera:
    """Writes stamped raw RGB frames into the named pipe ``path`` at ``fps``.

    The writer is a thread, or with ``process=True`` a separate Python process, whose
    stamps do not wait for this process's interpreter lock (the bench: a real camera
    captures on time whatever the show is doing). The pipe is created by :meth:`start`;
    :meth:`unplug` deletes it and stops the writer.
    """

    def __init__(
        self,
        path: Path,
        fps: float = 30.0,
        size_px: tuple[int, int] = STAMP_SIZE_PX,
        *,
        process: bool = False,
    ) -> None:
        self.path = path
        self.fps = fps
        self.size_px = size_px
        self.process = process
        self._stop = threading.Event()
        self.paused = threading.Event()  # set: the writer thread keeps the pipe, sends nothing
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def options(self) -> dict[str, str]:
        """The FFmpeg ``rawvideo`` input options that read this camera."""
        w, h = self.size_px
        return {"video_size": f"{w}x{h}", "pixel_format": "rgb24", "framerate": f"{self.fps:g}"}

    def start(self) -> FifoCamera:
        os.mkfifo(self.path)
        if self.process:
            w, h = self.size_px
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.livekit", str(self.path), str(w), str(h),
                 str(self.fps)],
                cwd=REPO,
            )  # fmt: skip
        else:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="fifo-camera", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        write_frames(self.path, self.size_px, self.fps, self._stop.is_set, self.paused.is_set)

    def unplug(self) -> None:
        """Delete the pipe, then stop writing (the reader sees the end of the stream)."""
        # A reader of our own releases a writer still waiting in open() for one.
        release = None
        with contextlib.suppress(OSError):
            release = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._stop.set()
        if self._proc is not None:
            self._proc.terminate()
        if release is not None:
            os.close(release)
        if self._thread is not None:
            self._thread.join(2.0)
        if self._proc is not None:
            self._proc.wait(5.0)


def write_frames(
    path: Path,
    size_px: tuple[int, int],
    fps: float,
    stopped: Callable[[], bool],
    paused: Callable[[], bool] = lambda: False,
) -> None:
    """Open the pipe (waits for a reader) and write a stamped frame every ``1 / fps`` s
    (none while ``paused()``: the pipe stays open, like a capture card without signal)."""
    try:
        with open(path, "wb", buffering=0) as pipe:
            start = time.monotonic()
            n = 0
            frame = stamp_image(0, size_px)
            while not stopped():
                delay = start + n / fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                n += 1
                if paused():
                    continue
                stamp_into(frame, time.monotonic_ns() // 1000)
                pipe.write(frame.data)
    except OSError:  # the reader went away (BrokenPipeError), or the pipe did
        pass


if __name__ == "__main__":  # the writer process of FifoCamera(process=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fifo, width, height, rate = sys.argv[1:5]
    write_frames(Path(fifo), (int(width), int(height)), float(rate), lambda: False)
