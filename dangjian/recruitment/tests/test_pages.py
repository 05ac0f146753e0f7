"""The 发展党员 pages: who may open what (a sibling branch's case is 404, and a refused write saves nothing),
the step form offers only the steps allowed now and only to who acts, refusals land on their fields in
Chinese, and the list and the case page keep a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.validators import build_id_number
from dangjian.recruitment.models import LocalPractice, RecruitmentCase, RecruitmentPlan, RecruitmentStep
from dangjian.recruitment.tests.factories import START, full_members, open_case, schedule, walk
from dangjian.testing import client_as, make_user, scoping_params

pytestmark = pytest.mark.django_db

LOGIN = 302
ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member", "b_admin")


@pytest.fixture
def world(district):
    """b1: a case in 第一中学党支部 (under 区教育局党委, which may approve), opened by the district admin;
    a1: a case in 甲社区党支部, the branch worker's own. `b_admin` administers 区教育局党委."""
    d = district
    admin = d.users["district_admin"]
    d.users["b_admin"] = make_user("committee_b", role="committee_admin", org=d.committee_b)
    d.cases = {"b1": open_case(admin, d.branch_b1, n=1), "a1": open_case(admin, d.branch_a1, n=2)}
    return d


def _steps(case) -> int:
    return RecruitmentStep.objects.filter(case_id=case.pk).count()


def plain(name):
    return lambda d, rel: reverse(name)


def case_url(name, *extra):
    return lambda d, rel: reverse(name, args=[d.cases[rel].pk, *extra])


#                                                              anon   dist comm work memb b_adm
GET_CASES = [
    ("list", plain("recruitment:list"), None, (LOGIN, 200, 200, 200, 403, 200)),
    ("create", plain("recruitment:create"), None, (LOGIN, 200, 200, 200, 403, 200)),
    ("queue", plain("recruitment:queue"), None, (LOGIN, 200, 200, 403, 403, 200)),
    ("due", plain("recruitment:due"), None, (LOGIN, 200, 200, 200, 403, 200)),
    ("plans", plain("recruitment:plans"), None, (LOGIN, 200, 200, 200, 403, 200)),
    ("practice", plain("recruitment:practice"), None, (LOGIN, 200, 200, 403, 403, 200)),
    ("mine", plain("recruitment:mine"), None, (LOGIN, 200, 200, 200, 200, 200)),
    ("detail", case_url("recruitment:detail"), "b1", (LOGIN, 200, 404, 404, 404, 200)),
    ("detail", case_url("recruitment:detail"), "a1", (LOGIN, 200, 200, 200, 404, 404)),
    ("step form", case_url("recruitment:step", 2), "b1", (LOGIN, 200, 404, 404, 404, 200)),
    ("step form", case_url("recruitment:step", 2), "a1", (LOGIN, 200, 200, 200, 404, 404)),
    ("dossier", case_url("recruitment:dossier"), "b1", (LOGIN, 200, 404, 404, 404, 200)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(GET_CASES, ROLES)))
def test_get(client, world, case, role, expected):
    _, url, rel, _ = case
    response = client_as(client, world, role).get(url(world, rel))
    assert response.status_code == expected


