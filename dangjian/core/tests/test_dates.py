"""Month and year arithmetic at month ends and leap days, and working days over weekends, holidays and
调休 Saturdays. The calendars here are made up for the test; none is a real year's arrangement."""

import datetime as dt

import pytest

from dangjian.core.dates import WorkCalendar, add_months, add_years

D = dt.date
PLAIN = WorkCalendar()


@pytest.mark.parametrize("day, n, expected", [
    (D(2026, 1, 31), 1, D(2026, 2, 28)),  # 31 Jan + 1 month, common year
    (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
    (D(2026, 3, 31), -1, D(2026, 2, 28)),  # 31 Mar − 1 month
    (D(2024, 3, 31), -1, D(2024, 2, 29)),
    (D(2026, 5, 31), 1, D(2026, 6, 30)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)),  # across the year, both ways
    (D(2026, 1, 15), -1, D(2025, 12, 15)),
    (D(2026, 8, 31), -6, D(2026, 2, 28)),
    (D(2026, 3, 31), -25, D(2024, 2, 29)),
    (D(2026, 3, 15), 0, D(2026, 3, 15)),
])
def test_add_months_keeps_the_day_or_takes_the_month_end(day, n, expected):
    assert add_months(day, n) == expected


@pytest.mark.parametrize("day, n, expected", [
    (D(2024, 2, 29), 1, D(2025, 2, 28)),
    (D(2024, 2, 29), -1, D(2023, 2, 28)),
    (D(2024, 2, 29), 4, D(2028, 2, 29)),
    (D(2026, 7, 1), 5, D(2031, 7, 1)),
])
def test_add_years_turns_29_february_into_28_february_in_a_common_year(day, n, expected):
    assert add_years(day, n) == expected


# 2026-06-01 is a Monday.
MON, FRI, SAT, SUN, NEXT_MON, NEXT_TUE = D(2026, 6, 1), D(2026, 6, 5), D(2026, 6, 6), D(2026, 6, 7), \
    D(2026, 6, 8), D(2026, 6, 9)


def test_the_plain_week_works_monday_to_friday():
    assert [PLAIN.is_working_day(MON + dt.timedelta(days=i)) for i in range(7)] == [True] * 5 + [False] * 2


def test_add_working_days_across_a_weekend():
    assert PLAIN.add_working_days(FRI, 1) == NEXT_MON
    assert PLAIN.add_working_days(FRI, 5) == D(2026, 6, 12)
    assert PLAIN.add_working_days(SAT, 1) == NEXT_MON  # from a day off: the next working day is the first
    assert PLAIN.add_working_days(MON, 0) == MON
    assert PLAIN.add_working_days(NEXT_MON, -1) == FRI


def test_add_working_days_across_a_holiday():
    cal = WorkCalendar(holidays=frozenset({NEXT_MON}))
    assert not cal.is_working_day(NEXT_MON)
    assert cal.add_working_days(FRI, 1) == NEXT_TUE
    assert cal.add_working_days(D(2026, 6, 4), 2) == NEXT_TUE


def test_add_working_days_across_a_workday_saturday():
    cal = WorkCalendar(workdays=frozenset({SAT}))  # 调休上班
    assert cal.is_working_day(SAT) and not cal.is_working_day(SUN)
    assert cal.add_working_days(FRI, 1) == SAT
    assert cal.add_working_days(FRI, 2) == NEXT_MON


def test_a_holiday_on_a_weekend_changes_nothing():
    assert WorkCalendar(holidays=frozenset({SAT})).add_working_days(FRI, 1) == NEXT_MON


def test_working_days_between_counts_both_ends():
    assert PLAIN.working_days_between(MON, FRI) == 5  # 公示 Monday to Friday: 5 working days
    assert PLAIN.working_days_between(MON, MON) == 1
    assert PLAIN.working_days_between(SAT, SAT) == 0
    assert PLAIN.working_days_between(SAT, NEXT_MON) == 1  # starting on a weekend
    assert PLAIN.working_days_between(SAT, D(2026, 6, 12)) == 5
    assert PLAIN.working_days_between(FRI, MON) == 0  # end before start
    assert WorkCalendar(holidays=frozenset({D(2026, 6, 3)})).working_days_between(MON, FRI) == 4
    assert WorkCalendar(workdays=frozenset({SAT})).working_days_between(MON, SUN) == 6


def test_the_two_agree():
    """The n-th working day after `start` closes a span of exactly n working days that starts after it."""
    cal = WorkCalendar(holidays=frozenset({NEXT_MON, NEXT_TUE}), workdays=frozenset({SUN}))
    for start in (MON + dt.timedelta(days=i) for i in range(10)):
        for n in range(1, 12):
            assert cal.working_days_between(start + dt.timedelta(days=1), cal.add_working_days(start, n)) == n
