"""GET /healthz: no login, no scope, no personal data; 503 with a fixed ASCII body when the database fails."""

import json

from django.db import OperationalError, connections

from dangjian.audit.models import ChainHead


def test_healthz_answers_anonymous_callers_with_the_chain_head_count(client, db, django_assert_num_queries):
    ChainHead.objects.create(pk=1, last_hash="0" * 64, count=7)
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert not response.cookies  # no session is opened for a probe
    assert response.json() == {"status": "ok", "database": "ok", "audit_chain_head": 7}


def test_healthz_on_an_empty_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "audit_chain_head": 0}


def test_healthz_allows_head_and_refuses_writes(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_healthz_reports_a_broken_database_as_503_without_details(client, db, monkeypatch):
    def broken_cursor(self, *args, **kwargs):
        raise OperationalError("could not connect to server db-secret-host:5432")

    with monkeypatch.context() as patch:
        patch.setattr(type(connections["default"]), "cursor", broken_cursor)
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.content.decode("utf-8")
    assert body.isascii()  # machine-readable: no Chinese, no exception text
    assert "db-secret-host" not in body
    assert json.loads(body) == {"status": "error", "database": "error"}
