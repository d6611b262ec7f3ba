"""An incident in one key, against the sandbox Jira (both flavours) through the real outbox.

A loopback site answers 503 until the monitor calls it down; the incident is queued, pushed,
created once with its dedupe label, and the placeholder ticket takes Jira's key. A second
key press comments on the open incident. A push killed right after Jira created the issue,
before the cache recorded it, is replayed without a second issue.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jira_support import CLIENT_USER
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.health.incident import open_incident
from triage.core.health.monitor import HealthMonitor
from triage.core.health.report import overview
from triage.core.sites.inventory import Inventory
from triage.core.tracker.client import JiraTracker
from triage.core.tracker.push import Pusher
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import Agency, adf_to_text, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import Job, JobState, OutboxEntry, OutboxState, Ticket, utcnow

REPO = Path(__file__).resolve().parents[3]

CHILD = r"""
import os, signal, sys
from pathlib import Path

repo, data_dir, url, flavour, user = sys.argv[1:6]
sys.path.insert(0, repo)

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.tracker.push import Pusher
from triage.core.tracker.client import Credentials, JiraTracker
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
board = Board(engine, settings)
tracker = DiesAfterCreate(Credentials(url, "sandbox-token", user), flavour)
Pusher(engine, settings, tracker).run()
"""


@pytest.fixture(scope="module")
def agency() -> Agency:
    return build_agency(tickets=120, seed=5, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"]},
        health={"retry_seconds": 0.01, "timeout_seconds": 2},
    )


@pytest.fixture
def board(tmp_path: Path, settings: Settings, tracker: JiraTracker) -> Iterator[Board]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    Sync(engine, settings, tracker).run()
    try:
        yield Board(engine, settings)
    finally:
        engine.dispose()


@pytest.fixture
def failing_site(site_server: Callable[..., Any], board: Board, settings: Settings) -> Inventory:
    """Site acme, its prod down (503), with a deploy in the job log."""
    server = site_server(lambda _: (503, "Service Unavailable", 0.0))
    inventory = Inventory.model_validate(
        {
            "sites": {
                "acme": {
                    "name": "Acme main site",
                    "client": "Acme Corp",
                    "package": "Gold",
                    "repo": "/nowhere.git",
                    "checkout": "/nowhere",
                    "envs": {
                        "prod": {"web_container": "w", "db_container": "d", "url": server.url}
                    },
                }
            }
        }
    )
    inventory.sites["acme"].id = "acme"
    with Session(board.engine) as session:
        session.add(
            Job(
                kind="deploy",
                site="acme",
                env="prod",
                ref="v1.4.2",
                ticket_key="SUP-7",
                actor="Dana Dev",
                state=JobState.SUCCEEDED,
            )
        )
        session.commit()
    asyncio.run(HealthMonitor(board.engine, settings.health, inventory).round())
    return inventory


def push(board: Board, tracker: Any, *, after: timedelta = timedelta(0)) -> None:
    """Push the outbox as a pusher `after` from now would (past a dead pusher's lease)."""
    result = Pusher(board.engine, board.settings, tracker, lambda: utcnow() + after).run()
    assert result.failed == 0 and result.conflicts == 0, result.summary()


def outbox(engine: Engine) -> list[OutboxEntry]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEntry).order_by(OutboxEntry.id)))  # type: ignore[arg-type]


def text(value: Any) -> str:
    return value if isinstance(value, str) else adf_to_text(value)


def test_incident_is_created_once_then_commented(
    board: Board, failing_site: Inventory, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    (row,) = overview(board.engine)
    assert row.state == "down"

    incident = open_incident(board, failing_site, row)

    assert incident.created and incident.key.startswith("NEW-")
    since = row.health.since.strftime("%H:%M")
    assert incident.summary == f"[Gold] Acme Corp: 127.0.0.1 down, HTTP 503 since {since} UTC"
    todo = board.load().columns[BoardColumn.TODO]
    assert todo[0].key == incident.key, "the incident lands at the top of the queue"

    push(board, tracker)

    (created,) = [e for e in outbox(board.engine) if e.kind == "create"]
    key = str(created.payload["key"])
    assert created.state is OutboxState.DONE and created.ticket_key == key
    assert sandbox.calls["issue.post"] == 1
    issue = sandbox.issue(key)["fields"]
    assert issue["summary"] == incident.summary
    assert issue["priority"]["name"] == "Highest" and issue["issuetype"]["name"] == "Incident"
    assert {"incident", "site:acme", created.payload["dedupe"]} == set(issue["labels"])
    assert issue["assignee"] is not None
    assert issue["assignee"]["displayName"] == board.me.name
    description = text(issue["description"])
    assert "Client: Acme Corp, support package Gold" in description
    assert "Failing check: http: HTTP 503 on /" in description
    assert description.count("HTTP 503 on /") >= 4, "the last results are listed"
    assert "Last deploy: job #1, v1.4.2 to prod for SUP-7, succeeded" in description
    with Session(board.engine) as session:
        assert session.get(Ticket, incident.key) is None
        ticket = session.get(Ticket, key)
        assert ticket is not None and ticket.site == "acme"

    again = open_incident(board, failing_site, row)
    assert not again.created and again.key == key
    push(board, tracker)
    assert sandbox.calls["issue.post"] == 1
    comments = [text(c["body"]) for c in sandbox.issue(key)["fields"]["comment"]["comments"]]
    assert comments[-1].startswith("Still down at ")


def test_a_push_killed_after_the_create_is_replayed_without_a_duplicate(
    board: Board,
    failing_site: Inventory,
    sandbox: JiraSandbox,
    tracker: JiraTracker,
    flavour: str,
    tmp_path: Path,
) -> None:
    (row,) = overview(board.engine)
    incident = open_incident(board, failing_site, row)

    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(REPO),
            str(tmp_path),
            sandbox.url,
            flavour,
            CLIENT_USER[flavour],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -9, child.stderr
    made = child.stdout.split()[1]
    assert sandbox.calls["issue.post"] == 1
    (pending,) = outbox(board.engine)
    assert pending.state is OutboxState.PENDING and pending.ticket_key == incident.key

    # The killed pusher's lease on the change lapses; then a replay takes it.
    push(board, tracker, after=timedelta(seconds=board.settings.jira.push_lease_seconds + 1))

    assert sandbox.calls["issue.post"] == 1, "the replay adopted the issue, made no second"
    (done,) = outbox(board.engine)
    assert done.state is OutboxState.DONE and done.payload["key"] == made
    assert tracker.keys(f'labels = "{done.payload["dedupe"]}"') == [made]
    with Session(board.engine) as session:
        assert session.get(Ticket, incident.key) is None
        assert session.get(Ticket, made) is not None
