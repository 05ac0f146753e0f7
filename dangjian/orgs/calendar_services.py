"""Writes to the district's holiday calendar (`core.CalendarDay`), each one transaction with its audit entry.

They live here, not in core, because core sits below audit (audit imports core) and cannot log; orgs is
the lowest app that can. Only the district administrator (`calendar.manage`) keeps the calendar.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from dangjian.audit import registry
from dangjian.audit.services import log_action
from dangjian.core.calendar import MAX_YEAR, MIN_YEAR, calendar_day_list, day_problem, parse_calendar_text
from dangjian.core.errors import Conflict, NotFound, ValidationFailed
from dangjian.core.models import CalendarDay, DayKind
from dangjian.core.permissions import require_somewhere

registry.register({
    "core.calendar_day.added": "新增节假日安排",
    "core.calendar_day.deleted": "删除节假日安排",
    "core.calendar.imported": "导入全年节假日安排",
})

CAPABILITY = "calendar.manage"


def calendar_day_add(*, actor, day: dt.date, kind: str, name: str = "") -> CalendarDay:
    require_somewhere(actor, CAPABILITY)
    name = (name or "").strip()
    if kind not in DayKind.values:
        raise ValidationFailed("类别无效", fields={"kind": ["类别：请选择“法定节假日（休）”或“调休上班（班）”"]})
    if problem := day_problem(day, kind):
        raise ValidationFailed(problem, fields={"date": [f"日期：{problem}"]})
    taken = f"{day:%Y-%m-%d} 已在日历中，如需修改请先删除"
    if CalendarDay.objects.filter(date=day).exists():
        raise ValidationFailed(taken, fields={"date": [f"日期：{taken}"]})
    try:
        with transaction.atomic():
            row = CalendarDay.objects.create(date=day, kind=kind, name=name)
            log_action(actor=actor, action="core.calendar_day.added", target=row,
                       changes={"date": [None, day.isoformat()], "kind": [None, kind], "name": [None, name]})
    except IntegrityError:  # the same date saved by someone else a moment ago
        raise ValidationFailed(taken, fields={"date": [f"日期：{taken}"]}) from None
    return row


def calendar_day_delete(*, actor, day_id: int) -> CalendarDay:
    """Remove one day; returns it (unsaved) so the page can name it."""
    require_somewhere(actor, CAPABILITY)
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update().filter(pk=day_id).first()
        if row is None:
            raise NotFound()
        log_action(actor=actor, action="core.calendar_day.deleted", target=row,
                   changes={"date": [row.date.isoformat(), None], "kind": [row.kind, None], "name": [row.name, None]})
        row.delete()
    return row


def calendar_import(*, actor, year: int, text: str) -> list[CalendarDay]:
    """Replace the whole of `year` with the pasted arrangement (see `parse_calendar_text`): every line is
    checked first, then all are saved or none. Importing the corrected notice again is therefore safe."""
    require_somewhere(actor, CAPABILITY)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed("年份无效", fields={"year": [f"年份：请填写 {MIN_YEAR} 至 {MAX_YEAR} 之间的年份"]})
    entries = parse_calendar_text(text, year=year)
    try:
        with transaction.atomic():
            old = calendar_day_list(year=year).select_for_update()
            removed = [str(row) for row in old]
            old.delete()
            rows = CalendarDay.objects.bulk_create(CalendarDay(date=e.date, kind=e.kind, name=e.name) for e in entries)
            log_action(actor=actor, action="core.calendar.imported",
                       changes={"year": year, "removed": removed, "added": [str(row) for row in rows]})
    except IntegrityError:  # another import of the same year saved first (the row locks cannot cover new days)
        raise Conflict(f"{year} 年的安排刚被他人修改，请刷新页面后重新导入") from None
    return rows
