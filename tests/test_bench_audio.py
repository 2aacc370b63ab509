"""bench_audio's rows are computed, and its offline and simulated claims hold (short runs)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_audio_benchmark_measures_offline_exact_and_the_lock_beating_its_baseline(capsys):
    sys.path.insert(0, str(REPO / "bench"))  # the script imports its sibling _common
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_audio", REPO / "bench" / "bench_audio.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        args = ["--seconds", "0", "--sim-minutes", "0.5", "--offline-minutes", "0.1"]
        assert module.main(args) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    rows = {line.split("  ")[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    offline = next(v for k, v in rows.items() if k.startswith("offline render"))
    assert offline[-3:] == ["12", "0.000", "0.000"]  # 6 s of clicks every 0.5 s, exact
    base = next(v for k, v in rows.items() if k.startswith("simulated") and "baseline" in k)
    lock = next(v for k, v in rows.items() if k.startswith("simulated") and "lock" in k)
    assert float(lock[-1]) < 1.0 < float(base[-1])  # 100 ppm over 30 s: 3 ms free-running
