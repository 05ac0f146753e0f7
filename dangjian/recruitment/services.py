"""Writes of 发展党员全程纪实. Each public function is one transaction: it locks the case, asks workflow.py
whether the step may come now, checks who acts and the rules in force on the step's date, saves the record,
applies its effect (a new probationary member, a conversion), writes the audit entry and the person's
message, and recomputes what is due next. A refused record leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import log_action
from dangjian.core import codes, crypto, uploads
from dangjian.core.actors import SYSTEM, actor_label, actor_user
from dangjian.core.dates import add_months, add_years
from dangjian.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.masking import mask_id_number, mask_phone
from dangjian.core.permissions import can, require
from dangjian.core.scoping import system_scope
from dangjian.core.validators import normalize_phone, parse_id_number
from dangjian.members.models import LeaveReason, Member, MemberStatus, Standing
from dangjian.members.services import id_number_taken, member_create, member_leave, member_update
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import BRANCH_KINDS, COMMITTEE_KINDS, Organization, OrgKind

from . import deadlines, notices, rules, workflow
from .models import (
    Body,
    CaseDocument,
    CaseMove,
    CasePerson,
    CaseStatus,
    ConsentMethod,
    DocumentKind,
    LocalPractice,
    Outcome,
    PersonRole,
    RecruitmentCase,
    RecruitmentPlan,
    RecruitmentStep,
    Stage,
)

registry.register({
    "recruitment.case.created": "建立发展党员档案（递交入党申请书）",
    "recruitment.step.recorded": "记录发展党员步骤",
    "recruitment.case.admitted": "接收预备党员（党委审批）",
    "recruitment.case.converted": "预备党员转正",
    "recruitment.case.extended": "延长预备期",
    "recruitment.case.cancelled": "取消预备党员资格",
    "recruitment.case.ended": "终止发展党员档案",
    "recruitment.case.moved": "发展党员档案随本人转移",
    "recruitment.case.archived": "发展党员材料归档",
    "recruitment.document.added": "上传发展党员材料",
    "recruitment.document.downloaded": "下载发展党员材料",
    "recruitment.dossier.exported": "导出发展党员纪实档案",
    "recruitment.case.anonymised": "匿名化发展党员档案（未发展、保存期满）",
    "recruitment.plan.saved": "保存发展党员计划",
    "recruitment.practice.saved": "保存发展党员地方做法设置",
})

APPROVE = "recruitment.approve"  # the 党委's acts: consent, 预审, approval (accounts.roles)
MANAGE = "member.manage"  # the branch's acts: what its secretary and 组织委员 record
CASE_ORG_KINDS = (*BRANCH_KINDS, OrgKind.GENERAL_BRANCH, OrgKind.PRIMARY_COMMITTEE, OrgKind.WORKING_COMMITTEE)
DOCUMENT_TYPES = (".pdf", ".jpg", ".jpeg", ".png", ".docx")
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
log = logging.getLogger(__name__)
CONSENT_LABEL = "个人信息处理同意"


@dataclass
class StepInput:
    """What a worker enters for one step (the form and the API build it)."""

    number: int
    on: dt.date
    body: str = ""
    outcome: str = Outcome.PASSED
    meeting: object | None = None  # meetings.Meeting, loaded through the scope
    meeting_ref: str = ""
    voters_expected: int | None = None
    voters_present: int | None = None
    written_opinions: int | None = None
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    details: dict = field(default_factory=dict)
    people: list = field(default_factory=list)  # Members: mentors or sponsors
    note: str = ""


def _today() -> dt.date:
    return timezone.localdate()


def _invalid(field: str, label: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{label}：{message}", fields={field: [f"{label}：{message}"]})


# --- Who acts ----------------------------------------------------------------------------------------------

def superior_committee(org: Organization) -> Organization | None:
    """The 上级党委 of a branch: the nearest ancestor (not itself unless it is one) of a committee kind.
    Unscoped on purpose: the branch's worker must see which committee it reports to."""
    chain = Organization.unscoped.filter(path__in=org.ancestor_paths()).order_by("-depth")
    return next((o for o in chain if o.kind in COMMITTEE_KINDS), None)


def approving_committee(org: Organization) -> Organization | None:
    """The 党委 with 审批权限 over a case (§22): the nearest ancestor committee that has it. A 党总支, a 党组
    or a committee without the authority only reviews."""
    chain = Organization.unscoped.filter(path__in=org.ancestor_paths()).order_by("-depth")
    return next((o for o in chain if o.kind in COMMITTEE_KINDS and o.has_approval_authority), None)


def committees_of(orgs) -> dict[int, dict[str, Organization | None]]:
    """`superior_committee` and `approving_committee` of many organisations in one query per 500 ancestor
    paths (the 党委's queue of a whole district): org pk → {"superior": …, "approving": …}. Unscoped for the
    reason superior_committee gives."""
    orgs = list(orgs)
    paths = sorted({p for o in orgs for p in o.ancestor_paths()})
    chain: dict[str, Organization] = {}
    for i in range(0, len(paths), 500):
        chain.update((o.path, o) for o in Organization.unscoped.filter(path__in=paths[i:i + 500]))
    out = {}
    for org in orgs:
        nearest_first = [chain[p] for p in reversed(org.ancestor_paths()) if p in chain]
        committees = [o for o in nearest_first if o.kind in COMMITTEE_KINDS]
        out[org.pk] = {"superior": next(iter(committees), None),
                       "approving": next((o for o in committees if o.has_approval_authority), None)}
    return out


def acting_org(case: RecruitmentCase, step: workflow.Step, on: dt.date) -> Organization:
    """The organisation that acts at a step; refuses a step whose committee does not exist (§22), and the
    admission meeting at a 临时党支部 (§22: a temporary organisation does not admit)."""
    if step.number == 15 and case.organization.kind == OrgKind.TEMPORARY_BRANCH:
        raise rules.refuse("temporary_org", on, f"{case.organization.name}是临时党支部，不能召开党员大会接收预备党员；"
                                                "请先将档案转移到本人工作、学习单位的党组织", "number", "步骤")
    if step.committee == "approving":
        found = approving_committee(case.organization)
        if found is None:
            raise rules.refuse("approval_authority", on, f"{case.organization.name}没有具备审批预备党员权限的上级党委，"
                                                         "请区委组织部先设置审批权限", "number", "步骤")
        return found
    if step.committee == "superior":
        found = superior_committee(case.organization)
        if found is None:
            raise Conflict(f"{case.organization.name}没有上级党委。",
                           fields={"number": [f"步骤：{case.organization.name}没有上级党委"]})
        return found
    return case.organization


def _require_actor(actor, step: workflow.Step, org: Organization) -> None:
    if step.committee:
        if not can(actor, APPROVE, org):
            raise PermissionDenied(f"第{step.number}步“{step.label}”由{org.name}办理，您没有该党委的权限。")
    else:
        require(actor, MANAGE, org)


