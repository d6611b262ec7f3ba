"""Running rollouts through the real scheduler, job runner and cache, on a recording fake work.

The fake (rollout_fakes.FakeWork) stands in for git and Docker: it records each call,
counts how many sites are inside a step at once (overall and per engine), and fails, finds
no fix or takes its time where a site's behaviour says so. A crash is simulated the way one
looks in the cache: the site `running` after its last finished step, its job's process gone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rollout_fakes import (
    T0,
    Behaviour,
    Clock,
    FakeWork,
    Recorder,
    adopt_all,
    engine_url,
    inventory_of,
    make_site,
    save_advisory,
    save_fleet,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.jobs.owner import HOST, process_start
from triage.core.jobs.runner import JobRunner
from triage.core.security.rollout import start_rollout
from triage.core.security.scheduler import RolloutScheduler, RunSummary, others_left
from triage.core.sites.inventory import Inventory, Site
from triage.storage import jobs
from triage.storage import rollouts as store
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.errors import TriageError
from triage.storage.models import (
    AuditEntry,
    Comment,
    Job,
    JobState,
    OutboxEntry,
    OutboxKind,
    RolloutSite,
    RolloutState,
)

SA = "SA-CORE-2026-001"
FULL = ["open_branch", "composer_update", "commit", "audit", "push", "clone_prod", "deploy_test"]
AFTER = {"branch": FULL[1:], "update": FULL[3:], "push": FULL[5:], "deploy": []}
"""The fake's calls a run makes after each last finished step."""


@dataclass
class Fleet:
    """A started rollout whose tickets reached Jira, and what runs it."""

    board: Board
    inventory: Inventory
    recorder: Recorder
    clock: Clock

    def run(self, max_jobs: int = 8) -> RunSummary:
        with JobRunner(self.board.engine, max_jobs, "Mia Me", self.clock) as runner:
            return self.scheduler(runner).run(timeout=60)

    def scheduler(self, runner: JobRunner) -> RolloutScheduler:
        settings = self.board.settings.security.rollout
        return RolloutScheduler(
            self.board, self.inventory, settings, runner, lambda: FakeWork(self.recorder)
        )

    def row(self, site: str) -> Any:
        found = store.site_row(self.board.engine, (SA, "drupal/core", site))
        assert found is not None
        return found


def make_fleet(engine: Engine, tmp_path: Path, sites: list[Site], **rollout: Any) -> Fleet:
    """Start the rollout of SA over these sites (all affected) and give their tickets keys."""
    settings = load_settings(tmp_path / "absent.toml", data_dir=str(tmp_path),
                             jira={"projects": ["SUP"]}, security={"rollout": rollout})  # fmt: skip
    clock = Clock()
    board = Board(engine, settings, clock=clock)
    save_fleet(engine, {site.id: "10.4.8" for site in sites})
    save_advisory(engine, SA, ">=10.0.0 <10.4.9", "critical")
    inventory = inventory_of(sites)
    start_rollout(board, inventory, settings.security.rollout, SA)
    adopt_all(engine)
    recorder = Recorder(engines={site.id: engine_url_of(site) for site in sites})
    return Fleet(board, inventory, recorder, clock)


def engine_url_of(site: Site) -> str:
    return site.envs["dev"].docker_host


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine
    finally:
        engine.dispose()


def crash_after(fleet: Fleet, site: str, step: str) -> int:
    """Leave the site as a killed process would: running after `step`, its job's owner gone."""
    engine = fleet.board.engine
    pid = os.getpid()
    job = Job(kind="security-update", site=site, env="test", pid=pid, host=HOST,
              process=f"{process_start(pid)}:killed", created=T0)  # fmt: skip
    job_id = jobs.add(engine, job)
    assert jobs.start(engine, job_id, T0)
    values: dict[str, Any] = {"state": RolloutState.RUNNING, "step": step, "job_id": job_id}
    if step != "branch":
        values["new_version"] = "10.4.9"
    store.update(engine, (SA, "drupal/core", site), T0, **values)
    return job_id


