"""/api/v1/organizations: list filters, create and patch through the services, bad input refused."""

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.orgs.models import Organization

from .conftest import JSON, assert_error


@pytest.fixture
def admin(as_role):
    return as_role("district_admin")


def test_list_filters(district, admin):
    body = admin.get("/api/v1/organizations").json()
    assert body["total"] == 6 and body["items"][0]["id"] == district.root.pk
    under_a = admin.get(f"/api/v1/organizations?under={district.committee_a.pk}").json()
    assert {o["id"] for o in under_a["items"]} == {district.committee_a.pk, district.branch_a1.pk, district.branch_a2.pk}
    assert admin.get("/api/v1/organizations?kind=branch").json()["total"] == 3
    assert [o["id"] for o in admin.get("/api/v1/organizations?q=中学").json()["items"]] == [district.branch_b1.pk]
    assert_error(admin.get("/api/v1/organizations?kind=club&under=x"), 422, "kind", "under")


def test_create_and_patch_are_audited(district, admin):
    payload = {"parent": district.committee_a.pk, "name": " 丙社区党支部 ", "kind": "branch",
               "unit_category": "community", "sector": "community"}
    response = admin.post("/api/v1/organizations", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["parent_id"], body["depth"]) == ("丙社区党支部", district.committee_a.pk, 3)
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.action, entry.source) == ("orgs.organization.created", "api")

    response = admin.patch(f"/api/v1/organizations/{body['id']}", {"name": "丙社区联合党支部", "kind": "joint_branch"},
                           content_type=JSON)
    assert response.status_code == 200, response.content
    org = Organization.unscoped.get(pk=body["id"])
    assert (org.name, org.kind, org.sector) == ("丙社区联合党支部", "joint_branch", "community")
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "orgs.organization.updated" and set(entry.changes) == {"name", "kind"}


BAD = [  # (payload change, status, field)
    ({"name": ""}, 422, "name"),
    ({"name": "长" * 101}, 422, "name"),
    ({"kind": "club"}, 422, "kind"),
    ({"sector": "moon"}, 422, "sector"),
    ({"parent": 987654}, 404, "parent"),
    ({"parent": "甲"}, 422, "parent"),
    ({"has_approval_authority": "maybe"}, 422, "has_approval_authority"),
    ({"kind": "general_branch", "parent": "A1"}, 422, "kind"),  # the service's placement rule: 支部下只设党小组
]


@pytest.mark.parametrize(("change", "status", "field"), BAD)
def test_bad_create_creates_nothing(district, admin, change, status, field):
    payload = {"parent": district.committee_a.pk, "name": "丁支部", "kind": "branch"} | change
    if payload["parent"] == "A1":
        payload["parent"] = district.branch_a1.pk
    before = (Organization.unscoped.count(), AuditEntry.objects.count())
    body = assert_error(admin.post("/api/v1/organizations", payload, content_type=JSON), status, field)
    assert "：" in body["fields"][field][0]
    assert (Organization.unscoped.count(), AuditEntry.objects.count()) == before


def test_patch_refuses_null_and_unknown_keys(district, admin):
    org = district.branch_a1
    before = AuditEntry.objects.count()
    assert_error(admin.patch(f"/api/v1/organizations/{org.pk}", {"name": None}, content_type=JSON), 422, "name")
    assert_error(admin.patch(f"/api/v1/organizations/{org.pk}", {"parent": district.committee_b.pk},
                             content_type=JSON), 422, "parent")  # moving is not an edit
    assert Organization.unscoped.get(pk=org.pk).name == org.name and AuditEntry.objects.count() == before


def test_branch_worker_may_not_create_or_edit_organisations(district, as_role):
    client = as_role("branch_worker")
    before = (Organization.unscoped.count(), AuditEntry.objects.count())
    payload = {"parent": district.branch_a1.pk, "name": "第一党小组", "kind": "party_group"}
    assert_error(client.post("/api/v1/organizations", payload, content_type=JSON), 403)
    assert_error(client.patch(f"/api/v1/organizations/{district.branch_a1.pk}", {"name": "x"}, content_type=JSON), 403)
    assert (Organization.unscoped.count(), AuditEntry.objects.count()) == before
