"""What the health screen and `triage health` show: each site's state, worst first.

One call reads everything a view needs (`overview`), so a screen asks the cache once per
refresh, from a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.health.state import public_state, shown_state, worst_first
from triage.storage import health as store
from triage.storage.models import HealthResult, SiteHealth

SPARK_POINTS = 20
"""How many recent response times the sparkline shows."""


@dataclass(frozen=True)
class SiteRow:
    """One checked environment of a site as the views show it."""

    health: SiteHealth
    recent: list[HealthResult] = field(default_factory=list)

    @property
    def state(self) -> str:
        """down, flapping, failing, maintenance, degraded, up or unknown."""
        return shown_state(self.health)

    @property
    def failing(self) -> bool:
        """Whether an incident makes sense: the site is not simply up."""
        return self.state not in ("up", "unknown")

    @property
    def times(self) -> list[int | None]:
        """The last response times, oldest first; None where there was no answer."""
        return [r.ms if r.level != "fail" else None for r in self.recent]

    def as_json(self) -> dict[str, Any]:
        """The row as `triage health --json` prints it."""
        h = self.health
        reason = h.reason
        if h.flapping and not reason:
            reason = "flapping"
        if h.maintenance and h.check:
            reason = f"maintenance: {reason}"
        return {
            "site": h.site,
            "env": h.env,
            "url": h.url,
            "state": public_state(h),
            "status": h.status,
            "ms": h.ms,
            "tls_days": h.tls_days,
            "reason": reason,
        }


def overview(engine: Engine, points: int = SPARK_POINTS) -> list[SiteRow]:
    """Every checked environment, worst first, with its last response times."""
    states = sorted(store.states(engine), key=worst_first)
    recent = store.history(engine, [(h.site, h.env) for h in states], points)
    return [SiteRow(h, recent.get((h.site, h.env), [])) for h in states]


def rows_for(states: list[SiteHealth]) -> list[SiteRow]:
    """Rows for states just checked (no history), worst first."""
    return [SiteRow(h) for h in sorted(states, key=worst_first)]


def since_text(since: datetime) -> str:
    """When a state began, in UTC: 14:02 today's style, with the date when older."""
    return since.strftime("%Y-%m-%d %H:%M UTC")
