"""Token and session authentication, and CSRF for the session."""

import pytest
from django.test import Client
from django.utils import timezone

from dangjian.accounts.models import ApiToken
from dangjian.members.models import Member
from dangjian.testing import MemberDataFactory

from .conftest import JSON, Unchanged, assert_error, session_client, token_client


def test_token_authenticates(district):
    response = token_client(district.users["branch_worker"]).get("/api/v1/members")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["items"]] == [district.member_a1.pk]


@pytest.mark.parametrize("header", ["Bearer dj_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "dj_raw"])
def test_bad_token_is_401(district, header):
    body = assert_error(Client(headers={"authorization": header}).get("/api/v1/members"), 401)
    assert body["code"] == "unauthenticated"


def test_no_credentials_is_401(district):
    assert_error(Client().get("/api/v1/organizations"), 401)
    unchanged = Unchanged()
    assert_error(Client().post("/api/v1/members", {}, content_type=JSON), 401)
    unchanged.check()


def test_bad_token_beats_a_valid_session(district):
    """A failed token does not fall back to the browser's cookie: the caller meant the token."""
    client = session_client(district.users["branch_worker"])
    assert_error(client.get("/api/v1/members", headers={"authorization": "Bearer wrong"}), 401)


def test_revoked_token_and_inactive_user_are_401(district):
    user = district.users["branch_worker"]
    client = token_client(user)
    ApiToken.objects.filter(user=user).update(revoked_at=timezone.now())
    assert_error(client.get("/api/v1/members"), 401)

    client = token_client(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(client.get("/api/v1/members"), 401)


def test_session_get_needs_no_csrf(district):
    client = session_client(district.users["branch_worker"], enforce_csrf_checks=True)
    assert client.get(f"/api/v1/members/{district.member_a1.pk}").status_code == 200


def _member_data(district):
    return MemberDataFactory() | {"organization": district.branch_a1.pk}


def test_session_post_without_csrf_is_refused(district):
    client = session_client(district.users["branch_worker"], enforce_csrf_checks=True)
    unchanged = Unchanged()
    body = assert_error(client.post("/api/v1/members", _member_data(district), content_type=JSON), 403)
    assert body["code"] == "csrf"
    response = client.patch(f"/api/v1/members/{district.member_a1.pk}", {"work_unit": "x"}, content_type=JSON)
    assert_error(response, 403)
    unchanged.check()


def test_session_post_with_csrf_token_is_accepted(district):
    client = session_client(district.users["branch_worker"], enforce_csrf_checks=True)
    client.get("/api/v1/docs")  # the docs page hands out the CSRF cookie, as any page does
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/members", _member_data(district), content_type=JSON,
                           headers={"x-csrftoken": token})
    assert response.status_code == 201, response.content
    assert Member.unscoped.filter(pk=response.json()["id"]).exists()


def test_token_post_needs_no_csrf(district):
    client = token_client(district.users["branch_worker"], enforce_csrf_checks=True)
    response = client.post("/api/v1/members", _member_data(district), content_type=JSON)
    assert response.status_code == 201, response.content
