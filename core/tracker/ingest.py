"""Write Jira issues into the cache: map each, then upsert tickets, comments and moves at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.core.tracker.approvals import approvals
from triage.core.tracker.mapping import FieldIds, MappedIssue, StatusMapper, map_issue
from triage.storage import mirror, queries, review
from triage.storage.models import utcnow


def map_issues(
    issues: Iterable[Mapping[str, Any]],
    ids: FieldIds,
    statuses: StatusMapper,
    synced_at: datetime | None = None,
) -> list[MappedIssue]:
    """Map Jira issue JSON to cache rows."""
    at = synced_at or utcnow()
    return [map_issue(issue, ids, statuses, at) for issue in issues]


def store(engine: Engine, mapped: list[MappedIssue]) -> int:
    """Upsert mapped issues, their comments and their moves in one transaction."""
    with engine.begin() as connection:
        return store_in(connection, mapped)


def store_in(connection: sa.Connection, mapped: list[MappedIssue]) -> int:
    """Upsert mapped issues, comments and moves inside the caller's transaction.

    An approval comment (`core.tracker.approvals`) records who approved the ticket's review.
    """
    comments = [c for m in mapped for c in m.comments]
    queries.upsert_tickets(connection, [m.ticket for m in mapped])
    queries.upsert_comments(connection, comments)
    review.set_approved_by(connection, approvals(comments))
    queries.upsert_status_changes(connection, [c for m in mapped for c in m.changes])
    return len(mapped)


class PageWriter:
    """Pages of a sync into the cache as they come: the first alone, then in batches.

    Keeps what the end of the sync needs (every key seen, the newest `updated`, statuses
    that map to no column) but not the issues themselves. Changes still waiting in the
    outbox are put back on top of each batch, so a board reading mid-sync shows them.
    """

    def __init__(
        self,
        engine: Engine,
        ids: FieldIds,
        statuses: StatusMapper,
        synced_at: datetime,
        batch: int,
        stored: Callable[[int], None],
    ) -> None:
        self.engine, self.ids, self.statuses = engine, ids, statuses
        self.synced_at, self.batch, self.stored = synced_at, batch, stored
        self.keys: set[str] = set()
        self.newest: datetime | None = None
        self.unmapped: set[str] = set()
        self.written = 0
        self._waiting: list[MappedIssue] = []

    def add(self, page: Sequence[Mapping[str, Any]]) -> None:
        """Map one page; write it now if it is the first, or when a batch is full."""
        mapped = map_issues(page, self.ids, self.statuses, self.synced_at)
        for raw, issue in zip(page, mapped, strict=True):
            ticket = issue.ticket
            self.keys.add(ticket["key"])
            if ticket["column"] is None:
                self.unmapped.add(ticket["jira_status"])
            # Jira's own stamp only: a missing one maps to the sync time, no watermark.
            if (raw.get("fields") or {}).get("updated"):
                if self.newest is None or ticket["updated"] > self.newest:
                    self.newest = ticket["updated"]
        self._waiting.extend(mapped)
        if self.written == 0 or len(self._waiting) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write what waits, with the outbox's changes on top, in one transaction."""
        if not self._waiting:
            return
        keys = {issue.ticket["key"] for issue in self._waiting}
        with self.engine.begin() as connection:
            store_in(connection, self._waiting)
            mirror.reapply_pending(connection, keys)
        self.written += len(self._waiting)
        self._waiting = []
        self.stored(self.written)
