"""/api/v1/recruitment: 发展党员全程纪实 over the API. The visible cases (filters, paged), one case with its
timeline, deadlines and the steps allowed now, opening a case (step 1), recording a step, the statistics of
a scope and period, and the person's own progress.

Endpoints parse, load through the scoped selectors (a case, a meeting or a member outside the scope is 404)
and call one service (ARCHITECTURE §4, §5). Every refusal comes in the one error shape with the field it is
about (§8); a rule's refusal adds `rule` and `article`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api import errors
from dangjian.api.schemas import Error, Id, Input, Page, PageQuery, paginate
from dangjian.core.errors import (
    NotFound,
)
from dangjian.core.permissions import require, require_somewhere
from dangjian.meetings.selectors import access_meeting
from dangjian.members.selectors import access_member
from dangjian.orgs.selectors import access_organization

from . import deadlines, selectors, services, workflow
from .models import Body, CaseStatus, ConsentMethod, Outcome, RecruitmentCase, Stage

router = Router(tags=["发展党员"])

ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
Short = Annotated[str, StringConstraints(max_length=100)]
Note = Annotated[str, StringConstraints(max_length=500)]
Votes = Annotated[int, Field(ge=0, le=100000)]
DetailValue = str | bool | int | float | None

# The Chinese names of this resource's fields, for the messages of ill-typed input (dangjian.api.errors): the
# same words as the service's own messages, so a field is named alike whichever layer refused it.
FIELD_LABELS = {
    "organization": "培养党组织", "applied_on": "递交申请日期", "name": "姓名", "id_number": "身份证号",
    "phone": "手机号码", "education": "学历", "occupation": "职业类别", "ethnicity": "民族",
    "work_unit": "工作或学习单位", "is_mobile_person": "流动人员", "note": "备注",
    "consent_method": "个人信息处理同意", "consent_on": "同意日期",
    "number": "步骤", "on": "日期", "body": "决定或办理主体", "outcome": "结果", "meeting_id": "会议",
    "meeting": "会议", "meeting_ref": "会议（文字记录）", "voters_expected": "应到会有表决权党员",
    "voters_present": "实到会有表决权党员", "written_opinions": "书面意见", "yes": "赞成", "no": "反对",
    "abstain": "弃权", "details": "其他事项", "people": "培养联系人或入党介绍人",
    "org": "党组织", "stage": "阶段", "status": "状态", "due_before": "期限截止日期", "q": "姓名",
    "start": "起始日期", "end": "截止日期", "id": "编号", "limit": "每页条数", "offset": "起始位置",
    **workflow.DETAIL_LABELS,
}
errors.LABELS.setdefault("recruitment", FIELD_LABELS)


# --- Output -----------------------------------------------------------------------------------------------

class Ref(Schema):
    id: int
    name: str


class Choice(Schema):
    code: str
    label: str


class StepRef(Schema):
    number: int
    label: str


def _choice(value: str, choices) -> dict:
    return {"code": value, "label": dict(choices.choices).get(value, value)}


def _step_ref(number: int | None) -> dict | None:
    step = workflow.STEPS.get(number) if number else None
    return {"number": step.number, "label": step.label} if step else None


class _CaseResolvers(Schema):
    """Stage, status and next step as the case list and the person's own view both show them."""

    @staticmethod
    def resolve_stage(obj):
        return _choice(obj.stage, Stage)

    @staticmethod
    def resolve_status(obj):
        return _choice(obj.status, CaseStatus)

    @staticmethod
    def resolve_next_step(obj):
        return _step_ref(obj.next_step)


class CaseOut(_CaseResolvers):
    """A case as lists show it: the person (ID number masked), where the case stands, its key dates and what
    is due next (`next_due_state`: red overdue, amber due soon, green later)."""

    id: int
    name: str
    id_number_masked: str
    organization: Ref
    stage: Choice
    status: Choice
    applied_on: date
    activist_on: date | None
    development_target_on: date | None
    admitted_on: date | None
    approved_on: date | None
    probation_ends_on: date | None
    converted_on: date | None
    ended_on: date | None
    next_step: StepRef | None
    next_due: date | None
    next_due_label: str
    next_due_state: Literal["red", "amber", "green"] | None

    @staticmethod
    def resolve_organization(obj):
        return {"id": obj.organization_id, "name": obj.organization.name}


    @staticmethod
    def resolve_next_due_state(obj):
        if obj.next_due is None:
            return None
        return deadlines.Due(obj.next_due_label, obj.next_due, obj.next_step or 0, "").state(timezone.localdate())


