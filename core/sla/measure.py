"""Each open ticket measured: its package and severity chosen, its SLA clocks run.

A ticket's package is Jira's field, else its site's package, else the configured default;
its severity is its own when the policies know it, else the default; the queue says which
defaults it used. Where Jira Service Management keeps the ticket's SLA, its breach time
is taken instead of ours.
"""

from __future__ import annotations

from datetime import datetime

from triage.core.config import Settings
from triage.core.errors import ConfigError
from triage.core.sla.calendar import BusinessCalendar, calendars
from triage.core.sla.clocks import Clock, measure, running_spans
from triage.core.sla.policy import ALWAYS, PackagePolicy, Targets, parse_duration, problem
from triage.core.sla.ranking import QueueItem, next_clock
from triage.core.tracker.mapping import StatusMapper
from triage.storage.columns import BoardColumn
from triage.storage.sla_rows import QueueInputs, QueueRow

JIRA_SLA = "Jira SLA"
"""The calendar an item names when Jira Service Management's own clock decides its due time."""


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
