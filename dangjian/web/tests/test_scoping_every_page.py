"""Every web page that addresses an object by id, as everyone who must not see 支部A1's data (issue 9: the
scoping table covers every endpoint). The per-app tables (web/tests/test_scoping_table.py,
notifications/tests/test_scoping_pages.py, recruitment/tests/test_scoping.py, bases/tests/test_scoping.py)
say role by role what each page answers; this one only says that nothing of A1 leaks, but for ALL URL
patterns the project has, so a page added without scoping fails here.

Every URL pattern is read from the resolver. A pattern with an integer kwarg is either PUBLIC (works
without login, with the reason) or in PAGES, which names the A1 object (or the fixed value) for each kwarg;
`test_the_tables_cover_every_pattern` fails, naming the URL, until a new one is added. Then every such page
is called with GET and with an empty POST as each outsider:
  - anonymous: a redirect to the login page;
  - others: 403, 404 or 405 (a POST-only page, before any lookup), the same status as for ids that do not
    exist (but those the role may know exist: KNOWN_TO), and no string of A1's objects in the answer, except
    the documented EXCEPTIONS (an administrator's own page, the public slots of a base);
  - nothing changed: every row of every table and the audit log are as before.
A1's own worker (or whoever READER names: the 党委, the member, an administrator) gets 200 on each GET, so
the refusals above are about scope, not bad ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.utils import timezone

from dangjian import testing_world
from dangjian.accounts.models import RoleGrant
from dangjian.audit.services import archive_older_than
from dangjian.core.actors import SYSTEM
from dangjian.core.models import DayKind
from dangjian.core.scoping import system_scope
from dangjian.meetings import services as meetings
from dangjian.meetings.models import Meeting
from dangjian.members.services import discipline_record
from dangjian.notifications import notices
from dangjian.notifications.models import Notification
from dangjian.notifications.services import Message, notification_create, reply_create
from dangjian.orgs.calendar_services import calendar_day_add
from dangjian.orgs.services import committee_member_add
from dangjian.recruitment.models import RecruitmentCase
from dangjian.recruitment.services import document_add
from dangjian.testing import acting_as, make_user
from dangjian.testing_world import NAMES, build_a1, everything
from dangjian.transfers import services as transfers
from dangjian.transfers.models import Transfer

outsiders = testing_world.outsiders
forget_public_choices = testing_world.forget_public_choices  # autouse

OUTSIDERS = ("anonymous", "nobody", "system_admin", "security_admin", "audit_admin", "worker_b1")

# --- A1's objects: the API test's, and those only pages address ------------------------------------------

# Strings only the page-only objects carry (with testing_world.NAMES: one anywhere in an answer is a leak).
PAGE_NAMES = {
    "attachment": ("甲一会议照片",),
    "spot_check": ("甲一抽查发现",),
    "discipline": ("甲一处分机关",),
    "seat": ("甲一支委委员",),
    "document": ("甲一申请书",),
    "reply": ("甲一党员留言",),
    "calendar_day": ("甲一调休假",),
    "user": ("甲一干事",),
}
ALL_NAMES = {**NAMES, **PAGE_NAMES}  # kind → its strings, the API test's and the pages'
FUTURE = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)  # archives every audit entry written so far


def build_pages(district) -> dict[str, int]:
    """A1's objects of the API test, plus one of every kind a page addresses by id and the API does not."""
    d, today = district, timezone.localdate()
    w = build_a1(d)
    ids = {**w.ids, "assessment": w.assessment}
    with system_scope("test: A1's objects for the every-page scoping test"):
        meeting = Meeting.objects.get(pk=ids["meeting"])
        # approved, so its letter (transfers:letter) exists
        transfers.transfer_approve(actor=SYSTEM, transfer=Transfer.objects.get(pk=ids["transfer"]))
        attachment = meetings.attachment_add(actor=SYSTEM, meeting=meeting, name="甲一会议照片.pdf",
                                             content=b"%PDF-1.4 scoping")
        discipline = discipline_record(actor=SYSTEM, member=d.member_a1, data={
            "kind": "warning", "decided_by": "甲一处分机关", "decided_on": today - dt.timedelta(days=30)})
        seat = committee_member_add(actor=SYSTEM, org=d.branch_a1, person_name="甲一支委委员", position="secretary",
                                    term_start=today - dt.timedelta(days=100), term_end=today + dt.timedelta(days=900))
        case = RecruitmentCase.objects.get(pk=ids["case"])
        document = document_add(actor=SYSTEM, case=case, kind="application",
                                upload=SimpleUploadedFile("甲一申请书.pdf", b"%PDF-1.4 scoping",
                                                          content_type="application/pdf"))
        notification_create(actor=SYSTEM, messages=[Message(
            kind=notices.POLITICAL_BIRTHDAY.code, member=d.member_a1, dedupe_key="every-page",
            context={"姓名": "张三", "入党周年": 5, "入党日期": "2021年7月1日", "党组织": "甲社区党支部", "寄语": ""})])
        note = Notification.unscoped.get(dedupe_key="every-page")
        # not A1's, but addressed by id: the district's calendar (its administrator's page)
        day = calendar_day_add(actor=SYSTEM, day=dt.date(2030, 10, 8), kind=DayKind.HOLIDAY, name="甲一调休假")
    admin = d.users["committee_admin"]  # 调阅 and 抽查 are done from above
    with acting_as(admin):
        batch = meetings.review_open(actor=admin, organization=d.branch_a1, start=dt.date(2024, 1, 1),
                                     end=today + dt.timedelta(days=60))
        check = meetings.spot_check_create(actor=admin, organization=d.branch_a1, checked_on=today,
                                           findings="甲一抽查发现记录不全", meeting=meeting)
    member = d.users["member"]
    with acting_as(member):
        reply = reply_create(actor=member, notification=note, body="甲一党员留言")
    # The administrators' pages act on an account and a grant: a second A1 worker's, so that toggling or
    # revoking them (the readers' POSTs below) leaves the accounts the test signs in with alone.
    clerk = make_user("甲一干事", role="branch_worker", org=d.branch_a1)
    segment = archive_older_than(actor=SYSTEM, now=FUTURE)  # the log so far, A1's entries in it
    ids.update(attachment=attachment.pk, discipline=discipline.pk, seat=seat.pk, document=document.pk,
               notification=note.pk, reply=reply.pk, calendar_day=day.pk, review_batch=batch.pk, spot_check=check.pk,
               archive=segment.pk, user=clerk.pk, grant=RoleGrant.objects.get(user=clerk).pk)
    return ids


