"""The branch's yearly 党费收缴公示表 as .xlsx (XlsxWriter, as the roster export): one row per member with
category, monthly amount, months and amount paid in the year, voluntary extra; totals at the foot. Amounts
are written as numbers in 元 with two decimals (computed from 分 exactly, never summed as floats)."""

from __future__ import annotations

import datetime as dt

import xlsxwriter

from dangjian.audit.services import log_action
from dangjian.core.errors import ValidationFailed
from dangjian.core.permissions import require

from . import rules, selectors

HEADERS = ["序号", "姓名", "交纳类别", "月交纳额（元）", "应交月数", "本年收缴月数", "已交金额（元）", "自愿多交（元）",
           "已交至", "备注"]


def _yuan_number(fen: int) -> float:
    # XlsxWriter stores numbers as doubles anyway; 分/100 of an integer is exact to the cent when displayed.
    return round(fen / 100, 2)


def public_notice_export(*, actor, org, year: int, on: dt.date, target) -> int:
    require(actor, "member.export", org)
    limit = selectors.ROSTER_MAX
    rows = selectors.dues_roster(org=org, year=year, on=on, limit=limit + 1)
    if len(rows) > limit:  # a public notice that silently leaves members out would be wrong, not short
        raise ValidationFailed(f"党员超过{limit}名，不能导出一张公示表", fields={"org": [
            f"党组织：{org.name}及所属组织的党员超过{limit}名，请按所属党支部分别导出公示表"]})
    totals = selectors.roster_totals(rows)
    wb = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    sheet = wb.add_worksheet("公示表")
    title = wb.add_format({"bold": True, "font_size": 14})
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    money = wb.add_format({"num_format": "0.00"})
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 2, 16)
    sheet.set_column(3, 9, 13)
    sheet.write_string(0, 0, f"{org.name} {year} 年度党费收缴情况公示", title)
    sheet.write_row(1, 0, HEADERS, head)
    r = 2
    for i, row in enumerate(rows, start=1):
        a = row.assessment
        sheet.write_number(r, 0, i)
        sheet.write_string(r, 1, row.member.name)
        sheet.write_string(r, 2, a.get_category_display() if a else "未核定")
        if a:
            sheet.write_number(r, 3, _yuan_number(a.monthly_fen), money)
            sheet.write_number(r, 4, 13 - a.first_month)
        sheet.write_number(r, 5, row.months_paid)
        sheet.write_number(r, 6, _yuan_number(row.paid_fen), money)
        sheet.write_number(r, 7, _yuan_number(row.voluntary_fen), money)
        sheet.write_string(r, 8, rules.month_label(row.paid_up_to))
        sheet.write_string(r, 9, "经批准减免" if a and a.is_reduced else "")
        r += 1
    sheet.write_string(r, 1, "合计", head)
    sheet.write_number(r, 6, _yuan_number(totals.paid_fen), money)
    sheet.write_number(r, 7, _yuan_number(totals.voluntary_fen), money)
    sheet.write_string(r + 2, 1, f"应交合计 {rules.yuan(totals.due_fen)} 元，已交合计 {rules.yuan(totals.paid_fen)} 元，"
                                 f"自愿多交 {rules.yuan(totals.voluntary_fen)} 元。公示日期：{on.isoformat()}")
    wb.close()
    log_action(actor=actor, action="dues.public_notice.exported", target=org,
               changes={"year": year, "count": len(rows)})
    return len(rows)
