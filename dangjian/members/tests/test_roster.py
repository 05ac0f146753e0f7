"""Roster import and export: real .xlsx/.xls files built here, uploaded through the pages.

An import saves every row or none: each bad-row case below asserts that nothing was saved, nothing was
logged as imported, and that the page and the downloadable report name the row (as Excel numbers it:
header = row 1), the column and a Chinese reason.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import io
import itertools
import json
import re
import threading

import openpyxl
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.accounts.models import User
from dangjian.audit.models import AuditEntry
from dangjian.core import bulk, crypto
from dangjian.core.errors import ValidationFailed
from dangjian.core.validators import build_id_number, id_check_char
from dangjian.members import roster, tallies
from dangjian.members.forms import MemberForm
from dangjian.members.models import Member, MembershipPeriod
from dangjian.orgs.models import Organization, name_key
from dangjian.testing import PASSWORD, acting_as

IMPORTED = "members.roster.imported"
EXPORTED = "members.roster.exported"
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Error reports go under MEDIA_ROOT: keep the tests' reports out of the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"


def person(**over) -> dict:
    """One valid row, by header. Region 320102 keeps clear of the fixture members' numbers."""
    n = next(_seq)
    born = over.pop("born", dt.date(1960 + n % 30, 1 + n % 12, 1 + n % 28))
    sex = over.pop("sex", "male" if n % 2 else "female")
    joined = dt.date(born.year + 25, born.month, born.day)
    row = {
        "姓名": f"导入{n:05d}", "身份证号": build_id_number("320102", born, n, sex), "性别": "男" if sex == "male" else "女",
        "民族": "汉族", "出生日期": born, "手机号码": f"137{n:08d}", "学历": "大学本科毕业", "职业类别": "党政机关工作人员",
        "工作单位": "示范单位", "职务": "科员", "家庭住址": "示范路1号", "所在党组织": "甲社区党支部", "党员类别": "正式党员",
        "入党日期": joined.isoformat(), "转正日期": joined.replace(year=joined.year + 1).isoformat(),
        "转入本组织日期": None, "流动党员": "否", "失联党员": "否",
    }
    row.update(over)
    return row


def xlsx(rows, headers=None, *, title: str | None = None) -> bytes:
    headers = roster.HEADERS if headers is None else headers
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "党员名册"
    if title:
        ws.append([title])
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers] if r else [])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def login(client, district, role):
    user = district.users[role]
    assert client.login(username=user.username, password=PASSWORD)
    return user


def upload(client, content: bytes, name="党员名册.xlsx"):
    return client.post(reverse("members:roster_import"), {"file": SimpleUploadedFile(name, content)})


def assert_saved(response):
    if response.status_code != 302:
        context = response.context or {}
        errors = context.get("outcome").errors if context.get("outcome") else context["form"].errors
        raise AssertionError(f"not saved: {errors}")


def report(client) -> list[tuple]:
    response = client.get(reverse("members:roster_errors"))
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "值", "原因")
    return rows[1:]


def audit_count(action=IMPORTED) -> int:
    return AuditEntry.objects.filter(action=action).count()


def full_id(member: Member) -> str:
    return crypto.decrypt(member.id_number_encrypted)


# --- A good file ------------------------------------------------------------------------------------


def test_good_file_saves_every_row_with_its_period_and_one_audit_entry(client, district):
    login(client, district, "committee_admin")
    rows = [person(), person(所在党组织="乙社区党支部", 转入本组织日期="2019/3/1"), person(党员类别="预备党员", 转正日期=None)]
    before = Member.unscoped.count()
    response = upload(client, xlsx(rows))
    assert response.status_code == 302
    assert "导入成功：共 3 名党员已登记" in client.get(response["Location"]).content.decode()
    assert Member.unscoped.count() == before + 3
    members = {full_id(m): m for m in Member.unscoped.filter(name__in=[r["姓名"] for r in rows])}
    assert set(members) == {r["身份证号"] for r in rows}
    second = members[rows[1]["身份证号"]]
    assert second.organization == district.branch_a2 and second.org_path == district.branch_a2.path
    assert second.phone_masked == rows[1]["手机号码"][:3] + "****" + rows[1]["手机号码"][-4:]
    assert members[rows[2]["身份证号"]].status == "probationary" and members[rows[2]["身份证号"]].confirmed_on is None
    periods = {p.member_id: p for p in MembershipPeriod.unscoped.filter(member__in=members.values())}
    assert len(periods) == 3 and all(p.end is None and p.reason == "名册导入" for p in periods.values())
    assert periods[second.pk].start == dt.date(2019, 3, 1)
    first = members[rows[0]["身份证号"]]
    assert periods[first.pk].start == first.joined_on
    entries = AuditEntry.objects.filter(action=IMPORTED)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.changes["count"] == 3 and entry.actor == district.users["committee_admin"]
    text = json.dumps(entry.changes, ensure_ascii=False)
    assert not any(r["姓名"] in text or r["身份证号"][6:14] in text or r["手机号码"] in text for r in rows)


def test_legacy_15_digit_and_lowercase_x_numbers_are_accepted(client, district):
    login(client, district, "branch_worker")
    x_id = next(i for i in (build_id_number("320102", dt.date(1975, 5, 5), n, "male") for n in range(500)) if i.endswith("X"))
    rows = [person(身份证号="320102800101123", 性别=None, 出生日期=None, 入党日期="2005-01-01", 转正日期="2006年1月1日"),
            person(身份证号=x_id.lower(), born=dt.date(1975, 5, 5), 性别="男", 出生日期=dt.date(1975, 5, 5))]
    assert_saved(upload(client, xlsx(rows)))
    legacy = Member.unscoped.get(name=rows[0]["姓名"])
    assert full_id(legacy) == "32010219800101123" + id_check_char("32010219800101123")
    assert legacy.birth_date == dt.date(1980, 1, 1) and legacy.gender == "male"
    assert legacy.confirmed_on == dt.date(2006, 1, 1)
    assert full_id(Member.unscoped.get(name=rows[1]["姓名"])) == x_id