def comments(engine: Engine, key: str, start: str) -> list[str]:
    with Session(engine) as session:
        found = session.exec(select(Comment.body).where(Comment.ticket_key == key))
        return [body for body in found if body.startswith(start)]


def test_of_sites_ending_at_once_the_last_to_ask_is_the_last_of_its_rollout() -> None:
    a, b, other = (SA, "drupal/core", "a"), (SA, "drupal/core", "b"), ("SA-2", "x/y", "a")
    running, ending = {a: "e1", b: "e2", other: "e1"}, set[tuple[str, str, str]]()

    ending.add(a)
    assert others_left(a, running, ending, [])  # b still runs its steps
    ending.add(b)
    assert not others_left(b, running, ending, [])  # a is ending too: b reports
    queued = [RolloutSite(advisory_id=SA, package="drupal/core", site="c",
                          state=RolloutState.QUEUED)]  # fmt: skip
    assert others_left(b, running, ending, queued)  # one of its rollout still waits


@pytest.mark.parametrize("round_", range(3))
def test_sites_ending_at_once_all_count_and_the_parent_hears_once(
    sqlite_engine: Engine, tmp_path: Path, round_: int
) -> None:
    # Instant work and a slot each: the sites end together, racing to be the last one.
    names = [f"site-{number:02}" for number in range(12)]
    sites = [make_site(name, engine=number % 6) for number, name in enumerate(names)]
    fleet = make_fleet(sqlite_engine, tmp_path, sites, max_parallel=12, per_engine=2)

    summary = fleet.run(max_jobs=16)

    assert summary.states["tested"] == 12, summary  # every end read after the run
    rollout = store.rollout(sqlite_engine, SA, "drupal/core")
    assert rollout is not None and rollout.ticket_key
    (report,) = comments(sqlite_engine, rollout.ticket_key, f"The rollout of {SA}")
    assert all(f"- {name} (" in report for name in names)


