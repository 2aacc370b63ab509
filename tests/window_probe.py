"""Run in a fresh process by test_window_output: open a projector window, render, read back.

A separate process keeps pyglet's GLX context apart from the EGL context the rest of the
test session uses. With DISPLAY set:
``python -m tests.window_probe OUT.npz WORK_DIR windowed|fullscreen WxH``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mapping.outputs import WindowOutputs
from mapping.player import ShowPlayer
from tests.showkit import single_surface_show, textured_image


def main(out_file: Path, work_dir: Path, mode: str, size: tuple[int, int]) -> None:
    H = np.array([[0.9, 0.08, 12.0], [-0.05, 0.95, 9.0], [0.0004, 0.0002, 1.0]])
    show = single_surface_show(work_dir, textured_image(160, 120), H, size)
    outputs = WindowOutputs(show.outputs, windowed=mode == "windowed")
    try:
        player = ShowPlayer(show, outputs)
        renderer = player.renderer
        player.always_draw = True
        for n in range(3):  # let the X server map the window before the frame we read
            outputs.poll()
            player.step(n / 30)
        on_screen = outputs.read_window(0)
        player.always_draw = False  # a still picture: the next frames are not drawn
        drawn = player.drawn
        for n in range(3, 13):
            outputs.poll()
            player.step(n / 30)
        np.savez(
            out_file,
            on_screen=on_screen,
            offscreen=renderer.read_output("out")[..., :3],
            held=outputs.read_window(0),
            drawn_while_held=np.array(player.drawn - drawn),
            renderer=np.array(outputs.ctx.info["GL_RENDERER"]),
        )
        renderer.release()
    finally:
        outputs.close()


if __name__ == "__main__":
    width, height = (int(v) for v in sys.argv[4].split("x"))
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], (width, height))
