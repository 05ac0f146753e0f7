"""/api/v1/transfers: the transfers visible to the caller (either side, or one's own), each transition as a
POST, the statistics and the member's own progress. Errors in the one shape; outside the scope 404."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api.errors import invalid
from dangjian.api.schemas import Error, Id, Input, Page, PageQuery, paginate
from dangjian.core.errors import NotFound, ValidationFailed
from dangjian.core.permissions import require_somewhere
from dangjian.members.api import MemberFields
from dangjian.members.forms import MemberForm, form_errors
from dangjian.members.selectors import access_member
from dangjian.orgs.models import Organization
from dangjian.orgs.selectors import access_organization

from . import rules, selectors, services
from .models import TransferKind, TransferStatus

router = Router(tags=["组织关系转接"])
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
Text = Annotated[str, StringConstraints(max_length=200)]


class EventOut(Schema):
    on: date
    action: str
    from_status: str
    to_status: str
    actor_label: str
    note: str


def _private(obj, context) -> bool:
    """The free text (转接原因, 退回原因, notes) only for the member, the sending side or after acceptance."""
    if getattr(obj, "private", None) is None:
        obj.private = selectors.is_private(actor=context["request"].user, t=obj)
    return obj.private


class TransferOut(Schema):
    """What either side may see: the transfer's own snapshot, never the member record; the free text only
    when `private` (selectors.is_private)."""

    id: int
    kind: str
    status: str
    person_name: str
    id_number_masked: str
    from_name: str
    to_name: str
    holder: str
    dues_paid_up_to: date | None
    letter_number: str
    letter_issued_on: date | None
    valid_until: date | None
    submitted_on: date | None
    approved_on: date | None
    accepted_on: date | None
    placed_on: date | None
    closed_on: date | None
    private: bool
    reason: str
    return_reason: str

    @staticmethod
    def resolve_private(obj, context):
        return _private(obj, context)

    @staticmethod
    def resolve_reason(obj, context):
        return obj.reason if _private(obj, context) else ""

    @staticmethod
    def resolve_return_reason(obj, context):
        return obj.return_reason if _private(obj, context) else ""

    @staticmethod
    def resolve_holder(obj, context):
        return selectors.holder(obj, private=_private(obj, context))


class TransferDetailOut(TransferOut):
    events: list[EventOut]
    actions: list[str]

    @staticmethod
    def resolve_events(obj, context):
        if _private(obj, context):
            return obj.timeline
        return [EventOut(on=e.on, action=e.action, from_status=e.from_status, to_status=e.to_status,
                         actor_label=e.actor_label, note="") for e in obj.timeline]

    @staticmethod
    def resolve_actions(obj):
        return obj.allowed_actions


class TransferQuery(PageQuery):
    status: TransferStatus | None = None


class TransferIn(Input):
    member: Id
    kind: Literal["within", "out", "temporary"]
    to_org: Id | None = None
    to_external: Text = ""
    reason: Text = ""


class IncomingMemberIn(MemberFields):
    """The member's particulars when accepting a letter from outside the district (the page's 党员信息 form);
    the organisation is the transfer's receiving one."""


class ActionIn(Input):
    valid_days: int | None = None
    reason: Text = ""
    branch: Id | None = None
    member: IncomingMemberIn | None = None  # accept of a transfer into the district (区外转入)


class TransferStatsOut(Schema):
    out: int
    into: int
    within: int
    completed: int
    median_days: float | None
    pending: int
    pending_by_age: dict[str, int]


def _detail(request, t):
    t.timeline = list(selectors.transfer_events(transfer=t))
    t.allowed_actions = selectors.actions_for(actor=request.user, t=t)
    return t


@router.get("", response={200: Page[TransferOut], **ERRORS}, summary="组织关系转接列表")
def transfer_list(request, q: Query[TransferQuery]):
    require_somewhere(request.user, "member.view")
    return paginate(selectors.transfer_list(status=q.status or ""), q)


@router.get("/my", response={200: list[TransferDetailOut], **ERRORS}, summary="我的组织关系转接（转接进程）")
def my_transfers(request):
    member = getattr(request.user, "member", None)
    if member is None:
        raise NotFound("您的账号尚未关联党员档案，请联系所在党支部。")
    rows = list(selectors.my_transfers(member_id=member.pk))
    for t in rows:
        t.timeline = sorted(t.events.all(), key=lambda e: (e.at, e.pk))
        t.allowed_actions = selectors.actions_for(actor=request.user, t=t)
    return rows


