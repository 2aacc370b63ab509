"""Summarise a mutmut run (``mutants/**/*.meta``): mutation score per module and group.

Usage: ``python scripts/mutation_report.py [--survivors]`` after ``scripts/mutation.sh``.

Score = (killed + timeout) / (all mutants checked), as ``mutmut export-cicd-stats`` counts
it; mutants with no test that reaches them count as not killed. "not checked" means the run
was stopped before it reached them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = ["mapping/geometry.py", "mapping/show.py", "mapping/media/video.py"]
# The media timing inside video.py (the scope for that file): its pure functions
# and the VideoClip methods that only do time maths.
TIMING = re.compile(
    r"\.x_(frame_index_at|pts_to_index|index_to_pts|frames_to_ticks)__mutmut"
    r"|ǁVideoClipǁ(index_at|frame_at|fps|duration_s|frame_count|_pts_to_index|_index_to_pts"
    r"|_frames_to_ticks)__mutmut"
)
KILLED = {1, 3}
TIMEOUT = {24, -24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
NOT_CHECKED = {None}


def classify(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    if code in NOT_CHECKED:
        return "not checked"
    return "other"


def row(name: str, counts: Counter) -> str:
    checked = sum(v for k, v in counts.items() if k != "not checked")
    caught = counts["killed"] + counts["timeout"]
    score = f"{100.0 * caught / checked:5.1f} %" if checked else "    -"
    return (
        f"| {name} | {sum(counts.values())} | {checked} | {counts['killed']} | "
        f"{counts['timeout']} | {counts['survived']} | {counts['no tests']} | "
        f"{counts['not checked']} | {score} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    args = parser.parse_args()
    print(
        "| module | mutants | checked | killed | timeout | survived | no tests | not checked "
        "| score |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    survivors: list[str] = []
    for module in MODULES:
        meta = REPO / "mutants" / (module + ".meta")
        if not meta.exists():
            print(f"| {module} | (no results: {meta} missing) |")
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(classify(c) for c in codes.values())
        print(row(module, counts))
        if module.endswith("video.py"):
            timing = Counter(classify(c) for k, c in codes.items() if TIMING.search(k))
            print(row(module + " (media timing)", timing))
        survivors += sorted(k for k, c in codes.items() if classify(c) in ("survived", "no tests"))
    if args.survivors:
        print()
        print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
