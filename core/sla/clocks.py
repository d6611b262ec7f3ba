"""SLA clocks from what the cache knows: created time, status moves, first team response.

A clock runs from the ticket's creation on its package's business calendar, pauses while
the ticket waits in Feedback/Impediment, and stops at Done. A ticket reopened from Done goes
on from the time it had used: nothing before the stop is forgotten and nothing after it is
counted twice. The first-response clock also stops at the team's first comment or status
move (storage.sla_rows: by anyone but the reporter, or by a name in `queue.team` when that
list is set), and at Done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from triage.core.sla.calendar import BusinessCalendar
from triage.storage.columns import BoardColumn

PAUSED = frozenset({BoardColumn.FEEDBACK})
"""Columns where the ticket waits for the client or a third party: the clocks stand still."""

Span = tuple[float, float | None]
"""A stretch of time (UTC timestamps) when the clocks ran; None: still running now."""


def running_spans(
    created: float,
    moves: Sequence[tuple[float, BoardColumn | None]],
    column: BoardColumn | None,
) -> list[Span]:
    """When the clocks ran: from creation, between pauses and stops, oldest first.

    `moves` are the ticket's status changes (time, column reached) oldest first; `column`
    is where the ticket stands now, which wins when the history ends elsewhere.
    """
    spans: list[Span] = []
    since: float | None = created
    last = created
    final = moves[-1][1] if moves else None
    steps = list(moves)
    if not moves or final is not column:
        steps.append((max(last, moves[-1][0]) if moves else created, column))
    for at, reached in steps:
        at = max(at, created)
        runs = reached is not BoardColumn.DONE and reached not in PAUSED
        if since is not None and not runs:
            spans.append((since, at))
            since = None
        elif since is None and runs:
            since = at
    if since is not None:
        spans.append((since, None))
    return spans


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA target of a ticket: time to first response, or time to resolution."""

    kind: str
    """"response" or "resolution"."""
    target: float
    """Open seconds the package allows."""
    elapsed: float
    """Open seconds used so far."""
    running: bool
    """True while the clock ticks now; False when paused or met."""
    met: bool
    """The response came, or the ticket was resolved."""
    due: float | None
    """When it breaches (future) or breached (past); None while paused with time left, or met."""

    @property
    def left(self) -> float:
        """Open seconds left before the breach; negative once breached."""
        return self.target - self.elapsed

    @property
    def breached(self) -> bool:
        """More time used than the target allows."""
        return self.elapsed > self.target


def measure(
    kind: str,
    calendar: BusinessCalendar,
    spans: Sequence[Span],
    target: float,
    now: float,
    stop: float | None = None,
) -> Clock:
    """The clock of one target over the running spans, up to `now` or to `stop` (when met)."""
    end_of_time = now if stop is None else min(stop, now)
    elapsed = 0.0
    open_seconds = calendar.open_seconds
    for start, end in spans:
        if start >= end_of_time:
            break
        elapsed += open_seconds(start, end_of_time if end is None else min(end, end_of_time))
    met = stop is not None and stop <= now
    running = not met and bool(spans) and spans[-1][1] is None
    due: float | None = None
    if elapsed > target:
        due = _breach_moment(calendar, spans, target)
    elif running:
        due = calendar.add(now, target - elapsed)
    return Clock(kind, target, elapsed, running, met, due)


def _breach_moment(calendar: BusinessCalendar, spans: Sequence[Span], target: float) -> float:
    """The moment the open seconds used first reached `target`."""
    used = 0.0
    moment = spans[-1][0]
    for start, end in spans:
        part = calendar.open_seconds(start, end) if end is not None else float("inf")
        if used + part >= target:
            return calendar.add(start, target - used)
        used += part
        moment = end if end is not None else moment
    return moment
