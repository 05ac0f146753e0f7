"""Fixes from the review of the recruitment module (each test names what it guards)."""

import datetime as dt

import pytest
from django.utils import timezone

from dangjian.core.dates import add_years
from dangjian.members.models import Member, MemberStatus
from dangjian.recruitment import services
from dangjian.recruitment.models import CaseStatus, Outcome, RecruitmentCase
from dangjian.recruitment.services import step_record
from dangjian.recruitment.tests.factories import START, full_members, open_case, schedule, valid_input, walk
from dangjian.testing import zip_bytes

pytestmark = pytest.mark.django_db

D = dt.date


def rec(actor, case, number, on, **changes):
    data = valid_input(case, number, on)
    data.details.update(changes.pop("details", {}))
    for k, v in changes.items():
        setattr(data, k, v)
    return step_record(actor=actor, case=case, data=data)


# --- a person whose probationary membership was cancelled may be admitted again ------------------------------

def test_a_second_case_after_cancellation_admits_the_same_member_record(district, admin, pair, late_today):
    first = open_case(admin, district.branch_b1)
    walk(admin, first, until=22, start=START, mentors=pair, sponsors=pair)
    ends = add_years(schedule(START)[15], 1)
    reason = {"reason": "不具备党员条件"}
    rec(admin, first, 23, ends, outcome=Outcome.CANCEL, details=reason)
    rec(admin, first, 24, ends + dt.timedelta(days=20), outcome=Outcome.CANCEL, details=reason)
    first.refresh_from_db()
    member_id = first.member_id
    assert first.status == CaseStatus.ENDED

    again = D(2027, 1, 4)
    second = open_case(admin, district.branch_b1, applied_on=again)
    walk(admin, second, until=17, start=again, mentors=pair, sponsors=pair)
    second.refresh_from_db()
    assert second.member_id == member_id  # one person, one record (members._rejoin)
    assert Member.unscoped.get(pk=member_id).status == MemberStatus.PROBATIONARY
    first.refresh_from_db()
    assert first.member_id == member_id  # the first case still shows whose it was
    assert set(RecruitmentCase.unscoped.filter(member_id=member_id).values_list("pk", flat=True)) == {first.pk, second.pk}


# --- a 临时党支部 does not admit (DOMAIN-RULES §1.4, 细则第二十二条) ------------------------------------------

def test_a_temporary_branch_may_educate_but_not_admit(district, admin, pair, client):
    from django.urls import reverse

    from dangjian.audit.models import AuditEntry
    from dangjian.core.errors import RuleViolation
    from dangjian.orgs.models import OrgKind
    from dangjian.recruitment.models import RecruitmentStep
    from dangjian.testing import make_org

    temp = make_org(district.committee_b, "某项目临时党支部", OrgKind.TEMPORARY_BRANCH)
    case = open_case(admin, temp)  # applying and being trained there is allowed
    walk(admin, case, until=14, start=START, mentors=pair, sponsors=pair)
    client.force_login(admin)
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "记录第15步" not in page and "临时党支部，不能召开党员大会接收预备党员" in page
    steps, audit = RecruitmentStep.objects.count(), AuditEntry.objects.count()
    with pytest.raises(RuleViolation) as e:
        rec(admin, case, 15, schedule(START)[15])
    assert e.value.rule == "recruitment.temporary_org" and e.value.message.endswith(f"（{e.value.article}）")
    assert list(e.value.fields) == ["number"]
    assert (RecruitmentStep.objects.count(), AuditEntry.objects.count()) == (steps, audit)


# --- a 预备党员's case follows the member's transfer, audited; leaving the district ends it -------------------

def _admitted(district, admin, pair):
    case = open_case(admin, district.branch_b1)
    walk(admin, case, until=17, start=START, mentors=pair, sponsors=pair)
    case.refresh_from_db()
    return case, Member.unscoped.get(pk=case.member_id)