def test_codes_and_flags_accept_names_or_codes_and_blank_rows_are_skipped(client, district):
    login(client, district, "district_admin")
    rows = [person(sex="male", 民族="01", 学历=21, 职业类别="official", 党员类别="full", 流动党员="是", 失联党员=True,
                   性别="male"),
            None,  # a blank row in the middle
            person(民族="回", 学历="本科", 职业类别="工人", 入党日期=dt.date(2001, 7, 1), 转正日期="2002.7.1")]
    assert_saved(upload(client, xlsx(rows)))
    a = Member.unscoped.get(name=rows[0]["姓名"])
    assert (a.ethnicity, a.education, a.occupation, a.status, a.is_mobile, a.is_lost_contact) == (
        "01", "21", "official", "full", True, True)
    b = Member.unscoped.get(name=rows[2]["姓名"])
    assert (b.ethnicity, b.education, b.occupation, b.joined_on, b.confirmed_on) == (
        "03", "20", "worker", dt.date(2001, 7, 1), dt.date(2002, 7, 1))


def test_old_xls_files_import(client, district):
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls test file (pip install xlwt)")
    login(client, district, "branch_worker")
    rows = [person(), person()]
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("党员名册")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for j, h in enumerate(roster.HEADERS):
        ws.write(0, j, h)
    for i, r in enumerate(rows, start=1):
        for j, h in enumerate(roster.HEADERS):
            value = r[h]
            if h == "入党日期":
                ws.write(i, j, dt.date.fromisoformat(value), date_style)  # a real date cell
            elif isinstance(value, dt.date):
                ws.write(i, j, value, date_style)
            elif value is not None:
                ws.write(i, j, value)
    out = io.BytesIO()
    wb.save(out)
    assert_saved(upload(client, out.getvalue(), name="名册.xls"))
    assert Member.unscoped.filter(name__in=[r["姓名"] for r in rows]).count() == 2
    assert AuditEntry.objects.get(action=IMPORTED).changes["file_format"] == "xls"


# --- Bad rows: nothing is saved, and the row, column and reason are named ----------------------------


def _bad_check_digit(r, d):
    r["身份证号"] = r["身份证号"][:-1] + ("0" if r["身份证号"][-1] != "0" else "1")


def _impossible_birth_date(r, d):
    first17 = "320102" + "19990230" + "123"
    r.update(身份证号=first17 + id_check_char(first17), 性别=None, 出生日期=None)


def _under_18(r, d):
    r.update(身份证号=build_id_number("320102", dt.date(2000, 1, 1), 77, "male"), 性别="男", 出生日期=None,
             入党日期="2010-01-01", 转正日期="2011-01-01")


def _duplicate_of_member_elsewhere(r, d):
    b1 = d.member_b1  # 支部B1: outside the branch worker's scope
    r.update(身份证号=full_id(b1), 性别=None, 出生日期=None, 入党日期=b1.joined_on, 转正日期=b1.confirmed_on)


BAD_ROWS = [
    ("check digit", "branch_worker", _bad_check_digit, "身份证号", "校验位不正确"),
    ("impossible date in ID", "branch_worker", _impossible_birth_date, "身份证号", "出生日期“19990230”不存在"),
    ("bad phone", "branch_worker", lambda r, d: r.update(手机号码="1234567"), "手机号码", "11位数字"),
    ("unknown ethnicity", "branch_worker", lambda r, d: r.update(民族="火星族"), "民族", "不是有效的民族"),
    ("unknown education", "branch_worker", lambda r, d: r.update(学历="博士后"), "学历", "不是有效的学历"),
    ("unknown occupation", "branch_worker", lambda r, d: r.update(职业类别="宇航员"), "职业类别", "不是有效的职业类别"),
    ("impossible date", "branch_worker", lambda r, d: r.update(入党日期="2001-13-01"), "入党日期", "不存在"),
    ("unreadable date", "branch_worker", lambda r, d: r.update(转正日期="去年七月"), "转正日期", "无法识别日期"),
    ("under 18 at joining", "branch_worker", _under_18, "入党日期", "未满18周岁"),
    ("full member without 转正日期", "branch_worker", lambda r, d: r.update(转正日期=None), "转正日期", "正式党员须填写转正日期"),
    ("transfer before joining", "branch_worker", lambda r, d: r.update(转入本组织日期="1970-01-01"), "转入本组织日期",
     "不能早于入党日期"),
    ("bad flag", "branch_worker", lambda r, d: r.update(流动党员="也许"), "流动党员", "应填“是”或“否”"),
    ("duplicate in the database, outside the scope", "branch_worker", _duplicate_of_member_elsewhere, "身份证号",
     "已登记"),
    ("unknown organisation", "district_admin", lambda r, d: r.update(所在党组织="不存在的党支部"), "所在党组织",
     "找不到党组织"),
    ("organisation outside the scope", "branch_worker", lambda r, d: r.update(所在党组织="第一中学党支部"), "所在党组织",
     "找不到党组织"),
    ("ID number turned into a float by Excel", "branch_worker", lambda r, d: r.update(身份证号=1.10105194912310e17),
     "身份证号", "设置为“文本”格式"),
    ("missing name", "branch_worker", lambda r, d: r.update(姓名=None), "姓名", "必填"),
]


@pytest.mark.parametrize(("role", "spoil", "column", "reason"), [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS])
def test_one_bad_row_saves_nothing_and_names_row_column_and_reason(client, district, role, spoil, column, reason):
    login(client, district, role)
    rows = [person(), person(), person()]
    spoil(rows[1], district)  # the second data row: Excel row 3
    before = Member.unscoped.count()
    periods_before = MembershipPeriod.unscoped.count()
    response = upload(client, xlsx(rows))
    assert response.status_code == 200
    assert Member.unscoped.count() == before and MembershipPeriod.unscoped.count() == periods_before
    assert audit_count() == 0
    page = response.content.decode()
    assert "本次没有导入任何党员" in page and "第3行" in page and reason in page
    errors = report(client)
    assert [(row, col) for row, col, _, _ in errors] == [(3, column)], errors
    assert reason in errors[0][3]


