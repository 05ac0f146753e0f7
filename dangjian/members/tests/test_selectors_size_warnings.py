"""size_warning_rows: the organisation size rules counted in the database (the workbench, issue 8) say
exactly what the Python rules say over member_counts_by_org, within the worker's subtrees only."""

import datetime as dt

import pytest

from dangjian.core.actors import SYSTEM
from dangjian.members.models import Member
from dangjian.members.selectors import member_counts_by_org, size_warning_rows
from dangjian.orgs.models import OrgKind
from dangjian.orgs.rules import size_warnings
from dangjian.orgs.selectors import organization_list, scope_covers_every_root
from dangjian.orgs.services import organization_dissolve
from dangjian.testing import acting_as, make_member, make_org


def _fill(org, full: int, probationary: int = 0):
    for _ in range(full):
        make_member(org)
    for _ in range(probationary):
        make_member(org, status="probationary", confirmed_on=None)


@pytest.fixture
def tree(district):
    """Every case the counts distinguish: a general branch (subtree only), a branch with a party group that
    holds members (direct = own counters minus the group's), a dissolved branch, probationary members."""
    d = district
    g = make_org(d.committee_a, "总支", OrgKind.GENERAL_BRANCH)
    _fill(make_org(g, "总支一支部", OrgKind.BRANCH), 2, 1)
    _fill(make_org(g, "总支二支部", OrgKind.BRANCH), 3)
    grouped = make_org(d.committee_b, "有小组的支部", OrgKind.BRANCH)
    _fill(grouped, 1, 1)
    _fill(make_org(grouped, "第一党小组", OrgKind.PARTY_GROUP), 3)
    _fill(make_org(d.committee_b, "大支部", OrgKind.BRANCH), 4, 1)
    organization_dissolve(actor=SYSTEM, org=make_org(d.committee_a, "已撤销支部", OrgKind.BRANCH), on=dt.date(2026, 1, 1))
    make_org(d.committee_b, "联合支部", OrgKind.JOINT_BRANCH)
    return d


def _reference(user):
    """The Python rules over every organisation of the data scope, in path order (what the workbench did)."""
    with acting_as(user):
        orgs = list(organization_list())
        return [(w.org.pk, w.rule, w.message) for w in size_warnings(orgs, member_counts_by_org(orgs=orgs))]


def _from_sql(user, limit=1000, everywhere=False):
    with acting_as(user):
        total, rows = size_warning_rows(limit=limit, everywhere=everywhere)
        got = [(w.org.pk, w.rule, w.message)
               for w in size_warnings([org for org, _ in rows], {org.pk: c for org, c in rows})]
    return total, got


@pytest.mark.parametrize("role", ["district_admin", "committee_admin", "branch_worker"])
@pytest.mark.parametrize("thresholds", [{}, {"branch_min_full_members": 2, "branch_max_members": 4,
                                              "general_branch_min_members": 6, "general_branch_max_members": 6,
                                              "primary_committee_min_members": 9}])
def test_the_database_says_what_the_python_rules_say(tree, settings, role, thresholds):
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, **thresholds}
    user = tree.users[role]
    expected = _reference(user)
    assert _from_sql(user) == (len(expected), expected)
    with acting_as(user):
        everywhere = scope_covers_every_root()
    assert everywhere == (role == "district_admin")
    if everywhere:
        assert _from_sql(user, everywhere=True) == (len(expected), expected)


def test_the_thresholds_decide_per_kind(tree, settings):
    settings.DANGJIAN_RULES = {**settings.DANGJIAN_RULES, "branch_min_full_members": 2, "branch_max_members": 4,
                               "general_branch_min_members": 6, "general_branch_max_members": 6,
                               "primary_committee_min_members": 12}
    total, got = _from_sql(tree.users["district_admin"])
    rules = {(name, rule) for name, rule in _names(got)}
    assert ("有小组的支部", "branch_min_full") in rules  # 1 full of its own: the group's 3 are not its own
    assert ("有小组的支部", "branch_max") not in rules  # 2 direct, not 5
    assert ("大支部", "branch_max") in rules  # 4 full + 1 probationary > 4
    assert ("总支", "general_branch_size") not in rules  # 6 in its subtree
    assert ("区教育局党委", "primary_committee_size") in rules  # 1 + 5 + 5 below it, party group included
    assert not any(name == "已撤销支部" for name, _ in rules)
    assert ("联合支部", "branch_min_full") in rules
    assert total == len(got)


def _names(got):
    from dangjian.orgs.models import Organization

    names = dict(Organization.unscoped.values_list("pk", "name"))
    return [(names[pk], rule) for pk, rule, _ in got]


def test_only_the_first_come_back_with_the_whole_count(tree):
    expected = _reference(tree.users["district_admin"])
    assert len(expected) >= 4
    for limit in (0, 1, 2, 3):
        total, got = _from_sql(tree.users["district_admin"], limit=limit)
        assert total == len(expected)
        orgs = list(dict.fromkeys(pk for pk, _, _ in expected))[:limit]  # the first `limit` organisations
        assert got == [w for w in expected if w[0] in orgs]


def test_a_worker_sees_no_size_warning_outside_their_subtrees(tree):
    """The committee admin of 党委A who is also a member in 党委B's branch sees 党委B's branch in the
    directory, but has no counts of it to judge it by: no warning about it (it used to read 0 members)."""
    d = tree
    admin = d.users["committee_admin"]
    Member.unscoped.filter(pk=d.member_b1.pk).update(user=admin)
    admin.refresh_from_db()
    total, got = _from_sql(admin)
    with acting_as(admin):
        inside = set(organization_list(under=d.committee_a).values_list("pk", flat=True))
    assert got and {pk for pk, _, _ in got} <= inside
    assert d.branch_b1.pk not in {pk for pk, _, _ in got}
    with acting_as(d.users["branch_worker"]):
        assert {pk for pk, _, _ in _from_sql(d.users["branch_worker"])[1]} <= {d.branch_a1.pk}


def test_no_subtree_no_warnings(tree):
    total, got = _from_sql(tree.users["member"])
    assert (total, got) == (0, [])
