"""Starting a rollout on a real cache (SQLite, and PostgreSQL where the SQL matters).

The fleet and the advisories go in through storage.security as a refresh and a feed poll
write them; `start_rollout` then records the rollout, its sites and their tickets' creation
in the outbox, once, and only for affected sites that the inventory knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rollout_fakes import (
    T0,
    Clock,
    inventory_of,
    make_site,
    save_advisory,
    save_fleet,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.errors import ConfigError, NotFound
from triage.core.jobs.runner import JobRunner
from triage.core.security.rollout import SECURITY_LABEL, dedupe_label, start_rollout
from triage.core.security.scheduler import RolloutScheduler
from triage.core.sites.inventory import Inventory
from triage.storage import rollouts as store
from triage.storage.db import open_cache, sqlite_url
from triage.storage.errors import TriageError
from triage.storage.models import OutboxEntry, OutboxKind, RolloutState, Ticket

SA = "SA-CORE-2026-001"
ROLLOUT = {"package_order": ["Platinum", "Gold"]}


def settings_for(tmp_path: Path, projects: list[str] | None = None) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"] if projects is None else projects},
        security={"rollout": ROLLOUT},
    )


@pytest.fixture
def board(engine: Engine, tmp_path: Path) -> Board:
    return Board(engine, settings_for(tmp_path), clock=Clock())


def fleet() -> Inventory:
    """Five sites: bronze, gold and platinum affected, one patched; `ghost` runs outside it."""
    return inventory_of(
        [
            make_site("acme-shop", "Bronze", 0),
            make_site("beta-www", "Gold", 1),
            make_site("corp-intranet", "Platinum", 0),
            make_site("delta-blog", "Gold", 1),
            make_site("echo-www", "Gold", 2),
        ]
    )


def fill(engine: Engine) -> None:
    save_fleet(
        engine,
        {"acme-shop": "10.4.8", "beta-www": "10.3.1", "corp-intranet": "10.4.2",
         "delta-blog": "10.4.9", "ghost-site": "10.4.1"},
    )  # fmt: skip
    save_advisory(engine, SA, ">=10.0.0 <10.4.9", "critical")


def creations(engine: Engine) -> list[OutboxEntry]:
    with Session(engine) as session:
        query = select(OutboxEntry).where(OutboxEntry.kind == OutboxKind.CREATE)
        return list(session.exec(query))


def test_a_rollout_has_a_parent_and_a_ticket_per_affected_site(board: Board) -> None:
    fill(board.engine)

    (started,) = start_rollout(board, fleet(), board.settings.security.rollout, SA)

    by_site = {row.site: row for row in started.sites}
    # ghost-site runs an affected version but is not in the inventory; echo-www has no lock.
    assert set(by_site) == {"acme-shop", "beta-www", "corp-intranet", "delta-blog"}
    assert started.added == 4
    assert by_site["delta-blog"].state is RolloutState.PATCHED
    assert by_site["delta-blog"].ticket_key is None
    affected = ["acme-shop", "beta-www", "corp-intranet"]
    assert all(by_site[site].state is RolloutState.QUEUED for site in affected)
    assert by_site["beta-www"].engine == "tcp://engine-1:2375"
    assert by_site["acme-shop"].version == "10.4.8"

    made = creations(board.engine)
    assert len(made) == 4  # the parent and one per affected site
    keys = {entry.ticket_key for entry in made}
    assert started.rollout.ticket_key in keys
    assert {by_site[site].ticket_key for site in affected} | {started.rollout.ticket_key} == keys
    with Session(board.engine) as session:
        tickets = {t.key: t for t in session.exec(select(Ticket).where(Ticket.key.in_(keys)))}  # type: ignore[attr-defined]
    assert tickets[by_site["beta-www"].ticket_key or ""].site == "beta-www"
    assert tickets[started.rollout.ticket_key or ""].summary.startswith(f"{SA}: drupal/core")
    assert all(SECURITY_LABEL in ticket.labels for ticket in tickets.values())


def test_each_ticket_has_its_own_dedupe_label_naming_advisory_and_site(board: Board) -> None:
    fill(board.engine)
    (started,) = start_rollout(board, fleet(), board.settings.security.rollout, SA)

    labels = {entry.ticket_key: entry.payload["dedupe"] for entry in creations(board.engine)}

    assert len(set(labels.values())) == len(labels) == 4
    for row in started.sites:
        if row.ticket_key:
            assert labels[row.ticket_key] == dedupe_label(SA, "drupal/core", row.site)
    assert labels[started.rollout.ticket_key or ""] == dedupe_label(SA, "drupal/core")
    for entry in creations(board.engine):
        assert entry.payload["dedupe"] in entry.payload["labels"]


def test_starting_again_adds_nothing_and_a_newly_affected_site_is_added(board: Board) -> None:
    fill(board.engine)
    settings = board.settings.security.rollout
    (first,) = start_rollout(board, fleet(), settings, SA)

    (again,) = start_rollout(board, fleet(), settings, SA)

    assert again.added == 0
    assert again.rollout.ticket_key == first.rollout.ticket_key
    assert [(r.site, r.ticket_key) for r in again.sites] == [
        (r.site, r.ticket_key) for r in first.sites
    ]
    assert len(creations(board.engine)) == 4

    # echo-www's lock is read now: it runs an affected version.
    save_fleet(board.engine, {"echo-www": "10.4.0"})
    (later,) = start_rollout(board, fleet(), settings, SA)

    assert later.added == 1
    echo = next(row for row in later.sites if row.site == "echo-www")
    assert echo.state is RolloutState.QUEUED and echo.ticket_key
    assert len(creations(board.engine)) == 5
    assert later.rollout.ticket_key == first.rollout.ticket_key


def test_sites_are_ranked_by_package_order_and_rollouts_by_severity(board: Board) -> None:
    fill(board.engine)
    save_advisory(board.engine, "SA-CONTRIB-2026-009", "<10.4.9", "low")
    settings = board.settings.security.rollout
    (low,) = start_rollout(board, fleet(), settings, "SA-CONTRIB-2026-009")
    (critical,) = start_rollout(board, fleet(), settings, SA)

    ranks = {row.site: row.rank for row in critical.sites}
    # Platinum, then Gold, then packages not listed.
    assert ranks["corp-intranet"] < ranks["beta-www"] < ranks["acme-shop"]

    with JobRunner(board.engine, recover=False) as runner:
        scheduler = RolloutScheduler(board, fleet(), settings, runner, lambda: None)  # type: ignore[arg-type,return-value]
        order = [(row.advisory_id, row.site) for row in scheduler.runnable()]

    assert order == [
        (SA, "corp-intranet"), (SA, "beta-www"), (SA, "acme-shop"),
        ("SA-CONTRIB-2026-009", "corp-intranet"), ("SA-CONTRIB-2026-009", "beta-www"),
        ("SA-CONTRIB-2026-009", "acme-shop"),
    ]  # fmt: skip
    assert low.rollout.severity == "low"


def test_an_early_warning_is_refused_in_one_sentence(board: Board) -> None:
    fill(board.engine)
    save_advisory(board.engine, "PSA-2026-11-20", "", "critical", kind="psa")

    with pytest.raises(TriageError) as refused:
        start_rollout(board, fleet(), board.settings.security.rollout, "PSA-2026-11-20")

    message = str(refused.value)
    assert "early warning" in message and "\n" not in message and message.count(". ") == 0
    assert store.rollouts(board.engine) == [] and creations(board.engine) == []


def test_an_unknown_advisory_is_refused(board: Board) -> None:
    fill(board.engine)

    with pytest.raises(NotFound, match="no advisory SA-NOPE is known"):
        start_rollout(board, fleet(), board.settings.security.rollout, "SA-NOPE")


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine
    finally:
        engine.dispose()


def test_no_jira_project_is_a_config_error(sqlite_engine: Engine, tmp_path: Path) -> None:
    fill(sqlite_engine)
    board = Board(sqlite_engine, settings_for(tmp_path, projects=[]), clock=Clock())

    with pytest.raises(ConfigError, match="set security.rollout.project or jira.projects"):
        start_rollout(board, fleet(), board.settings.security.rollout, SA)

    assert store.rollouts(sqlite_engine) == []


def test_a_site_whose_ticket_has_not_reached_jira_is_not_run(sqlite_engine: Engine,
                                                              tmp_path: Path) -> None:  # fmt: skip
    fill(sqlite_engine)
    board = Board(sqlite_engine, settings_for(tmp_path), clock=Clock(T0))
    start_rollout(board, fleet(), board.settings.security.rollout, SA)

    with JobRunner(sqlite_engine, recover=False) as runner:
        scheduler = RolloutScheduler(board, fleet(), board.settings.security.rollout, runner,
                                     lambda: None)  # type: ignore[arg-type,return-value]  # fmt: skip
        summary = scheduler.run(timeout=5)

    assert summary.started == 0
    assert sorted(summary.waiting_ticket) == ["acme-shop", "beta-www", "corp-intranet"]