def test_masked_values_in_the_report(client, district):
    login(client, district, "branch_worker")
    rows = [person(), person(手机号码="23800138000")]
    rows[0]["身份证号"] = rows[0]["身份证号"][:-1] + ("0" if rows[0]["身份证号"][-1] != "0" else "1")
    response = upload(client, xlsx(rows))
    errors = {(r, c): v for r, c, v, _ in report(client)}
    assert errors[(2, "身份证号")] == rows[0]["身份证号"][:6] + "********" + rows[0]["身份证号"][-4:]
    assert errors[(3, "手机号码")] == "238****8000"
    assert rows[0]["身份证号"] not in response.content.decode() and "23800138000" not in response.content.decode()


def test_duplicate_inside_the_file_reports_both_rows(client, district):
    login(client, district, "branch_worker")
    rows = [person(), person(), person()]
    rows[2].update(身份证号=rows[0]["身份证号"].lower(), 出生日期=rows[0]["出生日期"], 性别=rows[0]["性别"])
    upload(client, xlsx(rows))
    errors = report(client)
    assert [(r, c) for r, c, _, _ in errors] == [(2, "身份证号"), (4, "身份证号")]
    assert "与第4行的身份证号重复" in errors[0][3] and "与第2行的身份证号重复" in errors[1][3]
    assert audit_count() == 0


def test_row_numbers_follow_excel_below_a_title_row(client, district):
    login(client, district, "branch_worker")
    rows = [person(), person(民族="火星族")]
    upload(client, xlsx(rows, title="甲社区党支部党员名册"))  # title in row 1, header in row 2
    assert [(r, c) for r, c, _, _ in report(client)] == [(4, "民族")]


def test_many_errors_show_200_on_the_page_and_all_in_the_report(client, district):
    login(client, district, "branch_worker")
    rows = [person(民族="火星族", 学历="博士后") for _ in range(150)]
    response = upload(client, xlsx(rows))
    assert response.context["outcome"].errors.__len__() == 300
    assert len(response.context["shown_errors"]) == 200
    assert "只显示前 200 条" in response.content.decode()
    assert len(report(client)) == 300


# --- The file as a whole -----------------------------------------------------------------------------


def _file_case(client, district, content, name, message):
    login(client, district, "branch_worker")
    before = Member.unscoped.count()
    response = upload(client, content, name=name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Member.unscoped.count() == before and audit_count() == 0


def test_missing_header_column_is_one_clear_error(client, district):
    headers = [h for h in roster.HEADERS if h not in ("民族", "入党日期")]
    _file_case(client, district, xlsx([person()], headers), "名册.xlsx", "缺少必填列：民族、入党日期")


def test_text_renamed_to_xlsx_is_refused(client, district):
    _file_case(client, district, "姓名,身份证号\n张三,1\n".encode(), "名册.xlsx", "无法读取该文件")


def test_pdf_is_refused(client, district):
    _file_case(client, district, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "名册.xlsx", "无法读取该文件")


def test_corrupt_zip_is_refused(client, district):
    _file_case(client, district, xlsx([person()])[:2000], "名册.xlsx", "无法读取该文件")


def test_empty_file_is_refused(client, district):
    login(client, district, "branch_worker")
    response = upload(client, b"")
    assert response.status_code == 200 and "名册文件：上传的文件是空的" in response.content.decode()
    assert audit_count() == 0


def test_header_without_data_rows_is_refused(client, district):
    _file_case(client, district, xlsx([None, None]), "名册.xlsx", "表格中没有党员数据")


def test_no_header_is_refused(client, district):
    _file_case(client, district, xlsx([], ["序号", "备注"]), "名册.xlsx", "未找到表头")


def test_too_many_rows_is_refused(client, district, settings):
    settings.DANGJIAN_IMPORT_MAX_ROWS = 2
    _file_case(client, district, xlsx([person(), person(), person()]), "名册.xlsx", "超过一次最多导入 2 行的上限")


def test_too_big_file_is_refused(client, district, settings):
    settings.DANGJIAN_IMPORT_MAX_BYTES = 2048
    _file_case(client, district, xlsx([person() for _ in range(50)]), "名册.xlsx", "文件超过 2 KB 的上限")


# --- Permissions and the report's owner --------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("nobody", 403), ("security_admin", 403),
                                              ("branch_worker", 200), ("district_admin", 200)])
def test_import_page_needs_member_import(client, district, role, status):
    login(client, district, role)
    assert client.get(reverse("members:roster_import")).status_code == status
    assert client.get(reverse("members:roster_template")).status_code == status
    assert upload(client, xlsx([person()])).status_code in (status, 302)
    assert audit_count() == (1 if status == 200 else 0)