# --- the tables ------------------------------------------------------------------------------------------

# Pages that must work without login, and why. Their int kwargs are not checked here (bases/tests/test_scoping.py
# checks that only published bases show).
PUBLIC = {
    "web:privacy": "《个人信息保护政策》：登录前必须能读",
    "accounts:login": "登录",
    "accounts:login_code": "登录的第二步（短信/认证器验证码）",
    "accounts:logout": "退出",
    "bases:directory": "阵地公开目录：群众预约参观",
    "bases:site": "已发布阵地的公开页面（bases.selectors.public_site_get：未发布的答 404）",
    "bases:photo": "已发布阵地的照片（同上）",
    "bases:map": "阵地地图",
    "bases:geojson": "阵地地图的数据",
    "healthz": "负载均衡器的健康检查，不含任何数据",
}

# URL name → the value of each int kwarg: the kind of A1's object (a key of build_pages) or a fixed number.
PAGES = {
    "accounts:user_toggle": {"user_id": "user"},
    "accounts:user_password": {"user_id": "user"},
    "accounts:grant_revoke": {"grant_id": "grant"},
    "audit:archive_search": {"pk": "archive"},
    "audit:archive_download": {"pk": "archive"},
    "bases:site_manage": {"site_id": "site"},
    "bases:site_edit": {"site_id": "site"},
    "bases:slot_close": {"slot_id": "slot"},
    "bases:book": {"slot_id": "slot"},
    "bases:reservation": {"reservation_id": "reservation"},
    "bases:reservation_action": {"reservation_id": "reservation"},
    "dues:reduction_decide": {"reduction_id": "reduction"},
    "dues:roster": {"org_id": "organization"},
    "dues:public_notice": {"org_id": "organization"},
    "dues:public_notice_xlsx": {"org_id": "organization"},
    "dues:member": {"member_id": "member"},
    "dues:assess": {"member_id": "member"},
    "dues:pay": {"member_id": "member"},
    "dues:reduction_request": {"assessment_id": "assessment"},
    "meetings:detail": {"meeting_id": "meeting"},
    "meetings:edit": {"meeting_id": "meeting"},
    "meetings:notify": {"meeting_id": "meeting"},
    "meetings:hold": {"meeting_id": "meeting"},
    "meetings:record": {"meeting_id": "meeting"},
    "meetings:freeze": {"meeting_id": "meeting"},
    "meetings:cancel": {"meeting_id": "meeting"},
    "meetings:correct": {"meeting_id": "meeting"},
    "meetings:versions": {"meeting_id": "meeting"},
    "meetings:attach": {"meeting_id": "meeting"},
    "meetings:attachment": {"attachment_id": "attachment"},
    "meetings:review_batch": {"batch_id": "review_batch"},
    "meetings:spot_check": {"check_id": "spot_check"},
    "meetings:theme_day": {"org_id": "organization"},
    "meetings:appraisals": {"org_id": "organization"},
    "meetings:my_detail": {"meeting_id": "meeting"},
    "meetings:my_confirm": {"meeting_id": "meeting"},
    "members:detail": {"member_id": "member"},
    "members:edit": {"member_id": "member"},
    "members:reveal": {"member_id": "member"},
    "members:discipline_create": {"member_id": "member"},
    "members:discipline_edit": {"member_id": "member", "discipline_id": "discipline"},
    "notifications:detail": {"pk": "notification"},
    "notifications:reply_detail": {"pk": "reply"},
    "notifications:greeting": {"org_id": "organization"},
    "orgs:detail": {"org_id": "organization"},
    "orgs:create": {"parent_id": "organization"},
    "orgs:edit": {"org_id": "organization"},
    "orgs:move": {"org_id": "organization"},
    "orgs:dissolve": {"org_id": "organization"},
    "orgs:seat_add": {"org_id": "organization"},
    "orgs:seat_end": {"seat_id": "seat"},
    "recruitment:detail": {"case_id": "case"},
    "recruitment:step": {"case_id": "case", "number": 2},
    "recruitment:document": {"case_id": "case"},
    "recruitment:document_file": {"case_id": "case", "document_id": "document"},
    "recruitment:end": {"case_id": "case"},
    "recruitment:move": {"case_id": "case"},
    "recruitment:anonymise": {"case_id": "case"},
    "recruitment:dossier": {"case_id": "case"},
    "transfers:create": {"member_id": "member"},
    "transfers:mobile_create": {"member_id": "member"},
    "transfers:mobile_contact": {"mobile_id": "mobile"},
    "transfers:mobile_end": {"mobile_id": "mobile"},
    "transfers:mobile_reveal": {"mobile_id": "mobile"},
    "transfers:detail": {"transfer_id": "transfer"},
    "transfers:letter": {"transfer_id": "transfer"},
    "transfers:act": {"transfer_id": "transfer"},
    "web:calendar_delete": {"day_id": "calendar_day"},
}

