"""Business calendars as a number line of open seconds, so clocks add and subtract fast.

A calendar is open on its days between its hours, in its time zone, except on the public
holidays of its country. Each open day becomes one interval in UTC (so a daylight-saving
change moves the interval, not its length, and a 00:00-24:00 day lasts 23 or 25 hours);
`open_seconds(a, b)` is two binary searches over those intervals, and `add(t, s)` finds
the moment `s` open seconds after `t`. The 24/7 calendar is plain UTC time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage.core.sla.policy import ALWAYS, OFFICE, WEEKDAYS, CalendarSettings, open_hours

_SPAN_YEARS = 1
"""Years of open days built on either side of a moment the table does not cover yet."""


class BusinessCalendar:
    """When a package's SLA clock runs; `open_seconds` and `add` work in UTC timestamps."""

    def __init__(self, name: str, settings: CalendarSettings | None) -> None:
        self.name = name
        self.always = settings is None
        self.settings = settings or CalendarSettings(days=list(WEEKDAYS), hours="00:00-24:00")
        self.zone = ZoneInfo(self.settings.timezone)
        self.weekdays = frozenset(WEEKDAYS.index(day) for day in self.settings.days)
        self.opens, self.closes = open_hours(self.settings.hours)
        self._first_year = self._last_year = 0
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._before: list[float] = []
        self._through: list[float] = []

    @property
    def day_seconds(self) -> float:
        """Open seconds of an ordinary open day: what a "1d" target means on this calendar."""
        if self.always:
            return 86400.0
        end = 86400 if self.closes is None else _seconds(self.closes)
        return float(end - _seconds(self.opens))

    def describe(self) -> str:
        """A short label: "24/7", or "Mon-Fri 09:00-17:00 Europe/Warsaw, PL holidays"."""
        if self.always:
            return ALWAYS
        days = self.settings.days
        span = f"{days[0].title()}-{days[-1].title()}" if len(days) > 2 else "/".join(days)
        text = f"{span} {self.settings.hours} {self.settings.timezone}"
        return text + (f", {self.settings.holidays} holidays" if self.settings.holidays else "")

    def open_seconds(self, start: float, end: float) -> float:
        """Open seconds between two UTC timestamps (0 when `end` is not after `start`)."""
        if end <= start:
            return 0.0
        if self.always:
            return end - start
        self._cover(start, end)
        return self._position(end) - self._position(start)

    def add(self, start: float, seconds: float) -> float:
        """The UTC timestamp at which `seconds` open seconds have passed since `start`."""
        if self.always:
            return start + seconds
        self._cover(start, start)
        target = self._position(start) + max(seconds, 0.0)
        for _ in range(100):
            index = bisect_left(self._through, target)
            if index < len(self._through):
                return self._starts[index] + (target - self._before[index])
            # Growing forward keeps the first day, so `target` stays a valid position.
            self._build(self._first_year, self._last_year + 2 * _SPAN_YEARS)
        raise ValueError(f"{seconds} open seconds reach beyond a century of calendar {self.name}")

    def _position(self, moment: float) -> float:
        """Open seconds from the start of the table to `moment`, which the table covers."""
        index = bisect_right(self._starts, moment) - 1
        if index < 0:
            return 0.0
        before = self._before[index]
        return before + min(moment - self._starts[index], self._through[index] - before)

    def _cover(self, start: float, end: float) -> None:
        """Build the table so it spans both moments (a rebuild moves every position)."""
        if self._starts and self._starts[0] <= start and end <= self._ends[-1]:
            return
        first = datetime.fromtimestamp(start, UTC).year - _SPAN_YEARS
        last = datetime.fromtimestamp(end, UTC).year + _SPAN_YEARS
        if self._starts:
            first, last = min(first, self._first_year), max(last, self._last_year)
        self._build(first, last)

    def _build(self, first_year: int, last_year: int) -> None:
        """Lay out every open day of these years as UTC intervals with running totals."""
        closed = self._holidays(first_year, last_year)
        starts: list[float] = []
        ends: list[float] = []
        before: list[float] = []
        through: list[float] = []
        total = 0.0
        day = date(first_year, 1, 1)
        one = timedelta(days=1)
        while day.year <= last_year:
            if day.weekday() in self.weekdays and day not in closed:
                start = datetime.combine(day, self.opens, self.zone).timestamp()
                if self.closes is None:
                    end = datetime.combine(day + one, time(0), self.zone).timestamp()
                else:
                    end = datetime.combine(day, self.closes, self.zone).timestamp()
                starts.append(start)
                ends.append(end)
                before.append(total)
                total += end - start
                through.append(total)
            day += one
        self._first_year, self._last_year = first_year, last_year
        self._starts, self._ends, self._before, self._through = starts, ends, before, through

    def _holidays(self, first_year: int, last_year: int) -> set[date]:
        country = self.settings.holidays
        if not country:
            return set()
        import holidays

        found = holidays.country_holidays(
            country,
            subdiv=self.settings.subdivision or None,
            years=range(first_year, last_year + 1),
        )
        return set(found)


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60


def calendars(named: dict[str, CalendarSettings]) -> dict[str, BusinessCalendar]:
    """The built-in calendars (24/7, office) and the configured ones, by name."""
    found = {
        ALWAYS: BusinessCalendar(ALWAYS, None),
        OFFICE: BusinessCalendar(OFFICE, CalendarSettings()),
    }
    for name, settings in named.items():
        found[name] = BusinessCalendar(name, settings)
    return found