@router.get("/statistics", response={200: TransferStatsOut, **ERRORS}, summary="组织关系转接统计")
def transfer_statistics(request, start: date, end: date, org: Id | None = None):
    require_somewhere(request.user, "member.view")
    if end < start:
        raise ValidationFailed("统计期间有误", fields={"end": ["截止日期：不能早于起始日期"]})
    o = access_organization(actor=request.user, org_id=org) if org else None
    return selectors.transfer_statistics(org=o, start=start, end=end, on=timezone.localdate()).__dict__


def _destination(org_id):
    if org_id is None:
        return None
    org = selectors.destination_choices().filter(pk=org_id).first()
    if org is None:
        raise ValidationFailed("转入党组织不存在", fields={"to_org": ["转入党组织：没有这个党组织或已撤销"]})
    return org


@router.post("", response={201: TransferDetailOut, **ERRORS}, summary="发起组织关系转接（草稿）")
def transfer_create(request, payload: TransferIn):
    member = access_member(actor=request.user, member_id=payload.member)
    to_org = _destination(payload.to_org) if payload.kind == "within" else None
    if payload.kind == "within" and to_org is None:
        raise ValidationFailed("请选择转入党组织", fields={"to_org": ["转入党组织：请选择转入的党组织"]})
    t = services.transfer_create(actor=request.user, member=member, kind=payload.kind, to_org=to_org,
                                 to_external=payload.to_external, reason=payload.reason)
    return Status(201, _detail(request, selectors.access_transfer(actor=request.user, transfer_id=t.pk)))


class IncomingIn(Input):
    to_org: Id
    person_name: Annotated[str, StringConstraints(max_length=50)]
    id_number: Annotated[str, StringConstraints(max_length=20)]
    from_external: Annotated[str, StringConstraints(max_length=100)]
    letter_number: Annotated[str, StringConstraints(max_length=60)]
    valid_until: date
    dues_paid_up_to: date | None = None


@router.post("/incoming", response={201: TransferDetailOut, **ERRORS}, summary="登记区外转入介绍信")
def transfer_incoming(request, payload: IncomingIn):
    # As the page: 403 before anything for those who never may. Otherwise the service's refusal, which names
    # the receiving 党委, would tell any token holder which 党委 handles an organisation id.
    require_somewhere(request.user, rules.config()["committee_capability"])
    data = payload.dict()
    to_org = _destination(data.pop("to_org"))
    t = services.transfer_register_incoming(actor=request.user, to_org=to_org, **data)
    return Status(201, _detail(request, selectors.access_transfer(actor=request.user, transfer_id=t.pk)))


class WholeUnitIn(Input):
    unit: Id
    to_parent: Id
    reason: Text = ""


@router.post("/whole-unit", response={201: TransferDetailOut, **ERRORS}, summary="整建制转接")
def transfer_whole_unit(request, payload: WholeUnitIn):
    require_somewhere(request.user, rules.config()["committee_capability"])  # as the page, and for the same reason
    unit = access_organization(actor=request.user, org_id=payload.unit)
    to_parent = selectors.destination_choices().filter(pk=payload.to_parent).first()
    if to_parent is None:
        raise ValidationFailed("接收党组织不存在", fields={"to_parent": ["接收党组织：没有这个党组织或已撤销"]})
    t = services.transfer_whole_unit(actor=request.user, unit=unit, to_parent=to_parent, reason=payload.reason)
    return Status(201, _detail(request, selectors.access_transfer(actor=request.user, transfer_id=t.pk)))


class MobileOut(Schema):
    id: int
    member_id: int
    name: str
    left_on: date
    destination: str
    contact: str
    card_number: str
    last_contact_on: date
    last_report_on: date | None
    lost_contact: bool
    report_due: bool

    @staticmethod
    def resolve_name(obj):
        return obj.member.name

    @staticmethod
    def resolve_contact(obj):
        return obj.contact_masked  # phone numbers masked (DOMAIN-RULES §7.3); in full: POST …/reveal

    @staticmethod
    def resolve_lost_contact(obj):
        return selectors.is_lost(obj, timezone.localdate())

    @staticmethod
    def resolve_report_due(obj):
        return selectors.report_due(obj, timezone.localdate())


class MobileIn(Input):
    member: Id
    left_on: date
    destination: Annotated[str, StringConstraints(max_length=100)]
    contact: Annotated[str, StringConstraints(max_length=100)]
    card_number: Annotated[str, StringConstraints(max_length=40)] = ""


