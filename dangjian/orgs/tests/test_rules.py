"""Organisation warnings (DOMAIN-RULES §6): sizes by kind and term reminders. They warn; they never block."""

import datetime as dt

import pytest

from dangjian.core.actors import SYSTEM
from dangjian.core.dates import add_months
from dangjian.members.selectors import member_counts_by_org
from dangjian.orgs.models import Organization, OrgKind
from dangjian.orgs.rules import SIZE_RULES, size_warnings, term_warnings
from dangjian.orgs.selectors import committee_seats_in_scope, organization_list
from dangjian.orgs.services import committee_member_add, organization_dissolve
from dangjian.testing import acting_as, make_member, make_org

TODAY = dt.date(2026, 3, 15)


def _fill(org, full: int, probationary: int = 0):
    for _ in range(full):
        make_member(org)
    for _ in range(probationary):
        make_member(org, status="probationary", confirmed_on=None)


def _warnings(user, orgs=None):
    """{(org name, rule code)} as `user` would see them, counts from the scoped selector."""
    with acting_as(user):
        orgs = list(organization_list()) if orgs is None else orgs
        counts = member_counts_by_org(orgs=orgs)
        return {(w.org.name, w.rule) for w in size_warnings(orgs, counts)}, counts


@pytest.fixture
def admin(district):
    return district.users["district_admin"]


# --- branch size ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("full, probationary, warned", [
    (0, 0, True), (2, 0, True), (2, 5, True),  # probationary members do not count towards the three
    (3, 0, False), (3, 4, False),
])
def test_a_branch_needs_three_full_members(district, admin, full, probationary, warned):
    branch = make_org(district.committee_a, "新支部", OrgKind.BRANCH)
    _fill(branch, full, probationary)
    got, counts = _warnings(admin, [branch])
    assert counts[branch.pk] == {"full": full, "total": full + probationary, "subtree": full + probationary}
    assert (("新支部", "branch_min_full") in got) is warned


@pytest.mark.parametrize("kind", [OrgKind.JOINT_BRANCH, OrgKind.TEMPORARY_BRANCH])
def test_branch_rules_cover_joint_and_temporary_branches(district, admin, kind):
    branch = make_org(district.committee_a, "某支部", kind)
    _fill(branch, 1)
    got, _ = _warnings(admin, [branch])
    assert got == {("某支部", "branch_min_full")}


def test_the_warning_names_its_article_and_numbers(district, admin):
    branch = make_org(district.committee_a, "新支部", OrgKind.BRANCH)
    _fill(branch, 2)
    with acting_as(admin):
        (w,) = size_warnings([branch], member_counts_by_org(orgs=[branch]))
    assert w.level == "warning" and "第四条" in w.article and "支部工作条例" in w.article
    assert "2 名" in w.message and "3 名" in w.message


def test_a_branch_of_more_than_fifty_warns(district, admin):
    branch = make_org(district.committee_a, "大支部", OrgKind.BRANCH)
    _fill(branch, 50)
    got, _ = _warnings(admin, [branch])
    assert got == set()  # exactly 50 is fine
    _fill(branch, 0, probationary=1)  # probationary members count towards the size
    got, counts = _warnings(admin, [branch])
    assert counts[branch.pk]["total"] == 51
    assert got == {("大支部", "branch_max")}


def test_the_district_fixture_warns_about_its_small_branches_only(district, admin):
    got, _ = _warnings(admin)
    assert got == {
        ("甲社区党支部", "branch_min_full"), ("乙社区党支部", "branch_min_full"), ("第一中学党支部", "branch_min_full"),
        ("区教育局党委", "primary_committee_size"),  # 1 member, a primary committee generally has ≥ 100
    }  # the working committee and the district committee have no size rule


# --- thresholds from settings ---------------------------------------------------------------------------


def test_branch_thresholds_come_from_settings(district, admin, settings):
    branch = make_org(district.committee_a, "新支部", OrgKind.BRANCH)
    _fill(branch, 2)
    assert ("新支部", "branch_min_full") in _warnings(admin, [branch])[0]
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "branch_min_full_members": 2}
    assert _warnings(admin, [branch])[0] == set()
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "branch_max_members": 1}
    assert _warnings(admin, [branch])[0] == {("新支部", "branch_max")}


