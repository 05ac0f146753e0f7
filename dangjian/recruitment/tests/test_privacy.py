"""Personal information of applicants (个人信息保护法, DOMAIN-RULES §7.3): no case without the applicant's recorded
consent (第二十九条), whichever way it is opened; the printable 告知书 (第十七、三十条); and the nightly
anonymisation of the cases that ended without admission once the retention period ran out (第十九条): exactly
those cases, every personal value gone from the row, its steps and the storage, the statistics unchanged, one
audit entry each without personal values, nothing done twice, a bounded number of queries."""

from __future__ import annotations

import datetime as dt
import io
import json

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.audit.services import log_action
from dangjian.core import crypto
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.core.jobs import discover, run_job
from dangjian.core.scoping import system_scope
from dangjian.recruitment import jobs, selectors, services
from dangjian.recruitment.dossier import case_dossier
from dangjian.recruitment.models import (
    CaseDocument,
    CaseStatus,
    ConsentMethod,
    RecruitmentCase,
    RecruitmentStep,
)
from dangjian.recruitment.tests.factories import START, full_members, open_case, person, walk
from dangjian.testing import acting_as, client_as, make_user

pytestmark = pytest.mark.django_db

JSON = "application/json"
ENDED = dt.date(2025, 4, 1)  # the day the applicants below withdrew
DAYS = 1095
ON = ENDED + dt.timedelta(days=DAYS + 1)  # the job's day: ENDED is then one day past the retention period


def _nothing_saved():
    return (RecruitmentCase.unscoped.count(), RecruitmentStep.objects.count(),
            AuditEntry.objects.filter(action__startswith="recruitment.").count())


# --- consent on the application ------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field, message", [
    ({"consent_method": ""}, "consent_method", "个人信息处理同意：未取得申请人同意不能建立档案"),
    ({"consent_method": "verbal"}, "consent_method", "个人信息处理同意：未取得申请人同意不能建立档案"),
    ({"consent_on": None}, "consent_on", "同意日期：请填写"),
    ({"consent_on": dt.date(2099, 1, 1)}, "consent_on", "同意日期：不能晚于今天"),
])
def test_the_service_refuses_a_case_without_consent_and_saves_nothing(district, change, field, message):
    admin = district.users["district_admin"]
    before = _nothing_saved()
    with pytest.raises(ValidationFailed) as refused:
        services.case_create(actor=admin, organization=district.branch_b1, data={**person(1), **change},
                             applied_on=START)
    assert any(m.startswith(message) for m in refused.value.fields[field]), refused.value.fields
    assert _nothing_saved() == before


def test_the_form_refuses_a_case_without_consent_naming_the_field(district, client):
    client_as(client, district, "branch_worker")
    data = {"name": "新申请人", "id_number": person(5)["id_number"], "ethnicity": "01", "education": "21",
            "occupation": "professional", "organization": district.branch_a1.pk, "applied_on": "2026-11-01"}
    before = _nothing_saved()
    page = client.post(reverse("recruitment:create"), data).content.decode()
    assert "个人信息处理同意：未取得申请人同意不能建立档案" in page
    assert "同意日期：请填写" in page
    assert _nothing_saved() == before
    # with the consent the same data opens the case, and the form links the notice to print
    assert reverse("recruitment:privacy_notice") in page
    response = client.post(reverse("recruitment:create"),
                           {**data, "consent_method": "online", "consent_on": "2026-11-02"})
    assert response.status_code == 302
    case = RecruitmentCase.unscoped.get(name="新申请人")
    assert (case.consent_method, case.consent_on) == (ConsentMethod.ONLINE, dt.date(2026, 11, 2))


