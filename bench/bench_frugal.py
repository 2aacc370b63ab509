"""Frugal: what a held picture costs. CPU share and frames actually drawn per second for a
still cue (image + solid colour), a video cue and a generator cue, run live (headless, the
demo show's outputs and media) at 30 fps — each against the same cue with redraw-only-on-
change turned off (``always_draw``, the old behaviour) in the same process.

    python bench/bench_frugal.py [--seconds 10] [--fps 30]

Target (issue 10): a held still picture costs at most 5 % of one core.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (this checkout first on sys.path)
from _common import REPO, format_table

from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show

_SHOW = """
schema_version = 1
name = "frugal {name}"
[canvas]
size = [1600, 900]
[[outputs]]
name = "left"
resolution = [1280, 720]
[[outputs]]
name = "right"
resolution = [1280, 720]
[[surfaces]]
name = "left-wing"
output = "left"
polygon = [[0, 0], [800, 0], [800, 900], [0, 900]]
corners = [[96, 38], [1188, 84], [1214, 700], [70, 684]]
[[surfaces]]
name = "right-wing"
output = "right"
polygon = [[800, 0], [1600, 0], [1600, 900], [800, 900]]
corners = [[40, 20], [1240, 30], [1250, 700], [30, 690]]
[[layers]]
name = "wash"
kind = "solid"
color = "#203060"
{layer}
"""
_LAYERS = {
    "still": '[[layers]]\nname = "logo"\nkind = "image"\nfile = "media/logo.png"\n'
    "region = [1000, 330, 300, 300]",
    "video": '[[layers]]\nname = "clip"\nkind = "video"\nfile = "media/clip.mp4"\n'
    "region = [130, 240, 640, 360]",
    "generator": '[[layers]]\nname = "sky"\nkind = "shader"\nshader = "shaders/aurora.glsl"',
}


def _measure(show_dir: Path, seconds: float, fps: float, always_draw: bool) -> tuple[float, float]:
    player = ShowPlayer(load_show(show_dir), HeadlessOutputs())
    player.always_draw = always_draw
    player.step(0.0)  # open content before timing
    cpu0, wall0, drawn0 = time.process_time(), time.perf_counter(), player.drawn
    player.run(fps=fps, duration_s=seconds)  # closes the player
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / wall * 100.0, (player.drawn - drawn0) / wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, layer in _LAYERS.items():
            folder = Path(tmp) / name
            shutil.copytree(REPO / "shows" / "demo" / "media", folder / "media")
            shutil.copytree(REPO / "shows" / "demo" / "shaders", folder / "shaders")
            (folder / "show.toml").write_text(_SHOW.format(name=name, layer=layer))
            base_cpu, base_fps = _measure(folder, args.seconds, args.fps, always_draw=True)
            cpu, drawn = _measure(folder, args.seconds, args.fps, always_draw=False)
            verdict = "ok" if name != "still" or cpu <= 5.0 else "OVER 5 %"
            rows.append([name, f"{base_cpu:.1f} %", f"{base_fps:.1f}", f"{cpu:.1f} %",
                         f"{drawn:.1f}", verdict])  # fmt: skip
    print(f"{args.seconds:g} s per run at {args.fps:g} fps, headless, 2 outputs 1280×720")
    print(format_table(
        ["cue", "CPU (always draw)", "drawn/s", "CPU (on change)", "drawn/s", "target"], rows
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
