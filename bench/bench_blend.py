"""What blending, a mesh warp and colour correction cost per frame (issue 9).

What it measures
    The frame time of a show rendered headless (default ``shows/demo``: 1600×900 canvas,
    two 1280×720 outputs, in the cue state of ``--cue``, default ``emblem``: every layer
    visible) in five variants of the same show, all in one process on one GL context:

    * ``plain``: no blending, no mesh, no colour correction (the baseline);
    * ``blend``: soft-edge blending (per-output mask over the canvas, linear light);
    * ``mesh 16×16``: a 16×16 mesh warp (small smooth offsets) on every surface;
    * ``colour + 33³ LUT``: contrast, gamma and RGB gains plus a 33³ 3D LUT on every output;
    * ``all``: all of them together (the issue's figure).

How
    Each variant has its own :class:`Renderer`. After ``--warmup`` frames each, the variants
    are timed **interleaved** (plain, blend, mesh, colour, all, plain, …) over ``--frames``
    rounds at the same show times, so a slower moment of the machine hits every row alike.
    A frame is ``renderer.render(engine.tick(t))`` then ``ctx.finish()``.

    ``blend mask rebuild`` times :func:`mapping.blend.blend_masks` uncached for the show's
    geometry: what a corner-pin edit costs once (the masks are cached otherwise).

How to read the table
    ``mean``, ``median`` and ``p95`` in milliseconds per frame; ``ratio`` is the row's mean
    over ``plain``'s (1.00 = free). The header names the GL renderer: on ``llvmpipe`` the
    CPU rasterises every pixel, so per-pixel work (the LUT, the 16 mesh texel reads) weighs
    far more than on a GPU.

Run ``python bench/bench_blend.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import format_table

from mapping import blend
from mapping.color import OutputColor, identity_table, load_cube, write_cube
from mapping.cues import CueEngine
from mapping.gl.context import create_headless_context
from mapping.gl.renderer import Renderer
from mapping.mesh import MeshWarp
from mapping.show import Show, load_show

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_blend")


def _wavy_mesh(n: int) -> MeshWarp:
    j, i = np.mgrid[0:n, 0:n]
    return MeshWarp(np.stack([1.5 * np.sin(0.7 * i + 0.3 * j), 1.5 * np.cos(0.5 * j)], -1))


def variants(show: Show, lut_dir: Path) -> dict[str, Show]:
    """The five variants of ``show`` (see the module docstring)."""
    table = identity_table(33) ** 1.1  # a mild grade, every entry different from identity
    lut = load_cube(write_cube(lut_dir / "grade.cube", table, title="bench grade"))
    colour = OutputColor(0.01, 1.05, 1.1, (1.0, 0.97, 0.93), lut)
    off = dataclasses.replace(show.blend, enabled=False)
    plain = dataclasses.replace(
        show,
        blend=off,
        outputs=tuple(dataclasses.replace(o, color=OutputColor()) for o in show.outputs),
        surfaces=tuple(dataclasses.replace(s, mesh=None) for s in show.surfaces),
    )
    blended = dataclasses.replace(plain, blend=dataclasses.replace(off, enabled=True))
    mesh = dataclasses.replace(
        plain, surfaces=tuple(dataclasses.replace(s, mesh=_wavy_mesh(16)) for s in show.surfaces)
    )
    coloured = dataclasses.replace(
        plain, outputs=tuple(dataclasses.replace(o, color=colour) for o in show.outputs)
    )
    everything = dataclasses.replace(mesh, blend=blended.blend, outputs=coloured.outputs)
    return {
        "plain": plain,
        "blend": blended,
        "mesh 16×16": mesh,
        "colour + 33³ LUT": coloured,
        "all": everything,
    }


def stats_ms(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s, np.float64) * 1000.0
    return {
        "mean": float(ms.mean()),
        "median": float(np.median(ms)),
        "p95": float(np.percentile(ms, 95)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", type=Path, default=REPO / "shows" / "demo")
    parser.add_argument("--cue", default="emblem")
    parser.add_argument("--frames", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s: %(message)s"
    )
    show = load_show(args.show)
    ctx = create_headless_context()
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        shows = variants(show, Path(tmp))
        renderers = {name: Renderer(ctx, s) for name, s in shows.items()}
        engines = {name: CueEngine.at_cue(s, args.cue) for name, s in shows.items()}
        try:
            times = [i / args.fps for i in range(args.warmup + args.frames)]
            for name, renderer in renderers.items():
                for t in times[: args.warmup]:
                    renderer.render(engines[name].tick(t))
                ctx.finish()
            samples = {name: [] for name in renderers}
            for t in times[args.warmup :]:
                for name, renderer in renderers.items():
                    t0 = time.perf_counter()
                    renderer.render(engines[name].tick(t))
                    ctx.finish()
                    samples[name].append(time.perf_counter() - t0)
        finally:
            for renderer in renderers.values():
                renderer.release()
    rebuild = []
    for _ in range(max(3, args.frames // 4)):
        blend._cache.clear()
        t0 = time.perf_counter()
        blend.show_blend_masks(shows["blend"])
        rebuild.append(time.perf_counter() - t0)
    base = stats_ms(samples["plain"])["mean"]
    rows = []
    for name, s in samples.items():
        st = stats_ms(s)
        rows.append(
            [
                name,
                f"{st['mean']:.1f}",
                f"{st['median']:.1f}",
                f"{st['p95']:.1f}",
                f"{st['mean'] / base:.2f}",
            ]
        )
    st = stats_ms(rebuild)
    rows.append(
        [
            "blend mask rebuild (once per edit)",
            f"{st['mean']:.1f}",
            f"{st['median']:.1f}",
            f"{st['p95']:.1f}",
            "",
        ]
    )
    outputs = ", ".join(f"{o.name} {o.resolution[0]}×{o.resolution[1]}" for o in show.outputs)
    print(
        f"bench_blend: {show.name} ({outputs}), cue '{args.cue}', {args.frames} rounds, "
        f"GL renderer {ctx.info['GL_RENDERER']}, {platform.machine()}"
    )
    print(format_table(["variant", "mean ms", "median ms", "p95 ms", "ratio"], rows))
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
