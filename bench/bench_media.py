"""GO to the first frame of a pre-rolled clip, and peak memory with 8 clips named, 2 playing.

What it measures
    (a) **GO latency**, in frames and in the GO frame's own time. A show (generated here)
    has an image layer and a video layer; cue 1 shows the image, cue 2 changes the video
    layer's content to clip A, cue 3 to clip B. Every clip's frame 0 is solid magenta, the
    rest grey, so the frame 0 is seen on the output by reading back its pixels. From cue 1
    (cue 2 standby: the cue engine pre-rolls clip A), ``go`` is submitted and frames are
    stepped until magenta is on the output: ``frames`` counts the frames from the one that
    applies GO (1 = the next frame, the target). The baseline fires cue 3 instead
    (``cue.start 3``): clip B is not the standby cue's, so it is opened and decoded in the
    GO frame. ``GO frame ms`` is that frame's wall time (a live show at 30 fps has 33 ms),
    against ``frame ms before GO``, an ordinary frame of cue 1 (near 0: the player does
    not redraw a still picture whose state has not changed); ``extra ms`` is the median
    over runs of the difference, what GO itself costs the render thread. In both rows the GO frame
    also pre-rolls the new standby cue's clip (cue 3's B after GO, cue 4's C after
    ``cue.start 3``): today's renderer opens and prepares sources on the render thread, so
    that cost lands in the GO frame too.
    (b) **Peak memory** over ``--frames`` frames of two video layers playing (looping
    clips), with the show naming 8 clips (cues 2–4 change both layers' content; the cue
    engine pre-rolls the standby cue's two) against a show naming only the 2 playing clips
    (the baseline). ``RSS peak`` is the process's resident set sampled every frame (from
    /proc/self/statm) minus the RSS before the show was made; ``Python peak`` is
    tracemalloc's peak of Python (and numpy) allocations over the run. After a short
    warm-up run: baseline, 8-clip show, then the baseline again, in one process, so an
    order effect shows. The GO rows alternate, after one warm-up GO, for the same reason.

How
    ``ShowPlayer`` headless (EGL; on this machine llvmpipe) with a manual show clock: each
    frame is ``player.step(t)``, ``t`` advancing ``1/--fps``. Clips are H.264 (yuv420p,
    libx264 through PyAV), ``--clip-size`` (1920×1080), made in a temporary folder before
    timing; the canvas and output are small (``--output-size``, 480×270) so that llvmpipe's
    drawing, which a real GPU does in well under a millisecond, does not hide the decoding.

Run ``python bench/bench_media.py --help`` for the options. Takes about a minute here
(2 cores, llvmpipe).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from _common import format_table

from mapping.gl.context import create_headless_context
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show

MAGENTA = (255, 0, 255)


def make_clip(path: Path, size: tuple[int, int], frames: int, fps: int, seed: int) -> Path:
    """H.264 clip: frame 0 solid magenta, then grey frames of varying level."""
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": "30"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(frames):
            level = 60 + (seed * 17 + i * 3) % 120
            image = np.full((h, w, 3), level, np.uint8)
            if i == 0:
                image[:] = MAGENTA
            frame = av.VideoFrame.from_ndarray(image, "rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_show(root: Path, size: tuple[int, int], layers: list[str], base: list[str],
               cues: list[dict[str, str]]) -> Path:  # fmt: skip
    """A one-output show: an image layer ``still``, video layers ``layers`` (base content
    ``base``, hidden), and cues: the first shows the still and fires nothing else; each
    further cue maps a video layer to a clip and shows it (snap, no fade)."""
    w, h = size
    text = [
        "schema_version = 1", 'name = "bench media"', "[canvas]", f"size = [{w}, {h}]",
        "[[outputs]]", 'name = "out"', f"resolution = [{w}, {h}]",
        "[[surfaces]]", 'name = "all"', 'output = "out"',
        f"polygon = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]",
        f"corners = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]",
        "[[layers]]", 'name = "still"', 'kind = "image"', 'file = "media/still.png"',
        f"region = [0, 0, {w}, {h}]", "opacity = 0.0",
    ]  # fmt: skip
    for name, file in zip(layers, base, strict=True):
        text += ["[[layers]]", f'name = "{name}"', 'kind = "video"', f'file = "media/{file}"']
        text += [f"region = [0, 0, {w}, {h}]", "opacity = 0.0"]
    text += ["[[cues]]", 'name = "image"', "[cues.layers.still]", "opacity = 1.0"]
    for i, cue in enumerate(cues):
        text += ["[[cues]]", f'name = "cue{i + 2}"']
        for layer, file in cue.items():
            text += [f"[cues.layers.{layer}]", f'file = "media/{file}"', "opacity = 1.0"]
    (root / "show.toml").write_text("\n".join(text) + "\n")
    return root


def is_magenta(pixel: np.ndarray) -> bool:
    r, g, b = (int(v) for v in pixel[:3])
    return r > 200 and g < 60 and b > 200


# --- (a) GO ---------------------------------------------------------------------------


def go_once(ctx, show_dir: Path, command: tuple[str, dict], fps: float, limit: int = 30):
    """(frames until magenta, GO frame ms, median frame ms before GO) for a fresh player."""
    outputs = HeadlessOutputs(ctx)
    player = ShowPlayer(load_show(show_dir), outputs, start_cue="image")
    try:
        t, dt = 0.0, 1.0 / fps
        before = []
        for _ in range(8):  # cue 1 on screen; the standby cue's content pre-rolls
            start = time.perf_counter()
            player.step(t)
            ctx.finish()
            before.append((time.perf_counter() - start) * 1000.0)
            t += dt
        h, w = player.renderer.read_output("out").shape[:2]
        assert not is_magenta(player.renderer.read_output("out")[h // 2, w // 2])
        ticket = player.submit(command[0], path=command[1] or None)
        go_ms = 0.0
        for frames in range(1, limit + 1):
            start = time.perf_counter()
            player.step(t)
            ctx.finish()
            if frames == 1:
                go_ms = (time.perf_counter() - start) * 1000.0
                result = ticket.wait(0)
                assert result is not None and result.ok, result
            t += dt
            if is_magenta(player.renderer.read_output("out")[h // 2, w // 2]):
                return frames, go_ms, statistics.median(before[3:])
        return None, go_ms, statistics.median(before[3:])
    finally:
        player.renderer.release()


def bench_go(ctx, root: Path, size: tuple[int, int], fps: float, repeats: int) -> list[list[str]]:
    conditions = (
        ("GO, clip pre-rolled (standby cue)", ("go", {})),
        ("baseline: cue.start 3, not pre-rolled", ("cue.start", {"cue": "3"})),
    )
    go_once(ctx, root, conditions[0][1], fps)  # warm-up (shaders, file cache), not counted
    results: dict[str, list[tuple]] = {label: [] for label, _ in conditions}
    for _ in range(repeats):  # alternate, so the machine's load falls on both alike
        for label, command in conditions:
            results[label].append(go_once(ctx, root, command, fps))
    rows = []
    for label, runs in results.items():
        frames = [f for f, _, _ in runs]
        ms = [m for _, m, _ in runs]
        steady = statistics.median(b for _, _, b in runs)
        extra = statistics.median(m - b for _, m, b in runs)
        shown = "never" if None in frames else f"{max(frames)}"
        median_ms, max_ms = statistics.median(ms), max(ms)
        rows.append(
            [label, shown, f"{median_ms:.1f}", f"{max_ms:.1f}", f"{steady:.1f}",
             f"{extra:.1f}", str(repeats)]
        )  # fmt: skip
    return rows


# --- (b) memory -----------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_run(ctx, show_dir: Path, frames: int, fps: float) -> tuple[float, float, int]:
    """(RSS peak above the start, MiB; Python peak, MiB; sources open at the end)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = rss_bytes()
    peak = before
    outputs = HeadlessOutputs(ctx)
    player = ShowPlayer(load_show(show_dir), outputs, start_cue="cue2")
    try:
        for i in range(frames):
            player.step(i / fps)
            peak = max(peak, rss_bytes())
        sources = len(player.renderer._sources)
    finally:
        player.renderer.release()
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - before) / 2**20, py_peak / 2**20, sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip-size", default="1920x1080", help="clip size (1920x1080)")
    parser.add_argument(
        "--output-size",
        default="480x270",
        help="canvas and output size (480x270: small, so llvmpipe's drawing does not hide "
        "the decoding)",
    )
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=4, help="GO measurements per row")
    parser.add_argument("--frames", type=int, default=90, help="frames per memory run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cw, ch = (int(v) for v in args.clip_size.split("x"))
    w, h = (int(v) for v in args.output_size.split("x"))
    clip_size, size = (cw, ch), (w, h)
    fps = int(args.fps)
    with tempfile.TemporaryDirectory(prefix="bench_media_") as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        go_show = tmp_path / "go"
        (go_show / "media").mkdir(parents=True)
        cv2.imwrite(str(go_show / "media" / "still.png"), np.full((h, w, 3), (0, 160, 0), np.uint8))
        for i, name in enumerate(("z.mp4", "a.mp4", "b.mp4", "c.mp4")):
            make_clip(go_show / "media" / name, clip_size, 10, fps, i)
        cues = [{"v": "a.mp4"}, {"v": "b.mp4"}, {"v": "c.mp4"}]
        write_show(go_show, size, ["v"], ["z.mp4"], cues)

        eight = tmp_path / "eight"
        (eight / "media").mkdir(parents=True)
        (eight / "media" / "still.png").write_bytes((go_show / "media" / "still.png").read_bytes())
        for i in range(8):
            make_clip(eight / "media" / f"c{i}.mp4", clip_size, fps, fps, i)
        two = tmp_path / "two"
        (two / "media").mkdir(parents=True)
        for name in ("still.png", "c0.mp4", "c1.mp4"):
            (two / "media" / name).write_bytes((eight / "media" / name).read_bytes())
        playing = {"v0": "c0.mp4", "v1": "c1.mp4"}
        later = [{"v0": f"c{2 * k}.mp4", "v1": f"c{2 * k + 1}.mp4"} for k in range(1, 4)]
        write_show(eight, size, ["v0", "v1"], ["c0.mp4", "c1.mp4"], [playing, *later])
        write_show(two, size, ["v0", "v1"], ["c0.mp4", "c1.mp4"], [playing])
        made_s = time.perf_counter() - t0

        ctx = create_headless_context()
        try:
            gl = ctx.info["GL_RENDERER"]
            print(
                f"bench_media: {platform.node()}, {os.cpu_count()} CPU(s), GL {gl}, "
                f"output {w}×{h}, clips {cw}×{ch} H.264 at {fps} fps (made in {made_s:.1f} s)\n"
            )
            rows = bench_go(ctx, go_show, size, args.fps, args.repeats)
            print("(a) GO to the clip's first frame on the output")
            print(
                format_table(
                    [
                        "",
                        "frames (1 = next)",
                        "GO frame ms (median)",
                        "max",
                        "frame ms before GO",
                        "extra ms",
                        "runs",
                    ],
                    rows,
                )
            )
            mem_rows = []
            memory_run(ctx, two, args.frames // 3, args.fps)  # warm-up, not counted
            for label, folder in (
                ("baseline: 2 clips named, 2 playing", two),
                ("8 clips named, 2 playing", eight),
                ("baseline again", two),
            ):
                rss, py, sources = memory_run(ctx, folder, args.frames, args.fps)
                mem_rows.append([label, f"{rss:.1f}", f"{py:.1f}", str(sources)])
            print(f"\n(b) peak memory over {args.frames} frames (MiB above the start)")
            print(format_table(["", "RSS peak", "Python peak", "sources open"], mem_rows))
        finally:
            ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
