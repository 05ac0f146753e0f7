"""Pages of 发展党员全程纪实: the workbench (cases, a case with its timeline and the acts allowed now, one
step's form, the 党委's queue, what is due, plans and statistics, local practices, the dossier) and the
person's own progress (mine, phone first).

Views parse, load through the scoped selectors, call one service and render (ARCHITECTURE §4). What a
person is offered follows workflow.allowed() and who acts (services.acting_org): a branch's worker is never
offered the 党委's acts (DOMAIN-RULES §1.8)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dangjian.core import uploads
from dangjian.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from dangjian.core.forms import apply_domain_error, submit
from dangjian.core.permissions import can, require, require_somewhere
from dangjian.core.scoping import subtree_q
from dangjian.meetings.models import Meeting, MeetingStatus
from dangjian.members.models import MemberStatus, Standing
from dangjian.members.selectors import MemberFilters, member_list
from dangjian.orgs.models import COMMITTEE_KINDS
from dangjian.orgs.selectors import access_organization, organization_list

from . import deadlines, dossier, selectors, services, workflow
from .forms import (
    CaseForm,
    DocumentForm,
    EndForm,
    MoveForm,
    PlanForm,
    PracticeForm,
    StatisticsForm,
    StepForm,
    YearForm,
)
from .models import CaseStatus, LocalPractice, Stage

PAGE_SIZE = 50
DUE_LIMIT = 300  # the due page lists the most urgent first; the rest by organisation filter
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BADGE_TEXT = {"red": "已超期", "amber": "即将到期", "green": "正常"}
VIEW, MANAGE, APPROVE = "member.view", services.MANAGE, services.APPROVE


# --- small helpers -----------------------------------------------------------------------------------------

def _today() -> dt.date:
    return timezone.localdate()


def _badge(on: dt.date | None, today: dt.date) -> dict | None:
    """A due date's urgency, in words as well as colour (已超期 / 即将到期 / 正常)."""
    if on is None:
        return None
    state = deadlines.Due("", on, 0, "").state(today)
    return {"state": state, "text": BADGE_TEXT[state]}


def _orgs(user, capability: str):
    """The organisations (visible, not dissolved) in the subtrees where `user` holds `capability`."""
    paths = user.capability_paths(capability)
    if not paths:
        return organization_list().none()
    return organization_list().filter(subtree_q("path", paths))


def _options(organizations) -> list[tuple[int, str]]:
    """An organisation filter's options, indented by depth."""
    return [(o.pk, "　" * (o.depth - 1) + o.name) for o in organizations.only("pk", "name", "depth")]


def _case_orgs(user):
    return _orgs(user, MANAGE).filter(kind__in=services.CASE_ORG_KINDS)


def _move_targets(user, case):
    """Where this worker may move the case: any other case organisation of theirs; a 预备党员's case only to
    the member's current organisation (member_move carries it there; this is for a case left behind before it did)."""
    orgs = _case_orgs(user).exclude(pk=case.organization_id)
    return orgs.filter(pk=case.member.organization_id) if case.member_id else orgs


def _org_param(request, name: str = "org"):
    raw = request.GET.get(name, "")
    return access_organization(actor=request.user, org_id=int(raw)) if raw.isdigit() else None


def _querystring(request, drop=("page",)) -> str:
    query = request.GET.copy()
    for key in drop:
        query.pop(key, None)
    return query.urlencode()


def _load_case(request, case_id: int):
    """A case through the scope (404 outside it); the workbench pages are for its organisation's workers."""
    case = selectors.access_case(actor=request.user, case_id=case_id)
    require(request.user, VIEW, case.organization)
    return case


