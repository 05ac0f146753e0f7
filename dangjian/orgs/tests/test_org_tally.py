"""Organisation counters (OrgTally): the services keep them equal to a recount (and to a rebuild), refusals leave
them alone, and `manage.py rebuild_org_tallies [--check]` finds and repairs a damaged counter. That the counters
give the numbers the compliance summary counted before is meetings/tests/test_branch_sizes.py."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict
from dangjian.orgs import tallies
from dangjian.orgs.models import Organization, OrgKind, OrgTally
from dangjian.orgs.org_tally import org_tally_differences, rebuild_org_tallies, tally_new_tree
from dangjian.orgs.services import organization_dissolve, organization_move, organization_update
from dangjian.testing import make_org

ON = dt.date(2026, 11, 30)


def stored() -> dict:
    return tallies.stored(OrgTally)


def consistent() -> bool:
    diffs = org_tally_differences()
    assert diffs == {}, list(diffs.items())[:10]
    return True


def test_the_district_is_counted_at_every_level(district):
    d = district
    assert consistent()
    assert stored() == {
        (d.root.path, "branches"): (3,),
        (d.committee_a.path, "branches"): (2,),
        (d.branch_a1.path, "branches"): (1,),
        (d.branch_a2.path, "branches"): (1,),
        (d.committee_b.path, "branches"): (1,),
        (d.branch_b1.path, "branches"): (1,),
    }


def test_every_service_keeps_the_counters_and_a_rebuild_finds_the_same(district):
    d = district
    group = make_org(d.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    assert stored()[(d.root.path, "grouped")] == (1,) and stored()[(d.branch_a1.path, "grouped")] == (1,)
    general = make_org(d.committee_b, "第一总支", OrgKind.GENERAL_BRANCH)
    branch = make_org(general, "总支下的支部", OrgKind.BRANCH)
    organization_move(actor=SYSTEM, org=group, new_parent=branch)
    organization_move(actor=SYSTEM, org=general, new_parent=d.committee_a)
    assert stored()[(d.committee_a.path, "grouped")] == (1,)
    assert stored().get((d.branch_a1.path, "grouped")) is None  # back to 0 (the row stays, stored() skips zeros)
    organization_dissolve(actor=SYSTEM, org=group, on=ON)
    organization_update(actor=SYSTEM, org=branch, kind=OrgKind.TEMPORARY_BRANCH)
    organization_dissolve(actor=SYSTEM, org=branch, on=ON)
    assert stored()[(d.root.path, "dissolved")] == (1,) and stored()[(d.root.path, "branches")] == (3,)
    assert consistent()
    kept = stored()
    rebuild_org_tallies()
    assert stored() == kept


def test_a_refused_write_changes_no_counter(district):
    d = district
    make_org(d.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    before = stored()
    with pytest.raises(Conflict):
        organization_dissolve(actor=SYSTEM, org=d.branch_a1, on=ON)  # members and a live 党小组 remain
    assert stored() == before and consistent()


def test_the_command_checks_and_rebuilds(district):
    d = district
    OrgTally.unscoped.filter(org_path=d.committee_a.path, part="branches").update(count=5)
    assert org_tally_differences() == {(d.committee_a.path, "branches"): (5, 2)}
    err = io.StringIO()
    with pytest.raises(Exception, match="组织数汇总有 1 处与党组织不一致"):
        call_command("rebuild_org_tallies", "--check", stdout=io.StringIO(), stderr=err)
    assert f"{d.committee_a.path} branches: 汇总 5，实际 2" in err.getvalue()
    out = io.StringIO()
    call_command("rebuild_org_tallies", stdout=out)
    assert "已重建组织数汇总" in out.getvalue()
    call_command("rebuild_org_tallies", "--check", stdout=io.StringIO())
    assert consistent()


def test_a_tree_inserted_in_bulk_is_counted_whole(db):
    """The demo seed's way (members/demo.py): rows inserted around the services, counted by `tally_new_tree`."""
    root = Organization.unscoped.create(path="0009", depth=1, name="批量区委", kind=OrgKind.DISTRICT_COMMITTEE)
    branch = Organization.unscoped.create(path="00090001", depth=2, parent=root, name="支部", kind=OrgKind.BRANCH)
    group = Organization.unscoped.create(path="000900010001", depth=3, parent=branch, name="小组",
                                         kind=OrgKind.PARTY_GROUP)
    with pytest.raises(ValueError, match="党小组的上级组织不在这批组织中"):
        tally_new_tree([group])  # its branch would be counted `grouped` without the branch's own row
    tally_new_tree([root, branch, group])
    assert stored() == {("0009", "branches"): (1,), ("0009", "grouped"): (1,), ("00090001", "branches"): (1,),
                        ("00090001", "grouped"): (1,)}
    assert consistent()