# --- Starting a case (step 1) ---------------------------------------------------------------------------------

def _person(data: dict, applied_on: dt.date) -> dict:
    """Validate the person's identity; every problem named by its field."""
    errors: dict[str, list[str]] = {}
    name = " ".join((data.get("name") or "").split())
    if not name:
        errors["name"] = ["姓名：不能为空"]
    elif len(name) > 50:
        errors["name"] = ["姓名：不能超过50个字"]
    info = None
    try:
        info = parse_id_number(data.get("id_number") or "", today=applied_on)
    except ValidationError as e:
        errors["id_number"] = [f"身份证号：{e.messages[0]}"]
    phone = ""
    if data.get("phone"):
        try:
            phone = normalize_phone(data["phone"])
        except ValidationError as e:
            errors["phone"] = [f"手机号码：{e.messages[0]}"]
    for key, label, choices in (("education", "学历", codes.EDUCATION_CHOICES),
                                ("occupation", "职业类别", codes.Occupation.choices),
                                ("ethnicity", "民族", codes.ETHNICITY_CHOICES)):
        value = data.get(key) or (codes.HAN if key == "ethnicity" else "")
        if value not in dict(choices):
            errors[key] = [f"{label}：请选择"]
    if len((data.get("work_unit") or "").strip()) > 100:
        errors["work_unit"] = ["工作或学习单位：不能超过100个字"]
    consent = _consent(data, errors)
    if errors:
        raise ValidationFailed("；".join(m for ms in errors.values() for m in ms), fields=errors)
    return {"name": name, "id_number": info.number, "birth_date": info.birth_date, "gender": info.gender,
            "phone": phone, **consent}


def _consent(data: dict, errors: dict[str, list[str]]) -> dict:
    """The applicant's consent to the 告知书 in force (PIPL 第十七条 notice, 第二十九条 separate consent for the
    sensitive data): without it nothing about the person may be stored. The version is the one the platform
    prints now (settings.DANGJIAN_APPLICANT_NOTICE_VERSION), so the case says which text they agreed to."""
    method = data.get("consent_method") or ""
    on = data.get("consent_on")
    if method not in ConsentMethod.values:
        errors["consent_method"] = [f"{CONSENT_LABEL}：未取得申请人同意不能建立档案，请选择同意方式"
                                    "（在告知书上书面签字，或本人在线确认）"]
    if on is None:
        errors["consent_on"] = ["同意日期：请填写申请人签字或确认的日期"]
    elif not isinstance(on, dt.date):
        errors["consent_on"] = ["同意日期：请填写正确的日期，如2026-06-01"]
    elif on > _today():
        errors["consent_on"] = ["同意日期：不能晚于今天"]
    return {"consent_method": method, "consent_on": on, "consent_version": settings.DANGJIAN_APPLICANT_NOTICE_VERSION}


@transaction.atomic
def case_create(*, actor, organization: Organization, data: dict, applied_on: dt.date,
                user=None) -> RecruitmentCase:
    """A person hands in the written application (step 1): the case opens at the branch that received it."""
    require(actor, MANAGE, organization)
    if organization.is_dissolved:
        raise _invalid("organization", "培养党组织", f"{organization.name}已撤销")
    if organization.kind not in CASE_ORG_KINDS:
        raise _invalid("organization", "培养党组织", "请选择党支部、党总支或基层党委")
    if applied_on > _today():
        raise _invalid("applied_on", "递交申请日期", "不能晚于今天")
    person = _person(data, applied_on)
    minimum = rules.rule("min_age", applied_on).value
    if rules.age_on(person["birth_date"], applied_on) < minimum:
        raise rules.refuse("min_age", applied_on, f"递交申请时未满{minimum}周岁（按身份证号计算）", "id_number", "身份证号")
    if user is not None:
        _check_account(user, person["name"])
    digest = crypto.lookup_digest(person["id_number"])
    # Unscoped on purpose: one open case per person in the whole platform, whoever's subtree holds it.
    if RecruitmentCase.unscoped.filter(id_number_digest=digest, status=CaseStatus.OPEN).exists():
        raise _invalid("id_number", "身份证号", "此人已有正在进行的发展党员档案（一人同时只能由一个党组织培养）")
    if id_number_taken(person["id_number"]):
        raise _invalid("id_number", "身份证号", "此人已在党员名册中")
    case = RecruitmentCase(
        organization=organization, org_path=organization.path, name=person["name"], gender=person["gender"],
        birth_date=person["birth_date"], ethnicity=data.get("ethnicity") or "01",
        id_number_encrypted=crypto.encrypt(person["id_number"]), id_number_digest=digest,
        id_number_masked=mask_id_number(person["id_number"]),
        phone_encrypted=crypto.encrypt(person["phone"]) if person["phone"] else "",
        phone_masked=mask_phone(person["phone"]) if person["phone"] else "",
        education=data["education"], occupation=data["occupation"], work_unit=(data.get("work_unit") or "").strip(),
        is_mobile_person=bool(data.get("is_mobile_person")), user=user, applied_on=applied_on,
        consent_version=person["consent_version"], consent_on=person["consent_on"],
        consent_method=person["consent_method"], created_by=actor_user(actor))
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:  # a second worker opened the same person's case at the same moment
        raise _invalid("id_number", "身份证号", "此人已有正在进行的发展党员档案") from None
    _save_step(case, actor, workflow.STEPS[1], StepInput(number=1, on=applied_on, body=Body.APPLICANT,
                                                         note=data.get("note", "")), organization)
    _refresh(case)
    log_action(actor=actor, action="recruitment.case.created", target=case,
               changes={"organization": organization.name, "applied_on": applied_on.isoformat(),
                        "id_number": case.id_number_masked, "consent": {
                            "version": case.consent_version, "on": case.consent_on.isoformat(),
                            "method": case.consent_method}})
    return case


def _check_account(user, name: str) -> None:
    """The account linked to a case is the applicant's own: they read the case's progress with it and, once
    admitted, it becomes their member account. Refuse one that is plainly somebody else's (it would show them
    this person's case): registered under another name, already a current member's (the applicant is not on
    the roster), or linked to another open case. Unscoped on purpose: an account belongs to the platform."""
    wrong = None
    registered = " ".join((getattr(user, "display_name", "") or "").split())
    if Member.unscoped.filter(user=user, left_on__isnull=True).exists():
        wrong = "该账号已关联党员名册中的其他党员，不能关联为申请人本人账号"
    elif RecruitmentCase.unscoped.filter(user=user, status=CaseStatus.OPEN).exists():
        wrong = "该账号已关联另一份正在进行的发展党员档案"
    elif registered and registered != name:
        wrong = "该账号登记的姓名与申请人姓名不一致，请核对用户名"
    if wrong:
        raise _invalid("username", "本人登录账号", wrong)


