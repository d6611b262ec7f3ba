"""One round of checks in a process of its own, for an interactive app.

The checks parse HTTP in Python; in the app's own process they would hold the interpreter
lock against the screen. A child Python (this module run with `-m`, the settings on its
standard input) has its own, and writes to the same cache.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from triage.core.config import Settings
from triage.core.health.monitor import HealthMonitor
from triage.core.sites.inventory import load_inventory
from triage.storage.db import open_cache
from triage.storage.errors import TriageError

ROUND_LIMIT_S = 600.0
NICENESS = 10


def check_round(settings: Settings) -> None:
    """Check every watched environment once (confirming failures) and keep the results."""
    engine = open_cache(settings.resolved_database_url())
    try:
        inventory = load_inventory(settings.resolved_sites_file())
        asyncio.run(HealthMonitor(engine, settings.health, inventory).round())
    finally:
        engine.dispose()


def check_round_apart(settings: Settings, limit: float = ROUND_LIMIT_S) -> None:
    """`check_round` in a child process; TriageError when it fails or outlasts `limit`."""
    load_inventory(settings.resolved_sites_file())  # a mistake in it is told here, in a sentence
    # The directory holding the top package, so the child imports this very code.
    root = Path(__file__).resolve().parents[__name__.count(".")]
    paths = [str(root), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__],
            input=settings.model_dump_json(),
            capture_output=True,
            text=True,
            timeout=limit,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TriageError(
            f"the health check took over {limit:.0f} s and was stopped: try again"
        ) from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise TriageError(f"the health check failed ({lines[-1][:200]}): run `triage health`")


def main() -> int:
    """The child: settings as JSON on standard input, one round, exit 0."""
    # Checking in the background gives way to the screen the user is typing in.
    os.nice(NICENESS)
    check_round(Settings.model_validate_json(sys.stdin.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
