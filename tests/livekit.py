"""A virtual camera for live-input tests and the live bench: raw RGB frames written in real
time into a named pipe (FIFO), each carrying the monotonic time it was written, in the
picture itself, as 48 black/white blocks.

Unplugging is deleting the pipe and closing it (the reader sees the stream end, then no
device); plugging in again is a new pipe and a new writer.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import numpy as np

BLOCK_PX = 8
STAMP_SIZE_PX = (64, 48)  # 8 x 6 blocks of 8 px: 48 bits of microseconds (8.9 years)
STAMP_BITS = (STAMP_SIZE_PX[0] // BLOCK_PX) * (STAMP_SIZE_PX[1] // BLOCK_PX)


def stamp_image(time_us: int, size_px: tuple[int, int] = STAMP_SIZE_PX) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` whose blocks spell ``time_us`` in binary (row-major, MSB
    first, white = 1)."""
    w, h = size_px
    cols, rows = w // BLOCK_PX, h // BLOCK_PX
    bits = [(time_us >> (cols * rows - 1 - i)) & 1 for i in range(cols * rows)]
    grid = np.array(bits, dtype=np.uint8).reshape(rows, cols) * 255
    blocks = np.kron(grid, np.ones((BLOCK_PX, BLOCK_PX), dtype=np.uint8))
    image = np.zeros((h, w, 3), dtype=np.uint8)
    image[: rows * BLOCK_PX, : cols * BLOCK_PX] = blocks[..., None]
    return image


def read_stamp(image: np.ndarray, size_px: tuple[int, int] | None = None) -> int:
    """The time (µs) spelled by :func:`stamp_image`, read at block centres of ``image``
    (RGB or RGBA; it may be scaled: blocks are found in proportion)."""
    h, w = image.shape[:2]
    sw, sh = size_px or STAMP_SIZE_PX
    cols, rows = sw // BLOCK_PX, sh // BLOCK_PX
    value = 0
    for r in range(rows):
        for c in range(cols):
            y = int((r + 0.5) * BLOCK_PX * h / sh)
            x = int((c + 0.5) * BLOCK_PX * w / sw)
            value = (value << 1) | int(image[y, x, :3].mean() >= 128)
    return value


class FifoCamera:
    """Writes stamped raw RGB frames into the named pipe ``path`` at ``fps`` (a thread).

    The pipe is created by :meth:`start`; :meth:`unplug` deletes it and closes the writer.
    """

    def __init__(self, path: Path, fps: float = 30.0, size_px: tuple[int, int] = STAMP_SIZE_PX):
        self.path = path
        self.fps = fps
        self.size_px = size_px
        self.frames_written = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def options(self) -> dict[str, str]:
        """The FFmpeg ``rawvideo`` input options that read this camera."""
        w, h = self.size_px
        return {"video_size": f"{w}x{h}", "pixel_format": "rgb24", "framerate": f"{self.fps:g}"}

    def start(self) -> FifoCamera:
        os.mkfifo(self.path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fifo-camera", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with open(self.path, "wb", buffering=0) as pipe:  # waits for the reader
                start = time.monotonic()
                n = 0
                while not self._stop.is_set():
                    due = start + n / self.fps
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    image = stamp_image(time.monotonic_ns() // 1000, self.size_px)
                    pipe.write(image.tobytes())
                    self.frames_written += 1
                    n += 1
        except (BrokenPipeError, OSError):
            pass

    def unplug(self) -> None:
        """Delete the pipe, then stop writing (the reader sees the end of the stream)."""
        # A reader of our own releases a writer still waiting in open() for one.
        release = None
        with contextlib.suppress(OSError):
            release = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._stop.set()
        if release is not None:
            os.close(release)
        if self._thread is not None:
            self._thread.join(2.0)