def _phases(case, history: workflow.History) -> list[dict]:
    """The 5 phases of the national chart, each done / current / todo, with how many of its steps have a record."""
    recorded = {n for n, rows in history.by_number.items() if rows}
    if case.next_step:
        current = case.next_step
    else:
        current = max(recorded, default=1)
    out = []
    for label, lo, hi in workflow.PHASES:
        count = sum(1 for n in range(lo, hi + 1) if n in recorded)
        if case.status == CaseStatus.COMPLETED or hi < current:
            state = "done"
        elif lo <= current <= hi:
            state = "ended" if case.status == CaseStatus.ENDED else "current"
        else:
            state = "todo"
        out.append({"label": label, "first": lo, "last": hi, "count": count, "total": hi - lo + 1, "state": state,
                    "state_text": {"done": "已完成", "current": "进行中", "todo": "未开始", "ended": "已终止"}[state]})
    return out


def _detail_rows(record) -> list[tuple[str, str]]:
    rows = []
    for key, value in record.details.items():
        if key == "late":
            continue
        if isinstance(value, bool):
            value = "是" if value else "否"
        rows.append((workflow.DETAIL_LABELS.get(key, key), str(value)))
    return rows


def _offered(user, case, history: workflow.History, today: dt.date):
    """The steps that may be recorded now, split into those this person may record and those waiting for someone
    else (with who acts), why a step cannot be done at all (no 党委 with 审批权限, §22), and the steps whose
    first possible day is still ahead (services.step_not_before: not offered as a button that would refuse)."""
    committees: dict[str, object] = {}
    manage = can(user, MANAGE, case.organization)
    mine, others, problems, later = [], [], [], []
    for step in workflow.allowed(case.status, history):
        not_before = services.step_not_before(case, step.number, history)
        if not_before is not None and not_before[0] > today:  # a button now could only be refused
            later.append((step, not_before[0], not_before[1]))
            continue
        if step.committee and step.committee in committees:
            org = committees[step.committee]
        else:  # a branch step asks too: it may not be held here at all (the admission at a 临时党支部)
            try:
                org = services.acting_org(case, step, today)
            except DomainError as e:
                org = e
            if step.committee:
                committees[step.committee] = org
        if isinstance(org, DomainError):
            problems.append(f"第{step.number}步“{step.label}”：{org.message}")
            continue
        if step.committee:
            (mine if can(user, APPROVE, org) else others).append((step, org))
        else:
            (mine if manage else others).append((step, case.organization))
    return mine, others, problems, later


# --- the case list and a new case -------------------------------------------------------------------------

@login_required
def case_list_view(request):
    require_somewhere(request.user, VIEW)
    g, today = request.GET, _today()
    org = _org_param(request)
    stage = g.get("stage", "") if g.get("stage") in Stage.values else ""
    status = g.get("status", CaseStatus.OPEN)
    status = status if status in (*CaseStatus.values, "all") else CaseStatus.OPEN
    q = " ".join(g.get("q", "").split())[:50]
    qs = selectors.case_list(org=org, status="" if status == "all" else status, stage=stage, q=q)
    page = Paginator(qs, PAGE_SIZE).get_page(g.get("page"))
    rows = list(page.object_list)
    for c in rows:
        c.badge = _badge(c.next_due, today) if c.status == CaseStatus.OPEN else None
        c.next_label = workflow.STEPS[c.next_step].label if c.next_step in workflow.STEPS else ""
    return render(request, "recruitment/list.html", {
        "rows": rows, "page_obj": page, "querystring": _querystring(request), "org": org,
        "organizations": _options(_orgs(request.user, VIEW)), "stage": stage, "status": status, "q": q,
        "stages": Stage.choices, "statuses": CaseStatus.choices,
        "can_create": bool(request.user.capability_paths(MANAGE)),
        "can_approve": bool(request.user.capability_paths(APPROVE)),
    })


