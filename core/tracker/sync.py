"""Sync in: make the cache a faithful mirror of Jira, fast and incrementally.

The first sync (or `--full`) learns who we are and which custom fields to read, then
fetches every issue of the configured projects or JQL. Later syncs ask only for issues
updated since a watermark taken from Jira's own `updated` values, written in the account's
time zone (Jira reads JQL dates in it) and moved back by an overlap; duplicates are
harmless upserts. A scan of keys alone finds issues deleted or moved away (a full sync
knows them from what it fetched). Local changes still waiting in the outbox keep their local
state over what the sync brings, and keep their ticket when it leaves the synced set.

Requests that do not depend on each other go out side by side (who am I, the field list,
the flavour, a Cloud id scan), and pages stream into the cache: the first page is committed
on its own so the board can show it, then batches; nothing holds every issue at once. The
watermark, the deletions and the sync time are written only at the end, in one transaction,
so a sync cut short leaves a consistent cache that the next sync completes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.core.config import Settings
from triage.core.errors import ConfigError
from triage.core.tracker import identity
from triage.core.tracker.client import JiraTracker, Tracker
from triage.core.tracker.ingest import PageWriter
from triage.core.tracker.mapping import BASE_FIELDS, FieldIds, StatusMapper, resolve_fields
from triage.core.tracker.pages import IssuePage
from triage.storage import mirror, queries
from triage.storage.errors import TriageError
from triage.storage.models import utcnow

OVERLAP = timedelta(minutes=2)
"""How far before the watermark an incremental sync starts: Jira compares minutes."""

BATCH = 1000
"""Issues written per transaction after the first page (which is written alone)."""

NEWEST_FIRST = " ORDER BY updated DESC, key ASC"
"""A full sync's order: what the board shows first comes first."""

FEW_DELETIONS = 5
"""A sync may always delete this many tickets, whatever `sync.max_delete_share` says."""


class DeletionRefused(TriageError):
    """A sync would delete more of the cache than `sync.max_delete_share` allows."""


