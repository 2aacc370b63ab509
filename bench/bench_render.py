"""Frame time of a show rendered headless, against a numpy + OpenCV CPU baseline.

What it measures
    The time to draw one complete frame of a show (default: ``shows/demo`` — 1600×900
    canvas, two 1280×720 outputs, five layers: a GLSL generator, a video through an ISF
    filter, an image, a solid and an ISF generator) at full output resolution, in the cue
    state of ``--cue`` (default ``emblem``, reached by tracking through every earlier cue
    with no fades, so every layer is visible).
    Show time advances ``1/--fps`` s per frame (default 1/30 s), so the video decodes new
    frames and the generator animates as in a live show. Soft-edge blending is turned off
    (the CPU baseline does not blend); ``bench/bench_blend.py`` measures its cost.

How
    One process, one headless GL context. Each row first renders ``--warmup`` frames (show
    compile, first decode, seeks back to the start), then times ``--frames`` frames, each at
    the same sequence of show times:

    * ``GL render``: ``renderer.render(engine.tick(t))`` then ``ctx.finish()``, so the work
      of the GL driver (on this machine llvmpipe: the CPU rasterises) is inside the timing.
    * ``GL render + read_output``: the same, then every output read back to numpy with
      ``renderer.read_output`` — what the ``render`` command (recording to files) pays.
    * ``CPU numpy + OpenCV``: the same frame without GL. Layers are composited on a float32
      canvas with numpy, with the shader's blend maths (normal / add / screen / multiply,
      with opacity), each layer's content resized into its region with ``cv2.resize``
      (bilinear); the video frame is decoded for the frame's media time as in the GL path;
      generator layers (GLSL and ISF) use an image rendered once beforehand (so the
      baseline does *not* pay for running the generator: this favours the CPU). ISF
      filters are not applied: at the default cue the demo's one filter (the clip's
      ripple) is at strength 0, where it changes nothing. The canvas is then quantised
      to uint8 and every surface warped into its output with
      ``geometry.warp_image_reference`` (``cv2.warpPerspective``, bilinear) and masked to
      its polygon (``cv2.fillPoly``). By default each surface is warped only over its
      polygon's bounding box in the output (``--cpu-warp bbox``); ``--cpu-warp full`` warps
      the whole output per surface, as the simplest implementation would.
    * ``video decode alone``: just the decoding both paths do (``VideoClip.frame_at``), to
      show how much of each row is decoding rather than drawing.

    Before timing, one frame is drawn both ways and compared (mean absolute difference in
    8-bit levels, and the share of pixels more than 8 levels apart) to show the baseline
    draws the same picture. If it does not (mean difference above ``--max-mean-diff``,
    default 0.5 levels, or more than ``--max-share-over-8`` percent of pixels, default 0.5 %,
    on any output; the demo measures 0.43 levels and 0.31 % on the left output), the table
    is still printed, but the run ends with "FAIL: ... not the same picture" and exit status 1.

How to read the table
    ``mean``, ``median`` and ``p95`` are milliseconds per frame; ``fps`` is ``1000 / mean``;
    ``speed-up`` is the CPU baseline's mean divided by the row's mean (above 1: faster than
    the CPU baseline). The indented ``of which`` rows split the CPU baseline's frames into
    compositing (including the video decode) and warping; the decode row and these have no
    speed-up figure, being parts of a frame. The header names the GL renderer:
    ``llvmpipe`` means Mesa's software rasteriser, so the GL rows measure CPU rasterisation
    too and a real GPU will be far faster; the CPU baseline's speed does not change with a
    GPU.

Run ``python bench/bench_render.py --help`` for the options (more frames, another show or
cue, full-output CPU warps).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from _common import format_table

from mapping import geometry
from mapping.cues import CueEngine, FrameState
from mapping.gl.context import create_headless_context
from mapping.gl.renderer import Renderer
from mapping.media.image import load_image
from mapping.media.video import VideoClip
from mapping.show import Show, load_show

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_render")


# --- statistics and the table ---------------------------------------------------------------


def stats_ms(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    mean = float(ms.mean())
    return {
        "mean": mean,
        "median": float(np.median(ms)),
        "p95": float(np.percentile(ms, 95)),
        "fps": 1000.0 / mean if mean > 0 else float("inf"),
    }


def time_frames(
    name: str,
    draw: Callable[[float], None],
    times_s: list[float],
    warmup: int,
) -> list[float]:
    """Call ``draw(t)`` for the warm-up times, then time it for the rest."""
    log.info("%s: %d warm-up frames", name, warmup)
    for t in times_s[:warmup]:
        draw(t)
    log.info("%s: timing %d frames", name, len(times_s) - warmup)
    samples = []
    for t in times_s[warmup:]:
        t0 = time.perf_counter()
        draw(t)
        samples.append(time.perf_counter() - t0)
    s = stats_ms(samples)
    log.info(
        "%s: mean %.1f ms, median %.1f ms, p95 %.1f ms", name, s["mean"], s["median"], s["p95"]
    )
    return samples


# --- the CPU baseline -----------------------------------------------------------------------


def _region_ints(region: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x, y, w, h = region
    return round(x), round(y), max(1, round(w)), max(1, round(h))


def _as_rgba01(image: np.ndarray) -> np.ndarray:
    """uint8 RGB or RGBA → float32 RGBA in 0..1 (alpha 1 when absent)."""
    img = image.astype(np.float32) * (1.0 / 255.0)
    if img.shape[2] == 3:
        img = np.concatenate([img, np.ones((*img.shape[:2], 1), np.float32)], axis=2)
    return img


GENERATOR_KINDS = ("shader", "isf")
"""Layer kinds whose picture is a shader's (Shadertoy-style or ISF): the GL renderer draws
them once for the CPU baseline."""


def generator_images(ctx, show: Show, frame: FrameState) -> dict[str, np.ndarray]:
    """Each generator layer's picture in ``frame`` (uint8 RGBA of its region), rendered once.

    Drawn by the GL renderer on a show holding only that layer — with the frame's content
    and parameters (a cue may have changed them) — at full opacity, then cropped from the
    canvas: the CPU baseline is handed generator output for free.
    """
    images = {}
    for lf in frame.layers:
        layer = lf.layer
        if layer.kind not in GENERATOR_KINDS:
            continue
        solo_layer = dataclasses.replace(
            layer, content=lf.content, params=dict(lf.params), opacity=1.0, blend="normal"
        )
        solo = dataclasses.replace(show, outputs=(), surfaces=(), layers=(solo_layer,), cues=())
        renderer = Renderer(ctx, solo)
        try:
            renderer.render(CueEngine(solo).tick(lf.media_time_s))
            canvas = renderer.read_canvas()
        finally:
            renderer.release()
        x, y, w, h = _region_ints(layer.region_canvas_px)
        images[layer.name] = np.ascontiguousarray(canvas[y : y + h, x : x + w])
    return images


class CpuRenderer:
    """The same frame as :class:`Renderer`, drawn with numpy and OpenCV only."""

    def __init__(self, show: Show, generator_rgba: dict[str, np.ndarray], warp_mode: str):
        self.show = show
        self.generator_rgba = generator_rgba
        self.warp_mode = warp_mode
        self._images: dict[Path, np.ndarray] = {}
        self._clips: dict[Path, VideoClip] = {}
        self.phase_s: dict[str, list[float]] = {"composite": [], "warp": []}
        w, h = show.canvas.size_px
        self.canvas_rgb = np.zeros((h, w, 3), np.float32)
        self.outputs: dict[str, np.ndarray] = {}
        # Geometry is fixed for a show (the GL renderer bakes it at load too).
        self._surfaces: dict[str, list[tuple[np.ndarray, np.ndarray, tuple[int, ...]]]] = {}
        for out in show.outputs:
            ow, oh = out.resolution
            self.outputs[out.name] = np.zeros((oh, ow, 3), np.uint8)
            items = []
            for surface in show.surfaces_on(out.name):
                poly_projector_px = surface.polygon_projector_px
                if warp_mode == "bbox":
                    x0, y0, x1, y1 = geometry.polygon_bounds(poly_projector_px)
                    bx0, by0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
                    bx1, by1 = min(ow, int(np.ceil(x1))), min(oh, int(np.ceil(y1)))
                    if bx1 <= bx0 or by1 <= by0:
                        continue
                else:
                    bx0, by0, bx1, by1 = 0, 0, ow, oh
                shift = np.array([[1, 0, -bx0], [0, 1, -by0], [0, 0, 1.0]])
                H_canvas_to_box = shift @ surface.H_canvas_to_projector
                # Mask by pixel centres as GL rasterises: cv2 wants centres at integers,
                # so shift by -0.5 (fixed point, 4 fractional bits).
                pts = (poly_projector_px - [bx0 + 0.5, by0 + 0.5]) * 16.0
                mask = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
                cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1, cv2.LINE_8, shift=4)
                items.append((H_canvas_to_box, mask.astype(bool), (bx0, by0, bx1, by1)))
            self._surfaces[out.name] = items

    def _content_rgba(self, lf) -> np.ndarray | None:
        layer = lf.layer
        if layer.kind in GENERATOR_KINDS:
            return self.generator_rgba.get(layer.name)
        path = Path(str(lf.content))
        if layer.kind == "image":
            if path not in self._images:
                self._images[path] = load_image(path)
            return self._images[path]
        if layer.kind == "video":
            clip = self._clips.get(path)
            if clip is None:
                clip = self._clips[path] = VideoClip(path)
            return clip.frame_at(lf.media_time_s, loop=layer.loop).image
        return None

    def composite(self, frame: FrameState) -> np.ndarray:
        canvas = self.canvas_rgb
        canvas[...] = 0.0
        for lf in frame.layers:
            opacity = lf.opacity * frame.master
            if opacity <= 0.0:
                continue
            x, y, w, h = _region_ints(lf.layer.region_canvas_px)
            if lf.layer.kind == "solid":
                c = np.empty((h, w, 4), np.float32)
                c[...] = np.asarray(lf.content, np.float32)
            else:
                content = self._content_rgba(lf)
                if content is None:
                    continue
                if content.shape[1] != w or content.shape[0] != h:
                    content = cv2.resize(content, (w, h), interpolation=cv2.INTER_LINEAR)
                c = _as_rgba01(content)
            dst = canvas[y : y + h, x : x + w]
            c = c[: dst.shape[0], : dst.shape[1]]
            a = c[..., 3:4] * opacity
            rgb = c[..., :3]
            blend = lf.layer.blend
            if blend == "multiply":
                dst *= 1.0 + (rgb - 1.0) * a  # mix(1, rgb, a)
            elif blend == "screen":
                src = rgb * a
                dst *= 1.0 - src
                dst += src
            elif blend == "add":
                dst += rgb * a
                np.minimum(dst, 1.0, out=dst)
            else:  # normal (premultiplied over)
                dst *= 1.0 - a
                dst += rgb * a
        return canvas

    def render(self, frame: FrameState) -> None:
        t0 = time.perf_counter()
        canvas_u8 = np.clip(self.composite(frame) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        t1 = time.perf_counter()
        for name, out in self.outputs.items():
            out[...] = 0
            ow, oh = out.shape[1], out.shape[0]
            for H_canvas_to_box, mask, (bx0, by0, bx1, by1) in self._surfaces[name]:
                if self.warp_mode == "bbox":
                    size = (bx1 - bx0, by1 - by0)
                else:
                    size = (ow, oh)
                warped = geometry.warp_image_reference(canvas_u8, H_canvas_to_box, size)
                np.copyto(out[by0:by1, bx0:bx1], warped, where=mask[..., None])
        self.phase_s["composite"].append(t1 - t0)
        self.phase_s["warp"].append(time.perf_counter() - t1)

    def close(self) -> None:
        for clip in self._clips.values():
            clip.close()


# --- main -----------------------------------------------------------------------------------


def compare(gl_rgba: np.ndarray, cpu_rgb: np.ndarray) -> tuple[float, float]:
    diff = np.abs(gl_rgba[..., :3].astype(np.int16) - cpu_rgb.astype(np.int16))
    return float(diff.mean()), float(np.mean(diff.max(axis=2) > 8) * 100.0)


def same_picture(mean_diff: float, share_over_8: float, max_mean: float, max_share: float) -> bool:
    """Whether a GL/CPU comparison (``compare``'s figures) counts as the same picture."""
    return mean_diff <= max_mean and share_over_8 <= max_share


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", type=Path, default=REPO / "shows" / "demo")
    parser.add_argument("--cue", default="emblem", help="cue state to draw (default: emblem)")
    parser.add_argument("--frames", type=int, default=60, help="timed frames per row")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames before each row")
    parser.add_argument("--fps", type=float, default=30.0, help="show time step is 1/fps")
    parser.add_argument(
        "--cpu-warp",
        choices=("bbox", "full"),
        default="bbox",
        help="CPU baseline warps each surface over its bounding box (default) or whole output",
    )
    parser.add_argument("--skip-cpu", action="store_true", help="only the GL rows")
    parser.add_argument(
        "--max-mean-diff",
        type=float,
        default=0.5,
        help="most mean |GL - CPU| in levels for the same picture (default 0.5)",
    )
    parser.add_argument(
        "--max-share-over-8",
        type=float,
        default=0.5,
        help="most percent of pixels more than 8 levels apart for the same picture (default 0.5)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s: %(message)s"
    )
    started = time.perf_counter()

    show = load_show(args.show)
    # the CPU baseline does not blend overlaps: compare like with like (bench_blend.py
    # measures blending, mesh warp and colour)
    show = dataclasses.replace(show, blend=dataclasses.replace(show.blend, enabled=False))
    engine = CueEngine.at_cue(show, args.cue)
    n_total = args.warmup + args.frames
    times_s = [i / args.fps for i in range(n_total)]
    visible = [lf.layer.name for lf in engine.tick(0.0).layers if lf.opacity > 0]
    log.info("show '%s': layers visible at cue '%s': %s", show.name, args.cue, visible)

    ctx = create_headless_context()
    gl_renderer_name = ctx.info["GL_RENDERER"]
    gl_version = ctx.info["GL_VERSION"]
    renderer = Renderer(ctx, show)
    if renderer.errors:
        log.warning("renderer reports content errors: %s", renderer.errors)

    def gl_draw(t: float) -> None:
        renderer.render(engine.tick(t))
        ctx.finish()

    def gl_draw_read(t: float) -> None:
        renderer.render(engine.tick(t))
        for name in renderer.output_names():
            renderer.read_output(name)

    rows: dict[str, list[float]] = {}
    partial_rows: set[str] = set()  # rows that are not whole frames: no speed-up figure
    rows["GL render (ctx.finish)"] = time_frames("GL render", gl_draw, times_s, args.warmup)
    n_out = len(renderer.output_names())
    read_label = f"GL render + read_output ({n_out} outputs)"
    rows[read_label] = time_frames("GL render + read", gl_draw_read, times_s, args.warmup)

    check = ""
    different: list[str] = []  # outputs where GL and CPU do not draw the same picture
    cpu_label = f"CPU numpy + OpenCV ({args.cpu_warp} warp)"
    if not args.skip_cpu:
        t_check = times_s[args.warmup]
        log.info("rendering generator layers once for the CPU baseline (t = %.3f s)", t_check)
        gen = generator_images(ctx, show, engine.tick(t_check))
        cpu = CpuRenderer(show, gen, args.cpu_warp)
        # Same picture? Draw the first timed frame both ways and compare.
        renderer.render(engine.tick(t_check))
        cpu.render(engine.tick(t_check))
        parts = []
        for name in renderer.output_names():
            mad, share = compare(renderer.read_output(name), cpu.outputs[name])
            parts.append(f"{name}: mean |diff| {mad:.2f} levels, {share:.2f}% of pixels > 8")
            if not same_picture(mad, share, args.max_mean_diff, args.max_share_over_8):
                different.append(name)
        check = "GL vs CPU, same frame: " + "; ".join(parts)
        log.info(check)

        def cpu_draw(t: float) -> None:
            cpu.render(engine.tick(t))

        rows[cpu_label] = time_frames("CPU baseline", cpu_draw, times_s, args.warmup)
        # Per-phase times of the timed frames only (the last ``frames`` calls).
        rows["  of which: composite (incl. decode)"] = cpu.phase_s["composite"][-args.frames :]
        rows["  of which: warp + mask"] = cpu.phase_s["warp"][-args.frames :]
        partial_rows.update(list(rows)[-2:])
        cpu.close()

    videos = sorted(
        {Path(str(lf.content)) for lf in engine.tick(0.0).layers if lf.layer.kind == "video"}
    )
    if videos:
        clips = [VideoClip(p) for p in videos]

        def decode(t: float) -> None:
            for clip in clips:
                clip.frame_at(t)

        label = f"video decode alone ({len(clips)} clip{'s' if len(clips) > 1 else ''})"
        rows[label] = time_frames("video decode", decode, times_s, args.warmup)
        partial_rows.add(label)
        for clip in clips:
            clip.close()

    if ctx.error != "GL_NO_ERROR":
        log.warning("GL error after the run: %s", ctx.error)
    renderer.release()
    ctx.release()

    # --- the table
    cpu_mean = stats_ms(rows[cpu_label])["mean"] if cpu_label in rows else None
    headers = ["row", "mean ms", "median ms", "p95 ms", "fps", "speed-up vs CPU"]
    table_rows = []
    for label, samples in rows.items():
        s = stats_ms(samples)
        speed = f"{cpu_mean / s['mean']:.2f}x" if cpu_mean and label not in partial_rows else "-"
        table_rows.append(
            [
                label,
                f"{s['mean']:.2f}",
                f"{s['median']:.2f}",
                f"{s['p95']:.2f}",
                f"{s['fps']:.1f}",
                speed,
            ]
        )
    outs = ", ".join(f"{o.name} {o.resolution[0]}x{o.resolution[1]}" for o in show.outputs)
    cw, ch = show.canvas.size_px
    header = [
        f"bench_render: show '{show.name}' ({args.show}), cue '{args.cue}', "
        f"{args.frames} timed frames per row after {args.warmup} warm-up, "
        f"show time step 1/{args.fps:g} s",
        f"GL_RENDERER: {gl_renderer_name} | GL_VERSION: {gl_version}",
        f"canvas {cw}x{ch} | outputs: {outs} | {len(show.surfaces)} surfaces | "
        f"visible layers: {', '.join(visible)}",
        f"host: {platform.machine()}, {os.cpu_count()} CPUs | Python {platform.python_version()} "
        f"| numpy {np.__version__} | OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)",
        "",
    ]
    footer = ["", check] if check else []
    footer.append(f"total run time {time.perf_counter() - started:.1f} s")
    sys.stdout.write("\n".join([*header, format_table(headers, table_rows), *footer]) + "\n")
    if different:
        sys.stderr.write(
            f"FAIL: GL and CPU do not draw the same picture on {', '.join(different)} "
            f"(allowed: mean |diff| ≤ {args.max_mean_diff} levels, "
            f"≤ {args.max_share_over_8}% of pixels > 8 levels)\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
