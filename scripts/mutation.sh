#!/usr/bin/env bash
# Mutation testing of the pure core with mutmut (slow, not part of CI; see docs/testing.md).
#
#   scripts/mutation.sh mapping/geometry.py             # one module, from scratch
#   KEEP=1 scripts/mutation.sh mapping/geometry.py      # resume: keep its cached results
#   scripts/mutation.sh --survivors mapping/cues.py     # run its survivors again (new tests)
#   scripts/mutation.sh mapping/cues.py 'mapping.cues.x_parse*'   # only these mutants
#   scripts/mutation.sh --all                           # every module of the scope, in turn
#
# The modules and the test files that specify each one are in scripts/mutation_scope.toml;
# each module runs in its own folder, build/mutation/<module>/ (scripts/mutation_workdir.py),
# with only its tests. Run it niced on a shared machine: nice -n 19 scripts/mutation.sh ...
# JOBS (default 2) mutants run at once. Needs mutmut in the venv:
#   .venv/bin/python -m pip install -e '.[dev,mutation]'
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${VENV:-$REPO/.venv}/bin/python
if ! "$PY" -c 'import mutmut' 2>/dev/null; then
    echo "mutmut is not installed: $PY -m pip install -e '.[dev,mutation]'" >&2
    exit 2
fi

if [ "${1:-}" = "--all" ]; then
    for module in $("$PY" -c 'import tomllib; print(*tomllib.load(open("scripts/mutation_scope.toml", "rb"))["modules"])'); do
        "$0" "$module"
    done
    exit 0
fi

survivors=""
if [ "${1:-}" = "--survivors" ]; then
    survivors=1
    shift
fi
module=${1:?usage: scripts/mutation.sh [--survivors] MODULE [MUTANT_PATTERN...] (see scripts/mutation_scope.toml)}
shift

mapfile -t lines < <("$PY" scripts/mutation_workdir.py ${survivors:+--survivors} "$module")
folder=${lines[0]}
names=("${lines[@]:1}")
if [ $# -gt 0 ]; then
    names=("$@")
fi
if [ -n "$survivors" ] && [ ${#names[@]} -eq 0 ]; then
    echo "$module: no survivors to run again"
    exit 0
fi
if [ -z "${KEEP:-}" ] && [ -z "$survivors" ]; then
    rm -rf "$folder/mutants"
fi
started=$(date +%s)
# mutmut exits non-zero when mutants survive; the report below is the result either way.
(cd "$folder" && "$PY" -m mutmut run --max-children "${JOBS:-2}" "${names[@]}") || true
echo
echo "$module: mutmut finished in $(( $(date +%s) - started )) s"
"$PY" scripts/mutation_report.py "$module"