def test_a_transfer_within_the_district_moves_the_case_with_a_move_record_and_audit(district, admin, pair):
    from dangjian.audit.models import AuditEntry
    from dangjian.recruitment.models import CaseMove
    from dangjian.transfers import services as transfers

    case, member = _admitted(district, admin, pair)
    day = D(2026, 11, 2)
    t = transfers.transfer_create(actor=admin, member=member, kind="within", to_org=district.branch_a1,
                                  reason="工作调动", on=day)
    t = transfers.transfer_submit(actor=admin, transfer=t, on=day)
    t = transfers.transfer_approve(actor=admin, transfer=t, on=day)
    transfers.transfer_accept(actor=admin, transfer=t, on=day)
    case.refresh_from_db()
    assert case.organization == district.branch_a1 and case.org_path == district.branch_a1.path
    move = CaseMove.objects.get(case=case)
    assert (move.from_org, move.to_org, move.on) == (district.branch_b1, district.branch_a1, day)
    # moved by the transfer (members.services.member_move, as the system), which names the worker who accepted it
    entry = AuditEntry.objects.get(action="recruitment.case.moved", target_id=str(case.pk))
    assert entry.actor_id is None and entry.changes["to"] == district.branch_a1.name
    accepted = AuditEntry.objects.get(action="transfers.transfer.accepted", target_id=str(t.pk))
    assert accepted.actor_id == admin.pk


def test_an_out_of_district_transfer_closed_ends_the_case(district, admin, pair):
    from dangjian.audit.models import AuditEntry
    from dangjian.transfers import services as transfers

    case, member = _admitted(district, admin, pair)
    day = D(2026, 11, 2)
    t = transfers.transfer_create(actor=admin, member=member, kind="out", to_external="某市某街道党工委",
                                  reason="工作调动", on=day)
    t = transfers.transfer_submit(actor=admin, transfer=t, on=day)
    t = transfers.transfer_approve(actor=admin, transfer=t, on=day)
    transfers.transfer_close(actor=admin, transfer=t, on=day)
    case.refresh_from_db()
    assert case.status == CaseStatus.ENDED and case.ended_on == day
    assert "组织关系转出本区（某市某街道党工委）" in case.end_reason
    assert case.next_due is None and case.next_step is None  # no reminders, no step offered
    assert AuditEntry.objects.filter(action="recruitment.case.ended", target_id=str(case.pk)).exists()


# --- the 党委's queue: one query for the committees of all branches ------------------------------------------

