"""Local changes to a ticket: made together, in one transaction, in SQL.

A change is durable once its transaction commits: the cached rows change and an outbox row
is queued with them, so a killed process never loses it. The ticket's facts (what Triage
recorded about its work) are Triage's own and queue nothing.

`changes(engine, key, ...)` opens the transaction, reads the ticket once and writes its row
once at the end, so a job that records a fact, comments and moves its ticket pays for one
commit; `record_*` are the one-change forms.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from triage.storage.columns import BoardColumn
from triage.storage.errors import StorageError
from triage.storage.models import (
    AuditEntry,
    Comment,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    StatusChange,
    Ticket,
    TicketFactsBase,
    table_of,
    utcnow,
)

TICKET, COMMENT, HISTORY = table_of(Ticket), table_of(Comment), table_of(StatusChange)
OUTBOX, AUDIT = table_of(OutboxEntry), table_of(AuditEntry)
FACTS = frozenset(TicketFactsBase.model_fields)


class UnknownTicket(StorageError):
    """No ticket with that key is in the cache."""


@dataclass
class TicketState:
    """What the changes (and the workflow rules) read of the ticket, kept up to date by them."""

    key: str
    column: BoardColumn | None
    jira_status: str
    assignee: str | None
    assignee_id: str | None
    site: str | None
    branch: str | None
    branch_ahead: int | None
    approved_by: str | None
    test_site_passed: bool
    prod_deploy_passed: bool


_LOCK_AND_READ = (
    sa.update(TICKET)
    .where(TICKET.c.key == sa.bindparam("b_key"))
    .values(key=TICKET.c.key)
    .returning(*(TICKET.c[f.name] for f in fields(TicketState)))
)
"""Reads the ticket holding its row's write lock (SQLite: the file's), so what the changes
check (a comment already there, the column a move starts from) cannot change under them."""
# Statements built once: a change binds its values, with no statement to build and key.
_INSERTS = {table.name: sa.insert(table) for table in (COMMENT, HISTORY, OUTBOX, AUDIT)}
_COMMENT_ID = sa.select(COMMENT.c.id).where(COMMENT.c.ticket_key == sa.bindparam("b_key"))
_HAS_COMMENT = _COMMENT_ID.where(COMMENT.c.body == sa.bindparam("b_text")).limit(1)
_HAS_PREFIX = _COMMENT_ID.where(
    sa.func.substr(COMMENT.c.body, 1, sa.bindparam("b_length")) == sa.bindparam("b_text")
).limit(1)


@functools.cache
def _update_of(names: tuple[str, ...]) -> sa.Update:
    """The UPDATE of these fields of a ticket (a few sets recur: built once each)."""
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}") for name in names}
    return sa.update(TICKET).where(TICKET.c.key == sa.bindparam("b_key")).values(values)


class TicketChanges:
    """Changes to one ticket inside one open transaction (see `changes`)."""

    def __init__(
        self, connection: Connection, state: TicketState, actor: str, author_id: str, at: datetime
    ) -> None:
        self.state = state
        self.actor, self.author_id, self.at = actor, author_id, at
        self._connection = connection
        self._values: dict[str, Any] = {}

    def facts(self, **facts: object) -> None:
        """Record facts about the ticket's work (branch, test site…); they never go to Jira."""
        unknown = sorted(set(facts) - FACTS)
        if unknown:
            raise ValueError(f"not a fact of a ticket: {', '.join(unknown)}")
        self._set(**facts)

    def has_comment(self, text: str, *, prefix: bool = False) -> bool:
        """Whether the ticket has (or queued) a comment with this text (or starting so)."""
        params = {"b_key": self.state.key, "b_text": text, "b_length": len(text)}
        query = _HAS_PREFIX if prefix else _HAS_COMMENT
        return self._connection.execute(query, params).first() is not None

    def comment(self, body: str) -> int:
        """Add a comment and queue it for Jira; its id."""
        comment_id = self._comment(body)
        self._queue(OutboxKind.COMMENT, {"body": body})
        self._set(updated=self.at)
        return comment_id

    def move(
        self,
        target: BoardColumn,
        *,
        comment: str | None = None,
        override_reason: str | None = None,
        approved_by: str | None = None,
        assign_to: tuple[str, str | None] | None = None,
    ) -> None:
        """Move the ticket, with its optional comment, approval, assignment and override."""
        state = self.state
        source = state.column.value if state.column else None
        # The Jira status the ticket had: the push checks Jira still shows it before moving.
        payload: dict[str, object] = {"to": target.value, "from": source,
                                      "from_status": state.jira_status}  # fmt: skip
        self._set(column=target, jira_status=target.value, updated=self.at)
        if approved_by is not None:
            self._set(approved_by=approved_by)
        if comment:
            payload["comment"] = comment
            self._comment(comment)
        self._insert(HISTORY, ticket_key=state.key, from_status=source, to_status=target.value,
                     author=self.actor, at=self.at, source="local",
                     override=override_reason is not None)  # fmt: skip
        self._queue(OutboxKind.MOVE, payload)
        if assign_to is not None:
            self.assign(assign_to)
        if override_reason is not None:
            self._insert(AUDIT, at=self.at, actor=self.actor, action="override-move",
                         ticket_key=state.key, site=state.site,
                         detail=f"{source} → {target.value}: {override_reason}")  # fmt: skip

    def assign(self, assignee: tuple[str, str | None]) -> None:
        """Assign the ticket to (display name, account id) and queue it for Jira."""
        name, account = assignee
        previous = self.state.assignee
        self._set(assignee=name, assignee_id=account, updated=self.at)
        # Assigned to its own author: one whose account Jira has not named yet is assigned
        # to whoever the author's pusher is, which is that account.
        to_author = name == self.actor
        payload: dict[str, object] = {"assignee": name, "account_id": account,
                                      "previous": previous, "to_author": to_author}  # fmt: skip
        self._queue(OutboxKind.ASSIGN, payload)

    def write(self) -> None:
        """Write the ticket's row once, with every field the changes set."""
        if self._values:
            params = {f"v_{name}": value for name, value in self._values.items()}
            params["b_key"] = self.state.key
            self._connection.execute(_update_of(tuple(sorted(self._values))), params)
            self._values = {}

    def _set(self, **values: Any) -> None:
        self._values.update(values)
        for name, value in values.items():
            if hasattr(self.state, name):
                setattr(self.state, name, value)

    def _comment(self, body: str) -> int:
        return self._insert(COMMENT, ticket_key=self.state.key, author=self.actor, body=body,
                            created=self.at)  # fmt: skip

    def _queue(self, kind: OutboxKind, payload: dict[str, object]) -> None:
        self._insert(OUTBOX, ticket_key=self.state.key, kind=kind, payload=payload,
                     state=OutboxState.PENDING, created=self.at, attempts=0, author=self.actor,
                     author_id=self.author_id)  # fmt: skip

    def _insert(self, table: sa.Table, **values: Any) -> int:
        done = self._connection.execute(_INSERTS[table.name], values)
        return int(done.inserted_primary_key[0])  # type: ignore[index]