def test_anonymous_is_sent_to_login(client, district):
    for name in ("members:roster_import", "members:roster_template", "members:roster_errors", "members:roster_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_error_report_is_only_for_the_user_who_imported(client, district):
    login(client, district, "branch_worker")
    upload(client, xlsx([person(民族="火星族")]))
    assert len(report(client)) == 1
    client.logout()
    login(client, district, "district_admin")
    assert client.get(reverse("members:roster_errors")).status_code == 404


def test_a_successful_import_discards_the_previous_report(client, district):
    login(client, district, "branch_worker")
    upload(client, xlsx([person(民族="火星族")]))
    token = client.session[roster_views_session_key()]["token"]
    assert roster.error_report_path(token) is not None
    assert_saved(upload(client, xlsx([person()])))
    assert roster.error_report_path(token) is None
    assert client.get(reverse("members:roster_errors")).status_code == 404


def roster_views_session_key():
    from dangjian.members.roster_views import SESSION_KEY

    return SESSION_KEY


# --- The template ------------------------------------------------------------------------------------


def test_template_has_the_headers_text_columns_instructions_and_round_trips(client, district):
    login(client, district, "branch_worker")
    response = client.get(reverse("members:roster_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames[:2] == ["党员名册", "填写说明"]
    data = wb["党员名册"]
    assert [c.value for c in data[1]] == roster.HEADERS
    assert data.max_row == 1  # no example in the data sheet
    for header in ("身份证号", "手机号码"):  # formatted as text, so Excel keeps every digit
        letter = openpyxl.utils.get_column_letter(roster.HEADERS.index(header) + 1)
        assert data.column_dimensions[letter].number_format == "@"
    help_text = " ".join(str(c.value) for row in wb["填写说明"].iter_rows() for c in row if c.value)
    assert "示例" in help_text and "正式党员 / 预备党员" in help_text and "文本" in help_text
    orgs = [row[0] for row in wb["组织列表"].iter_rows(min_row=2, values_only=True)]
    assert orgs == ["甲社区党支部"]  # only where this worker may import
    # Fill the downloaded template and upload it.
    r = person()
    data.append([r[h] for h in roster.HEADERS])
    out = io.BytesIO()
    wb.save(out)
    assert_saved(upload(client, out.getvalue()))
    assert Member.unscoped.filter(name=r["姓名"]).exists()


# --- Export ------------------------------------------------------------------------------------------


def export(client, **params):
    return client.get(reverse("members:roster_export"), params)


def exported(response) -> list[tuple]:
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert list(rows[0][: len(roster.HEADERS)]) == roster.HEADERS
    return rows[1:]


def test_export_is_masked_by_default_scoped_and_audited(client, district):
    login(client, district, "branch_worker")
    rows = exported(export(client))
    assert [r[0] for r in rows] == ["张三"]  # only 支部A1
    flat = " ".join(str(c) for r in rows for c in r)
    number = full_id(district.member_a1)
    assert number not in flat and number[6:14] not in flat
    assert rows[0][1] == district.member_a1.id_number_masked and rows[0][5] == district.member_a1.phone_masked
    entry = AuditEntry.objects.get(action=EXPORTED)
    assert entry.changes["count"] == 1 and entry.changes["reveal"] is False


def test_export_reveal_for_district_admin_is_audited(client, district):
    login(client, district, "district_admin")
    rows = exported(export(client, reveal="1"))
    ids = {r[1] for r in rows}
    assert {full_id(m) for m in (district.member_a1, district.member_a2, district.member_b1)} <= ids
    entry = AuditEntry.objects.get(action=EXPORTED)
    assert entry.changes["reveal"] is True and entry.changes["count"] == len(rows) == 3


def test_export_reveal_is_refused_without_member_reveal(client, district):
    login(client, district, "branch_worker")
    response = export(client, reveal="1")
    assert response.status_code == 403
    assert audit_count(EXPORTED) == 0


@pytest.mark.parametrize("role", ["member", "security_admin", "nobody"])
def test_export_needs_member_export(client, district, role):
    login(client, district, role)
    assert export(client).status_code == 403
    assert audit_count(EXPORTED) == 0


def test_export_uses_the_member_list_filters(client, district):
    login(client, district, "district_admin")
    assert [r[0] for r in exported(export(client, org=district.branch_b1.pk))] == ["王五"]
    assert [r[0] for r in exported(export(client, q="李"))] == ["李四"]
    # An ID number typed as the search is masked in the audit entry.
    number = full_id(district.member_a2)
    assert [r[0] for r in exported(export(client, q=number))] == ["李四"]
    filters = [e.changes["filters"] for e in AuditEntry.objects.filter(action=EXPORTED)]
    assert number not in json.dumps(filters) and {"org": "第一中学党支部"} in filters


def test_export_of_an_organisation_outside_the_scope_is_404(client, district):
    login(client, district, "branch_worker")
    assert export(client, org=district.branch_b1.pk).status_code == 404


# --- Speed by design: queries do not grow with the rows ----------------------------------------------


def _import_queries(district, n) -> list[str]:
    user = User.objects.get(pk=district.users["district_admin"].pk)  # fresh: grants not yet cached
    content = xlsx([person(所在党组织=("甲社区党支部", "乙社区党支部", "第一中学党支部")[i % 3]) for i in range(n)])
    with acting_as(user), CaptureQueriesContext(connection) as ctx:
        outcome = roster.roster_import(actor=user, upload=content)
    assert outcome.saved == n and not outcome.errors
    return [q["sql"] for q in ctx.captured_queries]


def test_import_queries_do_not_grow_with_the_number_of_rows(district):
    small = _import_queries(district, 200)
    large = _import_queries(district, 2000)

    # Reads, locks and the audit entry: the same whatever the size.
    def others(queries):  # each query's shape: literals and savepoint names aside
        return [re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", q.split(" WHERE ")[0])
                for q in queries if "INSERT INTO" not in q and "bulk_" not in q]

    assert others(large) == others(small)
    # The writes (core.bulk.BulkWriter), one chunk here: members, periods, counters. On PostgreSQL the rows go by
    # COPY (not a captured query), the counters through a temporary table: the same statements at any size. On
    # SQLite fewer than DIRECT_ROWS rows go in directly, one executemany a table; from DIRECT_ROWS rows on, each
    # table's rows are staged and moved: its staging table's drop-if-exists and create, the stage, the move, and
    # the drop at the end (5 statements instead of 1).
    assert len(large) == len(small) + (0 if connection.vendor == "postgresql" else 3 * (5 - 1)), (len(small), len(large))
    assert len(small) <= 20, small
    assert Member.unscoped.count() == 3 + 2200


def test_duplicates_are_found_across_lookup_batches_with_their_rows_and_nothing_is_saved(district, monkeypatch):
    """The platform-wide duplicate check is one IN query per batch of digests; a duplicate in the database
    (outside the importer's scope) and one inside the file are both reported, on their Excel rows."""
    monkeypatch.setattr(roster, "DIGEST_CHUNK", 4)
    rows = [person() for _ in range(12)]
    rows[7].update(身份证号=rows[2]["身份证号"], 出生日期=rows[2]["出生日期"], 性别=rows[2]["性别"])  # rows 4 and 9
    _duplicate_of_member_elsewhere(rows[9], district)  # row 11: 支部B1's member, outside the branch worker's scope
    user = User.objects.get(pk=district.users["branch_worker"].pk)
    before = (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies())
    with acting_as(user), CaptureQueriesContext(connection) as ctx:
        outcome = roster.roster_import(actor=user, upload=xlsx(rows))
    assert outcome.saved == 0 and outcome.total == 12
    assert [(e.row, e.column) for e in outcome.errors] == [(4, "身份证号"), (9, "身份证号"), (11, "身份证号")]
    assert "与第9行的身份证号重复" in outcome.errors[0].reason and "与第4行的身份证号重复" in outcome.errors[1].reason
    assert "已登记" in outcome.errors[2].reason
    assert outcome.errors[2].value == roster.mask_id_number(full_id(district.member_b1))
    lookups = [q["sql"] for q in ctx.captured_queries if '"id_number_digest" IN (' in q["sql"]]
    assert len(lookups) == 3  # 11 distinct numbers, 4 a query
    assert not any("INSERT" in q["sql"] for q in ctx.captured_queries)
    assert (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies()) == before
    assert audit_count() == 0


@pytest.mark.parametrize("chunk", [2000, 4])
def test_rows_of_several_organisations_each_get_their_own_period_and_counters(district, monkeypatch, chunk):
    """The save inserts in organisation order, with ids reserved first: every member gets the period
    (organisation, 转入日期) of its own row, and the counters match the members. Also in chunks of 4, each
    written by the writer's second thread (staged on SQLite) while the next is checked: the counter rows
    that several chunks meet add up."""
    monkeypatch.setattr(roster, "IMPORT_CHUNK", chunk)
    monkeypatch.setattr(bulk, "DIRECT_ROWS", min(chunk, bulk.DIRECT_ROWS))
    orgs = [district.branch_a1, district.branch_b1, district.branch_a2]
    rows = [person(所在党组织=orgs[i % 3].name, 转入本组织日期=dt.date(2020, 1, 1) + dt.timedelta(days=i)) for i in range(30)]
    user = User.objects.get(pk=district.users["district_admin"].pk)
    with acting_as(user):
        outcome = roster.roster_import(actor=user, upload=xlsx(rows))
    assert outcome.saved == 30 and not outcome.errors
    for i, r in enumerate(rows):
        m = Member.unscoped.get(id_number_digest=crypto.lookup_digest(r["身份证号"]))
        period = MembershipPeriod.unscoped.get(member=m)
        assert (m.name, m.organization, m.org_path) == (r["姓名"], orgs[i % 3], orgs[i % 3].path)
        assert (period.organization, period.org_path, period.start, period.end) == (
            orgs[i % 3], orgs[i % 3].path, r["转入本组织日期"], None)
    assert tallies.tally_differences() == {}
    assert AuditEntry.objects.get(action=IMPORTED).changes["count"] == 30


def test_a_number_registered_meanwhile_found_by_the_writer_in_a_later_chunk_is_reported(district, monkeypatch):
    """Only the unique index knows a number is registered while the one pass runs: in chunks of 3, the clash of
    row 11 arrives from the writer's thread as an IntegrityError after three chunks are in. Nothing stays, and
    the full validation names the row."""
    monkeypatch.setattr(roster, "IMPORT_CHUNK", 3)
    monkeypatch.setattr(bulk, "DIRECT_ROWS", 3)
    written = []  # the chunks the writer's thread wrote, and where
    run = bulk.BulkWriter._run
    monkeypatch.setattr(bulk.BulkWriter, "_run", lambda self, jobs: written.append(threading.current_thread().name) or run(self, jobs))
    rows = [person() for _ in range(12)]
    _duplicate_of_member_elsewhere(rows[9], district)  # Excel row 11
    user = User.objects.get(pk=district.users["district_admin"].pk)
    before = (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies(), audit_count())
    with acting_as(user):
        outcome = roster.roster_import(actor=user, upload=xlsx(rows))
    assert written == ["bulk-writer"] * 4  # the fourth chunk's clash came from there: nothing after it
    assert outcome.saved == 0 and [(e.row, e.column) for e in outcome.errors] == [(11, "身份证号")]
    assert "已登记" in outcome.errors[0].reason
    assert (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies(),
            audit_count()) == before
    assert not [t for t in threading.enumerate() if t.name == "bulk-writer"]


def test_resolved_organisations_are_built_once_and_load_other_fields_on_demand(district):
    user = User.objects.get(pk=district.users["district_admin"].pk)
    with acting_as(user):
        lookup = roster.OrgLookup(user)
        first = lookup.resolve("甲社区党支部")
        assert lookup.resolve(str(district.branch_a1.pk)) is first
        assert (first.pk, first.path, first.sector) == (district.branch_a1.pk, district.branch_a1.path, "community")
        assert first.kind == district.branch_a1.kind  # not loaded by the lookup: fetched, never a default


def test_the_lookup_loads_only_the_organisations_the_file_names(district):
    """By name (compared as name_key: half-width brackets find a full-width name), 编号 or path; every one of a
    shared name, so a name the scope holds twice is still refused as ambiguous."""
    from dangjian.core.actors import SYSTEM
    from dangjian.orgs.models import OrgKind
    from dangjian.orgs.services import organization_create

    full = organization_create(actor=SYSTEM, parent=district.committee_a, name="丁社区党支部（筹）", kind=OrgKind.BRANCH)
    half = organization_create(actor=SYSTEM, parent=district.committee_a, name="丁社区党支部(筹)", kind=OrgKind.BRANCH)
    assert full.name_key == half.name_key == "丁社区党支部(筹)"
    user = User.objects.get(pk=district.users["district_admin"].pk)
    names = ["丁社区党支部(筹)", "甲社区党支部", str(district.branch_b1.pk), district.branch_a2.path, "不存在"]
    with acting_as(user), CaptureQueriesContext(connection) as ctx:
        lookup = roster.OrgLookup(user, names)
    assert len(ctx.captured_queries) == 1
    assert {o.pk for o in lookup.orgs} == {full.pk, half.pk, district.branch_a1.pk, district.branch_b1.pk,
                                           district.branch_a2.pk}
    with acting_as(user):
        assert lookup.resolve(str(district.branch_b1.pk)).pk == district.branch_b1.pk
        assert lookup.resolve(district.branch_a2.path).pk == district.branch_a2.pk
        with pytest.raises(roster._CellError, match="有 2 个名为“丁社区党支部\\(筹\\)”"):
            lookup.resolve("丁社区党支部（筹）")
        with pytest.raises(roster._CellError, match="找不到党组织“不存在”"):
            lookup.resolve("不存在")


def test_a_file_naming_an_organisation_by_its_full_width_name_typed_half_width_imports(district):
    from dangjian.core.actors import SYSTEM
    from dangjian.orgs.services import organization_update

    organization_update(actor=SYSTEM, org=district.branch_a1, name="甲社区党支部（一）")
    before = Member.unscoped.filter(organization=district.branch_a1).count()
    assert Organization.unscoped.get(pk=district.branch_a1.pk).name_key == "甲社区党支部(一)"  # kept on rename
    user = User.objects.get(pk=district.users["district_admin"].pk)
    with acting_as(user):
        outcome = roster.roster_import(actor=user, upload=SimpleUploadedFile("x.xlsx", xlsx([
            person(所在党组织="甲社区党支部(一)"), person(所在党组织=" 甲社区党支部（一） ")])))
    assert (outcome.saved, outcome.errors) == (2, [])
    assert Member.unscoped.filter(organization=district.branch_a1).count() == before + 2


def test_the_migration_gives_every_organisation_its_name_key(district):
    migration = importlib.import_module("dangjian.orgs.migrations.0003_name_key")
    expected = dict(Organization.unscoped.values_list("pk", "name_key"))
    Organization.unscoped.update(name_key="")
    migration.fill_name_keys(apps, connection.schema_editor())
    assert dict(Organization.unscoped.values_list("pk", "name_key")) == expected
    assert all(key and key == name_key(name) for name, key in Organization.unscoped.values_list("name", "name_key"))


# --- One pass: checked as sent, validated in full only when something is wrong ---------------------------


def test_a_good_file_is_checked_and_saved_in_one_pass_by_organisation_with_them_locked(district, monkeypatch):
    monkeypatch.setattr(roster, "validate_roster", lambda **kw: pytest.fail("a good file needs no second pass"))
    user = User.objects.get(pk=district.users["district_admin"].pk)
    rows = [person(所在党组织=("甲社区党支部", "第一中学党支部")[i % 2]) for i in range(6)]
    with acting_as(user), CaptureQueriesContext(connection) as ctx:
        outcome = roster.roster_import(actor=user, upload=xlsx(rows))
    assert (outcome.saved, outcome.errors, outcome.total) == (6, [], 6)
    saved = list(Member.unscoped.filter(name__in=[r["姓名"] for r in rows]).order_by("pk").values_list("org_path", flat=True))
    assert len(saved) == 6 and saved == sorted(saved)  # inserted by organisation, not in the file's alternating order
    assert tallies.tally_differences() == {}
    lookup = [q["sql"] for q in ctx.captured_queries if '"name_key" IN' in q["sql"]]
    assert len(lookup) == 1
    if connection.vendor == "postgresql":  # SQLite takes its one write lock at BEGIN (IMMEDIATE)
        assert lookup[0].endswith("FOR UPDATE")


def test_a_bad_row_after_rows_already_moved_leaves_nothing_and_is_reported(client, district, monkeypatch):
    """The import writes in chunks (here of 3) as rows pass: row 10 fails after two chunks are in the tables.
    Everything is rolled back, counters and all, no writer is left running, and the full validation names
    the row."""
    monkeypatch.setattr(roster, "IMPORT_CHUNK", 3)
    monkeypatch.setattr(bulk, "DIRECT_ROWS", 3)
    login(client, district, "district_admin")
    rows = [person() for _ in range(12)]
    rows[8].update(学历="博士后")  # Excel row 10
    before = (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies(), audit_count())
    response = upload(client, xlsx(rows))
    assert "本次没有导入任何党员" in response.content.decode()
    assert [(row, col) for row, col, _, _ in report(client)] == [(10, "学历")]
    assert (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies(),
            audit_count()) == before
    assert not [t for t in threading.enumerate() if t.name == "bulk-writer"]


def test_when_what_stopped_the_pass_is_gone_the_validated_file_is_saved(district, monkeypatch):
    """The pass stops (here: as if a number were registered), the full validation then finds every row good (the
    registration undone meanwhile): the file is saved the two-step way, validated first."""
    def refused(**kw):
        raise roster._NotClean

    monkeypatch.setattr(roster, "_import_in_one_pass", refused)
    user = User.objects.get(pk=district.users["district_admin"].pk)
    rows = [person(), person()]
    with acting_as(user):
        outcome = roster.roster_import(actor=user, upload=xlsx(rows))
    assert (outcome.saved, outcome.errors) == (2, [])
    assert Member.unscoped.filter(name__in=[r["姓名"] for r in rows]).count() == 2
    assert tallies.tally_differences() == {}


def test_the_garbage_collector_is_paused_during_an_import_and_restored_whatever_happens(district, monkeypatch):
    user = User.objects.get(pk=district.users["district_admin"].pk)
    seen = []
    check = roster._RowChecker.check
    monkeypatch.setattr(roster._RowChecker, "check", lambda self, *a: seen.append(gc.isenabled()) or check(self, *a))
    assert gc.isenabled()
    with acting_as(user):
        assert roster.roster_import(actor=user, upload=xlsx([person()])).saved == 1
        assert roster.roster_import(actor=user, upload=xlsx([person(民族="火星族")])).errors
        with pytest.raises(roster.RosterFileError):
            roster.roster_import(actor=user, upload=b"not a spreadsheet")
    assert seen == [False, False, False] and gc.isenabled()  # the bad file: its one pass, then its validation
    gc.disable()
    try:
        with acting_as(user):
            roster.roster_import(actor=user, upload=xlsx([person()]))
        assert not gc.isenabled()  # a process that runs without it stays so
    finally:
        gc.enable()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the import's page cache is SQLite's")
def test_the_page_cache_is_raised_for_the_save_and_restored_even_when_it_fails(district, settings):
    settings.DANGJIAN_IMPORT_SQLITE_CACHE_MB = 8

    def cache_size():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    usual = cache_size()
    user = User.objects.get(pk=district.users["district_admin"].pk)
    rows = [person(), person()]
    with acting_as(user), CaptureQueriesContext(connection) as ctx:
        assert roster.roster_import(actor=user, upload=xlsx(rows)).saved == 2
    assert "PRAGMA cache_size = -8192" in [q["sql"] for q in ctx.captured_queries]
    assert cache_size() == usual

    # Someone registers one of the numbers between the validation and the save: nothing is saved.
    again = [person(), person()]
    with acting_as(user):
        result = roster.validate_roster(actor=user, sheet=roster.read_roster(xlsx(again)))
        Member.unscoped.filter(pk=district.member_a2.pk).update(
            id_number_digest=crypto.lookup_digest(again[1]["身份证号"]))
        before = (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies())
        with pytest.raises(ValidationFailed, match="身份证号重复"):
            roster.save_roster(actor=user, rows=result.rows)
    assert (Member.unscoped.count(), MembershipPeriod.unscoped.count(), tallies.stored_tallies()) == before
    assert cache_size() == usual
    assert audit_count() == 1  # the first import only


# --- The import validates with MemberForm's own rules -------------------------------------------------


def test_row_form_gives_the_same_verdict_as_member_form(district):
    """The import's lean MemberForm (no organisation field, no widget plumbing) must agree with the page's."""
    samples = [
        {},
        {"id_number": "110105194912310018", "birth_date": dt.date(1949, 12, 30), "gender": "female"},
        {"joined_on": dt.date(2090, 1, 1)},
        {"status": "probationary"},
        {"phone": "12345", "name": "  ", "ethnicity": "99", "education": ""},
        {"confirmed_on": dt.date(1990, 1, 1), "joined_on": dt.date(1995, 1, 1)},
    ]
    base = {"name": "张 三", "id_number": "11010519491231002x", "gender": "", "birth_date": None, "ethnicity": "01",
            "phone": "139 0000 0000", "education": "21", "occupation": "worker", "work_unit": "", "post": "",
            "address": "", "status": "full", "joined_on": dt.date(1975, 7, 1), "confirmed_on": dt.date(1976, 7, 1),
            "standing": "normal", "is_mobile": False, "is_lost_contact": True}
    today = dt.date(2026, 1, 1)
    with acting_as(district.users["district_admin"]):
        for sample in samples:
            data = base | sample
            page = MemberForm(data=data | {"organization": district.branch_a1.pk}, today=today,
                              organizations=Organization.objects.all())
            row = roster._RowForm(data=data, today=today)
            assert page.is_valid() == row.is_valid(), sample
            assert {k: list(v) for k, v in page.errors.items()} == {k: list(v) for k, v in row.errors.items()}, sample
            if row.is_valid():
                assert {k: v for k, v in page.cleaned_data.items() if k != "organization"} == row.cleaned_data


def test_row_form_shortcuts_return_what_the_fields_clean_returns():
    """A value either goes through the field's clean() or is one whose clean() cannot fail or change it."""
    from django.core.exceptions import ValidationError

    values = ["", " ", "  01 ", "01", "21", "99", "full", "probationary", "normal", "male", "female", "worker",
              "张三", " 张三 ", "a\x00b", "x" * 50, "x" * 51, "x" * 100, "x" * 101, "x" * 200, "x" * 201, "false", "0",
              None, True, False, 0, 1, 1.5, dt.date(2001, 7, 1), dt.datetime(2001, 7, 1, 8, 0), [], {}]
    for name, form_field, shortcut, _ in roster._RowForm._plan:
        for value in values:
            fast = shortcut(value)
            if fast is roster._SLOW:
                continue
            try:
                slow = form_field.clean(value)
            except ValidationError:
                raise AssertionError(f"{name}: shortcut accepted {value!r}, clean() refuses it") from None
            assert fast == slow and type(fast) is type(slow), (name, value)


def test_a_row_form_copy_starts_without_the_previous_rows_state():
    today = dt.date(2026, 1, 1)
    blank = roster._RowForm(data={}, today=today)
    good = {"name": "张三", "id_number": "11010519491231002X", "gender": "", "birth_date": None, "ethnicity": "01",
            "phone": "", "education": "21", "occupation": "worker", "work_unit": "", "post": "", "address": "",
            "status": "full", "joined_on": dt.date(1975, 7, 1), "confirmed_on": dt.date(1976, 7, 1),
            "standing": "normal", "is_mobile": False, "is_lost_contact": False}
    first = blank.for_row(good)
    assert first.is_valid() and first.id_info is not None
    # The next row's ID number is wrong: the previous row's parsed number must not judge its birth date.
    second = blank.for_row(good | {"id_number": "110105194912310019", "birth_date": dt.date(1990, 1, 1)})
    fresh = roster._RowForm(data=second.data, today=today)
    assert not second.is_valid() and not fresh.is_valid()
    assert {k: list(v) for k, v in second.errors.items()} == {k: list(v) for k, v in fresh.errors.items()}
    assert not hasattr(second, "id_info") and blank._errors is None


def test_import_builds_the_same_instances_as_the_keyword_constructors(district):
    members = bulk.ModelTemplate(Member)
    periods = bulk.ModelTemplate(MembershipPeriod)
    state = lambda obj: {k: v for k, v in vars(obj).items() if k != "_state"}  # noqa: E731
    assert state(members()) == state(Member())
    assert state(members(name="张三", org_path="0001")) == state(Member(name="张三", org_path="0001"))
    day = dt.date(2001, 7, 1)
    assert state(periods(member_id=1, organization_id=2, org_path="0001", start=day, reason="名册导入")) == state(
        MembershipPeriod(member_id=1, organization_id=2, org_path="0001", start=day, reason="名册导入"))
    with acting_as(district.users["district_admin"]):
        data = {"name": "张三", "id_number": "11010519491231002X", "gender": "female", "birth_date": dt.date(1949, 12, 31),
                "ethnicity": "01", "phone": "13900000000", "education": "21", "occupation": "worker", "work_unit": "",
                "post": "", "address": "", "status": "full", "joined_on": dt.date(1975, 7, 1),
                "confirmed_on": dt.date(1976, 7, 1), "standing": "normal", "is_mobile": False,
                "is_lost_contact": False, "organization": district.branch_a1}
        from dangjian.members.services import member_build

        build, reference = roster._member_builder(), member_build(data)
        # with the digest the check computed, and without (member_assign computes it)
        for built in (build(data), build(data, crypto.lookup_digest(data["id_number"]))):
            ciphers = ("id_number_encrypted", "phone_encrypted")  # random nonces: compare what they decrypt to
            assert {k: v for k, v in state(built).items() if k not in ciphers and not k.startswith("_")} == {
                k: v for k, v in state(reference).items() if k not in ciphers and not k.startswith("_")}
            assert [crypto.decrypt(getattr(built, c)) for c in ciphers] == [
                crypto.decrypt(getattr(reference, c)) for c in ciphers]
            assert (built._state.adding, built._state.db) == (reference._state.adding, reference._state.db)
            assert built.organization == district.branch_a1


def test_the_import_template_takes_model_init_where_someone_listens(district):
    """The template builds an instance as its __dict__ only where Model.__init__ would do nothing more: with a
    post_init receiver connected it calls Model.__init__, and the receiver sees every instance."""
    from django.db.models.signals import post_init

    assert bulk.ModelTemplate(Member).plain and bulk.ModelTemplate(MembershipPeriod).plain
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=MembershipPeriod)
    try:
        periods = bulk.ModelTemplate(MembershipPeriod)
        period = periods(member_id=1, org_path="0001")
    finally:
        post_init.disconnect(receiver, sender=MembershipPeriod)
    assert not periods.plain and seen == [period] and (period.member_id, period.org_path) == (1, "0001")
    for template in (bulk.ModelTemplate(MembershipPeriod), periods):  # a name that is no field: refused either way
        with pytest.raises(KeyError):
            template(member=1)


def test_a_loaded_instance_is_what_from_db_builds_with_or_without_listeners(district):
    """The lookup's organisations: only the loaded fields in the instance, the others deferred (read when used)."""
    from django.db.models.signals import post_init

    branch = district.branch_a1
    values = {"id": branch.pk, "name": branch.name, "path": branch.path, "sector": branch.sector}
    deferred = {f.attname for f in Organization._meta.concrete_fields} - set(values)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    templates = [bulk.ModelTemplate(Organization)]
    post_init.connect(receiver, sender=Organization)
    try:
        templates.append(bulk.ModelTemplate(Organization))
        built = [t.loaded("default", values) for t in templates]
    finally:
        post_init.disconnect(receiver, sender=Organization)
    assert [t.plain for t in templates] == [True, False] and seen == [built[1]]
    for org in built:
        assert {k: v for k, v in vars(org).items() if k != "_state"} == values
        assert org.get_deferred_fields() == deferred != set()
        assert (org._state.adding, org._state.db) == (False, "default")
        assert org.kind == branch.kind  # deferred: fetched when read


def test_the_save_takes_each_organisation_as_it_is_when_it_saves(district):
    """Between the validation and the save the branch changes its 领域: the members carry the new one (the
    copy the list filters by), and the counters count them there. A branch dissolved since refuses the file."""
    from dangjian.core.actors import SYSTEM
    from dangjian.orgs.models import OrgKind, Sector
    from dangjian.orgs.services import organization_create, organization_dissolve, organization_update

    user = User.objects.get(pk=district.users["district_admin"].pk)
    with acting_as(user):
        result = roster.validate_roster(actor=user, sheet=roster.read_roster(xlsx([person(), person()])))
        organization_update(actor=SYSTEM, org=district.branch_a1, sector=Sector.GOVERNMENT)
        assert roster.save_roster(actor=user, rows=result.rows) == 2
    saved = Member.unscoped.filter(name__in=[r.data["name"] for r in result.rows])
    assert [m.sector for m in saved] == [Sector.GOVERNMENT] * 2
    assert not tallies.tally_differences()

    empty = organization_create(actor=SYSTEM, parent=district.committee_a, name="丙社区党支部", kind=OrgKind.BRANCH)
    with acting_as(user):
        result = roster.validate_roster(actor=user, sheet=roster.read_roster(xlsx([person(所在党组织="丙社区党支部")])))
        assert result.ok
        organization_dissolve(actor=SYSTEM, org=empty, on=dt.date.today())
        before = (Member.unscoped.count(), audit_count())
        with pytest.raises(ValidationFailed) as refused:
            roster.save_roster(actor=user, rows=result.rows)
    assert "丙社区党支部" in refused.value.fields["organization"][0]
    assert (Member.unscoped.count(), audit_count()) == before


@pytest.mark.parametrize(("cell", "expected"), [
    ("2001-07-01", dt.date(2001, 7, 1)),  # the fast path
    (" 2001-07-01 ", dt.date(2001, 7, 1)),  # spaces: the general path
    ("２００１-０７-０１", dt.date(2001, 7, 1)),  # full-width digits: NFKC on the general path
    ("2001.7.1", dt.date(2001, 7, 1)),
    ("20010701", dt.date(2001, 7, 1)),
    (20010701, dt.date(2001, 7, 1)),
    (dt.datetime(2001, 7, 1, 0, 0), dt.date(2001, 7, 1)),
    ("", None),
    ("2001-02-30", "日期“2001-02-30”不存在"),  # refused by the fast path: the general path words it
    ("2001-13-01", "日期“2001-13-01”不存在"),
    ("1899-12-31", "日期“1899-12-31”不合理"),  # a valid ISO date before 1900 is still refused
    ("2001/07/1x", "无法识别日期“2001/07/1x”"),
])
def test_a_date_cell_reads_the_same_on_the_fast_and_the_general_path(cell, expected):
    if isinstance(expected, str):
        with pytest.raises(roster._CellError, match=re.escape(expected)):
            roster._date(cell)
    else:
        assert roster._date(cell) == expected
