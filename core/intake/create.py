"""New tickets through the outbox: a `create_issue` change, queued, then pushed exactly once.

Queued, the ticket is known as `new:…`; the change carries its fields and a dedupe label.
Pushed, Jira is first searched for that label, so a replay after a crash adopts the issue
it made instead of making a second; the mail's attachments missing from the issue are
attached; then every row that still says `new:…` gets the real key, and the cache gets the
ticket so the board shows it before the next sync.

This is intake's own minimal create-issue op (payload: project, issuetype, summary,
description, priority, labels, plus client, site and the mail's Message-ID), kept apart so
it can be merged with the generic one.
"""

from __future__ import annotations

import collections
import hashlib
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.config import Settings
from triage.core.intake.mail import Unparseable, parse
from triage.core.tracker.client import NewIssue
from triage.core.tracker.mapping import FieldIds, resolve_fields
from triage.storage import intake as store
from triage.storage.columns import BoardColumn
from triage.storage.db import session_scope
from triage.storage.models import OutboxEntry, Ticket, utcnow

Json = dict[str, Any]


class IssueWriter(Protocol):
    """What creating an issue needs of the tracker."""

    def keys(self, jql: str) -> list[str]: ...
    def fields(self) -> list[Json]: ...
    def issue(self, key: str, fields: list[str]) -> Json: ...
    def create_issue(self, issue: NewIssue) -> Json: ...
    def add_attachment(self, key: str, filename: str, data: bytes, content_type: str) -> Json: ...


def placeholder_for(dedupe_label: str) -> str:
    """The key a new ticket has until Jira gives it one (fits the 32 characters of a key)."""
    return store.PLACEHOLDER + hashlib.sha256(dedupe_label.encode()).hexdigest()[:24]


def queue_new_ticket(
    session: Session, fields: dict[str, Any], dedupe_label: str, *, at: datetime | None = None
) -> str:
    """Queue the creation of a ticket with `fields`, at most once per label; its placeholder."""
    placeholder = placeholder_for(dedupe_label)
    labels = [str(label) for label in fields.get("labels") or []]
    payload = {
        **fields,
        "labels": [*labels, dedupe_label] if dedupe_label not in labels else labels,
        "dedupe_label": dedupe_label,
    }
    store.queue_create_issue(session, placeholder, payload, at or utcnow())
    return placeholder


class IssueCreator:
    """Pushes `create_issue` changes; custom field ids are resolved once per push."""

    def __init__(self, engine: Engine, settings: Settings, tracker: IssueWriter) -> None:
        self.engine = engine
        self.settings = settings
        self.tracker = tracker
        self._ids: FieldIds | None = None

    def push(self, entry: OutboxEntry) -> str:
        """Create the issue unless Jira has it already; its key."""
        payload = entry.payload
        project = str(payload["project"])
        label = str(payload["dedupe_label"])
        found = self.tracker.keys(f'project = "{project}" AND labels = "{label}" ORDER BY key')
        key = found[0] if found else str(self.tracker.create_issue(self._issue(payload))["key"])
        self._attach(key, payload)
        self._record(entry.ticket_key, key, payload)
        return key

    def _issue(self, payload: Json) -> NewIssue:
        if self._ids is None:
            self._ids = resolve_fields(self.tracker.fields(), self.settings.jira.fields)
        labels = [str(label) for label in payload.get("labels") or []]
        extra: Json = {}
        if payload.get("client") and self._ids.client:
            extra[self._ids.client] = {"value": payload["client"]}
        if payload.get("site"):
            if self._ids.site:
                extra[self._ids.site] = payload["site"]
            else:
                labels.append(f"site:{payload['site']}")
        return NewIssue(
            project=str(payload["project"]),
            issue_type=str(payload["issuetype"]),
            summary=str(payload["summary"]),
            description=str(payload.get("description") or ""),
            priority=str(payload.get("priority") or ""),
            labels=tuple(labels),
            extra=tuple(extra.items()),
        )

    def _attach(self, key: str, payload: Json) -> None:
        message_id = payload.get("message_id")
        if not message_id:
            return
        with Session(self.engine) as session:
            raw = store.raw_mail(session, str(message_id))
        try:
            attachments = parse(raw).attachments if raw else []
        except Unparseable:
            attachments = []
        if not attachments:
            return
        fields = self.tracker.issue(key, ["attachment"]).get("fields") or {}
        present = fields.get("attachment") or []
        have = collections.Counter(str(a.get("filename")) for a in present)
        for attachment in attachments:
            if have[attachment.filename] > 0:
                have[attachment.filename] -= 1  # attached by a push that died after it
                continue
            self.tracker.add_attachment(
                key, attachment.filename, attachment.data, attachment.content_type
            )

    def _record(self, placeholder: str, key: str, payload: Json) -> None:
        with session_scope(self.engine) as session:
            store.rename_ticket(session, placeholder, key)
            if session.get(Ticket, key) is None:
                session.add(
                    Ticket(
                        key=key,
                        project=str(payload["project"]),
                        summary=str(payload["summary"]),
                        description=str(payload.get("description") or ""),
                        issue_type=str(payload["issuetype"]),
                        severity=str(payload.get("priority") or ""),
                        labels=[str(label) for label in payload.get("labels") or []],
                        client=payload.get("client"),
                        site=payload.get("site"),
                        column=BoardColumn.TODO,
                    )
                )
