"""Local changes: each one changes the cached rows and queues an outbox row in one transaction.

A change is durable once these functions return: the board shows it only after the commit,
and the outbox row carries it to Jira later, so a killed process never loses it. The
ticket's facts (what Triage recorded about its work) are Triage's own and queue nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.storage.columns import BoardColumn
from triage.storage.db import session_scope
from triage.storage.errors import StorageError
from triage.storage.models import (
    AuditEntry,
    Comment,
    Job,
    OutboxEntry,
    OutboxKind,
    StatusChange,
    Ticket,
    TicketFactsBase,
    table_of,
    utcnow,
)


class UnknownTicket(StorageError):
    """No ticket with that key is in the cache."""


def _ticket(session: Session, key: str) -> Ticket:
    ticket = session.get(Ticket, key)
    if ticket is None:
        raise UnknownTicket(f"ticket {key} is not in the cache: check the key or run `triage sync`")
    return ticket


def record_move(
    engine: Engine,
    key: str,
    target: BoardColumn,
    *,
    actor: str,
    comment: str | None = None,
    override_reason: str | None = None,
    approved_by: str | None = None,
    assign_to: tuple[str, str | None] | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Move a ticket to `target`, with its optional comment, approval and assignment, durably."""
    at = at or utcnow()
    with session_scope(engine) as session:
        ticket = _ticket(session, key)
        source = ticket.column
        # The Jira status the ticket had: the push checks Jira still shows it before moving.
        payload: dict[str, object] = {
            "to": target.value,
            "from": source.value if source else None,
            "from_status": ticket.jira_status,
        }
        ticket.column = target
        ticket.jira_status = target.value
        ticket.updated = at
        if approved_by is not None:
            ticket.approved_by = approved_by
        if comment:
            payload["comment"] = comment
            session.add(Comment(ticket_key=key, author=actor, body=comment, created=at))
        session.add(
            StatusChange(
                ticket_key=key,
                from_status=source.value if source else None,
                to_status=target.value,
                author=actor,
                at=at,
                source="local",
                override=override_reason is not None,
            )
        )
        session.add(OutboxEntry(ticket_key=key, kind=OutboxKind.MOVE, payload=payload, created=at))
        if assign_to is not None:
            _assign(session, ticket, actor, assign_to, at)
        if override_reason is not None:
            session.add(
                AuditEntry(
                    at=at,
                    actor=actor,
                    action="override-move",
                    ticket_key=key,
                    site=ticket.site,
                    detail=f"{payload['from']} → {target.value}: {override_reason}",
                )
            )
        session.add(ticket)
    return ticket


def record_facts(engine: Engine, key: str, **facts: object) -> Ticket:
    """Record facts about a ticket's work (branch, test site…) in one transaction.

    Facts are Triage's own: they never go to Jira, so no outbox row is written.
    """
    unknown = sorted(set(facts) - set(TicketFactsBase.model_fields))
    if unknown:
        raise ValueError(f"not a fact of a ticket: {', '.join(unknown)}")
    with session_scope(engine) as session:
        ticket = _ticket(session, key)
        for name, value in facts.items():
            setattr(ticket, name, value)
        session.add(ticket)
    return ticket


def record_comment(
    engine: Engine, key: str, body: str, *, actor: str, at: datetime | None = None
) -> Comment:
    """Add a comment to a ticket and queue it for Jira, durably."""
    at = at or utcnow()
    with session_scope(engine) as session:
        ticket = _ticket(session, key)
        comment = Comment(ticket_key=key, author=actor, body=body, created=at)
        session.add(comment)
        session.add(
            OutboxEntry(ticket_key=key, kind=OutboxKind.COMMENT, payload={"body": body}, created=at)
        )
        ticket.updated = at
        session.add(ticket)
        session.flush()
    return comment


def record_assign(
    engine: Engine,
    key: str,
    assignee: tuple[str, str | None],
    *,
    actor: str,
    at: datetime | None = None,
) -> Ticket:
    """Assign a ticket to (display name, account id) and queue it for Jira, durably."""
    at = at or utcnow()
    with session_scope(engine) as session:
        ticket = _ticket(session, key)
        _assign(session, ticket, actor, assignee, at)
        session.add(ticket)
    return ticket


def _assign(
    session: Session, ticket: Ticket, actor: str, assignee: tuple[str, str | None], at: datetime
) -> None:
    name, account = assignee
    previous = ticket.assignee
    ticket.assignee, ticket.assignee_id = name, account
    ticket.updated = at
    session.add(
        OutboxEntry(
            ticket_key=ticket.key,
            kind=OutboxKind.ASSIGN,
            payload={"assignee": name, "account_id": account, "previous": previous},
            created=at,
        )
    )


# -- creating an issue ----------------------------------------------------------------------


def record_create_issue(
    engine: Engine,
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
    site: str | None = None,
    client: str | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Add a local ticket under a placeholder key and queue its creation in Jira, durably.

    The issue gets a unique dedupe label (`triage-<uuid>`, also in the payload), so a replay
    after a crash finds the issue it made instead of making a second. The push gives the
    placeholder ticket its real key (`adopt_created`).
    """
    at = at or utcnow()
    token = uuid.uuid4().hex
    dedupe = f"triage-{token}"
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
    with session_scope(engine) as session:
        session.add(ticket)
        session.add(
            OutboxEntry(ticket_key=key, kind=OutboxKind.CREATE, payload=payload, created=at)
        )
        session.add(
            AuditEntry(
                at=at, actor=actor, action="create-issue", ticket_key=key, site=site, detail=summary
            )
        )
    return ticket


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
        for model in (Comment, StatusChange, OutboxEntry, AuditEntry, Job):
            table = table_of(model)
            connection.execute(
                sa.update(table).where(table.c.ticket_key == placeholder).values(ticket_key=key)
            )