@login_required
def case_create_view(request):
    require_somewhere(request.user, MANAGE)
    form = CaseForm(request.POST or None, organizations=_case_orgs(request.user),
                    initial={"applied_on": _today(), "consent_on": _today()})

    def save(d):
        user = None
        if d.get("username"):
            user = get_user_model().objects.filter(username=d["username"].strip(), is_active=True).first()
            if user is None:
                raise ValidationFailed("本人登录账号：没有这个账号", fields={"username": ["本人登录账号：没有这个账号（请填写用户名）"]})
        data = {k: d.get(k) for k in ("name", "id_number", "phone", "ethnicity", "education", "occupation",
                                      "work_unit", "is_mobile_person", "consent_method", "consent_on", "note")}
        return services.case_create(actor=request.user, organization=d["organization"], data=data,
                                    applied_on=d["applied_on"], user=user)

    case = submit(request, form, save)
    if case is not None:
        messages.success(request, f"已建立{case.name}的发展党员档案（第1步 递交入党申请书）。")
        return redirect("recruitment:detail", case.pk)
    return render(request, "recruitment/form.html", {"form": form, "title": "新建发展党员档案（递交入党申请书）",
                                                     "intro": "年满十八岁、承认党的纲领和章程的，可以向工作、学习所在单位党组织"
                                                              "递交入党申请书（细则第五条、第六条）。",
                                                     "notice_version": settings.DANGJIAN_APPLICANT_NOTICE_VERSION})


def _retention_words(days: int) -> str:
    """DANGJIAN_APPLICANT_RETENTION_DAYS as the notice says it: 1095 → "1095天（约3年）"."""
    years = round(days / 365, 1)
    return f"{days}天（约{years:g}年）" if years >= 1 else f"{days}天"


@login_required
def privacy_notice(request):
    """《入党申请人个人信息处理告知书》 to print and have the applicant sign (PIPL 第十七条 notice, 第二十九条
    separate consent, 第三十条 why the sensitive data is needed). For the workers who open cases; `?org=` puts
    the receiving 党组织 on it (through the scope: another's is 404)."""
    require_somewhere(request.user, MANAGE)
    org = _org_param(request)
    if org is not None:
        require(request.user, MANAGE, org)
    district = settings.DANGJIAN_DISTRICT_NAME
    return render(request, "recruitment/privacy_notice.html", {
        "org": org, "district": district, "processor": f"中共{district}委组织部",
        "version": settings.DANGJIAN_APPLICANT_NOTICE_VERSION,
        "retention": _retention_words(settings.DANGJIAN_APPLICANT_RETENTION_DAYS),
        "organizations": _options(_case_orgs(request.user)),
    })


# --- one case ------------------------------------------------------------------------------------------------

def _case_context(request, case, forms: dict | None = None) -> dict:
    forms, user, today = forms or {}, request.user, _today()
    steps = list(selectors.case_steps(case=case))
    history = workflow.History.of(steps)
    dues = selectors.case_deadlines(case=case, history=history)
    mine, others, problems, later = _offered(user, case, history, today)
    manage = can(user, MANAGE, case.organization)
    is_open = case.status == CaseStatus.OPEN
    timeline = [{
        "s": s, "label": workflow.STEPS[s.number].label, "details": _detail_rows(s), "late": s.details.get("late", ""),
        "people": list(s.people.all()), "documents": list(s.documents.all()),
    } for s in steps]
    context = {
        "case": case, "timeline": timeline, "phases": _phases(case, history),
        "dues": [{"due": d, "badge": _badge(d.on, today)} for d in dues],
        # a step that repeats in place (assessments, a new mentor) is offered again, less prominently
        "offered": [(step, org, bool(history.last(step.number))) for step, org in mine],
        "waiting": others, "problems": problems, "later": later,
        "documents": list(case.documents.select_related("step").order_by("uploaded_at", "id")),
        "moves": list(case.moves.select_related("from_org", "to_org")),
        "can_manage": manage,
        "can_end": manage and is_open and case.stage not in (Stage.PROBATIONARY, Stage.FULL_MEMBER),
        "can_anonymise": manage and case.status == CaseStatus.ENDED and not case.member_id and not case.anonymised_at,
        "can_move": manage and is_open and (not case.member_id or case.member.organization_id != case.organization_id),
        "document_form": forms.get("document") or DocumentForm(),
        "end_form": forms.get("end") or EndForm(initial={"on": today}),
    }
    if context["can_move"]:
        context["move_form"] = forms.get("move") or MoveForm(organizations=_move_targets(user, case),
                                                             initial={"on": today})
    return context


