"""`triage health`: check every watched site once and print, or keep checking as a service.

Once: one line per environment, worst first (or a JSON list with `--json`); exit 1 when a
site is down. `--watch` checks each site at its interval and prints each change of state
until SIGINT or SIGTERM, writing everything to the cache for the team's health screens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING

from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from triage.core.config import Settings
    from triage.core.health.monitor import HealthMonitor
    from triage.core.health.state import Change

EXIT_DOWN = 1


def add_parsers(sub: Subparsers) -> None:
    """The health command."""
    health = sub.add_parser("health", help="check the sites' health once, or keep checking")
    how = health.add_mutually_exclusive_group()
    how.add_argument("--json", action="store_true", help="print a JSON list")
    how.add_argument(
        "--watch", action="store_true", help="keep checking until SIGINT/SIGTERM (a service)"
    )


def _monitor(settings: Settings) -> HealthMonitor:
    from triage.core.health.monitor import HealthMonitor
    from triage.core.sites.inventory import load_inventory
    from triage.storage.db import open_cache

    inventory = load_inventory(settings.resolved_sites_file())
    engine = open_cache(settings.resolved_database_url())
    return HealthMonitor(engine, settings.health, inventory)


def run_health(args: argparse.Namespace, settings: Settings) -> int:
    """Check once and print, or watch."""
    from triage.core.health.report import rows_for

    monitor = _monitor(settings)
    if not monitor.targets:
        print(
            f"no environment to check in {settings.resolved_sites_file()}: give prod a url "
            "(or set health.enabled for an environment)",
            file=sys.stderr,
        )
        return 2
    if args.watch:
        return _watch(monitor)
    rows = rows_for(asyncio.run(monitor.round()))
    if args.json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
    else:
        width = max(len(f"{row.health.site}/{row.health.env}") for row in rows)
        for row in rows:
            h = row.health
            where = f"{h.site}/{h.env}"
            ms = f"{h.ms} ms" if h.ms is not None else "-"
            tls = f"TLS {h.tls_days} d" if h.tls_days is not None else ""
            print(
                f"{row.state:<11} {where:<{width}}  {h.status or '-':>3} {ms:>8}  {tls:<9} "
                f"{h.url}  {h.reason}".rstrip()
            )
    return EXIT_DOWN if any(row.as_json()["state"] == "down" for row in rows) else 0


def _print_changes(changes: list[Change]) -> None:
    for change in changes:
        when = change.at.strftime("%Y-%m-%d %H:%M:%S")
        why = f": {change.reason}" if change.reason else ""
        print(
            f"{when} {change.site}/{change.env} {change.before.value} → {change.after.value}{why}",
            flush=True,
        )


def _watch(monitor: HealthMonitor) -> int:
    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"watching {len(monitor.targets)} environments (SIGINT or SIGTERM stops)", flush=True)
        checks = await monitor.watch(stop, _print_changes)
        print(f"stopped after {checks} checks", flush=True)
        return 0

    return asyncio.run(main())


COMMANDS = {"health": run_health}
