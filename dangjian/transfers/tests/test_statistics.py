"""Statistics for a scope and a period in a constant number of queries; 流动党员 contact and 失联."""

import datetime as dt
import statistics

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
    # the counters of one subtree: one query
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


def test_statistics_read_only_the_counters_of_the_subtree(district):
    """Finished transfers of other years are not counted; one still open from last year is. One query, on the
    counters of the one organisation asked about, never the transfers themselves."""
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
    (sql,) = (q["sql"] for q in ctx.captured_queries)
    assert "transfers_transfertally" in sql and "transfers_transfer\"" not in sql and "party" not in sql
    assert f"\"org_path\" = '{d.root.path}'" in sql  # one organisation's rows, no path range
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


# --- Every edge against the implementation before issue 8 (docs/performance.md §7.5) ------------------------


def _reference(*, org, start, end, on):
    """The statistics as they were computed before issue 8, from every party row of the subtree in Python;
    kept as the specification both ways of counting must match."""
    from django.db.models import Q

    from dangjian.core.scoping import within_subtree
    from dangjian.transfers import rules
    from dangjian.transfers.models import OPEN as PENDING
    from dangjian.transfers.models import Side, TransferKind, TransferParty
    from dangjian.transfers.selectors import TransferStats

    parties = within_subtree(TransferParty, org.path) if org is not None else TransferParty.objects.all()
    relevant = (Q(transfer__submitted_on__gte=start, transfer__submitted_on__lte=end)
                | Q(transfer__accepted_on__gte=start, transfer__accepted_on__lte=end)
                | Q(transfer__kind=TransferKind.OUT, transfer__closed_on__gte=start, transfer__closed_on__lte=end)
                | Q(transfer__status__in=PENDING))
    kinds = [TransferKind.WITHIN, TransferKind.OUT, TransferKind.IN]
    rows = parties.filter(relevant, transfer__kind__in=kinds).values_list(
        "transfer_id", "side", "transfer__status", "transfer__submitted_on", "transfer__accepted_on",
        "transfer__closed_on", "transfer__kind")
    by_transfer: dict[int, dict] = {}
    for tid, side, status, submitted, accepted, closed, kind in rows:
        item = by_transfer.setdefault(tid, {"sides": set(), "status": status, "submitted": submitted,
                                            "accepted": accepted, "closed": closed, "kind": kind})
        item["sides"].add(side)
    out = TransferStats()
    buckets = rules.config()["age_buckets"]
    labels = [f"{lo + 1 if lo else 0}–{hi}天" for lo, hi in zip([0, *buckets[:-1]], buckets, strict=True)]
    labels.append(f"{buckets[-1]}天以上")
    out.pending_by_age = dict.fromkeys(labels, 0)
    durations = []
    for item in by_transfer.values():
        sides, submitted = item["sides"], item["submitted"]
        if submitted is not None and start <= submitted <= end:
            if sides == {Side.SENDER, Side.RECEIVER}:
                out.within += 1
            elif Side.SENDER in sides:
                out.out += 1
            else:
                out.into += 1
        done = item["accepted"] or (item["closed"] if item["kind"] == TransferKind.OUT else None)
        if done is not None and start <= done <= end:
            out.completed += 1
            if submitted is not None:
                durations.append((done - submitted).days)
        if item["status"] in PENDING and submitted is not None:
            age = (on - submitted).days
            out.pending += 1
            for label, hi in zip(labels, [*buckets, None], strict=True):
                if hi is None or age <= hi:
                    out.pending_by_age[label] += 1
                    break
    out.median_days = statistics.median(durations) if durations else None
    return out


def _dated(t, **dates):
    """Set a transfer's dates and status directly: the edges below need combinations no single day makes.
    Written past the services, so counted again as the repair command does (rebuild_transfer_tallies)."""
    from dangjian.transfers.models import Transfer
    from dangjian.transfers.tallies import rebuild_transfer_tallies

    Transfer.unscoped.filter(pk=t.pk).update(**dates)
    rebuild_transfer_tallies()


