"""Reload latency: from a file saved in a running show's folder to the first frame on the
output that shows it, against a cold start (load the show + first frame) in the same run.

What it measures
    A headless player runs a small show (one output, ``--size``, default 1280×720; three
    layers side by side: a GLSL generator ``shaders/glow.glsl``, an image
    ``media/picture.png`` and a solid colour set in ``show.toml``) with the folder watcher
    of a live ``run`` (``mapping.reload.ShowWatcher``, its default debounce), frames paced
    at ``--fps`` (default 60) on this thread, as ``ShowPlayer.run`` paces them. Each sample
    saves one file with a new colour, written in place as an editor or a copy does (open,
    write, close), then steps frames until the output's pixel in that layer's third shows
    the new colour. Rows:

    * ``shader edited``: ``shaders/glow.glsl`` rewritten with another constant colour;
    * ``image replaced``: ``media/picture.png`` rewritten (a PNG of another colour);
    * ``show.toml edited``: the solid layer's ``color`` changed;
    * ``of which: save → watcher reports``: the part of the three rows above until the
      watcher submits ``show.reload`` (the rest: waiting for the next frame, the frame);
    * ``cold start (baseline)``: ``load_show`` + ``ShowPlayer`` (GL programs, outputs) +
      the first frame, in this process (GL context and Mesa's
      shader cache warm): the least a restart could cost;
    * ``restart: new process, first frame``: ``run_show.py render`` of the same folder
      (``--restarts`` samples): Python start, imports, GL context, programs, one frame
      written — nearer what stopping and starting the show costs (without windows, media
      pre-roll or finding the cue again).

    The clock starts when the file is closed and stops when the frame that shows the
    change has been rendered and presented (``ShowPlayer.step`` returned); the check that
    it shows the change (the whole output read back, ``Renderer.read_output``, after each
    frame actually drawn) is not counted. The player draws only
    frames that change, as it does live for a still picture; ``--always-draw`` draws every
    frame, the load of a moving show (on llvmpipe at 1280×720 that saturates the CPU, and
    the watcher's own threads then wait for it).
    ``frame with the reload`` is the duration of the one frame that applied each reload
    (re-validating the show, rebuilding geometry, opening the new content, drawing),
    against ``frame (no change)``, an ordinary frame of the same show.

How to read the table
    Milliseconds: ``p50``, ``p95`` and ``max`` over ``--samples`` samples; ``× cold start``
    is the row's p50 over the cold start's p50 (below 1: picking the edit up live is
    quicker than restarting, besides keeping the cue state and the show time). The
    latency is mostly the watcher's debounce (``mapping.reload.DEBOUNCE_S``) and waiting
    for the writer's close; the frame rows show what the render thread pays.

    python bench/bench_reload.py [--samples 20] [--size 1280x720] [--fps 60]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _common  # noqa: F401  (this checkout first on sys.path)
import cv2
import numpy as np
from _common import REPO, format_table, one_output_show

from mapping.gl.context import create_headless_context
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.reload import DEBOUNCE_S, ShowWatcher
from mapping.show import load_show

LAYERS = """[[layers]]
name = "glow"
kind = "shader"
shader = "shaders/glow.glsl"
region = [0, 0, {third}, {h}]
[[layers]]
name = "picture"
kind = "image"
file = "media/picture.png"
region = [{third}, 0, {third}, {h}]
[[layers]]
name = "wash"
kind = "solid"
color = "{colour}"
region = [{two_thirds}, 0, {third}, {h}]
"""

SHADER = """// bench_reload: one constant colour
void mainImage(out vec4 fragColor, in vec2 fragCoord) {{
    fragColor = vec4({r:.4f}, {g:.4f}, {b:.4f}, 1.0);
}}
"""


def colour(i: int) -> tuple[int, int, int]:
    """A distinct colour per sample (and never the one before)."""
    return (40 + (i * 37) % 200, 30 + (i * 71) % 200, 20 + (i * 53) % 200)


class Folder:
    def __init__(self, root: Path, size: tuple[int, int]) -> None:
        self.root, self.size = root, size
        (root / "media").mkdir(parents=True)
        (root / "shaders").mkdir()
        self.shader(colour(0))
        self.picture(colour(0))
        self.show_toml(colour(0))

    def show_toml(self, rgb: tuple[int, int, int]) -> None:
        w, h = self.size
        text = one_output_show("reload bench", self.size) + LAYERS.format(
            w=w,
            h=h,
            third=w // 3,
            two_thirds=2 * (w // 3),
            colour="#{:02x}{:02x}{:02x}".format(*rgb),
        )
        (self.root / "show.toml").write_text(text)

    def shader(self, rgb: tuple[int, int, int]) -> None:
        r, g, b = (c / 255.0 for c in rgb)
        (self.root / "shaders" / "glow.glsl").write_text(SHADER.format(r=r, g=g, b=b))

    def picture(self, rgb: tuple[int, int, int]) -> None:
        image = np.empty((64, 64, 3), np.uint8)
        image[:] = rgb[::-1]  # OpenCV writes BGR
        ok, data = cv2.imencode(".png", image)
        assert ok
        (self.root / "media" / "picture.png").write_bytes(data.tobytes())


def shows(player: ShowPlayer, x: int, rgb: tuple[int, int, int]) -> bool:
    image = player.renderer.read_output("out")
    got = image[image.shape[0] // 2, x, :3].astype(int)
    return bool(np.all(np.abs(got - rgb) <= 2))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure_edits(
    folder: Folder, samples: int, fps: float, ctx: object, always_draw: bool = False
) -> tuple[dict[str, list[float]], list[float], list[float]]:
    """Latency per kind of edit (s), durations of the frames that applied a reload and of
    ordinary frames (s)."""
    w = folder.size[0]
    player = ShowPlayer(load_show(folder.root), HeadlessOutputs(ctx))
    player.always_draw = always_draw
    submitted: list[float] = []  # when the watcher asked for each reload
    submit = player.submit

    def timed_submit(name: str, *values: object, **kw: object) -> object:
        if name == "show.reload":
            submitted.append(time.perf_counter())
        return submit(name, *values, **kw)  # type: ignore[arg-type]

    player.submit = timed_submit  # type: ignore[method-assign]
    watcher = ShowWatcher(player).start()
    period = 1.0 / fps
    t_show = 0.0
    reload_frames: list[float] = []
    plain_frames: list[float] = []

    next_slot = time.perf_counter()
    presented = 0.0  # when the latest frame was rendered and presented

    def frame() -> None:
        """One frame at its slot (after sleeping until it is due), as ShowPlayer.run."""
        nonlocal t_show, next_slot
        time.sleep(max(0.0, next_slot - time.perf_counter()))
        next_slot = max(next_slot + period, time.perf_counter())
        generation = player.live.generation
        start = time.perf_counter()
        player.step(t_show)
        nonlocal presented
        presented = time.perf_counter()
        took = presented - start
        (reload_frames if player.live.generation != generation else plain_frames).append(took)
        t_show += period

    edits: dict[str, tuple[Callable[[tuple[int, int, int]], None], int]] = {
        "shader edited": (folder.shader, w // 6),
        "image replaced": (folder.picture, w // 2),
        "show.toml edited": (folder.show_toml, w // 3 * 2 + w // 6),
    }
    latencies: dict[str, list[float]] = {name: [] for name in edits}
    latencies["of which: save → watcher reports"] = []
    try:
        for _ in range(5):
            frame()
        i = 0
        for _ in range(samples):
            for name, (save, x) in edits.items():
                i += 1
                rgb = colour(i)
                save(rgb)
                saved = time.perf_counter()
                deadline = saved + 10.0
                drawn = -1
                while drawn == player.drawn or not shows(player, x, rgb):
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"{name}: the change never reached the output")
                    drawn = player.drawn
                    frame()
                latencies[name].append(presented - saved)  # not the read-back after it
                reported = [t for t in submitted if t >= saved]
                if reported:
                    latencies["of which: save → watcher reports"].append(reported[0] - saved)
                for _ in range(3):
                    frame()  # let the watcher settle between samples
    finally:
        watcher.close()
        player.renderer.release()
    return latencies, reload_frames, plain_frames


def measure_cold(folder: Folder, samples: int, ctx: object) -> list[float]:
    w = folder.size[0]
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        player = ShowPlayer(load_show(folder.root), HeadlessOutputs(ctx))
        player.step(0.0)
        out.append(time.perf_counter() - start)
        if not shows(player, w // 2, colour(0)):  # (not timed) the show's first frame
            raise RuntimeError("cold start: the first frame does not show the picture")
        player.renderer.release()
    return out


def measure_restart(folder: Folder, samples: int) -> list[float]:
    """A new process that loads the show and writes its first frame (``run_show.py
    render``): imports, GL context, programs, the frame, a PNG."""
    out = []
    for i in range(samples):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPO / "run_show.py"), "render", str(folder.root),
             "--out", str(folder.root.parent / f"render-{i}")],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--size", default="1280x720", help="output size WxH (default 1280x720)")
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument(
        "--always-draw",
        action="store_true",
        help="draw every frame (a moving show's load) instead of only frames that change",
    )
    parser.add_argument(
        "--restarts", type=int, default=3, help="samples of the new-process row (0: none)"
    )
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    logging.basicConfig(level=logging.WARNING)
    ctx = create_headless_context()
    renderer = ctx.info.get("GL_RENDERER", "?")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Folder(Path(tmp) / "show", size)  # type: ignore[arg-type]
            cold = measure_cold(folder, args.samples, ctx)
            restart = measure_restart(folder, args.restarts)
            latencies, reload_frames, plain_frames = measure_edits(
                folder, args.samples, args.fps, ctx, args.always_draw
            )
    finally:
        ctx.release()
    cold_p50 = statistics.median(cold)
    rows = []
    baselines = [("cold start (baseline)", cold), ("restart: new process, first frame", restart)]
    for name, values in [*latencies.items(), *baselines]:
        if not values:
            continue
        ms = [v * 1000.0 for v in values]
        rows.append(
            [
                name,
                str(len(ms)),
                f"{percentile(ms, 50):.1f}",
                f"{percentile(ms, 95):.1f}",
                f"{max(ms):.1f}",
                f"{statistics.median(values) / cold_p50:.2f}",
            ]
        )
    for name, values in (
        ("frame with the reload", reload_frames),
        ("frame (no change)", plain_frames),
    ):
        ms = [v * 1000.0 for v in values] or [float("nan")]
        rows.append(
            [name, str(len(values)), f"{percentile(ms, 50):.1f}", f"{percentile(ms, 95):.1f}",
             f"{max(ms):.1f}", ""]
        )  # fmt: skip
    drawing = ", every frame drawn" if args.always_draw else ", frames drawn on change"
    print(
        f"Reload latency, save → first frame on the output; {size[0]}×{size[1]} output, "
        f"{args.fps:g} fps{drawing}, watcher debounce {DEBOUNCE_S * 1000:.0f} ms, GL: {renderer}"
    )
    print(format_table(["row", "n", "p50 ms", "p95 ms", "max ms", "× cold start"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
