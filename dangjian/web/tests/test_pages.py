"""Workbench behaviour and the error pages people see."""

import datetime as dt

from django.urls import reverse

from dangjian.members.models import MembershipPeriod
from dangjian.testing import PASSWORD, make_member


def test_workbench_counts_as_of_a_date(client, district):
    """The as-of count comes from membership history: a member registered later is not counted earlier."""
    assert client.login(username=district.users["committee_admin"].username, password=PASSWORD)
    late = make_member(district.branch_a2, born=dt.date(1990, 1, 1))
    MembershipPeriod.unscoped.filter(member=late).update(start="2026-06-01")
    before = client.get(reverse("web:home") + "?as_of=2025-12-31").content.decode()
    after = client.get(reverse("web:home") + "?as_of=2026-06-01").content.decode()
    assert "共有党员 <strong>2</strong> 名" in before  # 张三, 李四 (王五 is outside 党工委A)
    assert "共有党员 <strong>3</strong> 名" in after


def test_unknown_page_and_expired_form_answer_in_chinese(client, district):
    assert "页面不存在" in client.get("/no-such-page/").content.decode()
    strict = client.__class__(enforce_csrf_checks=True)
    assert strict.login(username=district.users["system_admin"].username, password=PASSWORD)
    response = strict.post(reverse("accounts:users"), {"username": "x"})
    assert response.status_code == 403 and "页面已过期" in response.content.decode()