# Values of the other (non-int) kwargs: a real action, so the page gets as far as its lookup.
OTHER_KWARGS = {"action": {"bases:reservation_action": "cancel", "transfers:act": "approve"}}

# Who reads each page (the positive side), when not A1's branch worker.
READER = {
    "accounts:user_toggle": "system_admin",
    "accounts:user_password": "system_admin",
    "accounts:grant_revoke": "security_admin",
    "audit:archive_search": "audit_admin",
    "audit:archive_download": "audit_admin",
    "orgs:create": "committee_admin",  # 党组织的设立、调整由上级党委办理 (org.manage)
    "orgs:edit": "committee_admin",
    "orgs:move": "committee_admin",
    "orgs:dissolve": "committee_admin",
    "orgs:seat_add": "committee_admin",
    "orgs:seat_end": "committee_admin",
    "dues:reduction_decide": "committee_admin",  # 减免由上级党委审批
    "bases:site_edit": "committee_admin",  # 阵地信息由党委维护；支部只预约
    "transfers:letter": "committee_admin",  # 介绍信由党委开具和打印
    "transfers:act": "committee_admin",  # 转出审批是党委的步骤
    "transfers:mobile_reveal": "committee_admin",  # 完整联系方式：有 member.reveal 的人
    "meetings:review_batch": "committee_admin",
    "meetings:spot_check": "committee_admin",
    "meetings:my_detail": "member",
    "meetings:my_confirm": "member",
    "notifications:detail": "member",
    "web:calendar_delete": "district_admin",
}

