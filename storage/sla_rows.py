"""What the SLA queue reads from the cache: open tickets, their moves, their first response.

Three queries in one read transaction, each one pass over its table, so 20,000 tickets
load in tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.storage.columns import BoardColumn
from triage.storage.models import Comment, StatusChange, Ticket, table_of

TICKET = table_of(Ticket)
COMMENT = table_of(Comment)
STATUS_CHANGE = table_of(StatusChange)


class QueueRow(NamedTuple):
    """The facts of an open ticket that its SLA clocks and its rank depend on."""

    key: str
    summary: str
    issue_type: str
    severity: str
    severity_rank: int
    urgency: str | None
    package: str | None
    site: str | None
    assignee: str | None
    reporter: str | None
    column: BoardColumn | None
    created: datetime
    labels: list[str]
    service_desk_sla: list[dict[str, Any]] | None


@dataclass
class QueueInputs:
    """Open tickets with their status moves (oldest first) and first team response."""

    rows: list[QueueRow] = field(default_factory=list)
    moves: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    responses: dict[str, datetime] = field(default_factory=dict)


_OPEN = sa.or_(TICKET.c.column.is_(None), TICKET.c.column != BoardColumn.DONE)


def open_queue_inputs(
    engine: Engine,
    team: Sequence[str] = (),
    keys: Sequence[str] | None = None,
    changed_since: datetime | None = None,
) -> QueueInputs:
    """Everything the queue needs of the open tickets (or of `keys`, open or not).

    With `changed_since`: of the tickets, open or not, that changed since then here (a
    move, comment or assignment bumps `updated`) or that a sync wrote since (`synced_at`).

    The first response is the first comment or status move by the team: by a name in
    `team` when given, else by anyone who is not the ticket's reporter.
    """
    where: sa.ColumnElement[bool] = _OPEN
    if changed_since is not None and keys is None:
        changed = sa.or_(TICKET.c.updated >= changed_since, TICKET.c.synced_at >= changed_since)
        with engine.connect() as connection:
            keys = list(connection.execute(sa.select(TICKET.c.key).where(changed)).scalars())
        if not keys:
            return QueueInputs()
    if keys is not None:
        where = TICKET.c.key.in_(list(keys))
    inputs = QueueInputs()
    with engine.connect() as connection:
        query = sa.select(*(TICKET.c[name] for name in QueueRow._fields)).where(where)
        inputs.rows = list(map(QueueRow._make, connection.execute(query).all()))
        moves = (
            sa.select(STATUS_CHANGE.c.ticket_key, STATUS_CHANGE.c.at, STATUS_CHANGE.c.to_status)
            .join(TICKET, TICKET.c.key == STATUS_CHANGE.c.ticket_key)
            .where(where)
            .order_by(STATUS_CHANGE.c.ticket_key, STATUS_CHANGE.c.at, STATUS_CHANGE.c.id)
        )
        for key, at, status in connection.execute(moves).all():
            inputs.moves.setdefault(key, []).append((at, status))
        for table, at in ((COMMENT, COMMENT.c.created), (STATUS_CHANGE, STATUS_CHANGE.c.at)):
            by_team = (
                table.c.author.in_(list(team))
                if team
                else table.c.author != sa.func.coalesce(TICKET.c.reporter, "")
            )
            first = (
                sa.select(table.c.ticket_key, sa.func.min(at))
                .join(TICKET, TICKET.c.key == table.c.ticket_key)
                .where(where, by_team, table.c.author != "")
                .group_by(table.c.ticket_key)
            )
            for key, moment in connection.execute(first).all():
                moment = _as_time(moment)
                known = inputs.responses.get(key)
                if known is None or moment < known:
                    inputs.responses[key] = moment
    return inputs


def _as_time(value: Any) -> datetime:
    # An aggregate's value may come back as text on SQLite: read it as naive UTC.
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
