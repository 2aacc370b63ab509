"""Summarise a mutmut run (``mutants/**/*.meta``): mutation score per module and group.

Usage: ``python scripts/mutation_report.py [--survivors] [--classify]`` after
``scripts/mutation.sh``. ``--classify`` reads each survivor's diff (``mutmut show``) and
counts those that match a mechanical equivalence rule (``EQUIVALENT`` below): a score
without them is printed too. Other survivors were judged by hand (docs/testing.md).

Score = (killed + timeout) / (all mutants checked), as ``mutmut export-cicd-stats`` counts
it; mutants with no test that reaches them count as not killed. "not checked" means the run
was stopped before it reached them.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = [
    "mapping/geometry.py",
    "mapping/show.py",
    "mapping/media/video.py",
    "mapping/cues.py",
    "mapping/commands.py",
]
# The media timing inside video.py (the scope for that file): its pure functions
# and the VideoClip methods that only do time maths.
TIMING = re.compile(
    r"\.x_(frame_index_at|pts_to_index|index_to_pts|frames_to_ticks)__mutmut"
    r"|ǁVideoClipǁ(index_at|frame_at|fps|duration_s|frame_count|_pts_to_index|_index_to_pts"
    r"|_frames_to_ticks)__mutmut"
)
# Mutations that cannot change behaviour, recognised from the changed line alone.
EQUIVALENT = {
    # the value becomes float64 at the next arithmetic anyway (or is float64 already)
    "dtype dropped": re.compile(r"dtype=np\.float64\b.*→.*(dtype=None|, \))"),
    # numpy reads any negative size as "infer this one"
    "reshape(-2)": re.compile(r"reshape\(-1, \d\).*→.*reshape\(-2, \d\)"),
    # the lengths were checked equal just before
    "zip strict": re.compile(r"strict=True.*→.*(strict=(None|False)|, \))"),
    # the argument's default value is the same
    "default argument": re.compile(
        r"(flags=cv2\.INTER_LINEAR|borderMode=cv2\.BORDER_CONSTANT|borderValue=0|mode=\"r\")"
        r".*→.*(=None|^\s*$|\)\s*$)"
    ),
}
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


def changed_lines(mutant: str) -> str:
    """'old → new' for the first changed line of a mutant (from ``mutmut show``)."""
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run(
        [str(mutmut), "show", mutant], capture_output=True, text=True, cwd=REPO, timeout=60
    ).stdout
    old = [ln[1:] for ln in out.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    new = [ln[1:] for ln in out.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return f"{old[0] if old else ''} → {new[0] if new else ''}"


def equivalence(mutant: str) -> str | None:
    text = changed_lines(mutant)
    return next((name for name, rule in EQUIVALENT.items() if rule.search(text)), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument(
        "--classify", action="store_true", help="count survivors equivalent by rule (slow)"
    )
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
        module_survivors = sorted(
            k for k, c in codes.items() if classify(c) in ("survived", "no tests")
        )
        survivors += module_survivors
        if args.classify:
            rules = Counter(equivalence(m) for m in module_survivors)
            equivalent = sum(v for k, v in rules.items() if k is not None)
            checked = sum(v for k, v in counts.items() if k != "not checked")
            caught = counts["killed"] + counts["timeout"]
            by_rule = ", ".join(f"{k} {v}" for k, v in sorted(rules.items(), key=str) if k)
            print(
                f"|   without {equivalent} equivalent by rule ({by_rule}) | | "
                f"{checked - equivalent} | | | {len(module_survivors) - equivalent} | | | "
                f"{100.0 * caught / max(checked - equivalent, 1):5.1f} % |"
            )
        if module.endswith("video.py"):
            timing = Counter(classify(c) for k, c in codes.items() if TIMING.search(k))
            print(row(module + " (media timing)", timing))
    if args.survivors:
        print()
        print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
