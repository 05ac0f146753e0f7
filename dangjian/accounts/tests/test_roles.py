"""Roles and grants: 三员分立 (DOMAIN-RULES §7.1), who may grant, and capability checks along the tree."""

import pytest

from dangjian.accounts.middleware import scope_for_user
from dangjian.accounts.models import RoleGrant, User
from dangjian.accounts.roles import ADMINISTRATOR_ROLES, CAPABILITIES, GLOBAL_CAPABILITIES, WORKER_ROLES, Role
from dangjian.accounts.services import (
    role_grant,
    role_revoke,
    user_create,
    user_set_active,
    user_set_password,
)
from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.core.permissions import can, require
from dangjian.testing import PASSWORD, make_user


def _state():
    return sorted(RoleGrant.objects.values_list("pk", "user_id", "role", "organization_id", "revoked_at")), \
        AuditEntry.objects.count()


def _fresh(user):
    return User.objects.get(pk=user.pk)


# --- 三员分立 --------------------------------------------------------------------------------------------

ADMINS = sorted(ADMINISTRATOR_ROLES)
WORKERS = sorted(WORKER_ROLES)


@pytest.mark.parametrize("held, wanted", [(a, b) for a in ADMINS for b in ADMINS if a != b]
                         + [(a, w) for a in ADMINS for w in WORKERS] + [(w, a) for w in WORKERS for a in ADMINS])
def test_administrator_roles_stand_alone(district, held, wanted):
    d = district
    user = make_user("someone", role=held, org=d.root)
    before = _state()
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=d.users["security_admin"], user=user, role=wanted, organization=d.root)
    assert "三员分立" in exc.value.message
    assert "角色" in exc.value.fields["role"][0]
    assert _state() == before
    assert _fresh(user).roles == {held}


def test_business_roles_combine(district):
    d = district
    user = make_user("worker", role="branch_worker", org=d.branch_a1)
    role_grant(actor=d.users["security_admin"], user=user, role="committee_admin", organization=d.committee_b)
    role_grant(actor=d.users["security_admin"], user=user, role="branch_worker", organization=d.branch_a2)
    assert _fresh(user).roles == {"branch_worker", "committee_admin"}


def test_an_administrator_role_may_follow_a_revoked_business_role(district):
    d = district
    user = make_user("former_worker")
    grant = role_grant(actor=SYSTEM, user=user, role="branch_worker", organization=d.branch_a1)
    role_revoke(actor=d.users["security_admin"], grant=grant)
    role_grant(actor=d.users["security_admin"], user=user, role="audit_admin", organization=d.root)
    assert _fresh(user).roles == {"audit_admin"}


@pytest.mark.parametrize("role", ADMINS)
@pytest.mark.parametrize("where", ["committee_a", "branch_a1"])
def test_administrator_roles_only_on_the_root(district, role, where):
    d = district
    user = make_user("admin_elsewhere")
    before = _state()
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=d.users["security_admin"], user=user, role=role, organization=getattr(d, where))
    assert "党组织" in exc.value.fields["organization"][0]
    assert _state() == before


def test_unknown_role_self_grant_and_duplicates_are_refused(district):
    d = district
    sec = d.users["security_admin"]
    user = make_user("plain")
    before = _state()
    with pytest.raises(ValidationFailed):
        role_grant(actor=sec, user=user, role="superuser", organization=d.root)
    with pytest.raises(Conflict):
        role_grant(actor=sec, user=sec, role="branch_worker", organization=d.branch_a1)
    assert _state() == before
    role_grant(actor=sec, user=user, role="branch_worker", organization=d.branch_a1)
    with pytest.raises(Conflict):
        role_grant(actor=sec, user=user, role="branch_worker", organization=d.branch_a1)
    with pytest.raises(Conflict):
        role_revoke(actor=sec, grant=_revoke_and_get(sec, user))


def _revoke_and_get(actor, user):
    grant = user.grants.get(revoked_at__isnull=True)
    role_revoke(actor=actor, grant=grant)
    return grant


# --- who may grant --------------------------------------------------------------------------------------


