"""The review queue's SQL: when tickets entered a status, and approvals learned from Jira."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.storage.models import StatusChange, Ticket, table_of

TICKET = table_of(Ticket)


def status_changes(engine: Engine, keys: Collection[str]) -> list[StatusChange]:
    """The moves of these tickets, oldest first."""
    if not keys:
        return []
    query = (
        select(StatusChange)
        .where(col(StatusChange.ticket_key).in_(list(keys)))
        .order_by(col(StatusChange.at), col(StatusChange.id))
    )
    with Session(engine) as session:
        return list(session.exec(query))


def set_approved_by(connection: sa.Connection, approvals: Mapping[str, str]) -> None:
    """Record who approved each ticket's review (a fact of the ticket, never sent to Jira)."""
    for key, name in approvals.items():
        connection.execute(
            sa.update(TICKET)
            .where(TICKET.c.key == key, TICKET.c.approved_by.is_distinct_from(name))
            .values(approved_by=name)
        )
