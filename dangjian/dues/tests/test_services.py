"""Services of 党费 with real data: assessment, payments (and every refusal), reductions, arrears."""

import datetime as dt

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.dues import selectors, services
from dangjian.dues.models import DuesAccount, DuesAssessment, DuesPayment, DuesReduction, Method
from dangjian.testing import acting_as, make_member

TODAY = dt.date(2026, 11, 29)
M = lambda y, m: dt.date(y, m, 1)  # noqa: E731


def _assess(member, year=2026, category="employed", base=450_000, actor=SYSTEM, **kw):
    return services.assessment_set(actor=actor, member=member, year=year, category=category, dues_base_fen=base,
                                   today=kw.pop("today", TODAY), **kw)


def _pay(member, first=None, months=1, method=Method.MONTHLY, actor=SYSTEM, **kw):
    kw.setdefault("paid_on", TODAY)
    return services.payment_record(actor=actor, member=member, first_month=first, months=months, method=method,
                                   today=kw.pop("today", TODAY), **kw)


def _snapshot():
    with system_scope("test: snapshot"):
        return (list(DuesAssessment.unscoped.values_list("id", "monthly_fen", "dues_base_fen", "category")),
                list(DuesAccount.unscoped.values_list("member_id", "paid_up_to")),
                DuesPayment.unscoped.count(), DuesReduction.unscoped.count(),
                AuditEntry.objects.filter(action__startswith="dues.").count())


# --- Assessment ------------------------------------------------------------------------------------------


def test_first_assessment_sets_amount_and_opens_the_account(district):
    a = _assess(district.member_a1, base=450_000)
    assert (a.standard_fen, a.monthly_fen, a.rate_bp, a.first_month) == (4500, 4500, 100, 1)
    assert a.yearly_fen == 54_000
    assert selectors.paid_up_to(district.member_a1) == M(2025, 12)
    entry = AuditEntry.objects.filter(action="dues.assessment.created").get()
    assert entry.changes["monthly"] == "45.00" and entry.changes["paid_up_to"] == "2025-12"


def test_paid_through_on_first_assessment(district):
    _assess(district.member_a1, paid_through=dt.date(2026, 6, 15))
    assert selectors.paid_up_to(district.member_a1) == M(2026, 6)
    with pytest.raises(ValidationFailed) as e:
        _assess(district.member_a1, year=2027, paid_through=M(2026, 7))
    assert "paid_through" in e.value.fields
    assert selectors.paid_up_to(district.member_a1) == M(2026, 6)


def test_paid_up_to_corrected_by_hand_with_a_reason(district):
    _assess(district.member_a1, paid_through=M(2025, 12))
    before = _snapshot()
    with pytest.raises(ValidationFailed):
        _assess(district.member_a1, paid_through=M(2026, 9), correction=True)  # no reason
    assert _snapshot() == before
    _assess(district.member_a1, paid_through=M(2026, 9), correction=True, note="原纸质台账已交至9月")
    assert selectors.paid_up_to(district.member_a1) == M(2026, 9)
    entry = AuditEntry.objects.filter(action="dues.assessment.corrected").get()
    assert entry.changes["paid_up_to"] == ["2025-12", "2026-09"]


def test_current_year_is_fixed_unless_corrected(district):
    _assess(district.member_a1, base=450_000)
    before = _snapshot()
    with pytest.raises(RuleViolation) as e:
        _assess(district.member_a1, base=800_000)
    assert e.value.rule == "dues.fixed_yearly" and "旗帜" in e.value.message and "correction" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        _assess(district.member_a1, base=800_000, correction=True)  # a correction needs its reason
    assert "note" in e.value.fields
    assert _snapshot() == before
    a = _assess(district.member_a1, base=800_000, correction=True, note="基数录入错误")
    assert a.monthly_fen == 12_000
    entry = AuditEntry.objects.filter(action="dues.assessment.corrected").get()
    assert entry.changes["monthly"] == ["45.00", "120.00"]


