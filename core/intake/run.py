"""The intake run: every new mail of the mailbox taken once, as a ticket, a comment, or a skip.

Each batch of mails is recorded (Message-ID, what it became, the outbox change it queued) in
one transaction, and only after that commit are those mails marked taken on the server. A
process killed in between leaves mails unmarked but recorded: the next run skips them by
Message-ID and marks them then. A mail that cannot be parsed is recorded as failed with its
bytes, so it is listed (`triage intake --list-failed`) and never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from triage.core.config import Settings
from triage.core.errors import ConfigError
from triage.core.intake.create import queue_new_ticket
from triage.core.intake.mail import Unparseable, clean_line, message_id_of, parse
from triage.core.intake.mailbox import Mailbox, RawMail
from triage.core.intake.route import (
    comment_body,
    dedupe_label,
    projects,
    route,
    sender_line,
    ticket_fields,
)
from triage.storage import intake as store
from triage.storage.db import session_scope
from triage.storage.models import IntakeState, utcnow

BATCH = 50
"""Mails recorded per transaction; each batch is marked taken right after its commit."""


@dataclass
class IntakeResult:
    """What one look at the mailbox did."""

    tickets: int = 0
    comments: int = 0
    skipped: int = 0
    failed: int = 0
    already: int = 0
    """Mails recorded by an earlier run (one killed before marking them) and marked now."""

    @property
    def taken(self) -> int:
        """Mails taken in this run."""
        return self.tickets + self.comments + self.skipped + self.failed

    def add(self, other: IntakeResult) -> None:
        """Add another run's counts to these."""
        for name in ("tickets", "comments", "skipped", "failed", "already"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> str:
        """One line for `triage intake`."""
        line = (
            f"intake: {self.tickets} new tickets, {self.comments} comments, "
            f"{self.skipped} auto-replies/bulk skipped, {self.failed} unreadable kept"
        )
        if self.already:
            line += f", {self.already} taken before"
        return line


class Intake:
    """Reads one mailbox into the cache and the outbox."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        mailbox: Mailbox,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = BATCH,
    ) -> None:
        if not (settings.intake.project or settings.jira.projects):
            raise ConfigError(
                "intake needs a project for new tickets: set [intake] project "
                "(or [jira] projects) in the config file"
            )
        self.engine = engine
        self.settings = settings
        self.mailbox = mailbox
        self.clock = clock
        self.batch = max(1, batch)
        self.known = projects(settings)

    def run_once(self) -> IntakeResult:
        """Take every mail not yet taken; what was done."""
        result = IntakeResult()
        pending: list[RawMail] = []
        for raw in self.mailbox.unread():
            pending.append(raw)
            if len(pending) >= self.batch:
                self._take_batch(pending, result)
                pending = []
        if pending:
            self._take_batch(pending, result)
        return result

    def _take_batch(self, mails: list[RawMail], result: IntakeResult) -> None:
        ids = [message_id_of(raw.data) for raw in mails]
        with session_scope(self.engine) as session:
            seen = store.taken(session, ids)
            for raw, message_id in zip(mails, ids, strict=True):
                if message_id in seen:
                    result.already += 1
                    continue
                seen.add(message_id)
                self._take(session, raw.data, message_id, result)
        # Only now, with the batch committed, may the server forget these mails are new.
        self.mailbox.mark_taken([raw.uid for raw in mails])

    def _take(self, session: Session, raw: bytes, message_id: str, result: IntakeResult) -> None:
        now = self.clock()
        try:
            mail = parse(raw)
            thread = store.thread_ticket(session, mail.thread_ids)
            decision = route(mail, self.known, thread)
            body = comment_body(mail) if decision.kind == "comment" else ""
            fields = ticket_fields(mail, self.settings) if decision.kind == "ticket" else {}
        except SQLAlchemyError:
            raise
        except Exception as error:  # noqa: BLE001 - a mail intake cannot handle is kept, raw
            reason = (
                str(error)
                if isinstance(error, Unparseable)
                else (f"intake could not handle the mail ({type(error).__name__}: {error})")
            )
            row = store.new_mail(message_id, reason=reason, raw=raw, received=now)
            row.subject = _guess_subject(raw)
            store.record_mail(session, row)
            result.failed += 1
            return
        row = store.new_mail(
            message_id, sender=mail.sender[:255], subject=mail.subject, received=now
        )
        if decision.kind == "skip":
            row.state, row.reason = IntakeState.SKIPPED, decision.reason
            store.record_mail(session, row)
            result.skipped += 1
        elif decision.kind == "comment" and decision.key:
            row.reason = decision.reason
            store.record_comment(session, row, decision.key, body, author=sender_line(mail), at=now)
            result.comments += 1
        else:
            fields["message_id"] = message_id
            placeholder = queue_new_ticket(session, fields, dedupe_label(message_id), at=now)
            row.reason, row.raw = decision.reason, raw
            store.record_new_ticket(session, row, placeholder)
            result.tickets += 1


def _guess_subject(raw: bytes) -> str:
    for line in raw[:8192].decode("utf-8", "replace").splitlines():
        if line.lower().startswith("subject:"):
            return clean_line(line[8:])[:255]
    return ""
