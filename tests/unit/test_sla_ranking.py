"""The queue's rule: breached, then site-down and critical security, then least time left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from triage.core.sla.clocks import Clock
from triage.core.sla.ranking import QueueItem, Ranking, rank, short_left, span
from triage.storage.columns import BoardColumn

HOUR = 3600.0
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def clock(left_hours: float, target_hours: float = 8, running: bool = True) -> Clock:
    target = target_hours * HOUR
    due = NOW.timestamp() + left_hours * HOUR if running or left_hours < 0 else None
    return Clock("resolution", target, target - left_hours * HOUR, running, False, due)


def item(key: str, left: float | None = 4, **fields: Any) -> QueueItem:
    values: dict[str, Any] = {
        "key": key,
        "summary": "",
        "issue_type": "Task",
        "severity": "Medium",
        "severity_rank": 3,
        "urgency": "Medium",
        "package": "Silver",
        "weight": 2,
        "assignee": None,
        "column": BoardColumn.TODO,
        "created": NOW - timedelta(days=1),
        "calendar": "office",
        "clock": None if left is None else clock(left),
    }
    values.update(fields)
    return QueueItem(**values)


def keys(items: list[QueueItem]) -> list[str]:
    return [i.key for i in rank(items)]


def test_breached_tickets_come_first_the_longest_overdue_on_top() -> None:
    items = [item("OK", 1), item("LATE", -2), item("LATER", -5)]
    assert keys(items) == ["LATER", "LATE", "OK"]


def test_site_down_incidents_and_critical_security_come_before_time_left() -> None:
    items = [
        item("SOON", 0.5),
        item("DOWN", 6, issue_type="Incident", severity="High", severity_rank=2),
        item("SEC", 7, issue_type="Security Update", severity="Highest", severity_rank=1),
        item("SEC-LOW", 0.7, issue_type="Security Update", severity="Low", severity_rank=4),
        item("LATE", -1),
    ]
    assert keys(items) == ["LATE", "DOWN", "SEC", "SOON", "SEC-LOW"]


def test_an_outage_label_makes_a_site_down_ticket() -> None:
    items = [item("SOON", 1), item("OUT", 5, labels=("outage",))]
    assert keys(items) == ["OUT", "SOON"]


def test_least_time_left_wins_among_the_rest() -> None:
    items = [item("C", 30), item("A", 1), item("B", 2.5)]
    assert keys(items) == ["A", "B", "C"]


def test_paused_clocks_follow_running_ones_and_no_target_comes_last() -> None:
    paused = item("WAITING", 0.1, clock=clock(0.1, running=False), column=BoardColumn.FEEDBACK)
    items = [item("NONE", None), paused, item("RUNNING", 20)]
    ranked = rank(items)
    assert [i.key for i in ranked] == ["RUNNING", "WAITING", "NONE"]
    assert ranked[1].state == "paused"
    assert ranked[1].why.startswith("paused in Feedback/Impediment; resolution due in 6m")
    assert ranked[2].why == "no SLA target for Medium in Silver"


def test_ties_go_by_severity_then_urgency_then_package_weight_then_age() -> None:
    older = NOW - timedelta(days=9)
    items = [
        item("YOUNG", 3),
        item("OLD", 3, created=older),
        item("GOLD", 3, package="Gold", weight=3),
        item("URGENT", 3, urgency="High"),
        item("SEVERE", 3, severity="High", severity_rank=2, urgency="Low"),
    ]
    assert keys(items) == ["SEVERE", "URGENT", "GOLD", "OLD", "YOUNG"]


def test_each_item_says_why_it_sits_where_it_does() -> None:
    ranked = rank(
        [
            item("LATE", -3.5, package="Gold", calendar="24/7"),
            item("DOWN", 2, issue_type="Incident", severity_rank=1),
            item("RISKY", 1),
            item("FINE", 6, defaults=("package", "severity")),
        ]
    )
    why = {i.key: i.why for i in ranked}
    assert why["LATE"] == "breached: resolution 3h 30m overdue (Gold, 24/7)"
    assert why["DOWN"] == "site-down incident; resolution due in 2h (Silver, office)"
    assert why["RISKY"] == "at risk: resolution due in 1h (Silver, office)"
    assert why["FINE"] == (
        "resolution due in 6h (Silver, office); default package Silver and severity Medium used"
    )
    assert [i.rank for i in ranked] == [1, 2, 3, 4]


def test_states_and_counts() -> None:
    ranking = Ranking(rank([item("A", -1), item("B", 1), item("C", 7), item("D", None)]))
    assert [i.state for i in ranking.items] == ["breached", "risk", "ok", "none"]
    assert (ranking.breached, ranking.at_risk) == (1, 1)
    assert ranking.by_key["B"].rank == 2


def test_time_left_as_people_read_it() -> None:
    assert span(45 * 60) == "45m"
    assert span(3 * HOUR + 20 * 60) == "3h 20m"
    assert span(2 * 86400 + 4 * HOUR) == "2d 4h"
    assert span(12 * 86400 + 4 * HOUR) == "12d"
    assert short_left(item("A", -26)) == "-1d2h"
    assert short_left(item("B", 2.5)) == "2h30m"
    assert short_left(item("C", None)) == ""
