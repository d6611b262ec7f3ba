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
from triage.core.errors import ConfigError, NotFound
from triage.core.sla.calendar import BusinessCalendar, calendars
from triage.core.sla.clocks import Clock, measure, running_spans
from triage.core.sla.policy import ALWAYS, PackagePolicy, Targets, parse_duration, problem
from triage.core.sla.ranking import QueueItem, Ranking, next_clock, rank
from triage.core.tracker.mapping import StatusMapper
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.models import utcnow
from triage.storage.queries import CardRow, ticket_count
from triage.storage.sla_rows import QueueInputs, QueueRow, open_queue_inputs

FRESH_EVERY = timedelta(minutes=60)
"""How long a re-rank trusts what it measured before, at most: then it measures everything."""
JIRA_SLA = "Jira SLA"
"""The calendar an item names when Jira Service Management's own clock decides its due time."""
TAKE_FROM = (BoardColumn.TODO, BoardColumn.NEEDS_WORK)
"""Columns "take next" picks from: work nobody has started or that waits to be picked up."""


class CompiledPolicy:
    """A package's targets in open seconds of its calendar."""

    def __init__(self, name: str, policy: PackagePolicy, calendar: BusinessCalendar) -> None:
        self.name = name
        self.weight = policy.weight
        self.calendar = calendar
        day = calendar.day_seconds
        self.base = (self._seconds(policy.response, day), self._seconds(policy.resolution, day))
        self.types = {
            kind.casefold(): (self._seconds(t.response, day), self._seconds(t.resolution, day))
            for kind, t in policy.types.items()
        }

    @staticmethod
    def _seconds(targets: Targets, day: float) -> dict[str, float]:
        result = {}
        for severity, value in targets.items():
            days, seconds = parse_duration(value)
            result[severity.casefold()] = days * day + seconds
        return result

    def targets(self, issue_type: str, severity: str) -> tuple[float | None, float | None]:
        """Seconds allowed to first response and to resolution; None where none is set."""
        own = self.types.get(issue_type.casefold())
        found: list[float | None] = []
        for index in (0, 1):
            value = own[index].get(severity) if own else None
            found.append(value if value is not None else self.base[index].get(severity))
        return found[0], found[1]


class Policies:
    """Every package's policy compiled, and how a ticket's package and severity are chosen."""

    def __init__(self, settings: Settings, site_packages: dict[str, str] | None = None) -> None:
        mistake = problem(settings.sla, settings.queue)
        if mistake:
            raise ConfigError(f"the SLA settings are wrong: {mistake}")
        self.queue = settings.queue
        named = self.calendars = calendars(settings.queue.calendars)
        self.packages = {
            name: CompiledPolicy(name, policy, named[policy.calendar])
            for name, policy in settings.sla.items()
        }
        self.severities = {s.casefold(): s for s in settings.queue.severities}
        self.site_packages = site_packages or {}
        for site, package in self.site_packages.items():
            if package and package not in self.packages:
                raise ConfigError(
                    f"site {site} in the sites inventory: key 'package' names {package!r}, "
                    f"which has no SLA policy: add [sla.{package}] to the config or fix the site"
                )

    def calendar(self, name: str) -> BusinessCalendar:
        """A calendar by name; Jira's own SLAs (and anything unknown) run on wall-clock time."""
        return self.calendars.get(name) or self.calendars[ALWAYS]

    def package(self, named: str | None, site: str | None) -> tuple[CompiledPolicy, bool]:
        """The ticket's package: Jira's field, else its site's, else the default (True)."""
        found = named if named in self.packages else self.site_packages.get(site or "")
        if found:
            return self.packages[found], False
        return self.packages[self.queue.default_package], True

    def severity(self, severity: str) -> tuple[str, bool]:
        """The ticket's severity as the policies name it, else the default (True)."""
        known = self.severities.get(severity.casefold())
        if known:
            return known, False
        return self.queue.default_severity, True


