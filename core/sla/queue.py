"""The SLA queue: open tickets with their clocks, ranked; and "take next".

The queue reads the cache (storage.sla_rows), fills in each ticket's package and severity
(from Jira, else its site's package, else the configured defaults, which the queue then
says it used), runs the clocks on the package's calendar, or takes Jira Service
Management's own breach time where the ticket has one, and ranks by core.sla.ranking.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from triage.core.board.service import Board
from triage.core.config import Settings
from triage.core.errors import NotFound
from triage.core.sla.measure import Policies, build_items
from triage.core.sla.ranking import QueueItem, Ranking, rank
from triage.core.tracker.mapping import StatusMapper
from triage.storage.columns import BoardColumn
from triage.storage.models import utcnow
from triage.storage.queries import CardRow, ticket_count
from triage.storage.sla_rows import QueueInputs, open_queue_inputs

FRESH_EVERY = timedelta(minutes=60)
"""How long a re-rank trusts what it measured before, at most: then it measures everything."""
TAKE_FROM = (BoardColumn.TODO, BoardColumn.NEEDS_WORK)
"""Columns "take next" picks from: work nobody has started or that waits to be picked up."""


@dataclass
class TakeResult:
    """What "take next" did: the ticket taken, and its card as the board now shows it."""

    item: QueueItem
    card: CardRow


class Queue:
    """The ranked SLA queue over the cache, for the TUI and `triage queue` alike.

    The first ranking measures every open ticket's clocks; later ones re-read only the
    tickets changed since (moved, commented, assigned here, or written by a sync) and move
    every running clock on by the open time that passed, so the queue re-ranks in
    milliseconds after each sync.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        site_packages: dict[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        if site_packages is None:
            site_packages = _site_packages(settings)
        self.policies = Policies(settings, site_packages)
        self.mapper = StatusMapper(settings.jira.status_map)
        self._lock = threading.Lock()
        self._items: dict[str, QueueItem] = {}
        self._order: list[QueueItem] = []
        """The items in the order of the last ranking."""
        self._running: dict[str, tuple[QueueItem, str, float]] = {}
        """Running clocks by key: the item, its calendar, and its time left at position 0."""
        self._seen: datetime | None = None
        self._origin = 0.0
        self._positions: dict[str, Callable[[float], float]] = {}
        self._total = 0
        self._fresh_at = datetime.min.replace(tzinfo=UTC)

    def items(self, keys: Sequence[str] | None = None) -> list[QueueItem]:
        """Ranked open tickets (or only these tickets, measured afresh), as of now."""
        if keys is not None:
            inputs = open_queue_inputs(self.engine, self.settings.queue.team, keys)
            return self.rank_inputs(inputs)
        return self.ranking().items

    def rank_inputs(self, inputs: QueueInputs) -> list[QueueItem]:
        """Rank tickets already read from the cache, measuring every clock."""
        items = build_items(inputs, self.policies, self.mapper, self.clock())
        return rank(items, self.settings.queue.at_risk)

    def ranking(self) -> Ranking:
        """The ranked queue with its counts, for the board and the queue screen."""
        with self._lock:
            # Read the clock before the cache: a change made meanwhile is seen next time.
            now = self.clock()
            team = self.settings.queue.team
            total = ticket_count(self.engine)
            # Fewer tickets than before: one left the cache (deleted or moved away in Jira).
            stale = total < self._total or now - self._fresh_at > FRESH_EVERY
            if self._seen is None or stale:
                self._measure(open_queue_inputs(self.engine, team), now, fresh=True)
            else:
                changed = open_queue_inputs(self.engine, team, changed_since=self._seen)
                self._measure(changed, now, fresh=False)
            self._seen, self._total = now, total
            moment = now.timestamp()
            at = {name: position(moment) for name, position in self._positions.items()}
            for item, calendar, base in self._running.values():
                item.left = base - at[calendar]
            # The last order is nearly right: the sort only mends it (Timsort finds the runs).
            items = list(rank(self._order, self.settings.queue.at_risk))
            # Other threads read the items of an earlier ranking: they see each item's latest
            # numbers, and the next ranking message arrives right after.
            return Ranking(items, dict(self._items))

    def _measure(self, inputs: QueueInputs, now: datetime, fresh: bool) -> None:
        """Measure the clocks of these tickets and keep them for later re-ranks."""
        if fresh:
            self._fresh_at = now
            self._order = []
            self._items.clear()
            self._running.clear()
            self._origin = now.timestamp() - 366 * 86400
            self._positions.clear()
        replaced = []
        for row in inputs.rows:
            old = self._items.pop(row.key, None)
            if old is not None:
                replaced.append(old)
            self._running.pop(row.key, None)
        if len(replaced) > 500:
            gone = set(map(id, replaced))
            self._order = [item for item in self._order if id(item) not in gone]
        else:
            for old in replaced:
                self._order.remove(old)  # a scan in C, by identity: cheap for a few
        open_rows = [row for row in inputs.rows if row.column is not BoardColumn.DONE]
        inputs.rows = open_rows
        moment = now.timestamp()
        for item in build_items(inputs, self.policies, self.mapper, now):
            self._items[item.key] = item
            self._order.append(item)
            clock = item.clock
            if clock is None or not clock.running or item.left is None:
                continue
            position = self._position(item)
            self._running[item.key] = (item, item.calendar, item.left + position(moment))

    def _position(self, item: QueueItem) -> Callable[[float], float]:
        """Open seconds of the item's calendar from a fixed origin to a moment (signed)."""
        cached = self._positions.get(item.calendar)
        if cached is not None:
            return cached
        calendar = self.policies.calendar(item.calendar)
        origin = self._origin

        def position(moment: float) -> float:
            if moment >= origin:
                return calendar.open_seconds(origin, moment)
            return -calendar.open_seconds(moment, origin)

        self._positions[item.calendar] = position
        return position

    def explain(self, key: str) -> QueueItem | None:
        """Where a ticket sits in the queue and why; None when it is not open."""
        return self.ranking().by_key.get(key.upper())

    def take_next(self, board: Board) -> TakeResult:
        """Take the top ticket nobody holds: assign it to me and move it to In Progress."""
        for item in self.ranking().items:
            if item.assignee is None and item.column in TAKE_FROM:
                card = board.move(item.key, BoardColumn.IN_PROGRESS)
                if card.assignee is None:
                    card = board.assign_to_me(item.key)
                return TakeResult(item, card)
        raise NotFound("no ticket in To Do or Needs Work is free to take: the queue is all held")


def _site_packages(settings: Settings) -> dict[str, str]:
    """Each site's package from the sites inventory, when there is one."""
    path = settings.resolved_sites_file()
    if not path.exists():
        return {}
    from triage.core.sites.inventory import load_inventory

    inventory = load_inventory(path)
    return {site_id: site.package for site_id, site in inventory.sites.items() if site.package}


def iso(moment: float | None) -> str | None:
    """A UTC timestamp as ISO text, for scripts."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat()
