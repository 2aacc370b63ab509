"""What a shader's trial frame costs (``mapping.gl.trial``), against compiling it in place.

What it measures
    * ``baseline: compile + 1 frame in process``: what admitting a shader cost before
      trials — :func:`mapping.gl.shaders.load_generator` and one frame at the trial size,
      ``ctx.finish()``, in this process (headless GL);
    * ``worker start``: starting the trial process (Python, imports, its EGL context),
      once per show process and again after a kill;
    * ``trial, new content``: one trial of a content not tried before (a new file identity
      each time): the job sent, compile and two frames in the worker, the answer read;
    * ``trial, cached``: asking again for a content already tried (no work);
    * ``timeout``: an endless loop killed after ``--timeout`` seconds, and the worker
      start that follows it.

    The shader is the demo's aurora, at the demo's 1600×900 layer, tried at 320×180; each
    trial and each baseline compile gets its own variant (a different constant), and Mesa's
    on-disk shader cache is off (``MESA_SHADER_CACHE_DISABLE``, inherited by the worker)
    unless ``--shader-cache``: every compile is a cold one, here and in the worker.

Run: ``python bench/bench_trial.py`` (``--repeat N``, ``--timeout S``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts this checkout first on sys.path)
import moderngl
import numpy as np
from _common import REPO, format_table

from mapping.gl.context import create_headless_context
from mapping.gl.shaders import load_generator
from mapping.gl.trial import ShaderTrials, TrialBudget, trial_size

AURORA = REPO / "shows" / "demo" / "shaders" / "aurora.glsl"
LAYER = (1600, 900)
ENDLESS = """\
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float x = iTime + fragCoord.x;
    for (;;) { x = sin(x) * 1.5 + cos(x * 1.3); if (x > 1000.0) break; }
    fragColor = vec4(x);
}
"""


def in_process(ctx: moderngl.Context, file: Path, size: tuple[int, int]) -> float:
    """Compile and draw one frame here, as the renderer did without trials."""
    t0 = time.perf_counter()
    prog = load_generator(ctx, file)
    tex = ctx.texture(size, 4)
    fbo = ctx.framebuffer([tex])
    vbo = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
    vao = ctx.vertex_array(prog, [(vbo, "2f", "a_unit")])
    fbo.use()
    prog["iResolution"].value = (float(size[0]), float(size[1]), 1.0)
    prog["iTime"].value = 0.5
    vao.render(moderngl.TRIANGLE_STRIP)
    ctx.finish()
    elapsed = time.perf_counter() - t0
    for obj in (vao, vbo, fbo, tex, prog):
        obj.release()
    return elapsed


def ms(values: list[float]) -> list[str]:
    return [
        f"{statistics.mean(values) * 1e3:.1f}",
        f"{min(values) * 1e3:.1f}",
        f"{max(values) * 1e3:.1f}",
        str(len(values)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--shader-cache", action="store_true", help="keep Mesa's disk cache")
    args = parser.parse_args(argv)
    if not args.shader_cache:
        os.environ["MESA_SHADER_CACHE_DISABLE"] = "true"
    size = trial_size(LAYER)
    ctx = create_headless_context()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def variants(first: int) -> list[Path]:  # a new program (and file) each time
            made = []
            for i in range(first, first + args.repeat):
                file = folder / f"aurora{i}.glsl"
                file.write_text(AURORA.read_text().replace("iTime * 0.25", f"iTime * 0.{i}"))
                made.append(file)
            return made

        baseline = variants(25000)
        files = variants(26000)
        in_process(ctx, AURORA, size)  # the driver's first program
        rows.append(
            [
                "baseline: compile + 1 frame in process",
                *ms([in_process(ctx, f, size) for f in baseline]),
            ]
        )

        trials = ShaderTrials(TrialBudget(timeout_s=args.timeout))
        try:
            new, cached = [], []
            for file in files:
                key = trials.key("shader", file, LAYER)
                t0 = time.perf_counter()
                result = trials.run(key)
                new.append(time.perf_counter() - t0)
                assert result.admitted, result.message
                t0 = time.perf_counter()
                trials.run(key)
                cached.append(time.perf_counter() - t0)
            start = list(trials.worker.spawn_s)
            rows.append(["worker start", *ms(start)])
            rows.append(["trial, new content (first: with worker start)", *ms(new)])
            rows.append(["trial, new content (worker running)", *ms(new[1:] or new)])
            rows.append(["trial, cached", *ms(cached)])
            frame = [trials.cached(trials.key("shader", f, LAYER)).frame_s for f in files]  # type: ignore[union-attr]
            rows.append([f"  of which one frame at {size[0]}×{size[1]}", *ms(frame)])
            endless = folder / "endless.glsl"
            endless.write_text(ENDLESS)
            t0 = time.perf_counter()
            outcome = trials.run(trials.key("shader", endless, (320, 240))).outcome
            rows.append(
                [f"timeout ({outcome}, limit {args.timeout:g} s)", *ms([time.perf_counter() - t0])]
            )
            file = folder / "after.glsl"
            file.write_text(AURORA.read_text())
            t0 = time.perf_counter()
            trials.run(trials.key("shader", file, LAYER))
            rows.append(["trial after a kill (worker restarted)", *ms([time.perf_counter() - t0])])
            renderer = trials.worker.renderer
        finally:
            trials.close()
    ctx.release()
    print(f"shader trials: {AURORA.name}, layer {LAYER[0]}×{LAYER[1]}, on {renderer}")
    print(format_table(["", "mean ms", "min ms", "max ms", "n"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
