"""Writes of 党费. Each public function is one transaction with its audit entry; refusals name the field
and, for a regulation, the rule and its article (rules.py)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import log_action
from dangjian.core.actors import actor_user
from dangjian.core.errors import Conflict, ValidationFailed
from dangjian.core.permissions import require
from dangjian.members.models import Member

from . import rules, workflow
from .models import (
    DuesAccount,
    DuesAssessment,
    DuesPayment,
    DuesReduction,
    Method,
    PaymentKind,
    ReductionStatus,
)
from .rules import add_months, month_label, month_start, months_between, yuan
from .tallies import account_contribution, assessment_contribution, payment_contribution, tally_dues

registry.register(
    {
        "dues.assessment.created": "核定年度党费",
        "dues.assessment.changed": "修改下一年度党费核定",
        "dues.assessment.corrected": "更正年度党费核定",
        "dues.payment.recorded": "登记党费交纳",
        "dues.reduction.requested": "申请减免党费",
        "dues.reduction.approved": "批准减免党费",
        "dues.reduction.rejected": "驳回减免党费申请",
        "dues.public_notice.exported": "导出党费公示表",
        "dues.arrears.reminded": "发送欠交党费提醒",
    }
)


def _lock_member(member: Member) -> Member:
    # of=("self",): lock the member row only, never the joined organisation (organization_move locks those:
    # locking them here too invites a deadlock).
    member.refresh_from_db(from_queryset=Member.unscoped.select_related("organization").select_for_update(
        of=("self",)))
    return member


def _retally(path: str, before, after) -> None:
    """One row's counters (DuesTally) move from its old contribution to its new one, in this transaction."""
    if before != after:
        tally_dues([c for c in ((path, before, -1), (path, after, +1)) if c[1] is not None])


def _assessed(a: DuesAssessment):
    return assessment_contribution(a.year, a.first_month, a.monthly_fen)


def _assessment_view(a: DuesAssessment) -> dict:
    return {"year": a.year, "category": a.category, "base": yuan(a.dues_base_fen), "monthly": yuan(a.monthly_fen),
            "standard": yuan(a.standard_fen), "first_month": a.first_month, "note": a.note}


