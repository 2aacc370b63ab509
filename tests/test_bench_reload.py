"""The reload benchmark runs end to end (tiny output, one sample per row) and measures every
row: each edit really reached the output (the script waits for the new colour's pixel)."""

from __future__ import annotations

import importlib.util
import sys

from mapping.reload import DEBOUNCE_S
from tests.conftest import REPO


def test_the_reload_benchmark_measures_every_row(capsys):
    sys.path.insert(0, str(REPO / "bench"))  # the script imports its sibling _common
    try:
        path = REPO / "bench" / "bench_reload.py"
        spec = importlib.util.spec_from_file_location("bench_reload", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.main(["--samples", "1", "--size", "96x54", "--restarts", "0"]) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = capsys.readouterr().out
    for row in ("shader edited", "image replaced", "show.toml edited"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        n, p50_ms = line[len(row) :].split()[:2]
        assert n == "1", line
        # never before the watcher's debounce. How soon after is the benchmark's figure, not
        # this test's: under load a reload here took 1.2 s (a timed test flakes)
        assert DEBOUNCE_S * 1000 <= float(p50_ms), line
    cold = next(line for line in out.splitlines() if line.startswith("cold start (baseline)"))
    assert float(cold.split()[4]) > 0.0  # n, p50
    reload_frames = next(ln for ln in out.splitlines() if ln.startswith("frame with the reload"))
    assert int(reload_frames.split()[4]) >= 3  # one frame applied each reload
