"""One round of checks in a process of its own, for an interactive app.

The checks parse HTTP in Python; in the app's own process they would hold the interpreter
lock against the screen. A child process has its own, and writes to the same cache.
"""

from __future__ import annotations

import asyncio
import multiprocessing

from triage.core.config import Settings
from triage.core.health.monitor import HealthMonitor
from triage.core.sites.inventory import load_inventory
from triage.storage.db import open_cache
from triage.storage.errors import TriageError

ROUND_LIMIT_S = 600.0


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
    child = multiprocessing.get_context("spawn").Process(
        target=check_round, args=(settings,), name="triage-health-round", daemon=True
    )
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join(5)
        raise TriageError(f"the health check took over {limit:.0f} s and was stopped: try again")
    if child.exitcode != 0:
        raise TriageError(
            f"the health check stopped with exit code {child.exitcode}: run `triage health` "
            "to see why"
        )
