"""A rollout's tickets reach the sandbox Jira (Cloud and Data Center) once, through the outbox.

`start_rollout` queues the parent ticket and one ticket per affected site, each with a
dedupe label naming advisory and site; the real Pusher creates them. Pushing again, a
replay after a pusher killed between Jira's create and the local adopt, and an issue Jira
already has under the label never make a second issue; the rollout's rows take Jira's keys.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jira_support import CLIENT_USER
from rollout_fakes import inventory_of, make_site, save_advisory, save_fleet
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.security.rollout import dedupe_label, start_rollout
from triage.core.sites.inventory import Inventory
from triage.core.tracker.client import JiraTracker, NewIssue
from triage.core.tracker.push import Pusher
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import Agency, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import rollouts as store
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import OutboxEntry, OutboxKind, OutboxState, Ticket, utcnow

REPO = Path(__file__).resolve().parents[2]
SA = "SA-CORE-2026-004"
CORE = "drupal/core"
SITES = ("acme-shop", "beta-www", "corp-intranet")

CHILD = r"""
import os, signal, sys
from pathlib import Path

repo, data_dir, url, flavour, user = sys.argv[1:6]
sys.path.insert(0, repo)

from triage.core.config import load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.push import Pusher
from triage.storage.db import open_cache, sqlite_url


class DiesAfterCreate(JiraTracker):
    def create_issue(self, issue):
        made = super().create_issue(issue)
        print("created", made["key"], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


settings = load_settings(
    Path(data_dir) / "absent.toml", data_dir=data_dir, jira={"projects": ["SUP"]}
)
engine = open_cache(sqlite_url(Path(data_dir) / "cache.db"))
Pusher(engine, settings, DiesAfterCreate(Credentials(url, "sandbox-token", user), flavour)).run()
"""


@pytest.fixture(scope="module")
def agency() -> Agency:
    return build_agency(tickets=40, seed=9, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(tmp_path / "absent.toml", data_dir=str(tmp_path),
                         jira={"projects": ["SUP"]})  # fmt: skip


@pytest.fixture
def board(tmp_path: Path, settings: Settings, tracker: JiraTracker) -> Iterator[Board]:
    """A SQLite cache synced from the sandbox, the fleet read and the advisory known."""
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    Sync(engine, settings, tracker).run()
    save_fleet(engine, {"acme-shop": "10.4.8", "beta-www": "10.3.1", "corp-intranet": "10.4.2",
                        "delta-blog": "10.4.9"})  # fmt: skip
    save_advisory(engine, SA, ">=10.0.0 <10.4.9", "critical")
    try:
        yield Board(engine, settings)
    finally:
        engine.dispose()


@pytest.fixture
def fleet() -> Inventory:
    return inventory_of([make_site(site, "Gold", n % 2) for n, site in enumerate(SITES)]
                        + [make_site("delta-blog", "Gold")])  # fmt: skip


def labels() -> dict[str, str]:
    """Each ticket's dedupe label: the parent's under "", then one per affected site."""
    return {"": dedupe_label(SA, CORE)} | {site: dedupe_label(SA, CORE, site) for site in SITES}


def push(board: Board, tracker: JiraTracker, after: timedelta = timedelta(0)) -> int:
    """Push as a pusher `after` from now would (past a dead pusher's lease); changes done."""
    result = Pusher(board.engine, board.settings, tracker, lambda: utcnow() + after).run()
    assert result.failed == 0 and result.conflicts == 0, result.summary()
    return result.done


def creations(engine: Engine) -> list[OutboxEntry]:
    with Session(engine) as session:
        query = select(OutboxEntry).where(OutboxEntry.kind == OutboxKind.CREATE)
        return list(session.exec(query))


def assert_one_issue_each(board: Board, tracker: JiraTracker) -> dict[str, str]:
    """Jira has exactly one issue per label, and the rollout's rows carry their keys."""
    keys = {}
    for site, label in labels().items():
        found = tracker.keys(f'labels = "{label}"')
        assert len(found) == 1, f"{label}: {found}"
        keys[site] = found[0]
    rollout = store.rollout(board.engine, SA, CORE)
    assert rollout is not None and rollout.ticket_key == keys[""]
    rows = {row.site: row.ticket_key for row in store.site_rows(board.engine, SA, CORE)}
    assert rows == {**{site: keys[site] for site in SITES}, "delta-blog": None}
    with Session(board.engine) as session:
        placeholders = session.exec(select(Ticket.key).where(Ticket.key.startswith("NEW-")))
        assert list(placeholders) == []
        assert session.get(Ticket, keys["beta-www"]) is not None
    return keys


def test_the_rollout_tickets_are_created_once_even_pushed_twice(
    board: Board, fleet: Inventory, tracker: JiraTracker, sandbox: JiraSandbox
) -> None:
    start_rollout(board, fleet, board.settings.security.rollout, SA)

    assert push(board, tracker) == 4
    assert push(board, tracker) == 0
    (again,) = start_rollout(board, fleet, board.settings.security.rollout, SA)
    assert again.added == 0 and push(board, tracker) == 0

    keys = assert_one_issue_each(board, tracker)
    assert sandbox.calls["issue.post"] == 4
    issue = sandbox.issue(keys["beta-www"])["fields"]
    assert {"security-update", "site:beta-www", labels()["beta-www"]} <= set(issue["labels"])
    assert issue["summary"] == f"{SA}: update {CORE} on Site beta-www"
    assert issue["priority"]["name"] == "Highest"
    assert all(entry.state is OutboxState.DONE for entry in creations(board.engine))


def test_an_issue_jira_already_has_under_the_label_is_adopted(
    board: Board, fleet: Inventory, tracker: JiraTracker, sandbox: JiraSandbox
) -> None:
    start_rollout(board, fleet, board.settings.security.rollout, SA)
    # A pusher created acme-shop's issue and died before the cache recorded it.
    summary = f"{SA}: update {CORE} on Site acme-shop"
    tags = ("security-update", labels()["acme-shop"])
    made = tracker.create_issue(NewIssue("SUP", "Task", summary, labels=tags))

    assert push(board, tracker) == 4

    keys = assert_one_issue_each(board, tracker)
    assert keys["acme-shop"] == made["key"]
    assert sandbox.calls["issue.post"] == 4  # the one made by hand, and three by the push


def test_a_push_killed_after_jira_created_an_issue_is_replayed_without_a_second(
    board: Board, fleet: Inventory, tracker: JiraTracker, sandbox: JiraSandbox,
    flavour: str, tmp_path: Path,
) -> None:  # fmt: skip
    start_rollout(board, fleet, board.settings.security.rollout, SA)

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO), str(tmp_path), sandbox.url, flavour,
         CLIENT_USER[flavour]],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert child.returncode == -9, child.stderr
    made = child.stdout.split()[1]
    assert sandbox.calls["issue.post"] == 1
    assert all(entry.state is OutboxState.PENDING for entry in creations(board.engine))

    # The killed pusher's lease lapses; a replay adopts its issue and creates the others.
    lease = timedelta(seconds=board.settings.jira.push_lease_seconds + 1)
    assert push(board, tracker, after=lease) == 4

    keys = assert_one_issue_each(board, tracker)
    assert made in keys.values()
    assert sandbox.calls["issue.post"] == 4, "the replay adopted the issue, made no second"
