"""下载我的个人信息 (个人信息保护法 第四十五条): a person's own data as one .xlsx, a sheet per category: only their
own rows (two members of one branch with the same meetings, dues and messages), full ID number and phone for
themself, an account sheet only for a worker, audited, never cached, login required, bounded queries."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from dangjian.audit.models import AuditEntry
from dangjian.core import crypto
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.dues import services as dues_services
from dangjian.dues.models import Method
from dangjian.meetings.tests.conftest import notified, record
from dangjian.members.models import Member
from dangjian.notifications import notices
from dangjian.notifications.services import Message, notification_create
from dangjian.testing import PASSWORD, acting_as, make_member, make_user
from dangjian.transfers.models import Transfer
from dangjian.transfers.services import transfer_create
from dangjian.web.personal_data import personal_data_export

DATA = reverse("web:centre_data")
MEMBER_SHEETS = ["账号", "党员档案", "组织关系变动", "组织生活", "党费", "组织关系转接", "消息"]


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def workbook(content: bytes) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def download(client) -> dict[str, list[list]]:
    response = client.post(DATA)
    assert response.status_code == 200
    # Read to the end, which closes the temporary file behind the FileResponse; a second close() would fire
    # request_finished and close the database connection under the test's transaction (PostgreSQL).
    return workbook(b"".join(response.streaming_content))


def everything(sheets) -> str:
    return "\n".join("\t".join(str(c) for c in row) for rows in sheets.values() for row in rows)


def greeting(member, key):
    return Message(kind=notices.POLITICAL_BIRTHDAY.code, member=member, dedupe_key=key,
                   context={"姓名": member.name, "入党周年": 5, "入党日期": "2021年7月1日", "党组织": "甲社区党支部",
                            "寄语": ""})


def add_records(district, zhao, *, n: int, tag: str) -> None:
    """n meetings both members were called to (张三 present, 赵一 away), n messages each, a transfer of 张三's."""
    for i in range(n):
        meeting = notified(district.branch_a1, title=f"主题党日{tag}{i}",
                           when=timezone.now() - timezone.timedelta(days=2 + i))
        record(meeting, [district.member_a1, zhao], absent={zhao.pk})
    with system_scope("test: messages"):
        notification_create(actor=SYSTEM, messages=[greeting(m, f"{tag}-{m.pk}-{i}")
                                                    for m in (district.member_a1, zhao) for i in range(n)])


@pytest.fixture
def branch(district):
    """张三 (the member user) and 赵一, both of 甲社区党支部, with their own accounts, dues and meetings."""
    zhao = make_member(district.branch_a1, name="赵一")
    zhao_user = make_user("zhao_a1")
    Member.unscoped.filter(pk=zhao.pk).update(user=zhao_user)
    zhao.refresh_from_db()
    today = timezone.localdate()
    with system_scope("test: dues"):
        for m in (district.member_a1, zhao):
            dues_services.assessment_set(actor=SYSTEM, member=m, year=today.year, category="employed",
                                         dues_base_fen=450_000, today=today,
                                         paid_through=today.replace(day=1) - timezone.timedelta(days=1))
            dues_services.payment_record(actor=SYSTEM, member=m, first_month=None, months=1,
                                         method=Method.MONTHLY, today=today, paid_on=today)
    add_records(district, zhao, n=1, tag="甲")
    with system_scope("test: transfer"):
        transfer_create(actor=SYSTEM, member=district.member_a1, kind="within", to_org=district.branch_a2,
                        reason="搬家到乙社区")
    return zhao, zhao_user


def test_a_member_downloads_their_own_data_and_nobody_else_s(client, district, branch):
    zhao, _ = branch
    me = Member.unscoped.get(pk=district.member_a1.pk)
    login(client, district.users["member"])
    response = client.post(DATA)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;") and ".xlsx" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    sheets = workbook(b"".join(response.streaming_content))  # read to the end: that closes it (see download)
    assert list(sheets) == MEMBER_SHEETS
    record_rows = dict((r[0], r[1]) for r in sheets["党员档案"][1:])
    # their own full ID number and phone: theirs to have (第四十五条), not the masked form
    assert record_rows["身份证号"] == crypto.decrypt(me.id_number_encrypted) != me.id_number_masked
    assert record_rows["手机号码"] == crypto.decrypt(me.phone_encrypted)
    assert record_rows["姓名"] == "张三" and record_rows["所在党组织"] == "甲社区党支部"
    assert [r[6] for r in sheets["组织生活"][1:]] == ["出席"]
    assert [r[0] for r in sheets["党费"][1:]] == ["已交至", "年度核定（月交纳额，起交 1 月）", "交纳"]
    assert [r[6] for r in sheets["组织关系转接"][1:]] == ["搬家到乙社区"]
    messages = sheets["消息"][1:]  # the greeting, and the meeting's "please confirm the record"
    assert "张三同志，祝您政治生日快乐" in [r[2] for r in messages] and all("张三同志" in r[3] for r in messages)
    assert sheets["组织关系变动"][1][0] == "甲社区党支部"
    # nothing of 赵一's, who sat in the same meeting, paid to the same branch and got the same kind of message
    text = everything(sheets)
    assert "赵一" not in text and crypto.decrypt(zhao.id_number_encrypted) not in text
    assert zhao.phone_masked not in text and crypto.decrypt(zhao.phone_encrypted) not in text
    assert "\t缺席\t" not in text and "出差" not in text, "赵一's absence and its reason"