@pytest.fixture
def edges(district):
    """Transfers on every edge the statistics distinguish, across 2025, 2026 and 2027."""
    d = district
    day = dt.date
    # started last year, accepted on the first day of this one: completed in 2026, a flow of 2025 (A1 → B1)
    t = _within(make_member(d.branch_a1), d.branch_b1, day(2025, 12, 20))
    services.transfer_accept(actor=SYSTEM, transfer=t, on=day(2026, 1, 1))
    # within 党委A, submitted and accepted on the last day of 2026: 0 days
    t = _within(make_member(d.branch_a2), d.branch_a1, day(2026, 12, 31))
    services.transfer_accept(actor=SYSTEM, transfer=t, on=day(2026, 12, 31))
    # B → A, submitted on the first day, accepted in 2027 (past its letter's validity: written by hand)
    t = _within(make_member(d.branch_b1), d.branch_a2, day(2026, 1, 1))
    services.transfer_accept(actor=SYSTEM, transfer=t, on=day(2026, 1, 5))
    _dated(t, accepted_on=day(2027, 1, 4))
    for submitted, closed in ((day(2025, 11, 10), day(2026, 1, 15)),   # out of the district: the receipt
                              (day(2026, 2, 1), day(2026, 2, 20)),     # (closed) completes it
                              (day(2026, 12, 1), day(2027, 1, 2))):
        t = services.transfer_create(actor=SYSTEM, member=make_member(d.branch_a2), kind="out",
                                     to_external="外省某党委", on=submitted)
        services.transfer_submit(actor=SYSTEM, transfer=t, on=submitted)
        services.transfer_approve(actor=SYSTEM, transfer=t, on=submitted)
        services.transfer_close(actor=SYSTEM, transfer=t, on=closed)
    # an out transfer with an acceptance date (written by hand): the acceptance, outside the period, decides
    t = services.transfer_create(actor=SYSTEM, member=make_member(d.branch_a1), kind="out", to_external="外省",
                                 on=day(2026, 3, 1))
    _dated(t, status="closed", submitted_on=day(2025, 12, 1), accepted_on=day(2025, 12, 30),
           closed_on=day(2026, 1, 5))
    # from outside the district (B1 receives), registered (submitted) last year and accepted this year
    t = services.transfer_register_incoming(actor=SYSTEM, to_org=d.branch_b1, person_name="赵六",
                                            id_number="11010519491231002X", from_external="外省某党委",
                                            letter_number="外2025-1", valid_until=day(2026, 3, 1),
                                            on=day(2025, 12, 28))
    _dated(t, status="accepted", accepted_on=day(2026, 1, 8))  # (the statistics read only the dates)
    # registered without a submission date (written by hand): completed, no duration
    t = services.transfer_register_incoming(actor=SYSTEM, to_org=d.branch_a1, person_name="钱七",
                                            id_number="110105194912310038", from_external="外省某党委",
                                            letter_number="外2026-2", valid_until=day(2026, 9, 1),
                                            on=day(2026, 5, 1))
    _dated(t, status="accepted", submitted_on=None, accepted_on=day(2026, 5, 3))
    # pending on every age bucket boundary (on = TODAY), one of them from last year
    for waited in (0, 7, 8, 30, 31, 90, 91, 400):
        _within(make_member(d.branch_a1), d.branch_b1, TODAY - dt.timedelta(days=waited))
    t = services.transfer_create(actor=SYSTEM, member=make_member(d.branch_b1), kind="within", to_org=d.branch_a1,
                                 on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=t, on=TODAY - dt.timedelta(days=20))  # still 已提交
    t = _within(make_member(d.branch_a2), d.branch_b1, day(2026, 4, 1))
    services.transfer_return(actor=SYSTEM, transfer=t, reason="材料不全", on=day(2026, 4, 3))  # 已退回: pending
    # withdrawn: started in the period (a flow), never completed nor pending
    t = _within(make_member(d.branch_a1), d.branch_a2, day(2026, 6, 1))
    services.transfer_withdraw(actor=SYSTEM, transfer=t, on=day(2026, 6, 2))
    # a draft (never submitted) and a temporary letter (证明信): not in the statistics at all
    services.transfer_create(actor=SYSTEM, member=make_member(d.branch_a1), kind="within", to_org=d.branch_b1,
                             on=day(2026, 7, 1))
    t = services.transfer_create(actor=SYSTEM, member=make_member(d.branch_b1), kind="temporary",
                                 to_external="外省", on=day(2026, 3, 1))
    services.transfer_submit(actor=SYSTEM, transfer=t, on=day(2026, 3, 1))
    return d


