"""The SLA settings: a policy per support package, business calendars, the queue's defaults.

In the config file::

    [queue]
    default_package = "Bronze"      # for tickets whose package nobody says
    default_severity = "Medium"     # for tickets without a severity the policies know
    severities = ["Highest", "High", "Medium", "Low", "Lowest"]

    [queue.calendars.warsaw]
    timezone = "Europe/Warsaw"
    days = ["mon", "tue", "wed", "thu", "fri"]
    hours = "09:00-17:00"
    holidays = "PL"                 # a country code of the `holidays` package

    [sla.Gold]
    calendar = "24/7"               # built in; so is "office" (Mon-Fri 09-17 UTC)
    weight = 3
    response = { Highest = "1h", High = "2h", Medium = "4h" }
    resolution = { Highest = "8h", High = "1d", Medium = "3d" }
    [sla.Gold.types.Incident]       # a request type with its own targets
    response = { Highest = "15m" }

Durations are business time on the package's calendar: a number of hours, or text such as
"90m", "4h", "2h30m", "3d" (a day is one open day of that calendar: 8 hours for 09:00-17:00,
24 hours on 24/7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

ALWAYS = "24/7"
"""The built-in calendar that never closes."""
OFFICE = "office"
"""The built-in calendar of office hours: Monday to Friday, 09:00-17:00 UTC."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+)m)?\s*$")


class Section(BaseModel):
    """A table of the config file; unknown keys are mistakes."""

    model_config = ConfigDict(extra="forbid")


def parse_duration(value: float | int | str) -> tuple[float, float]:
    """Open days and seconds of a duration written as hours (a number) or text like "1d4h"."""
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("a duration must be more than zero")
        return 0.0, float(value) * 3600
    match = _DURATION.match(value)
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration: write hours (4) or text like 90m, 4h, 3d")
    days, hours, minutes = (float(g) if g else 0.0 for g in match.groups())
    if days <= 0 and hours * 60 + minutes <= 0:
        raise ValueError("a duration must be more than zero")
    return days, hours * 3600 + minutes * 60


Duration = float | int | str
Targets = dict[str, Duration]


def _durations(value: Targets) -> Targets:
    for duration in value.values():
        parse_duration(duration)
    return value


class CalendarSettings(Section):
    """When a support package's clock runs: open days and hours in a time zone, less holidays."""

    timezone: str = "UTC"
    """IANA time zone of the hours, e.g. Europe/Warsaw."""
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    """Open days: mon … sun."""
    hours: str = "09:00-17:00"
    """Open hours of an open day, HH:MM-HH:MM (24:00 for midnight at the end)."""
    holidays: str = ""
    """Country (ISO code, e.g. PL) whose public holidays are closed; empty: none."""
    subdivision: str = ""
    """Region of that country whose holidays count too (e.g. BY for Bavaria), if any."""

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"there is no time zone {value!r}: use an IANA name") from None
        return value

    @field_validator("days")
    @classmethod
    def _days_known(cls, value: list[str]) -> list[str]:
        days = [day.strip().casefold()[:3] for day in value]
        for day, given in zip(days, value, strict=True):
            if day not in WEEKDAYS:
                raise ValueError(f"{given!r} is not a weekday: use mon, tue, … sun")
        if not days:
            raise ValueError("a calendar needs at least one open day")
        return days

    @field_validator("hours")
    @classmethod
    def _hours_valid(cls, value: str) -> str:
        open_hours(value)
        return value

    @field_validator("holidays")
    @classmethod
    def _country_known(cls, value: str) -> str:
        if value:
            import holidays

            if value.upper() not in holidays.list_supported_countries():
                raise ValueError(f"the holidays package knows no country {value!r}")
        return value.upper()


def open_hours(text: str) -> tuple[time, time | None]:
    """Opening and closing time of "HH:MM-HH:MM"; None closes at midnight (24:00)."""
    parts = text.replace(" ", "").split("-")
    try:
        start, end = (p.split(":") for p in parts)
        opens = time(int(start[0]), int(start[1]))
        closes = None if end == ["24", "00"] else time(int(end[0]), int(end[1]))
    except (ValueError, IndexError):
        raise ValueError(f"{text!r} is not opening hours: write HH:MM-HH:MM") from None
    if closes is not None and closes <= opens:
        raise ValueError(f"{text!r} closes before it opens: write HH:MM-HH:MM")
    return opens, closes


