"""The report's numbers: "审批发展党员X人，其中女性X人，35岁及以下X人，大专以上文化X人，“两新”组织X人"."""

import datetime as dt

import pytest

from dangjian.orgs.models import OrgKind, Sector
from dangjian.recruitment import selectors
from dangjian.recruitment.tests.factories import START, full_members, open_case, walk
from dangjian.testing import acting_as, make_org

pytestmark = pytest.mark.django_db
YEAR_2025 = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))  # the walk's 确定发展对象 and 审批 fall in 2025


def test_the_make_up_of_those_admitted_and_the_counts_of_a_year(district):
    admin = district.users["district_admin"]
    d = district
    two_new = make_org(d.committee_b, "某科技公司党支部", OrgKind.BRANCH, sector=Sector.NEW_ECONOMIC_SOCIAL)
    young_woman = open_case(admin, d.branch_b1, n=1, born=dt.date(1998, 3, 14), sex="female")
    older_man = open_case(admin, two_new, n=2, born=dt.date(1980, 1, 2), sex="male", ethnicity="03",
                          education="61", occupation="retired")
    target_only = open_case(admin, d.branch_b1, n=3)
    walk(admin, young_woman, until=17, mentors=full_members(d.branch_b1), sponsors=full_members(d.branch_b1))
    walk(admin, older_man, until=17, mentors=full_members(two_new), sponsors=full_members(two_new))
    walk(admin, target_only, until=7, mentors=full_members(d.branch_b1))
    with acting_as(admin):
        year = selectors.recruitment_statistics(org=d.root, start=YEAR_2025[0], end=YEAR_2025[1])
        applied = selectors.recruitment_statistics(org=None, start=START, end=START)
        branch = selectors.recruitment_statistics(org=d.branch_b1, start=YEAR_2025[0], end=YEAR_2025[1])
    assert (year.applicants, year.development_targets, year.admitted, year.converted) == (0, 3, 2, 0)
    assert (year.women, year.minorities, year.young, year.college, year.two_new, year.front_line) == (1, 1, 1, 1, 1, 1)
    assert year.by_occupation == {"企事业单位、社会组织专业技术人员": 1, "离退休人员": 1}
    assert year.sentence() == "审批发展党员2人，其中女性1人，35岁及以下1人，大专以上文化1人，“两新”组织1人"
    assert (applied.applicants, applied.activists, applied.admitted) == (3, 0, 0)
    assert (branch.admitted, branch.development_targets, branch.two_new) == (1, 2, 0)


def test_a_worker_counts_only_their_subtree(district):
    admin = district.users["district_admin"]
    open_case(admin, district.branch_a1, n=1)
    open_case(admin, district.branch_b1, n=2)
    with acting_as(district.users["branch_worker"]):  # on 甲社区党支部 only
        mine = selectors.recruitment_statistics(org=None, start=START, end=START)
    with acting_as(admin):
        everything = selectors.recruitment_statistics(org=None, start=START, end=START)
    assert (mine.applicants, everything.applicants) == (1, 2)
