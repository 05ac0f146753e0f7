"""党费汇总 (DuesTally): kept equal to a recount through every service that changes dues, a member's place or
the tree, and the statistics read from it equal a row-by-row computation (the oracle below)."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.dues import selectors, services
from dangjian.dues.models import DuesAccount, DuesAssessment, DuesPayment, DuesTally
from dangjian.dues.selectors import arrears_months
from dangjian.dues.tallies import dues_tally_differences, rebuild_dues_tallies
from dangjian.members.models import LeaveReason, Member
from dangjian.members.services import member_leave, member_move
from dangjian.orgs.models import Organization
from dangjian.orgs.services import organization_move
from dangjian.testing import acting_as, make_member

TODAY = dt.date(2026, 11, 29)
M = lambda y, m: dt.date(y, m, 1)  # noqa: E731


def consistent() -> bool:
    with system_scope("test: tally check"):
        diffs = dues_tally_differences()
    assert diffs == {}, list(diffs.items())[:10]
    return True


def oracle(org: Organization, *, year: int, from_month: int, to_month: int, on: dt.date) -> dict:
    """{child path or "total": (assessed, due 分, paid 分, months paid, voluntary 分, {t: owing ≥ t})} computed
    row by row in Python, the way the statistics were defined before there were counters."""
    thresholds = (1, 3, 5, 6)
    with system_scope("test: oracle"):
        children = [o.path for o in Organization.unscoped.filter(parent=org)]
        paths = dict(Member.unscoped.values_list("pk", "org_path"))
        waived = set(DuesAssessment.unscoped.filter(year=on.year, monthly_fen=0).values_list("member_id", flat=True))
        assessments = list(DuesAssessment.unscoped.filter(year=year))
        payments = list(DuesPayment.unscoped.all())
        accounts = list(DuesAccount.unscoped.all())
    out: dict = {}

    def bucket(path: str):
        if not path.startswith(org.path):
            return []
        child = next((c for c in children if path.startswith(c)), "own")
        return ["total", child]

    def row(key):
        return out.setdefault(key, [0, 0, 0, 0, 0, dict.fromkeys(thresholds, 0)])

    for a in assessments:
        if a.first_month <= to_month:
            for key in bucket(paths[a.member_id]):
                r = row(key)
                r[0] += 1
                r[1] += a.monthly_fen * (to_month + 1 - max(a.first_month, from_month))
    for p in payments:
        if p.month.year == year and from_month <= p.month.month <= to_month:
            for key in bucket(p.org_path):
                r = row(key)
                if p.kind == "due":
                    r[2] += p.amount_fen
                    r[3] += 1
                else:
                    r[4] += p.amount_fen
    for acc in accounts:
        if acc.member_id in waived:
            continue
        owing = arrears_months(acc.paid_up_to, on)
        for key in bucket(paths[acc.member_id]):
            for t in thresholds:
                row(key)[5][t] += owing >= t
    return {k: tuple(v) for k, v in out.items()}


def computed(org, actor, **period) -> dict:
    with acting_as(actor):
        s = selectors.dues_statistics(org=org, on=TODAY, **period)
    out = {}
    for r in [*s.rows, s.total]:
        key = "total" if r is s.total else (r.org.path if r.org is not None else "own")
        values = (r.assessed, r.due_fen, r.paid_fen, r.months_paid, r.voluntary_fen, r.arrears)
        if key == "total" or any(values[:5]) or any(r.arrears.values()):
            out[key] = values
    return out


def same(org, actor, **period) -> bool:
    want = {k: v for k, v in oracle(org, on=TODAY, **period).items() if any(v[:5]) or any(v[5].values())}
    assert computed(org, actor, **period) == want
    return True


@pytest.fixture
def dues_world(district):
    """Five members in three branches with assessments over two years, payments, a voluntary extra, a waiver."""
    d = district
    extra = make_member(d.branch_b1, name="赵六", born=dt.date(1979, 3, 3))
    for m, base, paid in ((d.member_a1, 450_000, M(2026, 5)), (d.member_a2, 300_000, M(2026, 4)),
                          (d.member_b1, 900_000, M(2026, 5)), (extra, 200_000, M(2026, 10))):
        services.assessment_set(actor=SYSTEM, member=m, year=2026, category="employed", dues_base_fen=base,
                                paid_through=paid, today=TODAY)  # opens the account
        services.assessment_set(actor=SYSTEM, member=m, year=2025, category="employed", dues_base_fen=base,
                                today=TODAY)
    services.payment_record(actor=SYSTEM, member=d.member_a1, first_month=None, months=4, method="monthly",
                            paid_on=TODAY, voluntary_fen=5_000, today=TODAY)
    services.payment_record(actor=SYSTEM, member=d.member_b1, first_month=None, months=2, method="backpay",
                            paid_on=TODAY, today=TODAY)
    a = DuesAssessment.unscoped.get(member=extra, year=2026)
    r = services.reduction_request(actor=SYSTEM, assessment=a, monthly_fen=0, reason="重病住院")
    services.reduction_approve(actor=SYSTEM, reduction=r, note="同意免交")
    d.extra = extra
    return d


def test_every_dues_service_keeps_the_counters(dues_world):
    d = dues_world
    assert consistent()
    admin = d.users["district_admin"]
    assert same(d.root, admin, year=2026, from_month=1, to_month=12)
    assert same(d.root, admin, year=2026, from_month=3, to_month=7)
    assert same(d.committee_a, d.users["committee_admin"], year=2026, from_month=1, to_month=11)
    assert same(d.root, admin, year=2025, from_month=1, to_month=12)
    # a correction of the current year (first month moves with nothing paid) and next year's assessment
    services.assessment_set(actor=SYSTEM, member=d.member_a2, year=2026, category="employed", dues_base_fen=500_000,
                            first_month=3, correction=True, note="基数录错", today=TODAY)
    services.assessment_set(actor=SYSTEM, member=d.member_a2, year=2027, category="retired", dues_base_fen=300_000,
                            today=TODAY)
    assert consistent() and same(d.root, admin, year=2026, from_month=1, to_month=12)


def test_counters_follow_the_member_and_the_tree(dues_world):
    d = dues_world
    admin = d.users["district_admin"]
    member_move(actor=SYSTEM, member=d.member_b1, to=d.branch_a2, on=TODAY)
    with system_scope("test"):
        account = DuesAccount.unscoped.get(member=d.member_b1)
        assert account.org_path == d.branch_a2.path
        assert set(DuesAssessment.unscoped.filter(member=d.member_b1).values_list("org_path", flat=True)) == {
            d.branch_a2.path}
        # payments stay with the branch that received them
        assert set(DuesPayment.unscoped.filter(member=d.member_b1).values_list("org_path", flat=True)) == {
            d.branch_b1.path}
    assert consistent() and same(d.root, admin, year=2026, from_month=1, to_month=12)
    member_leave(actor=SYSTEM, member=d.member_a2, on=TODAY, reason=LeaveReason.TRANSFERRED_OUT)
    assert consistent() and same(d.root, admin, year=2026, from_month=1, to_month=12)
    organization_move(actor=SYSTEM, org=d.branch_a1, new_parent=d.committee_b)
    for o in (d.root, d.branch_a1, d.committee_a, d.committee_b):
        o.refresh_from_db()
    assert consistent()
    assert same(d.root, admin, year=2026, from_month=1, to_month=12)
    assert same(d.committee_b, admin, year=2026, from_month=1, to_month=12)
    assert same(d.committee_a, admin, year=2026, from_month=1, to_month=12)


def test_a_refused_or_rolled_back_change_leaves_the_counters(dues_world):
    d = dues_world
    with system_scope("test"):
        before = list(DuesTally.unscoped.order_by("org_path", "metric", "key").values_list(
            "org_path", "metric", "key", "count", "amount_fen"))
    with pytest.raises(ValidationFailed):  # the month is already paid: refused, nothing written
        services.payment_record(actor=SYSTEM, member=d.member_a1, first_month=M(2026, 2), months=1,
                                method="monthly", paid_on=TODAY, today=TODAY)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.payment_record(actor=SYSTEM, member=d.member_a2, first_month=None, months=1, method="monthly",
                                paid_on=TODAY, today=TODAY)
        raise RuntimeError("rolled back")
    with system_scope("test"):
        after = list(DuesTally.unscoped.order_by("org_path", "metric", "key").values_list(
            "org_path", "metric", "key", "count", "amount_fen"))
    assert after == before


def test_waived_member_is_not_counted_in_arrears(dues_world):
    d = dues_world
    with acting_as(d.users["district_admin"]):
        s = selectors.dues_statistics(org=d.root, year=2026, on=TODAY)
        rows = {r.org.path: r for r in s.rows}
        # a1 paid to September (owes October), a2 to April (6 months), b1 to July (3); 赵六 is waived
        assert s.total.arrears == {1: 3, 3: 2, 5: 1, 6: 1}
        assert rows[d.committee_b.path].arrears == {1: 1, 3: 1, 5: 0, 6: 0}
        # waived with months owing: still not counted
        DuesAccount.unscoped.filter(member=d.extra).update(paid_up_to=M(2026, 1))
        with system_scope("test"):
            rebuild_dues_tallies()
        s = selectors.dues_statistics(org=d.root, year=2026, on=TODAY)
        assert s.total.arrears == {1: 3, 3: 2, 5: 1, 6: 1}


def test_arrears_count_is_the_length_of_the_list(dues_world):
    d = dues_world
    for actor, org in ((d.users["district_admin"], d.root), (d.users["committee_admin"], d.committee_a),
                       (d.users["branch_worker"], d.branch_a1)):
        with acting_as(actor):
            for n in (1, 3, 6, 9):
                listed = selectors.arrears_list(org=org, on=TODAY, min_months=n)
                assert selectors.arrears_count(org=org, on=TODAY, min_months=n) == listed.count()


def test_statistics_cost_three_queries_whatever_the_size(dues_world):
    d = dues_world
    with acting_as(d.users["district_admin"]):
        with CaptureQueriesContext(connection) as small:
            selectors.dues_statistics(org=d.root, year=2026, on=TODAY)
        for i in range(6):
            m = make_member(d.branch_a2, name=f"新党员{i}", born=dt.date(1990, 1, 1 + i))
            services.assessment_set(actor=SYSTEM, member=m, year=2026, category="employed", dues_base_fen=300_000,
                                    today=TODAY)
        with CaptureQueriesContext(connection) as large:
            selectors.dues_statistics(org=d.root, year=2026, on=TODAY)
    assert len(small) == len(large) == 3


def test_scoped_worker_sees_only_their_subtree(dues_world):
    d = dues_world
    with acting_as(d.users["branch_worker"]):  # 支部A1 only
        s = selectors.dues_statistics(org=d.branch_a1, year=2026, on=TODAY)
        assert s.total.assessed == 1
        assert not DuesTally.objects.filter(org_path=d.root.path).exists()
        assert not DuesAccount.objects.filter(member=d.member_b1).exists()


def test_rebuild_command_finds_and_repairs_drift(dues_world):
    with system_scope("test"):
        DuesTally.unscoped.filter(metric="paid").update(amount_fen=1)
    with pytest.raises(Exception, match="不一致"):
        call_command("rebuild_dues_tallies", "--check", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("rebuild_dues_tallies", stdout=out)
    assert "已重建党费汇总" in out.getvalue()
    call_command("rebuild_dues_tallies", "--check", stdout=io.StringIO())
    assert consistent()