def test_next_year_may_change_until_it_begins(district):
    _assess(district.member_a1, year=2027, base=450_000)
    a = _assess(district.member_a1, year=2027, base=600_000)
    assert a.monthly_fen == 9000
    assert AuditEntry.objects.filter(action="dues.assessment.changed").count() == 1


@pytest.mark.parametrize("kw, field", [
    ({"base": -100}, "dues_base_fen"),
    ({"base": 99_999_999}, "dues_base_fen"),
    ({"base": None}, "dues_base_fen"),
    ({"year": 2020}, "year"),
    ({"category": "bogus"}, "category"),
    ({"first_month": 13}, "first_month"),
    ({"first_month": 0}, "first_month"),
])
def test_bad_assessment_saves_nothing(district, kw, field):
    before = _snapshot()
    with pytest.raises(ValidationFailed) as e:
        _assess(district.member_a1, **kw)
    assert field in e.value.fields
    assert _snapshot() == before


def test_probationary_member_pays_from_the_month_of_admission(district):
    m = make_member(district.branch_a1, status="probationary", joined_on=dt.date(2026, 4, 20), confirmed_on=None,
                    born=dt.date(1990, 1, 1))
    a = _assess(m, category="student", base=None)
    assert (a.first_month, a.monthly_fen, a.yearly_fen) == (4, 20, 180)
    assert selectors.paid_up_to(m) == M(2026, 3)
    with pytest.raises(ValidationFailed) as e:
        _assess(m, year=2025, category="student", base=None)
    assert "year" in e.value.fields


def test_branch_worker_of_another_branch_may_not_assess(district):
    with pytest.raises(PermissionDenied):
        _assess(district.member_b1, actor=district.users["branch_worker"])


# --- Payments --------------------------------------------------------------------------------------------


def test_monthly_payment_moves_paid_up_to(district):
    _assess(district.member_a1, paid_through=M(2026, 9))
    rows = _pay(district.member_a1, actor=district.users["branch_worker"])
    assert [(p.month, p.amount_fen, p.collected_by_id) for p in rows] == [
        (M(2026, 10), 4500, district.users["branch_worker"].pk)]
    assert selectors.paid_up_to(district.member_a1) == M(2026, 10)
    assert AuditEntry.objects.filter(action="dues.payment.recorded").get().changes["months"] == ["2026-10"]


def test_a_month_already_paid_is_refused_and_nothing_saved(district):
    _assess(district.member_a1, paid_through=M(2026, 9))
    _pay(district.member_a1, months=2)
    before = _snapshot()
    with pytest.raises(ValidationFailed) as e:
        _pay(district.member_a1, first=M(2026, 10))
    assert "已交纳" in e.value.fields["first_month"][0] and "2026年10月" in e.value.fields["first_month"][0]
    assert _snapshot() == before


def test_months_are_paid_in_order(district):
    _assess(district.member_a1, paid_through=M(2026, 8))
    with pytest.raises(ValidationFailed) as e:
        _pay(district.member_a1, first=M(2026, 11))
    assert "请从2026年9月开始" in e.value.fields["first_month"][0]


def test_backpay_up_to_six_months_and_no_more(district):
    _assess(district.member_a1, year=2026, paid_through=M(2026, 4))
    rows = _pay(district.member_a1, first=M(2026, 5), months=7, method=Method.BACKPAY)  # May: 6 months ago
    assert len(rows) == 7 and selectors.paid_up_to(district.member_a1) == M(2026, 11)
    m = make_member(district.branch_a1)
    _assess(m, paid_through=M(2026, 3))
    before = _snapshot()
    with pytest.raises(RuleViolation) as e:
        _pay(m, months=8, method=Method.BACKPAY)  # April: 7 months ago
    assert e.value.rule == "dues.backpay_limit" and "6个月" in e.value.message and "旗帜" in e.value.message
    assert _snapshot() == before