def test_the_other_member_gets_their_own_rows(client, district, branch):
    zhao, zhao_user = branch
    login(client, zhao_user)
    sheets = download(client)
    assert [r[6:8] for r in sheets["组织生活"][1:]] == [["缺席", "出差"]]
    assert [r[0] for r in sheets["组织关系转接"][1:]] == ["（无记录）"], "张三's transfer is not theirs"
    assert "张三" not in everything(sheets)


def test_the_export_is_audited_without_any_value(client, district, branch):
    login(client, district.users["member"])
    download(client)
    [entry] = AuditEntry.objects.filter(action="accounts.personal_data.exported")
    member = district.users["member"]
    assert (entry.actor_id, entry.target_id, entry.success) == (member.pk, str(member.pk), True)
    assert entry.changes["sheets"]["组织生活"] == 1 and entry.changes["full_id_number_and_phone"] is True
    assert crypto.decrypt(district.member_a1.id_number_encrypted) not in str(entry.changes)


def test_a_worker_without_a_member_record_gets_the_account_sheet_only(client, district):
    worker = district.users["branch_worker"]
    client.post(reverse("accounts:login"), {"username": worker.username, "password": PASSWORD})  # audited login
    page = client.get(DATA).content.decode()
    assert "下载我的个人信息" in page and "完整的身份证号" not in page
    sheets = download(client)
    assert list(sheets) == ["账号"]
    rows = dict((r[0], r[1]) for r in sheets["账号"][1:] if r[0] != "登录记录")
    assert rows["用户名"] == "worker_a1" and rows["角色"] == "支部党务工作者（甲社区党支部）"
    assert any(r[0] == "登录记录" for r in sheets["账号"][1:]), "the login just made is listed"
    entry = AuditEntry.objects.get(action="accounts.personal_data.exported")
    assert entry.changes == {"sheets": {"账号": len(sheets["账号"]) - 1}, "full_id_number_and_phone": False}


def test_consent_records_are_in_the_account_sheet(client, district):
    from dangjian.accounts.services import consent_accept

    member = district.users["member"]
    consent_accept(actor=member, ip="10.1.2.3")
    login(client, member)
    rows = download(client)["账号"]
    assert any(r[0] == "同意记录" and "10.1.2.3" in r[1] for r in rows)


def test_an_applicant_s_case_and_a_worker_s_bookings_get_their_sheets(client, district):
    from dangjian.bases.tests.conftest import book, make_site, make_slot
    from dangjian.recruitment.models import RecruitmentCase
    from dangjian.recruitment.tests.factories import open_case

    applicant = make_user("applicant")
    with system_scope("test: case"):
        case = open_case(SYSTEM, district.branch_a1)
    RecruitmentCase.unscoped.filter(pk=case.pk).update(user=applicant)
    login(client, applicant)
    sheets = download(client)
    assert list(sheets) == ["账号", "发展党员档案"]
    assert sheets["发展党员档案"][1][0] == "甲社区党支部"

    worker = district.users["branch_worker"]
    site = make_site(district.committee_a)
    slot = make_slot(site, timezone.localdate() + timezone.timedelta(days=3))
    book(None, slot, district.branch_a1, worker, contact_name="李联系", contact_phone="13811112222")
    login(client, worker)
    sheets = download(client)
    assert list(sheets) == ["账号", "阵地预约"]
    assert sheets["阵地预约"][1][6:8] == ["李联系", "13811112222"]
    from dangjian.bases import selectors

    selectors.forget_public_choices()  # the public choices are cached; this test's site must not outlive it


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_login(client, db, method):
    response = getattr(client, method)(DATA)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not AuditEntry.objects.filter(action="accounts.personal_data.exported").exists()


def test_linked_from_the_member_centre_and_the_account_page(client, district):
    login(client, district.users["member"])
    assert f'href="{DATA}"' in client.get(reverse("web:centre")).content.decode()
    assert f'href="{DATA}"' in client.get(reverse("accounts:security")).content.decode()
    page = client.get(DATA).content.decode()
    assert "完整的身份证号和手机号码" in page and "妥善保存" in page


def _export_queries(user) -> int:
    with acting_as(user), CaptureQueriesContext(connection) as queries:
        personal_data_export(actor=user, target=io.BytesIO())
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_rows(district, branch, django_assert_max_num_queries):
    from dangjian.accounts.models import User

    zhao, _ = branch
    user = User.objects.get(pk=district.users["member"].pk)
    few = _export_queries(user)
    add_records(district, zhao, n=6, tag="乙")
    with system_scope("test: more transfers"):  # one open at a time: each earlier one is marked withdrawn
        for _ in range(3):
            Transfer.unscoped.filter(member=district.member_a1).update(status="withdrawn")
            transfer_create(actor=SYSTEM, member=district.member_a1, kind="out", to_external="外省某党委",
                            reason="工作调动")
    user = User.objects.get(pk=district.users["member"].pk)
    assert _export_queries(user) == few, "no query per meeting, payment, message or transfer"
    user = User.objects.get(pk=district.users["member"].pk)
    with acting_as(user), django_assert_max_num_queries(24):  # 22 on SQLite today, the audit entry included
        personal_data_export(actor=user, target=io.BytesIO())
