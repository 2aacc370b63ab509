"""Summarise the mutation runs: mutation score per module of the scope.

Usage: ``python scripts/mutation_report.py [MODULE...] [--survivors] [--classify]`` after
``scripts/mutation.sh``. Reads each module's results in ``build/mutation/<module>/mutants``
(only the mutants in the module's scope, ``scripts/mutation_scope.toml``). ``--classify``
reads each survivor's diff (``mutmut show``) and counts those that match a mechanical
equivalence rule (``EQUIVALENT`` below): a score without them is printed too. Other
survivors were judged by hand (docs/testing.md).

Score = (killed + timeout) / (all mutants checked), as ``mutmut export-cicd-stats`` counts
it; mutants with no test that reaches them count as not killed. "not checked" means the run
was stopped before it reached them.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutation_workdir import REPO, results, scope, workdir

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


def changed_lines(module: str, mutant: str) -> str:
    """'old → new' for the first changed line of a mutant (from ``mutmut show``)."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        capture_output=True,
        text=True,
        cwd=workdir(module),
        timeout=60,
    ).stdout
    old = [ln[1:] for ln in out.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    new = [ln[1:] for ln in out.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return f"{old[0] if old else ''} → {new[0] if new else ''}"


def equivalence(module: str, mutant: str) -> str | None:
    text = changed_lines(module, mutant)
    return next((name for name, rule in EQUIVALENT.items() if rule.search(text)), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to report (default: all in scope)")
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
    for module in args.modules or list(scope()):
        codes = results(module)
        if not codes:
            print(f"| {module} | (no results in {workdir(module).relative_to(REPO)}) |")
            continue
        counts = Counter(classify(c) for c in codes.values())
        print(row(module, counts))
        module_survivors = sorted(
            k for k, c in codes.items() if classify(c) in ("survived", "no tests")
        )
        survivors += module_survivors
        if args.classify:
            rules = Counter(equivalence(module, m) for m in module_survivors)
            equivalent = sum(v for k, v in rules.items() if k is not None)
            checked = sum(v for k, v in counts.items() if k != "not checked")
            caught = counts["killed"] + counts["timeout"]
            by_rule = ", ".join(f"{k} {v}" for k, v in sorted(rules.items(), key=str) if k)
            print(
                f"|   without {equivalent} equivalent by rule ({by_rule}) | | "
                f"{checked - equivalent} | | | {len(module_survivors) - equivalent} | | | "
                f"{100.0 * caught / max(checked - equivalent, 1):5.1f} % |"
            )
    if args.survivors:
        print()
        print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
