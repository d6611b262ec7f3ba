"""Reads and bulk writes of the cache for the board and the sync, fast at 20,000+ rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.storage.columns import BoardColumn
from triage.storage.intake import EMAIL_LABEL
from triage.storage.models import (
    JIRA_TICKET_FIELDS,
    Comment,
    Meta,
    OutboxEntry,
    OutboxState,
    StatusChange,
    Ticket,
    table_of,
)

TICKET = table_of(Ticket)
COMMENT = table_of(Comment)
STATUS_CHANGE = table_of(StatusChange)
OUTBOX = table_of(OutboxEntry)
META = table_of(Meta)


class CardRow(NamedTuple):
    """What a board card shows of a ticket; light enough to hold 20,000 of."""

    key: str
    summary: str
    issue_type: str
    severity: str
    severity_rank: int
    assignee: str | None
    site: str | None
    client: str | None
    column: BoardColumn | None
    jira_status: str
    updated: datetime
    sync_state: str = ""
    """Its changes not yet in Jira: "" none, "pending", "failed" or "conflict" (the worst)."""
    from_email: bool = False
    """Made from a support mail (the intake label), for the on-call to set severity."""


_OPEN_STATES = (OutboxState.PENDING, OutboxState.FAILED, OutboxState.CONFLICT)

#: The worst open change of each ticket that has any: conflict (3) over failed (2) over
#: pending (1). The outbox holds few open rows, so this is small and joins cheaply.
_OPEN_RANK = (
    sa.select(
        OUTBOX.c.ticket_key,
        sa.func.max(
            sa.case(
                (OUTBOX.c.state == OutboxState.CONFLICT, 3),
                (OUTBOX.c.state == OutboxState.FAILED, 2),
                else_=1,
            )
        ).label("rank"),
    )
    .where(OUTBOX.c.state.in_(_OPEN_STATES))
    .group_by(OUTBOX.c.ticket_key)
    .subquery("open_changes")
)
_SYNC_STATE = sa.case(
    (_OPEN_RANK.c.rank == 3, sa.literal("conflict")),
    (_OPEN_RANK.c.rank == 2, sa.literal("failed")),
    (_OPEN_RANK.c.rank == 1, sa.literal("pending")),
    else_=sa.literal(""),
).label("sync_state")
# JSON text on both dialects (json.dumps writes it), so a LIKE finds the quoted label.
_FROM_EMAIL = sa.cast(TICKET.c.labels, sa.Text).like(f'%"{EMAIL_LABEL}"%').label("from_email")
_CARD_COLUMNS = [*(TICKET.c[name] for name in CardRow._fields[:-2]), _SYNC_STATE, _FROM_EMAIL]
_CARD_SOURCE = TICKET.outerjoin(_OPEN_RANK, _OPEN_RANK.c.ticket_key == TICKET.c.key)


def card_rows(engine: Engine, done_since: datetime) -> list[CardRow]:
    """Every ticket the board shows: all open ones, and Done ones updated since `done_since`."""
    query = (
        sa.select(*_CARD_COLUMNS)
        .select_from(_CARD_SOURCE)
        .where(
            sa.or_(
                TICKET.c.column.is_(None),
                TICKET.c.column != BoardColumn.DONE,
                TICKET.c.updated >= done_since,
            )
        )
        .order_by(TICKET.c.severity_rank, TICKET.c.updated.desc(), TICKET.c.key)
    )
    with engine.connect() as connection:
        return [CardRow(*row) for row in connection.execute(query)]


def card_row(session: Session, key: str) -> CardRow | None:
    """The card of one ticket, or None."""
    query = sa.select(*_CARD_COLUMNS).select_from(_CARD_SOURCE).where(TICKET.c.key == key)
    row = session.connection().execute(query)
    found = row.first()
    return CardRow(*found) if found else None


def list_tickets(
    engine: Engine, column: BoardColumn | None = None, site: str | None = None
) -> list[Ticket]:
    """Cached tickets, optionally of one column and one site, newest first."""
    query = select(Ticket).order_by(col(Ticket.updated).desc(), col(Ticket.key))
    if column is not None:
        query = query.where(Ticket.column == column)
    if site is not None:
        query = query.where(Ticket.site == site)
    with Session(engine) as session:
        return list(session.exec(query))


def get_ticket(session: Session, key: str) -> Ticket | None:
    """One cached ticket by key."""
    return session.get(Ticket, key)


def comments_of(session: Session, key: str) -> list[Comment]:
    """A ticket's comments, oldest first."""
    query = select(Comment).where(Comment.ticket_key == key)
    return list(session.exec(query.order_by(col(Comment.created), col(Comment.id))))


def history_of(session: Session, key: str) -> list[StatusChange]:
    """A ticket's moves, oldest first."""
    query = select(StatusChange).where(StatusChange.ticket_key == key)
    return list(session.exec(query.order_by(col(StatusChange.at), col(StatusChange.id))))


