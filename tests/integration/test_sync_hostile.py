"""Hostile text from Jira: NUL and terminal control never break a sync nor reach the cache.

The sandbox Jira serves issues whose summary, description, labels, names and comments carry
NUL, escape sequences, C1 controls, bidi overrides and newlines; the sync stores clean text
on SQLite and on PostgreSQL (which refuses NUL in text), in both flavours.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jira_support import CLIENT_USER, SANDBOX_USER
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.config import load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import build_agency, text_to_adf
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.models import Comment, Ticket

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE_SUMMARY = "\x1b]0;owned\x07Login\x00 broken\nSUP-999  Done  forged\u202e row\x9b2J"
HOSTILE_BODY = "first\x00 line\r\n\x1b[2J\x1b[Hsecond \u2066line\u2069\x07"


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_nul_and_control_characters_from_jira_are_stripped_on_the_way_in(
    flavour: str, engine: Engine, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    agency = build_agency(tickets=40, seed=3, now=now)
    issue = agency.issues[0]
    key = issue["key"]
    comments = issue["fields"]["comment"]["comments"]
    comments.append({**(comments[0] if comments else {}), "id": "99999"})
    comments[-1].update(
        body=text_to_adf(HOSTILE_BODY),
        created=issue["fields"]["created"],
        author=issue["fields"]["reporter"],
    )
    issue["fields"]["comment"]["total"] = len(comments)
    issue["fields"]["summary"] = HOSTILE_SUMMARY
    issue["fields"]["labels"] = ["urgent\x00\n", "site:acme\x1b[31m-shop"]
    sandbox = JiraSandbox.from_agency(agency, flavour=flavour, user=SANDBOX_USER[flavour])
    sandbox.start()
    try:
        sandbox.edit(key, description=HOSTILE_BODY)
        settings = load_settings(
            tmp_path / "absent.toml", data_dir=str(tmp_path), jira={"projects": ["SUP"]}
        )
        credentials = Credentials(sandbox.url, sandbox.token, CLIENT_USER[flavour])
        tracker = JiraTracker(credentials, flavour)  # type: ignore[arg-type]

        result = Sync(engine, settings, tracker).run(full=True)
    finally:
        sandbox.stop()

    assert result.fetched == 40
    with Session(engine) as session:
        ticket = session.get(Ticket, key)
        assert ticket is not None
        stored = session.exec(select(Comment).where(Comment.ticket_key == key)).all()
        texts = [ticket.summary, ticket.description, *ticket.labels, *(c.body for c in stored)]
        every = session.exec(select(Ticket)).all()
    assert ticket.summary == "Login broken SUP-999  Done  forged row"
    assert "\n" not in ticket.summary
    assert ticket.description == "first line\nsecond line"
    assert ticket.labels == ["urgent ", "site:acme-shop"]
    assert "first line\nsecond line" in [c.body for c in stored]
    assert not any(CONTROL.search(text) for text in texts)
    assert not any(CONTROL.search(t.summary + (t.assignee or "")) for t in every)
