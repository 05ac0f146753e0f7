"""The member list under every combination of its filters: which index it walks (`list_plan`), that every
index a plan may name gives exactly the plain list's rows, pages and total, and the copy of 领域 on the
member row (`Member.sector`) that lets the list filter without a join."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.api.tests.conftest import token_client
from dangjian.core.actors import SYSTEM
from dangjian.members.models import LeaveReason, Member, MemberStatus
from dangjian.members.selectors import (
    FACETS_INDEX,
    LEADING_INDEX,
    ListPlan,
    MemberFilters,
    cheapest_walks,
    list_plan,
    member_count,
    member_count_capped,
    member_list,
    member_page,
)
from dangjian.members.services import member_leave, member_move, member_update
from dangjian.orgs.models import Sector
from dangjian.orgs.services import organization_update
from dangjian.testing import acting_as, make_member

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def roster(district):
    """Thirty-odd members over the three branches (two community, one school): few 预备党员, few 研究生,
    names that share a prefix, birth years from 1950 to 2000 (every age band)."""
    branches = itertools.cycle([district.branch_a1, district.branch_a2, district.branch_b1])
    for i in range(30):
        probationary = i % 10 == 3
        make_member(next(branches), name=("张" if i % 4 == 0 else "李") + "党员" + "甲乙丙丁戊己庚辛壬癸"[i % 10],
                    status=MemberStatus.PROBATIONARY if probationary else MemberStatus.FULL,
                    sex="female" if i % 3 == 0 else "male", education="11" if i % 7 == 0 else ("21", "31", "61")[i % 3],
                    born=dt.date(1950 + (i * 5) % 51, 1 + i % 12, 10), **({"confirmed_on": ""} if probationary else {}))
    return district


FILTER_VALUES = {
    "status": ["", MemberStatus.PROBATIONARY, MemberStatus.FULL],
    "gender": ["", "female"],
    "sector": ["", Sector.SCHOOL, Sector.COMMUNITY],
    "education_level": ["", "1", "2"],
    "age_band": ["", "61岁及以上", "31-35岁"],
    "q": ["", "张"],
}


def combinations():
    names = list(FILTER_VALUES)
    for values in itertools.product(*FILTER_VALUES.values()):
        yield {n: v for n, v in zip(names, values, strict=True) if v}


def indexes_for(kw: dict) -> list[str]:
    """Every index a plan may name for these filters (INDEXED BY refuses one that cannot serve them)."""
    out = [FACETS_INDEX]
    for name, index in LEADING_INDEX.items():
        if kw.get(name) and (name != "status" or kw[name] == MemberStatus.PROBATIONARY):
            out.append(index)
    return out


def test_every_index_a_plan_may_name_gives_the_plain_lists_pages_and_total(roster):
    """Forward and back by keys, and the capped total, through each index, for 324 combinations."""
    checked = 0
    with acting_as(roster.users["district_admin"]):
        for kw in combinations():
            filters = MemberFilters(today=TODAY, **kw)
            expected = list(member_list(filters=filters).values_list("pk", flat=True))
            for index in indexes_for(kw):
                plan = ListPlan(index=index)
                first, more = member_page(filters=filters, size=3, plan=plan)
                assert [m.pk for m in first] == expected[:3] and more == (len(expected) > 3), (kw, index)
                if len(expected) > 3:
                    last = Member.unscoped.get(pk=expected[2])
                    rows, _ = member_page(filters=filters, after=(last.org_path, last.pk), size=3, plan=plan)
                    assert [m.pk for m in rows] == expected[3:6], (kw, index)
                    rows, more = member_page(filters=filters, before=(last.org_path, last.pk), size=3, plan=plan)
                    assert [m.pk for m in rows] == expected[:2] and not more, (kw, index)
                capped = member_count_capped(member_list(filters=filters), cap=4, index=index)
                assert capped == (min(len(expected), 4), len(expected) <= 4), (kw, index)
                checked += 1
    assert checked > 700  # every leading index was exercised with the others' filters beside it


def test_the_page_reads_through_the_plans_index_on_sqlite(roster):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL picks among the same indexes with its own statistics")
    with acting_as(roster.users["district_admin"]):
        filters = MemberFilters(status=MemberStatus.PROBATIONARY, gender="female", today=TODAY)
        with CaptureQueriesContext(connection) as ctx:
            member_page(filters=filters, size=3, plan=ListPlan(index="member_probationary"))
        sql = ctx.captured_queries[0]["sql"]
        assert 'INDEXED BY "member_probationary"' in sql and "= 'probationary'" in sql
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "COVERING INDEX member_probationary" in plan  # the filters are checked on the index entries


@pytest.mark.parametrize(("kw", "index", "count_index"), [
    ({}, None, None),  # no filter: the database walks (org_path, id); the counters give the total
    ({"gender": "female"}, FACETS_INDEX, None),  # one tallied filter: exact total, nothing narrows much
    ({"status": MemberStatus.PROBATIONARY, "gender": "female"}, "member_probationary", "member_probationary"),
    ({"sector": Sector.SCHOOL, "gender": "female"}, "member_sector_facets", "member_sector_facets"),
    ({"education_level": "1", "gender": "male"}, "member_education_facets", "member_education_facets"),
    ({"status": MemberStatus.FULL, "gender": "male"}, FACETS_INDEX, FACETS_INDEX),  # 正式党员 leads no index
    ({"age_band": "31-35岁"}, "member_birth_scope", "member_birth_scope"),  # 4 of 33: its range is cheaper
    ({"q": "张"}, "member_name", "member_name"),  # a third of this small roster: still few rows
    ({"q": "110101199001011234"}, None, None),  # an ID number: a unique index, any database finds it
])
def test_the_plan_walks_the_indexes_that_read_fewest_entries(roster, kw, index, count_index):
    with acting_as(roster.users["district_admin"]):
        filters = MemberFilters(today=TODAY, **kw)
        with CaptureQueriesContext(connection) as ctx:
            plan = list_plan(filters)
        assert (plan.index, plan.count_index) == (index, count_index)
        assert (plan.total is not None) == (kw.keys() <= {"gender"})
        # one read of the counters at most, and one of the organisation's direct members for a filter whose
        # dimension the counters hold below it only (members.tallies.OWN_LEVEL: all but 党员类别)
        below_only = {"gender", "education_level", "sector", "age_band"} & kw.keys()
        assert len(ctx.captured_queries) <= 1 + bool(below_only)
        assert member_count(filters=filters, plan=plan)[0] == member_list(filters=filters).count()


CITY = 1_000_000  # the bench's city (bench/, issue 8): shares as in its roster


@pytest.mark.parametrize(("shares", "probationary", "walks"), [
    # 31-35岁 (7 %) and 女 (30 %): the page is near in path order; the count stops sooner in the birth range
    ({"age_band": 0.07, "gender": 0.3}, False, (FACETS_INDEX, "member_birth_scope")),
    # 学校 (16 %) and 女: both in the school members' path order
    ({"sector": 0.16, "gender": 0.3}, False, ("member_sector_facets", "member_sector_facets")),
    # 机关 (14 %) and 研究生 (10 %): the smaller leads
    ({"sector": 0.14, "education_level": 0.1}, False, ("member_education_facets", "member_education_facets")),
    # 正式党员 (98 %) and 女: nothing leads
    ({"status": 0.98, "gender": 0.3}, False, (FACETS_INDEX, FACETS_INDEX)),
    # "张" (a common surname) and 预备党员 (2 %): the small index that holds the name
    ({"q": 0.05, "status": 0.02}, True, ("member_probationary", "member_probationary")),
    # "张" alone: 20 pages' worth of rows in path order beat sorting 50,000; the count reads the name range
    ({"q": 0.05}, False, (FACETS_INDEX, "member_name")),
    # two characters of a name: the name range
    ({"q": 0.002}, False, ("member_name", "member_name")),
])
def test_the_cost_model_at_a_citys_scale(shares, probationary, walks):
    assert cheapest_walks(total=CITY, tree=CITY, shares=shares, probationary=probationary) == walks


def test_an_age_band_in_a_small_subtree_is_not_read_over_the_whole_tree():
    """The birth_date range spans every subtree: for a street of 20,000 in the city it reads the city's."""
    shares = {"age_band": 0.07, "gender": 0.3}
    assert cheapest_walks(total=20_000, tree=CITY, shares=shares, probationary=False) == (FACETS_INDEX, FACETS_INDEX)


