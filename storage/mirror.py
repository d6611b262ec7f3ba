"""What a sync writes besides the issues: tickets gone from Jira, and local changes kept on top.

A ticket Jira's search no longer returns is deleted, unless a change to it still waits in
the outbox (pending, failed or in conflict): then it is held, its card stays, and each
pending change says why the sync no longer refreshes the ticket.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from triage.storage.columns import BoardColumn
from triage.storage.models import (
    Comment,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    StatusChange,
    Ticket,
    table_of,
)

TICKET = table_of(Ticket)
OUTBOX = table_of(OutboxEntry)
OPEN = (OutboxState.PENDING, OutboxState.FAILED, OutboxState.CONFLICT)
LEFT_SET = "is no longer in the synced set (JQL/permission): change waiting, push or discard"
"""The end of the reason a pending change of a held ticket carries."""


@dataclass
class Vanished:
    """Cached tickets that Jira's search no longer returns, split by what becomes of them."""

    cached: int
    """How many tickets the cache holds in the mirrored projects."""
    deleted: list[str] = field(default_factory=list)
    """Nothing waits on these: they go."""
    held: list[str] = field(default_factory=list)
    """A change waits on these: they stay, with the reason on the change."""


def left_set_reason(key: str) -> str:
    """Why a pending change's ticket is no longer refreshed by the sync."""
    return f"{key} {LEFT_SET}"


def vanished(
    connection: sa.Connection, present: Collection[str], projects: Sequence[str] | None
) -> Vanished:
    """Which cached tickets (of `projects`, or all) are not among the `present` keys."""
    query = sa.select(TICKET.c.key)
    if projects is not None:
        query = query.where(TICKET.c.project.in_(projects))
    cached = [key for (key,) in connection.execute(query)]
    gone = [key for key in cached if key not in present]
    waiting = set()
    if gone:
        rows = connection.execute(
            sa.select(OUTBOX.c.ticket_key).where(OUTBOX.c.state.in_(OPEN)).distinct()
        )
        waiting = {key for (key,) in rows}
    return Vanished(
        cached=len(cached),
        deleted=[key for key in gone if key not in waiting],
        held=[key for key in gone if key in waiting],
    )


def delete_tickets(connection: sa.Connection, keys: Sequence[str]) -> None:
    """Remove tickets with their comments and moves (their outbox rows are settled already)."""
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        for model in (Comment, StatusChange):
            table = table_of(model)
            connection.execute(sa.delete(table).where(table.c.ticket_key.in_(chunk)))
        connection.execute(sa.delete(TICKET).where(TICKET.c.key.in_(chunk)))


def mark_held(connection: sa.Connection, held: Sequence[str], present: Collection[str]) -> None:
    """Give each pending change of a held ticket the reason; drop it where the ticket is back."""
    rows = connection.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.ticket_key, OUTBOX.c.last_error).where(
            OUTBOX.c.state == OutboxState.PENDING
        )
    )
    wanted = set(held)
    for entry_id, key, error in rows.all():
        if key in wanted and error != left_set_reason(key):
            reason: str | None = left_set_reason(key)
        elif key in present and error == left_set_reason(key):
            reason = None
        else:
            continue
        connection.execute(
            sa.update(OUTBOX).where(OUTBOX.c.id == entry_id).values(last_error=reason)
        )


def reapply_pending(connection: sa.Connection, keys: Collection[str] | None = None) -> None:
    """Changes not yet in Jira win over what the sync just wrote (of `keys`, or all)."""
    rows = connection.execute(
        sa.select(OUTBOX.c.ticket_key, OUTBOX.c.kind, OUTBOX.c.payload)
        .where(OUTBOX.c.state.in_([OutboxState.PENDING, OutboxState.CONFLICT]))
        .order_by(OUTBOX.c.id)
    )
    for key, kind, payload in rows:
        if keys is not None and key not in keys:
            continue
        if kind == OutboxKind.MOVE:
            column = BoardColumn(payload["to"])
            values: dict[str, Any] = {"column": column, "jira_status": payload["to"]}
        elif kind == OutboxKind.ASSIGN:
            values = {"assignee": payload["assignee"], "assignee_id": payload["account_id"]}
        else:
            continue
        connection.execute(sa.update(TICKET).where(TICKET.c.key == key).values(values))
