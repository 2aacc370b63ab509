"""Prepare the work folder of one module's mutation run (used by ``scripts/mutation.sh``).

Each module in ``scripts/mutation_scope.toml`` is mutated in its own folder,
``build/mutation/<module>/``: a copy of the working tree (tracked and new files) whose
``pyproject.toml`` names only that module and its test files in ``[tool.mutmut]``, so the
stats run and every mutant run only those tests, and the results of one module are kept
when another is measured.

Usage: ``python scripts/mutation_workdir.py MODULE`` (prints the folder, then the mutant name
patterns of the module's scope, one a line); ``--survivors MODULE`` prints the folder, then
the names of the module's surviving mutants (to run them again after new tests).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCOPE = REPO / "scripts" / "mutation_scope.toml"
SURVIVED = {0, 5, 33}  # survived, no tests, no tests reach it (mutmut's exit codes)


def scope() -> dict[str, dict[str, list[str]]]:
    return tomllib.loads(SCOPE.read_text(encoding="utf-8"))["modules"]


def workdir(module: str) -> Path:
    return REPO / "build" / "mutation" / module.removesuffix(".py").replace("/", ".")


def in_scope(module: str, name: str) -> bool:
    patterns = scope()[module].get("mutants")
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def results(module: str) -> dict[str, int | None]:
    """Exit code by mutant name, for the mutants in the module's scope ({} before a run)."""
    meta = workdir(module) / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {k: v for k, v in codes.items() if in_scope(module, k)}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"unsupported value in [tool.mutmut]: {value!r}")


def mutmut_config(module: str) -> str:
    """The repository's ``[tool.mutmut]`` narrowed to ``module`` and its tests."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    base = dict(tomllib.loads(text)["tool"]["mutmut"])
    packages = ["mapping", "calibration"]
    base["source_paths"] = packages
    base["also_copy"] = [p for p in base.get("also_copy", []) if p not in packages]
    base["only_mutate"] = [module]
    base["pytest_add_cli_args_test_selection"] = scope()[module]["tests"]
    base["use_git_change_detection"] = False
    lines = ["[tool.mutmut]"] + [f"{k} = {_toml_value(v)}" for k, v in base.items()]
    start = re.search(r"^\[tool\.mutmut\]\s*$", text, re.M)
    assert start is not None, "pyproject.toml has no [tool.mutmut]"
    end = re.search(r"^\[", text[start.end() :], re.M)
    rest = text[start.end() + end.start() :] if end else ""
    return text[: start.start()] + "\n".join(lines) + "\n\n" + rest


def prepare(module: str) -> Path:
    """Copy the working tree into the module's folder (unchanged files keep their times,
    so mutmut's cache stays valid) and write its narrowed pyproject.toml."""
    folder = workdir(module)
    folder.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keep = [f for f in files.splitlines() if f != "pyproject.toml" and (REPO / f).is_file()]
    subprocess.run(
        ["rsync", "-a", "--files-from=-", f"{REPO}/", f"{folder}/"],
        input="\n".join(keep),
        text=True,
        check=True,
    )
    config = mutmut_config(module)
    target = folder / "pyproject.toml"
    if not target.exists() or target.read_text(encoding="utf-8") != config:
        target.write_text(config, encoding="utf-8")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="a module of mutation_scope.toml, e.g. mapping/cues.py")
    parser.add_argument("--survivors", action="store_true", help="print its surviving mutants")
    args = parser.parse_args()
    if args.module not in scope():
        print(f"{args.module}: not in {SCOPE.name}; modules: {', '.join(scope())}", file=sys.stderr)
        return 2
    folder = prepare(args.module)
    print(folder)
    if args.survivors:
        names = sorted(k for k, v in results(args.module).items() if v in SURVIVED)
    else:
        names = scope()[args.module].get("mutants", [])
    for name in names:
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