def test_the_committee_queue_does_not_query_per_branch(district, admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.orgs.models import OrgKind
    from dangjian.recruitment import selectors
    from dangjian.testing import acting_as, make_org

    def queued():
        with acting_as(admin), CaptureQueriesContext(connection) as ctx:
            rows = selectors.committee_queue(actor=admin)
        return len(rows), len(ctx.captured_queries)

    def at_step_4(org, n):
        case = open_case(admin, org, n=n)
        walk(admin, case, until=3, start=START)
        return case

    at_step_4(district.branch_b1, 1)
    one = queued()
    n = 2
    for parent in (district.committee_a, district.committee_b):
        for _ in range(2):
            at_step_4(make_org(parent, f"新增党支部{n}", OrgKind.BRANCH), n)
            n += 1
    five = queued()
    assert (one[0], five[0]) == (1, 5)
    assert five[1] == one[1]


# --- uploads (services.document_add) --------------------------------------------------------------------------

def _docx() -> bytes:
    import io

    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _stored(media):
    return sorted(p for p in media.rglob("*") if p.is_file())


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize("raw, kept", [
    ("C:\\Users\\书记\\入党申请书.pdf", "入党申请书.pdf"),  # an old browser's full Windows path
    ("../../etc/入党申请书.pdf", "入党申请书.pdf"),
    ("入党\r\n申请\x00书\u202e.PDF", "入党申请书.pdf"),  # control and bidi characters, upper-case extension
    (".pdf", "材料.pdf"),
    ("长" * 200 + ".pdf", "长" * 146 + ".pdf"),
])
def test_an_uploaded_name_keeps_no_path_and_no_control_characters(district, admin, media, raw, kept):
    from dangjian.recruitment.services import document_add

    case = open_case(admin, district.branch_b1)
    doc = document_add(actor=admin, case=case, kind="application", upload=_upload(raw, b"%PDF-1.4 x"))
    assert doc.name == kept
    (path,) = _stored(media)
    assert path.is_relative_to(media / "recruitment") and path.read_bytes() == b"%PDF-1.4 x"


@pytest.mark.parametrize("name, content, words", [
    ("志愿书.docx", b"", "文件是空的"),
    ("志愿书.docx", b"PK\x03\x04 not a zip", "文件内容与扩展名不符"),
    ("志愿书.docx", None, "文件内容与扩展名不符"),  # a ZIP archive that is no Word document
    ("志愿书.pdf", b"%PD", "文件内容与扩展名不符"),
    ("志愿书.exe", b"MZ", "只能上传PDF、JPG、PNG或DOCX文件"),
])
def test_a_refused_upload_stores_nothing(district, admin, media, name, content, words):
    from dangjian.audit.models import AuditEntry
    from dangjian.core.errors import ValidationFailed
    from dangjian.recruitment.models import CaseDocument
    from dangjian.recruitment.services import document_add

    case = open_case(admin, district.branch_b1)
    audit = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as e:
        document_add(actor=admin, case=case, kind="application", upload=_upload(name, zip_bytes("payload.exe") if content is None else content))
    assert words in e.value.fields["file"][0]
    assert _stored(media) == [] and not CaseDocument.objects.exists() and AuditEntry.objects.count() == audit


def test_a_word_document_is_accepted(district, admin, media):
    from dangjian.recruitment.services import document_add

    case = open_case(admin, district.branch_b1)
    assert document_add(actor=admin, case=case, kind="application", upload=_upload("志愿书.docx", _docx())).size > 0


def test_the_size_is_measured_not_believed(district, admin, media, monkeypatch):
    from dangjian.core.errors import ValidationFailed
    from dangjian.recruitment.services import document_add

    monkeypatch.setattr(services, "DOCUMENT_MAX_BYTES", 100)
    case = open_case(admin, district.branch_b1)
    upload = _upload("申请书.pdf", b"%PDF-" + b"x" * 200)
    upload.size = 10  # what the client claimed
    with pytest.raises(ValidationFailed) as e:
        document_add(actor=admin, case=case, kind="application", upload=upload)
    assert "不能超过10MB" in e.value.fields["file"][0] and _stored(media) == []


def test_a_failure_after_storing_removes_the_file(district, admin, media, monkeypatch):
    from dangjian.recruitment.models import CaseDocument
    from dangjian.recruitment.services import document_add

    case = open_case(admin, district.branch_b1)

    def broken(**kw):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "log_action", broken)
    with pytest.raises(RuntimeError):
        document_add(actor=admin, case=case, kind="application", upload=_upload("申请书.pdf", b"%PDF-1.4 x"))
    assert _stored(media) == [] and not CaseDocument.objects.exists()


def test_a_document_is_not_attached_to_another_cases_step(district, admin, media):
    from dangjian.core.errors import ValidationFailed
    from dangjian.recruitment.services import document_add

    other = open_case(admin, district.branch_b1, n=2)
    case = open_case(admin, district.branch_b1)
    with pytest.raises(ValidationFailed) as e:
        document_add(actor=admin, case=case, kind="application", upload=_upload("申请书.pdf", b"%PDF-1.4 x"),
                     step=other.steps.get())
    assert "step" in e.value.fields and _stored(media) == []


# --- a rule's refusal on the new-case page names its article -------------------------------------------------