def build_items(
    inputs: QueueInputs, policies: Policies, mapper: StatusMapper, now: datetime
) -> list[QueueItem]:
    """Each ticket with its clocks, not yet ranked."""
    moment = now.timestamp()
    columns: dict[str, BoardColumn | None] = {}
    items = []
    for row in inputs.rows:
        policy, package_default = policies.package(row.package, row.site)
        severity, severity_default = policies.severity(row.severity)
        moves = []
        for at, status in inputs.moves.get(row.key, ()):
            if status not in columns:
                columns[status] = mapper.column(status)
            moves.append((at.timestamp(), columns[status]))
        calendar = policy.calendar.name
        if row.service_desk_sla:
            clocks = _service_desk_clocks(row.service_desk_sla, moment)
            calendar = JIRA_SLA
        else:
            clocks = _clocks(row, policy, severity, moves, inputs, moment)
        first, other = next_clock(clocks)
        defaults = ("package",) * package_default + ("severity",) * severity_default
        items.append(
            QueueItem(
                key=row.key,
                summary=row.summary,
                issue_type=row.issue_type,
                severity=severity,
                severity_rank=row.severity_rank,
                urgency=row.urgency,
                package=policy.name,
                weight=policy.weight,
                assignee=row.assignee,
                column=row.column,
                created=row.created,
                calendar=calendar,
                labels=tuple(row.labels or ()),
                defaults=defaults,
                clock=first,
                other=other,
            )
        )
    return items


def _clocks(
    row: QueueRow,
    policy: CompiledPolicy,
    severity: str,
    moves: list[tuple[float, BoardColumn | None]],
    inputs: QueueInputs,
    now: float,
) -> list[Clock]:
    response, resolution = policy.targets(row.issue_type, severity.casefold())
    if response is None and resolution is None:
        return []
    spans = running_spans(row.created.timestamp(), moves, row.column)
    clocks = []
    if response is not None:
        answered = inputs.responses.get(row.key)
        stops = [at for at, column in moves if column is BoardColumn.DONE]
        if answered is not None:
            stops.append(answered.timestamp())
        stop = min(stops) if stops else None
        clocks.append(measure("response", policy.calendar, spans, response, now, stop))
    if resolution is not None:
        clocks.append(measure("resolution", policy.calendar, spans, resolution, now))
    return clocks


def _service_desk_clocks(cycles: list[dict[str, object]], now: float) -> list[Clock]:
    """Clocks as Jira Service Management states them: its breach time, not ours."""
    clocks = []
    for cycle in cycles:
        due_text = cycle.get("due")
        due = datetime.fromisoformat(str(due_text)).timestamp() if due_text else None
        goal = cycle.get("goal")
        elapsed = cycle.get("elapsed")
        if isinstance(goal, float | int) and isinstance(elapsed, float | int):
            target, used = float(goal), float(elapsed)
        elif due is not None:
            target, used = 1.0, 1.0 - (due - now)
        else:
            continue
        if cycle.get("breached"):
            used = max(used, target + 1.0)
        name = str(cycle.get("name") or "")
        kind = "response" if "response" in name.casefold() else "resolution"
        running = not cycle.get("paused") and not cycle.get("met")
        clocks.append(Clock(kind, target, used, running, bool(cycle.get("met")), due))
    return clocks


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
            items = rank(list(self._items.values()), self.settings.queue.at_risk)
            # Other threads read the items of an earlier ranking: they see each item's latest
            # numbers, and the next ranking message arrives right after.
            return Ranking(items, dict(self._items))

    def _measure(self, inputs: QueueInputs, now: datetime, fresh: bool) -> None:
        """Measure the clocks of these tickets and keep them for later re-ranks."""
        if fresh:
            self._fresh_at = now
            self._items.clear()
            self._running.clear()
            self._origin = now.timestamp() - 366 * 86400
            self._positions.clear()
        for row in inputs.rows:
            self._items.pop(row.key, None)
            self._running.pop(row.key, None)
        open_rows = [row for row in inputs.rows if row.column is not BoardColumn.DONE]
        inputs.rows = open_rows
        moment = now.timestamp()
        for item in build_items(inputs, self.policies, self.mapper, now):
            self._items[item.key] = item
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

    try:
        inventory = load_inventory(path)
    except TriageError:
        raise
    return {site_id: site.package for site_id, site in inventory.sites.items() if site.package}


def iso(moment: float | None) -> str | None:
    """A UTC timestamp as ISO text, for scripts."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat()