def test_the_security_admin_grants_and_it_is_audited(district):
    d = district
    sec = d.users["security_admin"]
    user = make_user("new_worker")
    grant = role_grant(actor=sec, user=user, role="branch_worker", organization=d.branch_a2)
    assert (grant.granted_by_id, grant.revoked_at) == (sec.pk, None)
    entry = AuditEntry.objects.filter(action="accounts.grant.created").order_by("-id").first()
    assert entry.actor_id == sec.pk and entry.target_id == str(grant.pk)
    assert entry.changes == {"user": "new_worker", "role": "branch_worker", "organization": "乙社区党支部"}
    role_revoke(actor=sec, grant=grant)
    assert AuditEntry.objects.filter(action="accounts.grant.revoked", target_id=str(grant.pk), actor=sec).exists()
    assert RoleGrant.objects.get(pk=grant.pk).revoked_at is not None  # kept, not deleted


@pytest.mark.parametrize("role", ["system_admin", "audit_admin", "district_admin", "committee_admin", "member",
                                  "nobody"])
def test_only_the_security_admin_grants_and_revokes(district, role):
    d = district
    user = make_user("target")
    before = _state()
    with pytest.raises(PermissionDenied):
        role_grant(actor=d.users[role], user=user, role="branch_worker", organization=d.branch_a1)
    with pytest.raises(PermissionDenied):
        role_revoke(actor=d.users[role], grant=d.users["branch_worker"].grants.get())
    assert _state() == before


def test_a_revoked_security_admin_cannot_grant(district):
    d = district
    sec = d.users["security_admin"]
    role_revoke(actor=SYSTEM, grant=sec.grants.get())
    with pytest.raises(PermissionDenied):
        role_grant(actor=_fresh(sec), user=make_user("x"), role="branch_worker", organization=d.branch_a1)


# --- user.manage ----------------------------------------------------------------------------------------


def test_the_system_admin_manages_accounts(district):
    sysadmin = district.users["system_admin"]
    user = user_create(actor=sysadmin, username=" newbie ", display_name="新人", password=PASSWORD)
    assert (user.username, user.display_name, user.check_password(PASSWORD)) == ("newbie", "新人", True)
    assert user.grants.count() == 0  # accounts come without roles
    user_set_active(actor=sysadmin, user=user, active=False)
    assert not _fresh(user).is_active
    user_set_password(actor=sysadmin, user=user, password="Another-pass-2026")
    assert _fresh(user).check_password("Another-pass-2026")
    actions = list(AuditEntry.objects.filter(target_id=str(user.pk), target_type="accounts.user")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["accounts.user.created", "accounts.user.deactivated", "accounts.user.password_set"]
    assert "Another-pass-2026" not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


@pytest.mark.parametrize("role", ["security_admin", "audit_admin", "district_admin", "committee_admin",
                                  "branch_worker", "member", "nobody"])
def test_no_one_else_manages_accounts(district, role):
    actor = district.users[role]
    users, audits = User.objects.count(), AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        user_create(actor=actor, username="intruder", display_name="x", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        user_set_active(actor=actor, user=district.users["branch_worker"], active=False)
    with pytest.raises(PermissionDenied):
        user_set_password(actor=actor, user=district.users["branch_worker"], password="Another-pass-2026")
    assert (User.objects.count(), AuditEntry.objects.count()) == (users, audits)
    assert _fresh(district.users["branch_worker"]).is_active


def test_user_create_refuses_bad_input(district):
    sysadmin = district.users["system_admin"]
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=sysadmin, username="district", display_name="重名", password=PASSWORD)
    assert "用户名" in exc.value.fields["username"][0]
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=sysadmin, username="weak", display_name="弱密码", password="12345678")
    assert all(m.startswith("密码：") for m in exc.value.fields["password"])
    assert not User.objects.filter(username="weak").exists()
    with pytest.raises(Conflict):
        user_set_active(actor=sysadmin, user=sysadmin, active=False)


# --- capabilities along the tree ------------------------------------------------------------------------


def test_a_grant_covers_its_subtree_only(district):
    d = district
    admin = d.users["committee_admin"]
    for org in (d.committee_a, d.branch_a1, d.branch_a2):
        assert admin.has_capability("org.manage", org.path)
        assert can(admin, "member.reveal", org)
    for org in (d.root, d.committee_b, d.branch_b1):
        assert not admin.has_capability("org.manage", org.path)
        with pytest.raises(PermissionDenied):
            require(admin, "member.manage", org)
    assert not admin.has_capability("org.manage", None)  # an organisation capability needs a place


