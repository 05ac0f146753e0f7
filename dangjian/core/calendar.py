"""The district's holiday calendar (节假日安排): reading it as a `WorkCalendar`, and checking what is typed
or pasted into it. The writes, which are audited, are `dangjian.orgs.calendar_services` (core cannot log).

The arrangement is whatever the 国务院办公厅 notice of each year says; nothing here guesses it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from .dates import WorkCalendar
from .errors import ValidationFailed
from .models import CalendarDay, DayKind

MIN_YEAR, MAX_YEAR = 2000, 2100
NAME_MAX = CalendarDay._meta.get_field("name").max_length
WEEKDAYS = "一二三四五六日"
# The words a pasted line may use for its kind; the notice itself says 放假 and 上班.
KIND_WORDS = {
    "休": DayKind.HOLIDAY, "假": DayKind.HOLIDAY, "休息": DayKind.HOLIDAY, "放假": DayKind.HOLIDAY,
    "holiday": DayKind.HOLIDAY,
    "班": DayKind.WORKDAY, "上班": DayKind.WORKDAY, "补班": DayKind.WORKDAY, "workday": DayKind.WORKDAY,
}
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


@dataclass(frozen=True)
class DayEntry:
    date: dt.date
    kind: str
    name: str = ""


def work_calendar() -> WorkCalendar:
    """The calendar as it is in the database now. Read on every call, not cached: it is one query of a few
    dozen rows a year, and a per-process cache would keep serving yesterday's arrangement on the other app
    servers after an edit."""
    holidays, workdays = set(), set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == DayKind.HOLIDAY else workdays).add(day)
    return WorkCalendar(frozenset(holidays), frozenset(workdays))


def calendar_day_list(*, year: int):
    return CalendarDay.objects.filter(date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31))


def calendar_years() -> list[int]:
    """The years that have an arrangement entered, newest first."""
    return sorted({d.year for d in CalendarDay.objects.dates("date", "year")}, reverse=True)


def day_problem(day: dt.date, kind: str) -> str | None:
    """Why this day cannot be entered as `kind` (a sentence without the field or line), or None."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return f"{day:%Y-%m-%d} 不在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间"
    # A 班 on a weekday changes nothing, so it is a typo for another date: refuse it rather than keep it.
    if kind == DayKind.WORKDAY and day.weekday() < 5:
        return f"{day:%Y-%m-%d} 是星期{WEEKDAYS[day.weekday()]}，本来就是工作日；调休上班只能是星期六或星期日"
    return None


def parse_calendar_text(text: str, *, year: int) -> list[DayEntry]:
    """A year's arrangement pasted as lines `2026-10-01 休 国庆节` / `2026-10-11 班 国庆节调休` (the name is
    optional; blank lines and lines starting with # are skipped). Every line is checked before anything is
    saved; the refusal lists each bad line by its number, on the field `text`."""
    errors: list[str] = []
    entries: list[DayEntry] = []
    seen: dict[dt.date, int] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = unicodedata.normalize("NFKC", raw).strip()  # full-width digits and spaces from Word or WPS
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        problem = None
        match = _DATE.fullmatch(parts[0])
        day = _date_or_none(*map(int, match.groups())) if match else None
        if match is None:
            problem = f"“{parts[0]}”不是日期，请写成 {year}-10-01 的样子"
        elif day is None:
            problem = f"{parts[0]} 不是存在的日期"
        elif len(parts) < 2:
            problem = "缺少类别，请在日期后写“休”或“班”"
        elif parts[1] not in KIND_WORDS:
            problem = f"类别“{parts[1]}”无法识别，请写“休”或“班”"
        elif day.year != year:
            problem = f"{day:%Y-%m-%d} 不在 {year} 年内"
        elif len(name := parts[2] if len(parts) > 2 else "") > NAME_MAX:
            problem = f"名称不能超过 {NAME_MAX} 个字"
        elif day in seen:
            problem = f"{day:%Y-%m-%d} 与第{seen[day]}行重复"
        else:
            problem = day_problem(day, KIND_WORDS[parts[1]])
        if problem:
            errors.append(f"第{number}行：{problem}")
            continue
        seen[day] = number
        entries.append(DayEntry(day, KIND_WORDS[parts[1]], name))
    if errors:
        raise ValidationFailed(f"导入内容有 {len(errors)} 处错误，未保存任何日期", fields={"text": errors})
    if not entries:
        raise ValidationFailed("没有可导入的日期", fields={"text": ["导入内容：没有可导入的日期"]})
    return entries


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
