"""The monthly arrears reminders: who gets one, what it says, once per month (dedupe keys)."""

import datetime as dt

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.dues import services
from dangjian.dues.jobs import dues_arrears_reminders
from dangjian.notifications.models import Notification

TODAY = dt.date(2026, 11, 29)


def _assess(member, paid_through, **kw):
    return services.assessment_set(actor=SYSTEM, member=member, year=2026, category="employed", dues_base_fen=450_000,
                                   paid_through=paid_through, today=TODAY, **kw)


def test_reminds_members_from_three_months_and_their_workers_once_a_month(district):
    _assess(district.member_a1, dt.date(2026, 7, 1))  # owes Aug–Oct: 3
    _assess(district.member_a2, dt.date(2026, 8, 1))  # owes 2: no reminder
    _assess(district.member_b1, dt.date(2026, 5, 1))  # owes 5
    with system_scope("test: job"):
        created = dues_arrears_reminders(on=TODAY)
        again = dues_arrears_reminders(on=TODAY)
        member_msgs = {n.member.name: n for n in Notification.unscoped.filter(kind="dues.arrears").select_related("member")}
        branch_msgs = list(Notification.unscoped.filter(kind="dues.arrears_branch").select_related("user"))
    assert again == 0
    assert set(member_msgs) == {"张三", "王五"}
    assert "已连续3个月未交纳党费" in member_msgs["张三"].body and "2026年7月" in member_msgs["张三"].body
    assert "党章第九条" in member_msgs["王五"].body
    assert member_msgs["张三"].link == "/dues/my/"
    # 支部A1's worker hears about 张三; 支部B1 has no worker of its own, so the district admin (nearest grant)
    by_user = {n.user.username: n for n in branch_msgs}
    assert set(by_user) == {"worker_a1", "district"}
    assert "1名党员" in by_user["district"].body and "其中1名已达5个月" in by_user["district"].body
    assert created == len(member_msgs) + len(branch_msgs)
    assert AuditEntry.objects.filter(action="dues.arrears.reminded").count() == 1


def test_next_month_reminds_again_and_waived_members_are_left_out(district):
    a = _assess(district.member_a1, dt.date(2026, 7, 1))
    r = services.reduction_request(actor=SYSTEM, assessment=a, monthly_fen=0, reason="困难")
    with system_scope("test: job"):
        assert dues_arrears_reminders(on=TODAY) > 0
    services.reduction_approve(actor=SYSTEM, reduction=r)
    with system_scope("test: job"):
        assert dues_arrears_reminders(on=dt.date(2026, 12, 2)) == 0


def test_reminders_take_the_same_number_of_queries_for_more_branches(district):
    """Workers are looked up for all branches at once (workers_of_many), not one query per branch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.orgs.models import OrgKind
    from dangjian.testing import make_member, make_org

    def grow(n, start):
        for i in range(n):
            org = make_org(district.committee_a, f"欠费支部{start + i}", OrgKind.BRANCH)
            _assess(make_member(org), dt.date(2026, 5, 1))

    def queries(on):
        with system_scope("test: job"), CaptureQueriesContext(connection) as ctx:
            assert dues_arrears_reminders(on=on) > 0
        return len(ctx.captured_queries)

    grow(2, 0)
    small = queries(TODAY)
    grow(6, 2)
    assert queries(dt.date(2026, 12, 2)) == small
