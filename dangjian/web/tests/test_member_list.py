"""The roster pages through keyset links: forward and back visit every member once, in order."""

import re

from django.urls import reverse

from dangjian.members.models import Member
from dangjian.orgs.models import OrgKind
from dangjian.testing import PASSWORD, make_member, make_org

ROW = re.compile(r'href="/members/(\d+)/"')
NEXT = re.compile(r'href="\?([^"]*)">下一页')
PREV = re.compile(r'href="\?([^"]*)">上一页')


def _page(client, query=""):
    html = client.get(reverse("members:list") + "?" + query.replace("&amp;", "&")).content.decode()
    ids = [int(x) for x in ROW.findall(html)]
    nxt, prev = NEXT.search(html), PREV.search(html)
    return html, ids, nxt and nxt[1], prev and prev[1]


def test_forward_and_back_visit_every_member_once(client, district):
    extra = make_org(district.committee_a, "第三支部", OrgKind.BRANCH)
    for i in range(23):
        make_member(extra if i % 2 else district.branch_a1)
    assert client.login(username=district.users["committee_admin"].username, password=PASSWORD)
    lo, hi = district.committee_a.subtree_range()
    expected = list(Member.unscoped.filter(org_path__gte=lo, org_path__lt=hi).order_by("org_path", "id")
                    .values_list("pk", flat=True))
    assert len(expected) == 25

    html, first, nxt, prev = _page(client)
    assert "共 25 名" in html and prev is None
    _, second, nxt2, prev2 = _page(client, nxt)
    assert nxt2 is None and prev2 is not None
    assert first + second == expected  # the whole subtree, in order, once

    _, back, _, prev_again = _page(client, prev2)
    assert back == first and prev_again is None


def test_filters_travel_with_the_page_links(client, district):
    for _ in range(22):
        make_member(district.branch_a1, status="probationary", confirmed_on="")
    assert client.login(username=district.users["committee_admin"].username, password=PASSWORD)
    _, first, nxt, _ = _page(client, "status=probationary")
    assert "status=probationary" in nxt
    _, second, _, _ = _page(client, nxt)
    statuses = set(Member.unscoped.filter(pk__in=first + second).values_list("status", flat=True))
    assert statuses == {"probationary"} and len(first + second) == 22


def test_a_forged_page_key_is_ignored(client, district):
    assert client.login(username=district.users["branch_worker"].username, password=PASSWORD)
    for key in ("after=../../etc", "before=x-1", "after=0001-abc"):
        response = client.get(reverse("members:list") + "?" + key)
        assert response.status_code == 200 and "张三" in response.content.decode()
