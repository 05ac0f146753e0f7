"""/api/v1/bases: the sites in the caller's scope, a base's slots with free places, booking, the reservation
workflow and the usage statistics. Endpoints parse, load through the scoped (or public) selectors and call
one service. The public GeoJSON is a page, not an API endpoint: /bases/map.geojson needs no token."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api.schemas import Error, Id, Input, Page, PageQuery, paginate
from dangjian.core.errors import NotFound, ValidationFailed
from dangjian.core.permissions import load_one, require_somewhere
from dangjian.orgs.selectors import access_organization

from . import selectors, services
from .models import BaseCategory, ReservationStatus, SiteKind, Slot

router = Router(tags=["党建阵地与预约"])

ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
Short = Annotated[str, StringConstraints(max_length=100)]
Phone = Annotated[str, StringConstraints(max_length=30)]
People = Annotated[int, Field(ge=1, le=100000)]


class SiteOut(Schema):
    id: int
    organization_id: int
    name: str
    kind: str
    category: str
    address: str
    street: str
    longitude: float | None
    latitude: float | None
    opens_at: time
    closes_at: time
    open_weekdays: str
    capacity: int
    services: list[str]
    requires_approval: bool
    is_published: bool

    @staticmethod
    def resolve_services(obj):
        return obj.service_list


class SlotOut(Schema):
    id: int
    date: date
    starts_at: time
    ends_at: time
    capacity: int
    free: int


class ReservationOut(Schema):
    id: int
    site_id: int
    site: str
    slot_id: int
    date: date
    starts_at: time
    branch_id: int
    branch: str
    people: int
    purpose: str
    status: str
    offer_expires_at: datetime | None
    attended: int | None
    meeting_id: int | None

    @staticmethod
    def resolve_site(obj):
        return obj.site.name

    @staticmethod
    def resolve_branch(obj):
        return obj.branch.name

    @staticmethod
    def resolve_date(obj):
        return obj.slot.date

    @staticmethod
    def resolve_starts_at(obj):
        return obj.slot.starts_at


class SiteQuery(PageQuery):
    kind: Literal[tuple(SiteKind.values)] | None = None


class ReservationQuery(PageQuery):
    site: Id | None = None
    status: Literal[tuple(ReservationStatus.values)] | None = None


class BookingIn(Input):
    branch: Id
    people: People
    purpose: Short
    contact_name: Annotated[str, StringConstraints(max_length=50)]
    contact_phone: Phone
    waitlist: bool = False


class ReasonIn(Input):
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class CheckInIn(Input):
    attended: Annotated[int, Field(ge=0, le=100000)]


class UsageQuery(Schema):
    org: Id
    first: date
    last: date


class SiteIn(Input):
    organization: Id
    name: Short
    kind: Literal[tuple(SiteKind.values)]
    category: Literal[("", *BaseCategory.values)] = ""
    address: Annotated[str, StringConstraints(max_length=200)]
    street: Annotated[str, StringConstraints(max_length=50)] = ""
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    opens_at: time
    closes_at: time
    open_weekdays: Annotated[str, StringConstraints(max_length=7)] = "01234"
    hours_note: Annotated[str, StringConstraints(max_length=200)] = ""
    contact_name: Annotated[str, StringConstraints(max_length=50)] = ""
    contact_phone: Phone = ""
    contact_public: bool = False
    capacity: People
    services: list[Short] = []
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    requires_approval: bool = True
    is_published: bool = True


class SitePatch(Input):
    name: Short | None = None
    category: Literal[("", *BaseCategory.values)] | None = None
    address: Annotated[str, StringConstraints(max_length=200)] | None = None
    street: Annotated[str, StringConstraints(max_length=50)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    opens_at: time | None = None
    closes_at: time | None = None
    open_weekdays: Annotated[str, StringConstraints(max_length=7)] | None = None
    hours_note: Annotated[str, StringConstraints(max_length=200)] | None = None
    contact_name: Annotated[str, StringConstraints(max_length=50)] | None = None
    contact_phone: Phone | None = None
    contact_public: bool | None = None
    capacity: People | None = None
    services: list[Short] | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None
    requires_approval: bool | None = None
    is_published: bool | None = None


class SlotsIn(Input):
    first: date
    last: date
    times: Annotated[str, StringConstraints(max_length=200)]  # "09:00-11:00, 14:00-16:00"
    capacity: People | None = None


def _site_data(data: dict) -> dict:
    if isinstance(data.get("services"), list):
        data["services"] = "\n".join(data["services"])
    return data



@router.get("/sites", response={200: Page[SiteOut], **ERRORS}, summary="本范围内的党建阵地")
def site_list(request, q: Query[SiteQuery]):
    require_somewhere(request.user, "member.view")
    return paginate(selectors.site_list(kind=q.kind or ""), q)


@router.post("/sites", response={201: SiteOut, **ERRORS}, summary="新增党建阵地")
def site_create(request, payload: SiteIn):
    require_somewhere(request.user, "org.manage")
    data = _site_data(payload.model_dump())
    try:
        org = access_organization(actor=request.user, org_id=data.pop("organization"))
    except NotFound:
        raise NotFound(fields={"organization": ["管理组织：未找到该组织，或您无权查看"]}) from None
    return Status(201, services.site_create(actor=request.user, organization=org, data=data))


@router.patch("/sites/{id}", response={200: SiteOut, **ERRORS}, summary="修改党建阵地（只改所给字段）")
def site_update(request, id: Id, payload: SitePatch):
    site = selectors.access_site(actor=request.user, site_id=id, for_write=True)
    data = _site_data(payload.model_dump(exclude_unset=True))
    return services.site_update(actor=request.user, site=site, data=data)


@router.post("/sites/{id}/slots", response={201: dict, **ERRORS}, summary="开放预约时段")
def slots_create(request, id: Id, payload: SlotsIn):
    site = selectors.access_site(actor=request.user, site_id=id)
    created = services.slots_create(actor=request.user, site=site, first=payload.first, last=payload.last,
                                    times=services.parse_times(payload.times), capacity=payload.capacity)
    return Status(201, {"created": created})


class CloseIn(Input):
    reason: Annotated[str, StringConstraints(max_length=200)]


@router.post("/slots/{id}/close", response={200: dict, **ERRORS}, summary="关闭预约时段")
def slot_close(request, id: Id, payload: CloseIn):
    slot = load_one(Slot.objects.select_related("site", "site__organization"), id, actor=request.user,
                    capability="member.manage", org_of=lambda s: s.site.organization)
    slot = services.slot_close(actor=request.user, slot=slot, reason=payload.reason)
    return {"id": slot.pk, "is_closed": slot.is_closed, "closed_reason": slot.closed_reason}


@router.get("/sites/{id}/slots", response={200: list[SlotOut], **ERRORS}, summary="基地可预约时段（含剩余名额）")
def site_slots(request, id: Id):
    site = selectors.public_site_get(site_id=id)
    return [{"id": f.slot.pk, "date": f.slot.date, "starts_at": f.slot.starts_at, "ends_at": f.slot.ends_at,
             "capacity": f.slot.capacity, "free": f.free} for f in selectors.free_slots(site=site)]


@router.post("/slots/{id}/reservations", response={201: ReservationOut, **ERRORS}, summary="预约基地（或登记候补）")
def book(request, id: Id, payload: BookingIn):
    require_somewhere(request.user, "member.manage")
    slot = selectors.public_slot_get(slot_id=id)
    data = payload.model_dump()
    try:
        branch = access_organization(actor=request.user, org_id=data.pop("branch"))
    except NotFound:
        raise NotFound(fields={"branch": ["预约党组织：未找到该组织，或您无权查看"]}) from None
    r = services.reservation_book(actor=request.user, slot=slot, branch=branch, **data)
    return Status(201, selectors.access_reservation(reservation_id=r.pk))


@router.get("/reservations", response={200: Page[ReservationOut], **ERRORS}, summary="本范围内的预约")
def reservation_list(request, q: Query[ReservationQuery]):
    require_somewhere(request.user, "member.view")
    site = selectors.access_site(actor=request.user, site_id=q.site) if q.site else None
    return paginate(selectors.reservation_list(site=site, status=q.status or ""), q)


@router.get("/reservations/{id}", response={200: ReservationOut, **ERRORS}, summary="预约详情")
def reservation_detail(request, id: Id):
    return selectors.access_reservation(reservation_id=id)


def _transition(request, id: int, fn, **kw):
    r = selectors.access_reservation(reservation_id=id)
    fn(actor=request.user, reservation=r, **kw)
    return selectors.access_reservation(reservation_id=id)


@router.post("/reservations/{id}/approve", response={200: ReservationOut, **ERRORS}, summary="审核通过")
def approve(request, id: Id):
    return _transition(request, id, services.reservation_approve)


@router.post("/reservations/{id}/reject", response={200: ReservationOut, **ERRORS}, summary="退回预约")
def reject(request, id: Id, payload: ReasonIn):
    return _transition(request, id, services.reservation_reject, reason=payload.reason)


@router.post("/reservations/{id}/cancel", response={200: ReservationOut, **ERRORS}, summary="取消预约或放弃候补")
def cancel(request, id: Id, payload: ReasonIn):
    return _transition(request, id, services.reservation_cancel, reason=payload.reason)


@router.post("/reservations/{id}/accept", response={200: ReservationOut, **ERRORS}, summary="接受候补名额")
def accept(request, id: Id):
    return _transition(request, id, services.reservation_accept)


@router.post("/reservations/{id}/check-in", response={200: ReservationOut, **ERRORS}, summary="签到（实到人数）")
def check_in(request, id: Id, payload: CheckInIn):
    return _transition(request, id, services.reservation_check_in, attended=payload.attended)


@router.post("/reservations/{id}/no-show", response={200: ReservationOut, **ERRORS}, summary="登记未到场")
def no_show(request, id: Id):
    return _transition(request, id, services.reservation_no_show)


@router.post("/reservations/{id}/meeting", response={201: dict, **ERRORS}, summary="由预约生成会议记录")
def to_meeting(request, id: Id):
    r = selectors.access_reservation(reservation_id=id)
    meeting = services.reservation_to_meeting(actor=request.user, reservation=r)
    return Status(201, {"meeting_id": meeting.pk})


@router.get("/statistics", response={200: dict, **ERRORS}, summary="基地使用统计")
def statistics(request, q: Query[UsageQuery]):
    require_somewhere(request.user, "member.view")
    if q.last < q.first:
        raise ValidationFailed("日期范围有误", fields={"last": ["结束日期：不能早于开始日期"]})
    try:
        org = access_organization(actor=request.user, org_id=q.org)
    except NotFound:
        raise NotFound(fields={"org": ["党组织：未找到该组织，或您无权查看"]}) from None
    if not request.user.has_capability("member.view", org.path):
        raise NotFound(fields={"org": ["党组织：未找到该组织，或您无权查看"]})
    report = selectors.base_usage(under=org, first=q.first, last=q.last)
    return {"first": q.first.isoformat(), "last": q.last.isoformat(), "received": report.received,
            "came": report.came, "people": report.people, "sentence": report.sentence,
            "bases": [{"id": r.site_id, "name": r.name, "received": r.received, "came": r.came, "people": r.people}
                      for r in report.rows]}
