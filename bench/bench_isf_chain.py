"""ISF content: compile + first frame of a multi-pass file, and the cost of a filter chain.

What it measures
    1. **Compile + first frame** of an ISF generator with four passes (a pattern drawn at
       half size into a target, blurred horizontally and vertically in two more
       half-size targets, then composed at full size): ``parse_isf`` + ``IsfProgram`` +
       one ``render`` + ``ctx.finish()``, at ``--width``×``--height``. The first time in
       the process (``cold``: the driver's own caches empty) and then the median over
       ``--compiles`` more (a fresh program each time, every GL object released after).
       Baseline, same process: the pattern without the blur as a one-pass Shadertoy-style
       generator (``load_generator`` + one draw), the path ``kind = "shader"`` layers take.
    2. **Frame time of a layer with a filter chain of three** ISF filters (ripple, tint,
       vignette: each one pass reading ``inputImage``) against the same layer without
       filters, in the same run: a show with a ``--width``×``--height`` canvas and one output
       of that size, one full-canvas image layer (a noise image, so sampling is real). Each
       row renders ``--warmup`` frames, then times ``--frames`` frames of
       ``renderer.render(engine.tick(t))`` + ``ctx.finish()``; show time advances 1/30 s
       a frame (the ripple reads TIME, so every frame is drawn).

How to read the table
    Milliseconds. Compile rows: ``cold`` (compile + first frame, the first time), ``p50``
    and ``p95`` of the warm repeats, then their median compile (parse + program, up to
    ``ctx.finish()``) and median first frame apart (Mesa compiles lazily, at the first
    draw: there most of the compile is in the first frame). Frame rows: ``mean``,
    ``p50``, ``p95`` per frame, and ``+ms`` over the no-filter baseline (the chain's
    cost; divided by three in the last row: per filter).
    The header names the GL renderer: ``llvmpipe`` is Mesa's software rasteriser, where
    every pixel of every pass is CPU work; a GPU is far faster.

Run ``python bench/bench_isf_chain.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import format_table, one_output_show

from mapping.cues import CueEngine
from mapping.gl.context import create_headless_context
from mapping.gl.isf import IsfProgram
from mapping.gl.renderer import Renderer
from mapping.gl.shaders import load_generator
from mapping.isf import parse_isf
from mapping.show import load_show

log = logging.getLogger("bench_isf_chain")

MULTIPASS = """/*{
    "ISFVSN": "2",
    "DESCRIPTION": "bench: pattern at half size, blurred in two passes, composed",
    "INPUTS": [ { "NAME": "radius", "TYPE": "float", "DEFAULT": 3.0, "MIN": 0.0, "MAX": 8.0 } ],
    "PASSES": [
        { "TARGET": "pattern", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2" },
        { "TARGET": "blurX", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2" },
        { "TARGET": "blurY", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2" },
        { }
    ]
}*/
void main() {
    vec2 uv = isf_FragNormCoord;
    if (PASSINDEX == 0) {
        float c = step(0.5, fract(uv.x * 12.0)) * step(0.5, fract(uv.y * 8.0));
        gl_FragColor = vec4(c, uv.x, uv.y, 1.0);
    } else if (PASSINDEX == 1) {  // ISF images are named, not passed: one loop per pass
        vec4 sum = vec4(0.0);
        for (int i = -4; i <= 4; i++) {
            sum += IMG_NORM_PIXEL(pattern, uv + vec2(float(i) * radius / RENDERSIZE.x, 0.0));
        }
        gl_FragColor = sum / 9.0;
    } else if (PASSINDEX == 2) {
        vec4 sum = vec4(0.0);
        for (int i = -4; i <= 4; i++) {
            sum += IMG_NORM_PIXEL(blurX, uv + vec2(0.0, float(i) * radius / RENDERSIZE.y));
        }
        gl_FragColor = sum / 9.0;
    } else {
        gl_FragColor = mix(IMG_NORM_PIXEL(blurY, uv), vec4(uv, 0.5, 1.0), 0.25);
    }
}
"""

ONE_PASS_GLSL = """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    float c = step(0.5, fract(uv.x * 12.0)) * step(0.5, fract(uv.y * 8.0));
    fragColor = mix(vec4(c, uv.x, uv.y, 1.0), vec4(uv, 0.5, 1.0), 0.25);
}
"""

FILTERS = {
    "ripple": """/*{ "ISFVSN": "2", "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "strength", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0 } ] }*/