class TypeTargets(Section):
    """Targets for one request type of a package, over the package's own per severity."""

    response: Targets = Field(default_factory=dict)
    resolution: Targets = Field(default_factory=dict)

    _check = field_validator("response", "resolution")(_durations)


class PackagePolicy(Section):
    """The SLA of one support package: targets per severity on a business calendar."""

    calendar: str = OFFICE
    """Name of the calendar the clock runs on: 24/7, office or one in [queue.calendars]."""
    weight: int = Field(default=1, ge=0)
    """How much the package counts when everything else is equal (higher first)."""
    response: Targets = Field(default_factory=dict)
    """Time to first response per severity."""
    resolution: Targets = Field(default_factory=dict)
    """Time to resolution per severity."""
    types: dict[str, TypeTargets] = Field(default_factory=dict)
    """Request types (Jira issue types) with their own targets."""

    _check = field_validator("response", "resolution")(_durations)


class QueueSettings(Section):
    """How the queue ranks: defaults for tickets missing facts, calendars, what is at risk."""

    default_package: str = "Bronze"
    """Package of a ticket whose package neither Jira nor its site names."""
    default_severity: str = "Medium"
    """Severity of a ticket whose severity the policies do not know."""
    severities: list[str] = Field(
        default_factory=lambda: ["Highest", "High", "Medium", "Low", "Lowest"]
    )
    """The severities policies may name, most severe first."""
    at_risk: float = Field(default=0.25, gt=0, lt=1)
    """A clock is at risk when less than this share of its target is left."""
    team: list[str] = Field(default_factory=list)
    """Names whose comment is a first response; empty: anyone but the reporter."""
    calendars: dict[str, CalendarSettings] = Field(default_factory=dict)
    """Business calendars by name, over the built-in 24/7 and office."""


def default_policies() -> dict[str, PackagePolicy]:
    """The three usual packages, so a team (and the demo) has a queue before configuring one."""
    return {
        "Gold": PackagePolicy(
            calendar=ALWAYS,
            weight=3,
            response={"Highest": "1h", "High": "2h", "Medium": "4h", "Low": "8h", "Lowest": "1d"},
            resolution={
                "Highest": "8h",
                "High": "1d",
                "Medium": "3d",
                "Low": "7d",
                "Lowest": "14d",
            },
        ),
        "Silver": PackagePolicy(
            weight=2,
            response={"Highest": "2h", "High": "4h", "Medium": "8h", "Low": "16h", "Lowest": "1d"},
            resolution={
                "Highest": "16h",
                "High": "40h",
                "Medium": "5d",
                "Low": "10d",
                "Lowest": "20d",
            },
        ),
        "Bronze": PackagePolicy(
            weight=1,
            response={"Highest": "4h", "High": "8h", "Medium": "16h", "Low": "1d", "Lowest": "2d"},
            resolution={
                "Highest": "1d",
                "High": "3d",
                "Medium": "7d",
                "Low": "14d",
                "Lowest": "30d",
            },
        ),
    }


def problem(policies: Mapping[str, PackagePolicy], queue: QueueSettings) -> str | None:
    """The first mistake across packages, calendars and defaults, as one sentence; None if none."""
    known = {s.casefold() for s in queue.severities}
    choices = ", ".join(queue.severities)
    calendars = {ALWAYS, OFFICE, *queue.calendars}
    for name, policy in policies.items():
        if policy.calendar not in calendars:
            listed = ", ".join(sorted(calendars))
            return (
                f"key 'sla.{name}.calendar' names no calendar {policy.calendar!r}: "
                f"use one of {listed} or add [queue.calendars.{policy.calendar}]"
            )
        tables = [("", policy.response, policy.resolution)]
        tables += [(f"types.{t}.", v.response, v.resolution) for t, v in policy.types.items()]
        for prefix, response, resolution in tables:
            for kind, targets in (("response", response), ("resolution", resolution)):
                for severity in targets:
                    if severity.casefold() not in known:
                        return (
                            f"key 'sla.{name}.{prefix}{kind}.{severity}' is not a severity: "
                            f"use one of {choices}, or list it in queue.severities"
                        )
    if queue.default_package not in policies:
        return (
            f"key 'queue.default_package' names {queue.default_package!r}, which has no "
            f"policy: add [sla.{queue.default_package}] or name one of {', '.join(policies)}"
        )
    if queue.default_severity.casefold() not in known:
        return f"key 'queue.default_severity' is not a severity: use one of {choices}"
    return None
