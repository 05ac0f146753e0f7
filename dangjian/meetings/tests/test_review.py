"""调阅 (every review recorded, counted for the report) and 抽查 with findings and follow-up."""

import datetime as dt

import pytest
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.meetings import selectors, services
from dangjian.meetings.models import ReviewBatch, SpotCheck, SpotCheckStatus
from dangjian.testing import acting_as

from .test_compliance import held

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)


def test_review_batches_and_the_report_sentence(district):
    d = district
    for month in (1, 2, 3):
        held(d.branch_a1, dt.date(2025, month, 5), ["theme_day"])
    held(d.branch_a2, dt.date(2025, 4, 5), ["general_meeting"])
    held(d.branch_b1, dt.date(2025, 4, 5), ["general_meeting"])
    admin = d.users["committee_admin"]
    with acting_as(admin):
        b1 = services.review_open(actor=admin, organization=d.branch_a1, start=START, end=END)
        services.review_open(actor=admin, organization=d.branch_a1, start=START, end=dt.date(2025, 2, 28))
        services.review_open(actor=admin, organization=d.branch_a2, start=START, end=END)
        assert b1.items.count() == 3
        today = timezone.localdate()
        summary = selectors.review_summary(org=d.committee_a, start=today, end=today)
    # 3 batches, 2 branches, 4 distinct records (the second batch re-read two of a1's)
    assert (summary.batches, summary.branches, summary.records) == (3, 2, 4)
    assert summary.sentence == "调阅“三会一课”记录3批次2个党支部4余条"
    assert AuditEntry.objects.filter(action="meetings.review.opened").count() == 3
    with acting_as(d.users["district_admin"]):
        assert selectors.review_summary(org=d.committee_b, start=today, end=today).batches == 0


def test_review_is_from_above_only(district):
    d = district
    held(d.branch_a1, dt.date(2025, 1, 5), ["theme_day"])
    worker = d.users["branch_worker"]
    with acting_as(worker), pytest.raises(PermissionDenied):
        services.review_open(actor=worker, organization=d.branch_a1, start=START, end=END)
    admin = d.users["committee_admin"]
    with acting_as(admin):
        with pytest.raises(PermissionDenied):
            services.review_open(actor=admin, organization=d.branch_b1, start=START, end=END)
        with pytest.raises(ValidationFailed):  # nothing recorded in the period
            services.review_open(actor=admin, organization=d.branch_a2, start=START, end=END)
    with system_scope("test"):
        assert not ReviewBatch.objects.exists()


def test_spot_check_findings_follow_up_and_close(district):
    d = district
    admin, worker = d.users["committee_admin"], d.users["branch_worker"]
    with acting_as(admin):
        with pytest.raises(ValidationFailed) as e:
            services.spot_check_create(actor=admin, organization=d.branch_a1, findings=" ",
                                       checked_on=timezone.localdate() + dt.timedelta(days=1))
        assert set(e.value.fields) == {"findings", "checked_on"}
        check = services.spot_check_create(actor=admin, organization=d.branch_a1, findings="记录缺少表决结果",
                                           checked_on=dt.date(2026, 11, 20))
        with pytest.raises(Conflict):
            services.spot_check_close(actor=admin, check=check)
    with acting_as(worker):
        with pytest.raises(PermissionDenied):  # a branch cannot check itself, nor close its own check
            services.spot_check_create(actor=worker, organization=d.branch_a1, findings="x",
                                       checked_on=dt.date(2026, 11, 20))
        check = selectors.access_spot_check(actor=worker, check_id=check.pk)
        services.spot_check_rectify(actor=worker, check=check, follow_up="已补记表决结果")
        with pytest.raises(PermissionDenied):
            services.spot_check_close(actor=worker, check=check)
    with acting_as(admin):
        services.spot_check_close(actor=admin, check=check)
    with system_scope("test"):
        assert SpotCheck.objects.get(pk=check.pk).status == SpotCheckStatus.CLOSED
