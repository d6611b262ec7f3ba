"""The health state machine and the pure pieces of the checks: fast, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage.core.health.checks import tls_finding
from triage.core.health.drupal import cron_finding, plain, requirement_errors
from triage.core.health.incident import summary
from triage.core.health.report import SiteRow
from triage.core.health.state import advance, public_state, settling, shown_state
from triage.storage.models import HealthResult, HealthState, SiteHealth

T0 = datetime(2026, 11, 30, 14, 2, tzinfo=UTC)


def feed(health: SiteHealth, levels: str, *, maintenance: bool = False) -> list[str]:
    """Feed results (o=ok, w=warn, f=fail); the state after each."""
    seen = []
    for index, code in enumerate(levels):
        level = {"o": "ok", "w": "warn", "f": "fail"}[code]
        result = HealthResult(site="s", env="prod", at=T0 + timedelta(minutes=index), level=level)
        advance(health, result, maintenance=maintenance)
        seen.append(health.state.value)
    return seen


def test_down_only_after_three_failures_in_a_row() -> None:
    health = SiteHealth(site="s", env="prod")
    assert feed(health, "offoffff") == ["up", "up", "up", "up", "up", "up", "down", "down"]
    assert health.since == T0 + timedelta(minutes=6) and health.fails == 4


def test_up_again_only_after_two_answers() -> None:
    health = SiteHealth(site="s", env="prod")
    feed(health, "fff")
    assert health.state is HealthState.DOWN and not settling(health)
    assert feed(health, "ofoo") == ["down", "down", "down", "up"]


def test_settling_asks_for_a_sooner_check() -> None:
    health = SiteHealth(site="s", env="prod")
    feed(health, "of")
    assert settling(health) and shown_state(health) == "failing"
    assert public_state(health) == "degraded"


def test_a_slow_answer_is_degraded_not_down() -> None:
    health = SiteHealth(site="s", env="prod")
    assert feed(health, "owo") == ["up", "degraded", "up"]


def test_alternating_answers_flap_and_settle_again() -> None:
    health = SiteHealth(site="s", env="prod")
    feed(health, "ofofof")
    assert health.flapping and health.state is not HealthState.DOWN
    assert shown_state(health) == "flapping" and public_state(health) == "degraded"
    feed(health, "oooooooooo")
    assert not health.flapping and public_state(health) == "up"


def test_failures_in_maintenance_count_for_nothing() -> None:
    health = SiteHealth(site="s", env="prod")
    feed(health, "o")
    assert feed(health, "fffff", maintenance=True) == ["up"] * 5
    assert health.fails == 0 and health.maintenance


@pytest.mark.parametrize(
    ("days", "level"), [(30, "ok"), (21, "warn"), (14, "warn"), (8, "warn"), (7, "critical")]
)
def test_tls_warns_at_21_14_and_7_days(days: int, level: str) -> None:
    assert tls_finding(days).level == level


def test_cron_age() -> None:
    assert cron_finding(T0 - timedelta(hours=20), T0) is None
    warn = cron_finding(T0 - timedelta(hours=30), T0)
    assert warn is not None and (warn.level, warn.reason) == ("warn", "cron last ran 30 hours ago")
    critical = cron_finding(T0 - timedelta(days=4), T0)
    assert critical is not None and critical.level == "critical"
    never = cron_finding(None, T0)
    assert never is not None and never.reason == "cron has never run"


def test_requirement_errors_are_read_as_data() -> None:
    report = {
        "update": {"title": "Database updates", "severity": "Error", "value": "Out of date"},
        "php": {"title": "PHP", "severity": "OK", "value": "8.2"},
        "files": {"title": "File system\x1b[31m", "sid": "2", "value": ""},
    }
    assert requirement_errors(report) == ["Database updates: Out of date", "File system[31m"]
    assert plain("a\x07b\nc") == "ab c"


def test_incident_summary() -> None:
    health = SiteHealth(
        site="acme",
        env="prod",
        url="https://www.acme.example/",
        state=HealthState.DOWN,
        since=T0,
        check="http",
        status=503,
        reason="HTTP 503 on /",
    )
    line = summary(SiteRow(health), "Gold", "Acme", T0 + timedelta(hours=1))
    assert line == "[Gold] Acme: www.acme.example down, HTTP 503 since 14:02 UTC"