def test_a_grant_does_not_reach_a_sibling_with_a_longer_number(district):
    """Segments are fixed-width, so 0001000A is not inside 00010001 even though both start with 0001000."""
    from dangjian.orgs.models import OrgKind
    from dangjian.testing import make_org

    siblings = [make_org(d_root := district.root, f"委{i}", OrgKind.PRIMARY_COMMITTEE) for i in range(9)]
    assert siblings[-1].path == "0001000B" and d_root.path == "0001"
    worker = make_user("w", role="branch_worker", org=district.committee_a)  # 00010001
    assert not worker.has_capability("member.view", siblings[-1].path)
    assert not worker.has_capability("member.view", "00010002")
    assert worker.has_capability("member.view", "000100010002")


def test_the_district_admin_reaches_everything_below_the_root(district):
    d = district
    admin = d.users["district_admin"]
    for org in (d.root, d.committee_a, d.branch_a1, d.committee_b, d.branch_b1):
        assert admin.has_capability("member.reveal", org.path)
    assert not admin.has_capability("audit.view") and not admin.has_capability("user.manage")
    assert not admin.has_capability("grant.manage")


def test_a_branch_worker_may_not_reveal_or_manage_the_tree(district):
    w = district.users["branch_worker"]
    assert w.has_capability("member.manage", district.branch_a1.path)
    assert not w.has_capability("member.reveal", district.branch_a1.path)
    assert not w.has_capability("org.manage", district.branch_a1.path)


@pytest.mark.parametrize("role, capability", [
    ("system_admin", "user.manage"), ("security_admin", "grant.manage"), ("security_admin", "org.directory"),
    ("audit_admin", "audit.view"), ("audit_admin", "audit.export"),
])
def test_global_capabilities_need_no_place(district, role, capability):
    user = district.users[role]
    assert user.has_capability(capability)
    assert user.has_capability(capability, district.branch_b1.path)
    others = {r for r in ADMINS if r != role}
    for other in others:
        assert not district.users[other].has_capability(capability)


@pytest.mark.parametrize("role", ADMINS)
def test_administrators_hold_no_party_data_capability(district, role):
    user = district.users[role]
    for capability in ("member.view", "member.manage", "member.reveal", "member.export", "org.manage"):
        assert not user.has_capability(capability, district.root.path)
        assert user.capability_paths(capability) == []
    s = scope_for_user(user)
    assert s.subtrees == () and s.member_id is None


def test_capability_table_is_consistent():
    assert set(CAPABILITIES) == set(Role.values)
    for role in ADMINISTRATOR_ROLES:
        assert CAPABILITIES[role] <= GLOBAL_CAPABILITIES  # administrators act on the system only
    for role in WORKER_ROLES:
        assert not CAPABILITIES[role] & GLOBAL_CAPABILITIES
    holders = {cap: {r for r in ADMINISTRATOR_ROLES if cap in CAPABILITIES[r]} for cap in GLOBAL_CAPABILITIES}
    assert all(len(h) == 1 for h in holders.values())  # each administrative power has exactly one holder


def test_revoked_grant_gives_no_capability(district):
    d = district
    admin = d.users["committee_admin"]
    assert admin.has_capability("org.manage", d.branch_a1.path)
    role_revoke(actor=d.users["security_admin"], grant=admin.grants.get())
    assert not _fresh(admin).has_capability("org.manage", d.branch_a1.path)
    assert scope_for_user(_fresh(admin)).subtrees == ()


def test_grants_move_with_the_organisation(district):
    from dangjian.orgs.services import organization_move

    d = district
    organization_move(actor=SYSTEM, org=d.branch_a1, new_parent=d.committee_b)
    worker = _fresh(d.users["branch_worker"])
    d.branch_a1.refresh_from_db()
    assert worker.has_capability("member.manage", d.branch_a1.path)
    assert worker.capability_paths("member.view") == [d.branch_a1.path]
    assert not _fresh(d.users["committee_admin"]).has_capability("member.manage", d.branch_a1.path)