void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 shift = 0.02 * strength * vec2(sin(uv.y * 12.0 + TIME * 2.0), cos(uv.x * 8.0 + TIME));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, clamp(uv + shift, 0.0, 1.0));
}
""",
    "tint": """/*{ "ISFVSN": "2", "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "color", "TYPE": "color", "DEFAULT": [1.0, 0.8, 0.6, 1.0] } ] }*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(c.rgb * color.rgb, c.a);
}
""",
    "vignette": """/*{ "ISFVSN": "2", "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "amount", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0 } ] }*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    float d = distance(isf_FragNormCoord, vec2(0.5));
    gl_FragColor = vec4(c.rgb * (1.0 - amount * smoothstep(0.3, 0.75, d)), c.a);
}
""",
}

LAYER = """[[layers]]
name = "picture"
kind = "image"
file = "media/noise.png"
{filters}
"""


def percentile_ms(samples_s: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples_s) * 1000.0, q)) if samples_s else 0.0


def time_compiles(ctx, folder: Path, size: tuple[int, int], repeats: int) -> dict[str, list]:
    """Compile + first frame, ISF multi-pass and the one-pass GLSL baseline (seconds)."""
    isf_file = folder / "multipass.fs"
    isf_file.write_text(MULTIPASS)
    glsl_file = folder / "one_pass.glsl"
    glsl_file.write_text(ONE_PASS_GLSL)
    target = ctx.texture(size, 4)
    fbo = ctx.framebuffer([target])
    quad = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())

    def isf_once() -> tuple[float, float]:
        t0 = time.perf_counter()
        program = IsfProgram(ctx, parse_isf(isf_file))
        ctx.finish()
        t1 = time.perf_counter()
        program.render(size, 0.0, {})
        ctx.finish()
        t2 = time.perf_counter()
        program.release()
        return t1 - t0, t2 - t1

    def glsl_once() -> tuple[float, float]:
        t0 = time.perf_counter()
        prog = load_generator(ctx, glsl_file)
        vao = ctx.vertex_array(prog, [(quad, "2f", "a_unit")])
        ctx.finish()
        t1 = time.perf_counter()
        if "iResolution" in prog:
            prog["iResolution"].value = (float(size[0]), float(size[1]), 1.0)
        fbo.use()
        vao.render(5)  # TRIANGLE_STRIP
        ctx.finish()
        t2 = time.perf_counter()
        vao.release()
        prog.release()
        return t1 - t0, t2 - t1

    out: dict[str, list] = {"isf": [], "glsl": []}
    try:
        for _ in range(repeats + 1):  # the first of each is the cold one
            for name, once in (("isf", isf_once), ("glsl", glsl_once)):
                out[name].append(once())
    finally:
        ctx.detect_framebuffer(0).use()
        for obj in (fbo, target, quad):
            obj.release()
    return out


def time_chain(
    ctx, folder: Path, size: tuple[int, int], frames: int, warmup: int
) -> dict[str, list[float]]:
    """Frame time of the image layer without filters and with the chain of three."""
    import cv2

    shaders = folder / "shaders"
    shaders.mkdir(exist_ok=True)
    for name, text in FILTERS.items():
        (shaders / f"{name}.fs").write_text(text)
    (folder / "media").mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "media" / "noise.png"), noise)
    chain = ", ".join(f'{{ shader = "shaders/{n}.fs" }}' for n in FILTERS)
    results: dict[str, list[float]] = {}
    for row, filters in (("no filters", ""), ("3 filters", f"filters = [{chain}]")):
        show_dir = folder / row.replace(" ", "-")
        show_dir.mkdir()
        (show_dir / "media").symlink_to(folder / "media")
        (show_dir / "shaders").symlink_to(shaders)
        text = one_output_show("bench-isf", size) + LAYER.format(filters=filters)
        (show_dir / "show.toml").write_text(text)
        show = load_show(show_dir)
        renderer = Renderer(ctx, show)
        engine = CueEngine(show)
        samples = []
        try:
            for i in range(warmup + frames):
                t0 = time.perf_counter()
                renderer.render(engine.tick(i / 30.0))
                ctx.finish()
                if i >= warmup:
                    samples.append(time.perf_counter() - t0)
            if renderer.errors:
                raise RuntimeError(f"content errors: {renderer.errors}")
        finally:
            renderer.release()
        results[row] = samples
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1920, help="canvas and output width")
    parser.add_argument("--height", type=int, default=1080, help="canvas and output height")
    parser.add_argument("--compiles", type=int, default=10, help="warm compile repeats")
    parser.add_argument("--frames", type=int, default=60, help="timed frames per row")
    parser.add_argument("--warmup", type=int, default=5, help="untimed frames per row")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    size = (args.width, args.height)
    ctx = create_headless_context()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-isf-") as tmp:
            folder = Path(tmp)
            compiles = time_compiles(ctx, folder, size, args.compiles)
            chain = time_chain(ctx, folder, size, args.frames, args.warmup)
        gl = f"{ctx.info['GL_RENDERER']} ({ctx.info['GL_VERSION']})"
    finally:
        ctx.release()

    print(f"ISF benchmark — {size[0]}×{size[1]}, GL: {gl}, {platform.machine()}")
    print()
    rows = []
    for name, label in (
        ("isf", "ISF 4 passes: parse + compile, 1st frame"),
        ("glsl", "GLSL 1 pass (baseline): compile, 1st frame"),
    ):
        cold, warm = compiles[name][0], compiles[name][1:]
        totals = [c + f for c, f in warm]
        rows.append(
            [
                label,
                f"{sum(cold) * 1000:.1f}",
                f"{percentile_ms(totals, 50):.1f}",
                f"{percentile_ms(totals, 95):.1f}",
                f"{percentile_ms([c for c, _ in warm], 50):.1f}",
                f"{percentile_ms([f for _, f in warm], 50):.1f}",
                str(len(warm)),
            ]
        )
    headers = ["compile + 1st frame (ms)", "cold", "p50", "p95", "compile p50", "frame p50", "n"]
    print(format_table(headers, rows))
    print()
    base = float(np.mean(chain["no filters"])) * 1000.0
    rows = []
    for row, samples in chain.items():
        mean = float(np.mean(samples)) * 1000.0
        extra = "" if row == "no filters" else f"{mean - base:+.1f}"
        label = (
            "image layer, no filters (baseline)"
            if row == "no filters"
            else ("image layer + ripple, tint, vignette")
        )
        rows.append(
            [
                label,
                f"{mean:.1f}",
                f"{percentile_ms(samples, 50):.1f}",
                f"{percentile_ms(samples, 95):.1f}",
                extra,
            ]
        )
    per = (float(np.mean(chain["3 filters"])) * 1000.0 - base) / 3.0
    rows.append(["  per filter", "", "", "", f"{per:+.1f}"])
    print(format_table(["frame (ms)", "mean", "p50", "p95", "+ms"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
