#!/usr/bin/env bash
# mypy over the tests and benchmarks. They are plain folders (no packages, so none can shadow
# a package of Triage): each folder whose modules import each other is one mypy run, with
# that folder on the search path; `triage.*` comes from the links .ci/setup.sh made.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
run() {
    local path=$1
    shift
    MYPYPATH=".venv/mypy:$path" .venv/bin/mypy --explicit-package-bases "$@" || status=$?
}
run "tests:tests/unit" tests/conftest.py tests/dockerd.py tests/postgres.py tests/dovecot.py \
    tests/unit
run "tests:tests/integration" tests/integration
run "tests/app:tests" tests/app
exit "$status"