class PersonOut(Schema):
    role: Choice
    name: str


class StepOut(Schema):
    """One dated, attributed record of the timeline (`late`: the 超期 mark of a record made after its limit)."""

    id: int
    number: int
    label: str
    on: date
    body: Choice
    acting_org: Ref | None
    meeting_id: int | None
    meeting_ref: str
    outcome: Choice
    voters_expected: int | None
    voters_present: int | None
    written_opinions: int | None
    yes: int | None
    no: int | None
    abstain: int | None
    people: list[PersonOut]
    details: dict
    late: str
    note: str
    rule_version: str
    entered_by: str
    entered_at: datetime

    @staticmethod
    def resolve_label(obj):
        return workflow.STEPS[obj.number].label

    @staticmethod
    def resolve_body(obj):
        return _choice(obj.body, Body)

    @staticmethod
    def resolve_acting_org(obj):
        return {"id": obj.acting_org_id, "name": obj.acting_org.name} if obj.acting_org_id else None

    @staticmethod
    def resolve_outcome(obj):
        return _choice(obj.outcome, Outcome)

    @staticmethod
    def resolve_people(obj):
        return [{"role": {"code": p.role, "label": p.get_role_display()}, "name": p.name} for p in obj.people.all()]

    @staticmethod
    def resolve_details(obj):
        return {k: v for k, v in obj.details.items() if k != "late"}

    @staticmethod
    def resolve_late(obj):
        return obj.details.get("late", "")

    @staticmethod
    def resolve_entered_by(obj):
        return obj.entered_by_label


class DeadlineOut(Schema):
    label: str
    on: date
    state: Literal["red", "amber", "green"]
    article: str
    step: int


class DetailField(Schema):
    key: str
    label: str


class AllowedStepOut(Schema):
    """A step that may be recorded now, with what its form asks (the rules may still refuse a date)."""

    number: int
    label: str
    bodies: list[Choice]
    outcomes: list[Choice]
    vote: bool
    people: str
    details: list[DetailField]


class CaseDetailOut(CaseOut):
    gender: str
    birth_date: date
    phone_masked: str
    education: str
    occupation: str
    work_unit: str
    is_mobile_person: bool
    member_id: int | None
    extension_months: int
    end_reason: str
    consent_version: str
    consent_on: date | None
    consent_method: Choice | None
    anonymised_at: datetime | None
    steps: list[StepOut]
    deadlines: list[DeadlineOut]
    allowed_steps: list[AllowedStepOut]

    @staticmethod
    def resolve_consent_method(obj):
        return _choice(obj.consent_method, ConsentMethod) if obj.consent_method else None

    @staticmethod
    def resolve_steps(obj):
        return obj.timeline

    @staticmethod
    def resolve_deadlines(obj):
        today = timezone.localdate()
        return [{"label": d.label, "on": d.on, "state": d.state(today), "article": d.article, "step": d.step}
                for d in obj.due_items]

    @staticmethod
    def resolve_allowed_steps(obj):
        return [{"number": s.number, "label": s.label, "bodies": [_choice(b, Body) for b in s.bodies],
                 "outcomes": [_choice(o, Outcome) for o in s.outcomes], "vote": s.vote, "people": s.people,
                 "details": [{"key": k, "label": workflow.DETAIL_LABELS[k]} for k in s.details]}
                for s in obj.allowed]


class MyStepOut(Schema):
    number: int
    label: str
    on: date
    outcome: Choice


