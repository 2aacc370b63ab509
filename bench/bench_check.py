"""How ``check`` and ``render`` scale with the number of problems and with polygon size.

What it measures
    Wall time of :func:`mapping.show.load_show` (everything ``check`` does before opening
    media: parse, validate, locate each problem's line, "did you mean" hints) on generated
    shows of growing size, each against a **baseline measured in the same process**: a
    valid show of the same size (same number of tables, keys and vertices, no mistakes).
    Linear scaling shows as a ratio (with problems / valid) that stays flat as the size
    grows, and as time per item that stays flat; quadratic scaling as both growing with n.

    Rows (issue 10 measured, before: 1,000 misspelt keys 3.7 s, 4,000: 40 s; 10,000
    surfaces with 5,003 unknown outputs 156 s against 5 s valid; a 2,000-vertex polygon
    7 s to check and 12 s to render):

    * ``misspelt keys N``: N layers, each with a misspelt key (``colr``) and a cue naming a
      misspelt layer (a "did you mean" over all N layer names);
    * ``unknown outputs N``: N surfaces on N/2 declared outputs, half of them naming an
      output that does not exist (hints over N/2 names, and the list of outputs);
    * ``polygon N``: one surface whose outline has N vertices (a wavy star whose spikes
      crowd together: the worst case for grid-based crossing tests); the baseline is a
      show with the same number of coordinates spread over N/4 quads. ``render`` adds the
      first frame's triangulation and draw (headless GL, 320×240 output).

Run: ``python bench/bench_check.py`` (``--quick`` for the smaller sizes only).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts this checkout first on sys.path)
from _common import format_table

from mapping.errors import ValidationError
from mapping.show import load_show

HEAD = """schema_version = 1
[canvas]
size = [1600, 900]
"""
QUAD = "[[0, 0], [10, 0], [10, 10], [0, 10]]"


def misspelt(n: int, valid: bool) -> str:
    key = "color" if valid else "colr"
    layer = "layer" if valid else "lyaer"
    parts = [HEAD, '[[outputs]]\nname = "o"\nresolution = [320, 240]\n']
    parts += [
        f'[[layers]]\nname = "layer{i}"\nkind = "solid"\n{key} = "#ff0000"\n' for i in range(n)
    ]
    parts += [
        f'[[cues]]\nname = "c{i}"\n[cues.layers.{layer}{i}]\nopacity = 1.0\n' for i in range(n)
    ]
    if not valid:  # the solid layers need their colour; the typo is an extra key
        parts = [
            p.replace('colr = "#ff0000"', 'colr = "#ff0000"\ncolor = "#ff0000"') for p in parts
        ]
    return "".join(parts)


def unknown_outputs(n: int, valid: bool) -> str:
    outputs = n // 2
    parts = [HEAD]
    parts += [f'[[outputs]]\nname = "out{i}"\nresolution = [32, 24]\n' for i in range(outputs)]
    for i in range(n):
        name = f"out{i % outputs}" if valid or i % 2 else f"missing{i}"
        parts.append(
            f'[[surfaces]]\nname = "s{i}"\noutput = "{name}"\npolygon = {QUAD}\ncorners = {QUAD}\n'
        )
    return "".join(parts)


def star(n: int) -> list[tuple[float, float]]:
    points = []
    for k in range(n):
        angle = 2 * math.pi * k / n
        radius = 300 + (100 if k % 2 else 0) + 20 * math.sin(7 * angle)
        points.append((800 + radius * math.cos(angle), 450 + radius * math.sin(angle)))
    return points


def polygon_show(n: int, valid_baseline: bool) -> str:
    parts = [HEAD, '[[outputs]]\nname = "o"\nresolution = [320, 240]\n']
    if valid_baseline:  # the same number of vertices, as small quads
        for i in range(max(1, n // 4)):
            x, y = 20 * (i % 70), 12 * (i // 70) % 880
            quad = f"[[{x}, {y}], [{x + 10}, {y}], [{x + 10}, {y + 10}], [{x}, {y + 10}]]"
            parts.append(
                f'[[surfaces]]\nname = "s{i}"\noutput = "o"\npolygon = {quad}\n'
                "homography = [[0.2, 0, 0], [0, 0.2, 0], [0, 0, 1]]\n"
            )
    else:
        outline = ", ".join(f"[{x:.4f}, {y:.4f}]" for x, y in star(n))
        parts.append(
            f'[[surfaces]]\nname = "p"\noutput = "o"\npolygon = [{outline}]\n'
            "homography = [[0.2, 0, 0], [0, 0.2, 0], [0, 0, 1]]\n"
        )
    parts.append(
        '[[layers]]\nname = "c"\nkind = "solid"\ncolor = "#ff8000"\n'
        '[[cues]]\nname = "a"\n[cues.layers.c]\nopacity = 1.0\n'
    )
    return "".join(parts)


def timed_load(folder: Path, text: str) -> tuple[float, int]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "show.toml").write_text(text, encoding="utf-8")
    start = time.perf_counter()
    try:
        load_show(folder)
        problems = 0
    except ValidationError as exc:
        problems = len(exc.problems)
    return time.perf_counter() - start, problems


def timed_render(folder: Path) -> float:
    from mapping.gl.context import create_headless_context
    from mapping.recorder import render_show

    show = load_show(folder)
    ctx = create_headless_context()
    try:
        start = time.perf_counter()
        render_show(ctx, show, folder / "out", frames=1, fps=30.0, progress=False)
        return time.perf_counter() - start
    finally:
        ctx.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the smaller sizes")
    args = parser.parse_args(argv)
    problem_sizes = [1000, 4000] if args.quick else [1000, 4000, 10000]
    polygon_sizes = [500, 2000] if args.quick else [500, 2000, 8000]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, make, sizes in (
            ("misspelt keys", misspelt, problem_sizes),
            ("unknown outputs", unknown_outputs, problem_sizes),
        ):
            for n in sizes:
                base, _ = timed_load(root / f"{label}-{n}-valid", make(n, True))
                bad, problems = timed_load(root / f"{label}-{n}-bad", make(n, False))
                rows.append(
                    [f"{label} {n}", str(problems), f"{base:.2f}", f"{bad:.2f}",
                     f"{bad / base:.2f}", f"{1e6 * bad / n:.0f}", ""]
                )  # fmt: skip
        for n in polygon_sizes:
            base, _ = timed_load(root / f"poly-{n}-valid", polygon_show(n, True))
            bad, problems = timed_load(root / f"poly-{n}", polygon_show(n, False))
            render_s = timed_render(root / f"poly-{n}")
            rows.append(
                [f"polygon {n}", str(problems), f"{base:.2f}", f"{bad:.2f}",
                 f"{bad / base:.2f}", f"{1e6 * bad / n:.0f}", f"{render_s:.2f}"]
            )  # fmt: skip
    headers = ["case", "problems", "valid s", "case s", "ratio", "µs/item", "render s"]
    print(format_table(headers, rows))
    print(
        "\nvalid s: the same-size show without problems (baseline, same process); "
        "ratio = case / valid; µs/item flat as n grows = linear."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
