"""Pages: the scoping table (page × role × relation → status), forms that save through the services, the
member's phone pages, and query counts that do not grow with rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.meetings import services
from dangjian.meetings.models import Attendance, Meeting, MeetingStatus, ReviewBatch, SpotCheck
from dangjian.testing import PASSWORD, make_member

from .test_compliance import held

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302
ORG = {"own": "branch_a1", "ancestor": "committee_a", "sibling": "branch_a2", "other": "branch_b1"}


@pytest.fixture
def meetings(district):
    """One recorded meeting in each branch, named by relation to the branch worker (支部A1)."""
    out = {}
    for rel in ("own", "sibling", "other"):
        out[rel] = held(getattr(district, ORG[rel]), dt.date(2026, 11, 3), ["theme_day"])
    return out


def login(client, district, role):
    if role != "anonymous":
        assert client.login(username=district.users[role].username, password=PASSWORD)
    return client


def plain(name):
    return lambda d, ms, rel: reverse(name)


def meeting_url(name):
    return lambda d, ms, rel: reverse(name, args=[ms[rel].pk])


def org_url(name):
    return lambda d, ms, rel: reverse(name, args=[getattr(d, ORG[rel]).pk])


#                                      anon  dist  comm  work  memb  sys   sec   aud
GET_CASES = [
    ("list", plain("meetings:list"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("detail", meeting_url("meetings:detail"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404)),
    ("detail", meeting_url("meetings:detail"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("detail", meeting_url("meetings:detail"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("record form", meeting_url("meetings:record"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404)),
    ("record form", meeting_url("meetings:record"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("versions", meeting_url("meetings:versions"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404)),
    ("create form", plain("meetings:create"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("compliance", plain("meetings:compliance"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("statistics", plain("meetings:statistics"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("review", plain("meetings:review"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("spot checks", plain("meetings:spot_checks"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("theme day", org_url("meetings:theme_day"), "own", (LOGIN, 200, 200, 200, 403, 404, 403, 404)),
    ("theme day", org_url("meetings:theme_day"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("appraisals", org_url("meetings:appraisals"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404)),
    ("appraisals", org_url("meetings:appraisals"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("my meetings", plain("meetings:my"), None, (LOGIN, 404, 404, 404, 200, 404, 404, 404)),
    ("my meeting", meeting_url("meetings:my_detail"), "own", (LOGIN, 404, 404, 404, 200, 404, 404, 404)),
    ("my meeting", meeting_url("meetings:my_detail"), "sibling", (LOGIN, 404, 404, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize("case, role, expected", [
    pytest.param(c, role, status, id=f"{c[0]}-{c[2] or '-'}-{role}")
    for c in GET_CASES for role, status in zip(ROLES, c[3], strict=True)])
def test_get(client, district, meetings, case, role, expected):
    _, url, rel, _ = case
    response = login(client, district, role).get(url(district, meetings, rel))
    assert response.status_code == expected
    if expected == 200 and rel and "meeting" in url(district, meetings, rel) and case[0] != "theme day":
        assert meetings[rel].title in response.content.decode()


def state():
    with system_scope("test: snapshot"):
        return (
            list(Meeting.unscoped.order_by("pk").values_list("pk", "status", "title", "minutes", "version")),
            list(Attendance.unscoped.order_by("pk").values_list("pk", "present", "confirmed_at")),
            ReviewBatch.unscoped.count(), SpotCheck.unscoped.count(),
            AuditEntry.objects.filter(success=True, action__startswith="meetings.").count(),
        )


def _plan_post(d, ms, rel):
    return {"organization": getattr(d, ORG[rel]).pk, "title": "十二月支部党员大会", "kinds": ["general_meeting"],
            "starts_at": "2026-12-10T09:00", "place": "活动室"}


def _freeze_post(d, ms, rel):
    return {}


WRITE_CASES = [
    ("plan", plain("meetings:create"), "own", _plan_post, (LOGIN, 302, 302, 302, 403, 403, 403, 403)),
    # out of the worker's subtree the organisation is not among the choices: a field error, nothing saved
    ("plan", plain("meetings:create"), "sibling", _plan_post, (LOGIN, 302, 302, 200, 403, 403, 403, 403)),
    ("freeze", meeting_url("meetings:freeze"), "own", _freeze_post, (LOGIN, 302, 302, 302, 404, 404, 404, 404)),
    ("freeze", meeting_url("meetings:freeze"), "sibling", _freeze_post, (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
    ("freeze", meeting_url("meetings:freeze"), "other", _freeze_post, (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
    ("review", plain("meetings:review"), "own",
     lambda d, ms, rel: {"organization": d.branch_a1.pk, "start": "2026-01-01", "end": "2026-11-29"},
     (LOGIN, 302, 302, 200, 403, 403, 403, 403)),
    ("spot check", plain("meetings:spot_checks"), "own",
     lambda d, ms, rel: {"organization": d.branch_a1.pk, "checked_on": "2026-11-20", "findings": "缺少签名"},
     (LOGIN, 302, 302, 200, 403, 403, 403, 403)),
]


@pytest.mark.parametrize("case, role, expected", [
    pytest.param(c, role, status, id=f"{c[0]}-{c[2] or '-'}-{role}")
    for c in WRITE_CASES for role, status in zip(ROLES, c[4], strict=True)])
def test_write(client, district, meetings, case, role, expected):
    _, url, rel, data, _ = case
    with system_scope("test"):  # the confirmation window has passed for every meeting
        Meeting.unscoped.update(confirm_until=dt.date(2026, 11, 1))
    client = login(client, district, role)
    before = state()
    response = client.post(url(district, meetings, rel), data(district, meetings, rel))
    assert response.status_code == expected
    after = state()
    if expected == 302 and role != "anonymous":
        assert after != before and after[-1] > before[-1]
    else:
        assert after == before


def test_record_page_saves_and_refuses_with_field_messages(client, district):
    d = district
    extra = make_member(d.branch_a1, name="赵一")
    with system_scope("test"):
        m = services.meeting_plan(actor=SYSTEM, organization=d.branch_a1, title="支部党员大会", place="室",
                                  kinds=["general_meeting"], starts_at=timezone.now() - dt.timedelta(hours=3))
        services.meeting_notify(actor=SYSTEM, meeting=m)
    login(client, d, "branch_worker")
    url = reverse("meetings:record", args=[m.pk])
    page = client.get(url).content.decode()
    assert "张三" in page and "赵一" in page
    base = {"held_at": timezone.localtime(m.starts_at).strftime("%Y-%m-%dT%H:%M"), "chair": "书记", "recorder": "委员",
            "minutes": "学习讨论", f"present_{d.member_a1.pk}": "on"}
    # 赵一 absent without a reason; a resolution without its vote counts
    response = client.post(url, {**base, "r1_text": "决议一"})
    text = response.content.decode()
    assert response.status_code == 200 and "赞成票数" in text
    response = client.post(url, {**base, "r1_text": "决议一", "r1_yes": "1", "r1_no": "0", "r1_abstain": "0"})
    assert response.status_code == 200 and "赵一 的缺席原因" in response.content.decode()
    # 1 of 2 voting members present: quorum (半数以上) holds, 1 yes is not more than half of 2
    response = client.post(url, {**base, f"reason_{extra.pk}": "出差", "r1_text": "决议一", "r1_yes": "1",
                                 "r1_no": "0", "r1_abstain": "0"})
    assert response.status_code == 302
    with system_scope("test"):
        m.refresh_from_db()
        assert m.status == MeetingStatus.RECORDED and m.resolutions.get().passed is False
    detail = client.get(reverse("meetings:detail", args=[m.pk])).content.decode()
    assert "未通过" in detail and "出差" in detail


def test_member_confirms_on_the_phone_page(client, district):
    d = district
    m = held(d.branch_a1, timezone.localdate() - dt.timedelta(days=1), ["theme_day"])
    login(client, d, "member")
    page = client.get(reverse("meetings:my")).content.decode()
    assert "待我确认记录" in page and 'name="viewport"' in page
    detail = client.get(reverse("meetings:my_detail", args=[m.pk])).content.decode()
    assert "纪要" in detail and "确认会议记录无误" in detail
    response = client.post(reverse("meetings:my_confirm", args=[m.pk]))
    assert response.status_code == 302
    with system_scope("test"):
        m.refresh_from_db()
    assert m.status == MeetingStatus.FROZEN  # the only attendee confirmed
    detail = client.get(reverse("meetings:my_detail", args=[m.pk])).content.decode()
    assert "记录已封存（第 1 版）" in detail and m.content_hash not in detail  # plain words on the phone


def test_frozen_record_page_sends_to_correction(client, district):
    m = held(district.branch_a1, dt.date(2026, 11, 3), ["theme_day"])
    with system_scope("test"):
        Meeting.unscoped.filter(pk=m.pk).update(confirm_until=dt.date(2026, 11, 1))
        services.meeting_freeze(actor=SYSTEM, meeting=Meeting.unscoped.get(pk=m.pk))
    login(client, district, "branch_worker")
    response = client.post(reverse("meetings:record", args=[m.pk]), {"minutes": "改"})
    assert response.status_code == 302 and response["Location"] == reverse("meetings:correct", args=[m.pk])
    response = client.post(reverse("meetings:correct", args=[m.pk]), {
        "reason": "补充", "chair": "书记", "recorder": "委员", "minutes": "纪要（补充）"})
    assert response.status_code == 302
    page = client.get(reverse("meetings:versions", args=[m.pk])).content.decode()
    assert "第 1 版" in page and "第 2 版" in page and "补充" in page


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role, url", [
    ("committee_admin", lambda d: reverse("meetings:list")),
    ("committee_admin", lambda d: reverse("meetings:list") + f"?org={d.branch_a1.pk}&kind=theme_day"),
    ("committee_admin", lambda d: reverse("meetings:compliance")),
    ("committee_admin", lambda d: reverse("meetings:statistics")),
    ("committee_admin", lambda d: reverse("meetings:review")),
    ("branch_worker", lambda d: reverse("meetings:detail", args=[_first(d)])),
    ("member", lambda d: reverse("meetings:my")),
])
def test_page_queries_do_not_grow_with_rows(client, district, role, url):
    d = district
    today = timezone.localdate()
    held(d.branch_a1, today - dt.timedelta(days=2), ["theme_day", "party_lecture"])
    login(client, d, role)
    client.get(url(d))
    small = _queries(client, url(d))
    for i in range(4):
        make_member(d.branch_a1)
        held(d.branch_a1, today - dt.timedelta(days=3 + i), ["general_meeting"])
        held(d.branch_a2, today - dt.timedelta(days=3 + i), ["theme_day"])
    assert _queries(client, url(d)) == small


def _first(d):
    with system_scope("test"):
        return Meeting.unscoped.filter(organization=d.branch_a1).order_by("pk").first().pk


def test_theme_day_page_sets_the_day_and_plans_the_year(client, district):
    d = district
    login(client, d, "branch_worker")
    url = reverse("meetings:theme_day", args=[d.branch_a1.pk])
    response = client.post(url, {"action": "rule", "week": "2", "weekday": "3", "time": "14:30", "place": "党群服务中心"})
    assert response.status_code == 302
    response = client.post(url, {"action": "plan", "year": str(timezone.localdate().year + 1)})
    assert response.status_code == 302
    with system_scope("test"):
        days = [timezone.localtime(m.starts_at) for m in Meeting.unscoped.filter(organization=d.branch_a1)]
    assert len(days) == 12 and all(x.weekday() == 3 and 8 <= x.day <= 14 and x.hour == 14 for x in days)
    response = client.post(url, {"action": "plan", "year": "1999"})
    assert response.status_code == 200 and "年度" in response.content.decode()


def test_appraisal_page_refuses_too_many_excellent(client, district):
    d = district
    others = [make_member(d.branch_a1) for _ in range(2)]
    login(client, d, "branch_worker")
    url = reverse("meetings:appraisals", args=[d.branch_a1.pk]) + "?year=2025"
    members = [d.member_a1, *others]
    data = {f"m{m.pk}_grade": "excellent" if i < 2 else "qualified" for i, m in enumerate(members)}
    response = client.post(url, data)
    assert response.status_code == 200 and "三分之一" in response.content.decode()
    data[f"m{others[0].pk}_grade"] = "qualified"
    assert client.post(url, data).status_code == 302
    assert "优秀 1 人" in client.get(url).content.decode()


def test_upload_and_member_download(client, district, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    d = district
    m = held(d.branch_a1, timezone.localdate() - dt.timedelta(days=1), ["theme_day"])
    login(client, d, "branch_worker")
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = SimpleUploadedFile("合影.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20, content_type="image/png")
    assert client.post(reverse("meetings:attach", args=[m.pk]), {"file": photo}).status_code == 302
    bad = SimpleUploadedFile("a.exe", b"MZ", content_type="application/octet-stream")
    client.post(reverse("meetings:attach", args=[m.pk]), {"file": bad})
    with system_scope("test"):
        att = m.attachments.get()
    member = login(type(client)(), d, "member")
    response = member.get(reverse("meetings:attachment", args=[att.pk]))
    # Read to the end, which closes it; a second close() would fire request_finished and close the database
    # connection under the test's transaction (PostgreSQL).
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["Content-Disposition"].startswith("inline") and response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"] and "no-store" in response["Cache-Control"]
    stranger = held(d.branch_a2, timezone.localdate() - dt.timedelta(days=1), ["theme_day"])
    with system_scope("test"):
        from dangjian.meetings.services import attachment_add

        other = attachment_add(actor=SYSTEM, meeting=stranger, name="b.pdf", content=b"%PDF-1.4")
    assert member.get(reverse("meetings:attachment", args=[other.pk])).status_code == 404


def test_spot_check_pages_rectify_and_close(client, district):
    d = district
    login(client, d, "committee_admin")
    client.post(reverse("meetings:spot_checks"), {"organization": d.branch_a1.pk, "checked_on": "2026-11-20",
                                                  "findings": "缺少签名"})
    with system_scope("test"):
        check = SpotCheck.unscoped.get()
    worker = login(type(client)(), d, "branch_worker")
    assert worker.post(reverse("meetings:spot_check", args=[check.pk]), {"follow_up": "已补签"}).status_code == 302
    assert worker.post(reverse("meetings:spot_check", args=[check.pk]), {"action": "close"}).status_code == 403
    assert client.post(reverse("meetings:spot_check", args=[check.pk]), {"action": "close"}).status_code == 302
    with system_scope("test"):
        assert SpotCheck.unscoped.get().status == "closed"
    assert "已销号" in client.get(reverse("meetings:spot_check", args=[check.pk])).content.decode()


def test_notice_form_lists_members_and_takes_the_ticked_ones(client, district):
    d = district
    other = make_member(d.branch_a1, name="赵一")
    with system_scope("test"):
        m = services.meeting_plan(actor=SYSTEM, organization=d.branch_a1, title="支委会", place="室",
                                  kinds=["committee_meeting"], starts_at=timezone.now() + dt.timedelta(days=2))
    login(client, d, "branch_worker")
    page = client.get(reverse("meetings:detail", args=[m.pk])).content.decode()
    assert "赵一" in page and "应到人员（2 人" in page
    response = client.post(reverse("meetings:notify", args=[m.pk]), {"choose": "1", "members": [d.member_a1.pk]})
    assert response.status_code == 302
    with system_scope("test"):
        assert list(Attendance.unscoped.filter(meeting=m).values_list("member_id", flat=True)) == [d.member_a1.pk]
    assert other.pk
