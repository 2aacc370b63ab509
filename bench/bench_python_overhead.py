"""Python CPU time per frame spent by the project's own code, for 64 surfaces on 4 outputs.

What it measures
    How much of a frame the renderer's *Python* costs — the part a faster GPU does not
    remove. Target: the project's own Python code under 1 ms per frame for 64 surfaces.
    The show is built in memory: a 1920×1080 canvas, 4 outputs (``--output-size``, default
    640×360: the figure is Python time, not fill rate, and small outputs keep llvmpipe's
    software rasterising short), 16 surfaces per output (a 4×4 grid of quads with seeded
    random, oblique corner pins), and three layers: a GLSL generator (a tiny ``mainImage``
    written to a temporary folder), an image (a PNG written there) and a solid colour.

How
    Each approach (row) is measured two ways, each over ``--frames`` frames (default 300)
    after ``--warmup`` frames, the show time advancing 1/30 s per frame:

    (a) under ``cProfile``, enabled only around ``renderer.render(engine.tick(t))``. Every
        profiled function's ``tottime`` (time in the function itself, not its callees) is
        put in one column by where the function lives, then divided by the frame count:
        ``project py`` — Python in the repository (``mapping/``, and ``bench/`` for the
        naive loop below); ``moderngl py`` — moderngl's Python wrapper layer;
        ``moderngl C`` — moderngl's C extension (``mgl.*``): the GL calls themselves,
        *including whatever the driver does inside them*; ``other C`` — other built-ins
        (numpy, dict, ``isinstance``…); ``other py`` — the rest (standard library).
        cProfile makes every Python call slower (roughly 1.5–2× for small functions), so
        the ``project py`` figure is pessimistic. Its clock is wall time, so on a small
        machine it also counts the time the render thread is preempted by llvmpipe's
        rasteriser threads (which run while Python issues the next draws): on 2 CPUs this
        can double ``project py`` from run to run. ``--lp-threads 1`` (llvmpipe's
        ``LP_NUM_THREADS``) leaves a core free for Python and removes most of that noise.
        ``calls`` counts profiled calls per frame and ``GL calls`` the moderngl C calls
        among them.
    (b) unprofiled: the wall time of the ``render(tick(t))`` call (``time.perf_counter``)
        and the CPU time of the calling thread (``time.thread_time``) — *without*
        ``ctx.finish()`` inside the timing. On a real GPU, draw calls only queue commands,
        so this is Python plus call overhead. On llvmpipe (software GL) the driver does
        part of the GPU's work on the calling thread at call time (vertex shading,
        binning, and waiting for the canvas pass before the outputs sample it), so these
        figures include some "GPU" time; ``thread_time`` excludes time spent blocked
        waiting for llvmpipe's rasteriser threads, wall time includes it, and
        ``blocked`` is their difference. On llvmpipe nearly all of that wait sits in the
        first warp draw of the frame, which samples the canvas and so must wait until the
        canvas pass has been rasterised; in (a) it lands in ``moderngl C`` (the
        ``VertexArray.render`` calls), which is therefore mostly llvmpipe fill time, not
        call overhead. ``thread CPU`` is the better figure for "CPU the render thread
        spends": the project's Python, moderngl, and the driver's work on that thread.

    In both, ``ctx.finish()`` is called *after* each frame, outside the measurement, so
    every frame starts with an idle GPU and frames do not queue behind one another. The
    rows take turns in blocks of ``--block`` frames ((a) then (b) for each row), so drift
    in the machine's load affects every row alike.

    The same-process baseline is a naive warp pass: one draw call per surface with the
    surface's homography set as a ``mat3`` uniform (64 uniform writes + 64 draws per frame,
    instead of the renderer's one draw per output with every surface's homography baked
    into a per-vertex attribute). It composites the canvas with the renderer's own code
    (only the warp pass differs), and its homography bytes are precomputed, so the
    difference is the cost of per-surface draw calls alone. A second naive row also
    recomputes each surface's ``H_projector_to_canvas`` every frame (inverse and GLSL
    layout with numpy), as code that keeps no baked state would. All rows are checked to
    draw the same pixels before timing.

How to read the table
    Figures are per frame, in milliseconds (``calls`` and ``GL calls`` are counts per
    frame). The PASS/FAIL line compares the batched renderer's ``project py`` (profiled,
    so pessimistic) with the 1 ms target; the exit status is 1 on FAIL. The log (stderr)
    lists each row's most expensive functions by ``tottime``.

Run ``python bench/bench_python_overhead.py --help`` for the options (frames, output size,
surfaces per output, seed).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import moderngl
import numpy as np
from _common import format_table

from mapping import geometry
from mapping.cues import CueEngine, FrameState
from mapping.gl.context import create_headless_context
from mapping.gl.renderer import Renderer
from mapping.show import Canvas, Layer, Output, Show, Surface

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_python_overhead")

TARGET_MS = 1.0
CANVAS_SIZE_PX = (1920, 1080)
N_OUTPUTS = 4

GENERATOR_GLSL = """\
// Benchmark generator: moving stripes.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    float s = 0.5 + 0.5 * sin(uv.x * 20.0 + iTime * 2.0);
    fragColor = vec4(s, uv.y, 1.0 - s, 1.0);
}
"""


# --- the show -------------------------------------------------------------------------------


def build_show(
    root: Path, output_size: tuple[int, int], grid: int, seed: int
) -> tuple[Show, CueEngine]:
    """Canvas 1920×1080, 4 outputs, grid×grid oblique quads per output, three layers."""
    rng = np.random.default_rng(seed)
    cw, ch = CANVAS_SIZE_PX
    ow, oh = output_size
    (root / "media").mkdir(parents=True)
    (root / "shaders").mkdir()
    ys, xs = np.mgrid[0:540, 0:960].astype(np.float32)
    image_rgb = np.stack(
        [
            127 + 127 * np.sin(xs / 17.0),
            255 * ys / 539.0,
            127 + 127 * np.cos((xs + ys) / 23.0),
        ],
        axis=-1,
    ).astype(np.uint8)
    image_path = root / "media" / "image.png"
    cv2.imwrite(str(image_path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    shader_path = root / "shaders" / "stripes.glsl"
    shader_path.write_text(GENERATOR_GLSL, encoding="utf-8")

    outputs = tuple(Output(f"out{i}", (ow, oh), display=i) for i in range(N_OUTPUTS))
    surfaces = []
    cell_c = np.array([cw / grid, ch / grid])  # canvas_px
    cell_p = np.array([ow / grid, oh / grid])  # projector_px
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)  # TL, TR, BR, BL
    for out in outputs:
        for gy in range(grid):
            for gx in range(grid):
                origin = np.array([gx, gy], dtype=np.float64)
                # Quads jittered inside their cell: oblique, convex, never degenerate.
                poly_canvas_px = (origin + 0.1 + unit * 0.8) * cell_c
                poly_canvas_px += rng.uniform(-0.08, 0.08, (4, 2)) * cell_c
                corners_projector_px = (origin + 0.1 + unit * 0.8) * cell_p
                corners_projector_px += rng.uniform(-0.09, 0.09, (4, 2)) * cell_p
                H = geometry.homography_from_points(poly_canvas_px, corners_projector_px)
                surfaces.append(
                    Surface(f"{out.name}-s{gy}{gx}", out.name, poly_canvas_px, H, "corners")
                )
    layers = (
        Layer("gen", "shader", shader_path.resolve(), 1.0, "normal", (0.0, 0.0, 960.0, 540.0)),
        Layer("image", "image", image_path.resolve(), 0.8, "screen", (480.0, 270.0, 960.0, 540.0)),
        Layer("wash", "solid", (1.0, 0.85, 0.66, 1.0), 0.5, "multiply", (0.0, 0.0, cw, ch)),
    )
    show = Show(
        root, "python-overhead", Canvas(CANVAS_SIZE_PX), outputs, tuple(surfaces), layers, ()
    )
    return show, CueEngine(show)


# --- the naive baseline ---------------------------------------------------------------------

NAIVE_VERTEX = """\
#version 330 core
in vec2 a_projector_px;
uniform vec2 u_output_size_px;
void main() {
    gl_Position = vec4(a_projector_px / u_output_size_px * 2.0 - 1.0, 0.0, 1.0);
}
"""
# Same maths as shaders/warp.glsl, with the homography as a uniform instead of per vertex.
NAIVE_FRAGMENT = """\
#version 330 core
uniform mat3 u_H_projector_to_canvas;
uniform sampler2D u_canvas;
uniform vec2 u_canvas_size_px;
out vec4 f_color;
void main() {
    vec3 q = u_H_projector_to_canvas * vec3(gl_FragCoord.xy, 1.0);
    vec2 uv = (q.xy / q.z) / u_canvas_size_px;
    f_color = vec4(texture(u_canvas, uv).rgb, 1.0);
}
"""


@dataclass
class _NaiveOutput:
    size_px: tuple[int, int]
    fbo: moderngl.Framebuffer
    vbo: moderngl.Buffer
    vao: moderngl.VertexArray
    # Per surface: first vertex, vertex count, the surface, its H as GLSL mat3 bytes.
    draws: list[tuple[int, int, Surface, bytes]]


class NaiveRenderer(Renderer):
    """The renderer with its warp pass replaced by one draw call per surface.

    The canvas is composited by the renderer's own (private) ``_draw_canvas``, so the two
    differ only in the warp pass. Outputs are drawn into the renderer's own output textures.
    """

    def __init__(self, ctx: moderngl.Context, show: Show, recompute_h: bool = False):
        super().__init__(ctx, show)
        self.recompute_h = recompute_h
        self._naive_prog = ctx.program(vertex_shader=NAIVE_VERTEX, fragment_shader=NAIVE_FRAGMENT)
        self._naive_sampler = ctx.sampler(
            repeat_x=False,
            repeat_y=False,
            border_color=(0.0, 0.0, 0.0, 0.0),
            filter=(moderngl.LINEAR, moderngl.LINEAR),
        )
        self._naive_outputs: list[_NaiveOutput] = []
        for out in show.outputs:
            chunks, draws, first = [], [], 0
            for surface in show.surfaces_on(out.name):
                tris = geometry.triangulate_polygon(surface.polygon_canvas_px)
                chunks.append(surface.polygon_projector_px[tris.reshape(-1)].astype("f4"))
                h = geometry.mat3_to_glsl(
                    geometry.normalize_homography(surface.H_projector_to_canvas)
                )
                draws.append((first, tris.size, surface, h.tobytes()))
                first += tris.size
            vbo = ctx.buffer(np.concatenate(chunks).tobytes())
            vao = ctx.vertex_array(self._naive_prog, [(vbo, "2f", "a_projector_px")])
            fbo = ctx.framebuffer([self.output_texture(out.name)])
            self._naive_outputs.append(_NaiveOutput(out.resolution, fbo, vbo, vao, draws))

    def render(self, frame: FrameState) -> None:
        ctx = self.ctx
        self._draw_canvas(frame)
        ctx.disable(moderngl.BLEND)
        prog = self._naive_prog
        prog["u_canvas_size_px"].value = self.show.canvas.size_px
        u_H = prog["u_H_projector_to_canvas"]
        for out in self._naive_outputs:
            out.fbo.use()
            ctx.clear(0.0, 0.0, 0.0, 1.0)
            self.canvas_texture.use(0)
            self._naive_sampler.use(0)
            prog["u_output_size_px"].value = out.size_px
            for first, count, surface, h_bytes in out.draws:
                if self.recompute_h:
                    h_bytes = geometry.mat3_to_glsl(
                        geometry.normalize_homography(surface.H_projector_to_canvas)
                    ).tobytes()
                u_H.write(h_bytes)
                out.vao.render(moderngl.TRIANGLES, vertices=count, first=first)
            self._naive_sampler.clear(0)

    def release(self) -> None:
        for out in self._naive_outputs:
            out.vao.release()
            out.vbo.release()
            out.fbo.release()
        self._naive_prog.release()
        self._naive_sampler.release()
        super().release()


# --- measuring ------------------------------------------------------------------------------

COLUMNS_A = ("project py", "moderngl py", "moderngl C", "other C", "other py")


def classify(filename: str, funcname: str) -> str | None:
    """Which column a profiled function's tottime goes to (None: the profiler itself)."""
    if filename == "~":
        if "_lsprof" in funcname:
            return None
        return "moderngl C" if "'mgl." in funcname else "other C"
    path = os.path.abspath(filename)
    if path.startswith(str(REPO / "mapping") + os.sep) or path.startswith(
        str(REPO / "bench") + os.sep
    ):
        return "project py"
    if f"{os.sep}moderngl{os.sep}" in path or Path(path).name == "_moderngl.py":
        return "moderngl py"
    return "other py"