def test_the_new_case_page_shows_the_article_of_a_rule_refusal(district, admin, client):
    from django.urls import reverse

    from dangjian.core.validators import build_id_number

    client.force_login(admin)
    r = client.post(reverse("recruitment:create"), {
        "name": "少年", "id_number": build_id_number("110105", D(2010, 1, 5), 7, "male"), "ethnicity": "01",
        "education": "21", "occupation": "professional", "organization": district.branch_b1.pk,
        "applied_on": "2026-11-20", "consent_method": "written", "consent_on": "2026-11-20"})
    page = r.content.decode()
    assert "未满18周岁" in page and "《中国共产党章程》第一条、《中国共产党发展党员工作细则》第五条" in page
    assert not RecruitmentCase.unscoped.exists()


# --- the case page offers no button that can only be refused --------------------------------------------------

def test_the_conversion_vote_is_not_offered_before_the_probation_ends(district, admin, pair, client, late_today):
    from django.urls import reverse

    mid = D(2025, 4, 7)
    case = open_case(admin, district.branch_b1, applied_on=mid)
    walk(admin, case, until=22, start=mid, mentors=pair, sponsors=pair)
    case.refresh_from_db()
    assert case.probation_ends_on == D(2027, 8, 7)  # after the real today: the vote would be refused
    client.force_login(admin)
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "记录第23步" not in page
    assert "第23步“支部党员大会讨论转正”：预备期满后方可记录（2027年8月7日起）" in page


# --- the reminder job: its queries do not grow with the cases or their branches ------------------------------

