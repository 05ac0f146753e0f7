"""Scoping through the API (ARCHITECTURE §5): outside the scope is 404, lists hold only the scope.

Targets are named from the branch worker's point of view: A1 is their branch, A2 the sibling under the
same 党工委A, B1 a branch under another committee. Expected statuses are written out role by role.
"""

import pytest

from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from dangjian.testing import MemberDataFactory

from .conftest import JSON, Unchanged, assert_error

MEMBER_DETAIL = {  # role: (A1, A2, B1)
    "anonymous": (401, 401, 401),
    "district_admin": (200, 200, 200),
    "committee_admin": (200, 200, 404),
    "branch_worker": (200, 404, 404),
    "member": (200, 404, 404),  # A1's member is this user's own record
    "system_admin": (404, 404, 404),  # 三员: administrators see no member data
    "security_admin": (404, 404, 404),
    "audit_admin": (404, 404, 404),
    "nobody": (404, 404, 404),
}


@pytest.mark.parametrize("role", MEMBER_DETAIL)
def test_member_detail_table(district, as_role, role):
    client = as_role(role)
    targets = (district.member_a1, district.member_a2, district.member_b1)
    for member, expected in zip(targets, MEMBER_DETAIL[role], strict=True):
        response = client.get(f"/api/v1/members/{member.pk}")
        if expected == 200:
            assert response.status_code == 200 and response.json()["id"] == member.pk
        else:
            assert_error(response, expected)


ORG_DETAIL = {  # role: (A1, 党工委A, B)
    "district_admin": (200, 200, 200),
    "committee_admin": (200, 200, 404),
    "branch_worker": (200, 404, 404),
    "member": (200, 404, 404),  # a member sees their own organisation
    "security_admin": (200, 200, 200),  # grants are given on any organisation: the directory
    "audit_admin": (404, 404, 404),
    "system_admin": (404, 404, 404),
}


@pytest.mark.parametrize("role", ORG_DETAIL)
def test_organization_detail_table(district, as_role, role):
    client = as_role(role)
    for org, expected in zip((district.branch_a1, district.committee_a, district.committee_b), ORG_DETAIL[role],
                             strict=True):
        response = client.get(f"/api/v1/organizations/{org.pk}")
        assert response.status_code == expected, (org, response.content)


def test_branch_worker_lists_only_their_branch(district, as_role):
    client = as_role("branch_worker")
    orgs = client.get("/api/v1/organizations").json()
    assert orgs["total"] == 1 and [o["id"] for o in orgs["items"]] == [district.branch_a1.pk]
    members = client.get("/api/v1/members").json()
    assert members["total"] == 1 and [m["id"] for m in members["items"]] == [district.member_a1.pk]
    # Naming an organisation outside the scope as a filter does not reveal it either.
    body = assert_error(client.get(f"/api/v1/members?org={district.committee_b.pk}"), 404, "org")
    assert body["fields"]["org"][0].startswith("党组织：")
    assert_error(client.get(f"/api/v1/organizations?under={district.committee_b.pk}"), 404, "under")


def test_member_user_sees_only_themself(district, as_role):
    members = as_role("member").get("/api/v1/members").json()
    assert [m["id"] for m in members["items"]] == [district.member_a1.pk]


@pytest.mark.parametrize("role", ["audit_admin", "system_admin", "security_admin", "nobody"])
def test_administrators_see_no_members(district, as_role, role):
    body = as_role(role).get("/api/v1/members").json()
    assert body == {"total": 0, "total_exact": True, "limit": 50, "offset": 0, "items": []}


def test_committee_admin_lists_their_subtree(district, as_role):
    client = as_role("committee_admin")
    ids = {m["id"] for m in client.get("/api/v1/members").json()["items"]}
    assert ids == {district.member_a1.pk, district.member_a2.pk}
    ids = {m["id"] for m in client.get(f"/api/v1/members?org={district.branch_a2.pk}").json()["items"]}
    assert ids == {district.member_a2.pk}


@pytest.mark.parametrize("role", ["branch_worker", "committee_admin"])
def test_write_outside_scope_is_404_and_changes_nothing(district, as_role, role):
    client = as_role(role)
    unchanged = Unchanged()
    orgs_before = Organization.unscoped.count()
    b1 = district.member_b1
    assert_error(client.patch(f"/api/v1/members/{b1.pk}", {"work_unit": "改了"}, content_type=JSON), 404)
    assert_error(client.post(f"/api/v1/members/{b1.pk}/reveal", {"field": "id_number"}, content_type=JSON), 404)
    payload = {"parent": district.committee_b.pk, "name": "新支部", "kind": "branch"}
    assert_error(client.post("/api/v1/organizations", payload, content_type=JSON), 404, "parent")
    assert_error(client.patch(f"/api/v1/organizations/{district.branch_b1.pk}", {"name": "改名"},
                              content_type=JSON), 404)
    unchanged.check()
    assert Organization.unscoped.count() == orgs_before
    assert Member.unscoped.get(pk=b1.pk).work_unit == b1.work_unit
    assert Organization.unscoped.get(pk=district.branch_b1.pk).name == district.branch_b1.name


@pytest.mark.parametrize("role", ["member", "audit_admin"])
def test_roles_without_member_manage_cannot_write(district, as_role, role):
    client = as_role(role)
    unchanged = Unchanged()
    expected = 403 if role == "member" else 404  # the member sees their record but may not edit it
    response = client.patch(f"/api/v1/members/{district.member_a1.pk}", {"work_unit": "改了"}, content_type=JSON)
    assert_error(response, expected)
    payload = MemberDataFactory() | {"organization": district.branch_a1.pk}
    assert_error(client.post("/api/v1/members", payload, content_type=JSON), 403)
    unchanged.check()
