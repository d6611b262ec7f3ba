"""The state machine of a checked environment: up, degraded, down, flapping, maintenance.

A site is DOWN only after `DOWN_AFTER` failures in a row, and UP again after `UP_AFTER`
answers in a row, so one lost packet raises no alarm and one lucky answer clears none.
A site whose answers keep changing between failure and success is flapping. While Triage's
own deploy has the site in maintenance, a failure is recorded but counts for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triage.storage.models import HealthResult, HealthState, SiteHealth

DOWN_AFTER = 3
UP_AFTER = 2
FLAP_WINDOW = 10
"""How many recent outcomes flapping looks at."""
FLAP_ON = 4
"""This many changes between failure and answer in the window make a site flapping…"""
FLAP_OFF = 1
"""…and it stops flapping when no more than this many are left."""

FAIL, WARN, CRITICAL, OK = "fail", "warn", "critical", "ok"


@dataclass(frozen=True)
class Change:
    """A site moved from one state to another."""

    site: str
    env: str
    before: HealthState
    after: HealthState
    at: datetime
    reason: str


def advance(
    health: SiteHealth, result: HealthResult, *, maintenance: bool = False
) -> Change | None:
    """Take one result into `health` (changed in place); the change of state it made, if any."""
    answered = result.level != FAIL
    health.url = result.url or health.url
    health.checked = result.at
    health.status, health.ms, health.tls_days = result.status, result.ms, result.tls_days
    health.check, health.reason = result.check, result.reason
    health.maintenance = maintenance
    if maintenance and not answered:
        return None
    health.recent = (health.recent + ("1" if answered else "0"))[-FLAP_WINDOW:]
    flips = sum(1 for a, b in zip(health.recent, health.recent[1:], strict=False) if a != b)
    if flips >= FLAP_ON:
        health.flapping = True
    elif flips <= FLAP_OFF:
        health.flapping = False
    if answered:
        health.successes, health.fails = health.successes + 1, 0
        target = HealthState.DEGRADED if result.level in (WARN, CRITICAL) else HealthState.UP
        if health.state is HealthState.DOWN and health.successes < UP_AFTER:
            target = HealthState.DOWN
    else:
        health.fails, health.successes = health.fails + 1, 0
        target = HealthState.DOWN if health.fails >= DOWN_AFTER else health.state
    if target is health.state:
        return None
    change = Change(health.site, health.env, health.state, target, result.at, result.reason)
    health.state, health.since = target, result.at
    return change


def settling(health: SiteHealth) -> bool:
    """Whether the next check should come sooner than the interval, to confirm a change."""
    if health.maintenance:
        return False
    if health.state is HealthState.DOWN:
        return 0 < health.successes < UP_AFTER
    return 0 < health.fails < DOWN_AFTER


def shown_state(health: SiteHealth) -> str:
    """The word the health screen shows: down, flapping, failing, maintenance, degraded, up…"""
    if health.state is HealthState.DOWN:
        return "down"
    if health.flapping:
        return "flapping"
    if health.maintenance and health.check:
        return "maintenance"
    if health.fails:
        return "failing"
    return health.state.value


def public_state(health: SiteHealth) -> str:
    """up, down or degraded, for `triage health --json`."""
    if health.state is HealthState.DOWN:
        return "down"
    if health.state is HealthState.UP and not (health.flapping or health.fails):
        return "up"
    return "degraded"


RANK = {"down": 0, "flapping": 1, "failing": 2, "degraded": 3, "maintenance": 4, "unknown": 5}


def worst_first(health: SiteHealth) -> tuple[int, str, str]:
    """Sort key of the health screen: down first, then flapping, failing, degraded… up last."""
    return (RANK.get(shown_state(health), 6), health.site, health.env)