@transaction.atomic
def assessment_set(*, actor, member: Member, year: int, category: str, dues_base_fen: int | None,
                   first_month: int | None = None, correction: bool = False, paid_through: dt.date | None = None,
                   note: str = "", today: dt.date | None = None) -> DuesAssessment:
    """核定 a member's dues for `year`: category and monthly base → monthly amount by the rules engine.

    The amount is fixed at the start of the year (《旗帜》2021: 年初核定，年内一般不作调整). So:
    - a year not yet begun may be set and changed freely (next year's base is prepared in December);
    - a year already begun is set once (a member registered mid-year gets theirs then); changing it later
      is allowed only as a correction of a mistake (`correction=True`, with the reason in `note`). A change
      of pay takes effect in next year's assessment.
    A correction recomputes the standard amount; an approved hardship reduction stays (capped by the new
    standard). Payments already recorded keep the amounts received.
    The first assessment opens the member's dues account: paid up to the month before `first_month`, or
    `paid_through` (已交至, when the member's dues were kept elsewhere before, e.g. on paper).
    """
    today = today or timezone.localdate()
    _lock_member(member)
    require(actor, "member.manage", member.organization)
    errors: dict[str, list[str]] = {}
    if not (today.year - 1 <= year <= today.year + 1):
        errors["year"] = [f"年度：只能核定 {today.year - 1}—{today.year + 1} 年度"]
    if category not in rules.Category.values:
        errors["category"] = ["交纳类别：不是可选的类别"]
    if errors:
        raise ValidationFailed("核定内容有误", fields=errors)
    amount = rules.monthly_amount(category, dues_base_fen)  # refuses a negative or absurd base, naming the field
    joined = member.joined_on
    if joined.year > year:
        raise ValidationFailed("该党员当年尚未入党",
                               fields={"year": [f"年度：该党员 {joined:%Y-%m-%d} 入党，{year} 年度无需交纳党费"]})
    earliest = joined.month if joined.year == year else 1
    if first_month is None:
        first_month = earliest
    if not (earliest <= first_month <= 12):
        raise ValidationFailed("起交月份有误", fields={"first_month": [
            f"起交月份：应为 {earliest}—12 月（预备党员自支部党员大会通过接收之日起交纳党费）"]})
    note = (note or "").strip()[:200]
    existing = DuesAssessment.unscoped.select_for_update().filter(member=member, year=year).first()
    restart: tuple[dt.date, dt.date] | None = None  # 已交至 (old, new) when the first month moves
    values = {"category": category, "dues_base_fen": dues_base_fen if rules.uses_base(category) else 0,
              "standard_fen": amount.monthly_fen, "rate_bp": amount.rate_bp, "first_month": first_month}
    if existing is None:
        assessment = DuesAssessment.unscoped.create(member=member, org_path=member.org_path, year=year,
                                                    monthly_fen=amount.monthly_fen, note=note, **values)
        _retally(assessment.org_path, None, _assessed(assessment))
        action, changes = "dues.assessment.created", _assessment_view(assessment)
    else:
        started = dt.date(year, 1, 1) <= today
        if started and not correction:
            raise rules.refuse(
                f"{year} 年度党费已于年初核定，年内一般不作调整；工资变动请核定下一年度，录入有误请选择“更正”并说明原因",
                rule="dues.fixed_yearly", article=rules.ART_FIXED_YEARLY, field="correction")
        if correction and not note:
            raise ValidationFailed("请说明更正原因", fields={"note": ["备注：更正已核定的党费须说明原因"]})
        paid_months = DuesPayment.unscoped.filter(assessment=existing, kind=PaymentKind.DUE).count()
        if paid_months and first_month != existing.first_month:
            raise ValidationFailed("已有交纳记录，不能修改起交月份",
                                   fields={"first_month": ["起交月份：该年度已有交纳记录，不能修改"]})
        if not paid_months and first_month != existing.first_month:
            # nothing paid yet: 已交至 (the month before the first due month) moves with the correction
            restart = (add_months(dt.date(year, existing.first_month, 1), -1),
                       add_months(dt.date(year, first_month, 1), -1))
        before, counted = _assessment_view(existing), _assessed(existing)
        was_reduced = existing.is_reduced
        for k, v in values.items():
            setattr(existing, k, v)
        existing.monthly_fen = min(existing.monthly_fen, amount.monthly_fen) if was_reduced else amount.monthly_fen
        existing.note = note or existing.note
        existing.save()
        _retally(existing.org_path, counted, _assessed(existing))
        assessment = existing
        after = _assessment_view(assessment)
        action = "dues.assessment.corrected" if started else "dues.assessment.changed"
        changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    account = DuesAccount.unscoped.select_for_update().filter(member=member).first()
    if account is None:
        start = add_months(dt.date(year, first_month, 1), -1)
        if paid_through is not None:
            paid_through = month_start(paid_through)
            if paid_through > add_months(month_start(today), rules.config()["prepay_max_months"]):
                raise ValidationFailed("已交至月份有误", fields={"paid_through": ["此前已交至：不能晚于可预交的月份"]})
            start = paid_through
        DuesAccount.unscoped.create(member=member, org_path=member.org_path, paid_up_to=start)
        _retally(member.org_path, None, account_contribution(start))
        changes["paid_up_to"] = start.strftime("%Y-%m")
    elif paid_through is not None:
        # 已交至 moves with payments. Setting it by hand is a correction (a wrong start, or months settled
        # elsewhere, e.g. after the branch found a good reason under 党章第九条), with its reason, audited.
        if not (correction and note):
            raise ValidationFailed("已有党费账户", fields={"paid_through": [
                "此前已交至：已交至月份由交纳记录决定；确需更正请勾选“更正”并在备注中说明原因"]})
        paid_through = month_start(paid_through)
        if paid_through > add_months(month_start(today), rules.config()["prepay_max_months"]):
            raise ValidationFailed("已交至月份有误", fields={"paid_through": ["此前已交至：不能晚于可预交的月份"]})
        changes["paid_up_to"] = [account.paid_up_to.strftime("%Y-%m"), paid_through.strftime("%Y-%m")]
        _paid_up_to_set(account, paid_through)
        if action == "dues.assessment.changed":
            action = "dues.assessment.corrected"
    elif restart is not None and account.paid_up_to == restart[0]:
        changes["paid_up_to"] = [restart[0].strftime("%Y-%m"), restart[1].strftime("%Y-%m")]
        _paid_up_to_set(account, restart[1])
    log_action(actor=actor, action=action, target=member, changes=changes)
    return assessment


def _paid_up_to_set(account: DuesAccount, month: dt.date) -> None:
    _retally(account.org_path, account_contribution(account.paid_up_to), account_contribution(month))
    account.paid_up_to = month
    account.save(update_fields=["paid_up_to", "updated_at"])


