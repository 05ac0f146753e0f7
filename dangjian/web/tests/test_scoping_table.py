"""The scoping table (ARCHITECTURE §5): every page × role × target relation → expected status.

Targets are named from the branch worker's point of view: `own` is 支部A1 (or its member), `ancestor` is
党工委A above it, `sibling` is 支部A2 beside it, `other` is 支部B1 under another committee. Expected
statuses are written out by hand, role by role, so the table checks the code instead of repeating it.
A denied write must leave every table as it was and log nothing as done.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from dangjian.accounts.models import RoleGrant, User
from dangjian.audit.models import AuditEntry
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member
from dangjian.orgs.models import CommitteeMember, Organization
from dangjian.testing import MemberDataFactory, client_as, scoping_params

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302  # anonymous → login page

ORG = {"own": "branch_a1", "ancestor": "committee_a", "sibling": "branch_a2", "other": "branch_b1"}
MEMBER = {"own": "member_a1", "sibling": "member_a2", "other": "member_b1"}


def org_url(name):
    return lambda d, rel: reverse(name, args=[getattr(d, ORG[rel]).pk])


def member_url(name):
    return lambda d, rel: reverse(name, args=[getattr(d, MEMBER[rel]).pk])


def plain(name):
    return lambda d, rel: reverse(name)


#                                       anon  dist  comm  work  memb  sys   sec   aud
GET_CASES = [
    ("home", plain("web:home"), None, (LOGIN, 200, 200, 200, 302, 302, 302, 302)),
    ("org tree", plain("orgs:tree"), None, (LOGIN, 200, 200, 200, 200, 200, 200, 200)),
    ("org detail", org_url("orgs:detail"), "own", (LOGIN, 200, 200, 200, 200, 404, 200, 404)),
    ("org detail", org_url("orgs:detail"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 200, 404)),
    ("org detail", org_url("orgs:detail"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 200, 404)),
    ("org detail", org_url("orgs:detail"), "other", (LOGIN, 200, 404, 404, 404, 404, 200, 404)),
    ("org edit form", org_url("orgs:edit"), "own", (LOGIN, 200, 200, 403, 403, 404, 403, 404)),
    ("org edit form", org_url("orgs:edit"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("org edit form", org_url("orgs:edit"), "other", (LOGIN, 200, 404, 404, 404, 404, 403, 404)),
    ("org create form", org_url("orgs:create"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("org move form", org_url("orgs:move"), "own", (LOGIN, 200, 200, 403, 403, 404, 403, 404)),
    ("org dissolve form", org_url("orgs:dissolve"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("seat form", org_url("orgs:seat_add"), "own", (LOGIN, 200, 200, 403, 403, 404, 403, 404)),
    ("member list", plain("members:list"), None, (LOGIN, 200, 200, 200, 302, 302, 302, 302)),
    ("member detail", member_url("members:detail"), "own", (LOGIN, 200, 200, 200, 200, 404, 404, 404)),
    ("member detail", member_url("members:detail"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("member detail", member_url("members:detail"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("member edit form", member_url("members:edit"), "own", (LOGIN, 200, 200, 200, 403, 404, 404, 404)),
    ("member edit form", member_url("members:edit"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("member create form", plain("members:create"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("my record", plain("members:me"), None, (LOGIN, 404, 404, 404, 200, 404, 404, 404)),
    ("users", plain("accounts:users"), None, (LOGIN, 403, 403, 403, 403, 200, 403, 403)),
    ("grants", plain("accounts:grants"), None, (LOGIN, 403, 403, 403, 403, 403, 200, 403)),
    ("audit log", plain("audit:log"), None, (LOGIN, 403, 403, 403, 403, 403, 403, 200)),
    ("audit export", plain("audit:export"), None, (LOGIN, 403, 403, 403, 403, 403, 403, 200)),
]






@pytest.mark.parametrize("case, role, expected", list(scoping_params(GET_CASES, ROLES)))
def test_get(client, district, case, role, expected):
    _, url, rel, _ = case
    response = client_as(client, district, role).get(url(district, rel))
    assert response.status_code == expected
    if expected == 200 and role != "anonymous" and rel in ("own", "sibling", "other", "ancestor"):
        # a visible object's page names it; a hidden one's 404 never does
        target = getattr(district, (MEMBER if "member" in case[0] else ORG)[rel])
        assert target.name in response.content.decode()


def state():
    """Everything a write could touch. Compared before and after a denied write."""
    with system_scope("test: snapshot"):
        return (
            list(Organization.unscoped.order_by("pk").values_list("pk", "name", "path", "kind", "is_dissolved")),
            list(Member.unscoped.order_by("pk").values_list("pk", "name", "org_path", "work_unit", "phone_digest")),
            list(CommitteeMember.unscoped.order_by("pk").values_list("pk", "left_on")),
            list(User.objects.order_by("pk").values_list("pk", "username", "is_active", "password")),
            list(RoleGrant.objects.order_by("pk").values_list("pk", "revoked_at")),
            AuditEntry.objects.filter(success=True).exclude(action__startswith="accounts.login").count(),
        )


def _member_post(d, rel):
    member = getattr(d, MEMBER[rel])
    data = MemberDataFactory()
    data = {k: v for k, v in data.items() if k not in ("id_number", "phone")}  # blank keeps stored values
    data.update(name=member.name + "改", organization=member.organization_id, gender=member.gender,
                birth_date=member.birth_date.isoformat(), joined_on=member.joined_on.isoformat(),
                confirmed_on=member.confirmed_on.isoformat(), work_unit="新的单位")
    return data


def _new_member_post(d, rel):
    data = MemberDataFactory(born=dt.date(1990, 3, 4), sex="female")
    return {**data, "name": "新党员", "organization": getattr(d, ORG[rel]).pk}


WRITE_CASES = [
    ("rename org", org_url("orgs:edit"), "own", lambda d, r: {"name": "改名支部", "kind": "branch"},
     (LOGIN, 302, 302, 403, 403, 404, 403, 404)),
    ("rename org", org_url("orgs:edit"), "other", lambda d, r: {"name": "改名支部", "kind": "branch"},
     (LOGIN, 302, 404, 404, 404, 404, 403, 404)),
    ("create sub-org", org_url("orgs:create"), "ancestor", lambda d, r: {"name": "新支部", "kind": "branch"},
     (LOGIN, 302, 302, 404, 404, 404, 403, 404)),
    ("add seat", org_url("orgs:seat_add"), "sibling",
     lambda d, r: {"person_name": "赵书记", "position": "secretary", "employment": "part_time",
                   "term_start": "2024-01-01", "term_end": "2027-01-01"},
     (LOGIN, 302, 302, 404, 404, 404, 403, 404)),
    ("edit member", member_url("members:edit"), "own", _member_post, (LOGIN, 302, 302, 302, 403, 404, 404, 404)),
    ("edit member", member_url("members:edit"), "sibling", _member_post, (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
    ("edit member", member_url("members:edit"), "other", _member_post, (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
    ("create member", plain("members:create"), "own", _new_member_post, (LOGIN, 302, 302, 302, 403, 403, 403, 403)),
    # out of the worker's subtree the organisation is not among the form's choices: a field error, not a save
    ("create member", plain("members:create"), "other", _new_member_post, (LOGIN, 302, 200, 200, 403, 403, 403, 403)),
    ("create user", plain("accounts:users"), None,
     lambda d, r: {"username": "newuser", "display_name": "新用户", "password": "Good-pass-2026"},
     (LOGIN, 403, 403, 403, 403, 302, 403, 403)),
    ("grant role", plain("accounts:grants"), None,
     lambda d, r: {"username": "nobody", "role": "branch_worker", "organization": d.branch_b1.pk},
     (LOGIN, 403, 403, 403, 403, 403, 302, 403)),
]


@pytest.mark.parametrize("case, role, expected", [
    pytest.param(c, role, status, id=f"{c[0]}-{c[2] or '-'}-{role}")
    for c in WRITE_CASES for role, status in zip(ROLES, c[4], strict=True)
])
def test_write(client, district, case, role, expected):
    _, url, rel, data, _ = case
    client = client_as(client, district, role)
    before = state()
    response = client.post(url(district, rel), data(district, rel))
    assert response.status_code == expected
    after = state()
    if expected == 302 and role != "anonymous":
        assert after != before, "an allowed write changed nothing"
        assert after[-1] > before[-1], "an allowed write left no audit entry"
    else:
        assert after == before, "a refused write changed something"


@pytest.mark.parametrize("role, rel, expected", [
    ("district_admin", "other", 200), ("committee_admin", "own", 200), ("committee_admin", "other", 404),
    ("branch_worker", "own", 403), ("member", "own", 200), ("member", "sibling", 404), ("security_admin", "own", 404),
    ("anonymous", "own", LOGIN),
])
def test_reveal(client, district, role, rel, expected):
    client = client_as(client, district, role)
    member = getattr(district, MEMBER[rel])
    before = AuditEntry.objects.filter(action="members.member.revealed", success=True).count()
    response = client.post(reverse("members:reveal", args=[member.pk]), {"field": "id_number"})
    assert response.status_code == expected
    after = AuditEntry.objects.filter(action="members.member.revealed", success=True).count()
    from dangjian.core import crypto

    plain_id = crypto.decrypt(Member.unscoped.get(pk=member.pk).id_number_encrypted)
    if expected == 200:
        assert plain_id in response.content.decode()
        assert after == before + 1
        assert response["Cache-Control"] == "no-store"
    else:
        assert plain_id not in response.content.decode()
        assert after == before
