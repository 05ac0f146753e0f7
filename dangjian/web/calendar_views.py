"""节假日安排: the district administrator keeps the holiday calendar that every "N个工作日" deadline counts on.
One page per year lists the days; adding, deleting and importing a year each call one service."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dangjian.core.calendar import MAX_YEAR, MIN_YEAR, NAME_MAX, WEEKDAYS, calendar_day_list, calendar_years
from dangjian.core.dates import WorkCalendar
from dangjian.core.forms import submit
from dangjian.core.models import DayKind
from dangjian.core.permissions import require_somewhere
from dangjian.orgs.calendar_services import (
    CAPABILITY,
    calendar_day_add,
    calendar_day_delete,
    calendar_import,
)

YEAR_ERRORS = {"required": "请填写年份", "invalid": "请填写四位数的年份",
               "min_value": f"请填写 {MIN_YEAR} 至 {MAX_YEAR} 之间的年份",
               "max_value": f"请填写 {MIN_YEAR} 至 {MAX_YEAR} 之间的年份"}


class DayForm(forms.Form):
    date = forms.DateField(label="日期", widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"required": "请填写日期", "invalid": "请填写日期，如 2026-10-01"})
    kind = forms.ChoiceField(label="类别", choices=DayKind.choices, error_messages={"required": "请选择类别"})
    name = forms.CharField(label="名称", max_length=NAME_MAX, required=False, help_text="如：国庆节、国庆节调休")


class ImportForm(forms.Form):
    year = forms.IntegerField(label="年份", min_value=MIN_YEAR, max_value=MAX_YEAR, error_messages=YEAR_ERRORS)
    text = forms.CharField(label="导入内容", max_length=20000, widget=forms.Textarea(attrs={"rows": 12}),
                           error_messages={"required": "请粘贴全年的安排"},
                           help_text="每行一天：日期、“休”或“班”、名称，以空格分隔，如 2026-10-01 休 国庆节；"
                                     "导入将替换该年已有的全部日期")


def _year(raw) -> int:
    raw = str(raw or "").strip()
    year = int(raw) if raw.isdigit() else timezone.localdate().year
    return year if MIN_YEAR <= year <= MAX_YEAR else timezone.localdate().year


def _page(request, year: int, *, day_form=None, import_form=None):
    rows = list(calendar_day_list(year=year))
    # The year's working days with only this year's arrangement: enough for the count shown here.
    cal = WorkCalendar(frozenset(r.date for r in rows if r.kind == DayKind.HOLIDAY),
                       frozenset(r.date for r in rows if r.kind == DayKind.WORKDAY))
    return render(request, "web/calendar.html", {
        "year": year, "years": calendar_years(), "prev_year": year - 1, "next_year": year + 1,
        "rows": [(r, WEEKDAYS[r.date.weekday()]) for r in rows],
        "working_days": cal.working_days_between(dt.date(year, 1, 1), dt.date(year, 12, 31)),
        "day_form": day_form or DayForm(),
        "import_form": import_form or ImportForm(initial={"year": year}),
    })


def _back(year: int):
    return redirect(f"{reverse('web:calendar')}?year={year}")


@login_required
def calendar_page(request):
    require_somewhere(request.user, CAPABILITY)
    return _page(request, _year(request.GET.get("year")))


@login_required
@require_POST
def calendar_add(request):
    require_somewhere(request.user, CAPABILITY)
    form = DayForm(request.POST)
    row = submit(request, form, lambda d: calendar_day_add(actor=request.user, day=d["date"], kind=d["kind"],
                                                           name=d["name"]))
    if row is not None:
        messages.success(request, f"已添加 {row}。")
        return _back(row.date.year)
    return _page(request, _year(request.POST.get("year")), day_form=form)


@login_required
@require_POST
def calendar_delete(request, day_id: int):
    require_somewhere(request.user, CAPABILITY)
    row = calendar_day_delete(actor=request.user, day_id=day_id)
    messages.success(request, f"已删除 {row}。")
    return _back(row.date.year)


@login_required
@require_POST
def calendar_import_view(request):
    require_somewhere(request.user, CAPABILITY)
    form = ImportForm(request.POST)
    rows = submit(request, form, lambda d: calendar_import(actor=request.user, year=d["year"], text=d["text"]))
    if rows is not None:
        year = form.cleaned_data["year"]
        messages.success(request, f"已导入 {year} 年的 {len(rows)} 个日期。")
        return _back(year)
    return _page(request, _year(request.POST.get("year")), import_form=form)
