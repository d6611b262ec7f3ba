"""Sync in: make the cache a faithful mirror of Jira, fast and incrementally.

The first sync (or `--full`) learns who we are and which custom fields to read, then
fetches every issue of the configured projects or JQL. Later syncs ask only for issues
updated since a watermark taken from Jira's own `updated` values, written in the account's
time zone (Jira reads JQL dates in it) and moved back by an overlap; duplicates are
harmless upserts. A scan of keys alone finds issues deleted or moved away. Local changes
still waiting in the outbox keep their local state over what the sync brings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.core.config import Settings
from triage.core.errors import ConfigError
from triage.core.tracker.client import JiraTracker, Tracker
from triage.core.tracker.ingest import map_issues, store_in
from triage.core.tracker.mapping import (
    BASE_FIELDS,
    FieldIds,
    StatusMapper,
    parse_time,
    resolve_fields,
)
from triage.storage import queries
from triage.storage.columns import BoardColumn
from triage.storage.models import (
    Comment,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    StatusChange,
    Ticket,
    table_of,
    utcnow,
)

OVERLAP = timedelta(minutes=2)
"""How far before the watermark an incremental sync starts: Jira compares minutes."""

BULK_THRESHOLD = 500
"""A full Cloud sync of more issues than this fetches ids, then issues in parallel bulk."""


@dataclass
class SyncProgress:
    """Where a running sync stands, for a progress line."""

    pages: int = 0
    fetched: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def rate(self) -> float:
        """Issues fetched per second so far."""
        elapsed = time.perf_counter() - self.started
        return self.fetched / elapsed if elapsed > 0 else 0.0


@dataclass
class SyncResult:
    """What one sync did."""

    full: bool
    pages: int
    fetched: int
    deleted: int
    calls: int
    seconds: float
    unmapped: list[str]

    def summary(self) -> str:
        """One line for the end of `triage sync` and the status area."""
        kind = "full sync" if self.full else "sync"
        rate = self.fetched / self.seconds if self.seconds > 0 else 0.0
        line = (
            f"{kind}: {self.fetched:,} issues in {self.pages} pages, {self.deleted} deleted, "
            f"{self.calls} API calls, {self.seconds:.1f} s ({rate:,.0f} issues/s)"
        )
        if self.unmapped:
            line += f"; unmapped statuses: {', '.join(self.unmapped)} (see `triage doctor`)"
        return line


def base_jql(settings: Settings) -> str:
    """The JQL that names everything the cache mirrors."""
    if settings.jira.jql:
        return settings.jira.jql
    if settings.jira.projects:
        return "project in (" + ", ".join(settings.jira.projects) + ")"
    raise ConfigError(
        'the config names no Jira projects: set jira.projects (e.g. ["SUP"]) or jira.jql'
    )


def jql_since(base: str, watermark: datetime, zone: str) -> str:
    """`base` restricted to issues updated since the watermark, in the account's zone."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    since = (watermark - OVERLAP).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return f'({base}) AND updated >= "{since}" ORDER BY updated ASC'


