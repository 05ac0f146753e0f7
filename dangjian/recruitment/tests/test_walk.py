"""A whole case, 25 steps, across the 2026 rule change: effects on the roster and the dates they set."""

import datetime as dt

import pytest

from dangjian.core.dates import add_years
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member, MemberStatus
from dangjian.recruitment.models import CaseStatus, Stage
from dangjian.recruitment.services import step_record
from dangjian.recruitment.tests.factories import START, full_members, open_case, schedule, valid_input, walk

pytestmark = pytest.mark.django_db


def test_a_case_walks_all_25_steps_and_the_person_joins_then_converts(district):
    admin = district.users["district_admin"]
    mentors, sponsors = full_members(district.branch_b1), full_members(district.branch_b1)
    case = open_case(admin, district.branch_b1)
    walk(admin, case, until=17, mentors=mentors, sponsors=sponsors)
    dates = schedule(START)
    with system_scope("test"):
        member = Member.objects.get(pk=case.member_id)
    assert member.status == MemberStatus.PROBATIONARY and member.joined_on == dates[15]
    assert case.stage == Stage.PROBATIONARY and case.probation_ends_on == add_years(dates[15], 1)
    for n in range(18, 26):
        step_record(actor=admin, case=case, data=valid_input(case, n, dates[n]))
        case.refresh_from_db()
    member.refresh_from_db()
    assert member.status == MemberStatus.FULL and member.confirmed_on == add_years(dates[15], 1)
    assert case.status == CaseStatus.COMPLETED and case.stage == Stage.FULL_MEMBER
    versions = dict(case.steps.values_list("number", "rule_version"))
    assert versions[2] == "2014" and versions[24] == "2026"
    assert dt.date(2026, 5, 11) <= dates[23]