@login_required
def case_detail(request, case_id: int):
    case = _load_case(request, case_id)
    return render(request, "recruitment/detail.html", _case_context(request, case))


def _case_post(request, case_id: int, key: str, form_class, call, done_message: str):
    """One POST act on a case page (upload, 终止, 转移): a refusal re-renders the page with it on the form."""
    case = _load_case(request, case_id)
    require(request.user, MANAGE, case.organization)
    kw = {"organizations": _move_targets(request.user, case)} if form_class is MoveForm else {}
    form = form_class(request.POST, request.FILES, **kw)
    done = submit(request, form, lambda d: call(case, d))
    if done is None:
        return render(request, "recruitment/detail.html", _case_context(request, case, {key: form}), status=422)
    messages.success(request, done_message)
    return redirect("recruitment:detail", case.pk)


@login_required
@require_POST
def document_upload(request, case_id: int):
    return _case_post(request, case_id, "document", DocumentForm, lambda case, d: services.document_add(
        actor=request.user, case=case, kind=d["kind"], upload=d["file"]), "已上传材料。")


@login_required
def document_download(request, case_id: int, document_id: int):
    """A document of a case, through the case's scope (never a public media URL: it holds personal data)."""
    case = _load_case(request, case_id)
    doc = case.documents.filter(pk=document_id).first()
    if doc is None:
        raise NotFound()
    body = services.document_read(actor=request.user, case=case, document=doc)
    return uploads.file_response(body, name=doc.name)


@login_required
@require_POST
def case_end_view(request, case_id: int):
    return _case_post(request, case_id, "end", EndForm, lambda case, d: services.case_end(
        actor=request.user, case=case, on=d["on"], reason=d["reason"]), "已终止该发展党员档案。")


@login_required
@require_POST
def case_anonymise_view(request, case_id: int):
    """The person asked for their data to be deleted before the retention period ran out (PIPL 第四十七条)."""
    case = _load_case(request, case_id)
    services.case_anonymise(actor=request.user, case=case)
    messages.success(request, "已删除该档案中的个人信息（匿名化）。")
    return redirect("recruitment:detail", case.pk)


@login_required
@require_POST
def case_move_view(request, case_id: int):
    return _case_post(request, case_id, "move", MoveForm, lambda case, d: services.case_move(
        actor=request.user, case=case, to=d["to"], on=d["on"]), "档案已随本人转移。")


@login_required
def dossier_download(request, case_id: int):
    case = _load_case(request, case_id)
    body = dossier.dossier_export(actor=request.user, case=case)
    response = HttpResponse(body, content_type=DOCX)
    name = f"发展党员全程纪实档案-{case.name}.docx"
    response["Content-Disposition"] = (f'attachment; filename="recruitment-{case.pk}.docx"; '
                                       f"filename*=UTF-8''{quote(name)}")
    response["Cache-Control"] = "no-store"
    return response


# --- one step -----------------------------------------------------------------------------------------------

def _held_meetings(org):
    """The acting organisation's meetings that took place, newest first (the scope decides which are visible)."""
    return (Meeting.objects.filter(organization=org, held_on__isnull=False,
                                   status__in=(MeetingStatus.HELD, MeetingStatus.RECORDED, MeetingStatus.FROZEN))
            .order_by("-held_on", "-id"))


def _full_members(case):
    return (member_list(filters=MemberFilters(org=case.organization, status=MemberStatus.FULL))
            .filter(standing=Standing.NORMAL).order_by("org_path", "name", "id"))