class MyCaseOut(_CaseResolvers):
    """The person's own progress: where they stand and what has been done, not the workers' notes."""

    id: int
    name: str
    organization: str
    stage: Choice
    status: Choice
    applied_on: date
    activist_on: date | None
    development_target_on: date | None
    admitted_on: date | None
    probation_ends_on: date | None
    converted_on: date | None
    next_step: StepRef | None
    next_due: date | None
    next_due_label: str
    steps: list[MyStepOut]

    @staticmethod
    def resolve_organization(obj):
        return obj.organization.name


    @staticmethod
    def resolve_steps(obj):
        return [{"number": s.number, "label": workflow.STEPS[s.number].label, "on": s.on,
                 "outcome": _choice(s.outcome, Outcome)} for s in obj.steps.all()]


class StatsOut(Schema):
    org: Ref | None
    start: date
    end: date
    applicants: int
    activists: int
    development_targets: int
    admitted: int
    converted: int
    women: int
    minorities: int
    young: int
    young_age: int
    college: int
    two_new: int
    front_line: int
    by_occupation: dict[str, int]
    sentence: str


# --- Input ------------------------------------------------------------------------------------------------

class CaseQuery(PageQuery):
    org: Id | None = None
    stage: Stage | None = None
    status: CaseStatus | None = None
    due_before: date | None = None
    q: Annotated[str, StringConstraints(max_length=50)] = ""


class CaseIn(Input):
    """Step 1, 递交入党申请书: the person and the 党组织 that received the application."""

    organization: Id
    applied_on: date
    name: Annotated[str, StringConstraints(max_length=50)]
    id_number: Annotated[str, StringConstraints(max_length=20)]
    phone: Annotated[str, StringConstraints(max_length=20)] = ""
    education: Annotated[str, StringConstraints(max_length=8)]
    occupation: Annotated[str, StringConstraints(max_length=16)]
    ethnicity: Annotated[str, StringConstraints(max_length=8)] = "01"
    work_unit: Short = ""
    is_mobile_person: bool = False
    # PIPL 第二十九条: the applicant's consent to the 告知书 in force (GET /recruitment/privacy-notice/ prints it);
    # without it the case is refused (422 naming `consent_method`). Optional here so the refusal says why.
    consent_method: Annotated[str, StringConstraints(max_length=8)] = ""
    consent_on: date | None = None
    note: Note = ""


class StepIn(Input):
    """One step's record. `people`: member ids of the mentors (step 5) or sponsors (step 9); `details`: what
    the step's form asks besides (see `allowed_steps[].details` of the case)."""

    number: Annotated[int, Field(ge=1, le=len(workflow.STEPS))]
    on: date
    body: Annotated[str, StringConstraints(max_length=20)] = ""
    outcome: Annotated[str, StringConstraints(max_length=16)] = Outcome.PASSED.value
    meeting_id: Id | None = None
    meeting_ref: Short = ""
    voters_expected: Votes | None = None
    voters_present: Votes | None = None
    written_opinions: Votes | None = None
    yes: Votes | None = None
    no: Votes | None = None
    abstain: Votes | None = None
    details: dict[Annotated[str, StringConstraints(max_length=40)], DetailValue] = {}
    people: Annotated[list[Id], Field(max_length=10)] = []
    note: Note = ""


# --- Helpers ----------------------------------------------------------------------------------------------

def _org(request, org_id: int, field: str, label: str):
    """An organisation named in the input, through the scope: outside it a 404 that names the field."""
    try:
        return access_organization(actor=request.user, org_id=org_id)
    except NotFound:
        raise NotFound(fields={field: [f"{label}：未找到该组织，或您无权查看"]}) from None


def _case_detail(request, case_id: int) -> RecruitmentCase:
    """A case through the scope with its timeline, deadlines and the steps allowed now. The workers' view, as
    the case page: a member whose own case is in their scope reads their progress at /my/cases (403 here)."""
    case = selectors.access_case(actor=request.user, case_id=case_id)
    require(request.user, "member.view", case.organization)
    case.timeline = list(selectors.case_steps(case=case))
    history = workflow.History.of(case.timeline)
    case.due_items = selectors.case_deadlines(case=case, history=history)
    case.allowed = workflow.allowed(case.status, history)
    return case


