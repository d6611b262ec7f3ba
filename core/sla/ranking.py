"""The queue's rule: which open ticket comes first, and a sentence saying why.

1. Breached tickets first, the longest overdue on top.
2. Then site-down incidents (issue type Incident at severity 1-2, or labelled outage or
   site-down) and critical security work (a security type or label at severity 1).
3. Then the least time left before the next breach, in open time of the client's calendar.
4. Tickets whose clocks are paused (waiting in Feedback/Impediment) come after those whose
   clocks run, and tickets without any SLA target last.
5. Ties: severity, then urgency, then package weight (higher first), then age (older first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from triage.core.sla.clocks import Clock
from triage.storage.columns import BoardColumn

URGENCY_RANK = {"critical": 1, "highest": 1, "high": 2, "medium": 3, "low": 4, "lowest": 5}
SITE_DOWN_LABELS = frozenset({"outage", "site-down"})
TIERS = ("breached", "site down or critical security", "time left", "paused", "no SLA target")
INF = float("inf")


@dataclass(slots=True, eq=False)
class QueueItem:
    """One open ticket with its SLA clocks and what the queue made of it."""

    key: str
    summary: str
    issue_type: str
    severity: str
    severity_rank: int
    urgency: str | None
    package: str
    weight: int
    assignee: str | None
    column: BoardColumn | None
    created: datetime
    calendar: str
    labels: tuple[str, ...] = ()
    defaults: tuple[str, ...] = ()
    """Facts the ticket lacked and the configured default filled in: "package", "severity"."""
    clock: Clock | None = None
    """The clock that breaches next (or breached), of response and resolution, as measured."""
    other: Clock | None = None
    """The other clock, if the package sets one."""
    left: float | None = None
    """Open seconds left on the next clock now (negative once breached); None without one."""
    tier: int = 0
    rank: int = 0
    """Place in the queue, from 1."""
    state: str = "none"
    """One of "breached", "risk" (little time left), "ok", "paused", "none" (no SLA target)."""
    special: str | None = None
    """"site-down incident" or "critical security" when the ticket is one."""
    paused: bool = False
    """The next clock stands still (waiting in Feedback/Impediment)."""
    target: float = 0.0
    """Open seconds the next clock allows."""
    lane: int = 2
    """Its tier while time is left and the clock runs: 1 site down or critical security."""
    ties: tuple[object, ...] = field(default=(), repr=False)
    """Severity, urgency, package weight and age, as they order equal time left."""
    sort_key: tuple[object, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        clock = self.clock
        if self.left is None and clock is not None:
            self.left = clock.left
        if clock is None:
            self.left = None
        self.special = urgent(self)
        self.paused = clock is not None and not clock.running
        self.target = clock.target if clock is not None else 0.0
        self.lane = 2 if self.special is None else 1
        urgency = URGENCY_RANK.get((self.urgency or "").casefold(), 6)
        self.ties = (self.severity_rank, urgency, -self.weight, self.created, self.key)

    @property
    def due(self) -> float | None:
        """UTC timestamp of the next breach (or of the breach); None when paused or none."""
        return None if self.clock is None else self.clock.due

    @property
    def why(self) -> str:
        """Why the item sits where it does, in one line."""
        return explain(self)


def next_clock(clocks: list[Clock]) -> tuple[Clock | None, Clock | None]:
    """Of the open (unmet) clocks, the one with least time left, and the other clock."""
    open_clocks = [c for c in clocks if not c.met]
    if not open_clocks:
        return None, None
    first = min(open_clocks, key=lambda c: c.left)
    others = [c for c in clocks if c is not first]
    return first, others[0] if others else None


def urgent(item: QueueItem) -> str | None:
    """ "site-down incident" or "critical security" when the ticket is one, else None."""
    kind = item.issue_type.casefold()
    labels = {label.casefold() for label in item.labels}
    if (kind == "incident" and item.severity_rank <= 2) or labels & SITE_DOWN_LABELS:
        return "site-down incident"
    if item.severity_rank == 1 and ("security" in kind or "security" in labels):
        return "critical security"
    return None


def rank(items: list[QueueItem], risk_share: float = 0.25) -> list[QueueItem]:
    """Sort the items by the queue's rule (on each one's `left`) and number them.

    Runs over every open ticket on each re-rank, so it only compares numbers: what each
    item's tier and tie-breakers are was worked out when the item was made.
    """
    for item in items:
        left = item.left
        if left is None:
            item.tier, item.state = 4, "none"
            item.sort_key = (4, INF, item.ties)
            continue
        if left < 0:
            tier, state = 0, "breached"
        elif item.paused:
            tier, state = 3, "paused"
        else:
            tier = item.lane
            state = "risk" if left < risk_share * item.target else "ok"
        item.tier, item.state = tier, state
        item.sort_key = (tier, left, item.ties)
    items.sort(key=attrgetter("sort_key"))
    for number, item in enumerate(items, 1):
        item.rank = number
    return items


def explain(item: QueueItem) -> str:
    """Why the item sits where it does, in one line."""
    clock, left_now = item.clock, item.left
    where = f"{item.package}, {item.calendar}"
    if clock is None or left_now is None:
        text = f"no SLA target for {item.severity} in {item.package}"
    elif left_now < 0:
        text = f"breached: {clock.kind} {span(-left_now)} overdue ({where})"
    else:
        left = f"{clock.kind} due in {span(left_now)} ({where})"
        if item.tier == 1:
            text = f"{item.special}; {left}"
        elif not clock.running:
            text = f"paused in {item.column.value if item.column else 'its status'}; {left}"
        else:
            text = ("at risk: " if item.state == "risk" else "") + left
    if item.defaults:
        used = " and ".join(
            f"{name} {item.package if name == 'package' else item.severity}"
            for name in item.defaults
        )
        text += f"; default {used} used"
    return text


def span(seconds: float) -> str:
    """A duration for people: "45m", "3h 20m", "2d 4h", "12d" (days of 24 hours)."""
    minutes = int(max(seconds, 0) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days >= 10 or (days and not hours):
        return f"{days}d"
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m"


class Ranking:
    """A ranked queue with what the board wants of it: items by key, and the counts."""

    def __init__(self, items: list[QueueItem], by_key: dict[str, QueueItem] | None = None) -> None:
        self.items = items
        self.by_key = by_key if by_key is not None else {item.key: item for item in items}
        states = [item.state for item in items]
        self.breached = states.count("breached")
        self.at_risk = states.count("risk")


def short_left(item: QueueItem) -> str:
    """Time left as a card shows it: "2h10m", "45m", "3d4h", "-1d2h" once breached."""
    if item.left is None:
        return ""
    text = span(abs(item.left)).replace(" ", "")
    return "-" + text if item.left < 0 else text