@transaction.atomic
def payment_record(*, actor, member: Member, first_month: dt.date | None, months: int, method: str,
                   paid_on: dt.date, proxy_name: str = "", consent: bool = False, voluntary_fen: int = 0,
                   note: str = "", today: dt.date | None = None) -> list[DuesPayment]:
    """Record dues received: `months` consecutive months from `first_month`, each at the year's monthly
    amount (in full), plus an optional voluntary extra. Months are paid in order, so the account's
    已交至 moves by exactly `months`; a month already paid is refused, never recorded twice."""
    today = today or timezone.localdate()
    _lock_member(member)
    require(actor, "member.manage", member.organization)
    account = DuesAccount.unscoped.select_for_update().filter(member=member).first()
    cfg = rules.config()
    errors: dict[str, list[str]] = {}
    if method not in Method.values:
        errors["method"] = ["交纳方式：不是可选的方式"]
    if not (0 <= months <= 12):
        errors["months"] = ["月数：应为 1—12 个月"]
    if months == 0 and voluntary_fen <= 0:
        errors["months"] = ["月数：请至少登记 1 个月，或填写自愿多交金额"]
    if voluntary_fen < 0:
        errors["voluntary_fen"] = ["自愿多交：金额不能为负数"]
    if paid_on > today:
        errors["paid_on"] = ["交纳日期：不能晚于今天"]
    if method == Method.PROXY and not proxy_name.strip():
        errors["proxy_name"] = ["代交人：委托代交须填写代交人姓名"]
    if errors:
        raise ValidationFailed("交纳登记有误", fields=errors)
    current = month_start(today)
    payments: list[DuesPayment] = []
    if months:
        if account is None:
            raise ValidationFailed("尚未核定党费", fields={"first_month": ["所属月份：请先核定该党员的年度党费"]})
        first_month = month_start(first_month) if first_month else add_months(account.paid_up_to, 1)
        last = add_months(first_month, months - 1)
        expected = add_months(account.paid_up_to, 1)
        if first_month <= account.paid_up_to:
            raise ValidationFailed("该月党费已交纳", fields={"first_month": [
                f"所属月份：{month_label(first_month)}的党费已交纳（已交至{month_label(account.paid_up_to)}），不能重复登记"]})
        if first_month != expected:
            raise ValidationFailed("须按月份顺序交纳", fields={"first_month": [
                f"所属月份：已交至{month_label(account.paid_up_to)}，请从{month_label(expected)}开始登记"]})
        late = months_between(first_month, current)
        if late > cfg["backpay_max_months"]:
            raise rules.refuse(
                f"补交一般不超过{cfg['backpay_max_months']}个月：{month_label(first_month)}至今已{late}个月，"
                f"请党支部按党章第九条的规定处理", rule="dues.backpay_limit", article=rules.ART_BACKPAY, field="first_month")
        ahead = months_between(current, last)
        if ahead > cfg["prepay_max_months"]:
            raise rules.refuse(f"最多只能预交到{month_label(add_months(current, cfg['prepay_max_months']))}",
                               rule="dues.prepay_limit", article=rules.ART_PREPAY, field="months")
        if (ahead > 0 or method in (Method.QUARTERLY, Method.PREPAY)) and not consent:
            raise rules.refuse("按季度交纳或预交须经党支部同意，请确认已经支部同意", rule="dues.consent",
                               article=rules.ART_QUARTERLY, field="consent")
        years = {add_months(first_month, i).year for i in range(months)}
        assessments = {a.year: a for a in DuesAssessment.unscoped.filter(member=member, year__in=years)}
        for i in range(months):
            m = add_months(first_month, i)
            a = assessments.get(m.year)
            if a is None:
                raise ValidationFailed("年度党费尚未核定", fields={"first_month": [f"所属月份：{m.year} 年度党费尚未核定，请先核定"]})
            if m.month < a.first_month:
                raise ValidationFailed("不在交纳月份内", fields={"first_month": [
                    f"所属月份：{m.year} 年度自 {a.first_month} 月起交纳，{month_label(m)}无需交纳"]})
            payments.append(DuesPayment(member=member, organization=member.organization, org_path=member.org_path,
                                        assessment=a, kind=PaymentKind.DUE, month=m, amount_fen=a.monthly_fen,
                                        method=method, proxy_name=proxy_name.strip(), paid_on=paid_on,
                                        collected_by=actor_user(actor), note=note.strip()[:200]))
    if voluntary_fen > 0:
        payments.append(DuesPayment(member=member, organization=member.organization, org_path=member.org_path,
                                    kind=PaymentKind.VOLUNTARY, month=month_start(paid_on), amount_fen=voluntary_fen,
                                    method=method, proxy_name=proxy_name.strip(), paid_on=paid_on,
                                    collected_by=actor_user(actor), note=note.strip()[:200]))
    try:
        with transaction.atomic():
            DuesPayment.unscoped.bulk_create(payments)
    except IntegrityError:  # a concurrent recording of the same month won the race
        raise ValidationFailed("该月党费已交纳", fields={"first_month": ["所属月份：该月党费已交纳，不能重复登记"]}) from None
    tally_dues((p.org_path, payment_contribution(p.kind, p.month, p.amount_fen), +1) for p in payments)
    due = [p for p in payments if p.kind == PaymentKind.DUE]
    if due:
        _paid_up_to_set(account, due[-1].month)
    log_action(actor=actor, action="dues.payment.recorded", target=member, changes={
        "months": [p.month.strftime("%Y-%m") for p in due], "amount": yuan(sum(p.amount_fen for p in due)),
        "voluntary": yuan(voluntary_fen), "method": method, "proxy_name": proxy_name.strip(),
        "paid_on": paid_on.isoformat(),
        **({"to_centre": True} if voluntary_fen >= cfg["centre_voluntary_fen"] else {}),
    })
    return payments


