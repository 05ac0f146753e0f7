"""/api/v1/meetings: meetings in the caller's scope, planning and notice, the record, the member's own
meetings and confirmation, and the compliance and statistics of a scope. Endpoints parse, load through the
scoped selectors and call one service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api.schemas import Error, Id, Input, Page, PageQuery, paginate
from dangjian.core.errors import NotFound, ValidationFailed
from dangjian.core.permissions import can, require_somewhere
from dangjian.orgs.selectors import access_organization, highest_organization

from . import selectors, services
from .models import MeetingKind, MeetingStatus

router = Router(tags=["组织生活"])

ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
Short = Annotated[str, StringConstraints(max_length=100)]
Long = Annotated[str, StringConstraints(max_length=50000)]
KindCode = Literal[tuple(MeetingKind.values)]
Votes = Annotated[int, Field(ge=0, le=100000)]


def _aware(value: datetime) -> datetime:
    """A time sent without a zone is Beijing time (ARCHITECTURE §9)."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class MeetingOut(Schema):
    id: int
    organization_id: int
    organization: str
    title: str
    kinds: list[str]
    starts_at: datetime
    place: str
    chair: str
    recorder: str
    agenda: str
    status: str
    held_on: date | None
    confirm_until: date | None
    content_hash: str
    version: int

    @staticmethod
    def resolve_organization(obj):
        return obj.organization.name

    @staticmethod
    def resolve_kinds(obj):
        return obj.kind_codes


class AttendanceOut(Schema):
    member_id: int
    member_name: str
    has_vote: bool
    present: bool | None
    absence_reason: str
    confirmed_at: datetime | None


class ResolutionOut(Schema):
    text: str
    admission: bool
    voters_expected: int
    voters_present: int
    yes: int
    no: int
    abstain: int
    passed: bool


class RecordOut(MeetingOut):
    minutes: str
    observers: list[str]
    attendances: list[AttendanceOut]
    resolutions: list[ResolutionOut]

    @staticmethod
    def resolve_observers(obj):
        return obj.observer_list

    @staticmethod
    def resolve_attendances(obj):
        return obj.loaded_record.attendances

    @staticmethod
    def resolve_resolutions(obj):
        return obj.loaded_record.resolutions


class MeetingQuery(PageQuery):
    org: Id | None = None
    status: MeetingStatus | None = None
    kind: MeetingKind | None = None


class MeetingIn(Input):
    organization: Id
    title: Short
    kinds: list[KindCode]
    starts_at: datetime
    place: Short
    agenda: Long = ""
    chair: Short = ""
    recorder: Short = ""


class AttendanceIn(Input):
    member_id: Id
    present: bool
    absence_reason: Short = ""


class ResolutionIn(Input):
    text: Annotated[str, StringConstraints(max_length=500)]
    admission: bool = False
    yes: Votes
    no: Votes
    abstain: Votes


class RecordIn(Input):
    held_at: datetime
    chair: Short
    recorder: Short
    observers: Annotated[str, StringConstraints(max_length=2000)] = ""
    minutes: Long
    attendance: list[AttendanceIn]
    resolutions: list[ResolutionIn] = []


class PeriodQuery(Schema):
    org: Id
    start: date
    end: date


class MyMeetingOut(Schema):
    meeting: MeetingOut
    present: bool | None
    confirmed_at: datetime | None


def _org(request, org_id: int):
    try:
        return access_organization(actor=request.user, org_id=org_id)
    except NotFound:
        raise NotFound(fields={"org": ["党组织：未找到该组织，或您无权查看"]}) from None


def _record(meeting):
    meeting.loaded_record = selectors.meeting_record(meeting=meeting)
    return meeting


@router.get("", response={200: Page[MeetingOut], **ERRORS}, summary="会议列表")
def meeting_list(request, filters: Query[MeetingQuery]):
    require_somewhere(request.user, "member.view")
    org = _org(request, filters.org) if filters.org else None
    f = selectors.MeetingFilters(org=org, status=filters.status or "", kind=filters.kind or "")
    return paginate(selectors.meeting_list(filters=f), filters)


@router.get("/mine", response={200: list[MyMeetingOut], **ERRORS}, summary="我的会议")
def my_meetings(request):
    return [{"meeting": a.meeting, "present": a.present, "confirmed_at": a.confirmed_at}
            for a in selectors.my_meetings(actor=request.user)[:100]]


@router.post("/mine/{id}/confirm", response={200: MyMeetingOut, **ERRORS}, summary="确认会议记录")
def my_confirm(request, id: Id):
    att = selectors.my_attendance(actor=request.user, meeting_id=id)
    att = services.meeting_confirm(actor=request.user, meeting=att.meeting)
    return {"meeting": att.meeting, "present": att.present, "confirmed_at": att.confirmed_at}


