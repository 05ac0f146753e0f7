"""The daily due reminders: to the workers of the case's organisation, once per due date, again when overdue."""

import datetime as dt

import pytest

from dangjian.core.jobs import discover, run_job
from dangjian.core.scoping import system_scope
from dangjian.notifications.models import Notification
from dangjian.recruitment import jobs, notices
from dangjian.recruitment.tests.factories import open_case

pytestmark = pytest.mark.django_db

APPLIED = dt.date(2026, 10, 1)  # talk due by 2026-11-01 (细则 第七条)


def _notes():
    return list(Notification.unscoped.order_by("id").values_list("kind", "user__username", "title"))


def test_a_case_due_soon_reminds_its_workers_once_then_again_when_overdue(district):
    admin = district.users["district_admin"]
    case = open_case(admin, district.branch_b1, applied_on=APPLIED)
    assert case.next_due == dt.date(2026, 11, 1) and case.next_due_label == "派人谈话"
    with system_scope("test"):
        assert jobs.due_reminders(on=dt.date(2026, 10, 20)) == 0  # 12 days ahead: not yet
        assert jobs.due_reminders(on=dt.date(2026, 10, 25)) == 1
        assert jobs.due_reminders(on=dt.date(2026, 10, 26)) == 0  # the same due date: nothing new
    # branch_b1 and its 党委 have no worker account: the district's administrator is reminded
    assert _notes() == [(notices.DUE.code, "district", f"{case.name}：派人谈话将于2026年11月1日到期")]
    body = Notification.unscoped.get().body
    assert "第七条" in body and "第一中学党支部" in body
    with system_scope("test"):
        assert jobs.due_reminders(on=dt.date(2026, 11, 2)) == 1
    kinds = [k for k, _, _ in _notes()]
    assert kinds == [notices.DUE.code, notices.OVERDUE.code]


def test_closed_and_undated_cases_are_not_reminded(district):
    admin = district.users["district_admin"]
    case = open_case(admin, district.branch_b1, applied_on=APPLIED)
    from dangjian.recruitment.services import case_end

    case_end(actor=admin, case=case, on=dt.date(2026, 10, 10), reason="本人撤回入党申请")
    with system_scope("test"):
        assert jobs.due_reminders(on=dt.date(2026, 10, 30)) == 0
    assert not Notification.unscoped.exists()


def test_the_job_is_scheduled_and_runs_from_the_queue(district, settings):
    assert "recruitment.due_reminders" in settings.DANGJIAN_SCHEDULE
    assert "recruitment.due_reminders" in discover()
    open_case(district.users["district_admin"], district.branch_b1, applied_on=dt.date(2020, 1, 6))
    assert run_job("recruitment.due_reminders") == 1  # long overdue today


def test_a_committee_step_is_reminded_to_the_committee_and_a_branch_step_to_the_branch(district):
    """上级党委审批 (step 17, within three months of the branch meeting) is the 党委's to do: its workers are
    reminded, not the branch's, who cannot record it. The branch's own deadline still goes to the branch."""
    from dangjian.recruitment.tests.factories import full_members, walk
    from dangjian.testing import make_user

    admin = district.users["district_admin"]
    branch_worker = make_user("worker_b1", role="branch_worker", org=district.branch_b1)
    committee_worker = make_user("worker_cb", role="committee_admin", org=district.committee_b)
    pair = full_members(district.branch_b1)
    waiting = open_case(admin, district.branch_b1, n=1)
    walk(admin, waiting, until=15, mentors=pair, sponsors=pair)  # the branch meeting voted: the 党委 approves next
    waiting.refresh_from_db()
    assert (waiting.next_due_label, waiting.next_due_step) == ("上级党委审批", 17)
    with system_scope("test"):
        assert jobs.settled_by([waiting]) == {waiting.pk: district.committee_b}
        assert jobs.due_reminders(on=waiting.next_due - dt.timedelta(days=3)) == 1
    (note,) = Notification.unscoped.all()
    assert note.user == committee_worker and note.kind == notices.DUE.code
    assert f"前由{district.committee_b.name}完成" in note.body and district.branch_b1.name in note.body

    fresh = open_case(admin, district.branch_b1, n=2, applied_on=APPLIED)  # 派人谈话: the branch's own step
    with system_scope("test"):  # by then the 党委's approval is overdue: urgently, to the 党委 again
        assert jobs.due_reminders(on=fresh.next_due - dt.timedelta(days=3)) == 2
    new = Notification.unscoped.exclude(pk=note.pk).order_by("id")
    assert {(n.user, n.kind) for n in new} == {(branch_worker, notices.DUE.code),
                                                (committee_worker, notices.OVERDUE.code)}


def test_a_committee_step_without_a_committee_is_reminded_to_the_branch(district):
    from dangjian.recruitment.models import RecruitmentCase

    admin = district.users["district_admin"]
    case = open_case(admin, district.branch_b1, applied_on=APPLIED)
    RecruitmentCase.unscoped.filter(pk=case.pk).update(next_due_step=17)  # as if the 党委's step were next
    case = RecruitmentCase.unscoped.select_related("organization").get(pk=case.pk)
    with system_scope("test"):
        assert jobs.settled_by([case]) == {case.pk: district.committee_b}
        district.committee_b.has_approval_authority = False
        district.committee_b.save()
        assert jobs.settled_by([case]) == {case.pk: district.branch_b1}  # no 党委 with 审批权限 above it
