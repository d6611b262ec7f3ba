"""Driving a security rollout over a `rollout_world` world (a support module).

`prepare` syncs the cache from the sandbox Jira, polls the world's advisories feed and reads
every site's composer.lock; `start` starts the rollout of ADVISORY_ID and pushes its tickets;
`run` runs the scheduler (DockerSiteWork, a JobRunner) and pushes what the sites' updates
wrote (comments, moves). `CHILD` is the same run as a script, for the kill -9 test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout_world import World

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.jobs.runner import JobRunner
from triage.core.security.advisories import poll
from triage.core.security.fleet import refresh
from triage.core.security.rollout import Started, start_rollout
from triage.core.security.scheduler import ClosableWork, RolloutScheduler, RunSummary
from triage.core.security.site_work import DockerSiteWork
from triage.core.sites.environments import Engines
from triage.core.tracker.client import JiraTracker
from triage.core.tracker.push import Pusher
from triage.core.tracker.sync import Sync
from triage.sandbox.composer_repo import ADVISORY_ID
from triage.storage import jobs
from triage.storage import rollouts as store
from triage.storage.models import JobState, RolloutSite

PACKAGE = "drupal/core"


def rollout_settings(data_dir: Path, feed: str, max_parallel: int = 3) -> Settings:
    """Settings with the world's feed; Platinum goes on to production at once."""
    return load_settings(data_dir / "absent.toml", **settings_data(data_dir, feed, max_parallel))


def settings_data(data_dir: Path, feed: str, max_parallel: int = 3) -> dict[str, Any]:
    """The overrides of `rollout_settings` (JSON, for a child process)."""
    return dict(
        data_dir=str(data_dir),
        jira={"projects": ["SUP"]},
        security={
            "feeds": {"drupal": feed},
            "psa_url": "",
            "rollout": {
                "max_parallel": max_parallel,
                "per_engine": max_parallel,
                "packages": {"Platinum": {"to": "prod", "window_hours": 0}},
                "package_order": ["Platinum", "Gold", "Silver"],
            },
        },
    )


def prepare(board: Board, tracker: JiraTracker, world: World) -> None:
    """The cache synced, the advisory polled, every site's composer.lock read."""
    Sync(board.engine, board.settings, tracker).run()
    report = poll(board.engine, board.settings.security)
    assert report.new >= 1 and not report.failed_feeds, report.problems
    assert board.settings.data_dir is not None
    reads = refresh(board.engine, world.inventory, board.settings.data_dir)
    assert not [read.error for read in reads if read.error]


def push(board: Board, tracker: JiraTracker) -> None:
    """Push the outbox; nothing may fail."""
    result = Pusher(board.engine, board.settings, tracker).run()
    assert not result.failed and not result.conflicts, result.errors


def start(board: Board, tracker: JiraTracker, world: World) -> Started:
    """Start the rollout of the world's advisory and push its tickets."""
    (started,) = start_rollout(board, world.inventory, board.settings.security.rollout,
                               ADVISORY_ID)  # fmt: skip
    push(board, tracker)
    return started


def scheduler(board: Board, world: World, runner: JobRunner, engines: Engines) -> RolloutScheduler:
    def work() -> ClosableWork:
        return DockerSiteWork(engines, board.clock)

    return RolloutScheduler(board, world.inventory, board.settings.security.rollout, runner, work)


def run(board: Board, tracker: JiraTracker, world: World, timeout: float = 1200) -> RunSummary:
    """Recover, run every runnable site, push what the updates wrote."""
    rollout = board.settings.security.rollout
    with JobRunner(board.engine, max_jobs=rollout.max_parallel) as runner:
        plan = scheduler(board, world, runner, world.engines)
        plan.recover()
        summary = plan.run(timeout=timeout)
    assert not summary.timed_out
    push(board, tracker)
    return summary


def rows(board: Board) -> dict[str, RolloutSite]:
    """Each site's rollout row."""
    return {row.site: row for row in store.site_rows(board.engine, ADVISORY_ID, PACKAGE)}


def steps(board: Board, site: str, name: str, done: bool = True) -> int:
    """How many `name` steps the site's jobs ran (that succeeded, when `done`)."""
    count = 0
    for job in jobs.latest(board.engine, 10_000):
        if job.site != site or job.id is None:
            continue
        for step in jobs.steps(board.engine, job.id):
            if step.name == name and (not done or step.state is JobState.SUCCEEDED):
                count += 1
    return count


def parent_ticket(board: Board) -> str | None:
    """The key of the rollout's parent ticket."""
    found = store.rollout(board.engine, ADVISORY_ID, PACKAGE)
    return found.ticket_key if found else None


@dataclass(frozen=True)
class Seen:
    """What a site's end looks like, for comparing two runs."""

    state: str
    new_version: str
    step: str


def seen(board: Board) -> dict[str, Seen]:
    return {
        row.site.rsplit("-", 1)[-1]: Seen(row.state.value, row.new_version, row.step)
        for row in rows(board).values()
    }


CHILD = r"""
import json, sys
from pathlib import Path

cache_url, overrides, inventory_file, url, user = sys.argv[1:6]
from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.jobs.runner import JobRunner
from triage.core.security.scheduler import RolloutScheduler
from triage.core.security.site_work import DockerSiteWork
from triage.core.sites.inventory import Inventory
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.push import Pusher
from triage.storage.db import open_cache

settings = load_settings(Path(inventory_file).parent / "absent.toml", **json.loads(overrides))
inventory = Inventory.model_validate_json(Path(inventory_file).read_text())
for site_id, site in inventory.sites.items():
    site.id = site_id
engine = open_cache(cache_url)
board = Board(engine, settings)
with JobRunner(engine, max_jobs=3) as runner:
    plan = RolloutScheduler(board, inventory, settings.security.rollout, runner,
                            lambda: DockerSiteWork(None, board.clock))
    plan.recover()
    summary = plan.run(timeout=1200)
Pusher(engine, settings, JiraTracker(Credentials(url, "sandbox-token", user), "dc")).run()
print(json.dumps(dict(summary.states)), flush=True)
"""
