"""Compile plus first frame of ISF files, and their frame time, against a plain generator.

What it measures
    For each file, in one process and one headless GL context:

    * ``parse``: ``parse_isf`` + ``translate`` (the JSON header, defaults, GLSL 3.30 text);
    * ``compile``: making the program (``IsfProgram``: the driver compiles and links, the
      buffers' bookkeeping, the flip program) — or, for the baseline, ``load_generator``;
    * ``first frame``: the first ``render`` (buffers allocated) then ``ctx.finish()``;
    * ``frame``: the median of ``--frames`` further renders at advancing ``TIME``, each
      followed by ``ctx.finish()`` (on llvmpipe the CPU rasterises, so this is CPU time).

    Rows: the baseline, a Shadertoy-style ``shader`` generator computing the same plasma
    as the one-pass ISF file (the same maths per pixel); the one-pass ISF file (its extra
    cost is the copy, flipped to row 0 = top, into the returned texture: about 1.5 ms at
    640×360 on llvmpipe, next to nothing on a GPU); and a three-pass ISF file — a
    half-size FLOAT buffer, a PERSISTENT feedback buffer, then the output — as published
    feedback effects are written.

How to read the table
    Milliseconds (median of ``--repeat`` runs for the one-off steps); ``× base`` divides a
    row's frame time by the baseline's. ``--size`` sets the render size (default 640×360).
    On llvmpipe the first frame includes compiling the shaders' machine code (Mesa
    compiles at the first draw), so "first frame" is where a file's compile cost shows;
    the driver's shader cache makes repeated compiles of the same text cheaper.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import moderngl
import numpy as np
from _common import format_table

from mapping.gl.context import create_headless_context
from mapping.gl.isf import IsfProgram
from mapping.gl.shaders import load_generator
from mapping.isf import parse_isf
from mapping.isf.translate import translate

_PLASMA = "0.5 + 0.5 * sin(uv.x * 10.0 + t) * cos(uv.y * 7.0 - t * 0.7)"

BASELINE = f"""
void mainImage(out vec4 fragColor, in vec2 fragCoord) {{
    vec2 uv = fragCoord / iResolution.xy;
    float t = iTime;
    float v = {_PLASMA};
    fragColor = vec4(v, v * v, 1.0 - v, 1.0);
}}
"""

ONE_PASS = {"ISFVSN": "2", "INPUTS": [{"NAME": "speed", "TYPE": "float", "DEFAULT": 1.0}]}
ONE_PASS_BODY = f"""
void main() {{
    vec2 uv = isf_FragNormCoord;
    float t = TIME * speed;
    float v = {_PLASMA};
    gl_FragColor = vec4(v, v * v, 1.0 - v, 1.0);
}}
"""

THREE_PASS = {
    "ISFVSN": "2",
    "INPUTS": [{"NAME": "decay", "TYPE": "float", "DEFAULT": 0.9}],
    "PASSES": [
        {"TARGET": "small", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2", "FLOAT": True},
        {"TARGET": "trail", "PERSISTENT": True},
        {},
    ],
}
THREE_PASS_BODY = f"""
void main() {{
    vec2 uv = isf_FragNormCoord;
    float t = TIME;
    if (PASSINDEX == 0) {{
        float v = {_PLASMA};
        gl_FragColor = vec4(v, v * v, 1.0 - v, 1.0);
    }} else if (PASSINDEX == 1) {{
        gl_FragColor = max(IMG_NORM_PIXEL(small, uv), IMG_THIS_PIXEL(trail) * decay);
    }} else {{
        gl_FragColor = IMG_THIS_NORM_PIXEL(trail);
    }}
}}
"""


def _write(folder: Path, name: str, header: dict, body: str) -> Path:
    path = folder / f"{name}.fs"
    path.write_text("/*\n" + json.dumps(header, indent=2) + "\n*/\n" + body)
    return path


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def main(argv: list[str] | None = None, ctx: moderngl.Context | None = None) -> int:
    """Run the benchmark (in ``ctx`` when given: the test suite's context)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, nargs=2, default=(640, 360), metavar=("W", "H"))
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    size = (args.size[0], args.size[1])
    own = ctx is None
    ctx = ctx or create_headless_context()
    default_fbo = ctx.detect_framebuffer(0)
    rows: list[list[str]] = []
    base_frame = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        glsl = folder / "plasma.glsl"
        glsl.write_text(BASELINE)
        files = {
            "ISF, 1 pass": _write(folder, "one", ONE_PASS, ONE_PASS_BODY),
            "ISF, 3 passes (float, persistent)": _write(
                folder, "three", THREE_PASS, THREE_PASS_BODY
            ),
        }
        # the baseline: a shader-kind generator drawn as GeneratorSource draws it
        compile_s, first_s, frames = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            prog = load_generator(ctx, glsl)
            t1 = time.perf_counter()
            tex = ctx.texture(size, 4)
            fbo = ctx.framebuffer([tex])
            quad = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
            vao = ctx.vertex_array(prog, [(quad, "2f", "a_unit")])
            prog["iResolution"].value = (float(size[0]), float(size[1]), 1.0)
            for n in range(args.frames + 1):
                t_frame = time.perf_counter()
                prog["iTime"].value = n / 30
                fbo.use()
                vao.render(moderngl.TRIANGLE_STRIP)
                ctx.finish()
                (frames if n else first_s).append(time.perf_counter() - t_frame)
            compile_s.append(t1 - t0)
            default_fbo.use()  # never release the current framebuffer
            for obj in (vao, quad, fbo, tex, prog):
                obj.release()
        base_frame = statistics.median(frames)
        rows.append(["shader generator (baseline)", "-", _ms(statistics.median(compile_s)),
                     _ms(statistics.median(first_s)), _ms(base_frame), "1.00"])  # fmt: skip
        for label, path in files.items():
            parse_s, compile_s, first_s, frames = [], [], [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                doc = parse_isf(path)
                translate(doc)
                t1 = time.perf_counter()
                program = IsfProgram(ctx, doc)
                t2 = time.perf_counter()
                for n in range(args.frames + 1):
                    t_frame = time.perf_counter()
                    program.render(size, n / 30, {})
                    ctx.finish()
                    (frames if n else first_s).append(time.perf_counter() - t_frame)
                parse_s.append(t1 - t0)
                compile_s.append(t2 - t1)
                program.release()
            frame = statistics.median(frames)
            rows.append([label, _ms(statistics.median(parse_s)), _ms(statistics.median(compile_s)),
                         _ms(statistics.median(first_s)), _ms(frame),
                         f"{frame / base_frame:.2f}"])  # fmt: skip
    print(f"{ctx.info['GL_RENDERER']}, {size[0]}×{size[1]}, {args.frames} frames × {args.repeat}")
    headers = ["file", "parse ms", "compile ms", "first frame ms", "frame ms", "× base"]
    print(format_table(headers, rows))
    if own:
        ctx.release()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