def test_the_plan_reads_the_counters_of_the_subtree_asked_about(roster):
    """Under the school branch every member is of 学校: the sector filter narrows nothing there."""
    with acting_as(roster.users["district_admin"]):
        school = MemberFilters(org=roster.branch_b1, sector=Sector.SCHOOL, gender="female", today=TODAY)
        district = MemberFilters(sector=Sector.SCHOOL, gender="female", today=TODAY)
        assert list_plan(school).index == FACETS_INDEX
        assert list_plan(district).index == "member_sector_facets"


# --- The copy of 领域 on the member row --------------------------------------------------------------


def sectors() -> dict[int, str]:
    return dict(Member.unscoped.values_list("pk", "sector"))


def test_a_member_carries_the_sector_of_its_organisation_through_every_change(roster):
    community, school = roster.branch_a1, roster.branch_b1
    member = make_member(community)
    assert member.sector == Sector.COMMUNITY == sectors()[member.pk]
    member_move(actor=SYSTEM, member=member, to=school, on=TODAY)
    assert sectors()[member.pk] == Sector.SCHOOL
    gone = make_member(school)
    member_leave(actor=SYSTEM, member=gone, on=TODAY, reason=LeaveReason.DECEASED)
    organization_update(actor=SYSTEM, org=school, sector=Sector.GOVERNMENT)
    now = sectors()
    assert now[member.pk] == now[gone.pk] == Sector.GOVERNMENT  # those who left too: one fact, one value
    assert all(now[m.pk] == Sector.COMMUNITY for m in Member.unscoped.filter(org_path=community.path))
    with acting_as(roster.users["district_admin"]):
        government = MemberFilters(sector=Sector.GOVERNMENT, today=TODAY)
        assert list(member_list(filters=government)) and member_count(filters=government)[0] == len(
            member_list(filters=government))


