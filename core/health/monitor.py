"""The health monitor: checks every watched environment, records results and states.

`round()` checks each target once, with at most `concurrency` requests at a time, and
re-checks the ones whose state is settling after `retry_seconds` (a failing site is down
only after three failures in a row), so `triage health` prints states it has confirmed.
`watch()` keeps going: each target at its own interval, the first checks spread over the
interval so a hundred sites do not all start at once, a settling one sooner; results are
written in batches from a thread, so the event loop only waits on the network.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from triage.core.config import HealthSettings
from triage.core.health.checks import ClientPool, Finding, Target, check_http, conclude, targets
from triage.core.health.drupal import drupal_findings
from triage.core.health.state import DOWN_AFTER, FAIL, Change, advance, settling
from triage.core.sites.environments import Engines
from triage.core.sites.inventory import Inventory
from triage.storage import health as store
from triage.storage.db import session_scope
from triage.storage.errors import StorageError
from triage.storage.models import HealthResult, SiteHealth, utcnow

Clock = Callable[[], datetime]
ClientFactory = Callable[[], ClientPool]
FLUSH_S = 0.25
"""How often the watcher writes the results that came in."""
PRUNE_EVERY = timedelta(minutes=10)


class HealthMonitor:
    """Checks the watched environments of the inventory and keeps what it finds."""

    def __init__(
        self,
        engine: Engine,
        settings: HealthSettings,
        inventory: Inventory,
        *,
        clock: Clock = utcnow,
        client_factory: ClientFactory | None = None,
        engines: Engines | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.inventory = inventory
        self.clock = clock
        self.client_factory = client_factory or (lambda: ClientPool(settings))
        self.engines = engines
        self.targets = targets(inventory, settings)
        self._positions = {(t.site, t.env): i for i, t in enumerate(self.targets)}
        self._pruned: datetime | None = None
        self.last_error: str | None = None
        """Why the last write to the cache failed, while watching."""

    # -- one check ----------------------------------------------------------------------------

    async def check(self, client: httpx.AsyncClient, target: Target) -> HealthResult:
        """Check one target once: HTTP, TLS, time, and Drupal where the site allows."""
        result, findings = await check_http(client, target, self.clock())
        if target.drupal:
            findings += await asyncio.to_thread(self._drupal, target)
        return conclude(result, findings)

    def _drupal(self, target: Target) -> list[Finding]:
        if self.engines is None:
            self.engines = Engines()
        site = self.inventory.site(target.site)
        return drupal_findings(self.engines, site, target.env, self.clock())

    async def check_all(self, clients: ClientPool, chosen: Sequence[Target]) -> list[HealthResult]:
        """Check each target once, at most `concurrency` at a time; results in target order."""
        bound = asyncio.Semaphore(self.settings.concurrency)

        async def one(target: Target) -> HealthResult:
            async with bound:
                index = self._positions[(target.site, target.env)]
                return await self.check(clients.pick(index), target)

        return list(await asyncio.gather(*(one(t) for t in chosen)))

    # -- keeping what was found ---------------------------------------------------------------

    def record(self, results: Sequence[HealthResult]) -> list[tuple[SiteHealth, Change | None]]:
        """Write results and move each state machine, in one transaction; prune now and then."""
        maintenance = store.in_maintenance(self.engine)
        moved: list[tuple[SiteHealth, Change | None]] = []
        with session_scope(self.engine) as session:
            healths = store.states_for_update(session, ((r.site, r.env) for r in results))
            for result in results:
                where = (result.site, result.env)
                health = healths[where]
                moved.append((health, advance(health, result, maintenance=where in maintenance)))
            store.save_results(session, results)
        now = self.clock()
        if self._pruned is None or now - self._pruned >= PRUNE_EVERY:
            self.prune(now)
        return moved

    def prune(self, now: datetime | None = None) -> int:
        """Drop results older than keep_days, and beyond keep_per_site per environment."""
        now = now or self.clock()
        self._pruned = now
        before = now - timedelta(days=self.settings.keep_days)
        return store.prune(self.engine, before, self.settings.keep_per_site)

    # -- a round, and watching ----------------------------------------------------------------

    async def round(self, *, confirm: bool = True) -> list[SiteHealth]:
        """Check every target; re-check settling ones (up to 3 tries) when `confirm`."""
        latest: dict[tuple[str, str], SiteHealth] = {}
        pending = list(self.targets)
        async with self.client_factory() as clients:
            for attempt in range(DOWN_AFTER):
                results = await self.check_all(clients, pending)
                moved = await asyncio.to_thread(self.record, results)
                for health, _ in moved:
                    latest[(health.site, health.env)] = health
                if not confirm or attempt == DOWN_AFTER - 1:
                    break
                pending = [t for t in pending if settling(latest[(t.site, t.env)])]
                if not pending:
                    break
                await asyncio.sleep(self.settings.retry_seconds)
        return [latest[(t.site, t.env)] for t in self.targets]

    async def watch(
        self,
        stop: asyncio.Event,
        on_changes: Callable[[list[Change]], None] | None = None,
    ) -> int:
        """Check each target at its interval until `stop` is set; how many checks were made."""
        loop = asyncio.get_running_loop()
        start, count = loop.time(), len(self.targets)
        due = [(start + t.interval * i / max(count, 1), i) for i, t in enumerate(self.targets)]
        heapq.heapify(due)
        came: list[HealthResult] = []
        bound = asyncio.Semaphore(self.settings.concurrency)
        running: set[asyncio.Task[None]] = set()
        checks = 0

        async def one(target: Target) -> None:
            async with bound:
                index = self._positions[(target.site, target.env)]
                try:
                    came.append(await self.check(clients.pick(index), target))
                except (OSError, ValueError, RuntimeError) as error:
                    # Whatever went wrong, the site keeps its place in the schedule.
                    failed = HealthResult(site=target.site, env=target.env, url=target.url)
                    conclude(failed, [Finding(FAIL, "http", f"check failed ({error!r:.200})")])
                    came.append(failed)

        async with self.client_factory() as clients:
            try:
                while not stop.is_set():
                    now = loop.time()
                    while due and due[0][0] <= now:
                        _, index = heapq.heappop(due)
                        task = asyncio.create_task(one(self.targets[index]))
                        running.add(task)
                        task.add_done_callback(running.discard)
                    if came:
                        batch, came[:] = list(came), []
                        try:
                            moved = await asyncio.to_thread(self.record, batch)
                        except (SQLAlchemyError, StorageError) as error:
                            # The cache is away for a moment: keep the results for the next try.
                            self.last_error = str(error)
                            came[:0] = batch
                            moved = []
                        checks += len(moved)
                        now = loop.time()
                        for health, _ in moved:
                            index = self._positions[(health.site, health.env)]
                            target = self.targets[index]
                            wait = (
                                self.settings.retry_seconds if settling(health) else target.interval
                            )
                            heapq.heappush(due, (now + wait, index))
                        changes = [change for _, change in moved if change is not None]
                        if changes and on_changes is not None:
                            on_changes(changes)
                    pause = FLUSH_S if running or not due else min(due[0][0] - now, FLUSH_S)
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=max(pause, 0.01))
                    except TimeoutError:
                        pass
            finally:
                for task in list(running):
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
        return checks
