"""A sync that brings an approval comment records who approved, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.tracker.approvals import approval_comment
from triage.core.tracker.ingest import store
from triage.core.tracker.mapping import MappedIssue
from triage.storage.models import Ticket

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SHA = "89abcdef0123456789abcdef0123456789abcdef"


def comment(key: str, number: int, author: str, body: str) -> dict[str, Any]:
    return {
        "ticket_key": key,
        "remote_id": str(number),
        "author": author,
        "body": body,
        "created": AT + timedelta(minutes=number),
    }


def approved_by(engine: Engine, key: str) -> str | None:
    with Session(engine) as session:
        ticket = session.get(Ticket, key)
        assert ticket is not None
        return ticket.approved_by


def test_an_approval_comment_sets_approved_by(engine: Engine, ticket_row: Any) -> None:
    said = approval_comment("Ana Lima", "SUP-1-fix", SHA)
    forged = approval_comment("Ana Lima", "SUP-2-fix", SHA)
    store(
        engine,
        [
            MappedIssue(ticket_row("SUP-1"), [comment("SUP-1", 1, "Ana Lima", said)], []),
            MappedIssue(ticket_row("SUP-2"), [comment("SUP-2", 2, "Tom Whitaker", forged)], []),
            MappedIssue(ticket_row("SUP-3"), [comment("SUP-3", 3, "Ana Lima", "LGTM")], []),
        ],
    )
    assert approved_by(engine, "SUP-1") == "Ana Lima"
    assert approved_by(engine, "SUP-2") is None  # Tom cannot approve in Ana's name
    assert approved_by(engine, "SUP-3") is None
    # A later sync with a newer approval by someone else: the newest wins; a re-sync keeps it.
    later = approval_comment("Tom Whitaker", "SUP-1-fix", SHA)
    comments = [comment("SUP-1", 1, "Ana Lima", said), comment("SUP-1", 4, "Tom Whitaker", later)]
    store(engine, [MappedIssue(ticket_row("SUP-1", summary="Renamed"), comments, [])])
    assert approved_by(engine, "SUP-1") == "Tom Whitaker"
    store(engine, [MappedIssue(ticket_row("SUP-1"), [], [])])
    assert approved_by(engine, "SUP-1") == "Tom Whitaker"