def test_each_site_ends_in_its_state_and_a_failing_one_blocks_no_other(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    names = ["acme-shop", "beta-www", "corp-nofix", "delta-kept", "echo-broken", "fox-slow"]
    sites = [make_site(name, engine=number % 2) for number, name in enumerate(names)]
    fleet = make_fleet(sqlite_engine, tmp_path, sites, max_parallel=2)
    fleet.recorder.behaviours = {
        "corp-nofix": Behaviour(no_fix=True),
        "delta-kept": Behaviour(keeps="10.4.8"),
        "echo-broken": Behaviour(fail_at="deploy_test"),
        "fox-slow": Behaviour(slow=0.3),
    }

    summary = fleet.run()

    states = {name: fleet.row(name).state for name in names}
    assert states == {
        "acme-shop": RolloutState.TESTED, "beta-www": RolloutState.TESTED,
        "corp-nofix": RolloutState.NO_FIX, "delta-kept": RolloutState.NO_FIX,
        "echo-broken": RolloutState.FAILED, "fox-slow": RolloutState.TESTED,
    }  # fmt: skip
    assert summary.started == 6 and summary.states["tested"] == 3 and not summary.timed_out
    assert "php version" in fleet.row("corp-nofix").reason
    assert "Composer kept drupal/core at 10.4.8" in fleet.row("delta-kept").reason
    broken = fleet.row("echo-broken")
    assert "deploy_test failed" in broken.reason and broken.step == "clone"
    assert jobs.read(sqlite_engine, broken.job_id).state is JobState.FAILED
    tested = fleet.row("acme-shop")
    branch = f"{tested.ticket_key}-{SA}"
    assert (tested.step, tested.new_version, tested.branch) == ("report", "10.4.9", branch)
    assert fleet.board.ticket(tested.ticket_key).column is BoardColumn.PO_REVIEW
    (report,) = comments(sqlite_engine, tested.ticket_key, "Security update for")
    assert "http://acme-shop.test.example" in report
    nofix = fleet.row("corp-nofix").ticket_key
    assert len(comments(sqlite_engine, nofix, "No secure version")) == 1
    assert fleet.recorder.steps_of("fox-slow") == FULL


@pytest.mark.parametrize(("engines", "max_parallel", "per_engine"), [(3, 4, 2), (2, 4, 1)])
def test_limits_are_kept_and_every_free_slot_is_used(
    sqlite_engine: Engine, tmp_path: Path, engines: int, max_parallel: int, per_engine: int
) -> None:
    # The first six sites served all run on engine 0: the scheduler must look past them.
    sites = [make_site(f"p{n:02}", "Platinum", 0) for n in range(6)]
    sites += [make_site(f"s{n:02}", "", 1 + n % (engines - 1)) for n in range(8)]
    fleet = make_fleet(sqlite_engine, tmp_path, sites, max_parallel=max_parallel,
                       per_engine=per_engine, package_order=["Platinum"])  # fmt: skip
    fleet.recorder.step_seconds = 0.005
    width = min(max_parallel, engines * per_engine)
    fleet.recorder.gate = fleet.recorder.gate_size = width

    summary = fleet.run(max_jobs=max_parallel)

    assert summary.started == 14 and summary.states["tested"] == 14
    assert fleet.recorder.peak == width
    assert max(fleet.recorder.peak_engine.values()) == per_engine
    assert set(fleet.recorder.peak_engine) == {engine_url(n) for n in range(engines)}


def test_sites_start_in_the_order_they_are_served(sqlite_engine: Engine, tmp_path: Path) -> None:
    sites = [make_site("a-bronze", "Bronze"), make_site("b-gold", "Gold"),
             make_site("c-platinum", "Platinum"), make_site("d-gold", "Gold"),
             make_site("e-none")]  # fmt: skip
    fleet = make_fleet(sqlite_engine, tmp_path, sites, max_parallel=1,
                       package_order=["Platinum", "Gold"])  # fmt: skip

    fleet.run(max_jobs=1)

    assert fleet.recorder.starts() == ["c-platinum", "b-gold", "d-gold", "a-bronze", "e-none"]


@pytest.mark.parametrize("step", sorted(AFTER))
def test_after_a_crash_a_site_continues_after_its_last_finished_step(
    sqlite_engine: Engine, tmp_path: Path, step: str
) -> None:
    fleet = make_fleet(sqlite_engine, tmp_path, [make_site("acme-shop"), make_site("beta-www")])
    dead = crash_after(fleet, "acme-shop", step)

    with JobRunner(sqlite_engine, 4, "Mia Me", fleet.clock) as runner:
        scheduler = fleet.scheduler(runner)
        assert scheduler.recover() == [(SA, "drupal/core", "acme-shop")]
        summary = scheduler.run(timeout=60)

    assert jobs.read(sqlite_engine, dead).state is JobState.INTERRUPTED
    assert fleet.recorder.steps_of("acme-shop") == AFTER[step]
    assert fleet.recorder.steps_of("beta-www") == FULL
    assert fleet.row("acme-shop").state is RolloutState.TESTED
    assert fleet.row("acme-shop").attempts == 1 and summary.started == 2


def test_the_report_is_commented_once_when_the_report_step_runs_twice(
    engine: Engine, tmp_path: Path
) -> None:
    # On both databases: the report is known by its first line, in SQL.
    fleet = make_fleet(engine, tmp_path, [make_site("acme-shop")])
    fleet.run()
    # Killed after the comment and the move were written, before the step was.
    crash_after(fleet, "acme-shop", "deploy")

    with JobRunner(engine, 4, "Mia Me", fleet.clock) as runner:
        scheduler = fleet.scheduler(runner)
        scheduler.recover()
        scheduler.run(timeout=60)

    key = fleet.row("acme-shop").ticket_key
    assert fleet.row("acme-shop").state is RolloutState.TESTED
    assert len(comments(engine, key, "Security update for")) == 1
    with Session(engine) as session:
        query = select(OutboxEntry).where(OutboxEntry.ticket_key == key)
        moves = [e for e in session.exec(query) if e.kind is OutboxKind.MOVE]
    assert len(moves) == 1


def test_retry_continues_a_failed_site_and_skip_needs_a_reason(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    fleet = make_fleet(sqlite_engine, tmp_path, [make_site("acme-shop"), make_site("beta-www"),
                                                 make_site("corp-www")])  # fmt: skip
    fleet.recorder.behaviours = {"beta-www": Behaviour(fail_at="deploy_test"),
                                 "corp-www": Behaviour(no_fix=True)}  # fmt: skip
    fleet.run()
    beta, corp = (SA, "drupal/core", "beta-www"), (SA, "drupal/core", "corp-www")

    with JobRunner(sqlite_engine, 4, "Mia Me", fleet.clock) as runner:
        scheduler = fleet.scheduler(runner)
        with pytest.raises(TriageError, match="only those are retried"):
            scheduler.retry((SA, "drupal/core", "acme-shop"))
        scheduler.retry(beta)
        assert fleet.row("beta-www").state is RolloutState.QUEUED
        with pytest.raises(TriageError, match="say why the site is skipped"):
            scheduler.skip(corp, "  ")
        scheduler.skip(corp, "the client moves the site to a supported branch on Monday")
        summary = scheduler.run(timeout=60)

    assert summary.started == 1
    assert fleet.row("beta-www").state is RolloutState.TESTED
    assert fleet.recorder.steps_of("beta-www") == [*FULL, "deploy_test"]
    assert fleet.row("beta-www").attempts == 2
    skipped = fleet.row("corp-www")
    assert skipped.state is RolloutState.SKIPPED and skipped.reason.startswith("the client")
    with Session(sqlite_engine) as session:
        (audit,) = session.exec(select(AuditEntry).where(AuditEntry.action == "rollout-skip"))
    assert (audit.site, audit.actor, audit.ticket_key) == ("corp-www", "me", skipped.ticket_key)
    assert "supported branch on Monday" in audit.detail
    # The parent heard how the rollout ended each time its last site ended: once per ending.
    rollout = store.rollout(sqlite_engine, SA, "drupal/core")
    assert rollout is not None and rollout.ticket_key
    first, last = comments(sqlite_engine, rollout.ticket_key, f"The rollout of {SA}")
    assert "- beta-www" in first and ": failed" in first and "corp-www" in first
    assert f"- beta-www ({fleet.row('beta-www').ticket_key}): tested" in last
    assert "- corp-www" in last and "skipped" in last and "supported branch on Monday" in last
    fleet.run()  # nothing left to run: no third report
    assert len(comments(sqlite_engine, rollout.ticket_key, f"The rollout of {SA}")) == 2


def test_a_running_site_cannot_be_skipped(sqlite_engine: Engine, tmp_path: Path) -> None:
    fleet = make_fleet(sqlite_engine, tmp_path, [make_site("acme-shop")])
    crash_after(fleet, "acme-shop", "push")

    with JobRunner(sqlite_engine, 1, "Mia Me", fleet.clock, recover=False) as runner:
        with pytest.raises(TriageError, match="is running"):
            fleet.scheduler(runner).skip((SA, "drupal/core", "acme-shop"), "no time")


def test_production_waits_for_the_window_then_runs_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    sites = [make_site("gold-www", "Gold"), make_site("plat-www", "Platinum"), make_site("bronze")]
    fleet = make_fleet(sqlite_engine, tmp_path, sites, packages={
        "Gold": {"to": "prod", "window_hours": 24}, "Platinum": {"to": "prod", "window_hours": 0},
    })  # fmt: skip

    fleet.run()

    gold = fleet.row("gold-www")
    assert gold.state is RolloutState.WAITING and gold.prod_after == T0 + timedelta(hours=24)
    assert fleet.row("plat-www").state is RolloutState.DEPLOYED  # no window: on to production
    assert fleet.row("bronze").state is RolloutState.TESTED
    assert fleet.run().started == 0  # the window has not passed
    assert "release" not in fleet.recorder.steps_of("gold-www")

    fleet.clock.advance(timedelta(hours=24, minutes=1))
    assert fleet.run().started == 1
    assert fleet.run().started == 0

    assert fleet.row("gold-www").state is RolloutState.DEPLOYED
    assert fleet.recorder.steps_of("gold-www") == [*FULL, "release"]
    assert fleet.recorder.steps_of("plat-www").count("release") == 1
    assert fleet.board.ticket(gold.ticket_key).column is BoardColumn.DONE
    assert len(comments(sqlite_engine, gold.ticket_key, "Security update for")) == 1


def test_a_site_killed_after_its_release_was_on_record_is_not_released_again(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # Killed after the release's ticket change (Done) was written, before the site's row
    # was: the row still says the report was its last finished step.
    sites = [make_site("plat-www", "Platinum")]
    fleet = make_fleet(sqlite_engine, tmp_path, sites,
                       packages={"Platinum": {"to": "prod", "window_hours": 0}})  # fmt: skip
    fleet.run()
    assert fleet.row("plat-www").state is RolloutState.DEPLOYED
    crash_after(fleet, "plat-www", "report")

    with JobRunner(sqlite_engine, 4, "Mia Me", fleet.clock) as runner:
        scheduler = fleet.scheduler(runner)
        assert scheduler.recover() == [(SA, "drupal/core", "plat-www")]
        scheduler.run(timeout=60)

    assert fleet.row("plat-www").state is RolloutState.DEPLOYED
    assert fleet.recorder.steps_of("plat-www").count("release") == 1


def test_two_schedulers_on_one_cache_run_each_site_once(engine: Engine, tmp_path: Path) -> None:
    sites = [make_site(f"site-{n:02}", engine=n % 3) for n in range(12)]
    fleet = make_fleet(engine, tmp_path, sites, max_parallel=3, per_engine=1)
    fleet.recorder.step_seconds = 0.002
    summaries: list[RunSummary] = []
    ready = threading.Barrier(2)

    def one_process() -> None:
        with JobRunner(engine, 3, "Mia Me", fleet.clock) as runner:
            scheduler = fleet.scheduler(runner)
            ready.wait(timeout=10)
            summaries.append(scheduler.run(timeout=60))

    threads = [threading.Thread(target=one_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert len(summaries) == 2
    assert sum(summary.started for summary in summaries) == 12
    assert sorted(fleet.recorder.starts()) == [site.id for site in sites]
    assert all(fleet.recorder.steps_of(site.id) == FULL for site in sites)
    assert {fleet.row(site.id).state for site in sites} == {RolloutState.TESTED}


def test_a_site_that_only_reports_gives_its_slot_to_the_next(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # One slot: the second site can start during the first one's report only if the report
    # holds no slot. The first site's report waits (bounded) for it.
    sites = [make_site("a-first"), make_site("b-next")]
    fleet = make_fleet(sqlite_engine, tmp_path, sites, max_parallel=1)
    first_key = fleet.row("a-first").ticket_key
    changes, seen = fleet.board.changes, list[bool]()

    def slow_report(key: str) -> Any:
        if key == first_key and not seen:
            with fleet.recorder.lock:
                seen.append(fleet.recorder.lock.wait_for(
                    lambda: "b-next" in fleet.recorder.starts(), timeout=5))  # fmt: skip
        return changes(key)

    fleet.board.changes = slow_report  # type: ignore[method-assign]
    summary = fleet.run(max_jobs=2)

    assert seen == [True]
    assert summary.states["tested"] == 2


def test_a_site_going_on_to_production_keeps_its_slot_through_the_report(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    sites = [make_site("a-plat", "Platinum"), make_site("b-next")]
    fleet = make_fleet(sqlite_engine, tmp_path, sites, max_parallel=1,
                       package_order=["Platinum"],
                       packages={"Platinum": {"to": "prod", "window_hours": 0}})  # fmt: skip

    fleet.run(max_jobs=2)

    calls = fleet.recorder.calls
    assert fleet.row("a-plat").state is RolloutState.DEPLOYED
    assert calls.index(("a-plat", "release")) < calls.index(("b-next", "open_branch"))