PERIODS = [(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
           (dt.date(2026, 1, 1), dt.date(2026, 1, 1)), (dt.date(2026, 12, 31), dt.date(2026, 12, 31)),
           (dt.date(2026, 1, 2), dt.date(2026, 12, 30)), (dt.date(2024, 1, 1), dt.date(2027, 12, 31))]


@pytest.fixture(params=["from the counters", "from the party rows"])
def counting(request, monkeypatch):
    """Both ways of counting: the counters of one subtree, and the party rows (a scope showing several
    separate subtrees, made to apply to every one here)."""
    if request.param == "from the party rows":
        monkeypatch.setattr(selectors, "_one_subtree", lambda org: None)
    return request.param


def test_statistics_equal_the_reference_on_every_edge(edges, django_assert_num_queries, counting):
    """Both ways of counting against the reference, for every organisation and period."""
    d = edges
    with system_scope("test: the statistics against the reference"):
        for org in (None, d.root, d.committee_a, d.branch_a1, d.branch_a2, d.committee_b, d.branch_b1):
            for start, end in PERIODS:
                for on in (TODAY, dt.date(2027, 6, 1)):
                    with django_assert_num_queries(1):  # whatever the organisation and the period
                        got = selectors.transfer_statistics(org=org, start=start, end=end, on=on)
                    want = _reference(org=org, start=start, end=end, on=on)
                    assert got == want, (org and org.name, start, end, on)


def test_statistics_edges_counted_as_the_rules_say(edges, counting):
    d = edges
    with system_scope("test"):
        y2026 = selectors.transfer_statistics(org=d.root, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31),
                                              on=TODAY)
        first_day = selectors.transfer_statistics(org=d.root, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 1),
                                                  on=TODAY)
        last_day = selectors.transfer_statistics(org=d.root, start=dt.date(2026, 12, 31), end=dt.date(2026, 12, 31),
                                                 on=TODAY)
        a1 = selectors.transfer_statistics(org=d.branch_a1, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31),
                                           on=TODAY)
    # both ends of the period are in it: accepted on 1 January (started 12 days before), and submitted
    # (B → A) on 1 January; submitted and accepted on 31 December
    assert (first_day.completed, first_day.median_days, first_day.within) == (1, 12, 1)
    assert (last_day.within, last_day.completed, last_day.median_days) == (1, 1, 0)
    # out of the district: closed in 2026 when never accepted (66 and 19 days), not the one accepted in 2025
    # nor the one closed in 2027; with A1 → B1 (12 days), A2 → A1 (0), the letters from outside (11, and one
    # without a submission date: completed, no duration); not B → A (accepted in 2027). Median of 0 11 12 19 66
    assert y2026.completed == 6 and y2026.median_days == 12
    # pending by days waiting on TODAY: 0, 7 | 8, 20, 30 | 31, 90 | 91, 400, and the returned one (215)
    assert y2026.pending == 10
    assert y2026.pending_by_age == {"0–7天": 2, "8–30天": 3, "31–90天": 2, "90天以上": 3}
    # a branch counts from its own side: the seven pending to B1 submitted in 2026 and the withdrawn one to A2
    # leave it; B1's pending one and A2's of 31 December come in (the letter without a submission date, no)
    assert (a1.out, a1.into, a1.within) == (8, 2, 0)


def test_statistics_never_reach_past_the_workers_subtree(edges, counting):
    """Asked about the whole district, a worker over 党委A gets 党委A's statistics: the parties outside it are
    not read (a transfer to B is "out", one from B "into")."""
    d = edges
    period = dict(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), on=TODAY)
    with system_scope("test"):
        a = selectors.transfer_statistics(org=d.committee_a, **period)
        a1 = selectors.transfer_statistics(org=d.branch_a1, **period)
    with acting_as(d.users["committee_admin"]):
        assert selectors.transfer_statistics(org=d.root, **period) == a
        assert selectors.transfer_statistics(org=None, **period) == a
    with acting_as(d.users["branch_worker"]):
        assert selectors.transfer_statistics(org=d.committee_a, **period) == a1
    assert (a.out, a.into, a.within) != (0, 0, 0)
