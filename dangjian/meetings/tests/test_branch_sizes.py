"""The compliance summary's branch counts per child organisation (`selectors._branch_sizes`) read the organisation
counters (orgs.OrgTally); its former implementation, which counted the organisations of the subtree, stays here as
the oracle: after every step of random sequences of organisation writes through the services (create, 党小组
create and dissolve, dissolve, move, change of kind, refusals included) both give the same result for every
organisation of the tree, and so do trees written around the services with the edge cases the old count had."""

import datetime as dt
import random

import pytest
from django.db.models import BooleanField, Count, Value
from django.db.models.functions import Substr

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, ValidationFailed
from dangjian.core.scoping import system_scope, within_subtree
from dangjian.meetings import selectors
from dangjian.orgs.models import BRANCH_KINDS, SEGMENT, Organization, OrgKind
from dangjian.orgs.org_tally import org_tally_differences, rebuild_org_tallies
from dangjian.orgs.services import organization_dissolve, organization_move, organization_update
from dangjian.testing import acting_as, make_org


def _branch_sizes_counted(org: Organization, n: int) -> dict[str, dict[str, int]]:
    """The implementation before the counters (docs/performance.md §7.5, §9.1), unchanged."""
    orgs = within_subtree(Organization, org.path).annotate(child=Substr("path", 1, n)).order_by()
    branches = (orgs.filter(path__gt=org.path, kind__in=BRANCH_KINDS).values("child", "is_dissolved")
                .annotate(n=Count("id")).values_list("child", "is_dissolved", "n"))
    grouped = (orgs.filter(kind=OrgKind.PARTY_GROUP, is_dissolved=False).values("child")
               .annotate(part=Value(None, output_field=BooleanField()), n=Count("parent_id", distinct=True))
               .values_list("child", "part", "n"))
    sizes: dict[str, dict[str, int]] = {}
    for child, dissolved, count in branches.union(grouped, all=True):
        part = "grouped" if dissolved is None else "dissolved" if dissolved else "branches"
        sizes.setdefault(child, {"branches": 0, "dissolved": 0, "grouped": 0})[part] = count
    return sizes


def assert_same_everywhere() -> list[dict]:
    """Counters equal to a recount, and the new sizes equal the old count for every organisation."""
    diffs = org_tally_differences()
    assert diffs == {}, list(diffs.items())[:10]
    seen = []
    with system_scope("test: every organisation"):
        for org in Organization.unscoped.order_by("path"):
            new = selectors._branch_sizes(org)
            assert new == _branch_sizes_counted(org, len(org.path) + SEGMENT), (org.path, org.name, org.kind)
            seen.append(new)
    return seen


# --- random writes through the services -------------------------------------------------------------------

OTHER_KINDS = (OrgKind.PRIMARY_COMMITTEE, OrgKind.WORKING_COMMITTEE, OrgKind.GENERAL_BRANCH, *BRANCH_KINDS)
ON = dt.date(2026, 11, 30)


def _write(rng: random.Random, n: int) -> str:
    """One random organisation write, through the services; the rules refuse many (then nothing changes)."""
    orgs = list(Organization.unscoped.order_by("path"))
    live = [o for o in orgs if not o.is_dissolved]
    branches = [o for o in live if o.kind in BRANCH_KINDS]
    groups = [o for o in orgs if o.kind == OrgKind.PARTY_GROUP]
    below_root = [o for o in orgs if o.parent_id is not None]
    parents = {o.parent_id for o in live}
    # Dissolvable unless members remain: the district's branches have some, the ones made here none.
    leaves = [o for o in branches if o.pk not in parents and o.parent_id is not None]
    op = rng.choice(["create", "group", "group", "dissolve", "dissolve_leaf", "dissolve_group", "move", "move_group",
                     "kind"])
    if op == "create":
        make_org(rng.choice(live), f"随机组织{n}", rng.choice(OTHER_KINDS))
    elif op == "group":
        make_org(rng.choice(branches), f"随机党小组{n}", OrgKind.PARTY_GROUP)
    elif op == "dissolve":
        organization_dissolve(actor=SYSTEM, org=rng.choice(below_root), on=ON)
    elif op == "dissolve_leaf" and leaves:
        organization_dissolve(actor=SYSTEM, org=rng.choice(leaves), on=ON)
    elif op == "dissolve_group" and groups:
        organization_dissolve(actor=SYSTEM, org=rng.choice(groups), on=ON)
    elif op == "move":
        organization_move(actor=SYSTEM, org=rng.choice(below_root), new_parent=rng.choice(live))
    elif op == "move_group" and groups:
        organization_move(actor=SYSTEM, org=rng.choice(groups), new_parent=rng.choice(branches))
    elif op == "kind":
        organization_update(actor=SYSTEM, org=rng.choice(below_root), kind=rng.choice(OTHER_KINDS))
    else:
        return "none"
    return op


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_the_sizes_equal_to_the_count(district, seed):
    d = district
    rng = random.Random(seed)
    for i in range(4):  # a few more branches without members, so that dissolving can succeed
        make_org(rng.choice([d.committee_a, d.committee_b]), f"空支部{i}", rng.choice(BRANCH_KINDS))
    assert_same_everywhere()
    done, refused = set(), 0
    sizes = []
    for n in range(50):
        try:
            done.add(_write(rng, n))
        except (ValidationFailed, Conflict):
            refused += 1  # the service's transaction rolled back: the counters too (checked below)
        sizes += assert_same_everywhere()
    assert {"create", "group", "dissolve", "dissolve_leaf", "dissolve_group", "move", "move_group", "kind"} <= done
    assert refused
    # The data reach every part: live, dissolved and grouped branches.
    assert all(any(s[part] for size in sizes for s in size.values()) for part in ("branches", "dissolved", "grouped"))
    before = org_tally_differences()
    rebuild_org_tallies()
    assert before == org_tally_differences() == {}