def profile_frames(
    ctx: moderngl.Context,
    prof: cProfile.Profile,
    draw: Callable[[float], None],
    times_s: list[float],
) -> None:
    """(a): run frames with ``prof`` enabled around each draw only."""
    for t in times_s:
        prof.enable()
        draw(t)
        prof.disable()
        ctx.finish()


def summarise_profile(
    prof: cProfile.Profile, n_frames: int
) -> tuple[dict[str, float], float, float, list[tuple[float, str]]]:
    """ms per frame by column, calls and GL calls per frame, the top functions."""
    cols = dict.fromkeys(COLUMNS_A, 0.0)
    calls = gl_calls = 0
    top = []
    for (filename, line, funcname), (_cc, nc, tt, _ct, _callers) in pstats.Stats(
        prof
    ).stats.items():
        col = classify(filename, funcname)
        if col is None:
            continue
        cols[col] += tt
        calls += nc
        if col == "moderngl C":
            gl_calls += nc
        where = funcname if filename == "~" else f"{Path(filename).name}:{line} {funcname}"
        top.append((tt / n_frames * 1000.0, f"[{col}] {where}"))
    top.sort(reverse=True)
    per_frame = {k: v / n_frames * 1000.0 for k, v in cols.items()}
    return per_frame, calls / n_frames, gl_calls / n_frames, top[:8]


