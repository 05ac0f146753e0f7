"""Rate limits on the public endpoints: per address and minute, only for nobody signed in."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client

from dangjian.core import middleware
from dangjian.testing import PASSWORD


@pytest.fixture
def limited(settings, monkeypatch):
    settings.DANGJIAN_PUBLIC_RATE_PER_MINUTE = 3
    # One minute for the whole test: requests that straddled a minute boundary were counted in two windows.
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    cache.clear()
    yield
    cache.clear()


def test_an_address_over_the_limit_gets_429_in_chinese(db, limited):
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert [client.get("/bases/").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/bases/map.geojson")
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "请求过多" in refused.content.decode()
    assert Client(REMOTE_ADDR="10.0.0.2").get("/bases/").status_code == 200  # another address is counted apart


def test_the_api_answers_429_in_its_error_shape(db, limited):
    client = Client(REMOTE_ADDR="10.0.0.3")
    for _ in range(3):
        client.get("/api/v1/members")
    refused = client.get("/api/v1/members")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"


def test_signed_in_people_static_files_and_health_checks_are_not_counted(district, limited):
    client = Client(REMOTE_ADDR="10.0.0.4")
    assert client.login(username=district.users["branch_worker"].username, password=PASSWORD)
    assert all(client.get("/bases/").status_code == 200 for _ in range(6))
    anonymous = Client(REMOTE_ADDR="10.0.0.5")
    assert all(anonymous.get("/healthz").status_code == 200 for _ in range(6))
    assert anonymous.get("/bases/").status_code == 200