@router.get("/compliance", response={200: dict, **ERRORS}, summary="组织生活落实情况（红黄绿）")
def compliance(request, q: Query[PeriodQuery]):
    require_somewhere(request.user, "member.view")
    if q.end < q.start:
        raise ValidationFailed("日期范围有误", fields={"end": ["截止日期：不能早于起始日期"]})
    org = _org(request, q.org)
    table = selectors.compliance_table(org=org, start=q.start, end=q.end, today=timezone.localdate())
    inactive = selectors.inactive_members(org=org, on=min(q.end, timezone.localdate()))[:500]
    return {
        "start": q.start.isoformat(), "end": q.end.isoformat(),
        "rules": [{"kind": k, "label": label, "period": period, "article": article}
                  for k, label, period, article in table.kinds],
        "branches": [{"id": r.org.pk, "name": r.org.name, "cells": {
            k: None if c is None else {"status": c.status, "label": c.label, "due": c.due, "met": c.met, "held": c.held}
            for k, c in r.cells.items()}} for r in table.rows],
        "inactive_members": [{"id": m.pk, "name": m.name, "organization": m.organization.name,
                              "last_attended": m.last_attended.isoformat() if m.last_attended else None}
                             for m in inactive],
    }


class YearQuery(Schema):
    """The year's compliance of a large subtree: `org` defaults to the caller's own highest organisation;
    `after` is the `next_after` of the previous page (keyset paging by organisation path)."""

    org: Id | None = None
    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    after: Annotated[str, StringConstraints(max_length=255, pattern=r"^[0-9A-Z]*$")] = ""
    problems: bool = False
    limit: Annotated[int, Field(ge=1, le=200)] = selectors.PAGE_BRANCHES


def _cell(c):
    return None if c is None else {"status": c.status, "label": c.label, "due": c.due, "met": c.met, "held": c.held}


def _counts(c):
    return None if c is None else {"green": c.green, "amber": c.amber, "red": c.red, "none": c.none}


@router.get("/compliance/summary", response={200: dict, **ERRORS}, summary="组织生活落实情况：按下级组织汇总及支部分页")
def compliance_summary(request, q: Query[YearQuery]):
    require_somewhere(request.user, "member.view")
    org = highest_organization(actor=request.user) if q.org is None else _org(request, q.org)
    if org is None or not can(request.user, "member.view", org):  # the directory is wider than the data
        raise NotFound(fields={"org": ["党组织：未找到该组织，或您无权查看"]})
    today = timezone.localdate()
    year = q.year or today.year
    s = selectors.compliance_summary(org=org, year=year, today=today)
    page = selectors.compliance_page(org=org, year=year, today=today, after=q.after, problems_only=q.problems,
                                     size=q.limit)
    return {
        "organization": {"id": org.pk, "name": org.name}, "year": year, "months_over": s.months_over,
        "rules": [{"kind": k, "label": label, "period": period, "article": article}
                  for k, label, period, article in s.kinds],
        "children": [{"id": r.org.pk, "name": r.org.name, "branches": r.branches,
                      "cells": {k: _counts(c) for k, c in r.cells.items()}} for r in s.rows],
        "total": {"branches": s.total.branches, "cells": {k: _counts(c) for k, c in s.total.cells.items()}},
        "branches": [{"id": r.org.pk, "name": r.org.name, "cells": {k: _cell(c) for k, c in r.cells.items()}}
                     for r in page.rows],
        "next_after": page.next_after,
    }


@router.get("/statistics", response={200: dict, **ERRORS}, summary="组织生活统计")
def statistics(request, q: Query[PeriodQuery]):
    require_somewhere(request.user, "member.view")
    org = _org(request, q.org)
    s = selectors.meeting_statistics(org=org, start=q.start, end=q.end)
    r = selectors.review_summary(org=org, start=q.start, end=q.end)
    return {"meetings": s.meetings, "by_kind": {k: n for k, _, n in s.by_kind}, "should_attend": s.should_attend,
            "attended": s.attended, "attendance_rate": s.attendance_rate, "lectures": s.lectures,
            "lecture_participants": s.lecture_participants,
            "reviews": {"batches": r.batches, "branches": r.branches, "records": r.records, "sentence": r.sentence}}


@router.get("/{id}", response={200: RecordOut, **ERRORS}, summary="会议详情与记录")
def meeting_detail(request, id: Id):
    return _record(selectors.access_meeting(actor=request.user, meeting_id=id))


@router.post("", response={201: MeetingOut, **ERRORS}, summary="计划会议")
def meeting_create(request, payload: MeetingIn):
    require_somewhere(request.user, "member.manage")
    data = payload.model_dump()
    org = _org(request, data.pop("organization"))
    data["starts_at"] = _aware(data["starts_at"])
    return Status(201, services.meeting_plan(actor=request.user, organization=org, **data))


class NotifyIn(Input):
    """`{}`: every member of the organisation should attend; a committee or group meeting names its members."""

    member_ids: list[Id] | None = None


@router.post("/{id}/notify", response={200: MeetingOut, **ERRORS}, summary="发出会议通知（生成应到人员名单）")
def meeting_notify(request, id: Id, payload: NotifyIn):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=id, for_write=True)
    return services.meeting_notify(actor=request.user, meeting=meeting, member_ids=payload.member_ids)


@router.post("/{id}/record", response={200: RecordOut, **ERRORS}, summary="填写会议记录")
def meeting_record(request, id: Id, payload: RecordIn):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=id, for_write=True)
    services.meeting_record(
        actor=request.user, meeting=meeting, held_at=_aware(payload.held_at), chair=payload.chair, recorder=payload.recorder,
        observers=payload.observers, minutes=payload.minutes,
        attendance={a.member_id: (a.present, a.absence_reason) for a in payload.attendance},
        resolutions=[r.model_dump() for r in payload.resolutions])
    return _record(selectors.access_meeting(actor=request.user, meeting_id=id))
