"""Run in a fresh process by test_window_span: a show whose outputs share one spanning
window (or get one window each), one output on a display that does not exist.

With DISPLAY set (an Xvfb screen 320×120): ``python -m tests.span_probe OUT.npz WORK_DIR
span|windows``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from mapping.outputs import WindowOutputs
from mapping.player import ShowPlayer
from mapping.show import Output, Surface
from tests.showkit import single_surface_show, textured_image


def _show(work_dir: Path, mode: str):
    base = single_surface_show(work_dir, textured_image(160, 120), np.eye(3), (160, 120))
    polygon = base.surfaces[0].polygon_canvas_px
    shift = np.array([[1.0, 0, -40.0], [0, 1, 0], [0, 0, 1]])  # right shows another part
    outputs = (
        Output("left", (160, 120), 0, (0, 0)),
        Output("right", (160, 120), 0, (160, 0)),
        Output("far", (160, 120), 3, (0, 0)),
    )
    surfaces = (
        Surface("l", "left", polygon, np.eye(3), "homography"),
        Surface("r", "right", polygon, shift, "homography"),
        Surface("f", "far", polygon, np.eye(3), "homography"),
    )
    span = (0, 3) if mode == "span" else ()
    return dataclasses.replace(base, outputs=outputs, surfaces=surfaces, span=span)


def main(out_file: Path, work_dir: Path, mode: str) -> None:
    show = _show(work_dir, mode)
    outputs = WindowOutputs(show.outputs, span=show.span)
    try:
        player = ShowPlayer(show, outputs)
        player.always_draw = True
        for n in range(3):  # let the X server map the windows before the frame we read
            outputs.poll()
            player.step(n / 30)
        screens = [outputs.read_window(i) for i in range(len(outputs.windows))]
        np.savez(
            out_file,
            windows=np.array(len(outputs.windows)),
            first=screens[0],
            second=screens[1] if len(screens) > 1 else np.zeros(0),
            left=player.renderer.read_output("left")[..., :3],
            right=player.renderer.read_output("right")[..., :3],
            far=player.renderer.read_output("far")[..., :3],
            missing=np.array(outputs.missing),
        )
        player.renderer.release()
    finally:
        outputs.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