def _step_input(request, case: RecruitmentCase, p: StepIn) -> services.StepInput:
    """The typed input, with the meeting and the people loaded through the caller's scope."""
    step = workflow.STEPS[p.number]
    unknown = [k for k in p.details if k not in step.details]
    if unknown:
        asks = "、".join(f"{k}（{workflow.DETAIL_LABELS[k]}）" for k in step.details) or "无"
        raise errors.invalid({"details": [f"其他事项：第{step.number}步没有“{'、'.join(unknown)}”这一项（可填：{asks}）"]})
    meeting = None
    if p.meeting_id is not None:
        try:
            meeting = access_meeting(actor=request.user, meeting_id=p.meeting_id)
        except NotFound:
            raise NotFound(fields={"meeting_id": ["会议：未找到该会议，或您无权查看"]}) from None
    people = []
    for member_id in p.people:
        try:
            people.append(access_member(actor=request.user, member_id=member_id))
        except NotFound:
            raise NotFound(fields={"people": [f"培养联系人或入党介绍人：未找到编号为{member_id}的党员，或您无权查看"]}) from None
    return services.StepInput(
        number=p.number, on=p.on, body=p.body, outcome=p.outcome, meeting=meeting, meeting_ref=p.meeting_ref,
        voters_expected=p.voters_expected, voters_present=p.voters_present, written_opinions=p.written_opinions,
        yes=p.yes, no=p.no, abstain=p.abstain, details=dict(p.details), people=people, note=p.note)


# --- Endpoints --------------------------------------------------------------------------------------------

@router.get("/cases", response={200: Page[CaseOut], **ERRORS}, summary="发展党员档案列表")
def case_list(request, filters: Query[CaseQuery]):
    """Visible cases (every status unless `status` is given); with `due_before`, the open cases due by that
    day, earliest first."""
    require_somewhere(request.user, "member.view")
    org = _org(request, filters.org, "org", "党组织") if filters.org else None
    qs = selectors.case_list(org=org, status=filters.status or "", stage=filters.stage or "", q=filters.q,
                             due_before=filters.due_before)
    return paginate(qs, filters)


@router.post("/cases", response={201: CaseDetailOut, **ERRORS}, summary="建立发展党员档案（递交入党申请书）")
def case_create(request, payload: CaseIn):
    require_somewhere(request.user, "member.manage")  # 403 before anything else for those who never may
    org = _org(request, payload.organization, "organization", "培养党组织")
    data = payload.model_dump(exclude={"organization", "applied_on"})
    case = services.case_create(actor=request.user, organization=org, data=data, applied_on=payload.applied_on)
    return Status(201, _case_detail(request, case.pk))


@router.get("/cases/{id}", response={200: CaseDetailOut, **ERRORS}, summary="发展党员档案详情（纪实、期限、可办步骤）")
def case_detail(request, id: Id):
    return _case_detail(request, id)


@router.post("/cases/{id}/steps", response={201: CaseDetailOut, **ERRORS}, summary="记录一个发展党员步骤")
def step_record(request, id: Id, payload: StepIn):
    case = selectors.access_case(actor=request.user, case_id=id)
    data = _step_input(request, case, payload)
    services.step_record(actor=request.user, case=case, data=data)
    return Status(201, _case_detail(request, id))


@router.get("/statistics", response={200: StatsOut, **ERRORS}, summary="发展党员统计（述职报告用语）")
def statistics(request, start: date, end: date, org: Id | None = None):
    require_somewhere(request.user, "member.view")
    if end < start:
        raise errors.invalid({"end": ["截止日期：不能早于起始日期"]})
    o = _org(request, org, "org", "党组织") if org else None
    stats = selectors.recruitment_statistics(org=o, start=start, end=end)
    return {**stats.__dict__, "org": {"id": o.pk, "name": o.name} if o else None, "start": start, "end": end,
            "sentence": stats.sentence()}


@router.get("/my/cases", response={200: list[MyCaseOut], **ERRORS}, summary="我的入党进程")
def my_cases(request):
    """The caller's own cases, by the account linked to the case or to their member record."""
    return selectors.own_cases(user=request.user)