@login_required
def step_view(request, case_id: int, number: int):
    """GET the form of step `number`, POST it: one services.step_record. Only a step allowed now, and only for
    who acts at it (the branch's workers, or the 党委's for its acts)."""
    case = _load_case(request, case_id)
    step = workflow.STEPS.get(number)
    if step is None:
        raise NotFound("没有这个步骤。")
    today = _today()
    history = selectors.case_history(case=case)
    workflow.check_order(case.status, number, history)  # a Conflict names what must come first
    org = services.acting_org(case, step, today)
    require(request.user, APPROVE if step.committee else MANAGE, org)
    form = StepForm(request.POST or None, step=step, meetings=_held_meetings(org), people=_full_members(case),
                    initial={"on": today})
    if request.method == "POST" and form.is_valid():
        try:
            record = services.step_record(actor=request.user, case=case, data=form.step_input())
        except (PermissionDenied, NotFound):
            raise
        except DomainError as e:
            apply_domain_error(form, e)
        else:
            late = record.details.get("late")
            messages.success(request, f"已记录第{step.number}步“{step.label}”。" + (f"注意：{late}" if late else ""))
            return redirect(reverse("recruitment:detail", args=[case.pk]) + f"#step-{record.pk}")
    return render(request, "recruitment/step.html", {
        "case": case, "step": step, "form": form, "acting_org": org,
        "stage_label": workflow.phase_of(step.number),
        "last": history.last(number),
    })


# --- the 党委's queue and what is due -----------------------------------------------------------------------

@login_required
def queue_view(request):
    require_somewhere(request.user, APPROVE)
    today, org = _today(), _org_param(request)
    rows = [{"case": c, "step": s, "committee": o, "badge": _badge(c.next_due, today)}
            for c, s, o in selectors.committee_queue(actor=request.user, org=org)]
    return render(request, "recruitment/queue.html", {"rows": rows, "org": org,
                                                      "organizations": _options(_orgs(request.user, APPROVE))})


@login_required
def due_view(request):
    require_somewhere(request.user, VIEW)
    today, org = _today(), _org_param(request)
    rows = list(selectors.due_list(org=org, today=today)[:DUE_LIMIT + 1])
    groups = {"red": [], "amber": [], "green": []}
    for c in rows[:DUE_LIMIT]:
        c.badge = _badge(c.next_due, today)
        c.next_label = workflow.STEPS[c.next_step].label if c.next_step in workflow.STEPS else ""
        groups[c.badge["state"]].append(c)
    titles = {"red": "已超期", "amber": "即将到期", "green": "正常"}
    return render(request, "recruitment/due.html", {
        "groups": [(k, titles[k], groups[k]) for k in ("red", "amber", "green")], "org": org,
        "organizations": _options(_orgs(request.user, VIEW)), "truncated": len(rows) > DUE_LIMIT, "limit": DUE_LIMIT,
        "today": today,
    })


# --- plans and statistics ---------------------------------------------------------------------------------

