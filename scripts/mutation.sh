#!/usr/bin/env bash
# Mutation testing of the pure core with mutmut (slow, not part of CI; see docs/testing.md).
#
#   scripts/mutation.sh                        # every mutant of the three modules, fresh
#   scripts/mutation.sh 'mapping.geometry*'    # only those mutants (fnmatch on their names)
#   KEEP=1 scripts/mutation.sh                 # resume: keep mutants/ and its cached results
#
# Scope and test selection live in pyproject.toml ([tool.mutmut]). Needs mutmut in the
# venv:  .venv/bin/python -m pip install -e '.[dev,mutation]'
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/mutmut" ]; then
    echo "mutmut is not installed in $VENV: $VENV/bin/python -m pip install -e '.[dev,mutation]'" >&2
    exit 2
fi
if [ -z "${KEEP:-}" ]; then
    rm -rf mutants
fi
started=$(date +%s)
# mutmut exits non-zero when mutants survive; the report below is the result either way.
"$VENV/bin/mutmut" run --max-children "${JOBS:-2}" "$@" || true
echo
echo "mutmut finished in $(( $(date +%s) - started )) s"
"$VENV/bin/python" scripts/mutation_report.py
