"""The security and fleet screens over a 120-site rollout: the cost of one live refresh.

While a rollout runs, both screens read the cache once a second (in a worker) and update
what changed (on the UI thread). Builds a demo cache with N sites' locks, three advisories
and one rollout of every affected site in mixed states (a real SQLite file), then prints
medians, in wall and CPU time, of:

- security read: `rollout_progress` (advisories matched against every site's lock, joined
  with the rollouts and their sites), against the baseline of reading the rollout's site
  rows alone (`storage.rollouts.site_rows`, the fleet screen's read);
- fleet update: the fleet screen (headless app, 160x48) showing rows of which `--changed`
  sites moved on a step since the last refresh, against re-showing unchanged rows;
- security update: the security screen showing the progress read (cards updated in place).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.demo import load_demo
from triage.core.security.progress import rollout_progress
from triage.core.security.site_update import STEPS
from triage.sandbox.agency import build_agency
from triage.storage import rollouts as store
from triage.storage import security as security_rows
from triage.storage.db import open_cache, session_scope
from triage.storage.models import (
    Advisory,
    Rollout,
    RolloutSite,
    RolloutState,
    SiteLock,
    SitePackage,
)
from triage.tui.app import make_app
from triage.tui.screens.fleet import FleetScreen
from triage.tui.screens.security import SecurityScreen

ADVISORY = "SA-CORE-2025-007"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
STATES = [RolloutState.QUEUED, RolloutState.RUNNING, RolloutState.TESTED, RolloutState.FAILED]


def seed(board: Board, sites: int) -> None:
    """N sites' locks (core 10.3.x to 10.5.x), three advisories, one rollout of the affected."""
    now = board.clock()
    with session_scope(board.engine) as session:
        for n in range(sites):
            site = f"site-{n:03d}"
            lock = SiteLock(site=site, ref="main", role="main", commit="c0ffee", read_at=now)
            pins = [
                SitePackage(site=site, ref="main", name="drupal/core", version=f"10.{3 + n % 3}.1"),
                SitePackage(site=site, ref="main", name="drupal/token", version=f"1.1{n % 6}.0"),
            ]
            security_rows.save_lock(session, lock, pins)
    security_rows.save_advisories(board.engine, [
        Advisory(id=ADVISORY, package="drupal/core", severity="critical", affected="<10.4.9"),
        Advisory(id="SA-CORE-2025-008", package="drupal/core", severity="moderate",
                 affected=">=10.5.0 <10.5.6"),
        Advisory(id="SA-CONTRIB-2025-101", package="drupal/token", severity="moderate",
                 affected="<1.15.0"),
    ])  # fmt: skip
    rows = [
        (
            RolloutSite(
                advisory_id=ADVISORY,
                package="drupal/core",
                site=f"site-{n:03d}",
                ticket_key=f"SUP-{n + 1}",
                state=STATES[n % 4],
                rank=n,
                engine="local",
                version="10.3.1",
                step=STEPS[n % 5],
                updated=now,
            ),  # fmt: skip
            None,
        )
        for n in range(sites)
    ]
    rollout = Rollout(advisory_id=ADVISORY, package="drupal/core", severity="critical")
    store.start(board.engine, rollout, None, rows)


Samples = dict[str, list[tuple[float, float]]]
"""Per measure: (wall, CPU) seconds of each run."""


def timed(samples: Samples, name: str, run: Callable[[], object]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    samples.setdefault(name, []).append((time.perf_counter() - wall, time.process_time() - cpu))


def moved(rows: list[RolloutSite], changed: int, turn: int) -> list[RolloutSite]:
    """The rows with `changed` sites one step further on (as a refresh during a run sees)."""
    out = [row.model_copy() for row in rows]
    for index in range(changed):
        row = out[(turn * changed + index) % len(out)]
        row.step = STEPS[(STEPS.index(row.step) + 1) % len(STEPS) if row.step else 0]
        row.state = RolloutState.RUNNING
    return out


async def screens(board: Board, runs: int, changed: int) -> Samples:
    samples: Samples = {}
    app = make_app(board)
    engine = board.engine
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        security = SecurityScreen(lambda: rollout_progress(engine), lambda: False)
        await app.push_screen(security)
        await app.workers.wait_for_complete()
        await pilot.pause()
        progress = rollout_progress(engine)
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            await security.show_entries(SecurityScreen.Loaded(progress))
            took = (time.perf_counter() - wall, time.process_time() - cpu)
            samples.setdefault("security update", []).append(took)
            await pilot.pause()
        rows = store.site_rows(engine, ADVISORY, "drupal/core")
        fleet = FleetScreen(ADVISORY, "drupal/core", lambda: rows)
        await app.push_screen(fleet)
        await app.workers.wait_for_complete()
        await pilot.pause()
        for turn in range(runs):
            fleet.show_rows(fleet.Loaded(store.site_rows(engine, ADVISORY, "drupal/core")))
            await pilot.pause()
            again = fleet.Loaded(store.site_rows(engine, ADVISORY, "drupal/core"))  # as read
            timed(samples, "fleet update, unchanged", partial(fleet.show_rows, again))
            await pilot.pause()
            new = fleet.Loaded(moved(again.rows, changed, turn))
            timed(samples, "fleet update", partial(fleet.show_rows, new))
            await pilot.pause()
    return samples


def report(samples: Samples, base: str) -> None:
    baseline = statistics.median(wall for wall, _ in samples[base])
    for name, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"{name:<28} {wall * 1000:8.2f} ms wall  {cpu * 1000:8.2f} ms CPU  "
              f"{wall / baseline:6.1f}x {base}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=120)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--changed", type=int, default=8, help="sites moved on per refresh")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(Path(folder) / "absent.toml", data_dir=folder)
        engine = open_cache(settings.resolved_database_url())
        agency = build_agency(tickets=120, seed=0, now=NOW)
        load_demo(engine, settings, agency.issues, agency.fields, seed=0)
        board = Board(engine, settings, clock=lambda: NOW)
        seed(board, args.sites)
        reads: Samples = {}
        for _ in range(args.runs):
            timed(reads, "site rows (baseline)", lambda: store.site_rows(board.engine))
            timed(reads, "security read", lambda: rollout_progress(board.engine))
        print(f"{args.sites} sites, 3 advisories, one rollout of {args.sites} sites; "
              f"medians of {args.runs} runs")  # fmt: skip
        report(reads, "site rows (baseline)")
        report(asyncio.run(screens(board, args.runs, args.changed)), "fleet update, unchanged")


if __name__ == "__main__":
    main()