@pytest.fixture
def general_branch(district):
    """党总支 with two branches of 2 and 3 members: 5 members in its subtree, none directly."""
    g = make_org(district.committee_a, "总支", OrgKind.GENERAL_BRANCH)
    g1, g2 = make_org(g, "总支一支部", OrgKind.BRANCH), make_org(g, "总支二支部", OrgKind.BRANCH)
    _fill(g1, 2)
    _fill(g2, 3)
    return g


def test_general_branch_size_uses_the_subtree(district, admin, settings, general_branch):
    g = general_branch
    got, counts = _warnings(admin, [g])
    assert counts[g.pk] == {"full": 0, "total": 0, "subtree": 5}
    assert got == {("总支", "general_branch_size")}  # 5 < 50
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "general_branch_min_members": 5,
                               "general_branch_max_members": 6}
    assert _warnings(admin, [g])[0] == set()  # both ends inclusive
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "general_branch_min_members": 1,
                               "general_branch_max_members": 4}
    assert _warnings(admin, [g])[0] == {("总支", "general_branch_size")}  # too big now


def test_primary_committee_size_uses_the_subtree(district, admin, settings):
    b = district.committee_b
    _fill(district.branch_b1, 2)  # 1 + 2 = 3 members below 党委B
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "primary_committee_min_members": 3}
    got, counts = _warnings(admin, [b])
    assert counts[b.pk]["subtree"] == 3 and got == set()
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "primary_committee_min_members": 4}
    (w,) = size_warnings([b], counts)
    assert w.rule == "primary_committee_size" and "第五条" in w.article and "3 名" in w.message


def test_counts_only_see_the_actors_scope(district, general_branch):
    """A committee admin of 党委A counts nothing under 党委B, whatever it asks for."""
    d = district
    with acting_as(d.users["committee_admin"]):
        counts = member_counts_by_org(orgs=[d.committee_a, d.committee_b, d.root])
    assert counts[d.committee_a.pk]["subtree"] == 2 + 5
    assert counts[d.committee_b.pk]["subtree"] == 0
    assert counts[d.root.pk]["subtree"] == 7
    with acting_as(d.users["district_admin"]):
        assert member_counts_by_org(orgs=[d.root])[d.root.pk]["subtree"] == 8
    assert member_counts_by_org(orgs=[]) == {}


def test_dissolved_organisations_do_not_warn(district, admin):
    empty = make_org(district.committee_a, "空支部", OrgKind.BRANCH)
    assert ("空支部", "branch_min_full") in _warnings(admin, [empty])[0]
    organization_dissolve(actor=SYSTEM, org=empty, on=TODAY)
    assert _warnings(admin, [Organization.unscoped.get(pk=empty.pk)])[0] == set()


# --- terms ----------------------------------------------------------------------------------------------


def _seat(org, term_end, position="secretary", term_start=dt.date(2021, 1, 1)):
    return committee_member_add(actor=SYSTEM, org=org, person_name=f"{org.name}{position}", position=position,
                                term_start=term_start, term_end=term_end)


def _terms(user, today=TODAY):
    with acting_as(user):
        return {(w.org.name, w.rule, w.level) for w in term_warnings(committee_seats_in_scope(), today)}


@pytest.mark.parametrize("term_end, expected", [
    (dt.date(2026, 3, 14), ("term_overdue", "danger")),  # yesterday
    (dt.date(2025, 1, 1), ("term_overdue", "danger")),
    (TODAY, ("term_ending", "warning")),
    (dt.date(2026, 6, 1), ("term_ending", "warning")),
    (dt.date(2026, 9, 15), ("term_ending", "warning")),  # exactly six months ahead
    (dt.date(2026, 9, 16), None),
    (dt.date(2027, 3, 15), None),  # a year away
])
def test_term_reminders(district, admin, term_end, expected):
    _seat(district.branch_a1, term_end, term_start=dt.date(2020, 1, 1))
    got = _terms(admin)
    assert got == ({("甲社区党支部", *expected)} if expected else set())


def test_term_warning_window_comes_from_settings(district, admin, settings):
    _seat(district.branch_a1, dt.date(2027, 3, 1))  # 11½ months ahead
    assert _terms(admin) == set()
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "term_warning_months": 12}
    assert _terms(admin) == {("甲社区党支部", "term_ending", "warning")}
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "term_warning_months": 0}
    assert _terms(admin) == set()


