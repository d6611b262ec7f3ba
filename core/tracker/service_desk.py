"""Jira Service Management SLAs: find its SLA fields, and read each one's running cycle.

Where a Jira instance runs Service Management, its own SLA clocks are the truth: the queue
takes their breach time instead of computing one. The fields are found at run time by
their type (`com.atlassian.servicedesk:sd-sla-field`), never configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

SLA_FIELD_TYPE = "com.atlassian.servicedesk:sd-sla-field"


def service_desk_sla_fields(field_list: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Ids of the SLA fields in Jira's /field list, in id order."""
    found = [
        str(f["id"])
        for f in field_list
        if str((f.get("schema") or {}).get("custom") or "") == SLA_FIELD_TYPE
    ]
    return tuple(sorted(found))


def service_desk_cycles(
    fields: Mapping[str, Any], ids: Sequence[str]
) -> list[dict[str, Any]] | None:
    """Each SLA's current state: name, due (ISO, UTC), breached, paused, met, goal, elapsed.

    A running cycle gives its breach time; an SLA with only completed cycles is met.
    None when the issue has no SLA values at all.
    """
    cycles: list[dict[str, Any]] = []
    for field_id in ids:
        value = fields.get(field_id)
        if not isinstance(value, Mapping):
            continue
        name = str(value.get("name") or field_id)
        ongoing = value.get("ongoingCycle")
        if isinstance(ongoing, Mapping):
            cycles.append(
                {
                    "name": name,
                    "due": _moment(ongoing.get("breachTime")),
                    "breached": bool(ongoing.get("breached")),
                    "paused": bool(ongoing.get("paused")),
                    "met": False,
                    "goal": _seconds(ongoing.get("goalDuration")),
                    "elapsed": _seconds(ongoing.get("elapsedTime")),
                }
            )
            continue
        completed = value.get("completedCycles") or []
        if completed and isinstance(completed[-1], Mapping):
            last = completed[-1]
            cycles.append(
                {
                    "name": name,
                    "due": _moment(last.get("breachTime")),
                    "breached": bool(last.get("breached")),
                    "paused": False,
                    "met": True,
                    "goal": _seconds(last.get("goalDuration")),
                    "elapsed": _seconds(last.get("elapsedTime")),
                }
            )
    return cycles or None


def _moment(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    millis = value.get("epochMillis")
    if isinstance(millis, int | float):
        return datetime.fromtimestamp(millis / 1000, UTC).isoformat()
    text = value.get("iso8601")
    if isinstance(text, str) and text:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).isoformat()
    return None


def _seconds(value: Any) -> float | None:
    if isinstance(value, Mapping) and isinstance(value.get("millis"), int | float):
        return float(value["millis"]) / 1000
    return None