def _superior(member: Member):
    org = member.organization
    return org.parent if org.parent_id else org


@transaction.atomic
def reduction_request(*, actor, assessment: DuesAssessment, monthly_fen: int, reason: str) -> DuesReduction:
    """The branch asks the next higher 党委 to let a member in hardship pay less (or nothing)."""
    assessment = (DuesAssessment.unscoped.select_for_update(of=("self",)).select_related("member__organization")
                  .get(pk=assessment.pk))
    member = assessment.member
    require(actor, "member.manage", member.organization)
    errors = {}
    if monthly_fen < 0:
        errors["monthly_fen"] = ["申请月交纳额：不能为负数"]
    elif monthly_fen >= assessment.standard_fen:
        errors["monthly_fen"] = [f"申请月交纳额：应低于按标准计算的 {yuan(assessment.standard_fen)} 元（免交填 0）"]
    if not (reason or "").strip():
        errors["reason"] = ["困难情况：请说明党员的困难情况"]
    if errors:
        raise ValidationFailed("减免申请有误", fields=errors)
    if DuesReduction.unscoped.filter(assessment=assessment, status=ReductionStatus.REQUESTED).exists():
        raise Conflict("该党员本年度已有待审批的减免申请。", fields={"monthly_fen": ["申请月交纳额：已有待审批的申请"]})
    reduction = DuesReduction.unscoped.create(assessment=assessment, member=member, monthly_fen=monthly_fen,
                                              reason=reason.strip()[:500], requested_by=actor_user(actor))
    log_action(actor=actor, action="dues.reduction.requested", target=reduction, changes={
        "member": member.name, "year": assessment.year, "monthly": yuan(monthly_fen),
        "standard": yuan(assessment.standard_fen)})
    return reduction


def _decide(*, actor, reduction: DuesReduction, action: str, note: str) -> DuesReduction:
    # of=("self",): the parent organisation is the nullable side of an outer join, which PostgreSQL refuses
    # to lock; and only the reduction row needs the lock (the assessment is locked below).
    reduction = DuesReduction.unscoped.select_for_update(of=("self",)).select_related(
        "member__organization__parent", "assessment").get(pk=reduction.pk)
    # 经党支部研究、报上一级党委批准: a grant on the branch itself is not enough.
    require(actor, "member.manage", _superior(reduction.member))
    reduction.status = workflow.check(action, reduction.status)
    reduction.decided_by = actor_user(actor)
    reduction.decided_at = timezone.now()
    reduction.decision_note = (note or "").strip()[:500]
    reduction.save()
    changes = {"status": reduction.status, "note": reduction.decision_note}
    if reduction.status == ReductionStatus.APPROVED:
        a = DuesAssessment.unscoped.select_for_update().get(pk=reduction.assessment_id)
        changes["monthly"] = [yuan(a.monthly_fen), yuan(reduction.monthly_fen)]
        counted = _assessed(a)
        a.monthly_fen = min(reduction.monthly_fen, a.standard_fen)
        a.save(update_fields=["monthly_fen", "updated_at"])
        _retally(a.org_path, counted, _assessed(a))
    log_action(actor=actor, action=f"dues.reduction.{reduction.status}", target=reduction, changes=changes)
    return reduction


@transaction.atomic
def reduction_approve(*, actor, reduction: DuesReduction, note: str = "") -> DuesReduction:
    return _decide(actor=actor, reduction=reduction, action="approve", note=note)


@transaction.atomic
def reduction_reject(*, actor, reduction: DuesReduction, note: str) -> DuesReduction:
    if not (note or "").strip():
        raise ValidationFailed("请填写审批意见", fields={"note": ["审批意见：驳回申请须说明理由"]})
    return _decide(actor=actor, reduction=reduction, action="reject", note=note)