class ContactIn(Input):
    report: bool = False


@router.get("/mobile", response={200: Page[MobileOut], **ERRORS}, summary="流动党员")
def mobile_list(request, q: Query[PageQuery]):
    require_somewhere(request.user, "member.view")
    return paginate(selectors.mobile_list(), q)


@router.post("/mobile", response={201: MobileOut, **ERRORS}, summary="登记流动党员")
def mobile_register(request, payload: MobileIn):
    member = access_member(actor=request.user, member_id=payload.member, for_write=True)
    data = payload.dict()
    data.pop("member")
    return Status(201, services.mobile_register(actor=request.user, member=member, **data))


@router.post("/mobile/{id}/contact", response={200: MobileOut, **ERRORS}, summary="记录流动党员联系或年度报到")
def mobile_contact(request, id: Id, payload: ContactIn):
    from dangjian.core.permissions import load_one

    from .models import MobileMember

    mobile = load_one(MobileMember.objects.select_related("member__organization"), id)
    return services.mobile_contact(actor=request.user, mobile=mobile, report=payload.report)


def _incoming_member(t, payload: IncomingMemberIn | None) -> dict | None:
    """Validated member data for accepting a letter from outside the district (None: the service refuses,
    naming the field). Validated by the same MemberForm as the page, in the receiving organisation."""
    if t.kind != TransferKind.IN or payload is None:
        return None
    data = payload.model_dump() | {"organization": t.to_org_id}
    form = MemberForm(data=data, organizations=Organization.unscoped.filter(pk=t.to_org_id))
    if not form.is_valid():
        raise invalid(form_errors(form))
    return form.cleaned_data


class ContactRevealOut(Schema):
    contact: str


@router.post("/mobile/{id}/reveal", response={200: ContactRevealOut, **ERRORS}, summary="查看流动党员完整联系方式（留痕）")
def mobile_reveal(request, id: Id, response: HttpResponse):
    from dangjian.core.permissions import load_one

    from .models import MobileMember

    mobile = load_one(MobileMember.objects.select_related("member__organization"), id)
    value = services.mobile_contact_reveal(actor=request.user, mobile=mobile)
    response["Cache-Control"] = "no-store"
    return {"contact": value}


class EndIn(Input):
    reason: Text = ""


@router.post("/mobile/{id}/end", response={200: MobileOut, **ERRORS}, summary="结束流动党员管理（记录保留）")
def mobile_end(request, id: Id, payload: EndIn):
    from dangjian.core.permissions import load_one

    from .models import MobileMember

    mobile = load_one(MobileMember.objects.select_related("member__organization"), id)
    return services.mobile_end(actor=request.user, mobile=mobile, reason=payload.reason)


Action = Literal["submit", "approve", "return", "withdraw", "accept", "place", "close", "reissue"]


@router.post("/{id}/{action}", response={200: TransferDetailOut, **ERRORS}, summary="办理一步（提交、审批、接收……）")
def transfer_act(request, id: Id, action: Action, payload: ActionIn):
    t = selectors.access_transfer(actor=request.user, transfer_id=id)
    p = payload
    u = request.user
    if action == "approve":
        services.transfer_approve(actor=u, transfer=t, valid_days=p.valid_days)
    elif action == "reissue":
        services.transfer_reissue(actor=u, transfer=t, valid_days=p.valid_days)
    elif action == "return":
        services.transfer_return(actor=u, transfer=t, reason=p.reason)
    elif action == "place":
        branch = Organization.unscoped.filter(pk=p.branch).first() if p.branch else None
        services.transfer_place(actor=u, transfer=t, branch=branch)
    elif action == "accept":
        services.transfer_accept(actor=u, transfer=t, member_data=_incoming_member(t, p.member))
    elif action == "submit":
        services.transfer_submit(actor=u, transfer=t)
    elif action == "withdraw":
        services.transfer_withdraw(actor=u, transfer=t, reason=p.reason)
    else:
        services.transfer_close(actor=u, transfer=t)
    return _detail(request, selectors.access_transfer(actor=request.user, transfer_id=id))


# Paths with an id come last: Django tries URL patterns in order, so /incoming is never read as an id.
@router.get("/{id}", response={200: TransferDetailOut, **ERRORS}, summary="组织关系转接详情")
def transfer_detail(request, id: Id):
    return _detail(request, selectors.access_transfer(actor=request.user, transfer_id=id))