# Pages that only take POST: their reader's GET is 405, so the reader's empty POST shows the id is real
# (anything but 403/404/405: a form error, a refusal of the step, or the act done).
POST_ONLY = {
    "accounts:user_toggle", "accounts:grant_revoke", "web:calendar_delete",
    "members:reveal", "members:discipline_create",
    "meetings:notify", "meetings:hold", "meetings:freeze", "meetings:cancel", "meetings:attach", "meetings:my_confirm",
    "transfers:mobile_contact", "transfers:mobile_end", "transfers:mobile_reveal", "transfers:act",
    "bases:slot_close", "bases:reservation_action",
    "recruitment:document", "recruitment:end", "recruitment:move", "recruitment:anonymise",
}

# Pages whose reader's answer holds none of A1's strings, and why; an outsider's answer there is judged by its
# status alone. (Other files name A1's object in their Content-Disposition, which the check reads.)
PRINTS_NO_NAME = {
    "audit:archive_search": "归档段的查询页：输入条件之前只有表单",
    "audit:archive_download": "gzip 压缩的归档文件，文件名只有序号和条目号",
}

# Documented exceptions: (role, URL name) → (the GET's status, the kinds of A1 object whose strings it may show,
# why). A POST is not sent there (it would do the administrator's job: the readers' test does it).
EVERY_KIND = frozenset(ALL_NAMES)
EXCEPTIONS = {
    ("system_admin", "accounts:user_toggle"): (405, set(), "系统管理员管理账号（三员分立）；只收 POST"),
    ("system_admin", "accounts:user_password"): (200, {"user"}, "系统管理员重置账号密码：只有账号，没有党员信息"),
    ("security_admin", "accounts:grant_revoke"): (405, set(), "安全管理员授予和收回角色；只收 POST"),
    ("audit_admin", "audit:archive_search"): (200, EVERY_KIND, "审计管理员查阅审计日志（含归档段）：日志是审计记录"),
    ("audit_admin", "audit:archive_download"): (200, EVERY_KIND, "同上：下载归档文件（gzip）"),
    ("security_admin", "orgs:detail"): (200, {"organization"}, "组织目录：安全管理员在任意组织上授予角色"
                                        "（roles.py org.directory；test_scoping_table 的 org detail 行）；"
                                        "只有组织信息，没有班子成员和党员"),
    ("worker_b1", "bases:book"): (200, {"site"}, "已发布阵地的时段公开，任何有 member.manage 的支部都可预约（API "
                                  "同样：POST /bases/slots/{id}/reservations）；页面只有阵地名称和时段"),
}

# What a role may know exists, though it may not use it: those ids are not swapped for a missing one when
# comparing refusals ("*": every signed-in role), as in the API test.
KNOWN_TO = {
    "*": {"slot"},  # the slots of a published base are public (bases:book in EXCEPTIONS)
    "security_admin": {"organization"},  # the organisation directory (EXCEPTIONS)
}