@dataclass
class SyncProgress:
    """Where a running sync stands, for a progress line."""

    pages: int = 0
    fetched: int = 0
    stored: int = 0
    """Issues committed to the cache so far: the board can show them."""
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
    held: int = 0
    """Tickets gone from the search but kept, because a change to them still waits."""

    def summary(self) -> str:
        """One line for the end of `triage sync` and the status area."""
        kind = "full sync" if self.full else "sync"
        rate = self.fetched / self.seconds if self.seconds > 0 else 0.0
        line = (
            f"{kind}: {self.fetched:,} issues in {self.pages} pages, {self.deleted} deleted, "
            f"{self.calls} API calls, {self.seconds:.1f} s ({rate:,.0f} issues/s)"
        )
        if self.held:
            line += (
                f"; {self.held} kept: no longer in the synced set with changes waiting "
                "(see `triage ls`)"
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

    def run(
        self, full: bool = False, scan_deleted: bool | None = None, allow_deletes: bool = False
    ) -> SyncResult:
        """Sync now: everything when `full` or never synced, else what changed.

        `allow_deletes` lets through a deletion larger than `sync.max_delete_share`.
        """
        started, calls = time.perf_counter(), self._calls()
        watermark = self._meta_time("sync_watermark")
        full = full or watermark is None
        base = base_jql(self.settings)
        now = self.clock()
        progress = SyncProgress()
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="sync") as pool:
            cloud_ids = pool.submit(self._cloud_ids, base) if full else None
            if scan_deleted is None:
                scan_deleted = full or self._scan_due()
            scan = pool.submit(self.tracker.keys, base) if scan_deleted and not full else None
            if full or self._meta("field_ids") is None:
                self._learn_profile(pool)
            ids = self._field_ids()

            def stored(count: int) -> None:
                progress.stored = count
                self.progress(progress)

            writer = PageWriter(self.engine, ids, self.statuses, now, BATCH, stored)
            wanted = [*BASE_FIELDS, *ids.ids()]
            total: int | None = None
            for page in self._pages(base, wanted, watermark if not full else None, cloud_ids):
                if progress.pages == 0 and isinstance(page, IssuePage):
                    total = page.total
                progress.pages += 1
                progress.fetched += len(page)
                self.progress(progress)
                writer.add(page)
            writer.flush()
            # What the search just brought counts as present even if the scan ran before it.
            present: Collection[str] | None = {*scan.result(), *writer.keys} if scan else None
            if full and scan_deleted and (total is None or total == len(writer.keys)):
                present = writer.keys  # complete: no page shifted while the sync paged
        deleted, held = self._finish(writer, present, now, allow_deletes)
        return SyncResult(
            full=full,
            pages=progress.pages,
            fetched=progress.fetched,
            deleted=deleted,
            calls=self._calls() - calls,
            seconds=time.perf_counter() - started,
            unmapped=sorted(writer.unmapped),
            held=held,
        )

    def _cloud_ids(self, base: str) -> list[str] | None:
        """Every id a full Cloud sync will bulk-fetch; None on Data Center."""
        tracker = self.tracker
        if isinstance(tracker, JiraTracker) and tracker.flavour == "cloud":
            return tracker.ids(base + NEWEST_FIRST)
        return None

    def _pages(
        self,
        base: str,
        wanted: Sequence[str],
        watermark: datetime | None,
        cloud_ids: Future[list[str] | None] | None,
    ) -> Iterable[list[dict[str, Any]]]:
        if watermark is not None:
            zone = self._meta("account_time_zone") or "UTC"
            return self.tracker.search(jql_since(base, watermark, zone), wanted, "changelog")
        found = cloud_ids.result() if cloud_ids is not None else None
        if found is not None and isinstance(self.tracker, JiraTracker):
            # Cloud pages by token, one after another: bulk-fetch the ids side by side.
            return self.tracker.bulk_fetch(found, wanted, "changelog")
        # Newest first: the board shows the first page while the rest comes.
        return self.tracker.search(base + NEWEST_FIRST, wanted, "changelog")

    def _learn_profile(self, pool: ThreadPoolExecutor) -> None:
        """Who we are, in which time zone, and where the custom fields live: asked at once."""
        myself, fields = pool.submit(self.tracker.myself), pool.submit(self.tracker.fields)
        flavour = self.tracker.flavour
        me = myself.result()
        identity.remember(self.engine, self.settings, me)
        resolved = resolve_fields(fields.result(), self.settings.jira.fields)
        with self.engine.begin() as connection:
            queries.set_meta(connection, "account_time_zone", str(me.get("timeZone") or "UTC"))
            queries.set_meta(connection, "jira_flavour", flavour)
            queries.set_meta(connection, "field_ids", json.dumps(resolved.__dict__))

    def _finish(
        self, writer: PageWriter, present: Collection[str] | None, now: datetime, allow: bool
    ) -> tuple[int, int]:
        """Deletions, held tickets, the watermark and the sync time, in one transaction."""
        deleted = held = 0
        with self.engine.begin() as connection:
            if present is not None:
                keys = present if isinstance(present, set) else set(present)
                gone = mirror.vanished(connection, keys, self._mirrored_projects())
                if not allow:
                    self._check_share(len(gone.deleted), gone.cached)
                mirror.delete_tickets(connection, gone.deleted)
                mirror.mark_held(connection, gone.held, keys)
                deleted, held = len(gone.deleted), len(gone.held)
                queries.set_meta(connection, "deleted_scan_at", now.isoformat())
            mirror.reapply_pending(connection)
            old = self._meta_time("sync_watermark")
            if writer.newest is not None and (old is None or writer.newest > old):
                queries.set_meta(connection, "sync_watermark", writer.newest.isoformat())
            queries.set_meta(connection, "synced_at", now.isoformat())
            if self._meta("workspace") != "demo":
                # A demo cache is only ever synced with its own sandbox (see core.demo_run).
                queries.set_meta(connection, "workspace", "jira")
        return deleted, held

    def _check_share(self, deleting: int, cached: int) -> None:
        share = self.settings.sync.max_delete_share
        if deleting <= FEW_DELETIONS or deleting <= share * cached:
            return
        raise DeletionRefused(
            f"the sync would delete {deleting} of the {cached} cached tickets "
            f"({deleting / cached:.0%}), more than sync.max_delete_share = {share:g} allows, "
            "so it stopped and deleted nothing: check jira.url, jira.projects or jira.jql and "
            "your permissions; if Jira is right, run `triage sync --full --allow-deletes`"
        )

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

    def _mirrored_projects(self) -> list[str] | None:
        return None if self.settings.jira.jql else list(self.settings.jira.projects)


def _reapply_pending(connection: sa.Connection) -> None:
    """Changes not yet in Jira win over what the sync just wrote (for `core.workspace`)."""
    mirror.reapply_pending(connection)
