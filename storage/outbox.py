"""Local changes and the outbox's state machine, in SQL.

Local changes and their outbox rows are written together by `storage.changes`; here the
outbox's rows are claimed, sent and settled, and new issues are queued.

An outbox row goes pending → sending (pending with a live lease: `claim_next`) → done,
failed or conflict (`finish`), or back to pending with a later attempt (`finish` with
`state=PENDING`). A lease names its pusher and an expiry; the pusher renews it while it
sends (`renew_lease`), and a crashed pusher's lease lapses so another takes the row over.
Claims are atomic: `FOR UPDATE SKIP LOCKED` on PostgreSQL, one conditional UPDATE on
SQLite, so two pushers never send the same row.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.storage.columns import BoardColumn
from triage.storage.db import session_scope
from triage.storage.models import (
    AuditEntry,
    Comment,
    Job,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    Rollout,
    RolloutSite,
    StatusChange,
    Ticket,
    table_of,
    utcnow,
)

OUTBOX = table_of(OutboxEntry)


def _claimable(now: datetime, authors: Collection[str] | None, skip: Collection[str]) -> Any:
    """Due, unleased (or lease lapsed), by one of `authors`, and first of its ticket."""
    earlier = OUTBOX.alias("earlier")
    first_of_ticket = ~sa.exists().where(
        earlier.c.ticket_key == OUTBOX.c.ticket_key,
        earlier.c.id < OUTBOX.c.id,
        earlier.c.state == OutboxState.PENDING,
    )
    conditions = [
        OUTBOX.c.state == OutboxState.PENDING,
        sa.or_(OUTBOX.c.lease_until.is_(None), OUTBOX.c.lease_until <= now),
        sa.or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now),
        first_of_ticket,
    ]
    if authors is not None:
        conditions.append(OUTBOX.c.author_id.in_(list(authors)))
    if skip:
        conditions.append(OUTBOX.c.ticket_key.not_in(list(skip)))
    return sa.and_(*conditions)


def claim_next(
    engine: Engine,
    owner: str,
    *,
    now: datetime,
    lease: timedelta,
    authors: Collection[str] | None = None,
    skip: Collection[str] = (),
) -> OutboxEntry | None:
    """Take the oldest change this pusher may send now, leased to `owner`; None when none.

    A change waits while an earlier change of its ticket is pending (sent, backing off or
    held by another pusher), so each ticket's changes reach Jira in the order made.
    """
    lease_values = {"lease_owner": owner, "lease_until": now + lease}
    with engine.begin() as connection:
        first = (
            sa.select(OUTBOX.c.id)
            .where(_claimable(now, authors, skip))
            .order_by(OUTBOX.c.id)
            .limit(1)
        )
        if connection.dialect.name == "postgresql":
            row = connection.execute(first.with_for_update(skip_locked=True, of=OUTBOX)).first()
            if row is None:
                return None
            claimed = row[0]
            connection.execute(sa.update(OUTBOX).where(OUTBOX.c.id == claimed).values(lease_values))
        else:
            # SQLite runs one writer at a time: this single statement is the atomic claim.
            update = (
                sa.update(OUTBOX)
                .where(OUTBOX.c.id == first.scalar_subquery())
                .values(lease_values)
                .returning(OUTBOX.c.id)
            )
            row = connection.execute(update).first()
            if row is None:
                return None
            claimed = row[0]
    with Session(engine) as session:
        return session.get(OutboxEntry, claimed)


def any_due(engine: Engine, now: datetime) -> bool:
    """Whether some pusher could claim a change now (cheap: no lease is taken)."""
    with engine.connect() as connection:
        query = sa.select(OUTBOX.c.id).where(_claimable(now, None, ())).limit(1)
        return connection.execute(query).first() is not None


def renew_lease(engine: Engine, entry_id: int, owner: str, until: datetime) -> bool:
    """Extend `owner`'s lease on a change; False when the lease is no longer theirs."""
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == entry_id, OUTBOX.c.lease_owner == owner)
            .values(lease_until=until)
        )
        return bool(result.rowcount)


def finish(engine: Engine, entry_id: int, owner: str, **values: Any) -> bool:
    """Record how sending went (state, attempts, error…) and let the lease go.

    Returns False, changing nothing, when `owner` lost the lease to another pusher meanwhile.
    """
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == entry_id, OUTBOX.c.lease_owner == owner)
            .values(**values, lease_owner=None, lease_until=None)
        )
        return bool(result.rowcount)


