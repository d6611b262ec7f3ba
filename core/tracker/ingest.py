"""Write Jira issues into the cache: map each, then upsert tickets, comments and moves at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.core.tracker.mapping import FieldIds, MappedIssue, StatusMapper, map_issue
from triage.storage import queries
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
    """Upsert mapped issues, comments and moves inside the caller's transaction."""
    queries.upsert_tickets(connection, [m.ticket for m in mapped])
    queries.upsert_comments(connection, [c for m in mapped for c in m.comments])
    queries.upsert_status_changes(connection, [c for m in mapped for c in m.changes])
    return len(mapped)