def test_the_api_refuses_a_case_without_consent_naming_the_field(district):
    client = Client()
    client.force_login(district.users["branch_worker"])
    payload = {"organization": district.branch_a1.pk, "applied_on": START.isoformat(), **person(1)}
    del payload["consent_method"], payload["consent_on"]
    before = _nothing_saved()
    r = client.post("/api/v1/recruitment/cases", payload, content_type=JSON)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["fields"]["consent_method"][0].startswith("个人信息处理同意：未取得申请人同意不能建立档案")
    assert "同意日期" in body["fields"]["consent_on"][0]
    assert _nothing_saved() == before
    r = client.post("/api/v1/recruitment/cases", {**payload, "consent_method": "written",
                                                  "consent_on": START.isoformat()}, content_type=JSON)
    assert r.status_code == 201, r.content
    assert r.json()["consent_method"] == {"code": "written", "label": "书面签字"}
    assert r.json()["consent_on"] == START.isoformat() and r.json()["consent_version"]


def test_the_consent_is_kept_on_the_case_the_page_the_dossier_and_the_audit_entry(district, client, settings):
    # The applicants' notice has its own version, apart from the platform's privacy policy.
    settings.DANGJIAN_APPLICANT_NOTICE_VERSION = "申请人-2027-01"
    admin = district.users["district_admin"]
    case = services.case_create(actor=admin, organization=district.branch_b1, applied_on=START,
                                data=person(3, consent_method="online", consented_on=START))
    row = RecruitmentCase.unscoped.values("consent_method", "consent_on", "consent_version").get(pk=case.pk)
    assert row == {"consent_method": "online", "consent_on": START,
                   "consent_version": settings.DANGJIAN_APPLICANT_NOTICE_VERSION}
    entry = AuditEntry.objects.get(action="recruitment.case.created", target_id=str(case.pk))
    assert entry.changes["consent"] == {"version": settings.DANGJIAN_APPLICANT_NOTICE_VERSION,
                                        "on": START.isoformat(), "method": "online"}
    client.force_login(admin)
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert f"本人在线确认 · 2024年5月6日 · 告知书{settings.DANGJIAN_APPLICANT_NOTICE_VERSION}版" in page
    text = _docx_text(case_dossier(case))
    assert f"本人在线确认，2024年5月6日，告知书{settings.DANGJIAN_APPLICANT_NOTICE_VERSION}版" in text


def _docx_text(body: bytes) -> str:
    doc = docx.Document(io.BytesIO(body))
    return "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for t in doc.tables for r in t.rows for c in r.cells])


# --- the printable notice ----------------------------------------------------------------------------------

def test_the_notice_names_the_processor_purposes_sensitive_data_retention_rights_and_version(district, client,
                                                                                             settings):
    settings.DANGJIAN_APPLICANT_RETENTION_DAYS = 730
    settings.DANGJIAN_DISTRICT_NAME = "海淀区"
    client_as(client, district, "branch_worker")
    page = client.get(reverse("recruitment:privacy_notice")).content.decode()
    assert "入党申请人个人信息处理告知书" in page
    assert f"版本：{settings.DANGJIAN_APPLICANT_NOTICE_VERSION}" in page
    assert "中共海淀区委组织部" in page
    assert "考察" in page and "发展党员程序" in page and "档案" in page
    assert "敏感个人信息：身份证号" in page and "特定身份" in page and "第三十条" in page
    assert "自终止之日起保存730天（约2年）" in page
    for right in ("查阅、复制", "更正、补充", "撤回同意"):
        assert right in page
    assert "单独同意" in page and "申请人签字" in page
    assert "@media print" in page and "data-print" in page


def test_the_notice_puts_the_own_branch_on_it_and_is_for_case_workers_only(district, client):
    url = reverse("recruitment:privacy_notice")
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client_as(client, district, "branch_worker")
    assert '<span class="pn-line">甲社区党支部</span>' in client.get(url, {"org": district.branch_a1.pk}).content.decode()
    assert '<span class="pn-line"></span>（以下称' in client.get(url).content.decode()  # blank, to fill in by hand
    assert client.get(url, {"org": district.branch_b1.pk}).status_code == 404  # another committee's branch
    other = Client()
    client_as(other, district, "member")
    assert other.get(url).status_code == 403  # a member does not open cases


# --- anonymisation -------------------------------------------------------------------------------------------

@pytest.fixture
def retention(settings):
    settings.DANGJIAN_APPLICANT_RETENTION_DAYS = DAYS
    return DAYS


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _ended(admin, org, n: int, on: dt.date, **kw):
    case = open_case(admin, org, n=n, applied_on=dt.date(2020, 1, 6), **kw)
    return services.case_end(actor=admin, case=case, on=on, reason=f"申请人{n:03d}本人撤回入党申请")


