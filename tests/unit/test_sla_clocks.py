"""SLA arithmetic against hand-computed cases: weekends, Polish holidays, DST, pauses, reopen."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from triage.core.sla.calendar import BusinessCalendar
from triage.core.sla.clocks import measure, running_spans
from triage.core.sla.policy import CalendarSettings
from triage.storage.columns import BoardColumn

WARSAW = ZoneInfo("Europe/Warsaw")
HOUR = 3600.0


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """A Warsaw wall-clock time as a UTC timestamp."""
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW).timestamp()


def utc(year: int, month: int, day: int, hour: int = 0) -> float:
    return datetime(year, month, day, hour, tzinfo=UTC).timestamp()


@pytest.fixture
def office() -> BusinessCalendar:
    """Mon-Fri 09:00-17:00 in Warsaw, closed on Polish public holidays."""
    settings = CalendarSettings(timezone="Europe/Warsaw", holidays="PL")
    return BusinessCalendar("warsaw", settings)


@pytest.fixture
def always() -> BusinessCalendar:
    return BusinessCalendar("24/7", None)


def test_friday_afternoon_to_monday_morning_counts_two_business_hours(
    office: BusinessCalendar,
) -> None:
    # Fri 6 Nov 16:00 → 17:00 is one hour, the weekend is closed, Mon 9 Nov 09:00 → 10:00 one.
    assert office.open_seconds(at(2026, 11, 6, 16), at(2026, 11, 9, 10)) == 2 * HOUR
    assert office.add(at(2026, 11, 6, 16), 2 * HOUR) == at(2026, 11, 9, 10)


def test_polish_independence_day_is_closed(office: BusinessCalendar) -> None:
    # Wed 11 Nov 2026 is National Independence Day: Tue 16:00 → Thu 10:00 is 2 hours.
    assert office.open_seconds(at(2026, 11, 10, 16), at(2026, 11, 12, 10)) == 2 * HOUR
    assert office.add(at(2026, 11, 10, 16), 2 * HOUR) == at(2026, 11, 12, 10)
    # Time that falls on the holiday itself counts nothing.
    assert office.open_seconds(at(2026, 11, 11, 9), at(2026, 11, 11, 17)) == 0


def test_a_calendar_without_holidays_counts_the_holiday(office: BusinessCalendar) -> None:
    plain = BusinessCalendar("plain", CalendarSettings(timezone="Europe/Warsaw"))
    assert plain.open_seconds(at(2026, 11, 10, 16), at(2026, 11, 12, 10)) == 10 * HOUR


def test_march_daylight_saving_change_in_warsaw(office: BusinessCalendar) -> None:
    # Clocks go forward on Sun 29 Mar 2026. Fri 16:00 CET (15:00 UTC) to Mon 10:00 CEST
    # (08:00 UTC) is 65 wall-clock hours but 2 business hours; the due time keeps 10:00.
    start, end = at(2026, 3, 27, 16), at(2026, 3, 30, 10)
    assert end - start == 65 * HOUR
    assert office.open_seconds(start, end) == 2 * HOUR
    assert office.add(start, 2 * HOUR) == utc(2026, 3, 30, 8)
    # An open 01:00-05:00 day loses the missing hour 02:00-03:00: 3 hours that Sunday.
    night = BusinessCalendar(
        "night",
        CalendarSettings(timezone="Europe/Warsaw", days=["sun"], hours="01:00-05:00"),
    )
    assert night.open_seconds(at(2026, 3, 29, 0), at(2026, 3, 29, 12)) == 3 * HOUR
    assert night.open_seconds(at(2026, 3, 22, 0), at(2026, 3, 22, 12)) == 4 * HOUR


def test_october_daylight_saving_change_in_warsaw(office: BusinessCalendar) -> None:
    # Clocks go back on Sun 25 Oct 2026: Fri 16:00 CEST (14:00 UTC) → Mon 10:00 CET (09:00
    # UTC) is 67 wall-clock hours, still 2 business hours.
    start, end = at(2026, 10, 23, 16), at(2026, 10, 26, 10)
    assert end - start == 67 * HOUR
    assert office.open_seconds(start, end) == 2 * HOUR
    assert office.add(start, 2 * HOUR) == utc(2026, 10, 26, 9)
    # A whole local day open around the clock lasts 25 hours that Sunday.
    all_day = BusinessCalendar(
        "all-day",
        CalendarSettings(timezone="Europe/Warsaw", days=["sun"], hours="00:00-24:00"),
    )
    assert all_day.open_seconds(at(2026, 10, 25, 0), at(2026, 10, 26, 0)) == 25 * HOUR


def test_twenty_four_seven_is_wall_clock_time(always: BusinessCalendar) -> None:
    # Saturday counts like any day, and no daylight-saving change moves UTC time.
    assert always.open_seconds(utc(2026, 11, 7, 10), utc(2026, 11, 7, 15)) == 5 * HOUR
    assert always.add(utc(2026, 3, 28, 22), 4 * HOUR) == utc(2026, 3, 29, 2)


def test_feedback_pauses_the_clock(office: BusinessCalendar) -> None:
    # Mon 16 Nov 09:00 created; Feedback Mon 11:00 to Tue 15:00; now Wed 09:30:
    # 2 h (Mon) + 2 h (Tue 15-17) + 0.5 h (Wed) = 4.5 business hours used of 8.
    moves = [
        (at(2026, 11, 16, 10), BoardColumn.IN_PROGRESS),
        (at(2026, 11, 16, 11), BoardColumn.FEEDBACK),
        (at(2026, 11, 17, 15), BoardColumn.IN_PROGRESS),
    ]
    spans = running_spans(at(2026, 11, 16, 9), moves, BoardColumn.IN_PROGRESS)
    clock = measure("resolution", office, spans, 8 * HOUR, at(2026, 11, 18, 9, 30))

    assert clock.elapsed == 4.5 * HOUR
    assert clock.running and not clock.breached
    assert clock.due == at(2026, 11, 18, 13)


def test_a_ticket_waiting_in_feedback_has_time_left_but_no_due_time(
    office: BusinessCalendar,
) -> None:
    moves = [(at(2026, 11, 16, 11), BoardColumn.FEEDBACK)]
    spans = running_spans(at(2026, 11, 16, 9), moves, BoardColumn.FEEDBACK)
    clock = measure("resolution", office, spans, 8 * HOUR, at(2026, 11, 20, 12))

    assert clock.elapsed == 2 * HOUR
    assert clock.left == 6 * HOUR
    assert not clock.running
    assert clock.due is None


def test_a_reopened_ticket_goes_on_where_its_clock_stopped(office: BusinessCalendar) -> None:
    # Mon 16 Nov 09:00 created, Done at 13:00 (4 h used), reopened Tue 14:00, now Tue 16:00:
    # 6 h used of 8, so the 2 h left end Wed 10:00 (Tue 16-17, Wed 09-10).
    moves = [
        (at(2026, 11, 16, 10), BoardColumn.IN_PROGRESS),
        (at(2026, 11, 16, 13), BoardColumn.DONE),
        (at(2026, 11, 17, 14), BoardColumn.TODO),
    ]
    spans = running_spans(at(2026, 11, 16, 9), moves, BoardColumn.TODO)
    clock = measure("resolution", office, spans, 8 * HOUR, at(2026, 11, 17, 16))

    assert spans == [(at(2026, 11, 16, 9), at(2026, 11, 16, 13)), (at(2026, 11, 17, 14), None)]
    assert clock.elapsed == 6 * HOUR
    assert clock.due == at(2026, 11, 18, 10)


def test_a_breached_clock_says_when_it_breached(office: BusinessCalendar) -> None:
    # Created Fri 13 Nov 15:00 with 4 h: Fri 15-17 is 2 h, Mon 09-11 the other 2: breached
    # Mon 11:00; at Mon 14:00 it is 3 h overdue.
    spans = running_spans(at(2026, 11, 13, 15), [], BoardColumn.TODO)
    clock = measure("resolution", office, spans, 4 * HOUR, at(2026, 11, 16, 14))

    assert clock.breached
    assert clock.left == -3 * HOUR
    assert clock.due == at(2026, 11, 16, 11)


def test_the_first_response_stops_the_response_clock(office: BusinessCalendar) -> None:
    spans = running_spans(at(2026, 11, 16, 9), [], BoardColumn.TODO)
    answered = at(2026, 11, 16, 10, 30)
    clock = measure("response", office, spans, 2 * HOUR, at(2026, 11, 18, 12), answered)

    assert clock.met and not clock.running
    assert clock.elapsed == 1.5 * HOUR
    assert not clock.breached
    assert clock.due is None


def test_a_current_column_missing_from_the_history_wins(office: BusinessCalendar) -> None:
    # The cache says Feedback/Impediment though the last move it knows went to In Progress.
    moves = [(at(2026, 11, 16, 10), BoardColumn.IN_PROGRESS)]
    spans = running_spans(at(2026, 11, 16, 9), moves, BoardColumn.FEEDBACK)
    assert spans == [(at(2026, 11, 16, 9), at(2026, 11, 16, 10))]