@contextmanager
def changes(
    engine: Engine, key: str, *, actor: str = "", author_id: str = "", at: datetime | None = None
) -> Iterator[TicketChanges]:
    """The changes to one ticket, committed together when the block ends (none if it raises).

    UnknownTicket if the cache has no such key.
    """
    with engine.begin() as connection:
        row = connection.execute(_LOCK_AND_READ, {"b_key": key}).first()
        if row is None:
            raise UnknownTicket(
                f"ticket {key} is not in the cache: check the key or run `triage sync`"
            )
        change = TicketChanges(connection, TicketState(**row._mapping), actor, author_id,
                               at or utcnow())  # fmt: skip
        yield change
        change.write()


def facts_of(key: str, **facts: object) -> tuple[sa.Update, dict[str, object]]:
    """The UPDATE that records these facts of a ticket, and its parameters (for a job to
    write with its own records)."""
    unknown = sorted(set(facts) - FACTS)
    if unknown:
        raise ValueError(f"not a fact of a ticket: {', '.join(unknown)}")
    params: dict[str, object] = {f"v_{name}": value for name, value in facts.items()}
    params["b_key"] = key
    return _update_of(tuple(sorted(facts))), params


def record_facts(engine: Engine, key: str, **facts: object) -> None:
    """Record facts about a ticket's work (branch, test site…) in one transaction."""
    with changes(engine, key) as change:
        change.facts(**facts)


def record_comment(
    engine: Engine, key: str, body: str, *, actor: str, at: datetime | None = None,
    author_id: str = "",
) -> int:  # fmt: skip
    """Add a comment to a ticket and queue it for Jira, durably; its id."""
    with changes(engine, key, actor=actor, author_id=author_id, at=at) as change:
        return change.comment(body)


def record_move(
    engine: Engine, key: str, target: BoardColumn, *, actor: str, at: datetime | None = None,
    author_id: str = "", **options: Any,
) -> None:  # fmt: skip
    """Move a ticket to `target` durably (options: those of `TicketChanges.move`)."""
    with changes(engine, key, actor=actor, author_id=author_id, at=at) as change:
        change.move(target, **options)


def record_assign(
    engine: Engine, key: str, assignee: tuple[str, str | None], *, actor: str,
    at: datetime | None = None, author_id: str = "",
) -> None:  # fmt: skip
    """Assign a ticket to (display name, account id) and queue it for Jira, durably."""
    with changes(engine, key, actor=actor, author_id=author_id, at=at) as change:
        change.assign(assignee)
