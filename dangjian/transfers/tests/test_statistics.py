"""Statistics for a scope and a period in a constant number of queries; 流动党员 contact and 失联."""

import datetime as dt

import pytest

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member
from dangjian.testing import acting_as, make_member
from dangjian.transfers import selectors, services

from .conftest import TODAY

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def _within(member, to, day):
    t = services.transfer_create(actor=SYSTEM, member=member, kind="within", to_org=to, on=day)
    services.transfer_submit(actor=SYSTEM, transfer=t, on=day)
    return services.transfer_approve(actor=SYSTEM, transfer=t, on=day)


def test_out_in_within_completed_median_and_pending_by_age(district, django_assert_num_queries):
    d = district
    t1 = _within(d.member_a1, d.branch_b1, dt.date(2026, 3, 1))  # A → B
    services.transfer_accept(actor=SYSTEM, transfer=t1, on=dt.date(2026, 3, 5))
    t2 = _within(d.member_a2, d.branch_a1, dt.date(2026, 4, 1))  # within A
    services.transfer_accept(actor=SYSTEM, transfer=t2, on=dt.date(2026, 4, 11))
    _within(d.member_b1, d.branch_a2, TODAY - dt.timedelta(days=40))  # B → A, pending 40 days
    extra = make_member(d.branch_a1)
    services.transfer_submit(actor=SYSTEM, on=TODAY, transfer=services.transfer_create(
        actor=SYSTEM, member=extra, kind="out", to_external="外省", on=TODAY))  # out of the district, pending
    with acting_as(d.users["committee_admin"]), django_assert_num_queries(1):
        a = selectors.transfer_statistics(org=d.committee_a, start=YEAR[0], end=YEAR[1], on=TODAY)
    assert (a.out, a.into, a.within) == (2, 1, 1)
    assert a.completed == 2 and a.median_days == 7  # 4 and 10 days
    assert a.pending == 2 and a.pending_by_age["0–7天"] == 1 and a.pending_by_age["31–90天"] == 1
    with system_scope("test"):
        whole = selectors.transfer_statistics(org=d.root, start=YEAR[0], end=YEAR[1], on=TODAY)
        b = selectors.transfer_statistics(org=d.committee_b, start=YEAR[0], end=YEAR[1], on=TODAY)
    assert (whole.out, whole.into, whole.within, whole.completed) == (1, 0, 3, 2)
    assert (b.out, b.into, b.within, b.completed) == (1, 1, 0, 1)
    with system_scope("test"):
        march = selectors.transfer_statistics(org=d.root, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), on=TODAY)
    assert march.completed == 1 and march.median_days == 4


def test_mobile_members_contact_report_and_lost_contact(district):
    d = district
    worker = d.users["branch_worker"]
    with pytest.raises(ValidationFailed) as e:
        services.mobile_register(actor=worker, member=d.member_a1, left_on=None, destination="", contact="", on=TODAY)
    assert set(e.value.fields) == {"left_on", "destination", "contact"}
    m = services.mobile_register(actor=worker, member=d.member_a1, left_on=dt.date(2025, 12, 1),
                                 destination="广东省深圳市", contact="微信 zhangsan", card_number="LD-2026-001",
                                 on=dt.date(2026, 1, 10))
    with pytest.raises(ValidationFailed):
        services.mobile_register(actor=worker, member=d.member_a1, left_on=dt.date(2025, 12, 1),
                                 destination="x", contact="y", on=dt.date(2026, 1, 10))
    assert not selectors.is_lost(m, dt.date(2026, 7, 9))
    assert selectors.is_lost(m, dt.date(2026, 7, 10))
    assert services.mobile_lost_contact_mark(on=dt.date(2026, 7, 9)) == 0
    assert services.mobile_lost_contact_mark(on=dt.date(2026, 7, 10)) == 1  # flagged 失联 on the roster
    assert services.mobile_lost_contact_mark(on=dt.date(2026, 7, 11)) == 0  # once
    assert Member.unscoped.get(pk=d.member_a1.pk).is_lost_contact
    m = services.mobile_contact(actor=worker, mobile=m, on=dt.date(2026, 7, 1), report=True)
    assert not Member.unscoped.get(pk=d.member_a1.pk).is_lost_contact  # found again
    assert not selectors.is_lost(m, dt.date(2026, 12, 31)) and not selectors.report_due(m, dt.date(2026, 12, 31))
    with acting_as(worker):
        assert [x.member_id for x in selectors.mobile_list()] == [d.member_a1.pk]
    with acting_as(d.users["member"]):
        assert [x.member_id for x in selectors.mobile_list()] == [d.member_a1.pk]


def test_statistics_read_only_the_period_and_open_transfers(district):
    """Finished transfers of other years are not read (nor counted); one still open from last year is."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    d = district
    old = _within(d.member_a1, d.branch_b1, dt.date(2025, 3, 1))
    services.transfer_accept(actor=SYSTEM, transfer=old, on=dt.date(2025, 3, 5))
    services.transfer_withdraw(actor=SYSTEM, transfer=_within(d.member_a2, d.branch_b1, dt.date(2025, 5, 1)),
                               on=dt.date(2025, 5, 2))
    _within(d.member_b1, d.branch_a2, dt.date(2025, 12, 20))  # still pending in 2026
    with acting_as(d.users["district_admin"]), CaptureQueriesContext(connection) as ctx:
        s = selectors.transfer_statistics(org=d.root, start=YEAR[0], end=YEAR[1], on=TODAY)
    assert (s.within, s.completed, s.pending) == (0, 0, 1)
    sql = ctx.captured_queries[0]["sql"]
    assert "submitted_on" in sql and sql.count("org_path") == 2  # one range (>= and <), not two stacked
    with acting_as(d.users["district_admin"]):
        last_year = selectors.transfer_statistics(org=d.root, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31),
                                                  on=TODAY)
    assert (last_year.within, last_year.completed, last_year.pending) == (3, 1, 1)


def test_mobile_list_page_is_paginated(client, district, monkeypatch):
    from django.urls import reverse

    from dangjian.testing import PASSWORD
    from dangjian.transfers import views

    monkeypatch.setattr(views, "MOBILE_PAGE_SIZE", 2)
    for _ in range(3):
        services.mobile_register(actor=SYSTEM, member=make_member(district.branch_a1), left_on=TODAY,
                                 destination="外省", contact="微信", on=TODAY)
    assert client.login(username="worker_a1", password=PASSWORD)
    first = client.get(reverse("transfers:mobile"))
    assert len(first.context["rows"]) == 2 and "第 1/2 页" in first.content.decode()
    assert len(client.get(reverse("transfers:mobile") + "?page=2").context["rows"]) == 1