def test_a_group_moved_or_dissolved_takes_its_branch_out_of_grouped(district):
    """The steps in order, with the numbers known by hand (not from either implementation)."""
    d = district
    g1 = make_org(d.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    g2 = make_org(d.branch_a1, "第二党小组", OrgKind.PARTY_GROUP)

    def sizes():
        assert_same_everywhere()
        with system_scope("test"):
            return selectors._branch_sizes(d.root)

    a, b = d.committee_a.path, d.committee_b.path
    assert sizes() == {a: {"branches": 2, "dissolved": 0, "grouped": 1}, b: {"branches": 1, "dissolved": 0, "grouped": 0}}
    organization_move(actor=SYSTEM, org=g1, new_parent=d.branch_b1)  # both branches have one now
    assert sizes() == {a: {"branches": 2, "dissolved": 0, "grouped": 1}, b: {"branches": 1, "dissolved": 0, "grouped": 1}}
    organization_dissolve(actor=SYSTEM, org=g2, on=ON)
    assert sizes()[a]["grouped"] == 0
    empty = make_org(d.committee_a, "空支部", OrgKind.BRANCH)
    assert sizes()[a]["branches"] == 3
    organization_update(actor=SYSTEM, org=empty, kind=OrgKind.GENERAL_BRANCH)
    assert sizes()[a]["branches"] == 2
    organization_update(actor=SYSTEM, org=empty, kind=OrgKind.JOINT_BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=ON)
    assert sizes()[a] == {"branches": 2, "dissolved": 1, "grouped": 0}
    organization_move(actor=SYSTEM, org=d.branch_a2, new_parent=d.committee_b)  # a subtree between children
    assert sizes() == {a: {"branches": 1, "dissolved": 1, "grouped": 0}, b: {"branches": 2, "dissolved": 0, "grouped": 1}}


# --- edge cases written around the services ----------------------------------------------------------------


def test_edge_cases_of_the_old_count_are_kept(district):
    """What the placement rules forbid but rows written before them or around the services may hold, recomputed
    by the rebuild (as for bench data): 党小组 under a 总支 (its branch's kind changed), a live branch under a
    dissolved 总支, a 党小组 under a dissolved branch; with two 党小组 of one branch (counted once), and the sizes
    of a branch (its children are 党小组, each counting the branch) and of a 党小组 itself."""
    d = district
    general = make_org(d.committee_b, "第一总支", OrgKind.GENERAL_BRANCH)
    inner = make_org(general, "总支下的支部", OrgKind.BRANCH)
    make_org(inner, "甲小组", OrgKind.PARTY_GROUP)
    make_org(inner, "乙小组", OrgKind.PARTY_GROUP)
    was_branch = make_org(d.committee_b, "改为总支的支部", OrgKind.BRANCH)
    make_org(was_branch, "总支下的小组", OrgKind.PARTY_GROUP)
    under_dissolved = make_org(d.branch_a2, "撤销支部的小组", OrgKind.PARTY_GROUP)
    Organization.unscoped.filter(pk=was_branch.pk).update(kind=OrgKind.GENERAL_BRANCH)
    Organization.unscoped.filter(pk__in=[general.pk, d.branch_a2.pk]).update(is_dissolved=True)
    rebuild_org_tallies()
    assert_same_everywhere()
    with system_scope("test"):
        b = selectors._branch_sizes(d.committee_b)
        assert b[general.path] == {"branches": 1, "dissolved": 0, "grouped": 1}  # 甲 and 乙 have one parent
        assert b[was_branch.path] == {"branches": 0, "dissolved": 0, "grouped": 1}  # not a branch, still counted
        assert selectors._branch_sizes(d.committee_a)[d.branch_a2.path] == {"branches": 0, "dissolved": 1,
                                                                            "grouped": 1}
        one = {"branches": 0, "dissolved": 0, "grouped": 1}
        assert selectors._branch_sizes(inner) == {g.path: one for g in inner.children.all()}
        group = Organization.unscoped.get(pk=under_dissolved.pk)
        assert selectors._branch_sizes(group) == {group.path: one}


def test_one_query_and_the_scope_holds(district, django_assert_num_queries):
    d = district
    make_org(d.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    with acting_as(d.users["district_admin"]):
        with django_assert_num_queries(1):
            sizes = selectors._branch_sizes(d.root)
        assert sizes == _branch_sizes_counted(d.root, len(d.root.path) + SEGMENT)
    with acting_as(d.users["committee_admin"]):  # 甲街道党工委's own subtree
        assert selectors._branch_sizes(d.committee_a) == {
            d.branch_a1.path: {"branches": 1, "dissolved": 0, "grouped": 1},
            d.branch_a2.path: {"branches": 1, "dissolved": 0, "grouped": 0}}