def pending_changes(session: Session, key: str | None = None) -> list[OutboxEntry]:
    """Changes not yet in Jira (pending, failed or in conflict), oldest first."""
    query = select(OutboxEntry).where(
        col(OutboxEntry.state).in_([OutboxState.PENDING, OutboxState.FAILED, OutboxState.CONFLICT])
    )
    if key is not None:
        query = query.where(OutboxEntry.ticket_key == key)
    return list(session.exec(query.order_by(col(OutboxEntry.id))))


def open_change_counts(engine: Engine) -> dict[OutboxState, int]:
    """How many changes are pending, failed or in conflict (states with none are left out)."""
    query = (
        sa.select(OUTBOX.c.state, sa.func.count())
        .where(OUTBOX.c.state.in_(_OPEN_STATES))
        .group_by(OUTBOX.c.state)
    )
    with engine.connect() as connection:
        return {OutboxState(state): int(count) for state, count in connection.execute(query)}


def ticket_count(engine: Engine) -> int:
    """How many tickets the cache holds."""
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(TICKET)).scalar_one())


def insert_for(dialect: sa.Dialect, table: sa.Table) -> Any:
    # Imported here: the PostgreSQL dialect costs start-up time a SQLite user never needs.
    if dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {dialect.name!r}: use SQLite or PostgreSQL")


def upsert_tickets(connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or update tickets in one statement; Triage's own fields on a ticket are kept."""
    if not rows:
        return 0
    statement = insert_for(connection.dialect, TICKET)
    updates = {name: statement.excluded[name] for name in JIRA_TICKET_FIELDS if name != "key"}
    statement = statement.on_conflict_do_update(index_elements=["key"], set_=updates)
    _execute_many(connection, statement, TICKET, rows, defaults=_FACT_DEFAULTS)
    return len(rows)


def _execute_many(
    connection: sa.Connection,
    statement: Any,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Run `statement` for every row through the driver's executemany in one round of calls.

    SQLAlchemy's per-row parameter handling costs more than the database itself here;
    each column's bind processor is applied directly instead, so types behave the same.
    """
    defaults = defaults or {}
    names = list(dict.fromkeys([*rows[0], *defaults]))
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=names)
    processors = {name: table.c[name].type._cached_bind_processor(dialect) for name in names}
    order = list(compiled.positiontup or []) if compiled.positional else names
    columns = [_bound_column(processors[name], rows, name, defaults.get(name)) for name in order]
    if compiled.positional:
        processed: list[Any] = list(zip(*columns, strict=True))
    else:
        processed = [dict(zip(order, values, strict=True)) for values in zip(*columns, strict=True)]
    connection.exec_driver_sql(compiled.string, processed)


def _bound_column(
    processor: Any, rows: Sequence[Mapping[str, Any]], name: str, default: Any
) -> list[Any]:
    """One column's values for every row, as the driver takes them."""
    if name in rows[0]:
        values = [row[name] for row in rows]
    else:
        values = [row.get(name, default) for row in rows]
    if processor is None:
        return values
    return [None if value is None else processor(value) for value in values]


#: Values for Triage's own NOT NULL fields when a sync inserts a ticket it never saw.
_FACT_DEFAULTS: Mapping[str, Any] = {"test_site_passed": False, "prod_deploy_passed": False}


def upsert_children(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    update: Iterable[str],
) -> int:
    """Insert comments or status changes keyed by (ticket_key, remote_id), updating `update`."""
    if not rows:
        return 0
    statement = insert_for(connection.dialect, table)
    statement = statement.on_conflict_do_update(
        index_elements=["ticket_key", "remote_id"],
        set_={name: statement.excluded[name] for name in update},
    )
    defaults = {
        column.name: column.default.arg  # type: ignore[attr-defined]
        for column in table.columns
        if column.default is not None and column.default.is_scalar and column.name not in rows[0]
    }
    _execute_many(connection, statement, table, rows, defaults=defaults)
    return len(rows)


def upsert_comments(connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or update comments that came from Jira."""
    return upsert_children(connection, COMMENT, rows, ("author", "body", "created"))


def upsert_status_changes(connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert status changes from Jira's changelog, once each."""
    return upsert_children(connection, STATUS_CHANGE, rows, ("to_status",))


def get_meta(engine: Engine, key: str) -> str | None:
    """A named value of the cache, or None."""
    # A Core query, not the ORM: the board's first frame reads these, and the ORM's first
    # use (configuring every mapper) can wait until after that frame.
    query = sa.select(META.c.value).where(META.c.key == key)
    with engine.connect() as connection:
        value = connection.execute(query).scalar_one_or_none()
    return None if value is None else str(value)


def set_meta(connection: sa.Connection, key: str, value: str) -> None:
    """Set a named value of the cache inside the caller's transaction."""
    table = table_of(Meta)
    updated = connection.execute(sa.update(table).where(table.c.key == key).values(value=value))
    if updated.rowcount == 0:
        connection.execute(sa.insert(table).values(key=key, value=value))
