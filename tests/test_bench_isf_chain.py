"""The ISF benchmark runs at tiny sizes: its tables come out and the work was done."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_isf_benchmark_prints_compile_and_chain_tables(capsys):
    sys.path.insert(0, str(REPO / "bench"))  # the script imports its sibling _common
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_isf_chain", REPO / "bench" / "bench_isf_chain.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        args = ["--width", "64", "--height", "32", "--compiles", "1", "--frames", "2"]
        assert module.main([*args, "--warmup", "1", "--log-level", "WARNING"]) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ISF benchmark — 64×32")

    def row(prefix: str) -> list[str]:
        return next(line for line in lines if line.startswith(prefix)).split()

    for prefix in ("ISF 4 passes", "GLSL 1 pass (baseline)"):
        cold, p50, _, compile_p50, frame_p50, n = map(float, row(prefix)[-6:])
        assert cold > 0 and p50 > 0 and compile_p50 > 0 and frame_p50 > 0 and n == 1
    assert float(row("image layer, no filters")[-3]) > 0
    assert float(row("image layer + ripple, tint, vignette")[-4]) > 0
    assert row("  per filter")[-1].startswith(("+", "-"))
