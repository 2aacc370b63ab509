"""The cluster benchmark runs at a tiny size and reports frame-locked GOs (smoke test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_cluster_benchmark_prints_both_tables_with_the_baseline(capsys) -> None:
    sys.path.insert(0, str(REPO / "bench"))  # the script imports its sibling _common
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_cluster", REPO / "bench" / "bench_cluster.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        code = module.main(["--nodes", "2", "--gos", "1", "--phases", "2", "--fps", "20"])
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = capsys.readouterr().out
    assert code == 0, out
    for table in ("(1) GO → first frame", "(2) frame index on screen"):
        assert table in out
    for phase in ("baseline: no delay, no loss", "20 ms ± 10 ms, 1 % loss"):
        rows = [line for line in out.splitlines() if line.startswith(phase)]
        assert len(rows) == 2, out
        go_row = rows[0].split()
        assert go_row[-3] == "0"  # max spread across nodes, in frames
        p50 = float(go_row[-6])
        assert 6.0 <= p50 <= 12.0, rows[0]  # at least the lead (6 frames), not much more
        agreement = rows[1].split()
        assert agreement[-8] == "0"  # never more than a frame boundary apart
        # the same index most of the time (one apart only within the presentation skew
        # after each frame boundary: well over 90 % on a quiet machine, less when it is busy)
        assert float(agreement[-12]) > 75.0, rows[1]
