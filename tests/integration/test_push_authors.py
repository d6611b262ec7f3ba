"""Two members share one cache: each change goes out under its author's own Jira account.

Alice and Bob each configure their own Jira account (their own token) on one cache, a
SQLite file or a PostgreSQL schema. Each one's push sends only their own changes; the
other's wait, shown in `triage ls` as waiting for them. "Me" (assign to me, `@me`) is
the configured account as Jira names it, whoever synced last.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, triage
from sqlalchemy.engine import Engine

from triage.core.board.filters import parse_filter
from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.push import Pusher
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import Agency, adf_to_text, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache

TOKENS = {"alice": "alice-token", "bob": "bob-token"}


@pytest.fixture(scope="module")
def agency() -> Agency:
    return build_agency(tickets=80, seed=13, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture(params=["cloud", "dc"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def login(person: Any, flavour: str) -> str:
    return str(person.email if flavour == "cloud" else person.username)


@pytest.fixture
def people(agency: Agency) -> dict[str, Any]:
    return {"alice": agency.people[0], "bob": agency.people[1]}


@pytest.fixture
def jira(agency: Agency, flavour: str, people: dict[str, Any]) -> Iterator[JiraSandbox]:
    user = login(people["alice"], flavour)
    sandbox = JiraSandbox.from_agency(
        agency,
        flavour=flavour,
        user=user,
        token=TOKENS["alice"],  # type: ignore[arg-type]
    )
    sandbox.add_account(login(people["bob"], flavour), TOKENS["bob"])
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def member_settings(
    who: str, tmp_path: Path, db_url: str, jira: JiraSandbox, people: dict[str, Any]
) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path / who),
        database_url=db_url,
        jira={
            "url": jira.url,
            "user": login(people[who], jira.flavour),
            "projects": ["SUP"],
            "deployment": jira.flavour,
        },
    )


def tracker_of(settings: Settings, who: str) -> JiraTracker:
    credentials = Credentials(settings.jira.url, TOKENS[who], settings.jira.user)
    return JiraTracker(credentials, settings.jira.deployment)  # type: ignore[arg-type]


@pytest.fixture
def members(
    tmp_path: Path, db_url: str, jira: JiraSandbox, people: dict[str, Any]
) -> Iterator[tuple[Engine, Settings, Settings]]:
    engine = open_cache(db_url)
    try:
        yield (
            engine,
            member_settings("alice", tmp_path, db_url, jira, people),
            member_settings("bob", tmp_path, db_url, jira, people),
        )
    finally:
        engine.dispose()


def texts_and_authors(jira: JiraSandbox, key: str) -> list[tuple[str, str]]:
    return [
        (adf_to_text(c["body"]), str(c["author"]["displayName"]))
        for c in jira.issue(key)["fields"]["comment"]["comments"]
    ]


def test_each_member_pushes_only_their_own_changes_under_their_account(
    members: tuple[Engine, Settings, Settings],
    jira: JiraSandbox,
    people: dict[str, Any],
    tmp_path: Path,
    db_url: str,
) -> None:
    engine, alice_settings, bob_settings = members
    alice, bob = tracker_of(alice_settings, "alice"), tracker_of(bob_settings, "bob")
    Pusher(engine, bob_settings, bob).run()  # Bob's app started once: nothing to send yet
    Sync(engine, alice_settings, alice).run()  # Alice synced last
    alice_board, bob_board = Board(engine, alice_settings), Board(engine, bob_settings)
    assert alice_board.me.name == people["alice"].display_name
    assert bob_board.me.name == people["bob"].display_name
    assert bob_board.me.account_id != alice_board.me.account_id

    todo = [c.key for c in alice_board.load().columns[BoardColumn.TODO] if c.assignee is None]
    alices, bobs, taken = todo[:3]
    alice_board.comment(alices, "Alice checked the logs")
    bob_board.comment(bobs, "Bob asked the client")
    bob_board.assign_to_me(taken)
    assert [
        c.key
        for c in parse_filter("@me").apply(
            bob_board.load().columns[BoardColumn.TODO], bob_board.me.name
        )
    ] == [taken]

    by_alice = Pusher(engine, alice_settings, alice).run()

    assert (by_alice.done, by_alice.others) == (1, 2), by_alice.summary()
    assert ("Alice checked the logs", people["alice"].display_name) in texts_and_authors(
        jira, alices
    )
    assert "Bob asked the client" not in [t for t, _ in texts_and_authors(jira, bobs)]
    assert jira.issue(taken)["fields"]["assignee"] is None
    (tmp_path / "config.toml").write_text(
        f'[jira]\nurl = "{jira.url}"\nuser = "{alice_settings.jira.user}"\n'
        f'projects = ["SUP"]\ndeployment = "{jira.flavour}"\n'
    )
    env = clean_env(tmp_path, TRIAGE_JIRA_TOKEN=TOKENS["alice"], TRIAGE_DATABASE_URL=db_url)
    listed = triage(env, "ls")
    assert listed.returncode == 0, listed.stderr
    waiting = [line for line in listed.stdout.splitlines() if "waiting for" in line]
    assert len(waiting) == 2, listed.stdout
    assert all(f"waiting for {people['bob'].display_name} to push" in w for w in waiting)

    by_bob = Pusher(engine, bob_settings, bob).run()

    assert (by_bob.done, by_bob.others, by_bob.waiting) == (2, 0, 0), by_bob.summary()
    assert ("Bob asked the client", people["bob"].display_name) in texts_and_authors(jira, bobs)
    assignee = jira.issue(taken)["fields"]["assignee"]
    assert assignee is not None and assignee["displayName"] == people["bob"].display_name
