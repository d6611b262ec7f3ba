"""The demo's statements on the cache: emptying it for a rebuild, and the facts it seeds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from triage.storage.models import (
    Comment,
    Meta,
    OutboxEntry,
    OutboxState,
    Rollout,
    RolloutSite,
    StatusChange,
    Ticket,
    table_of,
)

FACTS = ("branch", "branch_ahead", "approved_by", "test_site_passed", "prod_deploy_passed")
"""The facts a demo records on its tickets; the sync's upsert leaves these columns alone."""


def clear(connection: sa.Connection, keep_open: bool = False) -> None:
    """Empty the demo's tickets, comments, moves, rollouts and outbox (but open changes).

    The rollouts go too: the demo's sites are made afresh by every demo that has them.
    """
    for model in (Ticket, Comment, StatusChange, Rollout, RolloutSite):
        connection.execute(sa.delete(table_of(model)))
    outbox = table_of(OutboxEntry)
    if keep_open:
        open_states = (OutboxState.PENDING, OutboxState.CONFLICT, OutboxState.FAILED)
        connection.execute(sa.delete(outbox).where(outbox.c.state.not_in(open_states)))
    else:
        connection.execute(sa.delete(outbox))


def forget_meta(connection: sa.Connection, keys: Iterable[str]) -> None:
    """Remove these keys of the cache's metadata."""
    meta = table_of(Meta)
    connection.execute(sa.delete(meta).where(meta.c.key.in_(list(keys))))


def tickets_for_facts(connection: sa.Connection) -> list[dict[str, Any]]:
    """Every ticket's key, column, summary and assignee, by key."""
    ticket = table_of(Ticket)
    query = sa.select(ticket.c.key, ticket.c.column, ticket.c.summary, ticket.c.assignee)
    return [
        {"key": key, "column": column, "summary": summary, "assignee": assignee}
        for key, column, summary, assignee in connection.execute(query.order_by(ticket.c.key))
    ]


def write_facts(connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record facts (`key` and the FACTS columns) on tickets, in one statement."""
    table = table_of(Ticket)
    values = [{"k": row["key"], **{n: row[n] for n in FACTS}} for row in rows]
    statement = (
        sa.update(table)
        .where(table.c.key == sa.bindparam("k"))
        .values({n: sa.bindparam(n) for n in FACTS})
    )
    connection.execute(statement, values)
