"""Date arithmetic every app shares: calendar months and years, and working days (工作日).

Pure functions, no database: the holiday arrangement comes in as a `WorkCalendar` (loaded from the
district's calendar by `dangjian.core.calendar.work_calendar()`), so a rule can be tested with any calendar.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)


def add_months(day: dt.date, n: int) -> dt.date:
    """The same day `n` months later (`n` may be negative). When the target month is shorter, its last day:
    31 Jan + 1 month = 28/29 Feb, 31 Mar − 1 month = 28/29 Feb (a term or a cut-off never spills over into
    the month after)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + n, 12)
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def add_years(day: dt.date, n: int) -> dt.date:
    """The same day `n` years later; 29 Feb becomes 28 Feb in a common year."""
    return add_months(day, 12 * n)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are worked, from the 国务院办公厅 notice of each year.

    Monday to Friday are working days unless listed in `holidays` (法定节假日 and the days off joined to
    them); Saturday and Sunday are days off unless listed in `workdays` (调休上班). A holiday that falls on a
    weekend changes nothing. The empty calendar is the plain Monday-to-Friday week.
    """

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The day on which the `n`-th working day AFTER `start` falls (`start` itself never counts, worked or
        not); with a negative `n`, the n-th working day before it; `n` = 0 gives `start`. E.g. "5个工作日内答复"
        for a request made on Friday 2026-06-05 ends on Friday 2026-06-12."""
        step = ONE_DAY if n >= 0 else -ONE_DAY
        day = start
        for _ in range(abs(n)):
            day += step
            while not self.is_working_day(day):
                day += step
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days d have start <= d <= end: BOTH ends count (0 when end < start). This is how
        "公示不少于5个工作日" is counted: a notice posted on Monday 2026-06-01 and taken down on Friday
        2026-06-05 has been up 5 working days."""
        count, day = 0, start
        while day <= end:
            count += self.is_working_day(day)
            day += ONE_DAY
        return count