GHOST = 2_000_000_000  # an id no table holds


@dataclass(frozen=True)
class Pattern:
    name: str  # namespace:name
    route: str
    ints: frozenset[str]  # the kwargs with an int converter
    others: frozenset[str]  # the other kwargs (an action's name, a template's code)


def every_pattern(resolver=None, prefix: str = "", namespace: str = "") -> list[Pattern]:
    """Every URL pattern of the project, with its full route and namespaced name."""
    out = []
    for p in (resolver or get_resolver()).url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace]))
            out.extend(every_pattern(p, route, ns))
        else:
            converters = getattr(p.pattern, "converters", {})
            ints = frozenset(k for k, c in converters.items() if isinstance(c, IntConverter))
            out.append(Pattern(":".join(filter(None, [namespace, p.name])), route, ints, frozenset(converters) - ints))
    return out


def checked_patterns() -> list[Pattern]:
    """The patterns this test is about: an int kwarg, not the API (its own test), not public."""
    return [p for p in every_pattern() if p.ints and not p.route.startswith(("api/", "static/", "admin/"))
            and p.name not in PUBLIC]


def url_of(p: Pattern, ids: dict[str, int], *, ghost_for: str | None = None) -> str:
    """The page's path for A1's objects (or, with `ghost_for` a role, for ids that do not exist, but for
    what that role may know exists)."""
    known = KNOWN_TO["*"] | KNOWN_TO.get(ghost_for, set()) if ghost_for else set()
    values = {}
    for kwarg, value in PAGES[p.name].items():
        if isinstance(value, int):
            values[kwarg] = value
        else:
            values[kwarg] = GHOST if ghost_for and value not in known else ids[value]
    for kwarg, by_name in OTHER_KWARGS.items():
        if p.name in by_name:
            values[kwarg] = by_name[p.name]
    return reverse(p.name, kwargs=values)


def shown(response, allowed=frozenset()) -> list[str]:
    """A1's strings in the answer (but those of the `allowed` kinds): the page, a file where it is text, and a
    file's name."""
    if response.streaming:  # a file: reading it to the end closes it (a second close() would fire request_finished
        body = b"".join(response.streaming_content)  # and close the test's database connection on PostgreSQL)
    else:
        body = response.content
    # a file's name is in its header, percent-encoded (filename*=UTF-8''…)
    text = body.decode("utf-8", errors="ignore") + unquote(response.get("Content-Disposition", ""))
    return [s for kind, names in ALL_NAMES.items() if kind not in allowed for s in names if s in text]