def test_a_member_carries_the_level_of_its_education_code(roster):
    member = make_member(roster.branch_a1, education="14")
    assert Member.unscoped.get(pk=member.pk).education_level == "1"
    data = {f: getattr(member, f) for f in ("name", "gender", "birth_date", "occupation")} | {"education": "71"}
    member_update(actor=SYSTEM, member=member, data=data)
    assert Member.unscoped.get(pk=member.pk).education_level == "7"
    with acting_as(roster.users["district_admin"]):
        assert member.pk in member_list(filters=MemberFilters(education_level="7")).values_list("pk", flat=True)


def copies() -> dict[int, tuple[str, str]]:
    return {pk: (sector, level) for pk, sector, level in Member.unscoped.values_list("pk", "sector", "education_level")}


def test_the_migration_copies_every_members_sector_and_education_level(roster):
    migration = importlib.import_module("dangjian.members.migrations.0011_list_facets")
    expected = copies()
    Member.unscoped.update(sector="", education_level="")
    migration.copy_sector_and_level(apps, connection.schema_editor())  # (not entered: SQLite's would leave the test's transaction)
    assert copies() == expected
    assert {v[0] for v in expected.values()} == {Sector.COMMUNITY, Sector.SCHOOL}
    assert all(level == m.education[:1] for m in Member.unscoped.all() for level in [expected[m.pk][1]])


# --- The API's list: the same plan, offset pages -----------------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"sector": Sector.SCHOOL, "gender": "male"}, {"status": MemberStatus.PROBATIONARY},
                                {"education_level": "3", "sector": Sector.COMMUNITY}, {"age_band": "61岁及以上"}, {"q": "张"}])
def test_the_api_list_pages_by_offset_through_the_plan(roster, kw):
    client = token_client(roster.users["district_admin"])
    with acting_as(roster.users["district_admin"]):
        expected = list(member_list(filters=MemberFilters(today=TODAY, **kw)).values_list("pk", flat=True))
    assert len(expected) >= 3, kw
    for offset in (0, 1, len(expected) - 1, len(expected) + 5):
        body = client.get("/api/v1/members", {**kw, "limit": 2, "offset": offset}).json()
        assert [m["id"] for m in body["items"]] == expected[offset : offset + 2], (kw, offset)
        assert (body["total"], body["total_exact"]) == (len(expected), True), kw


# --- Scopes narrower than the district ----------------------------------------------------------------


def test_a_workers_plan_prices_the_whole_tree_walks_with_the_districts_size(roster):
    """The birth_date and name ranges span the whole district: a branch worker, who cannot see its counters,
    must still price them at its size (read as 0 they looked free, and a branch's list walked the district)."""
    kw = {"age_band": "61岁及以上", "today": TODAY}
    with acting_as(roster.users["district_admin"]):
        as_seen_from_above = list_plan(MemberFilters(org=roster.branch_a1, **kw))
    with acting_as(roster.users["branch_worker"]):
        assert list_plan(MemberFilters(**kw)) == as_seen_from_above
    assert as_seen_from_above.index == FACETS_INDEX  # the branch's 11 members in path order, not the birth range


def test_an_own_record_outside_the_subtrees_leaves_the_choice_to_the_database(roster):
    """A worker whose own member record lies outside their subtree: the scope is not whole subtrees, so no
    index is named (on SQLite a named index would rule out finding the own record by its id)."""
    from dangjian.accounts.models import User
    from dangjian.testing import make_user

    worker = make_user("b_worker_member", role="branch_worker", org=roster.branch_b1)
    own = make_member(roster.branch_a1, name="赵六", sex="female")
    Member.unscoped.filter(pk=own.pk).update(user=worker)
    worker = User.objects.get(pk=worker.pk)
    with acting_as(worker):
        for kw in ({}, {"q": "张"}, {"age_band": "61岁及以上"}):
            assert list_plan(MemberFilters(today=TODAY, **kw)) == ListPlan(), kw
    client = token_client(worker)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/v1/members", {"limit": 50}).json()
    assert own.pk in [m["id"] for m in body["items"]] and body["total"] == len(body["items"])
    assert not any("INDEXED BY" in q["sql"] for q in ctx.captured_queries)


def test_a_named_index_serves_a_query_without_a_where_clause(roster):
    """Under the system scope an unfiltered list has no WHERE at all; the index is still named."""
    from dangjian.core.scoping import system_scope

    with system_scope("test: the whole table through a named index"):
        expected = list(Member.objects.order_by("org_path", "id").values_list("pk", flat=True)[:5])
        with CaptureQueriesContext(connection) as ctx:
            rows, more = member_page(filters=MemberFilters(), size=5, plan=ListPlan(index="member_scope_order"))
    assert [m.pk for m in rows] == expected and more
    if connection.vendor == "sqlite":
        assert 'INDEXED BY "member_scope_order"' in ctx.captured_queries[0]["sql"]
