"""The organisation tree: create, move and dissolve, with placement rules, permissions and audit."""

import datetime as dt

import pytest

from dangjian.accounts.models import User
from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.members.models import Member, MembershipPeriod
from dangjian.members.services import member_move
from dangjian.orgs.models import CommitteeMember, Organization, OrgKind
from dangjian.orgs.selectors import organization_list
from dangjian.orgs.services import (
    committee_member_add,
    organization_create,
    organization_dissolve,
    organization_move,
    organization_update,
)
from dangjian.testing import acting_as, make_member, make_org, make_user


def _snapshot():
    """Every path in the database: organisations, members and periods."""
    return (
        sorted(Organization.unscoped.values_list("pk", "path", "depth", "parent_id", "is_dissolved")),
        sorted(Member.unscoped.values_list("pk", "org_path", "organization_id")),
        sorted(MembershipPeriod.unscoped.values_list("pk", "org_path", "end")),
    )


def _audit_count(action: str = "") -> int:
    qs = AuditEntry.objects.all()
    return qs.filter(action=action).count() if action else qs.count()


def _fresh(obj):
    obj.refresh_from_db()
    return obj


# --- create ---------------------------------------------------------------------------------------------


def test_create_hands_out_paths_and_depths(district):
    d = district
    assert (d.root.path, d.root.depth) == ("0001", 1)
    assert (d.committee_a.path, d.committee_a.depth) == ("00010001", 2)
    assert (d.branch_a2.path, d.branch_a2.depth) == ("000100010002", 3)
    assert (d.committee_b.path, d.branch_b1.path) == ("00010002", "000100020001")
    group = make_org(d.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    assert (group.path, group.depth, group.parent_id) == ("0001000100010001", 4, d.branch_a1.pk)
    c = make_org(d.committee_a, "丙社区党支部", OrgKind.BRANCH)
    assert c.path == "000100010003"  # the next number under 党委A


def test_create_writes_an_audit_entry(district):
    before = _audit_count("orgs.organization.created")
    org = make_org(district.committee_a, " 丁社区党支部 ", OrgKind.BRANCH, subdistrict=" 甲街道 ")
    assert (org.name, org.subdistrict) == ("丁社区党支部", "甲街道")
    entry = AuditEntry.objects.filter(action="orgs.organization.created").order_by("-id").first()
    assert _audit_count("orgs.organization.created") == before + 1
    assert entry.target_id == str(org.pk)
    assert entry.changes["parent"] == "甲街道党工委" and entry.changes["kind"] == "branch"


def test_child_numbers_are_never_reused_after_a_move(district):
    """The parent's counter, not the number of live children, hands out segments: no path collides."""
    d = district
    organization_move(actor=SYSTEM, org=d.branch_a2, new_parent=d.committee_b)
    c = make_org(d.committee_a, "新支部", OrgKind.BRANCH)
    assert c.path == "000100010003"


@pytest.mark.parametrize(
    "parent_attr, kind, field, text",
    [
        (None, OrgKind.PRIMARY_COMMITTEE, "parent", "上级组织"),
        (None, OrgKind.BRANCH, "parent", "上级组织"),
        ("root", OrgKind.DISTRICT_COMMITTEE, "kind", "组织类型"),
        ("committee_a", OrgKind.PARTY_GROUP, "parent", "党小组只能设在党支部之下"),
        ("root", OrgKind.PARTY_GROUP, "parent", "党小组只能设在党支部之下"),
        ("branch_a1", OrgKind.BRANCH, "kind", "党支部之下只能设党小组"),
        ("branch_a1", OrgKind.GENERAL_BRANCH, "kind", "党支部之下只能设党小组"),
        ("group", OrgKind.PARTY_GROUP, "parent", "党小组下不能再设组织"),
        ("group", OrgKind.BRANCH, "parent", "党小组下不能再设组织"),
    ],
)
def test_placement_rules_refuse_with_a_chinese_field_message(district, parent_attr, kind, field, text):
    group = make_org(district.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    parent = group if parent_attr == "group" else getattr(district, parent_attr) if parent_attr else None
    before, audits = _snapshot(), _audit_count()
    with pytest.raises(ValidationFailed) as exc:
        organization_create(actor=SYSTEM, parent=parent, name="新组织", kind=kind)
    assert list(exc.value.fields) == [field]
    assert text in exc.value.fields[field][0]
    assert (_snapshot(), _audit_count()) == (before, audits)


@pytest.mark.parametrize("kind", [OrgKind.BRANCH, OrgKind.JOINT_BRANCH, OrgKind.TEMPORARY_BRANCH])
def test_a_party_group_may_sit_under_any_kind_of_branch(district, kind):
    branch = make_org(district.committee_a, "某支部", kind)
    group = make_org(branch, "党小组", OrgKind.PARTY_GROUP)
    assert group.parent_id == branch.pk


def test_a_general_branch_holds_branches(district):
    g = make_org(district.committee_a, "总支", OrgKind.GENERAL_BRANCH)
    b = make_org(g, "总支第一支部", OrgKind.BRANCH)
    assert (b.depth, b.path.startswith(g.path)) == (4, True)


def test_nothing_is_created_under_a_dissolved_organisation(district):
    empty = make_org(district.committee_a, "待撤销支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    with pytest.raises(ValidationFailed) as exc:
        make_org(empty, "党小组", OrgKind.PARTY_GROUP)
    assert "已撤销" in exc.value.fields["parent"][0]


# --- update ---------------------------------------------------------------------------------------------


def test_update_renames_and_audits_the_diff(district):
    org = organization_update(actor=district.users["committee_admin"], org=district.branch_a1, name=" 甲社区第一党支部 ",
                              subdistrict="甲街道")
    assert Organization.unscoped.get(pk=org.pk).name == "甲社区第一党支部"
    (entry,) = AuditEntry.objects.filter(action="orgs.organization.updated")
    assert entry.changes == {"name": ["甲社区党支部", "甲社区第一党支部"], "subdistrict": ["", "甲街道"]}
    organization_update(actor=SYSTEM, org=district.branch_a1, name="甲社区第一党支部")  # nothing changes
    assert AuditEntry.objects.filter(action="orgs.organization.updated").count() == 1


@pytest.mark.parametrize("org_attr, kind, child_kind", [
    ("branch_a1", OrgKind.GENERAL_BRANCH, OrgKind.PARTY_GROUP),  # its party group may only sit under a branch
    ("committee_a", OrgKind.BRANCH, None),  # its two branches cannot sit under a branch
    ("committee_a", OrgKind.JOINT_BRANCH, None),
])
def test_a_kind_change_must_keep_the_children_valid(district, org_attr, kind, child_kind):
    org = getattr(district, org_attr)
    if child_kind:
        make_org(org, "第一党小组", child_kind)
    before, audits = _snapshot(), _audit_count()
    kinds = dict(Organization.unscoped.values_list("pk", "kind"))
    with pytest.raises(ValidationFailed) as exc:
        organization_update(actor=SYSTEM, org=org, kind=kind)
    assert "组织类型" in exc.value.fields["kind"][0] and "下级组织" in exc.value.fields["kind"][0]
    assert (_snapshot(), _audit_count()) == (before, audits)
    assert dict(Organization.unscoped.values_list("pk", "kind")) == kinds


def test_a_kind_change_that_keeps_the_tree_valid_is_allowed(district):
    make_org(district.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    organization_update(actor=SYSTEM, org=district.branch_a1, kind=OrgKind.JOINT_BRANCH)
    organization_update(actor=SYSTEM, org=district.committee_a, kind=OrgKind.GENERAL_BRANCH)
    assert Organization.unscoped.get(pk=district.committee_a.pk).kind == OrgKind.GENERAL_BRANCH


def test_a_kind_change_must_fit_the_parent(district):
    with pytest.raises(ValidationFailed) as exc:
        organization_update(actor=SYSTEM, org=district.branch_a1, kind=OrgKind.PARTY_GROUP)
    assert "上级组织" in exc.value.fields["parent"][0]


def test_update_refusals(district):
    empty = make_org(district.committee_a, "空支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    with pytest.raises(Conflict):
        organization_update(actor=SYSTEM, org=empty, name="复活")
    with pytest.raises(ValueError):
        organization_update(actor=SYSTEM, org=district.branch_a1, path="0002")
    with pytest.raises(PermissionDenied):
        organization_update(actor=district.users["committee_admin"], org=district.branch_b1, name="越权")
    assert Organization.unscoped.get(pk=district.branch_b1.pk).name == "第一中学党支部"


# --- move -----------------------------------------------------------------------------------------------


@pytest.fixture
def moved_world(district):
    """A party group under 支部A1, and 王五 (B1) who once belonged to 支部A2 until 2025-01-01."""
    d = district
    group = make_org(d.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    wang = d.member_b1
    member_move(actor=SYSTEM, member=wang, to=d.branch_a2, on=dt.date(2024, 1, 1))
    member_move(actor=SYSTEM, member=wang, to=d.branch_b1, on=dt.date(2025, 1, 1))
    return d, group


def test_move_rewrites_the_subtree_and_every_copied_path(moved_world):
    d, group = moved_world
    old_a = d.committee_a.path
    outside = sorted(Member.unscoped.filter(pk=d.member_b1.pk).values_list("pk", "org_path"))
    organization_move(actor=SYSTEM, org=d.committee_a, new_parent=d.committee_b)
    a, a1, a2, grp, b = (_fresh(o) for o in (d.committee_a, d.branch_a1, d.branch_a2, group, d.committee_b))
    assert a.parent_id == b.pk and a.path == b.path + "0002"  # B already had child 0001
    assert (a.depth, a1.depth, a2.depth, grp.depth) == (3, 4, 4, 5)
    assert a1.path == a.path + "0001" and a2.path == a.path + "0002" and grp.path == a1.path + "0001"
    assert a1.parent_id == a.pk and grp.parent_id == a1.pk  # parents inside the subtree do not change
    assert not Organization.unscoped.filter(path__startswith=old_a).exists()
    # members in the subtree follow, and so does all history recorded in it — also a period of 王五,
    # who has since left for B1
    assert Member.unscoped.get(pk=d.member_a1.pk).org_path == a1.path
    assert Member.unscoped.get(pk=d.member_a2.pk).org_path == a2.path
    assert set(MembershipPeriod.unscoped.filter(member=d.member_a1).values_list("org_path", flat=True)) == {a1.path}
    wang_paths = list(MembershipPeriod.unscoped.filter(member=d.member_b1).order_by("start")
                      .values_list("org_path", flat=True))
    assert wang_paths == ["000100020001", a2.path, "000100020001"]
    # members outside are untouched
    assert sorted(Member.unscoped.filter(pk=d.member_b1.pk).values_list("pk", "org_path")) == outside
    assert _fresh(d.root).path == "0001" and _fresh(d.branch_b1).path == "000100020001"


def test_move_writes_an_audit_entry(district):
    d = district
    old_path = d.branch_a2.path
    organization_move(actor=SYSTEM, org=d.branch_a2, new_parent=d.committee_b)
    entry = AuditEntry.objects.filter(action="orgs.organization.moved").get()
    assert entry.target_id == str(d.branch_a2.pk)
    assert entry.changes == {"parent": ["甲街道党工委", "区教育局党委"], "path": [old_path, "000100020002"]}


def test_grants_and_scopes_follow_a_moved_subtree(district):
    d = district
    organization_move(actor=SYSTEM, org=d.committee_a, new_parent=d.committee_b)
    with acting_as(User.objects.get(pk=d.users["committee_admin"].pk)):  # granted on 党委A, wherever it is now
        assert set(Member.objects.values_list("name", flat=True)) == {"张三", "李四"}
    with acting_as(make_user("b_admin", role="committee_admin", org=d.committee_b)):
        assert set(Member.objects.values_list("name", flat=True)) == {"张三", "李四", "王五"}


def _assert_tree_consistent():
    for org in Organization.unscoped.exclude(parent=None).select_related("parent"):
        assert org.path[:-4] == org.parent.path and org.depth == org.parent.depth + 1, org.name
    for m in Member.unscoped.select_related("organization"):
        assert m.org_path == m.organization.path, m.name
    for p in MembershipPeriod.unscoped.select_related("organization"):
        assert p.org_path == p.organization.path


def test_move_with_stale_objects_uses_the_current_paths(district):
    """Objects loaded before another move carry the old path; the service must read the current one."""
    d = district
    stale_a1, stale_a = d.branch_a1, d.committee_a  # loaded before the first move
    organization_move(actor=SYSTEM, org=Organization.unscoped.get(pk=d.committee_a.pk),
                      new_parent=Organization.unscoped.get(pk=d.committee_b.pk))
    organization_move(actor=SYSTEM, org=stale_a1, new_parent=d.root)
    a1 = Organization.unscoped.get(pk=d.branch_a1.pk)
    assert (a1.parent_id, a1.path, a1.depth) == (d.root.pk, "00010003", 2)
    assert Member.unscoped.get(pk=d.member_a1.pk).org_path == "00010003"
    organization_move(actor=SYSTEM, org=d.branch_b1, new_parent=stale_a)
    b1 = Organization.unscoped.get(pk=d.branch_b1.pk)
    assert b1.path == "000100020002" + "0003" and b1.depth == 4
    _assert_tree_consistent()


def test_permission_is_checked_on_the_current_position(district):
    """A committee admin of 党委A must not move 支部A1 once it has been moved out of 党委A, even through an
    object that still shows the old path."""
    d = district
    stale_a1 = Organization.unscoped.get(pk=d.branch_a1.pk)
    organization_move(actor=SYSTEM, org=d.branch_a1, new_parent=d.committee_b)
    before = _snapshot()
    with pytest.raises(PermissionDenied):
        organization_move(actor=d.users["committee_admin"], org=stale_a1, new_parent=d.committee_a)
    assert _snapshot() == before


@pytest.mark.parametrize("target", ["committee_a", "branch_a1"])
def test_moving_under_itself_or_a_descendant_is_refused(district, target):
    before, audits = _snapshot(), _audit_count()
    with pytest.raises(ValidationFailed) as exc:
        organization_move(actor=SYSTEM, org=district.committee_a, new_parent=getattr(district, target))
    assert "上级组织" in exc.value.fields["parent"][0]
    assert (_snapshot(), _audit_count()) == (before, audits)


def test_move_keeps_the_placement_rules(district):
    before = _snapshot()
    with pytest.raises(ValidationFailed):
        organization_move(actor=SYSTEM, org=district.branch_a1, new_parent=district.branch_b1)
    with pytest.raises(ValidationFailed):
        organization_move(actor=SYSTEM, org=district.committee_a, new_parent=district.branch_b1)
    assert _snapshot() == before


def test_move_to_the_same_parent_changes_nothing(district):
    before, audits = _snapshot(), _audit_count()
    organization_move(actor=SYSTEM, org=district.branch_a1, new_parent=district.committee_a)
    assert (_snapshot(), _audit_count()) == (before, audits)


# --- dissolve -------------------------------------------------------------------------------------------


def test_dissolve_is_refused_while_members_remain(district):
    before, audits = _snapshot(), _audit_count()
    with pytest.raises(Conflict, match="1 名党员"):
        organization_dissolve(actor=SYSTEM, org=district.branch_a1, on=dt.date(2026, 1, 1))
    with pytest.raises(Conflict, match="2 名党员"):  # members anywhere below count
        organization_dissolve(actor=SYSTEM, org=district.committee_a, on=dt.date(2026, 1, 1))
    assert (_snapshot(), _audit_count()) == (before, audits)


def test_dissolve_is_refused_while_live_children_remain(district):
    c = make_org(district.root, "空党委", OrgKind.PRIMARY_COMMITTEE)
    c1 = make_org(c, "空支部", OrgKind.BRANCH)
    before = _snapshot()
    with pytest.raises(Conflict, match="1 个未撤销的下级组织"):
        organization_dissolve(actor=SYSTEM, org=c, on=dt.date(2026, 1, 1))
    assert _snapshot() == before
    organization_dissolve(actor=SYSTEM, org=c1, on=dt.date(2026, 1, 1))
    organization_dissolve(actor=SYSTEM, org=c, on=dt.date(2026, 2, 1))  # dissolved children do not block
    assert _fresh(c).is_dissolved and _fresh(c1).is_dissolved


def test_dissolve_keeps_history_and_closes_open_seats(district):
    d = district
    seat_open = committee_member_add(actor=SYSTEM, org=d.branch_a2, person_name="书记甲", position="secretary",
                                     term_start=dt.date(2024, 1, 1), term_end=dt.date(2027, 1, 1))
    seat_left = committee_member_add(actor=SYSTEM, org=d.branch_a2, person_name="委员乙",
                                     position="committee_member", term_start=dt.date(2021, 1, 1),
                                     term_end=dt.date(2024, 1, 1))
    CommitteeMember.unscoped.filter(pk=seat_left.pk).update(left_on=dt.date(2023, 6, 1))
    member_move(actor=SYSTEM, member=d.member_a2, to=d.branch_a1, on=dt.date(2026, 3, 1))
    org = organization_dissolve(actor=SYSTEM, org=d.branch_a2, on=dt.date(2026, 3, 2))
    stored = Organization.unscoped.get(pk=d.branch_a2.pk)
    assert (stored.is_dissolved, stored.dissolved_on, stored.path) == (True, dt.date(2026, 3, 2), "000100010002")
    assert org.is_dissolved
    assert CommitteeMember.unscoped.get(pk=seat_open.pk).left_on == dt.date(2026, 3, 2)
    assert CommitteeMember.unscoped.get(pk=seat_left.pk).left_on == dt.date(2023, 6, 1)
    # the membership history in the dissolved branch remains
    assert MembershipPeriod.unscoped.filter(organization=d.branch_a2, member=d.member_a2).exists()
    entry = AuditEntry.objects.filter(action="orgs.organization.dissolved").get()
    assert entry.target_id == str(d.branch_a2.pk) and entry.changes == {"dissolved_on": "2026-03-02"}
    with acting_as(d.users["district_admin"]):
        assert stored.pk not in {o.pk for o in organization_list()}
        assert stored.pk in {o.pk for o in organization_list(include_dissolved=True)}


def test_dissolve_twice_and_dissolving_the_root_are_refused(district):
    empty = make_org(district.committee_a, "空支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    with pytest.raises(Conflict):
        organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 2))
    with pytest.raises(ValidationFailed):
        organization_dissolve(actor=SYSTEM, org=district.root, on=dt.date(2026, 1, 1))
    assert not _fresh(district.root).is_dissolved


def test_dissolve_with_a_stale_object_counts_the_members_where_they_are_now(district):
    """A member moved into the branch after the object was loaded still blocks the dissolution."""
    d = district
    empty = make_org(d.committee_b, "空支部", OrgKind.BRANCH)
    stale = Organization.unscoped.get(pk=empty.pk)
    organization_move(actor=SYSTEM, org=empty, new_parent=d.committee_a)
    member_move(actor=SYSTEM, member=d.member_a2, to=Organization.unscoped.get(pk=empty.pk), on=dt.date(2026, 1, 1))
    with pytest.raises(Conflict):
        organization_dissolve(actor=SYSTEM, org=stale, on=dt.date(2026, 2, 1))
    assert not Organization.unscoped.get(pk=empty.pk).is_dissolved


# --- permission -----------------------------------------------------------------------------------------


def test_a_committee_admin_works_inside_their_subtree(district):
    admin = district.users["committee_admin"]
    org = organization_create(actor=admin, parent=district.committee_a, name="丙支部", kind=OrgKind.BRANCH)
    assert org.path.startswith(district.committee_a.path)
    organization_move(actor=admin, org=org, new_parent=district.committee_a)  # same parent: allowed no-op


@pytest.mark.parametrize(
    "action",
    ["create_in_b", "move_a1_into_b", "move_b1_into_a", "dissolve_b1", "create_root", "branch_worker_creates"],
)
def test_outside_the_subtree_nothing_changes(district, action):
    d = district
    admin = d.users["committee_admin"]
    calls = {
        "create_in_b": lambda: organization_create(actor=admin, parent=d.committee_b, name="x", kind=OrgKind.BRANCH),
        "move_a1_into_b": lambda: organization_move(actor=admin, org=d.branch_a1, new_parent=d.committee_b),
        "move_b1_into_a": lambda: organization_move(actor=admin, org=d.branch_b1, new_parent=d.committee_a),
        "dissolve_b1": lambda: organization_dissolve(actor=admin, org=d.branch_b1, on=dt.date(2026, 1, 1)),
        "create_root": lambda: organization_create(actor=d.users["district_admin"], parent=None, name="x",
                                                   kind=OrgKind.DISTRICT_COMMITTEE),
        "branch_worker_creates": lambda: organization_create(actor=d.users["branch_worker"], parent=d.branch_a1,
                                                             name="x", kind=OrgKind.PARTY_GROUP),
    }
    before, audits = _snapshot(), _audit_count()
    seqs = sorted(Organization.unscoped.values_list("pk", "child_seq"))
    with pytest.raises(PermissionDenied):
        calls[action]()
    assert (_snapshot(), _audit_count()) == (before, audits)
    assert sorted(Organization.unscoped.values_list("pk", "child_seq")) == seqs


@pytest.mark.parametrize("role", ["security_admin", "system_admin", "audit_admin", "member", "nobody"])
def test_administrators_and_members_cannot_touch_the_tree(district, role):
    before = _snapshot()
    with pytest.raises(PermissionDenied):
        organization_create(actor=district.users[role], parent=district.branch_a1, name="x", kind=OrgKind.PARTY_GROUP)
    assert _snapshot() == before


def test_make_member_helper_lands_in_the_subtree(district):
    m = make_member(district.branch_a2)
    assert m.org_path == district.branch_a2.path


# --- committee seats ------------------------------------------------------------------------------------


def test_committee_seats_are_checked_and_audited(district):
    d = district
    with pytest.raises(ValidationFailed) as exc:
        committee_member_add(actor=SYSTEM, org=d.branch_a1, person_name="甲", position="secretary",
                             term_start=dt.date(2026, 1, 1), term_end=dt.date(2026, 1, 1))
    assert "任期届满" in exc.value.fields["term_end"][0]
    with pytest.raises(PermissionDenied):
        committee_member_add(actor=d.users["committee_admin"], org=d.branch_b1, person_name="乙",
                             position="secretary", term_start=dt.date(2026, 1, 1), term_end=dt.date(2029, 1, 1))
    assert not CommitteeMember.unscoped.exists()
    seat = committee_member_add(actor=d.users["committee_admin"], org=d.branch_a1, person_name="", member=d.member_a1,
                                position="secretary", term_start=dt.date(2026, 1, 1), term_end=dt.date(2029, 1, 1))
    assert seat.person_name == "张三"  # taken from the member
    entry = AuditEntry.objects.get(action="orgs.committee_member.added")
    assert entry.changes["term_end"] == "2029-01-01"
    empty = make_org(d.committee_a, "空支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    with pytest.raises(Conflict):
        committee_member_add(actor=SYSTEM, org=empty, person_name="丙", position="secretary",
                             term_start=dt.date(2026, 1, 1), term_end=dt.date(2029, 1, 1))
