"""Helpers for the API tests: a client per role (token or session) and the error-shape check."""

import pytest
from django.test import Client

from dangjian.accounts.services import api_token_create
from dangjian.audit.models import AuditEntry
from dangjian.members.models import Member
from dangjian.testing import PASSWORD

JSON = "application/json"


def token_client(user, **kw) -> Client:
    _, plain = api_token_create(actor=user, user=user, name="测试")
    return Client(headers={"authorization": f"Bearer {plain}"}, **kw)


def session_client(user, **kw) -> Client:
    client = Client(**kw)
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def as_role(district):
    """as_role("branch_worker") → a token client for that user; "anonymous" → a bare client."""

    def make(role: str) -> Client:
        return Client() if role == "anonymous" else token_client(district.users[role])

    return make


def assert_error(response, status: int, *fields: str) -> dict:
    """The one error shape (ARCHITECTURE §8); each named field has a Chinese message."""
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert set(body) >= {"code", "message", "fields"}, body
    assert body["message"] and isinstance(body["fields"], dict)
    for field in fields:
        assert body["fields"].get(field), body
    return body


class Unchanged:
    """Snapshot of what a refused write must not change: no member rows, no audit entries."""

    def __init__(self):
        self.members = Member.unscoped.count()
        self.audit = AuditEntry.objects.count()

    def check(self):
        assert Member.unscoped.count() == self.members
        assert AuditEntry.objects.count() == self.audit