class Sync:
    """One cache, one Jira: full and incremental syncs."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        tracker: Tracker,
        clock: Callable[[], datetime] = utcnow,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.tracker = tracker
        self.clock = clock
        self.progress = progress or (lambda _: None)
        self.statuses = StatusMapper(settings.jira.status_map)

    def _calls(self) -> int:
        return int(getattr(self.tracker, "calls", 0))

    def run(self, full: bool = False, scan_deleted: bool | None = None) -> SyncResult:
        """Sync now: everything when `full` or never synced, else what changed."""
        started, calls = time.perf_counter(), self._calls()
        watermark = self._meta_time("sync_watermark")
        full = full or watermark is None
        if full or self._meta("field_ids") is None:
            self._learn_profile()
        ids = self._field_ids()
        wanted = [*BASE_FIELDS, *ids.ids()]
        base = base_jql(self.settings)
        progress = SyncProgress()
        issues: list[dict[str, Any]] = []
        for page in self._pages(base, wanted, full, watermark):
            issues.extend(page)
            progress.pages += 1
            progress.fetched += len(page)
            self.progress(progress)
        if scan_deleted is None:
            scan_deleted = full or self._scan_due()
        keys = self.tracker.keys(base) if scan_deleted else None
        deleted = self._store(issues, ids, keys)
        return SyncResult(
            full=full,
            pages=progress.pages,
            fetched=progress.fetched,
            deleted=deleted,
            calls=self._calls() - calls,
            seconds=time.perf_counter() - started,
            unmapped=sorted(
                {
                    i["fields"]["status"]["name"]
                    for i in issues
                    if self.statuses.column(i["fields"]["status"]["name"]) is None
                }
            ),
        )

    def _pages(
        self, base: str, wanted: Sequence[str], full: bool, watermark: datetime | None
    ) -> Any:
        if not full and watermark is not None:
            zone = self._meta("account_time_zone") or "UTC"
            return self.tracker.search(jql_since(base, watermark, zone), wanted, "changelog")
        tracker = self.tracker
        if isinstance(tracker, JiraTracker) and tracker.flavour == "cloud":
            ids = tracker.ids(base)
            if len(ids) > BULK_THRESHOLD:
                return tracker.bulk_fetch(ids, wanted, "changelog")
            if not ids:
                return iter(())
        return self.tracker.search(base + " ORDER BY key ASC", wanted, "changelog")

    def _learn_profile(self) -> None:
        """Who we are, in which time zone, and where the custom fields live."""
        me = self.tracker.myself()
        resolved = resolve_fields(self.tracker.fields(), self.settings.jira.fields)
        with self.engine.begin() as connection:
            queries.set_meta(connection, "me_name", str(me.get("displayName") or ""))
            account = me.get("accountId") or me.get("name") or ""
            queries.set_meta(connection, "me_id", str(account))
            queries.set_meta(connection, "account_time_zone", str(me.get("timeZone") or "UTC"))
            queries.set_meta(connection, "jira_flavour", self.tracker.flavour)
            queries.set_meta(connection, "field_ids", json.dumps(resolved.__dict__))

    def _field_ids(self) -> FieldIds:
        raw = json.loads(self._meta("field_ids") or "{}")
        raw["unresolved"] = tuple(raw.get("unresolved", ()))
        return FieldIds(**raw)

    def _meta(self, key: str) -> str | None:
        return queries.get_meta(self.engine, key)

    def _meta_time(self, key: str) -> datetime | None:
        value = self._meta(key)
        return datetime.fromisoformat(value) if value else None

    def _scan_due(self) -> bool:
        last = self._meta_time("deleted_scan_at")
        interval = timedelta(minutes=self.settings.jira.deleted_scan_minutes)
        return last is None or self.clock() - last >= interval

    def _store(self, issues: list[dict[str, Any]], ids: FieldIds, keys: list[str] | None) -> int:
        """Write the fetched issues, drop deleted ones, keep pending local changes, in one go."""
        now = self.clock()
        mapped = map_issues(issues, ids, self.statuses, now)
        newest = max((parse_time(i["fields"]["updated"]) for i in issues), default=None)
        deleted = 0
        with self.engine.begin() as connection:
            store_in(connection, mapped)
            if keys is not None:
                deleted = _delete_missing(connection, set(keys), self._mirrored_projects())
                queries.set_meta(connection, "deleted_scan_at", now.isoformat())
            _reapply_pending(connection)
            old = self._meta_time("sync_watermark")
            if newest is not None and (old is None or newest > old):
                queries.set_meta(connection, "sync_watermark", newest.isoformat())
            queries.set_meta(connection, "synced_at", now.isoformat())
            queries.set_meta(connection, "workspace", "jira")
        return deleted

    def _mirrored_projects(self) -> list[str] | None:
        return None if self.settings.jira.jql else list(self.settings.jira.projects)


def _delete_missing(
    connection: sa.Connection, present: set[str], projects: list[str] | None
) -> int:
    """Remove cached tickets Jira no longer has; their waiting changes fail with a reason."""
    ticket = table_of(Ticket)
    # A ticket without a Jira id is a local one waiting to be created: never "gone".
    query = sa.select(ticket.c.key).where(ticket.c.jira_id != "")
    if projects is not None:
        query = query.where(ticket.c.project.in_(projects))
    gone = [key for (key,) in connection.execute(query) if key not in present]
    if not gone:
        return 0
    for model in (Comment, StatusChange):
        table = table_of(model)
        connection.execute(sa.delete(table).where(table.c.ticket_key.in_(gone)))
    outbox = table_of(OutboxEntry)
    connection.execute(
        sa.update(outbox)
        .where(outbox.c.ticket_key.in_(gone), outbox.c.state == OutboxState.PENDING)
        .values(state=OutboxState.FAILED, last_error="the issue no longer exists in Jira")
    )
    connection.execute(sa.delete(ticket).where(ticket.c.key.in_(gone)))
    return len(gone)


def _reapply_pending(connection: sa.Connection) -> None:
    """Changes not yet in Jira win over what the sync just wrote."""
    outbox = table_of(OutboxEntry)
    ticket = table_of(Ticket)
    rows = connection.execute(
        sa.select(outbox.c.ticket_key, outbox.c.kind, outbox.c.payload)
        .where(outbox.c.state.in_([OutboxState.PENDING, OutboxState.CONFLICT]))
        .order_by(outbox.c.id)
    )
    for key, kind, payload in rows:
        if kind == OutboxKind.MOVE:
            column = BoardColumn(payload["to"])
            values: dict[str, Any] = {"column": column, "jira_status": payload["to"]}
        elif kind == OutboxKind.ASSIGN:
            values = {"assignee": payload["assignee"], "assignee_id": payload["account_id"]}
        else:
            continue
        connection.execute(sa.update(ticket).where(ticket.c.key == key).values(values))
