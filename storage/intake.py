"""The records of e-mail intake: each mail taken, by Message-ID, with the change it queued.

Every `record_*` function writes the mail's row and the outbox row it queues in the caller's
session, so one commit makes both durable together: a mail is either taken with its change,
or not taken at all, whatever happens to the process in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.storage.models import (
    Comment,
    IntakeMail,
    IntakeState,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    table_of,
    utcnow,
)

EMAIL_LABEL = "triage-email"
"""Label of tickets made from e-mail; the board marks their cards."""
PLACEHOLDER = "new:"
"""Prefix of the ticket key a new ticket has until Jira gives it its real key."""


def taken(session: Session, message_ids: Iterable[str]) -> set[str]:
    """Which of these Message-IDs intake has already taken."""
    wanted = list(dict.fromkeys(message_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(IntakeMail.message_id).where(col(IntakeMail.message_id).in_(chunk))
        found.update(session.exec(query))
    return found


def thread_ticket(session: Session, message_ids: list[str]) -> str | None:
    """The ticket of the nearest mail of this thread intake took (ids nearest first)."""
    if not message_ids:
        return None
    query = select(IntakeMail.message_id, IntakeMail.ticket_key).where(
        col(IntakeMail.message_id).in_(message_ids), col(IntakeMail.ticket_key).is_not(None)
    )
    keys = dict(session.exec(query).all())
    return next((keys[m] for m in message_ids if keys.get(m)), None)


def record_mail(session: Session, mail: IntakeMail) -> IntakeMail:
    """Keep a mail that queued nothing (skipped or failed)."""
    session.add(mail)
    return mail


def record_comment(
    session: Session, mail: IntakeMail, key: str, body: str, *, author: str, at: datetime
) -> OutboxEntry:
    """Keep a mail that became a comment on `key`, with the comment and its outbox row."""
    mail.state, mail.ticket_key = IntakeState.COMMENT, key
    session.add(mail)
    session.add(Comment(ticket_key=key, author=author, body=body, created=at))
    entry = OutboxEntry(ticket_key=key, kind=OutboxKind.COMMENT, payload={"body": body}, created=at)
    session.add(entry)
    return entry


def record_new_ticket(session: Session, mail: IntakeMail, placeholder: str) -> IntakeMail:
    """Keep a mail that becomes the new ticket `placeholder` (its create is queued beside it)."""
    mail.state, mail.ticket_key = IntakeState.TICKET, placeholder
    session.add(mail)
    return mail


def queue_create_issue(
    session: Session, placeholder: str, payload: dict[str, Any], at: datetime
) -> OutboxEntry:
    """Queue the outbox row that creates a new issue, known as `placeholder` until created."""
    entry = OutboxEntry(
        ticket_key=placeholder, kind=OutboxKind.CREATE_ISSUE, payload=payload, created=at
    )
    session.add(entry)
    return entry


def raw_mail(session: Session, message_id: str) -> bytes | None:
    """The mail as read, by Message-ID."""
    query = select(IntakeMail.raw).where(IntakeMail.message_id == message_id)
    return session.exec(query).first()


def rename_ticket(session: Session, placeholder: str, key: str) -> None:
    """Give a new ticket its Jira key everywhere intake and the outbox still say `new:…`."""
    for model in (IntakeMail, Comment):
        table = table_of(model)
        session.execute(
            sa.update(table).where(table.c.ticket_key == placeholder).values(ticket_key=key)
        )
    outbox = table_of(OutboxEntry)
    session.execute(
        sa.update(outbox)
        .where(outbox.c.ticket_key == placeholder, outbox.c.state == OutboxState.PENDING.value)
        .values(ticket_key=key)
    )


def failed_mails(session: Session) -> list[IntakeMail]:
    """Mails intake could not parse, oldest first."""
    query = (
        select(IntakeMail)
        .where(IntakeMail.state == IntakeState.FAILED)
        .order_by(col(IntakeMail.received), col(IntakeMail.id))
    )
    return list(session.exec(query))


def counts(session: Session, since: datetime | None = None) -> dict[IntakeState, int]:
    """How many mails ended in each state (since a moment, if given)."""
    query = select(IntakeMail.state, sa.func.count()).group_by(IntakeMail.state)
    if since is not None:
        query = query.where(IntakeMail.received >= since)
    return {IntakeState(state): int(n) for state, n in session.exec(query).all()}


def new_mail(message_id: str, **fields: Any) -> IntakeMail:
    """An intake row for a mail, received now unless told."""
    fields.setdefault("received", utcnow())
    fields.setdefault("state", IntakeState.FAILED)
    return IntakeMail(message_id=message_id, **fields)
