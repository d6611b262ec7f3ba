#!/usr/bin/env bash
# The test command: a .venv with triage and its dev tools, then ruff, mypy and the whole
# pytest suite. Every step runs; the exit code is the first failing step's (0 if none failed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*"; }

# shellcheck source=.ci/setup.sh
source .ci/setup.sh

status=0
step() {
    say "$*"
    local code=0
    "$@" || code=$?
    if [ "$code" -ne 0 ]; then
        say "failed with exit code $code: $*"
        [ "$status" -ne 0 ] || status=$code
    fi
}

step .venv/bin/ruff check .
step .venv/bin/mypy
step bash .ci/mypy-tests.sh
step .venv/bin/ruff format --check .
step .venv/bin/python -m pytest -q -p no:cacheprovider

if [ "$status" -eq 0 ]; then say "all checks passed"; else say "some checks failed"; fi
exit "$status"