# --- Recording a step ---------------------------------------------------------------------------------------

def _lock(case: RecruitmentCase) -> RecruitmentCase:
    """The row, locked and current (unscoped for that reason only: the caller loaded it through the scope)."""
    return RecruitmentCase.unscoped.select_for_update(of=("self",)).select_related("organization").get(pk=case.pk)


def _history(case: RecruitmentCase) -> workflow.History:
    return workflow.History.of(case.steps.all())


@transaction.atomic
def step_record(*, actor, case: RecruitmentCase, data: StepInput) -> RecruitmentStep:
    case = _lock(case)
    history = _history(case)
    step = workflow.check_order(case.status, data.number, history)
    on = data.on
    org = acting_org(case, step, on)
    _require_actor(actor, step, org)
    _check_common(case, step, data, history, org)
    late = CHECKS[step.number](case, data, history) or ""
    record = _save_step(case, actor, step, data, org, late=late)
    EFFECTS.get(step.number, _no_effect)(case, record, history, actor)
    if step.stage_after and record.outcome == Outcome.PASSED and step.number != 24:
        case.stage = step.stage_after
    _refresh(case)
    log_action(actor=actor, action="recruitment.step.recorded", target=case,
               changes={"step": step.number, "label": step.label, "on": on.isoformat(), "outcome": record.outcome,
                        "body": record.body, "rule_version": record.rule_version, **({"late": late} if late else {})})
    _tell_person(case, step, record, actor)
    return record


def _check_common(case, step: workflow.Step, data: StepInput, history: workflow.History, org: Organization) -> None:
    on = data.on
    if on is None:
        raise _invalid("on", "日期", "请填写")
    if on > _today():
        raise _invalid("on", "日期", "不能晚于今天（只记录已经发生的事）")
    for n in step.after:
        before = history.last(n)
        if before is not None and on < before.on:
            raise _invalid("on", "日期", f"不能早于第{n}步“{workflow.STEPS[n].label}”的日期{before.on.isoformat()}")
    if data.body not in step.bodies:
        allowed = "、".join(Body(b).label for b in step.bodies)
        raise _invalid("body", "决定或办理主体", f"第{step.number}步应由{allowed}办理")
    if data.outcome not in step.outcomes:
        raise _invalid("outcome", "结果", "该步骤没有这个结果")
    if data.meeting is not None:
        meeting = data.meeting
        if meeting.org_path not in (org.path, case.org_path):
            raise _invalid("meeting", "会议", f"所选会议不是{org.name}的会议")
        held = getattr(meeting, "held_on", None)
        if held is not None and held != on:
            raise _invalid("meeting", "会议", f"所选会议召开于{held.isoformat()}，与本步骤日期不一致")
    for key in step.details:
        value = data.details.get(key)
        if isinstance(value, str) and len(value) > 500:
            raise _invalid(key, workflow.DETAIL_LABELS[key], "不能超过500个字")
    if len(data.note or "") > 500:
        raise _invalid("note", "备注", "不能超过500个字")
    if step.vote:
        _check_vote(data)


def _int(data: StepInput, name: str, label: str) -> int:
    value = getattr(data, name)
    if value is None or value == "":
        raise _invalid(name, label, "表决事项必须填写")
    if int(value) < 0:
        raise _invalid(name, label, "不能为负数")
    return int(value)


def _check_vote(data: StepInput) -> None:
    expected = _int(data, "voters_expected", "应到会有表决权党员")
    present = _int(data, "voters_present", "实到会有表决权党员")
    written = int(data.written_opinions or 0)
    counts = {name: _int(data, name, label) for name, label in (("yes", "赞成"), ("no", "反对"), ("abstain", "弃权"))}
    rules.check_vote(on=data.on, expected=expected, present=present, written=written, **counts)
    data.written_opinions = written


def _detail(data: StepInput, key: str, *, required: bool = True) -> str:
    value = data.details.get(key)
    value = " ".join(str(value).split()) if value not in (None, "") else ""
    if required and not value:
        raise _invalid(key, workflow.DETAIL_LABELS[key], "请填写")
    return value


def _detail_date(data: StepInput, key: str) -> dt.date:
    value = data.details.get(key)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise _invalid(key, workflow.DETAIL_LABELS[key], "请填写正确的日期，如2026-06-01") from None


def _detail_int(data: StepInput, key: str) -> int | None:
    value = data.details.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(key, workflow.DETAIL_LABELS[key], "请填写整数") from None
    if number < 0:
        raise _invalid(key, workflow.DETAIL_LABELS[key], "不能为负数")
    return number


# --- The rules of each step (they raise RuleViolation, or return a 超期 mark) ----------------------------------

def _no_check(case, data, history):
    return ""


def _check_talk(case, data, history):
    data.details["talker"] = _detail(data, "talker")
    return rules.late("talk_months", add_months(case.applied_on, rules.rule("talk_months", case.applied_on).value),
                      data.on)


def _check_activist(case, data, history):
    practice = local_practice(case.organization)
    months = practice.get("applicant_wait_months")
    if months and data.on < add_months(case.applied_on, months):
        raise _local(f"递交入党申请书满{months}个月后方可确定为入党积极分子（{add_months(case.applied_on, months)}起）", "on",
                     "日期", case, "applicant_wait_months")
    data.details["nomination"] = _detail(data, "nomination", required=False)
    return ""


def _local(message: str, field: str, label: str, case: RecruitmentCase, key: str) -> RuleViolation:
    """A refusal under a local practice: the "article" names the organisation that set it."""
    where = practice_sources(case.organization).get(key, (None, "本地"))[1]
    return RuleViolation(message, rule="recruitment.local", article=f"本地做法（{where}设置）",
                         fields={field: [f"{label}：{message}"]})


def _check_mentors(case, data, history):
    r = rules.rule("mentors", data.on)
    people = _distinct(data.people)
    if not 1 <= len(people) <= r.value:
        raise rules.refuse("mentors", data.on, f"培养联系人应为1至{r.value}名，现为{len(people)}名", "people", "培养联系人")
    for m in people:
        _require_full(m, "mentors", data.on, "培养联系人")
    return ""


def _check_assessment(case, data, history):
    data.details["assessment"] = _detail(data, "assessment")
    return ""


def _check_development_target(case, data, history):
    start = rules.activist_period_start(case.activist_on, getattr(history.passed(4), "on", None))
    years = rules.rule("activist_years", data.on).value
    earliest = add_years(start, years)
    if data.on < earliest:
        raise rules.refuse("activist_years", data.on, f"自{start.isoformat()}确定为入党积极分子起未满{years}年，"
                                                       f"{earliest.isoformat()}起方可列为发展对象", "on", "日期")
    gap = rules.missing_assessment(start, data.on, [s.on for s in history.by_number.get(6, [])])
    if gap is not None:
        raise rules.refuse("assessment_months", data.on, f"{gap[0].isoformat()}至{gap[1].isoformat()}的半年没有考察记录",
                           "on", "日期")
    return ""


