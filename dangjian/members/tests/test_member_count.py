"""The member list's total (`member_count`) and its keyset pages (`member_page`).

The total comes from the counters (MemberTally) only when they hold exactly what the list shows; every
case here is compared with a live count of the list's own rows, so a counter read where it cannot answer
(two filters, a name, a worker's own record outside their subtrees, an everything-scope) fails."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.accounts.models import User
from dangjian.core import codes
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.members.models import LeaveReason, Member, MemberStatus
from dangjian.members.selectors import MemberFilters, list_plan, member_count, member_list, member_page
from dangjian.members.services import member_leave
from dangjian.orgs.models import Organization, Sector
from dangjian.testing import acting_as, make_member, make_user

TODAY = dt.date(2026, 11, 29)
ROLES = ("district_admin", "committee_admin", "branch_worker")


@pytest.fixture
def roster(district):
    """The fixture district plus members in every (status, gender, education level) over the three branches,
    one of whom has left the roster (no subtree and no counter holds them any more)."""
    combos = itertools.product(MemberStatus.values, ("male", "female"), ("11", "14", "21", "31", "61"))
    branches = itertools.cycle([district.branch_a1, district.branch_a2, district.branch_b1])
    for i, (status, sex, education) in enumerate(combos):
        extra = {"confirmed_on": ""} if status == MemberStatus.PROBATIONARY else {}
        make_member(next(branches), status=status, sex=sex, education=education,
                    born=dt.date(1960 + i, 3, 1), **extra)
    gone = make_member(district.branch_a1, sex="female")
    member_leave(actor=SYSTEM, member=gone, on=TODAY, reason=LeaveReason.DECEASED)
    return district


def single_filters() -> list[dict]:
    """No filter, and each tallied filter alone with every value it offers and one it does not."""
    out: list[dict] = [{}]
    out += [{"status": v} for v in [*MemberStatus.values, "junk"]]
    out += [{"gender": v} for v in [*codes.Gender.values, "x"]]
    out += [{"education_level": v} for v, _ in [*codes.EDUCATION_LEVELS, ("%", "")]]
    out += [{"sector": v} for v in [*Sector.values, "nowhere"]]
    out += [{"age_band": "no such band"}]  # the list ignores it: the whole subtree's total
    return out


def counted(filters: MemberFilters, **kw) -> tuple[tuple[int, bool], str]:
    """member_count's answer (with its plan, as the list page asks) and the statement that answered: the
    counters' read when they hold the total, else the capped count of the members."""
    with CaptureQueriesContext(connection) as ctx:
        plan = list_plan(filters)
        result = member_count(filters=filters, plan=plan, **kw)
    # one read of the counters for the plan (and one of the organisation's direct members when a filter's
    # dimension is counted below it only: members.tallies), and the count unless the counters answered it
    sql = [q["sql"] for q in ctx.captured_queries]
    reads = sum("members_membertally" in q for q in sql) + sum(DIRECT_MEMBERS in q for q in sql)
    assert reads <= 2 and len(sql) == (plan.total is None) + reads
    return result, [q for q in sql if DIRECT_MEMBERS not in q][-1]


DIRECT_MEMBERS = 'WHERE "members_member"."org_path" IN ('  # members.tallies.direct_counts


def live(filters: MemberFilters) -> int:
    return member_list(filters=filters).count()


def visible_orgs(user) -> list[Organization | None]:
    paths = user.capability_paths("member.view")
    return [None, *(o for o in Organization.unscoped.order_by("path") if any(o.path.startswith(p) for p in paths))]


@pytest.mark.parametrize("role", ROLES)
def test_the_total_from_the_counters_equals_the_live_count_under_every_single_filter(roster, role):
    user = roster.users[role]
    with acting_as(user):
        for org, kw in itertools.product(visible_orgs(user), single_filters()):
            filters = MemberFilters(org=org, today=TODAY, **kw)
            (n, exact), sql = counted(filters)
            assert (n, exact) == (live(filters), True), (org, kw)
            assert "members_membertally" in sql and "members_member\"" not in sql, (org, kw)


def test_the_counters_answer_a_filter_past_the_cap_exactly(roster):
    with acting_as(roster.users["district_admin"]):
        filters = MemberFilters(status=MemberStatus.FULL)
        assert counted(filters, cap=3)[0] == (live(filters), True) and live(filters) > 3


@pytest.mark.parametrize("kw", [
    {"status": MemberStatus.PROBATIONARY, "gender": "female"},
    {"gender": "male", "education_level": "1"},
    {"sector": Sector.SCHOOL, "status": MemberStatus.FULL},
    {"q": "党员"},
    {"age_band": "61岁及以上"},
])
@pytest.mark.parametrize("role", ROLES)
def test_filters_the_counters_do_not_hold_are_counted_from_the_rows(roster, role, kw):
    user = roster.users[role]
    with acting_as(user):
        for org in visible_orgs(user):
            filters = MemberFilters(org=org, today=TODAY, **kw)
            (n, exact), sql = counted(filters)
            assert (n, exact) == (live(filters), True), (org, kw)
            assert "members_membertally" not in sql and 'FROM "members_member"' in sql