def test_quarterly_and_prepayment_need_consent_and_stop_at_the_limit(district):
    _assess(district.member_a1, paid_through=M(2026, 10))
    _assess(district.member_a1, year=2027, base=450_000)
    with pytest.raises(RuleViolation) as e:
        _pay(district.member_a1, months=3, method=Method.QUARTERLY)  # Nov, Dec, Jan without consent
    assert e.value.rule == "dues.consent" and "consent" in e.value.fields
    with pytest.raises(RuleViolation) as e:
        _pay(district.member_a1, months=4, method=Method.PREPAY, consent=True)  # Feb 2027 is 3 months ahead
    assert e.value.rule == "dues.prepay_limit"
    rows = _pay(district.member_a1, months=3, method=Method.QUARTERLY, consent=True)
    assert [p.month for p in rows] == [M(2026, 11), M(2026, 12), M(2027, 1)]
    assert {p.assessment.year for p in rows} == {2026, 2027}


def test_unassessed_year_is_refused(district):
    _assess(district.member_a1, paid_through=M(2026, 11))
    with pytest.raises(ValidationFailed) as e:
        _pay(district.member_a1, months=2, method=Method.PREPAY, consent=True)
    assert "2027 年度党费尚未核定" in e.value.fields["first_month"][0]


def test_payment_without_assessment_is_refused(district):
    with pytest.raises(ValidationFailed) as e:
        _pay(district.member_a1)
    assert "请先核定" in e.value.fields["first_month"][0]


@pytest.mark.parametrize("kw, field", [
    ({"method": Method.PROXY}, "proxy_name"),
    ({"paid_on": dt.date(2026, 11, 30)}, "paid_on"),
    ({"months": 13}, "months"),
    ({"months": 0}, "months"),
    ({"voluntary_fen": -5}, "voluntary_fen"),
    ({"method": "cash"}, "method"),
])
def test_bad_payment_saves_nothing(district, kw, field):
    _assess(district.member_a1, paid_through=M(2026, 9))
    before = _snapshot()
    with pytest.raises(ValidationFailed) as e:
        _pay(district.member_a1, **kw)
    assert field in e.value.fields
    assert _snapshot() == before


def test_proxy_and_voluntary_extra(district):
    _assess(district.member_a1, paid_through=M(2026, 9))
    rows = _pay(district.member_a1, method=Method.PROXY, proxy_name="张三之妻", voluntary_fen=150_000)
    assert [(p.kind, p.amount_fen) for p in rows] == [("due", 4500), ("voluntary", 150_000)]
    changes = AuditEntry.objects.filter(action="dues.payment.recorded").get().changes
    assert changes["to_centre"] is True and changes["proxy_name"] == "张三之妻"
    only_extra = _pay(district.member_a1, months=0, voluntary_fen=1000)
    assert [p.kind for p in only_extra] == ["voluntary"]
    assert selectors.paid_up_to(district.member_a1) == M(2026, 10)


# --- Arrears ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("paid_to, n", [(M(2026, 11), 0), (M(2026, 10), 0), (M(2026, 9), 1), (M(2026, 8), 2),
                                         (M(2026, 7), 3), (M(2026, 5), 5), (M(2026, 4), 6), (None, 0)])
def test_arrears_months(paid_to, n):
    assert selectors.arrears_months(paid_to, TODAY) == n


def test_arrears_list_uses_the_thresholds(district):
    _assess(district.member_a1, paid_through=M(2026, 7))  # 3 months (Aug, Sep, Oct)
    _assess(district.member_a2, paid_through=M(2026, 8))  # 2
    _assess(district.member_b1, paid_through=M(2026, 5))  # 5
    with acting_as(district.users["district_admin"]):
        three = [a.member.name for a in selectors.arrears_list(org=None, on=TODAY, min_months=3)]
        five = [a.member.name for a in selectors.arrears_list(org=None, on=TODAY, min_months=5)]
    assert three == ["王五", "张三"] and five == ["王五"]
    with acting_as(district.users["branch_worker"]):
        assert [a.member.name for a in selectors.arrears_list(org=None, on=TODAY, min_months=3)] == ["张三"]