def _check_consent(case, data, history):
    r = rules.rule("public_notice_working_days", data.on)
    given = data.details.get("public_notice_from") or data.details.get("public_notice_to")
    if r.value is None and not given:  # 2014: 备案, no 公示 required
        return ""
    start, end = _detail_date(data, "public_notice_from"), _detail_date(data, "public_notice_to")
    if start < data.on:  # §13: the 党委 consents, then the notice runs
        raise rules.refuse("superior_consent", data.on, "公示应在上级党委同意之后开始（不早于本步骤日期）",
                           "public_notice_from", "公示开始日期")
    if end < start:
        raise _invalid("public_notice_to", "公示结束日期", "不能早于公示开始日期")
    from dangjian.core.calendar import work_calendar

    days = work_calendar().working_days_between(start, end)
    if r.value is not None and days < r.value:
        raise rules.refuse("public_notice_working_days", data.on, f"公示{days}个工作日，少于{r.value}个工作日（法定节假日不计）",
                           "public_notice_to", "公示结束日期")
    result = _detail(data, "public_notice_result", required=r.value is not None)
    data.details.update(public_notice_from=start.isoformat(), public_notice_to=end.isoformat(), public_notice_result=result)
    return ""


def _public_notice_over(history, data, field="on") -> None:
    consent = history.passed(8)
    ends = consent and consent.details.get("public_notice_to")
    if ends and data.on <= dt.date.fromisoformat(ends):
        raise rules.refuse("public_notice_working_days", data.on, f"公示至{ends}结束，公示期满后方可继续", field, "日期")


def _check_sponsors(case, data, history):
    r = rules.rule("sponsors", data.on)
    people = _distinct(data.people)
    if len(people) != r.value:
        raise rules.refuse("sponsors", data.on, f"入党介绍人应为{r.value}名，现为{len(people)}名", "people", "入党介绍人")
    from dangjian.members.selectors import EXCLUSION, members_under_discipline

    # The rule binds whoever names the sponsors: a record the worker cannot see still counts.
    with system_scope("入党介绍人党纪处分核查"):
        under = members_under_discipline([m.pk for m in people], data.on)
    for m in people:
        _require_full(m, "sponsors", data.on, "入党介绍人")
        if m.pk in under:
            d = under[m.pk]
            # 留党察看 not restored: 不能; 警告 … in effect: 不宜 (§14): the words of members.selectors.EXCLUSION
            raise rules.refuse("sponsor_fit", data.on, f"{m.name}{EXCLUSION[d.kind][0]}", "people", "入党介绍人")
    return ""


def _check_review(case, data, history):
    data.details["conclusion"] = _detail(data, "conclusion")
    if data.outcome == Outcome.FAILED:
        return ""
    return ""