def waiting_counts(engine: Engine, authors: Collection[str] | None) -> tuple[int, int]:
    """Changes still pending: (those `authors` may send, those only someone else may)."""
    query = sa.select(OUTBOX.c.author_id, sa.func.count()).where(
        OUTBOX.c.state == OutboxState.PENDING
    )
    mine = others = 0
    with engine.connect() as connection:
        for author_id, count in connection.execute(query.group_by(OUTBOX.c.author_id)):
            if authors is None or author_id in authors:
                mine += int(count)
            else:
                others += int(count)
    return mine, others


def link_comment(engine: Engine, key: str, body: str, remote_id: str) -> None:
    """Mark the oldest unsent local comment with this text as Jira's comment `remote_id`."""
    comment = table_of(Comment)
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(comment.c.id)
            .where(
                comment.c.ticket_key == key,
                comment.c.body == body,
                comment.c.remote_id.is_(None),
            )
            .order_by(comment.c.id)
            .limit(1)
        ).first()
        taken = connection.execute(
            sa.select(comment.c.id).where(
                comment.c.ticket_key == key, comment.c.remote_id == remote_id
            )
        ).first()
        if row is not None and taken is None:
            connection.execute(
                sa.update(comment).where(comment.c.id == row[0]).values(remote_id=remote_id)
            )


# -- creating an issue ----------------------------------------------------------------------


def record_create_issue(engine: Engine, **issue: Any) -> Ticket:
    """Add a local ticket under a placeholder key and queue its creation in Jira, durably.

    Takes `new_issue`'s arguments. The push gives the placeholder ticket its real key
    (`adopt_created`).
    """
    rows = new_issue(**issue)
    with session_scope(engine) as session:
        session.add_all(rows)
    return rows[0]


def new_issue(
    *,
    project: str,
    issue_type: str,
    summary: str,
    description: str,
    priority: str,
    severity_rank: int,
    labels: list[str],
    assignee: tuple[str, str | None] | None,
    actor: str,
    author_id: str = "",
    site: str | None = None,
    client: str | None = None,
    at: datetime | None = None,
    dedupe: str | None = None,
) -> tuple[Ticket, OutboxEntry, AuditEntry]:
    """The rows that queue one issue's creation, for the caller to add in its transaction.

    The issue gets a dedupe label (also in the payload), so a replay after a crash finds the
    issue it made instead of making a second: `triage-<uuid>` unless the caller names one
    that is unique to what the issue is for (an advisory and a site).
    """
    at = at or utcnow()
    token = uuid.uuid4().hex
    dedupe = dedupe or f"triage-{token}"
    key = f"NEW-{token[:8].upper()}"
    labels = [*labels, dedupe]
    name, account = assignee or (None, None)
    payload: dict[str, object] = {
        "project": project,
        "issue_type": issue_type,
        "summary": summary,
        "description": description,
        "priority": priority,
        "labels": labels,
        "assignee": name,
        "account_id": account,
        "dedupe": dedupe,
    }
    ticket = Ticket(
        key=key,
        project=project,
        summary=summary,
        description=description,
        issue_type=issue_type,
        severity=priority,
        severity_rank=severity_rank,
        jira_status=BoardColumn.TODO.value,
        column=BoardColumn.TODO,
        assignee=name,
        assignee_id=account,
        reporter=actor,
        site=site,
        client=client,
        labels=labels,
        created=at,
        updated=at,
    )
    entry = OutboxEntry(
        ticket_key=key,
        kind=OutboxKind.CREATE,
        payload=payload,
        created=at,
        author=actor,
        author_id=author_id,
    )
    audit = AuditEntry(
        at=at, actor=actor, action="create-issue", ticket_key=key, site=site, detail=summary
    )
    return ticket, entry, audit


def adopt_created(engine: Engine, placeholder: str, key: str, jira_id: str) -> None:
    """Give the placeholder ticket (and its comments, moves, changes) the key Jira gave it.

    Idempotent: after a crash the replay adopts again and finds nothing left to rename.
    If a sync already brought the issue in under its key, the placeholder row goes.
    """
    with session_scope(engine) as session:
        connection = session.connection()
        tickets = table_of(Ticket)
        exists = connection.execute(sa.select(tickets.c.key).where(tickets.c.key == key)).first()
        if exists is not None:
            connection.execute(sa.delete(tickets).where(tickets.c.key == placeholder))
        else:
            connection.execute(
                sa.update(tickets)
                .where(tickets.c.key == placeholder)
                .values(key=key, jira_id=jira_id)
            )
        for model in (Comment, StatusChange, OutboxEntry, AuditEntry, Job, Rollout, RolloutSite):
            table = table_of(model)
            connection.execute(
                sa.update(table).where(table.c.ticket_key == placeholder).values(ticket_key=key)
            )