def logged_in(district, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(district.users[role])
    return client


@pytest.fixture
def media(settings, tmp_path):
    """Attachments, documents and the audit archive go to the default storage: keep them out of the tree."""
    settings.MEDIA_ROOT = tmp_path / "media"


# --- the tests -----------------------------------------------------------------------------------------------

def test_the_tables_cover_every_pattern():
    """A pattern with an int kwarg that the tables do not know fails here, naming its URL; so does a table
    entry for a pattern that no longer exists."""
    patterns = checked_patterns()
    missing = [f"PAGES: /{p.route} ({p.name}) kwargs {sorted(p.ints)}" for p in patterns
               if p.name not in PAGES or set(PAGES[p.name]) != p.ints]
    missing += [f"OTHER_KWARGS: {kwarg} for /{p.route} ({p.name})" for p in patterns for kwarg in p.others
                if p.name not in OTHER_KWARGS.get(kwarg, {})]
    assert missing == []
    names = {p.name for p in every_pattern()}
    assert set(PAGES) - {p.name for p in patterns} == set()
    assert set(PUBLIC) - names == set()
    assert all(allowed <= EVERY_KIND for _, allowed, _ in EXCEPTIONS.values())
    assert {name for _, name in EXCEPTIONS} | set(READER) | POST_ONLY | set(PRINTS_NO_NAME) <= set(PAGES)
    assert {name for by_name in OTHER_KWARGS.values() for name in by_name} <= set(PAGES)
    assert {kind for kinds in KNOWN_TO.values() for kind in kinds} <= {v for kw in PAGES.values() for v in kw.values()}
    assert len(patterns) >= 68  # the project as of this test; fewer means an app's urls were lost


def test_readers_get_every_page(outsiders, media):
    """The positive side: each id in the table is real and the page's reader gets it."""
    ids = build_pages(outsiders)
    clients = {}
    failures = []
    for p in checked_patterns():
        role = READER.get(p.name, "branch_worker")
        client = clients.setdefault(role, logged_in(outsiders, role))
        response = client.get(url_of(p, ids))
        strings = shown(response)
        expected = 405 if p.name in POST_ONLY else 200
        if response.status_code != expected:
            failures.append(f"{p.name} {url_of(p, ids)} as {role}: {response.status_code}, expected {expected}")
        elif expected == 200 and not strings and p.name not in PRINTS_NO_NAME:
            failures.append(f"{p.name} {url_of(p, ids)} as {role}: shows none of A1's strings")
    # After the reads (a POST may act: cancel the meeting, end the case), the POST-only pages.
    for p in checked_patterns():
        if p.name in POST_ONLY:
            role = READER.get(p.name, "branch_worker")
            response = clients[role].post(url_of(p, ids))
            if response.status_code in (403, 404, 405):
                failures.append(f"POST {url_of(p, ids)} ({p.name}) as {role}: {response.status_code}")
    assert failures == [], "\n".join(failures)


def test_public_pages_need_no_login(outsiders, media):
    """What PUBLIC says: anonymous gets these pages, not the login page (the A1 base is published, so its
    page shows; it has no photo, so that answers 404; logout takes only POST)."""
    ids = build_pages(outsiders)
    client, answers = Client(), {}
    for p in every_pattern():
        if p.name in PUBLIC and p.name != "accounts:login_code":  # without a first step it returns to login
            response = client.get(reverse(p.name, kwargs={k: ids["site"] for k in p.ints}))
            shown(response)  # read (and close) a file answer
            answers[p.name] = response.status_code
    assert answers == {name: 200 for name in PUBLIC if name != "accounts:login_code"} | {"bases:photo": 404, "accounts:logout": 405}


@pytest.mark.parametrize("role", OUTSIDERS)
def test_outsider_gets_nothing_of_a1_from_any_page(outsiders, media, role):
    ids = build_pages(outsiders)
    client = logged_in(outsiders, role)  # before the snapshot: signing in sets last_login
    state = everything()
    failures = []
    for p in checked_patterns():
        if (role, p.name) in EXCEPTIONS:
            continue
        url, ghost = url_of(p, ids), url_of(p, ids, ghost_for=role)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            status = response.status_code
            if role == "anonymous":
                if status != 302 or not response["Location"].startswith("/accounts/login/"):
                    failures.append(f"{method.upper()} {url} ({p.name}): {status}, expected the login page")
                continue
            if status not in (403, 404, 405):
                failures.append(f"{method.upper()} {url} ({p.name}): {status}")
            if leaked := shown(response):
                failures.append(f"{method.upper()} {url} ({p.name}): shows {leaked}")
            other = getattr(client, method)(ghost).status_code
            if other != status:
                failures.append(f"{method.upper()} {url} ({p.name}): {status}, but {other} for ids that do not "
                                f"exist: A1's objects show through")
    assert failures == [], "\n".join(failures)
    assert everything() == state, "a refused call changed rows or wrote audit entries"

    # The exceptions last: reading them is the role's job, and some reads are audited (an archive download).
    for (who, name), (expected, allowed, _) in EXCEPTIONS.items():
        if who == role:
            url = url_of(next(p for p in checked_patterns() if p.name == name), ids)
            response = client.get(url)
            leaked = shown(response, allowed)
            assert (response.status_code, leaked) == (expected, []), f"GET {url} ({name}) as {role}"
