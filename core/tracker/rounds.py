"""One round with Jira, as the TUI's background worker runs it: push what waits, then sync.

Pushing first sends the user's changes out before the sync reads Jira back; a change that
could not go yet keeps its local state through the sync anyway (see `core.sync`). A ticket
whose conflicting change was discarded is fetched again by key, because an incremental
sync would not bring it back: Jira's last update to it is older than the watermark.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from triage.core.config import Settings
from triage.core.tracker.client import Tracker
from triage.core.tracker.ingest import map_issues, store_in
from triage.core.tracker.mapping import BASE_FIELDS, FieldIds, StatusMapper
from triage.core.tracker.push import Pusher, PushResult
from triage.core.tracker.sync import Sync, SyncProgress, SyncResult, _reapply_pending
from triage.storage import queries
from triage.storage.models import utcnow


def push_outbox(
    engine: Engine,
    settings: Settings,
    tracker: Tracker,
    clock: Callable[[], datetime] = utcnow,
) -> PushResult:
    """Send the changes the tracker's account made, waiting in the outbox, to Jira."""
    return Pusher(engine, settings, tracker, clock).run()


def sync_and_push(
    engine: Engine,
    settings: Settings,
    tracker: Tracker,
    full: bool = False,
    *,
    refetch: Sequence[str] = (),
    clock: Callable[[], datetime] = utcnow,
    progress: Callable[[SyncProgress], None] | None = None,
) -> tuple[SyncResult, PushResult]:
    """Push the outbox, sync the cache, then fetch the `refetch` tickets again by key."""
    pushed = push_outbox(engine, settings, tracker, clock)
    synced = Sync(engine, settings, tracker, clock, progress).run(full=full)
    if refetch:
        refetch_tickets(engine, settings, tracker, refetch, clock)
    return synced, pushed


def refetch_tickets(
    engine: Engine,
    settings: Settings,
    tracker: Tracker,
    keys: Sequence[str],
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Write Jira's current state of `keys` into the cache; changes still waiting stay on top.

    Leaves the sync's watermark alone: these issues say nothing about what else changed.
    Returns how many issues Jira had; nothing happens before the first sync.
    """
    raw = queries.get_meta(engine, "field_ids")
    if raw is None or not keys:
        return 0
    values = json.loads(raw)
    values["unresolved"] = tuple(values.get("unresolved", ()))
    ids = FieldIds(**values)
    jql = "key in (" + ", ".join(sorted({key.upper() for key in keys})) + ")"
    wanted = [*BASE_FIELDS, *ids.ids()]
    issues = [issue for page in tracker.search(jql, wanted, "changelog") for issue in page]
    mapped = map_issues(issues, ids, StatusMapper(settings.jira.status_map), clock())
    with engine.begin() as connection:
        store_in(connection, mapped)
        _reapply_pending(connection)
    return len(mapped)
