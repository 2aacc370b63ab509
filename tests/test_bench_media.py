"""bench_media runs, tiny, and its GO rows show the clip's first frame in the next frame."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_media_runs_and_go_shows_the_clip_in_the_next_frame(capsys):
    sys.path.insert(0, str(REPO / "bench"))  # the scripts import their sibling _common
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_media", REPO / "bench" / "bench_media.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        args = ["--clip-size", "64x48", "--output-size", "64x48", "--repeats", "1", "--frames", "6"]
        assert module.main(args) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = capsys.readouterr().out
    for row in ("GO, clip pre-rolled", "baseline: cue.start 3"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert line.split()[-6] == "1"  # frames until the clip's frame 0 is on the output
    for row in ("baseline: 2 clips named", "8 clips named, 2 playing"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert int(line.split()[-1]) == (3 if row.startswith("baseline") else 5)  # sources