# --- Reductions ------------------------------------------------------------------------------------------


def test_reduction_requested_by_branch_approved_by_superior(district):
    a = _assess(district.member_a1, base=450_000)
    worker, superior = district.users["branch_worker"], district.users["committee_admin"]
    r = services.reduction_request(actor=worker, assessment=a, monthly_fen=0, reason="重病住院，收入中断")
    with pytest.raises(Conflict):
        services.reduction_request(actor=worker, assessment=a, monthly_fen=100, reason="再次申请")
    with pytest.raises(PermissionDenied):  # the branch cannot approve its own request
        services.reduction_approve(actor=worker, reduction=r)
    services.reduction_approve(actor=superior, reduction=r, note="同意免交")
    a.refresh_from_db()
    r.refresh_from_db()
    assert (r.status, a.monthly_fen, a.standard_fen, a.is_reduced) == ("approved", 0, 4500, True)
    with pytest.raises(Conflict) as e:
        services.reduction_reject(actor=superior, reduction=r, note="改主意")
    assert "已批准" in e.value.message
    assert AuditEntry.objects.filter(action="dues.reduction.approved").count() == 1
    with acting_as(district.users["district_admin"]):  # 免交 members get no arrears reminders
        assert selectors.arrears_list(org=None, on=dt.date(2026, 12, 15), min_months=1).count() == 0


def test_reduction_rejected_needs_a_reason_and_keeps_the_amount(district):
    a = _assess(district.member_a1)
    r = services.reduction_request(actor=district.users["branch_worker"], assessment=a, monthly_fen=1000,
                                   reason="家庭困难")
    with pytest.raises(ValidationFailed) as e:
        services.reduction_reject(actor=district.users["committee_admin"], reduction=r, note="")
    assert "note" in e.value.fields
    services.reduction_reject(actor=district.users["committee_admin"], reduction=r, note="不符合条件")
    a.refresh_from_db()
    assert a.monthly_fen == 4500


@pytest.mark.parametrize("fen, reason, field", [(4500, "困难", "monthly_fen"), (-1, "困难", "monthly_fen"),
                                                 (100, "  ", "reason")])
def test_bad_reduction_request(district, fen, reason, field):
    a = _assess(district.member_a1)
    before = _snapshot()
    with pytest.raises(ValidationFailed) as e:
        services.reduction_request(actor=district.users["branch_worker"], assessment=a, monthly_fen=fen, reason=reason)
    assert field in e.value.fields
    assert _snapshot() == before


def test_reductions_to_decide_only_for_the_superior(district):
    a = _assess(district.member_a1)
    services.reduction_request(actor=district.users["branch_worker"], assessment=a, monthly_fen=0, reason="困难")
    for role, n in (("committee_admin", 1), ("district_admin", 1), ("branch_worker", 0)):
        user = district.users[role]
        with acting_as(user):
            assert selectors.reductions_to_decide(actor=user).count() == n, role


def test_months_settled_counts_months_up_to_paid_up_to(district):
    a = _assess(district.member_a1, paid_through=M(2026, 7))
    assert selectors.months_settled(a, M(2026, 7)) == 7
    assert selectors.months_settled(a, M(2025, 11)) == 0
    assert selectors.months_settled(a, M(2027, 2)) == 12
    with acting_as(district.users["member"]):
        dues = selectors.member_dues(member=district.member_a1, year=2026, on=TODAY)
    assert (dues.months_settled, dues.months_paid, dues.arrears) == (7, 0, 3)
    assert [c["state"] for c in dues.month_cells] == ["paid"] * 7 + ["late"] * 3 + ["due"] * 2


