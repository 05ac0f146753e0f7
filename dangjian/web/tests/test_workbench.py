"""The workbench's warnings (issue 8): the same total and the same first warnings, in the same order and
words, as sorting every warning of the scope; a constant number of queries however many organisations."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.dates import add_months
from dangjian.members.selectors import member_counts_by_org
from dangjian.orgs.models import OrgKind
from dangjian.orgs.rules import size_warnings, term_warning_horizon, term_warnings
from dangjian.orgs.selectors import committee_seats_in_scope, organization_list, scope_covers_every_root
from dangjian.orgs.services import committee_member_add
from dangjian.testing import PASSWORD, acting_as, make_member, make_org
from dangjian.web.views import workbench_warnings


def _seat(org, term_end, term_start=dt.date(2021, 1, 1)):
    return committee_member_add(actor=SYSTEM, org=org, person_name=f"{org.name}书记", position="secretary",
                                term_start=term_start, term_end=term_end)


def _every_warning(today):
    """What the workbench computed before: every warning of the scope, sorted."""
    orgs = list(organization_list())
    warnings = term_warnings(committee_seats_in_scope(ending_by=term_warning_horizon(today)), today)
    warnings += size_warnings(orgs, member_counts_by_org(orgs=orgs))
    return sorted(warnings, key=lambda w: (w.level != "danger", w.org.path))


def _plain(warnings):
    return [(w.org.pk, w.org.name, w.rule, w.level, w.message, w.article) for w in warnings]


@pytest.fixture
def busy(district):
    """Overdue and ending terms, size warnings, and organisations with both (their term comes first)."""
    d, today = district, timezone.localdate()
    _seat(d.branch_a1, today - dt.timedelta(days=1))  # overdue and too small
    _seat(d.branch_a2, add_months(today, 2))  # ending and too small
    _seat(d.committee_b, today - dt.timedelta(days=30))  # overdue and below 100
    _seat(d.committee_a, add_months(today, 1))  # ending; no size rule
    g = make_org(d.committee_a, "总支", OrgKind.GENERAL_BRANCH)
    _seat(g, add_months(today, 3))
    for i in range(3):
        b = make_org(g, f"总支第{i}支部", OrgKind.BRANCH)
        for _ in range(i + 2):
            make_member(b)
    return d


@pytest.mark.parametrize("role", ["district_admin", "committee_admin", "branch_worker"])
def test_the_first_warnings_and_the_total_are_those_of_sorting_every_warning(busy, role):
    today = timezone.localdate()
    with acting_as(busy.users[role]):
        expected = _every_warning(today)
        everywhere = scope_covers_every_root()
        for shown in (1, 2, 3, 4, 5, 200):
            total, first = workbench_warnings(today=today, everywhere=everywhere, shown=shown)
            assert total == len(expected)
            assert _plain(first) == _plain(expected[:shown]), shown
    assert expected and (role != "district_admin" or any(w.level == "danger" for w in expected))


def test_the_page_shows_the_total_and_the_first_warnings(client, busy):
    assert client.login(username=busy.users["district_admin"].username, password=PASSWORD)
    with acting_as(busy.users["district_admin"]):
        expected = _every_warning(timezone.localdate())
    page = client.get(reverse("web:home")).content.decode()
    assert f"需要关注（{len(expected)}）" in page
    positions = [page.index(f"{w.org.name}</a>：{w.message}") for w in expected]
    assert positions == sorted(positions)  # in the same order
    assert "班子任期已于" in page and "党员 1 名，基层党委一般在 100 名以上" in page


@pytest.mark.parametrize("role", ["district_admin", "committee_admin"])
def test_the_workbench_queries_do_not_grow_with_organisations(client, busy, role):
    """Size warnings, term reminders and counts for however many organisations: the same queries."""

    def grow(n):
        for i in range(n):
            org = make_org(busy.committee_a, f"新增支部{i}-{grow.round}", OrgKind.BRANCH)
            make_member(org)
            _seat(org, timezone.localdate() - dt.timedelta(days=i + 1))
        grow.round += 1

    grow.round = 0

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("web:home"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    assert client.login(username=busy.users[role].username, password=PASSWORD)
    client.get(reverse("web:home"))  # the first request renews the session: not counted
    grow(2)
    small = queries()
    grow(15)
    assert queries() == small