def _statistics(admin):
    """What the statistics read: the counts by stage and date, and the make-up by the kept attributes."""
    with acting_as(admin):
        stats = selectors.recruitment_statistics(org=None, start=dt.date(2019, 1, 1), end=dt.date(2026, 12, 31))
    makeup = list(RecruitmentCase.unscoped.values("org_path", "stage", "status", "gender", "ethnicity", "education",
                                                  "occupation", "is_mobile_person")
                  .annotate(born=ExtractYear("birth_date"), n=Count("id")).order_by("org_path", "stage", "gender",
                                                                                   "occupation", "born"))
    dates = list(RecruitmentCase.unscoped.order_by("pk").values_list(
        "applied_on", "activist_on", "development_target_on", "ended_on", "admitted_age"))
    return stats.__dict__, makeup, dates


def _raw_row(pk: int) -> dict:
    """The row as the database holds it (every column, the ciphertexts included), not through the model."""
    table = connection.ops.quote_name(RecruitmentCase._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608  (the table name is ours)
        columns = [c[0] for c in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_exactly_the_cases_past_the_retention_period_are_anonymised(district, retention):
    admin = district.users["district_admin"]
    b1 = district.branch_b1
    past = _ended(admin, b1, 1, ENDED)  # ended DAYS + 1 days before ON
    on_the_day = _ended(admin, b1, 2, ENDED + dt.timedelta(days=1))  # exactly DAYS days: still kept
    later = _ended(admin, b1, 3, ENDED + dt.timedelta(days=2))
    still_open = open_case(admin, b1, n=4, applied_on=dt.date(2020, 1, 6))
    # an admitted person's case: completed, or ended when the probationary membership was cancelled; either
    # way the person is (or was) on the roster and the case is never anonymised here
    admitted = _ended(admin, b1, 5, dt.date(2021, 1, 1))
    completed = _ended(admin, b1, 6, dt.date(2021, 1, 1))
    RecruitmentCase.unscoped.filter(pk=admitted.pk).update(member=district.member_b1)
    RecruitmentCase.unscoped.filter(pk=completed.pk).update(status=CaseStatus.COMPLETED, member=district.member_b1)
    names = dict(RecruitmentCase.unscoped.values_list("pk", "name"))

    with system_scope("test"):
        assert jobs.anonymise_ended(on=ON) == 1
    now = dict(RecruitmentCase.unscoped.values_list("pk", "name"))
    assert now[past.pk] == f"已匿名化{past.pk}"
    for case in (on_the_day, later, still_open, admitted, completed):
        assert now[case.pk] == names[case.pk]
    assert list(RecruitmentCase.unscoped.filter(anonymised_at__isnull=False).values_list("pk", flat=True)) == [past.pk]
    with system_scope("test"):  # a day later the case ended exactly DAYS days before ON is due too
        assert jobs.anonymise_ended(on=ON + dt.timedelta(days=1)) == 1
    assert RecruitmentCase.unscoped.get(pk=on_the_day.pk).anonymised_at is not None
    assert RecruitmentCase.unscoped.get(pk=later.pk).anonymised_at is None


def test_every_personal_value_goes_and_the_statistics_stay(district, retention, media,
                                                           django_capture_on_commit_callbacks):
    admin = district.users["district_admin"]
    applicant = make_user("applicant7", display_name=person(7)["name"])
    case = open_case(admin, district.branch_b1, n=7, work_unit="某某科技有限公司")
    RecruitmentCase.unscoped.filter(pk=case.pk).update(user=applicant)
    walk(admin, case, until=6, mentors=full_members(district.branch_b1))
    services.step_record(actor=admin, case=case, data=services.StepInput(
        number=6, on=dt.date(2025, 3, 20), body="branch", details={"assessment": "申请人007家住某街道，表现良好"},
        note="电话13900001111"))
    upload = SimpleUploadedFile("入党申请书.pdf", b"%PDF-1.4 applicant007")
    document = services.document_add(actor=admin, case=case, kind="application", upload=upload)
    stored = media / document.file.name
    assert stored.exists()
    services.case_end(actor=admin, case=case, on=ENDED, reason="申请人007本人撤回入党申请")
    before = _raw_row(case.pk)
    id_number, phone = crypto.decrypt(before["id_number_encrypted"]), crypto.decrypt(before["phone_encrypted"])
    statistics = _statistics(admin)

    with django_capture_on_commit_callbacks(execute=True), system_scope("test"):
        assert jobs.anonymise_ended(on=ON) == 1

    row = _raw_row(case.pk)
    assert row["name"] == f"已匿名化{case.pk}"
    for column in ("id_number_encrypted", "id_number_digest", "id_number_masked", "phone_encrypted",
                   "phone_masked", "work_unit", "end_reason"):
        assert row[column] == "", column
    assert row["user_id"] is None
    assert str(row["birth_date"]).startswith("1998-01-01")  # only the year of 1998-03-14 stays
    assert row["anonymised_at"] is not None
    for kept in ("gender", "ethnicity", "education", "occupation", "stage", "status", "org_path", "applied_on",
                 "activist_on", "ended_on", "consent_method", "consent_on", "consent_version"):
        assert row[kept] == before[kept], kept
    everything = json.dumps(row, default=str, ensure_ascii=False)
    for secret in ("申请人007", id_number, phone, "某某科技", before["id_number_digest"], before["id_number_masked"]):
        assert secret not in everything
    steps = list(RecruitmentStep.objects.filter(case_id=case.pk).values_list("details", "note"))
    assert steps and all(note == "" for _, note in steps)
    texts = json.dumps([d for d, _ in steps], ensure_ascii=False)
    assert "申请人007" not in texts and "表现良好" not in texts and "支部书记" not in texts
    assert not any(set(d) - set(services.KEPT_DETAILS) for d, _ in steps)
    assert not CaseDocument.objects.filter(case_id=case.pk).exists()
    assert not stored.exists()
    assert _statistics(admin) == statistics


def test_each_case_anonymised_is_audited_without_personal_values_and_a_rerun_does_nothing(district, retention):
    admin = district.users["district_admin"]
    cases = [_ended(admin, district.branch_b1, n, ENDED) for n in (1, 2)]
    secrets = [(c.name, c.id_number_masked, crypto.decrypt(c.id_number_encrypted)) for c in cases]
    discover()  # the tasks modules, as the queue's consumer imports them
    assert run_job("recruitment.anonymise_ended", now=_noon(ON)) == 2
    entries = list(AuditEntry.objects.filter(action="recruitment.case.anonymised").order_by("id"))
    assert [e.target_id for e in entries] == [str(c.pk) for c in cases]
    for entry, case, values in zip(entries, cases, secrets, strict=True):
        assert entry.target_label.startswith(f"已匿名化{case.pk}") and entry.actor_label == "系统"
        assert entry.changes["ended_on"] == ENDED.isoformat() and entry.changes["retention_days"] == DAYS
        assert entry.source == "task"
        written = json.dumps([entry.target_label, entry.changes], ensure_ascii=False)
        assert not any(v in written for v in values)
    rows = list(RecruitmentCase.unscoped.order_by("pk").values())
    assert run_job("recruitment.anonymise_ended", now=_noon(ON + dt.timedelta(days=1))) == 0
    assert list(RecruitmentCase.unscoped.order_by("pk").values()) == rows
    assert AuditEntry.objects.filter(action="recruitment.case.anonymised").count() == 2


def _noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def test_the_job_is_scheduled_and_registered(settings):
    assert "recruitment.anonymise_ended" in settings.DANGJIAN_SCHEDULE
    assert "recruitment.anonymise_ended" in discover()


def test_the_job_needs_the_same_queries_for_more_cases_but_the_audit_entries(district, retention, media,
                                                                           django_capture_on_commit_callbacks):
    """A city has thousands: apart from the one audit entry each (a hash chain, written one at a time), the
    job's queries do not grow with the cases, their steps or their documents."""
    admin = district.users["district_admin"]

    def ended_with_documents(n):
        case = open_case(admin, district.branch_b1, n=n, applied_on=dt.date(2020, 1, 6))
        for kind in ("application", "thought_report"):
            services.document_add(actor=admin, case=case, kind=kind,
                                  upload=SimpleUploadedFile(f"{kind}.pdf", b"%PDF-1.4 x"))
        return services.case_end(actor=admin, case=case, on=ENDED, reason="本人撤回入党申请")

    def queries_to_anonymise(day):
        with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True), \
                system_scope("test"):
            done = jobs.anonymise_ended(on=day)
        return done, len(ctx.captured_queries)

    for n in range(1, 3):
        ended_with_documents(n)
    few = queries_to_anonymise(ON)
    for n in range(3, 11):
        ended_with_documents(n)
    many = queries_to_anonymise(ON)
    with CaptureQueriesContext(connection) as ctx, system_scope("test"):  # what one audit entry costs
        log_action(actor=SYSTEM, action="recruitment.case.anonymised", changes={})
    per_entry = len(ctx.captured_queries)
    assert few[0] == 2 and many[0] == 8
    assert many[1] - few[1] <= (8 - 2) * per_entry, (few, many, per_entry)
    assert not list(media.rglob("*.pdf"))


def test_the_job_works_in_batches(district, retention, monkeypatch):
    monkeypatch.setattr(jobs, "ANONYMISE_BATCH", 2)
    admin = district.users["district_admin"]
    for n in range(1, 6):
        _ended(admin, district.branch_b1, n, ENDED)
    calls = []
    real = services.cases_anonymise
    monkeypatch.setattr(services, "cases_anonymise", lambda **kw: calls.append(len(kw["ids"])) or real(**kw))
    with system_scope("test"):
        assert jobs.anonymise_ended(on=ON) == 5
    assert calls == [2, 2, 1]


# --- anonymising one case now (the person asked, 第四十七条) -----------------------------------------------

def test_a_worker_anonymises_an_ended_case_on_request_and_the_page_says_when(district, client, retention):
    admin = district.users["district_admin"]
    case = _ended(admin, district.branch_a1, 1, dt.date(2026, 11, 1))  # long before its retention period ends
    client_as(client, district, "branch_worker")
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    assert "立即匿名化" in page
    response = client.post(reverse("recruitment:anonymise", args=[case.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.name == f"已匿名化{case.pk}" and case.anonymised_at is not None
    page = client.get(reverse("recruitment:detail", args=[case.pk])).content.decode()
    at = timezone.localtime(case.anonymised_at)
    assert f"该档案已于{at.year}年{at.month}月{at.day}日 {at:%H:%M}匿名化" in page
    assert "立即匿名化" not in page
    entry = AuditEntry.objects.get(action="recruitment.case.anonymised", target_id=str(case.pk))
    assert "第四十七条" in entry.changes["reason"] and entry.actor == district.users["branch_worker"]
    client.post(reverse("recruitment:anonymise", args=[case.pk]))  # again: nothing new
    assert AuditEntry.objects.filter(action="recruitment.case.anonymised", target_id=str(case.pk)).count() == 1


def test_an_open_or_admitted_case_is_never_anonymised_and_another_branch_cannot(district, client):
    admin = district.users["district_admin"]
    still_open = open_case(admin, district.branch_a1, n=1)
    admitted = _ended(admin, district.branch_a1, 2, dt.date(2026, 1, 5))
    RecruitmentCase.unscoped.filter(pk=admitted.pk).update(member=district.member_a1)
    for case in (still_open, admitted):
        with pytest.raises(Conflict):
            services.case_anonymise(actor=admin, case=case)
    sibling = _ended(admin, district.branch_b1, 3, dt.date(2026, 1, 5))
    with pytest.raises(PermissionDenied):
        services.case_anonymise(actor=district.users["branch_worker"], case=sibling)
    client_as(client, district, "branch_worker")
    assert client.post(reverse("recruitment:anonymise", args=[sibling.pk])).status_code == 404
    assert not RecruitmentCase.unscoped.filter(anonymised_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="recruitment.case.anonymised").exists()