def test_reduction_approve_and_reject_lock_only_the_reduction(district):
    """Deciding reads the branch's parent over a nullable join: PostgreSQL refuses FOR UPDATE on the nullable
    side of an outer join, so the lock is limited to the reduction row (this runs on both databases)."""
    a1, a2 = _assess(district.member_a1), _assess(district.member_a2)
    worker, superior = district.users["branch_worker"], district.users["committee_admin"]
    r1 = services.reduction_request(actor=worker, assessment=a1, monthly_fen=0, reason="重病住院")
    r2 = services.reduction_request(actor=superior, assessment=a2, monthly_fen=1000, reason="家庭困难")
    services.reduction_approve(actor=superior, reduction=r1, note="同意免交")
    services.reduction_reject(actor=superior, reduction=r2, note="不符合条件")
    r1.refresh_from_db()
    r2.refresh_from_db()
    a1.refresh_from_db()
    a2.refresh_from_db()
    assert (r1.status, a1.monthly_fen) == ("approved", 0)
    assert (r2.status, a2.monthly_fen) == ("rejected", a2.standard_fen)
    assert AuditEntry.objects.filter(action__in=["dues.reduction.approved", "dues.reduction.rejected"]).count() == 2


def test_waived_member_is_not_in_arrears_on_their_page_or_the_roster(district):
    """免交 (an approved reduction to 0): no arrears anywhere, as arrears_list and the statistics say."""
    a = _assess(district.member_a1, paid_through=M(2026, 1))
    r = services.reduction_request(actor=district.users["branch_worker"], assessment=a, monthly_fen=0, reason="重病")
    services.reduction_approve(actor=district.users["committee_admin"], reduction=r, note="同意免交")
    _assess(district.member_a2, paid_through=M(2026, 1))  # not waived: 9 months late on TODAY
    with acting_as(district.users["district_admin"]):
        mine = selectors.member_dues(member=district.member_a1, year=2026, on=TODAY)
        assert (mine.arrears, mine.arrears_level, mine.arrears_text) == (0, "", "")
        rows = {r.member.pk: r for r in selectors.dues_roster(org=district.committee_a, year=2026, on=TODAY)}
        assert rows[district.member_a1.pk].arrears == 0 and rows[district.member_a1.pk].level == ""
        assert rows[district.member_a2.pk].arrears == 9
        assert selectors.roster_totals(list(rows.values())).in_arrears == 1
        # the waiver is of the current year: looking back at 2025 still shows no arrears today
        assert selectors.member_dues(member=district.member_a1, year=2025, on=TODAY).arrears == 0


def test_member_page_keeps_payments_collected_by_the_former_branch(district):
    """After a move, the new branch sees every payment of its member (the scope check is on the member)."""
    from dangjian.members.services import member_move
    from dangjian.testing import make_user

    _assess(district.member_a1, paid_through=M(2026, 6))
    _pay(district.member_a1, months=3)  # collected by 支部A1
    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_a2, on=TODAY)
    _pay(district.member_a1, months=1)  # collected by 支部A2
    worker_a2 = make_user("worker_a2", role="branch_worker", org=district.branch_a2)
    with acting_as(worker_a2):
        dues = selectors.member_dues(member=district.member_a1, year=2026, on=TODAY)
        assert dues.months_paid == 4 and len(dues.payments) == 4
        row = selectors.dues_roster(org=district.branch_a2, year=2026, on=TODAY)[0]
        assert row.months_paid == 4


def test_correcting_the_first_month_moves_paid_up_to_when_nothing_is_paid(district):
    _assess(district.member_a1, first_month=1)
    assert selectors.paid_up_to(district.member_a1) == M(2025, 12)
    _assess(district.member_a1, first_month=5, correction=True, note="入党时间录入有误")
    assert selectors.paid_up_to(district.member_a1) == M(2026, 4)
    entry = AuditEntry.objects.filter(action="dues.assessment.corrected").get()
    assert entry.changes["first_month"] == [1, 5] and entry.changes["paid_up_to"] == ["2025-12", "2026-04"]
    with acting_as(district.users["branch_worker"]):  # months before May are not owed
        assert selectors.member_dues(member=district.member_a1, year=2026, on=TODAY).arrears == 6
    _assess(district.member_a1, first_month=3, correction=True, note="再次更正")
    assert selectors.paid_up_to(district.member_a1) == M(2026, 2)