def test_a_sibling_branch_worker_gets_404_and_nothing_is_saved(client, world):
    case = world.cases["b1"]
    client_as(client, world, "branch_worker")
    on = START + dt.timedelta(days=10)
    posts = [
        (reverse("recruitment:step", args=[case.pk, 2]), {"on": on.isoformat(), "body": "branch", "talker": "某人"}),
        (reverse("recruitment:end", args=[case.pk]), {"end-on": on.isoformat(), "end-reason": "撤回"}),
        (reverse("recruitment:move", args=[case.pk]), {"move-to": world.branch_a1.pk, "move-on": on.isoformat()}),
        (reverse("recruitment:document", args=[case.pk]), {"kind": "other"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404
    case.refresh_from_db()
    assert _steps(case) == 1 and case.status == "open" and case.organization_id == world.branch_b1.pk
    assert not AuditEntry.objects.filter(action__in=["recruitment.step.recorded", "recruitment.case.ended",
                                                     "recruitment.case.moved"]).exists()


def test_the_list_filters_and_shows_the_due_badge_in_words(client, world):
    client_as(client, world, "district_admin")
    page = client.get(reverse("recruitment:list")).content.decode()
    assert "申请人001" in page and "申请人002" in page
    # Both applied in 2024 and nobody talked to them within a month: overdue, said in words.
    assert "已超期" in page and "第2步 党组织派人谈话" in page
    assert "新建（递交入党申请书）" in page
    page = client.get(reverse("recruitment:list"), {"org": world.committee_b.pk}).content.decode()
    assert "申请人001" in page and "申请人002" not in page
    page = client.get(reverse("recruitment:list"), {"q": "002"}).content.decode()
    assert "申请人001" not in page and "申请人002" in page
    page = client.get(reverse("recruitment:list"), {"stage": "activist"}).content.decode()
    assert "申请人001" not in page
    client.logout()
    client_as(client, world, "branch_worker")
    page = client.get(reverse("recruitment:list")).content.decode()
    assert "申请人002" in page and "申请人001" not in page
    assert client.get(reverse("recruitment:list"), {"org": world.branch_b1.pk}).status_code == 404


def _person(n, **kw):
    return {"name": f"新申请人{n}", "id_number": build_id_number("110105", dt.date(2000, 1, 5), 100 + n, "male"),
            "phone": "13900002222", "ethnicity": "01", "education": "21", "occupation": "professional",
            "work_unit": "某公司", "organization": kw.pop("organization"), "applied_on": "2026-11-01",
            "consent_method": "written", "consent_on": "2026-11-01", **kw}


def test_a_new_case_is_created_from_the_form(client, world):
    client_as(client, world, "branch_worker")
    account = make_user("applicant1", display_name="新申请人1")  # the applicant's own account (same name)
    data = _person(1, organization=world.branch_a1.pk, username=account.username)
    response = client.post(reverse("recruitment:create"), data)
    assert response.status_code == 302
    case = RecruitmentCase.unscoped.get(name="新申请人1")
    assert response["Location"] == reverse("recruitment:detail", args=[case.pk])
    assert case.user == account and case.gender == "male" and case.id_number_masked.count("*") >= 8


@pytest.mark.parametrize("change, field_message", [
    ({"id_number": "110105200001051234"}, "身份证号："),
    ({"id_number": build_id_number("110105", dt.date(2010, 1, 5), 7, "male")}, "未满18周岁"),
    ({"applied_on": "2099-01-01"}, "递交申请日期：不能晚于今天"),
    ({"username": "no-such-user"}, "本人登录账号：没有这个账号"),
    ({"phone": "12345"}, "手机号码："),
])
def test_a_bad_new_case_shows_the_field_message_and_saves_nothing(client, world, change, field_message):
    client_as(client, world, "branch_worker")
    before = RecruitmentCase.unscoped.count()
    response = client.post(reverse("recruitment:create"), {**_person(2, organization=world.branch_a1.pk), **change})
    assert response.status_code == 200
    assert field_message in response.content.decode()
    assert RecruitmentCase.unscoped.count() == before


def test_a_branch_worker_cannot_open_a_case_in_a_sibling_branch(client, world):
    client_as(client, world, "branch_worker")
    response = client.post(reverse("recruitment:create"), _person(3, organization=world.branch_b1.pk))
    assert response.status_code == 200 and "培养党组织：" in response.content.decode()
    assert not RecruitmentCase.unscoped.filter(name="新申请人3").exists()


def test_the_case_page_offers_only_the_steps_allowed_now(client, world):
    case = world.cases["a1"]
    client_as(client, world, "branch_worker")
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "记录第2步" in page and "记录第3步" not in page
    assert "一、申请入党" in page and "递交入党申请书" in page and case.id_number_masked in page
    assert "终止发展" in page and "转移档案" in page and "导出纪实档案（Word文档）" in page
    response = client.get(reverse("recruitment:step", args=[case.pk, 3]))
    assert response.status_code == 409 and "请先完成第2步" in response.content.decode()
    assert client.get(reverse("recruitment:step", args=[case.pk, 99])).status_code == 404
    assert client.get(reverse("recruitment:step", args=[case.pk, 1])).status_code == 409


def test_a_branch_worker_is_not_offered_the_committees_steps(client, world):
    admin = world.users["district_admin"]
    case = walk(admin, world.cases["a1"], until=3)  # activist: next the 党工委 files it (4), the branch names mentors (5)
    client_as(client, world, "branch_worker")
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "记录第5步" in page and "记录第4步" not in page
    assert "等待甲街道党工委办理" in page
    assert client.get(reverse("recruitment:step", args=[case.pk, 4])).status_code == 403
    on = schedule(START)[4]
    assert client.post(reverse("recruitment:step", args=[case.pk, 4]),
                       {"on": on.isoformat(), "body": "committee"}).status_code == 403
    assert _steps(case) == 3
    client.logout()
    client_as(client, world, "committee_admin")
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "记录第4步" in page
    form = client.get(reverse("recruitment:step", args=[case.pk, 4])).content.decode()
    assert 'value="committee"' in form and 'value="branch"' not in form


def test_a_step_is_recorded_through_the_form_and_shown_on_the_timeline(client, world):
    case = world.cases["a1"]
    client_as(client, world, "branch_worker")
    form = client.get(reverse("recruitment:step", args=[case.pk, 2])).content.decode()
    assert "谈话人" in form and 'name="outcome"' not in form and 'name="voters_expected"' not in form
    on = schedule(START)[2]
    response = client.post(reverse("recruitment:step", args=[case.pk, 2]),
                           {"on": on.isoformat(), "body": "branch", "talker": "赵书记", "note": "谈话顺利"})
    assert response.status_code == 302
    record = RecruitmentStep.objects.get(case_id=case.pk, number=2)
    assert record.on == on and record.details["talker"] == "赵书记" and record.entered_by == world.users["branch_worker"]
    page = client.get(response["Location"]).content.decode()
    assert f"{on.year}年{on.month}月{on.day}日 · 第2步 党组织派人谈话" in page and "赵书记" in page
    assert "适用2014年细则" in page


def test_a_late_step_is_kept_and_marked_in_red(client, world):
    case = world.cases["a1"]
    client_as(client, world, "branch_worker")
    on = START + dt.timedelta(days=60)  # the talk is due within a month of the application
    response = client.post(reverse("recruitment:step", args=[case.pk, 2]),
                           {"on": on.isoformat(), "body": "branch", "talker": "赵书记"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'class="rc-late"' in page and "超期29天" in page and "一个月内派人谈话" in page


def test_a_date_before_the_previous_step_is_refused_on_its_field(client, world):
    case = world.cases["a1"]
    client_as(client, world, "branch_worker")
    response = client.post(reverse("recruitment:step", args=[case.pk, 2]),
                           {"on": (START - dt.timedelta(days=3)).isoformat(), "body": "branch", "talker": "赵书记"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "日期：不能早于第1步“递交入党申请书”的日期" in page
    assert _steps(case) == 1 and not AuditEntry.objects.filter(action="recruitment.step.recorded").exists()


def test_a_missing_detail_is_refused_on_its_field(client, world):
    case = world.cases["a1"]
    client_as(client, world, "branch_worker")
    response = client.post(reverse("recruitment:step", args=[case.pk, 2]),
                           {"on": schedule(START)[2].isoformat(), "body": "branch", "talker": ""})
    assert response.status_code == 200 and "谈话人：请填写" in response.content.decode()
    assert _steps(case) == 1


def test_a_vote_without_quorum_names_the_article_and_saves_nothing(client, world):
    d, admin = world, world.users["district_admin"]
    case = walk(admin, d.cases["b1"], until=14, mentors=full_members(d.branch_b1), sponsors=full_members(d.branch_b1))
    before = _steps(case)
    client_as(client, d, "district_admin")
    form = client.get(reverse("recruitment:step", args=[case.pk, 15])).content.decode()
    assert 'name="voters_present"' in form and 'name="meeting"' in form
    on = schedule(START)[15]
    vote = {"on": on.isoformat(), "body": "branch_general", "voters_expected": 10, "voters_present": 5,
            "written_opinions": 0, "yes": 5, "no": 0, "abstain": 0}
    response = client.post(reverse("recruitment:step", args=[case.pk, 15]), vote)
    page = response.content.decode()
    assert response.status_code == 200
    # on its field, and at the top with the regulation in force on the meeting's day (2025: the 2014 text)
    assert "实到会有表决权党员：实到会有表决权党员5人，未超过应到10人的半数，会议不能表决</p>" in page
    top = page.split('class="form-errors" role="alert"')[1].split("</div>")[0]
    assert "未超过应到10人的半数" in top and "发展党员工作细则》（2014年）" in top
    assert _steps(case) == before
    # yes votes must exceed half of those who SHOULD attend, not of those present
    response = client.post(reverse("recruitment:step", args=[case.pk, 15]), {**vote, "voters_present": 8, "yes": 5})
    assert "赞成：赞成5票，未超过应到会有表决权党员10人的半数" in response.content.decode()
    assert _steps(case) == before
    response = client.post(reverse("recruitment:step", args=[case.pk, 15]), {**vote, "voters_present": 8, "yes": 7,
                                                                             "no": 1})
    assert response.status_code == 302 and _steps(case) == before + 1


def test_the_people_field_lists_full_members_of_the_case_organisation(client, world):
    d, admin = world, world.users["district_admin"]
    case = walk(admin, d.cases["a1"], until=3)
    client_as(client, d, "branch_worker")
    form = client.get(reverse("recruitment:step", args=[case.pk, 5])).content.decode()
    assert "张三" in form and "李四" not in form  # 李四 is in the sibling branch
    on = schedule(START)[5]
    response = client.post(reverse("recruitment:step", args=[case.pk, 5]),
                           {"on": on.isoformat(), "body": "branch", "people": []})
    assert "培养联系人：培养联系人应为1至2名，现为0名" in response.content.decode()
    response = client.post(reverse("recruitment:step", args=[case.pk, 5]),
                           {"on": on.isoformat(), "body": "branch", "people": [d.member_a1.pk]})
    assert response.status_code == 302
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "培养联系人" in page and "张三" in page


def test_end_and_move_from_the_case_page(client, world):
    d = world
    case = d.cases["a1"]
    client_as(client, d, "committee_admin")
    url = reverse("recruitment:move", args=[case.pk])
    response = client.post(url, {"move-to": d.branch_a1.pk, "move-on": "2026-11-01"})
    assert response.status_code == 422  # the same organisation is not in the list
    response = client.post(url, {"move-to": d.branch_a2.pk, "move-on": "2026-11-01"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.organization_id == d.branch_a2.pk
    response = client.post(reverse("recruitment:end", args=[case.pk]), {"end-on": "2026-11-02", "end-reason": ""})
    assert response.status_code == 422 and "终止原因：" in response.content.decode()
    response = client.post(reverse("recruitment:end", args=[case.pk]),
                           {"end-on": "2026-11-02", "end-reason": "本人撤回入党申请"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "ended"
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "记录第" not in page and "终止发展" not in page and "本人撤回入党申请" in page


def test_a_document_is_uploaded_and_downloaded_through_the_case(client, world, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    case = world.cases["a1"]
    client_as(client, world, "branch_worker")
    bad = SimpleUploadedFile("申请书.pdf", b"not a pdf", content_type="application/pdf")
    response = client.post(reverse("recruitment:document", args=[case.pk]), {"kind": "application", "file": bad})
    assert response.status_code == 422 and "文件：文件内容与扩展名不符" in response.content.decode()
    good = SimpleUploadedFile("申请书.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(reverse("recruitment:document", args=[case.pk]), {"kind": "application", "file": good})
    assert response.status_code == 302
    doc = case.documents.get()
    response = client.get(reverse("recruitment:document_file", args=[case.pk, doc.pk]))
    assert response.status_code == 200 and response.content == b"%PDF-1.4 test"
    assert response["Content-Type"] == "application/pdf" and "attachment" in response["Content-Disposition"]
    client.logout()
    client_as(client, world, "b_admin")
    assert client.get(reverse("recruitment:document_file", args=[case.pk, doc.pk])).status_code == 404


def test_the_queue_and_the_due_list(client, world):
    d, admin = world, world.users["district_admin"]
    walk(admin, d.cases["b1"], until=3)
    client_as(client, d, "b_admin")
    page = client.get(reverse("recruitment:queue")).content.decode()
    assert "申请人001" in page and "第4步 上级党委备案" in page and "区教育局党委" in page
    client.logout()
    client_as(client, d, "committee_admin")
    assert "申请人001" not in client.get(reverse("recruitment:queue")).content.decode()
    page = client.get(reverse("recruitment:due")).content.decode()
    assert "申请人002" in page and "已超期" in page and "申请人001" not in page


def test_plans_and_statistics(client, world):
    d = world
    client_as(client, d, "b_admin")
    page = client.get(reverse("recruitment:plans"), {"year": 2026}).content.decode()
    assert "区教育局党委" in page and "未制定2026年计划" in page and "审批发展党员0人" in page
    response = client.post(reverse("recruitment:plans") + "?year=2026",
                           {"organization": d.committee_b.pk, "year": 2026, "total": 5, "women": 9})
    assert response.status_code == 200 and "其中女性：不能多于计划发展党员总数5" in response.content.decode()
    response = client.post(reverse("recruitment:plans") + "?year=2026",
                           {"organization": d.committee_b.pk, "year": 2026, "total": 5, "women": 2})
    assert response.status_code == 302
    assert RecruitmentPlan.unscoped.get(organization=d.committee_b, year=2026).total == 5
    page = client.get(reverse("recruitment:plans"), {"year": 2026, "org": d.branch_b1.pk, "start": "2024-01-01",
                                                     "end": "2026-11-29"}).content.decode()
    assert "第一中学党支部" in page and 'class="n">1<' in page  # the application of 申请人001
    client.logout()
    client_as(client, d, "branch_worker")  # sees, may not plan
    page = client.get(reverse("recruitment:plans")).content.decode()
    assert "保存计划" not in page
    assert client.post(reverse("recruitment:plans"), {"organization": d.committee_a.pk, "year": 2026,
                                                      "total": 1}).status_code == 403


def test_local_practice_settings_show_what_is_inherited(client, world):
    d = world
    client_as(client, d, "district_admin")
    response = client.post(reverse("recruitment:practice"), {"org": d.root.pk, "thought_report_months": 3})
    assert response.status_code == 302
    response = client.post(reverse("recruitment:practice"), {"org": d.committee_a.pk, "training_min_days": 0})
    assert "应在1至120之间" in response.content.decode()
    page = client.get(reverse("recruitment:practice"), {"org": d.committee_a.pk}).content.decode()
    assert "3（示范区委）" in page
    client.logout()
    client_as(client, d, "committee_admin")
    assert client.get(reverse("recruitment:practice"), {"org": d.committee_b.pk}).status_code == 404
    response = client.post(reverse("recruitment:practice"), {"org": d.committee_a.pk, "applicant_wait_months": 6})
    assert response.status_code == 302
    assert LocalPractice.unscoped.get(organization=d.committee_a).applicant_wait_months == 6


def test_the_persons_own_progress_page(client, world):
    d = world
    case = walk(d.users["district_admin"], d.cases["a1"], until=3)
    RecruitmentCase.unscoped.filter(pk=case.pk).update(user=d.users["nobody"])
    client_as(client, d, "nobody")
    page = client.get(reverse("recruitment:mine")).content.decode()
    assert "我的入党进度" in page and "二、入党积极分子的确定和培养教育" in page
    assert "第3步 推荐和确定入党积极分子" in page and "下一步：第4步 上级党委备案" in page
    assert 'class="centre"' in page or "centre" in page
    # the member centre shows the card only to a member who has a case
    client.logout()
    client_as(client, d, "member")
    assert "card-recruitment" not in client.get(reverse("web:centre")).content.decode()
    RecruitmentCase.unscoped.filter(pk=case.pk).update(user=d.users["member"])
    assert "card-recruitment" in client.get(reverse("web:centre")).content.decode()


def test_the_dossier_download_is_named_and_audited(client, world):
    case = world.cases["b1"]
    client_as(client, world, "b_admin")
    response = client.get(reverse("recruitment:dossier", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''%E5%8F%91%E5%B1%95" in response["Content-Disposition"]  # 发展…, RFC 5987
    assert "%E7%94%B3%E8%AF%B7%E4%BA%BA001.docx" in response["Content-Disposition"]  # 申请人001
    entry = AuditEntry.objects.get(action="recruitment.dossier.exported")
    assert entry.target_id == str(case.pk) and entry.actor == world.users["b_admin"]


# --- query counts ----------------------------------------------------------------------------------------

def _count(client, url) -> int:
    client.get(url)  # warm the session and the caches
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_runs_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    d, admin = world, world.users["district_admin"]
    client_as(client, d, "district_admin")
    url = reverse("recruitment:list")
    RecruitmentCase.unscoped.exclude(pk=d.cases["b1"].pk).delete()  # one case
    one = _count(client, url)
    for n in range(3, 7):
        open_case(admin, d.branch_b1 if n % 2 else d.branch_a1, n=n)
    five = _count(client, url)
    assert five == one
    with django_assert_max_num_queries(12):
        client.get(url)
    assert _count(client, reverse("recruitment:due")) <= 12


def test_the_case_page_runs_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    d, admin = world, world.users["district_admin"]
    client_as(client, d, "district_admin")
    fresh = _count(client, reverse("recruitment:detail", args=[d.cases["a1"].pk]))
    case = walk(admin, d.cases["b1"], until=14, mentors=full_members(d.branch_b1), sponsors=full_members(d.branch_b1))
    assert _steps(case) >= 14
    walked = _count(client, reverse("recruitment:detail", args=[case.pk]))
    assert walked == fresh
    with django_assert_max_num_queries(18):
        client.get(reverse("recruitment:detail", args=[case.pk]))


def _held_meeting(org, on: dt.date, members, title="支部委员会会议"):
    from django.utils import timezone

    from dangjian.core.actors import SYSTEM
    from dangjian.core.scoping import system_scope
    from dangjian.meetings import services as meetings

    when = timezone.make_aware(dt.datetime.combine(on, dt.time(15, 0)))
    with system_scope("test: a meeting that took place"):
        meeting = meetings.meeting_plan(actor=SYSTEM, organization=org, title=title, kinds=["committee_meeting"],
                                        starts_at=when, place="党员活动室", agenda="确定入党积极分子")
        meeting = meetings.meeting_notify(actor=SYSTEM, meeting=meeting)
        return meetings.meeting_record(actor=SYSTEM, meeting=meeting, held_at=when, minutes="讨论了入党积极分子人选。",
                                       chair="支部书记", recorder="组织委员",
                                       attendance={m.pk: (True, "") for m in members})


def test_the_meeting_is_chosen_from_the_acting_organisations_held_meetings(client, world):
    d, admin = world, world.users["district_admin"]
    case = walk(admin, d.cases["a1"], until=2)
    on = schedule(START)[3]
    own = _held_meeting(d.branch_a1, on, [d.member_a1])
    other = _held_meeting(d.branch_a2, on, [d.member_a2], title="乙社区支部委员会会议")
    client_as(client, d, "branch_worker")
    url = reverse("recruitment:step", args=[case.pk, 3])
    form = client.get(url).content.decode()
    assert f'value="{own.pk}"' in form and "乙社区支部委员会会议" not in form
    data = {"body": "branch_committee", "nomination": "党员推荐", "meeting": own.pk}
    response = client.post(url, {**data, "on": (on + dt.timedelta(days=1)).isoformat()})
    assert "会议：所选会议召开于" in response.content.decode() and _steps(case) == 2
    response = client.post(url, {**data, "meeting": other.pk, "on": on.isoformat()})
    assert "会议：请从列表中选择" in response.content.decode() and _steps(case) == 2
    response = client.post(url, {**data, "on": on.isoformat()})
    assert response.status_code == 302
    assert RecruitmentStep.objects.get(case_id=case.pk, number=3).meeting_id == own.pk
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert reverse("meetings:detail", args=[own.pk]) in page
