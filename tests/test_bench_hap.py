"""bench/bench_hap.py runs end to end (tiny clips): every row measured, HAP through HapSource."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tests.hapkit import need_ffmpeg

REPO = Path(__file__).resolve().parents[1]


def test_the_hap_benchmark_times_every_row(tmp_path, capsys):
    need_ffmpeg()
    sys.path.insert(0, str(REPO / "bench"))  # the script imports its sibling _common
    try:
        spec = importlib.util.spec_from_file_location("bench_hap", REPO / "bench" / "bench_hap.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        args = ["--width", "64", "--height", "32", "--clip-frames", "3", "--frames", "4",
                "--warmup", "1", "--keep", str(tmp_path), "--log-level", "WARNING"]  # fmt: skip
        assert module.main(args) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = capsys.readouterr().out
    for row in (
        "H.264: decode + upload + composite (VideoSource)",
        "HAP: decode + upload + composite (HapSource)",
        "HAP Q: decode + upload + composite (HapSource)",
        "HAP Q: CPU part only",
    ):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert float(line.split()[-3]) > 0  # a frame rate was measured
