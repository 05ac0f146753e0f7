"""主题党日: a fixed day each month, the year planned ahead, notices N days before."""

import datetime as dt

import pytest
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.meetings import jobs, services
from dangjian.meetings.models import Meeting, MeetingStatus
from dangjian.notifications.models import Notification
from dangjian.testing import acting_as


def _days(org):
    with system_scope("test"):
        return sorted(timezone.localtime(m.starts_at).date() for m in Meeting.objects.filter(organization=org))


def test_plan_year_on_the_first_tuesday_by_default_and_only_once(branch):
    org, worker = branch.district.branch_a1, branch.worker
    with acting_as(worker):
        assert services.theme_day_plan_year(actor=worker, organization=org, year=2027,
                                            today=dt.date(2026, 11, 29)) == 12
        assert services.theme_day_plan_year(actor=worker, organization=org, year=2027,
                                            today=dt.date(2026, 11, 29)) == 0
    days = _days(org)
    assert len(days) == 12 and all(d.weekday() == 1 and d.day <= 7 for d in days)
    assert days[0] == dt.date(2027, 1, 5)
    with system_scope("test"):
        m = Meeting.objects.get(starts_at__date=dt.date(2027, 1, 5))
        assert m.kind_codes == ["theme_day"] and timezone.localtime(m.starts_at).strftime("%H:%M") == "09:00"


def test_own_fixed_day_and_skipping_the_past(branch):
    org, worker = branch.district.branch_a1, branch.worker
    with acting_as(worker):
        services.theme_day_rule_set(actor=worker, organization=org, week=-1, weekday=4, time=dt.time(15, 0),
                                    place="社区党群服务中心")
        assert services.theme_day_plan_year(actor=worker, organization=org, year=2026,
                                            today=dt.date(2026, 11, 1)) == 2
    assert _days(org) == [dt.date(2026, 11, 27), dt.date(2026, 12, 25)]


def test_rule_and_plan_refusals(branch):
    d, worker = branch.district, branch.worker
    with acting_as(worker):
        with pytest.raises(ValidationFailed) as e:
            services.theme_day_rule_set(actor=worker, organization=d.branch_a1, week=5, weekday=9,
                                        time=dt.time(9), place="")
        assert set(e.value.fields) == {"week", "weekday", "place"}
        with pytest.raises(ValidationFailed):
            services.theme_day_plan_year(actor=worker, organization=d.branch_a1, year=2030, today=dt.date(2026, 11, 29))
        with pytest.raises(PermissionDenied):
            services.theme_day_plan_year(actor=worker, organization=d.branch_b1, year=2027, today=dt.date(2026, 11, 29))


def test_notices_go_out_n_days_ahead_once(branch):
    org = branch.district.branch_a1
    with system_scope("test"):
        services.theme_day_plan_year(actor=SYSTEM, organization=org, year=2027, today=dt.date(2026, 11, 29))
    assert jobs.theme_day_notices(on=dt.date(2027, 1, 1)) == 0  # 5 January is 4 days away
    assert jobs.theme_day_notices(on=dt.date(2027, 1, 2)) == 1
    assert jobs.theme_day_notices(on=dt.date(2027, 1, 3)) == 0
    with system_scope("test"):
        m = Meeting.objects.get(starts_at__date=dt.date(2027, 1, 5))
        assert m.status == MeetingStatus.NOTIFIED
        assert Notification.unscoped.filter(kind="meetings.notice").count() == len(branch.members)
