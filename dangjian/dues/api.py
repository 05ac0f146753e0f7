"""/api/v1/dues: the member's own dues, a member's dues, a branch's roster, arrears, statistics, and the
writes (assessment, payment, reduction request and decision). Money is integer 分 in and out; months are
"YYYY-MM". Input is typed here; every rule is the services' business, so the API refuses as the pages do.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api.schemas import Error, Id, Input
from dangjian.core.errors import NotFound, PermissionDenied, ValidationFailed
from dangjian.core.permissions import require
from dangjian.members.selectors import access_member, own_member
from dangjian.orgs.models import Organization
from dangjian.orgs.selectors import access_organization, highest_organization

from . import rules, selectors, services
from .forms import parse_month
from .models import Method

router = Router(tags=["党费"])

ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$")]
Fen = Annotated[int, Field(ge=0, le=10**12)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Text = Annotated[str, StringConstraints(max_length=500)]


class AssessmentOut(Schema):
    id: int
    year: int
    category: str
    category_label: str
    dues_base_fen: int
    standard_fen: int
    monthly_fen: int
    rate: str
    first_month: int
    yearly_fen: int
    reduced: bool


class PaymentOut(Schema):
    id: int
    kind: str
    month: str
    amount_fen: int
    method: str
    proxy_name: str
    paid_on: dt.date


class MemberDuesOut(Schema):
    member_id: int
    name: str
    year: int
    assessment: AssessmentOut | None
    paid_up_to: str | None
    arrears_months: int
    arrears_level: str
    arrears_text: str
    months_due: int
    months_settled: int  # due months of the year up to 已交至
    months_paid: int  # months recorded on the platform this year
    paid_fen: int
    voluntary_fen: int
    payments: list[PaymentOut]


class RosterRowOut(Schema):
    member_id: int
    name: str
    organization: str
    assessment: AssessmentOut | None
    paid_up_to: str | None
    months_settled: int
    months_paid: int
    paid_fen: int
    voluntary_fen: int
    arrears_months: int
    arrears_level: str


class StatRowOut(Schema):
    organization_id: int | None
    organization: str
    assessed: int
    due_fen: int
    paid_fen: int
    voluntary_fen: int
    months_paid: int
    arrears: dict[str, int]  # "3" → members owing at least 3 months


class StatisticsOut(Schema):
    organization_id: int
    year: int
    from_month: int
    to_month: int
    on: dt.date
    total: StatRowOut
    rows: list[StatRowOut]


class ArrearsOut(Schema):
    member_id: int
    name: str
    organization: str
    paid_up_to: str
    arrears_months: int
    arrears_level: str


class AssessmentIn(Input):
    year: Year
    category: rules.Category
    dues_base_fen: Fen | None = None
    first_month: Annotated[int, Field(ge=1, le=12)] | None = None
    paid_through: Month | None = None
    correction: bool = False
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class PaymentIn(Input):
    first_month: Month | None = None
    months: Annotated[int, Field(ge=0, le=12)] = 1
    method: Method
    proxy_name: Annotated[str, StringConstraints(max_length=50)] = ""
    consent: bool = False
    paid_on: dt.date
    voluntary_fen: Fen = 0
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class ReductionIn(Input):
    assessment: Id
    monthly_fen: Fen
    reason: Text


class DecisionIn(Input):
    decision: Literal["approve", "reject"]
    note: Text = ""


class ReductionOut(Schema):
    id: int
    member_id: int
    year: int
    monthly_fen: int
    status: str
    reason: str
    decision_note: str


def _month(value: str | None) -> str | None:
    return value.strftime("%Y-%m") if value else None


def _assessment(a) -> dict | None:
    if a is None:
        return None
    return {"id": a.pk, "year": a.year, "category": a.category, "category_label": a.get_category_display(),
            "dues_base_fen": a.dues_base_fen, "standard_fen": a.standard_fen, "monthly_fen": a.monthly_fen, "rate": a.rate_label,
            "first_month": a.first_month, "yearly_fen": a.yearly_fen, "reduced": a.is_reduced}


def _member_dues(d) -> dict:
    return {
        "member_id": d.member.pk, "name": d.member.name, "year": d.year, "assessment": _assessment(d.assessment),
        "paid_up_to": _month(d.paid_up_to), "arrears_months": d.arrears, "arrears_level": d.arrears_level,
        "arrears_text": d.arrears_text, "months_due": d.months_due, "months_settled": d.months_settled, "months_paid": d.months_paid,
        "paid_fen": d.paid_fen, "voluntary_fen": d.voluntary_fen,
        "payments": [{"id": p.pk, "kind": p.kind, "month": _month(p.month), "amount_fen": p.amount_fen,
                      "method": p.method, "proxy_name": p.proxy_name, "paid_on": p.paid_on} for p in d.payments],
    }


def _month_in(value: str | None, field: str, label: str) -> dt.date | None:
    if not value:
        return None
    try:
        return parse_month(value)
    except Exception:
        raise ValidationFailed(f"{label}格式不正确", fields={field: [f"{label}：应为年月，如 2026-11"]}) from None


def _org(request, org_id: int | None, capability: str = "member.view") -> Organization:
    if org_id is None:
        if not request.user.capability_paths(capability):
            raise PermissionDenied()
        org = highest_organization(actor=request.user, capability=capability)
        if org is None:
            raise NotFound()
    else:
        try:
            org = access_organization(actor=request.user, org_id=org_id)
        except NotFound:
            raise NotFound(fields={"org": ["党组织：未找到该组织，或您无权查看"]}) from None
    require(request.user, capability, org)
    return org


@router.get("/my", response={200: MemberDuesOut, **ERRORS}, summary="我的党费")
def my_dues(request, year: Year | None = None):
    member = own_member(actor=request.user)
    today = timezone.localdate()
    return _member_dues(selectors.member_dues(member=member, year=year or today.year, on=today))


@router.get("/members/{id}", response={200: MemberDuesOut, **ERRORS}, summary="党员的党费")
def member_dues(request, id: Id, year: Year | None = None):
    member = access_member(actor=request.user, member_id=id)
    require(request.user, "member.view", member.organization)
    today = timezone.localdate()
    return _member_dues(selectors.member_dues(member=member, year=year or today.year, on=today))


@router.post("/members/{id}/assessments", response={201: AssessmentOut, **ERRORS}, summary="核定年度党费")
def assessment_set(request, id: Id, payload: AssessmentIn):
    member = access_member(actor=request.user, member_id=id, for_write=True)
    data = payload.model_dump()
    data["paid_through"] = _month_in(data["paid_through"], "paid_through", "此前已交至")
    return Status(201, _assessment(services.assessment_set(actor=request.user, member=member, **data)))


@router.post("/members/{id}/payments", response={201: list[PaymentOut], **ERRORS}, summary="登记党费交纳")
def payment_record(request, id: Id, payload: PaymentIn):
    member = access_member(actor=request.user, member_id=id, for_write=True)
    data = payload.model_dump()
    data["first_month"] = _month_in(data["first_month"], "first_month", "所属月份")
    rows = services.payment_record(actor=request.user, member=member, **data)
    return Status(201, [{"id": p.pk, "kind": p.kind, "month": _month(p.month), "amount_fen": p.amount_fen,
                         "method": p.method, "proxy_name": p.proxy_name, "paid_on": p.paid_on} for p in rows])


@router.get("/organizations/{id}/roster", response={200: list[RosterRowOut], **ERRORS}, summary="党支部党费名册")
def roster(request, id: Id, year: Year | None = None):
    org = _org(request, id)
    today = timezone.localdate()
    return [{"member_id": r.member.pk, "name": r.member.name, "organization": r.member.organization.name,
             "assessment": _assessment(r.assessment), "paid_up_to": _month(r.paid_up_to), "months_settled": r.months_settled, "months_paid": r.months_paid,
             "paid_fen": r.paid_fen, "voluntary_fen": r.voluntary_fen, "arrears_months": r.arrears,
             "arrears_level": r.level}
            for r in selectors.dues_roster(org=org, year=year or today.year, on=today)]


class StatsQuery(Schema):
    org: Id | None = None
    year: Year | None = None
    from_month: Annotated[int, Field(ge=1, le=12)] = 1
    to_month: Annotated[int, Field(ge=1, le=12)] = 12


def _stat_row(r) -> dict:
    return {"organization_id": r.org.pk if r.org else None, "organization": r.org.name if r.org else "本级",
            "assessed": r.assessed, "due_fen": r.due_fen, "paid_fen": r.paid_fen, "voluntary_fen": r.voluntary_fen,
            "months_paid": r.months_paid, "arrears": {str(k): v for k, v in r.arrears.items()}}


@router.get("/statistics", response={200: StatisticsOut, **ERRORS}, summary="党费统计（应交、已交、欠交）")
def statistics(request, q: Query[StatsQuery]):
    org = _org(request, q.org)
    today = timezone.localdate()
    if q.to_month < q.from_month:
        raise ValidationFailed("月份范围有误", fields={"to_month": ["截止月份：不能早于起始月份"]})
    s = selectors.dues_statistics(org=org, year=q.year or today.year, from_month=q.from_month, to_month=q.to_month,
                                  on=today)
    return {"organization_id": org.pk, "year": s.year, "from_month": s.from_month, "to_month": s.to_month,
            "on": s.on, "total": _stat_row(s.total), "rows": [_stat_row(r) for r in s.rows]}


@router.get("/arrears", response={200: list[ArrearsOut], **ERRORS}, summary="欠交党费名单")
def arrears(request, org: Id | None = None, min_months: Annotated[int, Field(ge=1, le=24)] = 3,
            limit: Annotated[int, Field(ge=1, le=500)] = 100):
    o = _org(request, org)
    today = timezone.localdate()
    out = []
    for a in selectors.arrears_list(org=o, on=today, min_months=min_months)[:limit]:
        n = selectors.arrears_months(a.paid_up_to, today)
        out.append({"member_id": a.member_id, "name": a.member.name, "organization": a.member.organization.name,
                    "paid_up_to": _month(a.paid_up_to), "arrears_months": n, "arrears_level": rules.arrears_level(n)})
    return out


def _reduction(r) -> dict:
    return {"id": r.pk, "member_id": r.member_id, "year": r.assessment.year, "monthly_fen": r.monthly_fen,
            "status": r.status, "reason": r.reason, "decision_note": r.decision_note}


@router.post("/reductions", response={201: ReductionOut, **ERRORS}, summary="申请减免党费")
def reduction_request(request, payload: ReductionIn):
    assessment = selectors.access_assessment(actor=request.user, assessment_id=payload.assessment, for_write=True)
    r = services.reduction_request(actor=request.user, assessment=assessment, monthly_fen=payload.monthly_fen,
                                   reason=payload.reason)
    return Status(201, _reduction(r))


@router.post("/reductions/{id}/decision", response={200: ReductionOut, **ERRORS}, summary="审批减免申请（上级党委）")
def reduction_decide(request, id: Id, payload: DecisionIn):
    r = selectors.access_reduction(actor=request.user, reduction_id=id)
    if payload.decision == "approve":
        r = services.reduction_approve(actor=request.user, reduction=r, note=payload.note)
    else:
        r = services.reduction_reject(actor=request.user, reduction=r, note=payload.note)
    return _reduction(r)
