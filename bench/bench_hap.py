"""4K playback: H.264 against HAP and HAP Q, frame time and CPU per frame.

What it measures
    The same 4K picture (3840×2160, 60 fps; ffmpeg's ``testsrc2`` with temporal grain,
    ``noise=alls=6:allf=t``, so neither codec gets a flat picture for free) encoded three
    ways in set-up with the ffmpeg CLI: H.264 (``libx264 -preset veryfast``, yuv420p), HAP
    (DXT1) and HAP Q (scaled YCoCg DXT5), both Snappy in 4 chunks. Each is played as a
    full-canvas ``video`` layer of a show with a 3840×2160 canvas, through the real
    ``Renderer`` (``offline=True``: every frame due is decoded and shown, none skipped),
    show time advancing 1/60 s per frame, so each frame drawn is a new video frame (the
    clip loops when it is shorter than the run).

How
    One process, one GL context, the rows one after the other on the same clips:

    * ``… decode + upload + composite``: ``renderer.render(engine.tick(t))`` then
      ``ctx.finish()``. H.264: PyAV decodes (FFmpeg threads), the Y, U, V planes are
      uploaded and converted in the shader. HAP: the packet is read, Snappy undone, the
      DXT blocks uploaded compressed (``glCompressedTexSubImage2D``) and decompressed by
      the GL driver when the layer is drawn.
    * ``… CPU part only``: what the CPU must do per frame before any GL: H.264,
      ``VideoClip.frame_at`` with YUV planes (the decode); HAP, ``HapClip.frame_at``
      (demux + Snappy). This is the floor a real GPU cannot lower.

    ``MB/frame`` is the clip's file size per frame (what the disk must deliver);
    ``ms/frame`` is wall time per frame (mean, p95); ``fps`` is ``1000 / mean``;
    ``CPU ms/frame`` is the process's CPU time (all threads: FFmpeg's, and llvmpipe's, which
    *is* the GPU here) divided by the frames; ``60 fps`` says whether the mean fits in
    16.7 ms.

How to read it on this machine
    With ``llvmpipe`` (Mesa's software GL) the "GPU" is the CPU: compositing a 4K canvas
    and decompressing DXT blocks are CPU work, so the full rows are bounded by the CPU for
    every codec. The ``CPU part only`` rows show the difference HAP makes: what a real GPU
    leaves on the CPU. The figure for GPU decompression needs a real GPU
    (``bench/gpu_run.sh``).

Run ``python bench/bench_hap.py --help`` for the options (frames, clip length, size,
keeping the encoded clips between runs).
"""

from __future__ import annotations

import argparse
import logging
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import format_table

from mapping.cues import CueEngine
from mapping.gl.context import create_headless_context
from mapping.gl.renderer import Renderer
from mapping.media.hap import HapClip
from mapping.media.video import VideoClip
from mapping.show import Canvas, Layer, Show

log = logging.getLogger("bench_hap")

SOURCE = "testsrc2=size={w}x{h}:rate={fps},noise=alls=6:allf=t"
CODECS = {
    "H.264": ("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]),
    "HAP": ("hap.mov", ["-c:v", "hap", "-format", "hap", "-chunks", "4"]),
    "HAP Q": ("hap_q.mov", ["-c:v", "hap", "-format", "hap_q", "-chunks", "4"]),
}


def encode(folder: Path, size: tuple[int, int], fps: int, frames: int) -> dict[str, Path]:
    """The three clips (reused when already in ``folder``)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise SystemExit("bench_hap: the ffmpeg CLI is needed (scripts/setup.sh installs it)")
    paths = {}
    for name, (file, args) in CODECS.items():
        path = folder / f"{size[0]}x{size[1]}_{fps}_{frames}_{file}"
        if not path.exists():
            log.info("encoding %s (%d frames) → %s", name, frames, path)
            t0 = time.perf_counter()
            source = SOURCE.format(w=size[0], h=size[1], fps=fps)
            subprocess.run(
                [exe, "-v", "error", "-y", "-f", "lavfi", "-i", source,
                 "-frames:v", str(frames), *args, str(path)],
                check=True,
            )  # fmt: skip
            log.info("encoded %s in %.1f s", name, time.perf_counter() - t0)
        paths[name] = path
    return paths


def measure(draw: Callable[[float], None], times_s: list[float], warmup: int) -> dict[str, float]:
    for t in times_s[:warmup]:
        draw(t)
    samples = []
    cpu0 = time.process_time()
    for t in times_s[warmup:]:
        t0 = time.perf_counter()
        draw(t)
        samples.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    ms = np.asarray(samples) * 1000.0
    n = len(samples)
    return {
        "mean": float(ms.mean()),
        "p95": float(np.percentile(ms, 95)),
        "cpu": cpu * 1000.0 / n,
    }


def run(args: argparse.Namespace) -> list[list[str]]:
    size = (args.width, args.height)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_hap_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        clips = encode(folder, size, args.fps, args.clip_frames)
        ctx = create_headless_context()
        cpu = platform.processor() or platform.machine()
        print(f"GL renderer: {ctx.info['GL_RENDERER']}  |  {cpu}")
        print(f"{size[0]}x{size[1]} @ {args.fps} fps, {args.frames} frames per row "
              f"(+{args.warmup} warm-up), clips of {args.clip_frames} frames, looped")  # fmt: skip
        times = [i / args.fps for i in range(args.warmup + args.frames)]
        rows = []
        w, h = size
        full = (0.0, 0.0, float(w), float(h))
        for name, path in clips.items():
            layer = Layer("v", "video", path, 1.0, "normal", full)
            show = Show(folder, "bench", Canvas(size), (), (), (layer,), ())
            renderer = Renderer(ctx, show, offline=True)
            engine = CueEngine(show)

            def draw(t: float, renderer: Renderer = renderer, engine: CueEngine = engine) -> None:
                renderer.render(engine.tick(t))
                ctx.finish()

            try:
                full_row = measure(draw, times, args.warmup)
                if renderer.errors:
                    raise SystemExit(f"bench_hap: {name}: {renderer.errors}")
                source = type(next(iter(renderer._sources.values()))).__name__
            finally:
                renderer.release()
            if name == "H.264":
                clip = VideoClip(path, yuv_planes=True)
            else:
                clip = HapClip(path)
            try:
                cpu_row = measure(lambda t, clip=clip: clip.frame_at(t), times, args.warmup)
            finally:
                clip.close()
            megabytes = path.stat().st_size / args.clip_frames / 1e6
            for label, m in (
                (f"{name}: decode + upload + composite ({source})", full_row),
                (f"{name}: CPU part only", cpu_row),
            ):
                rows.append([
                    label, f"{megabytes:.2f}", f"{m['mean']:.1f}", f"{m['p95']:.1f}",
                    f"{1000.0 / m['mean']:.1f}", f"{m['cpu']:.1f}",
                    "yes" if m["mean"] <= 1000.0 / 60.0 else "no",
                ])  # fmt: skip
        ctx.release()
        return rows
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=3840)
    parser.add_argument("--height", type=int, default=2160)
    parser.add_argument("--fps", type=int, default=60, help="clip and show frame rate")
    parser.add_argument("--clip-frames", type=int, default=24, help="frames encoded per clip")
    parser.add_argument("--frames", type=int, default=30, help="frames timed per row")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="encode into DIR and reuse clips there")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(name)s: %(message)s")
    rows = run(args)
    headers = ["row", "MB/frame", "ms/frame", "p95 ms", "fps", "CPU ms/frame", "60 fps"]
    print(format_table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
