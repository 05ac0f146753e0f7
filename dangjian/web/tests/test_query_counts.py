"""List pages keep a constant number of queries as rows grow (N+1 is 20× dearer on PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.orgs.models import OrgKind
from dangjian.testing import PASSWORD, make_member, make_org


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(district, n):
    for i in range(n):
        org = make_org(district.committee_a, f"新增支部{i}", OrgKind.BRANCH)
        make_member(org)
        make_member(district.branch_a1)


@pytest.mark.parametrize("role, url", [
    ("committee_admin", lambda d: reverse("members:list")),
    ("committee_admin", lambda d: reverse("members:list") + f"?org={d.committee_a.pk}&status=full"),
    ("committee_admin", lambda d: reverse("web:home")),
    ("committee_admin", lambda d: reverse("orgs:tree")),
    ("committee_admin", lambda d: reverse("orgs:detail", args=[d.committee_a.pk])),
    ("branch_worker", lambda d: reverse("members:detail", args=[d.member_a1.pk])),
    ("audit_admin", lambda d: reverse("audit:log")),
    ("system_admin", lambda d: reverse("accounts:users")),
    ("security_admin", lambda d: reverse("accounts:grants")),
])
def test_page_queries_do_not_grow_with_rows(client, district, role, url):
    assert client.login(username=district.users[role].username, password=PASSWORD)
    client.get(url(district))  # the first request renews the session (at most once a minute): not counted
    _grow(district, 2)
    small = _queries(client, url(district))
    _grow(district, 12)
    assert _queries(client, url(district)) == small

