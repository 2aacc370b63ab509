"""Structured-light capture through a running show: patterns go out as registry commands.

:class:`ShowProjector` is the capture sequence's :class:`~calibration.capture.Projector` for a
show that is running (``run_show.py calibrate capture --show SHOW_DIR --output NAME``): each
pattern is written into the show folder (``.calibration-patterns/``) and shown full screen on
the chosen output with the ``output.image`` command, the same command a technician's tablet
can send over OSC. :meth:`ShowProjector.show` returns only once the render thread has
applied the command and presented ``frames`` more frames, so the camera never sees the
previous pattern (the capture sequence still checks each grab and retakes a frame caught
mid-change). No GL here: the player's render thread does all of it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from calibration.errors import CalibrationError

log = logging.getLogger(__name__)

PATTERN_FOLDER = ".calibration-patterns"


class ShowProjector:
    """Shows capture patterns on one output of a running :class:`~mapping.player.ShowPlayer`."""

    def __init__(
        self, player: Any, output: str, *, frames: int = 2, timeout_s: float = 5.0
    ) -> None:
        if output not in player.live.output_names():
            names = ", ".join(player.live.output_names())
            raise CalibrationError(f"the show has no output '{output}'; its outputs: {names}")
        self.player = player
        self.output = output
        self.frames = frames
        self.timeout_s = timeout_s
        self.size = player.live.show.output(output).resolution
        self.folder = Path(player.live.show.root) / PATTERN_FOLDER
        self.folder.mkdir(exist_ok=True)
        self._presented = 0
        self._changed = threading.Condition()
        player.frame_listeners.append(self._after_frame)

    def _after_frame(self, player: Any) -> None:
        with self._changed:
            self._presented += 1
            self._changed.notify_all()

    def show(self, image: np.ndarray) -> None:
        """Put ``image`` (grey or RGB uint8, the output's size) on the output and wait until
        it has been presented ``frames`` times."""
        img = np.asarray(image, dtype=np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if (img.shape[1], img.shape[0]) != tuple(self.size):
            raise CalibrationError(
                f"pattern is {img.shape[1]}×{img.shape[0]}, output '{self.output}' is "
                f"{self.size[0]}×{self.size[1]}: use --projector {self.size[0]}x{self.size[1]}"
            )
        file = self.folder / "pattern.png"
        if not cv2.imwrite(str(file), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise CalibrationError(f"could not write {file}")
        self._command(f"{PATTERN_FOLDER}/pattern.png")

    def _command(self, file: str) -> None:
        ticket = self.player.submit(
            "output.image", file, path={"output": self.output}, source="calibrate"
        )
        result = ticket.wait(self.timeout_s)
        if result is None:
            raise CalibrationError(f"the show did not draw a frame in {self.timeout_s:.0f} s")
        if not result.ok:
            raise CalibrationError(result.message)
        with self._changed:
            target = self._presented + self.frames
            if not self._changed.wait_for(
                lambda: self._presented >= target, timeout=self.timeout_s
            ):
                raise CalibrationError(f"output '{self.output}' stopped presenting frames")

    def close(self) -> None:
        """Back to the show on that output; stop listening to frames."""
        try:
            self._command("")
        except CalibrationError as exc:
            log.warning("could not return output '%s' to the show: %s", self.output, exc)
        finally:
            if self._after_frame in self.player.frame_listeners:
                self.player.frame_listeners.remove(self._after_frame)


def capture_in_show(
    show_dir: Path,
    output: str,
    patterns: list[np.ndarray],
    camera: Any,
    layout: Any,
    *,
    settle_s: float = 0.15,
    max_retries: int = 3,
    outputs: Any = None,
    fps: float = 60.0,
) -> tuple[list[np.ndarray], Any]:
    """Run the show in ``show_dir`` (windows unless ``outputs`` is given) and capture
    ``patterns`` on ``output`` through it; returns the capture sequence's result.

    The show renders on this thread (GL and windows need it); the capture runs on a worker
    thread and ends the show when done. Raises the capture's CalibrationError.
    """
    from calibration.capture import capture_sequence
    from mapping.errors import ValidationError
    from mapping.outputs import WindowOutputs
    from mapping.player import ShowPlayer
    from mapping.show import load_show

    try:
        show = load_show(show_dir)
    except ValidationError as exc:
        raise CalibrationError(f"{show_dir}: the show has problems:\n{exc}") from None
    if outputs is None:
        outputs = WindowOutputs(show.outputs)
    player = ShowPlayer(show, outputs)
    outcome: dict[str, Any] = {}

    def work() -> None:
        projector = None
        try:
            projector = ShowProjector(player, output)
            outcome["result"] = capture_sequence(
                patterns,
                projector,
                camera,
                layout=layout,
                settle_s=settle_s,
                max_retries=max_retries,
            )
        except Exception as exc:  # handed to the caller on the show's thread
            outcome["error"] = exc
        finally:
            if projector is not None:
                projector.close()
            player.submit("quit", source="key")

    threading.Thread(target=work, name="capture", daemon=True).start()
    player.run(fps=fps)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