def time_frames(
    ctx: moderngl.Context,
    draw: Callable[[float], None],
    times_s: list[float],
    wall_ms: list[float],
    cpu_ms: list[float],
) -> None:
    """(b): wall and thread CPU ms of each draw call, GPU drained (untimed) between."""
    for t in times_s:
        c0 = time.thread_time()
        w0 = time.perf_counter()
        draw(t)
        w1 = time.perf_counter()
        c1 = time.thread_time()
        ctx.finish()
        wall_ms.append((w1 - w0) * 1000.0)
        cpu_ms.append((c1 - c0) * 1000.0)


def parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="measured frames per run")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured frames before each")
    parser.add_argument(
        "--output-size", type=parse_size, default=(640, 360), help="WxH of each of the 4 outputs"
    )
    parser.add_argument(
        "--grid", type=int, default=4, help="surfaces per output = grid² (default 4: 16)"
    )
    parser.add_argument(
        "--block", type=int, default=25, help="frames per interleaved block (see docstring)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the random corner pins")
    parser.add_argument(
        "--lp-threads",
        type=int,
        default=None,
        help="set LP_NUM_THREADS (llvmpipe rasteriser threads) before creating the context",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baselines")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s: %(message)s"
    )
    started = time.perf_counter()
    times_s = [i / 30.0 for i in range(args.warmup + args.frames)]

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        show, engine = build_show(Path(tmp), args.output_size, args.grid, args.seed)
        log.info(
            "show: %d outputs of %dx%d, %d surfaces, %d layers",
            len(show.outputs),
            *args.output_size,
            len(show.surfaces),
            len(show.layers),
        )
        if args.lp_threads is not None:
            os.environ["LP_NUM_THREADS"] = str(args.lp_threads)
        ctx = create_headless_context()
        renderers: dict[str, Renderer] = {
            f"batched: Renderer ({len(show.outputs)} warp draws)": Renderer(ctx, show)
        }
        if not args.no_naive:
            n = len(show.surfaces)
            renderers[f"naive: {n} draws + {n} mat3 uniforms"] = NaiveRenderer(ctx, show)
            renderers["naive, H recomputed every frame"] = NaiveRenderer(
                ctx, show, recompute_h=True
            )

        # Same pixels? Draw one frame with each and compare every output.
        reference = None
        for label, renderer in renderers.items():
            if renderer.errors:
                log.warning("%s: content errors %s", label, renderer.errors)
            renderer.render(engine.tick(times_s[0]))
            ctx.finish()
            pixels = [renderer.read_output(name).copy() for name in renderer.output_names()]
            if reference is None:
                reference = pixels
                continue
            diff = max(
                int(np.abs(a.astype(np.int16) - b).max())
                for a, b in zip(pixels, reference, strict=True)
            )
            log.info("%s: max difference to the batched renderer: %d levels", label, diff)
            if diff > 1:
                log.warning("%s draws different pixels (max diff %d)", label, diff)

        draws: dict[str, Callable[[float], None]] = {}
        for label, renderer in renderers.items():

            def draw(t: float, renderer: Renderer = renderer) -> None:
                renderer.render(engine.tick(t))

            draws[label] = draw
            log.info("%s: %d warm-up frames", label, args.warmup)
            for t in times_s[: args.warmup]:
                draw(t)
                ctx.finish()
        # Interleaved blocks: each row runs a block of (a) then a block of (b) in turn, so
        # a change in machine load (other processes, CPU clock) hits every row alike.
        profs = {label: cProfile.Profile() for label in renderers}
        walls: dict[str, list[float]] = {label: [] for label in renderers}
        cpus: dict[str, list[float]] = {label: [] for label in renderers}
        measured = times_s[args.warmup :]
        for b0 in range(0, len(measured), args.block):
            block = measured[b0 : b0 + args.block]
            log.info("frames %d-%d of %d, every row", b0, b0 + len(block) - 1, len(measured))
            for label, draw in draws.items():
                profile_frames(ctx, profs[label], draw, block)
                time_frames(ctx, draw, block, walls[label], cpus[label])
        results = {}
        for label in renderers:
            prof = summarise_profile(profs[label], len(measured))
            wall_ms, cpu_ms = np.asarray(walls[label]), np.asarray(cpus[label])
            results[label] = (prof, wall_ms, cpu_ms)
            log.info(
                "%s: project py %.3f ms/frame, wall %.3f ms, thread %.3f ms; top tottime:",
                label,
                prof[0]["project py"],
                float(wall_ms.mean()),
                float(cpu_ms.mean()),
            )
            for ms, where in prof[3]:
                log.info("    %.4f ms/frame  %s", ms, where)
        gl_renderer_name = ctx.info["GL_RENDERER"]
        if ctx.error != "GL_NO_ERROR":
            log.warning("GL error after the run: %s", ctx.error)
        for renderer in renderers.values():
            renderer.release()
        ctx.release()

    # --- the tables
    head_a = ["(a) cProfile, ms/frame", *COLUMNS_A, "total", "calls", "GL calls"]
    rows_a = []
    for label, ((cols, calls, gl_calls, _top), _w, _c) in results.items():
        rows_a.append(
            [label]
            + [f"{cols[k]:.3f}" for k in COLUMNS_A]
            + [f"{sum(cols.values()):.3f}", f"{calls:.0f}", f"{gl_calls:.0f}"]
        )
    head_b = [
        "(b) unprofiled, ms/frame",
        "wall mean",
        "wall median",
        "wall p95",
        "thread CPU mean",
        "thread CPU median",
        "blocked mean",
    ]
    rows_b = []
    for label, (_p, wall_ms, cpu_ms) in results.items():
        rows_b.append(
            [
                label,
                f"{wall_ms.mean():.3f}",
                f"{np.median(wall_ms):.3f}",
                f"{np.percentile(wall_ms, 95):.3f}",
                f"{cpu_ms.mean():.3f}",
                f"{np.median(cpu_ms):.3f}",
                f"{(wall_ms - cpu_ms).mean():.3f}",
            ]
        )
    first_label = next(iter(results))
    own_ms = results[first_label][0][0]["project py"]
    own_cpu_ms = float(results[first_label][2].mean())
    verdict = "PASS" if own_ms < TARGET_MS else "FAIL"
    ow, oh = args.output_size
    lines = [
        f"bench_python_overhead: {len(show.surfaces)} surfaces on {N_OUTPUTS} outputs of "
        f"{ow}x{oh}, canvas {CANVAS_SIZE_PX[0]}x{CANVAS_SIZE_PX[1]}, layers: "
        f"{', '.join(f'{la.name} ({la.kind})' for la in show.layers)}",
        f"{args.frames} measured frames per run after {args.warmup} warm-up, show time step "
        "1/30 s; ctx.finish() after every frame, outside the measurement",
        f"GL_RENDERER: {gl_renderer_name} | host: {os.cpu_count()} CPUs | "
        f"Python {platform.python_version()} | moderngl {moderngl.__version__} | "
        f"LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', 'unset (llvmpipe: one per CPU)')}",
        "",
        format_table(head_a, rows_a),
        "",
        format_table(head_b, rows_b),
        "",
        f"{verdict}: the renderer's own Python code takes {own_ms:.3f} ms per frame under "
        f"cProfile (target < {TARGET_MS:g} ms; cProfile inflates it); unprofiled, the "
        f"render thread's CPU (Python + moderngl + driver) is {own_cpu_ms:.3f} ms per frame",
        f"total run time {time.perf_counter() - started:.1f} s",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
