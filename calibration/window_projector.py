"""The projector side of a live capture: a pattern full screen on one display (pyglet + GL).

This module is the one place in ``calibration/`` that opens a window. It reuses the show
runtime's :class:`mapping.outputs.WindowOutputs` (fullscreen on the display, or a borderless
window at the output's position) and its blit shader, so a pattern reaches the projector
through exactly the path a show frame takes. ``show(image)`` uploads the image, presents it
``frames`` times (double buffering plus one spare frame) and returns; the capture sequence
then waits its settle time for the projector's own latency.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import numpy as np

from calibration.errors import CalibrationError

logger = logging.getLogger(__name__)

OUTPUT_NAME = "calibration"


class WindowProjector:
    """Show uint8 grey/RGB images full screen on ``display`` (use as a context manager)."""

    def __init__(self, display: int, size: tuple[int, int], *, frames: int = 3) -> None:
        self.display = display
        self.size = size
        self.frames = frames
        self._outputs: Any = None
        self._texture: Any = None

    def __enter__(self) -> WindowProjector:
        from mapping.outputs import NoDisplayError, WindowOutputs
        from mapping.show import Output

        try:
            self._outputs = WindowOutputs((Output(OUTPUT_NAME, self.size, self.display),))
        except NoDisplayError as exc:
            raise CalibrationError(
                f"cannot open a window on display {self.display} for the patterns: {exc}. Run "
                "on the machine the projector is connected to, or write the patterns with "
                "'calibrate patterns' and photograph them by hand."
            ) from exc
        self._texture = self._outputs.ctx.texture(self.size, 4)
        return self

    def show(self, image: np.ndarray) -> None:
        if self._outputs is None:
            raise CalibrationError("the projector window is not open")
        img = np.asarray(image, dtype=np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.shape[:2] != (self.size[1], self.size[0]):
            raise CalibrationError(
                f"pattern is {img.shape[1]}x{img.shape[0]}, projector is "
                f"{self.size[0]}x{self.size[1]}"
            )
        rgba = np.concatenate([img[:, :, :3], np.full((*img.shape[:2], 1), 255, np.uint8)], 2)
        self._outputs.make_current()
        self._texture.write(np.ascontiguousarray(rgba).tobytes())
        for _ in range(self.frames):
            self._outputs.present({OUTPUT_NAME: self._texture})
            self._outputs.poll()
        self._outputs.ctx.finish()

    def read_back(self) -> np.ndarray:
        """What the window shows now (RGB), read from the X server (tests)."""
        return self._outputs.read_window(0)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._outputs is not None:
            if self._texture is not None:
                self._texture.release()
            self._outputs.close()
            self._outputs = None