def test_only_the_current_secretary_seat_counts(district, admin):
    d = district
    _seat(d.branch_a1, dt.date(2026, 4, 1), position="committee_member")  # a member's seat says nothing
    _seat(d.branch_a2, dt.date(2026, 4, 1))
    seat = _seat(d.committee_b, dt.date(2025, 1, 1))
    from dangjian.orgs.services import committee_member_update

    committee_member_update(actor=SYSTEM, seat=seat, left_on=dt.date(2024, 12, 31))  # left: no warning
    assert _terms(admin) == {("乙社区党支部", "term_ending", "warning")}


def test_term_warnings_respect_the_scope(district):
    d = district
    _seat(d.branch_a1, dt.date(2026, 4, 1))
    _seat(d.branch_b1, dt.date(2026, 4, 1))
    assert {name for name, *_ in _terms(d.users["committee_admin"])} == {"甲社区党支部"}
    assert {name for name, *_ in _terms(d.users["district_admin"])} == {"甲社区党支部", "第一中学党支部"}
    assert _terms(d.users["security_admin"]) == set()


def test_one_warning_per_organisation(district, admin):
    _seat(district.branch_a1, dt.date(2026, 4, 1))
    _seat(district.branch_a1, dt.date(2026, 5, 1), term_start=dt.date(2022, 1, 1))
    assert len(_terms(admin)) == 1


@pytest.mark.parametrize("day, months, expected", [
    (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
    (dt.date(2027, 8, 31), 6, dt.date(2028, 2, 29)),
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 3, 15), 6, dt.date(2026, 9, 15)),
    (dt.date(2026, 7, 15), 6, dt.date(2027, 1, 15)),
    (dt.date(2026, 3, 15), 0, dt.date(2026, 3, 15)),
])
def test_add_months_clamps_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


# --- the same rules in SQL (the workbench counts them in the database) ---------------------------------


def _sql_says(rule, counts: dict, params: dict) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT CASE WHEN {rule.sql_condition(params)} THEN 1 ELSE 0 END FROM "  # noqa: S608
                       "(SELECT %s AS n_full, %s AS n_total, %s AS n_subtree) c",
                       [counts["full"], counts["total"], counts["subtree"]])
        return cursor.fetchone()[0] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("rule", SIZE_RULES, ids=lambda rule: rule.code)
@pytest.mark.parametrize("overrides", [{}, {"branch_min_full_members": 1, "branch_max_members": 2,
                                             "general_branch_min_members": 5, "general_branch_max_members": 5,
                                             "primary_committee_min_members": 0}])
def test_each_size_rule_says_the_same_in_sql_and_in_python(settings, rule, overrides):
    """Either side of every threshold (and on it) for the counts the rule reads."""
    params = {**settings.DANGJIAN_RULES, **overrides}
    edges = sorted({max(0, v + d) for v in params.values() for d in (-1, 0, 1)})
    for key in rule.counts:
        for n in edges:
            counts = {"full": 0, "total": 0, "subtree": 0, key: n}
            assert _sql_says(rule, counts, params) == bool(rule.check(counts, params)), (key, n)
    assert set(rule.counts) <= {"full", "total", "subtree"}


@pytest.mark.parametrize(("code", "counts", "expected"), [
    ("branch_min_full", {"full": 2}, "正式党员仅 2 名，少于 3 名，宜成立联合党支部"),
    ("branch_max", {"total": 51}, "党员 51 名，超过 50 名，宜分设支部或成立党总支"),
    ("general_branch_size", {"subtree": 4}, "党员 4 名，党总支一般为 5—7 名（少于须经批准，超过宜成立党委）"),
    ("general_branch_size", {"subtree": 8}, "党员 8 名，党总支一般为 5—7 名（少于须经批准，超过宜成立党委）"),
    ("primary_committee_size", {"subtree": 99}, "党员 99 名，基层党委一般在 100 名以上（少于须经批准）"),
])
def test_each_size_rule_words_its_count_and_thresholds(code, counts, expected):
    """One declaration per rule (count, least, most, message): the wording takes the thresholds it names."""
    params = {"branch_min_full_members": 3, "branch_max_members": 50, "general_branch_min_members": 5,
              "general_branch_max_members": 7, "primary_committee_min_members": 100}
    rule = next(r for r in SIZE_RULES if r.code == code)
    assert rule.check({"full": 0, "total": 0, "subtree": 0, **counts}, params) == expected
    (n,) = counts.values()
    on_the_threshold = params[rule.least] if rule.least and n < params[rule.least] else params[rule.most]
    assert rule.check({"full": 0, "total": 0, "subtree": 0, rule.count: on_the_threshold}, params) is None