@login_required
def plans_view(request):
    """Each visible 党委's plan for the year beside what was admitted; the plan form (党委 only); statistics."""
    require_somewhere(request.user, VIEW)
    user, today = request.user, _today()
    year_form = YearForm(request.GET or None)
    year = year_form.cleaned_data["year"] if year_form.is_bound and year_form.is_valid() else today.year
    committees_here = _orgs(user, APPROVE).filter(kind__in=COMMITTEE_KINDS)
    plan_form = None
    if committees_here.exists():
        initial = {"year": year}
        edit = _org_param(request, "edit")
        if edit is not None:
            initial["organization"] = edit.pk
            plan = next((p for p, _ in selectors.plans_against_actuals(year=year, org=edit)
                         if p.organization_id == edit.pk), None)
            if plan is not None:
                initial.update({k: getattr(plan, k) for k in services.PLAN_FIELDS}, note=plan.note)
        plan_form = PlanForm(request.POST or None, committees=committees_here, initial=initial)
        saved = submit(request, plan_form, lambda d: services.plan_save(
            actor=user, organization=d["organization"], year=d["year"],
            numbers={k: d.get(k) for k in services.PLAN_FIELDS}, note=d.get("note", "")))
        if saved is not None:
            messages.success(request, f"已保存{saved.organization.name}{saved.year}年发展党员计划。")
            return redirect(reverse("recruitment:plans") + f"?year={saved.year}")
    elif request.method == "POST":
        raise PermissionDenied()
    pairs = {plan.organization_id: (plan, stats) for plan, stats in selectors.plans_against_actuals(year=year)}
    committees = list(_orgs(user, VIEW).filter(kind__in=COMMITTEE_KINDS))
    plans = [{"org": o, "plan": pairs.get(o.pk, (None, None))[0], "stats": pairs.get(o.pk, (None, None))[1],
              "editable": can(user, APPROVE, o)} for o in committees]
    # The statistics block: any visible organisation and period (default: the chosen year so far).
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), today) if year == today.year else dt.date(year, 12, 31)
    stats_form = StatisticsForm(request.GET if "start" in request.GET else None,
                                organizations=_orgs(user, VIEW), initial={"start": start, "end": end})
    stats_org = None
    if stats_form.is_bound and stats_form.is_valid():
        stats_org, start, end = stats_form.cleaned_data["org"], stats_form.cleaned_data["start"], \
            stats_form.cleaned_data["end"]
    stats = selectors.recruitment_statistics(org=stats_org, start=start, end=end)
    return render(request, "recruitment/plans.html", {
        "year": year, "years": list(range(today.year + 1, today.year - 6, -1)), "plans": plans,
        "plan_form": plan_form, "stats_form": stats_form, "stats": stats, "stats_org": stats_org,
        "start": start, "end": end, "plan_fields": services.PLAN_FIELDS,
    })


# --- local practices ---------------------------------------------------------------------------------------

@login_required
def practice_view(request):
    require_somewhere(request.user, APPROVE)
    choices = _orgs(request.user, APPROVE)
    raw = request.POST.get("org") if request.method == "POST" else request.GET.get("org", "")
    org = access_organization(actor=request.user, org_id=int(raw)) if (raw or "").isdigit() else choices.first()
    if org is None:
        raise PermissionDenied()
    require(request.user, APPROVE, org)
    own = LocalPractice.objects.filter(organization=org).first()
    inherited = services.practice_sources(org, inherited_only=True)
    initial = {k: getattr(own, k) for k in services.PRACTICE_FIELDS} if own else {}
    form = PracticeForm(request.POST or None, inherited=inherited, initial=initial)
    saved = submit(request, form, lambda d: services.practice_save(actor=request.user, organization=org, values=d))
    if saved is not None:
        messages.success(request, f"已保存{org.name}的发展党员地方做法设置。")
        return redirect(reverse("recruitment:practice") + f"?org={org.pk}")
    effective = services.local_practice(org)
    rows = [(form[k], inherited.get(k), effective.get(k)) for k in services.PRACTICE_FIELDS]
    return render(request, "recruitment/practice.html", {"org": org, "form": form, "rows": rows,
                                                         "organizations": _options(choices)})


# --- the person's own progress -------------------------------------------------------------------------------

@login_required
def mine(request):
    cases = selectors.own_cases(user=request.user)
    for case in cases:
        steps = list(case.steps.all())
        history = workflow.History.of(steps)
        case.phases = _phases(case, history)
        case.done = [{"on": s.on, "number": s.number, "label": workflow.STEPS[s.number].label,
                      "outcome": s.get_outcome_display() if len(workflow.STEPS[s.number].outcomes) > 1 else ""}
                     for s in steps]
        case.next = workflow.STEPS.get(case.next_step) if case.status == CaseStatus.OPEN else None
    return render(request, "recruitment/mine.html", {"cases": cases})