def test_two_filters_past_the_cap_stay_a_capped_count(roster):
    with acting_as(roster.users["district_admin"]):
        filters = MemberFilters(status=MemberStatus.FULL, gender="male")
        assert live(filters) > 2
        assert counted(filters, cap=2)[0] == (2, False)


def test_an_organisation_beyond_the_scope_is_counted_from_the_rows(roster):
    """A 党委 worker asking for the district (its subtree only partly theirs) sees their part counted."""
    with acting_as(roster.users["committee_admin"]):
        filters = MemberFilters(org=roster.root, status=MemberStatus.FULL)
        (n, exact), sql = counted(filters)
        assert (n, exact) == (live(filters), True) and 'FROM "members_member"' in sql
        assert n == Member.unscoped.filter(org_path__startswith=roster.committee_a.path, status="full").count()


def test_a_worker_whose_own_record_lies_elsewhere_is_counted_too(roster):
    """The scope holds the worker's own row beside their subtrees: the subtrees' counters would miss it."""
    worker = make_user("b_worker_member", role="branch_worker", org=roster.branch_b1)
    own = make_member(roster.branch_a1, name="赵六", sex="female")
    Member.unscoped.filter(pk=own.pk).update(user=worker)
    worker = User.objects.get(pk=worker.pk)
    with acting_as(worker):
        for kw in single_filters():
            filters = MemberFilters(today=TODAY, **kw)
            assert counted(filters)[0] == (live(filters), True), kw
        assert own.pk in member_list(filters=MemberFilters(gender="female")).values_list("pk", flat=True)


def test_an_everything_scope_counts_those_who_left_as_its_list_does(roster):
    with system_scope("test: the unscoped list holds members who left"):
        (n, exact), sql = counted(MemberFilters())
        assert (n, exact) == (Member.objects.count(), True) and 'FROM "members_member"' in sql
        assert Member.objects.filter(org_path="").exists()


# --- Keyset pages -----------------------------------------------------------------------------------


def walk(filters: MemberFilters, size: int) -> tuple[list[list[int]], list[list[int]]]:
    """Every page forward by "下一页" (after the last row), then back by "上一页" (before the first)."""
    forward, rows, more = [], *member_page(filters=filters, size=size)
    while True:
        forward.append([m.pk for m in rows])
        if not more:
            break
        last = rows[-1]
        rows, more = member_page(filters=filters, after=(last.org_path, last.pk), size=size)
    backward = [forward[-1]]
    first = Member.unscoped.get(pk=forward[-1][0])
    while True:
        rows, more = member_page(filters=filters, before=(first.org_path, first.pk), size=size)
        if not rows:
            break
        backward.append([m.pk for m in rows])
        first = rows[0]
    return forward, backward[::-1]


@pytest.mark.parametrize("kw", [{}, {"status": MemberStatus.FULL, "gender": "female"}, {"education_level": "2"},
                                {"sector": Sector.COMMUNITY}])  # the last joins the organisations
def test_keyset_pages_hold_the_list_in_order_each_row_once_both_ways(roster, kw):
    with acting_as(roster.users["district_admin"]):
        filters = MemberFilters(today=TODAY, **kw)
        expected = list(member_list(filters=filters).values_list("pk", flat=True))
        # five at least whatever the fixture's own members are (one per education level for 正式党员、女):
        # three pages of 2 at least
        assert len(expected) >= 5
        forward, backward = walk(filters, size=2)  # pages cut through branches: the id breaks the ties
        assert [pk for page in forward for pk in page] == expected
        assert backward == forward
        assert all(len(page) == 2 for page in forward[:-1])


def test_a_keyset_page_is_scoped_and_carries_its_organisation(roster):
    with acting_as(roster.users["branch_worker"]):
        first, _ = member_page(filters=MemberFilters(), size=2)
        rows, _ = member_page(filters=MemberFilters(), after=(first[-1].org_path, first[-1].pk), size=50)
        assert rows and all(m.org_path == roster.branch_a1.path for m in rows)
        with CaptureQueriesContext(connection) as ctx:
            assert all(m.organization.name for m in rows)
        assert not ctx.captured_queries  # joined in the page's one query, as before
        # a key from another subtree does not open it
        rows, _ = member_page(filters=MemberFilters(), after=(roster.root.path, 0), size=50)
        assert rows and all(m.org_path.startswith(roster.branch_a1.path) for m in rows)
        rows, _ = member_page(filters=MemberFilters(), before=(roster.branch_b1.path, 0), size=50)
        assert rows and all(m.org_path.startswith(roster.branch_a1.path) for m in rows)


def test_the_keys_bound_comes_first_so_sqlite_starts_the_index_search_there(roster):
    """SQLite searches the (org_path, id) index from the first bound on org_path it meets and checks the
    rest row by row: behind the scope's range, page 500 read every row before it (bench/)."""
    with acting_as(roster.users["district_admin"]):
        for direction, op in (("after", ">="), ("before", "<=")):
            filters = MemberFilters(status="full")
            plan = list_plan(filters)
            with CaptureQueriesContext(connection) as ctx:
                member_page(filters=filters, size=3, plan=plan, **{direction: ("0001", 1)})
            # the page's own WHERE (on SQLite inside the ids read through the plan's index)
            where = ctx.captured_queries[0]["sql"].split(" WHERE ")[-1]
            assert where.lstrip("(").startswith(f'"members_member"."org_path" {op} '), where