def test_the_reminder_job_runs_a_constant_number_of_queries(district, admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.core.scoping import system_scope
    from dangjian.orgs.models import OrgKind
    from dangjian.recruitment import jobs
    from dangjian.testing import make_org, make_user

    def run(on):
        with system_scope("test"), CaptureQueriesContext(connection) as ctx:
            sent = jobs.due_reminders(on=on)
        return sent, len(ctx.captured_queries)

    open_case(admin, district.branch_a1, n=1, applied_on=D(2026, 11, 2))
    one = run(D(2026, 11, 30))
    for n in range(2, 6):
        branch = make_org(district.committee_a, f"新增党支部{n}", OrgKind.BRANCH)
        make_user(f"worker{n}", role="branch_worker", org=branch)
        open_case(admin, branch, n=n, applied_on=D(2026, 11, 2))
    five = run(D(2026, 12, 1))
    assert one[0] >= 1 and five[0] >= 4  # the first case was reminded of this due date already
    assert five[1] == one[1]


def test_the_dossier_runs_a_constant_number_of_queries(district, admin, pair, media):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.recruitment import dossier
    from dangjian.recruitment.services import document_add
    from dangjian.testing import acting_as

    def count(case):
        case = RecruitmentCase.unscoped.select_related("organization", "member").get(pk=case.pk)
        with acting_as(admin), CaptureQueriesContext(connection) as ctx:
            dossier.case_dossier(case)
        return len(ctx.captured_queries)

    short = open_case(admin, district.branch_b1, n=1)
    long = open_case(admin, district.branch_b1, n=2)
    walk(admin, long, until=12, start=START, mentors=pair, sponsors=pair)
    for kind in ("application", "review", "other"):
        document_add(actor=admin, case=long, kind=kind, upload=_upload("材料.pdf", b"%PDF-1.4 x"))
    assert count(long) == count(short)


# --- the plans table: the statistics of all 党委 in three queries, the same numbers as one by one ------------

def test_plans_against_actuals_does_not_query_per_committee(district, admin, pair, late_today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.orgs.models import OrgKind
    from dangjian.recruitment import selectors
    from dangjian.recruitment.services import plan_save
    from dangjian.testing import acting_as, make_org

    def run():
        with acting_as(admin), CaptureQueriesContext(connection) as ctx:
            pairs = selectors.plans_against_actuals(year=2025)
        return pairs, len(ctx.captured_queries)

    walk(admin, open_case(admin, district.branch_b1, n=1), until=17, start=START, mentors=pair, sponsors=pair)
    walk(admin, open_case(admin, district.branch_a1, n=2), until=7, start=START, mentors=full_members(district.branch_a1))
    plan_save(actor=admin, organization=district.root, year=2025, numbers={"total": 10})
    _, one = run()
    plan_save(actor=admin, organization=district.committee_b, year=2025, numbers={"total": 3})
    _, two = run()
    plan_save(actor=admin, organization=district.committee_a, year=2025, numbers={"total": 4})
    _, three = run()
    assert three == two  # another 党委 at a depth already asked: no query more
    extra = make_org(district.committee_b, "区教育局二级党委", OrgKind.PRIMARY_COMMITTEE)
    plan_save(actor=admin, organization=extra, year=2025, numbers={"total": 1})
    pairs, four = run()
    assert two - one == four - three == 3  # three queries per depth of the tree, however many 党委
    with acting_as(admin):
        for plan, stats in pairs:
            alone = selectors.recruitment_statistics(org=plan.organization, start=D(2025, 1, 1), end=D(2025, 12, 31))
            assert stats == alone, plan.organization.name
    by_org = {p.organization_id: s for p, s in pairs}
    assert by_org[district.root.pk].admitted == by_org[district.committee_b.pk].admitted == 1
    assert by_org[district.root.pk].development_targets == 2 and by_org[district.committee_a.pk].activists == 0


def test_opening_a_document_is_audited(district, admin, media, client):
    from django.urls import reverse

    from dangjian.audit.models import AuditEntry
    from dangjian.recruitment.services import document_add

    case = open_case(admin, district.branch_b1)
    doc = document_add(actor=admin, case=case, kind="application", upload=_upload("申请书.pdf", b"%PDF-1.4 x"))
    client.force_login(admin)
    r = client.get(reverse("recruitment:document_file", args=[case.pk, doc.pk]))
    assert r.status_code == 200 and r.content == b"%PDF-1.4 x"
    entry = AuditEntry.objects.get(action="recruitment.document.downloaded")
    assert entry.actor_id == admin.pk and entry.target_id == str(case.pk) and entry.changes["document"] == doc.pk


# --- a 预备党员 moved on the roster: the case follows them, and can go nowhere else --------------------------

def test_a_roster_move_carries_the_case_and_it_can_go_only_where_the_member_is(district, admin, pair, client):
    from django.urls import reverse

    from dangjian.audit.models import AuditEntry
    from dangjian.core.errors import Conflict
    from dangjian.members.services import member_update
    from dangjian.recruitment.models import CaseMove
    from dangjian.recruitment.services import case_move

    case, member = _admitted(district, admin, pair)
    member = Member.unscoped.select_related("organization").get(pk=member.pk)
    member_update(actor=admin, member=member, data={"organization": district.branch_a1})  # the roster's edit page
    case.refresh_from_db()
    assert case.organization == district.branch_a1 and case.org_path == district.branch_a1.path
    move = CaseMove.objects.get(case=case)
    assert (move.from_org, move.to_org, move.on) == (district.branch_b1, district.branch_a1, timezone.localdate())
    entry = AuditEntry.objects.get(action="recruitment.case.moved", target_id=str(case.pk))
    assert entry.changes["reason"] == "随党员组织关系转移" and entry.changes["to"] == district.branch_a1.name
    client.force_login(admin)
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "转移档案" not in page and "本人已编入" not in page  # nothing left to do by hand
    with pytest.raises(Conflict):  # a 预备党员's case goes only where the member is
        case_move(actor=admin, case=RecruitmentCase.unscoped.get(pk=case.pk), to=district.branch_a2, on=D(2026, 11, 20))
    assert CaseMove.objects.filter(case=case).count() == 1