def _check_training(case, data, history):
    days, hours = _detail_int(data, "training_days"), _detail_int(data, "training_hours")
    practice = local_practice(case.organization)
    base_days, base_hours = rules.rule("training_days", data.on).value, rules.rule("training_hours", data.on).value
    # A local minimum set in one unit only raises the other in the national proportion (3天 = 24学时): else a
    # local "5天" would still be met by the national 24 学时 (a 3-day course), and a local "40学时" by 3 days.
    local_days, local_hours = practice.get("training_min_days") or 0, practice.get("training_min_hours") or 0
    need_days = max(base_days, local_days or -(-local_hours * base_days // base_hours))
    need_hours = max(base_hours, local_hours or local_days * base_hours // base_days)
    if not ((days or 0) >= need_days or (hours or 0) >= need_hours):
        raise rules.refuse("training_days", data.on, f"集中培训{days or 0}天、{hours or 0}学时，应不少于{need_days}天或"
                                                      f"{need_hours}学时", "training_days", "培训天数")
    data.details.update(training_days=days, training_hours=hours)
    return ""


def _check_branch_review(case, data, history):
    _public_notice_over(history, data)
    return ""


def _check_prereview(case, data, history):
    leaving = data.details.get("leaving_soon") in (True, "true", "on", "1", 1)
    data.details["leaving_soon"] = leaving
    if leaving and data.outcome == Outcome.PASSED and not (data.note or "").strip():
        r = rules.rule("leaving_soon", data.on)
        raise rules.refuse("leaving_soon", data.on, f"发展对象{r.value}个月内将离开工作、学习单位，一般不办理接收手续；"
                                                     "确需办理的，请在备注中写明特殊情况", "note", "备注")
    practice = local_practice(case.organization)
    months = practice.get("prereview_within_months")
    review = history.passed(12)
    if months and review and data.on > add_months(review.on, months):
        raise _local(f"预审应在报送后{months}个月内完成", "on", "日期", case, "prereview_within_months")
    return ""


def _check_meeting(case, data, history):
    prereview = history.passed(13)
    practice = local_practice(case.organization)
    valid = practice.get("review_valid_months")
    review = history.passed(10)
    if valid and review and data.on > add_months(review.on, valid):
        raise _local(f"政治审查结论{review.on.isoformat()}作出，已超过{valid}个月有效期，请重新政审", "on", "日期", case,
                     "review_valid_months")
    months = rules.rule("meeting_months", prereview.on).value
    return rules.late("meeting_months", add_months(prereview.on, months), data.on) if months else ""


def _check_approval(case, data, history):
    meeting = history.passed(15)
    normal = rules.rule("approval_months", data.on).value
    limit = rules.rule("approval_max_months", data.on).value
    if data.on > add_months(meeting.on, limit):
        raise rules.refuse("approval_max_months", data.on, f"党支部党员大会{meeting.on.isoformat()}通过，已超过{limit}个月，"
                                                            "不能再审批，应重新履行程序", "on", "日期")
    reason = _detail(data, "special_reason", required=False)
    if data.on > add_months(meeting.on, normal) and not reason:
        raise rules.refuse("approval_months", data.on, f"超过{normal}个月审批，须写明特殊原因", "special_reason",
                           workflow.DETAIL_LABELS["special_reason"])
    data.details["special_reason"] = reason
    if data.outcome == Outcome.PASSED and id_number_taken(crypto.decrypt(case.id_number_encrypted)):
        raise _invalid("outcome", "结果", "此人已在党员名册中，不能重复接收")
    return ""


def _check_talk_by_committee(case, data, history):
    data.details["talker"] = _detail(data, "talker")
    return ""


def _check_oath(case, data, history):
    approval = history.passed(17)
    months = rules.rule("oath_months", approval.on).value
    return rules.late("oath_months", add_months(approval.on, months), data.on) if months else ""


def _check_conversion_vote(case, data, history):
    earliest = case.probation_ends_on - dt.timedelta(days=rules.config()["conversion_vote_days_before"])
    if data.on < earliest:
        raise rules.refuse("probation_years", data.on, f"预备期至{case.probation_ends_on.isoformat()}届满，届满后方可讨论转正",
                           "on", "日期")
    _check_outcome_reason(case, data)
    return ""


def _check_outcome_reason(case, data) -> None:
    if data.outcome == Outcome.PASSED:
        data.details.pop("extension_months", None)
        return
    data.details["reason"] = _detail(data, "reason")
    if data.outcome == Outcome.EXTEND:
        months = _detail_int(data, "extension_months")
        r = rules.rule("extension", data.on)
        if case.extension_months:
            raise rules.refuse("extension", data.on, "预备期已延长过一次，不能再次延长", "outcome", "结果")
        if months is None or not 6 <= months <= r.value:
            raise rules.refuse("extension", data.on, f"延长时间应为6至{r.value}个月", "extension_months",
                               workflow.DETAIL_LABELS["extension_months"])
        data.details["extension_months"] = months


def _check_conversion_approval(case, data, history):
    vote = history.last(23)
    _check_outcome_reason(case, data)
    months = rules.rule("conversion_months", vote.on).value
    return rules.late("conversion_months", add_months(vote.on, months), data.on)


CHECKS = {1: _no_check, 2: _check_talk, 3: _check_activist, 4: _no_check, 5: _check_mentors, 6: _check_assessment,
          7: _check_development_target, 8: _check_consent, 9: _check_sponsors, 10: _check_review, 11: _check_training,
          12: _check_branch_review, 13: _check_prereview, 14: _no_check, 15: _check_meeting,
          16: _check_talk_by_committee, 17: _check_approval, 18: _no_check, 19: _no_check, 20: _check_oath,
          21: _check_assessment, 22: _no_check, 23: _check_conversion_vote, 24: _check_conversion_approval,
          25: _no_check}


def _distinct(people) -> list:
    seen, out = set(), []
    for m in people or []:
        if m.pk not in seen:
            seen.add(m.pk)
            out.append(m)
    return out


def _require_full(member: Member, code: str, on: dt.date, label: str) -> None:
    if member.status != MemberStatus.FULL or member.standing != Standing.NORMAL:
        raise rules.refuse(code, on, f"{member.name}不是正式党员（{member.get_status_display()}，"
                                     f"{member.get_standing_display()}）", "people", label)


def _save_step(case, actor, step: workflow.Step, data: StepInput, org: Organization, *, late: str = "") -> RecruitmentStep:
    details = {k: v for k, v in data.details.items() if k in step.details and v not in (None, "")}
    if late:
        details["late"] = late
    vote = {k: getattr(data, k) for k in ("voters_expected", "voters_present", "written_opinions", "yes", "no", "abstain")}
    record = RecruitmentStep.objects.create(
        case=case, number=step.number, on=data.on, body=data.body, acting_org=org, meeting=data.meeting,
        meeting_ref=(data.meeting_ref or "").strip()[:100], outcome=data.outcome,
        **(vote if step.vote else {}), details=details, note=(data.note or "").strip()[:500],
        rule_version=rules.version_on(data.on), entered_by=actor_user(actor), entered_by_label=actor_label(actor))
    role = {"mentor": PersonRole.MENTOR, "sponsor": PersonRole.SPONSOR}.get(step.people)
    if role:
        CasePerson.objects.bulk_create([CasePerson(step=record, case=case, role=role, member=m, name=m.name)
                                        for m in _distinct(data.people)])
    return record


# --- Effects (issue 3 §4) -----------------------------------------------------------------------------------

def _no_effect(case, record, history, actor):
    return None


def _became_activist(case, record, history, actor):
    case.activist_on = record.on


def _became_development_target(case, record, history, actor):
    case.development_target_on = record.on


def _admitted(case, record, history, actor):
    """The 党委 approved: the person joins the roster as a 预备党员, 入党日期 = the branch meeting's date (the
    政治生日); the 预备期 runs a year from it (§31)."""
    if record.outcome != Outcome.PASSED:
        return
    meeting = history.passed(15)
    data = {"organization": case.organization, "name": case.name, "id_number": crypto.decrypt(case.id_number_encrypted),
            "phone": crypto.decrypt(case.phone_encrypted) if case.phone_encrypted else "",
            "gender": case.gender, "birth_date": case.birth_date, "ethnicity": case.ethnicity,
            "education": case.education, "occupation": case.occupation, "work_unit": case.work_unit,
            "status": MemberStatus.PROBATIONARY, "joined_on": meeting.on, "confirmed_on": None,
            "standing": Standing.NORMAL, "is_mobile": False, "is_lost_contact": False}
    member = member_create(actor=actor, data=data, since=record.on)
    account = {}
    if case.user_id and not member.user_id and not Member.unscoped.filter(user_id=case.user_id).exists():
        Member.unscoped.filter(pk=member.pk).update(user_id=case.user_id)
        account = {"account": case.user.get_username()}  # the member's self-service login: audited with the act
    case.member = member
    case.admitted_on, case.approved_on = meeting.on, record.on
    case.admitted_age = rules.age_on(case.birth_date, record.on)
    case.probation_ends_on, _ = rules.probation_dates(meeting.on)
    log_action(actor=actor, action="recruitment.case.admitted", target=case,
               changes={"member": member.pk, "joined_on": meeting.on.isoformat(),
                        "probation_ends_on": case.probation_ends_on.isoformat(), **account})


def _conversion_decided(case, record, history, actor):
    """The 党委 decided on the conversion (§33): full member from the day the 预备期 ended, an extension once,
    or the cancellation of the probationary membership."""
    # The case's own member (unscoped: the 党委's worker acts on a case it loaded and locked; member_update
    # and member_leave check the worker's rights over the member's organisation themselves).
    if record.outcome == Outcome.PASSED:
        _, converts = rules.probation_dates(case.admitted_on, case.extension_months)
        member = Member.unscoped.select_related("organization").get(pk=case.member_id)
        member_update(actor=actor, member=member, data={"status": MemberStatus.FULL, "confirmed_on": converts})
        case.converted_on, case.stage = converts, Stage.FULL_MEMBER
        log_action(actor=actor, action="recruitment.case.converted", target=case,
                   changes={"confirmed_on": converts.isoformat()})
    elif record.outcome == Outcome.EXTEND:
        case.extension_months = int(record.details["extension_months"])
        case.probation_ends_on, _ = rules.probation_dates(case.admitted_on, case.extension_months)
        log_action(actor=actor, action="recruitment.case.extended", target=case,
                   changes={"months": case.extension_months, "probation_ends_on": case.probation_ends_on.isoformat(),
                            "reason": record.details.get("reason", "")})
    else:
        member = Member.unscoped.get(pk=case.member_id)
        member_leave(actor=actor, member=member, on=record.on, reason=LeaveReason.PROBATION_CANCELLED)
        case.status, case.ended_on = CaseStatus.ENDED, record.on
        case.end_reason = f"取消预备党员资格：{record.details.get('reason', '')}"[:200]
        log_action(actor=actor, action="recruitment.case.cancelled", target=case,
                   changes={"reason": record.details.get("reason", "")})


def _archived(case, record, history, actor):
    case.status = CaseStatus.COMPLETED
    log_action(actor=actor, action="recruitment.case.archived", target=case, changes={"on": record.on.isoformat()})


EFFECTS = {3: _became_activist, 7: _became_development_target, 17: _admitted, 24: _conversion_decided, 25: _archived}


def step_not_before(case: RecruitmentCase, number: int, history: workflow.History) -> tuple[dt.date, str] | None:
    """The first day a step may be dated under the rules on the person, when that is a known date: step 7 a
    year after the activist was confirmed (§13), step 12 after the 公示 (§13), step 23 when the 预备期 ends
    (§31). The case page does not offer such a step before that day (it could only be refused) and says when."""
    if number == 7:
        start = rules.activist_period_start(case.activist_on, getattr(history.passed(4), "on", None))
        if start:
            return add_years(start, rules.rule("activist_years", _today()).value), "培养教育考察满一年"
    if number == 12:
        consent = history.passed(8)
        ends = consent and consent.details.get("public_notice_to")
        if ends:
            return dt.date.fromisoformat(ends) + dt.timedelta(days=1), "公示期满"
    if number == 23 and case.probation_ends_on:
        return case.probation_ends_on - dt.timedelta(days=rules.config()["conversion_vote_days_before"]), "预备期满"
    return None


# --- Keeping what is due current --------------------------------------------------------------------------

def case_due_items(case: RecruitmentCase, history: workflow.History) -> list[deadlines.Due]:
    """Everything due on a case, with the local practices in force for its organisation."""
    months = local_practice(case.organization).get("thought_report_months")
    reports = ()
    if months:
        reports = tuple(t.date() for t in case.documents.filter(kind=DocumentKind.THOUGHT_REPORT)
                        .values_list("uploaded_at", flat=True))
    return deadlines.deadlines(case, history, thought_report_months=months, reports=reports)


def _refresh(case: RecruitmentCase) -> None:
    history = _history(case)
    items = case_due_items(case, history)
    due = items[0] if items else None
    following = workflow.allowed(case.status, history)
    # The next step: the first one-off step now open, or a repeatable one not yet held (after 4 the mentors,
    # after 5 the first assessment), never None while the case is open.
    case.next_step = min((s.number for s in following if s.repeat != "many" or history.last(s.number) is None),
                         default=None)
    case.next_due = due.on if due else None
    case.next_due_label = due.label if due else ""
    case.next_due_article = due.article if due else ""
    case.next_due_step = due.step if due else None
    case.save()


def _tell_person(case: RecruitmentCase, step: workflow.Step, record: RecruitmentStep, actor) -> None:
    """The person sees their progress (issue 3 §7): a message on their account, when they have one."""
    target = {"member": case.member} if case.member_id else {"user": case.user, "org_path": case.org_path}
    if not (case.member_id or case.user_id):
        return
    following = workflow.STEPS.get(case.next_step)
    notification_create(actor=actor, messages=[Message(
        kind=notices.PROGRESS.code, **target, link=reverse("recruitment:mine"),
        dedupe_key=f"recruitment.progress:{record.pk}",
        context={"姓名": case.name, "党组织": case.organization.name, "日期": f"{record.on:%Y年%-m月%-d日}",
                 "步骤": step.label, "下一步": following.label if following else "已完成"})])


# --- Other acts on a case ---------------------------------------------------------------------------------

@transaction.atomic
def case_end(*, actor, case: RecruitmentCase, on: dt.date, reason: str) -> RecruitmentCase:
    """Stop developing a person (本人撤回申请, 未通过表决, 政审不合格 …); the record stays, closed with its reason."""
    case = _lock(case)
    require(actor, MANAGE, case.organization)
    if case.status != CaseStatus.OPEN:
        raise Conflict("该档案已办结或终止。")
    if case.stage in (Stage.PROBATIONARY, Stage.FULL_MEMBER):
        raise Conflict("已接收为预备党员：请通过第23、24步办理转正、延长预备期或取消预备党员资格。")
    reason = " ".join((reason or "").split())
    if not reason:
        raise _invalid("reason", "终止原因", "请填写")
    if len(reason) > 200:
        raise _invalid("reason", "终止原因", "不能超过200个字")
    if on > _today() or on < case.applied_on:
        raise _invalid("on", "日期", f"应在{case.applied_on.isoformat()}至今天之间")
    case.status, case.ended_on, case.end_reason = CaseStatus.ENDED, on, reason
    _refresh(case)
    log_action(actor=actor, action="recruitment.case.ended", target=case, changes={"on": on.isoformat(), "reason": reason})
    return case


@transaction.atomic
def case_move(*, actor, case: RecruitmentCase, to: Organization, on: dt.date) -> RecruitmentCase:
    """The person moved: the case (and its training time, 细则 第十二条) goes with them to the new 党组织."""
    case = _lock(case)
    require(actor, MANAGE, case.organization)
    require(actor, MANAGE, to)
    if case.status != CaseStatus.OPEN:
        raise Conflict("该档案已办结或终止。")
    if to.pk == case.organization_id:
        raise _invalid("to", "转入党组织", "与当前培养党组织相同")
    if to.is_dissolved or to.kind not in CASE_ORG_KINDS:
        raise _invalid("to", "转入党组织", "请选择未撤销的党支部、党总支或基层党委")
    if on is None or on > _today():
        raise _invalid("on", "日期", "不能晚于今天")
    if on < case.applied_on:
        raise _invalid("on", "日期", f"不能早于递交申请日期{case.applied_on.isoformat()}")
    if case.member_id:  # the case of a 预备党员 goes where the member is (member_move carries it)
        member_org = Member.unscoped.filter(pk=case.member_id).values_list("organization_id", flat=True).first()
        if member_org != to.pk:
            raise Conflict("已是预备党员：档案随组织关系转移，只能转到本人现在所在的党组织；调动请办理组织关系转接。")
    CaseMove.objects.create(case=case, from_org=case.organization, to_org=to, on=on, actor_label=actor_label(actor))
    old = case.organization.name
    case.organization, case.org_path = to, to.path
    _refresh(case)
    log_action(actor=actor, action="recruitment.case.moved", target=case, changes={"from": old, "to": to.name,
                                                                                   "on": on.isoformat()})
    return case


def case_follow_member(member: Member, *, actor=None, on: dt.date | None = None) -> None:
    """A probationary member's organisation changed (a transfer accepted or placed, a move on the roster's edit
    page): the case follows, so the new branch runs the conversion (细则 第三十四条). members.services.member_move
    calls it in its transaction (`RecruitmentCase.ScopeMeta.member_moved`), after the member holds the new
    organisation; each case moved is a dated CaseMove and an audit entry, like case_move. Unscoped: the caller
    decided the move (the receiver holds no grant on the sender's rows)."""
    actor = actor or SYSTEM
    on = on or _today()
    to = member.organization
    cases = (RecruitmentCase.unscoped.select_for_update(of=("self",)).select_related("organization")
             .filter(member=member).exclude(organization_id=to.pk).order_by("pk"))
    for case in cases:
        CaseMove.objects.create(case=case, from_org=case.organization, to_org=to, on=on, actor_label=actor_label(actor))
        old = case.organization.name
        case.organization, case.org_path = to, to.path
        if case.status == CaseStatus.OPEN:
            _refresh(case)  # the new organisation's local practices may move a due date
        else:
            case.save(update_fields=["organization", "org_path", "updated_at"])
        log_action(actor=actor, action="recruitment.case.moved", target=case,
                   changes={"from": old, "to": to.name, "on": on.isoformat(), "reason": "随党员组织关系转移"})


def case_member_left(*, actor, member: Member, on: dt.date, reason: str) -> None:
    """The member left the district's roster (组织关系转出本区 …): their open case here ends with the reason (the
    receiving 党组织 continues the 预备期 from the papers, 细则 第三十四条), so no deadline, reminder or step is
    offered for a person no longer on the roster. Called inside the caller's transaction."""
    cases = (RecruitmentCase.unscoped.select_for_update(of=("self",)).select_related("organization")
             .filter(member=member, status=CaseStatus.OPEN).order_by("pk"))
    for case in cases:
        case.status, case.ended_on, case.end_reason = CaseStatus.ENDED, on, reason[:200]
        _refresh(case)
        log_action(actor=actor, action="recruitment.case.ended", target=case,
                   changes={"on": on.isoformat(), "reason": reason})


# --- Personal information after an ending (PIPL 第十九、四十七条) -------------------------------------------

# The step details that stay after anonymisation: dates, numbers and yes/no the statistics and the 超期 marks
# use. Every other detail is free text a worker typed (谈话人, 考察意见, 政审结论, 理由 …) and may name or
# describe the person, so it goes, like the notes.
KEPT_DETAILS = ("public_notice_from", "public_notice_to", "training_days", "training_hours", "extension_months",
                "leaving_soon", "late")


def anonymisable() -> Q:
    """Cases that may be anonymised: ended without admission (never on the roster: a member's record is kept
    under the members' rules) and not anonymised yet. An open or completed case never matches."""
    return Q(status=CaseStatus.ENDED, member__isnull=True, anonymised_at__isnull=True)


def anonymise_before(on: dt.date) -> dt.date:
    """Cases that ended before this day are past DANGJIAN_APPLICANT_RETENTION_DAYS on `on`: one that ended exactly
    that many days ago is still kept that day."""
    return on - dt.timedelta(days=settings.DANGJIAN_APPLICANT_RETENTION_DAYS)


@transaction.atomic
def case_anonymise(*, actor, case: RecruitmentCase) -> RecruitmentCase:
    """Anonymise one ended case now, before its retention period ran out (the person asked for deletion,
    PIPL 第四十七条). Doing it again changes nothing; an open, completed or admitted case is refused."""
    case = _lock(case)
    require(actor, MANAGE, case.organization)
    if case.anonymised_at is not None:
        return case
    if case.status != CaseStatus.ENDED or case.member_id is not None:
        raise Conflict("只有未接收为预备党员、已终止的档案才能匿名化。")
    cases_anonymise(actor=actor, ids=[case.pk], on_request=True)
    return _lock(case)


@transaction.atomic
def cases_anonymise(*, actor, ids, on_request: bool = False) -> int:
    """Remove the personal information of these cases, in one transaction with a fixed number of queries
    plus one audit entry per case (the nightly job calls it a batch at a time). Kept for the statistics: the
    stage, status and every date, gender, ethnicity, education, occupation, 流动人员, the organisation, and the
    year of birth (birth_date becomes 1 January of its year: age bands still count, the day no longer
    identifies anyone). Gone: name (→ "已匿名化" and the case number), ID number and phone (ciphertext, digest,
    masked), work unit, the account link, the ending's reason, the steps' notes and free-text details, and the
    documents (rows now, files once the transaction has committed). Re-checked under the lock, so a case
    that no longer qualifies is skipped. `on_request`: the person asked (case_anonymise), the audit entry says
    so instead of the retention period. Returns how many were anonymised."""
    cases = list(RecruitmentCase.unscoped.select_for_update(of=("self",))
                 .filter(anonymisable(), pk__in=list(ids)).order_by("pk"))
    if not cases:
        return 0
    now = timezone.now()
    documents = list(CaseDocument.objects.filter(case__in=cases).values_list("pk", "case_id", "file"))
    CaseDocument.objects.filter(pk__in=[pk for pk, _, _ in documents]).delete()
    stored = [name for _, _, name in documents if name]
    storage = CaseDocument._meta.get_field("file").storage
    transaction.on_commit(lambda: _delete_files(storage, stored))
    steps = list(RecruitmentStep.objects.filter(case__in=cases).only("pk", "details", "note"))
    for step in steps:
        step.details = {k: v for k, v in step.details.items() if k in KEPT_DETAILS}
        step.note = ""
    RecruitmentStep.objects.bulk_update(steps, ["details", "note"], batch_size=500)
    removed = Counter(case_id for _, case_id, _ in documents)
    for case in cases:
        case.name = f"已匿名化{case.pk}"
        case.id_number_encrypted = case.id_number_digest = case.id_number_masked = ""
        case.phone_encrypted = case.phone_masked = ""
        case.birth_date = case.birth_date.replace(month=1, day=1)
        case.work_unit = case.end_reason = ""
        case.user = None
        case.anonymised_at = case.updated_at = now  # bulk_update does not touch auto_now itself
    RecruitmentCase.unscoped.bulk_update(cases, ANONYMISED_FIELDS, batch_size=500)
    why = ({"reason": "本人要求删除（个人信息保护法第四十七条）"} if on_request else
           {"reason": "终止后保存期满（个人信息保护法第十九条）",
            "retention_days": settings.DANGJIAN_APPLICANT_RETENTION_DAYS})
    for case in cases:  # the entry names the case by its new label: no personal value in the log
        log_action(actor=actor, action="recruitment.case.anonymised", target=case,
                   changes={"ended_on": case.ended_on.isoformat(), "documents_deleted": removed[case.pk], **why})
    return len(cases)


ANONYMISED_FIELDS = ["name", "id_number_encrypted", "id_number_digest", "id_number_masked", "phone_encrypted",
                     "phone_masked", "birth_date", "work_unit", "end_reason", "user", "anonymised_at", "updated_at"]


def _delete_files(storage, names: list[str]) -> None:
    """After the commit: the rows are gone, so the files go. A file that cannot be deleted is logged for the
    operator (it is no longer reachable through the platform) rather than undoing the anonymisation."""
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            log.warning("recruitment: could not delete anonymised case file %s", name)


@transaction.atomic
def document_add(*, actor, case: RecruitmentCase, kind: str, upload, step: RecruitmentStep | None = None) -> CaseDocument:
    """Attach a scan or file. Only PDF, JPG, PNG and DOCX, checked by content, at most 10 MB. Everything is
    checked before anything is stored; the bytes stored are the bytes checked and hashed; a failure after the
    file was stored removes it again."""
    case = _lock(case)
    require(actor, MANAGE, case.organization)
    if kind not in DocumentKind.values:
        raise _invalid("kind", "材料类型", "请选择")
    if step is not None and step.case_id != case.pk:
        raise _invalid("step", "步骤", "不是该档案的步骤记录")
    if upload is None:
        raise _invalid("file", "文件", "请选择文件")
    name = uploads.display_name(upload.name)
    suffix = uploads.suffix_of(name)
    if suffix not in DOCUMENT_TYPES:
        raise _invalid("file", "文件", "只能上传PDF、JPG、PNG或DOCX文件")
    if (upload.size or 0) > DOCUMENT_MAX_BYTES:
        raise _invalid("file", "文件", "不能超过10MB")
    upload.seek(0)
    content = upload.read(DOCUMENT_MAX_BYTES + 1)  # never more than the limit in memory, whatever `size` said
    if len(content) > DOCUMENT_MAX_BYTES:
        raise _invalid("file", "文件", "不能超过10MB")
    if not content:
        raise _invalid("file", "文件", "文件是空的")
    if not uploads.content_matches(suffix, content):
        raise _invalid("file", "文件", "文件内容与扩展名不符")
    doc = CaseDocument(case=case, step=step, kind=kind, name=name, size=len(content),
                       sha256=hashlib.sha256(content).hexdigest(), uploaded_by_label=actor_label(actor))
    doc.file.save(uploads.stored_name(suffix), ContentFile(content), save=False)  # the name is only a label
    try:
        doc.save()
        if kind == DocumentKind.THOUGHT_REPORT:
            _refresh(case)  # a 思想汇报 moves the next one's due date (local practice)
        log_action(actor=actor, action="recruitment.document.added", target=case,
                   changes={"kind": kind, "name": name, "size": len(content), "sha256": doc.sha256})
    except BaseException:
        doc.file.storage.delete(doc.file.name)  # the row rolls back: so does the file
        raise
    return doc


@transaction.atomic
def document_read(*, actor, case: RecruitmentCase, document: CaseDocument) -> bytes:
    """The stored file of a document (a scan of an application or a 志愿书 shows the full ID number): who
    opened it is recorded, like the dossier's export (ARCHITECTURE §7). The caller loaded both through the
    case's scope."""
    if document.case_id != case.pk:
        raise NotFound()
    with document.file.open("rb") as fh:  # at most DOCUMENT_MAX_BYTES: read whole, no open handle left
        body = fh.read()
    log_action(actor=actor, action="recruitment.document.downloaded", target=case,
               changes={"document": document.pk, "kind": document.kind, "name": document.name})
    return body


# --- Plans and local practices --------------------------------------------------------------------------

PLAN_FIELDS = {"total": "计划发展党员", "women": "其中女性", "young": "其中青年", "college": "其中大专及以上",
               "two_new": "其中“两新”组织", "front_line": "其中生产、工作一线"}


@transaction.atomic
def plan_save(*, actor, organization: Organization, year: int, numbers: dict, note: str = "") -> RecruitmentPlan:
    require(actor, APPROVE, organization)
    if organization.kind not in COMMITTEE_KINDS:
        raise _invalid("organization", "党委", "发展党员计划由党委制定，请选择党委")
    if not 2000 <= int(year) <= 2100:
        raise _invalid("year", "年度", "请填写正确的年份")
    clean = {}
    for key, label in PLAN_FIELDS.items():
        value = numbers.get(key, 0)
        try:
            value = int(value or 0)
        except (TypeError, ValueError):
            raise _invalid(key, label, "请填写整数") from None
        if value < 0:
            raise _invalid(key, label, "不能为负数")
        clean[key] = value
    for key in PLAN_FIELDS:
        if key != "total" and clean[key] > clean["total"]:
            raise _invalid(key, PLAN_FIELDS[key], f"不能多于计划发展党员总数{clean['total']}")
    # Unscoped: the one row per (党委, year), the right to write it checked above.
    plan, created = RecruitmentPlan.unscoped.update_or_create(
        organization=organization, year=int(year),
        defaults={**clean, "org_path": organization.path, "note": (note or "").strip()[:200]})
    log_action(actor=actor, action="recruitment.plan.saved", target=plan,
               changes={"year": int(year), **clean, "created": created})
    return plan


PRACTICE_FIELDS = ("applicant_wait_months", "thought_report_months", "review_valid_months", "training_min_days",
                   "training_min_hours", "prereview_within_months")


def practice_sources(org: Organization, *, inherited_only: bool = False) -> dict[str, tuple[int, str]]:
    """The §1.7 local practices in force for `org`: field → (value, name of the organisation that set it), each
    from the nearest organisation (itself first, unless `inherited_only`) that set it. One query; unscoped on
    purpose: a setting made above one's own organisation binds it, so its worker must see it."""
    paths = org.ancestor_paths()[:-1] if inherited_only else org.ancestor_paths()
    rows = LocalPractice.unscoped.filter(org_path__in=paths).select_related("organization")
    out: dict[str, tuple[int, str]] = {}
    for row in sorted(rows, key=lambda r: len(r.org_path), reverse=True):
        for f in PRACTICE_FIELDS:
            value = getattr(row, f)
            if f not in out and value:
                out[f] = (value, row.organization.name)
    return out


def local_practice(org: Organization) -> dict[str, int]:
    """field → value of the local practices in force for `org` (practice_sources without the names)."""
    return {f: value for f, (value, _) in practice_sources(org).items()}


@transaction.atomic
def practice_save(*, actor, organization: Organization, values: dict) -> LocalPractice:
    require(actor, APPROVE, organization)
    clean = {}
    for f in PRACTICE_FIELDS:
        label = LocalPractice._meta.get_field(f).verbose_name
        value = values.get(f)
        if value in (None, ""):
            clean[f] = None
            continue
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise _invalid(f, label, "请填写整数，留空表示不采用") from None
        if not 1 <= value <= 120:
            raise _invalid(f, label, "应在1至120之间，留空表示不采用")
        clean[f] = value
    # Unscoped: the one row per organisation, the right to write it checked above.
    practice, _ = LocalPractice.unscoped.update_or_create(organization=organization,
                                                          defaults={**clean, "org_path": organization.path})
    log_action(actor=actor, action="recruitment.practice.saved", target=practice, changes=clean)
    return practice
