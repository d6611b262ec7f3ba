#!/usr/bin/env bash
# The demo command: set up .venv, then `triage demo` (a demo agency in the data directory,
# opened on the board). Arguments go to `triage demo`, e.g. `--tickets 20000 --seed 7`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*"; }

# shellcheck source=.ci/setup.sh
source .ci/setup.sh

exec .venv/bin/triage demo "$@"
