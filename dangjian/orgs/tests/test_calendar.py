"""The holiday calendar (节假日安排): the pasted-text parser, the audited writes and the district
administrator's page. The days used are made up for the test; none is a real year's arrangement."""

import datetime as dt

import pytest
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.calendar import parse_calendar_text, work_calendar
from dangjian.core.errors import ValidationFailed
from dangjian.core.models import CalendarDay, DayKind
from dangjian.testing import client_as

D = dt.date
GOOD = "2026-10-01 休 国庆节\n\n# 调休\n２０２６－１０－１１　班　国庆节调休\n2026年10月2日 放假\n"  # 2026-10-11: a Sunday


def audits(action: str) -> int:
    return AuditEntry.objects.filter(action=action, success=True).count()


def add(client, day, kind="holiday", name="国庆节"):
    return client.post(reverse("web:calendar_add"), {"date": day, "kind": kind, "name": name, "year": "2026"})


def test_a_pasted_year_is_read_line_by_line():
    entries = parse_calendar_text(GOOD, year=2026)
    assert [(e.date, e.kind, e.name) for e in entries] == [
        (D(2026, 10, 1), DayKind.HOLIDAY, "国庆节"),
        (D(2026, 10, 11), DayKind.WORKDAY, "国庆节调休"),  # full-width digits and spaces from Word or WPS
        (D(2026, 10, 2), DayKind.HOLIDAY, ""),
    ]


@pytest.mark.parametrize("line, message", [
    ("10-01 休 国庆节", "第2行：“10-01”不是日期，请写成 2026-10-01 的样子"),
    ("2026-02-30 休", "第2行：2026-02-30 不是存在的日期"),
    ("2026-10-05", "第2行：缺少类别，请在日期后写“休”或“班”"),
    ("2026-10-05 休假日 国庆节", "第2行：类别“休假日”无法识别，请写“休”或“班”"),
    ("2027-01-01 休 元旦", "第2行：2027-01-01 不在 2026 年内"),
    ("2026-10-01 休 重复", "第2行：2026-10-01 与第1行重复"),
    ("2026-10-14 班", "第2行：2026-10-14 是星期三，本来就是工作日；调休上班只能是星期六或星期日"),
    ("2026-10-05 休 " + "节" * 31, "第2行：名称不能超过 30 个字"),
])
def test_a_bad_line_is_named_by_its_number(line, message):
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar_text(f"2026-10-01 休 国庆节\n{line}", year=2026)
    assert caught.value.fields == {"text": [message]}
    assert caught.value.message == "导入内容有 1 处错误，未保存任何日期"


# --- the page ---------------------------------------------------------------------------------------------

def test_the_district_administrator_adds_and_deletes_a_day(client, district):
    client_as(client, district, "district_admin")
    response = add(client, "2026-10-01")
    assert response.status_code == 302 and response["Location"].endswith("?year=2026")
    row = CalendarDay.objects.get()
    assert (row.date, row.kind, row.name) == (D(2026, 10, 1), DayKind.HOLIDAY, "国庆节")
    assert audits("core.calendar_day.added") == 1
    page = client.get(reverse("web:calendar"), {"year": 2026}).content.decode()
    assert "2026-10-01" in page and "国庆节" in page and "节假日安排" in page
    assert not work_calendar().is_working_day(D(2026, 10, 1))  # the next read sees the edit

    response = client.post(reverse("web:calendar_delete", args=[row.pk]))
    assert response.status_code == 302 and not CalendarDay.objects.exists()
    assert audits("core.calendar_day.deleted") == 1
    assert work_calendar().is_working_day(D(2026, 10, 1))
    assert client.post(reverse("web:calendar_delete", args=[row.pk])).status_code == 404


@pytest.mark.parametrize("day, kind, message", [
    ("2026-10-01", "holiday", "日期：2026-10-01 已在日历中，如需修改请先删除"),
    ("2026-10-14", "workday", "日期：2026-10-14 是星期三，本来就是工作日；调休上班只能是星期六或星期日"),
    ("1999-10-01", "holiday", "日期：1999-10-01 不在 2000 年至 2100 年之间"),
    ("2026-13-01", "holiday", "日期：请填写日期，如 2026-10-01"),
    ("2026-10-02", "rest", "类别：选择一个有效的选项"),
])
def test_a_bad_day_is_refused_naming_the_field(client, district, day, kind, message):
    CalendarDay.objects.create(date=D(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节")
    client_as(client, district, "district_admin")
    response = add(client, day, kind)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert CalendarDay.objects.count() == 1 and audits("core.calendar_day.added") == 0


def test_an_import_replaces_the_year(client, district):
    CalendarDay.objects.create(date=D(2026, 5, 1), kind=DayKind.HOLIDAY, name="旧的")
    CalendarDay.objects.create(date=D(2027, 1, 1), kind=DayKind.HOLIDAY, name="下一年")
    client_as(client, district, "district_admin")
    response = client.post(reverse("web:calendar_import"), {"year": "2026", "text": GOOD})
    assert response.status_code == 302
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [
        D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 11), D(2027, 1, 1)]  # another year is left alone
    entry = AuditEntry.objects.get(action="core.calendar.imported")
    assert entry.changes["removed"] == ["2026-05-01 休 旧的"] and len(entry.changes["added"]) == 3
    cal = work_calendar()
    assert cal.is_working_day(D(2026, 10, 11)) and not cal.is_working_day(D(2026, 10, 2))


def test_a_bad_import_line_saves_nothing(client, district):
    CalendarDay.objects.create(date=D(2026, 5, 1), kind=DayKind.HOLIDAY, name="劳动节")
    client_as(client, district, "district_admin")
    response = client.post(reverse("web:calendar_import"),
                           {"year": "2026", "text": "2026-10-01 休 国庆节\n2026-10-08 歇 国庆节"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "导入内容：第2行：类别“歇”无法识别，请写“休”或“班”" in page
    assert list(CalendarDay.objects.values_list("name", flat=True)) == ["劳动节"]
    assert audits("core.calendar.imported") == 0


def test_an_import_year_outside_2000_to_2100_is_refused(client, district):
    client_as(client, district, "district_admin")
    response = client.post(reverse("web:calendar_import"), {"year": "1999", "text": "1999-10-01 休 国庆节"})
    assert "年份：请填写 2000 至 2100 之间的年份" in response.content.decode()
    assert not CalendarDay.objects.exists() and audits("core.calendar.imported") == 0


@pytest.mark.parametrize("role", ["committee_admin", "branch_worker", "system_admin", "member"])
def test_only_the_district_administrator_keeps_the_calendar(client, district, role):
    row = CalendarDay.objects.create(date=D(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节")
    client_as(client, district, role)
    assert client.get(reverse("web:calendar")).status_code == 403
    assert add(client, "2026-10-02").status_code == 403
    assert client.post(reverse("web:calendar_delete", args=[row.pk])).status_code == 403
    assert client.post(reverse("web:calendar_import"), {"year": "2026", "text": GOOD}).status_code == 403
    assert list(CalendarDay.objects.all()) == [row]
    assert not AuditEntry.objects.filter(action__startswith="core.calendar").exists()
    assert "节假日安排" not in client.get(reverse("notifications:inbox")).content.decode()


def test_anonymous_is_sent_to_the_login_page(client, district):
    response = client.get(reverse("web:calendar"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_menu_offers_the_page_to_the_district_administrator(client, district):
    client_as(client, district, "district_admin")
    page = client.get(reverse("web:calendar")).content.decode()
    assert 'href="/calendar/"' in page and "尚未录入" in page and "国务院办公厅" in page
