"""The live-latency benchmark runs end to end (tiny frames, a fraction of a second per row)
and measures every row: the stamped picture is read back through the renderer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_live_benchmark_measures_every_row(capsys):
    sys.path.insert(0, str(REPO / "bench"))  # the script imports its sibling _common
    try:
        path = REPO / "bench" / "bench_live.py"
        spec = importlib.util.spec_from_file_location("bench_live", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.main(["--size", "64x48", "--seconds", "0.25"]) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = capsys.readouterr().out
    rows = {
        "PyAV alone (baseline)",
        "LiveInput.latest()",
        "LiveInput → Renderer (picture)",
        "LiveInput → Renderer (own estimate)",
        "lavfi testsrc2 → Renderer (own estimate)",
    }
    for row in rows:
        line = next(line for line in out.splitlines() if line.startswith(row))
        cells = line[len(row) :].split()
        assert int(cells[0]) > 0, line  # frames measured
        p50_ms = float(cells[1])
        assert 0.0 <= p50_ms < 1000.0, line  # a picture's age, not a clock mix-up
