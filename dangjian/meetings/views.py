"""Pages of organisational life: the workbench (meetings, record, freeze, versions, compliance, statistics,
调阅, 抽查, 主题党日, 民主评议) and the member's phone pages (my meetings, confirm the minutes).

Each view parses input, loads through the scoped selectors, calls one service and renders."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dangjian.core import uploads
from dangjian.core.errors import NotFound, PermissionDenied
from dangjian.core.forms import submit
from dangjian.core.permissions import can, require, require_somewhere
from dangjian.core.scoping import PATH_ALPHABET, subtree_q
from dangjian.orgs.models import BRANCH_KINDS
from dangjian.orgs.selectors import access_organization, organization_list

from . import selectors, services
from .forms import (
    AppraisalForm,
    AttachmentForm,
    CancelForm,
    CorrectionForm,
    FollowUpForm,
    MeetingForm,
    PeriodForm,
    PlanYearForm,
    RecordForm,
    ReviewForm,
    SpotCheckForm,
    ThemeDayForm,
)
from .models import Grade, MeetingKind, MeetingStatus, SpotCheckStatus, ThemeDayRule
from .workflow import meeting_actions

PAGE_SIZE = 30



def _orgs(user, capability="member.manage"):
    return organization_list().filter(subtree_q("path", user.capability_paths(capability)))


def _org_param(request):
    raw = request.GET.get("org", "")
    return access_organization(actor=request.user, org_id=int(raw)) if raw.isdigit() else None


def _period(request, orgs=None):
    form = PeriodForm(request.GET or None, organizations=orgs if orgs is not None else organization_list())
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data
    today = timezone.localdate()
    return form, {"org": None, "start": dt.date(today.year, 1, 1), "end": today}


def _default_org(request, chosen):
    if chosen is not None:
        return chosen
    roots = organization_list().filter(path__in=request.user.capability_paths("member.view"))
    org = roots.first()
    if org is None:
        raise PermissionDenied()
    return org


# --- meetings ---------------------------------------------------------------------------------------------

@login_required
def meeting_list(request):
    require_somewhere(request.user, "member.view")
    org = _org_param(request)
    g = request.GET
    filters = selectors.MeetingFilters(org=org, status=g.get("status", "") if g.get("status") in MeetingStatus.values
                                       else "", kind=g.get("kind", "") if g.get("kind") in MeetingKind.values else "")
    try:
        page = max(1, int(g.get("page", "1")))
    except ValueError:
        page = 1
    qs = selectors.meeting_list(filters=filters)
    rows = list(qs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE + 1])
    query = g.copy()
    query.pop("page", None)
    return render(request, "meetings/list.html", {
        "rows": rows[:PAGE_SIZE], "more": len(rows) > PAGE_SIZE, "page": page, "filters": filters,
        "querystring": query.urlencode(), "status_choices": MeetingStatus.choices, "kind_choices": MeetingKind.choices,
        "can_plan": bool(request.user.capability_paths("member.manage")),
    })


@login_required
def meeting_create(request):
    require_somewhere(request.user, "member.manage")
    initial = {}
    if request.GET.get("org", "").isdigit():
        initial["organization"] = access_organization(actor=request.user, org_id=int(request.GET["org"]))
    form = MeetingForm(request.POST or None, organizations=_orgs(request.user), initial=initial)
    meeting = submit(request, form, lambda d: services.meeting_plan(actor=request.user, **d))
    if meeting is not None:
        messages.success(request, "会议已计划。")
        return redirect("meetings:detail", meeting.pk)
    return render(request, "meetings/form.html", {"form": form, "title": "计划会议"})


@login_required
def meeting_detail(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id)
    record = selectors.meeting_record(meeting=meeting)
    manage = can(request.user, "member.manage", meeting.organization)
    actions = meeting_actions(meeting.status) if manage else set()
    return render(request, "meetings/detail.html", {
        "m": meeting, "record": record, "can_manage": manage, "actions": actions,
        "candidates": list(selectors.notify_candidates(meeting=meeting)) if "notify" in actions else [],
        "attachment_form": AttachmentForm(), "cancel_form": CancelForm(),
    })


@login_required
def meeting_edit(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id, for_write=True)
    initial = {k: getattr(meeting, k) for k in ("title", "place", "chair", "recorder", "agenda")}
    initial["starts_at"] = timezone.localtime(meeting.starts_at)
    initial["kinds"] = meeting.kind_codes
    form = MeetingForm(request.POST or None, editing=True, initial=initial)
    if submit(request, form, lambda d: services.meeting_update(actor=request.user, meeting=meeting, data=d)):
        messages.success(request, "已保存。")
        return redirect("meetings:detail", meeting.pk)
    return render(request, "meetings/form.html", {"form": form, "title": f"修改会议安排：{meeting.title}", "m": meeting})


def _transition(request, meeting_id, call, done):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id, for_write=True)
    call(meeting)
    messages.success(request, done)
    return redirect("meetings:detail", meeting.pk)


@login_required
@require_POST
def meeting_notify(request, meeting_id: int):
    chosen = None
    if request.POST.get("choose"):  # the form lists the members; unticked ones are not expected
        chosen = [int(x) for x in request.POST.getlist("members") if x.isdigit()]
    return _transition(request, meeting_id,
                       lambda m: services.meeting_notify(actor=request.user, meeting=m, member_ids=chosen),
                       "会议通知已发出，应到人员名单已生成。")


@login_required
@require_POST
def meeting_hold(request, meeting_id: int):
    return _transition(request, meeting_id, lambda m: services.meeting_hold(actor=request.user, meeting=m),
                       "已标记为已召开。")


@login_required
@require_POST
def meeting_freeze(request, meeting_id: int):
    return _transition(request, meeting_id, lambda m: services.meeting_freeze(actor=request.user, meeting=m),
                       "会议记录已封存。")


@login_required
@require_POST
def meeting_cancel(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id, for_write=True)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "取消原因：不能为空。")
        return redirect("meetings:detail", meeting.pk)
    services.meeting_cancel(actor=request.user, meeting=meeting, reason=form.cleaned_data["reason"])
    messages.success(request, "会议已取消。")
    return redirect("meetings:detail", meeting.pk)


@login_required
def meeting_record(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id, for_write=True)
    if meeting.status == MeetingStatus.FROZEN:
        messages.error(request, "会议记录已封存，不能直接修改；如需更正，请提交更正（生成新版本，原版本保留）。")
        return redirect("meetings:correct", meeting.pk)
    record = selectors.meeting_record(meeting=meeting)
    initial = {"held_at": timezone.localtime(meeting.starts_at), "chair": meeting.chair, "recorder": meeting.recorder,
               "observers": meeting.observers, "minutes": meeting.minutes}
    for a in record.attendances:
        initial[f"present_{a.member_id}"] = a.present is not False
        initial[f"reason_{a.member_id}"] = a.absence_reason
    for i, r in enumerate(record.resolutions[:RecordForm.RESOLUTION_SLOTS], start=1):
        initial.update({f"r{i}_text": r.text, f"r{i}_admission": r.admission, f"r{i}_yes": r.yes, f"r{i}_no": r.no,
                        f"r{i}_abstain": r.abstain})
    form = RecordForm(request.POST or None, attendances=record.attendances, initial=initial)
    if submit(request, form, lambda d: services.meeting_record(actor=request.user, meeting=meeting,
                                                               **form.service_args())):
        messages.success(request, "会议记录已保存，已通知出席党员确认。")
        return redirect("meetings:detail", meeting.pk)
    return render(request, "meetings/record.html", {"form": form, "m": meeting, "record": record})


@login_required
def meeting_correct(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id, for_write=True)
    initial = {k: getattr(meeting, k) for k in ("chair", "recorder", "agenda", "observers", "minutes")}
    form = CorrectionForm(request.POST or None, initial=initial)
    def save(d):
        d = dict(d)
        return services.meeting_correct(actor=request.user, meeting=meeting, reason=d.pop("reason"), data=d)
    version = submit(request, form, save)
    if version is not None:
        messages.success(request, f"已生成第 {version.number} 版，原版本保留。")
        return redirect("meetings:versions", meeting.pk)
    return render(request, "meetings/form.html", {"form": form, "title": f"更正会议记录：{meeting.title}", "m": meeting})


@login_required
def meeting_versions(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id)
    record = selectors.meeting_record(meeting=meeting)
    return render(request, "meetings/versions.html", {"m": meeting, "versions": record.versions})


@login_required
@require_POST
def attachment_add(request, meeting_id: int):
    meeting = selectors.access_meeting(actor=request.user, meeting_id=meeting_id, for_write=True)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "附件：请选择要上传的文件。")
    else:
        upload = form.cleaned_data["file"]
        limit = services.rules.params()["attachment_max_bytes"]
        content = upload.read(limit + 1)
        services.attachment_add(actor=request.user, meeting=meeting, name=upload.name, content=content)
        messages.success(request, "附件已上传。")
    return redirect("meetings:detail", meeting.pk)


@login_required
def attachment_download(request, attachment_id: int):
    att = selectors.attachment_get(actor=request.user, attachment_id=attachment_id)
    return uploads.file_response(att.file.open("rb"), name=att.name, inline=att.is_image)


# --- compliance and statistics ---------------------------------------------------------------------------

@login_required
def compliance(request):
    """Up to FULL_TABLE_BRANCHES branches (a street): the whole table for the chosen period. Above (a 党委, a
    city's root): the year's summary by child organisation, to drill into, and the branches page by page."""
    require_somewhere(request.user, "member.view")
    form, p = _period(request)
    org = _default_org(request, p["org"])
    if selectors.compliance_branch_count(org=org, up_to=selectors.FULL_TABLE_BRANCHES) > selectors.FULL_TABLE_BRANCHES:
        return _compliance_large(request, form, p, org)
    table = selectors.compliance_table(org=org, start=p["start"], end=p["end"], today=timezone.localdate())
    inactive = list(selectors.inactive_members(org=org, on=min(p["end"], timezone.localdate()))[:200])
    return render(request, "meetings/compliance.html", {"form": form, "org": org, "table": table,
                                                        "inactive": inactive,
                                                        "months": services.rules.params()["inactive_months"]})


def _compliance_large(request, form, p, org):
    # The organisation picker lists the directory; the summary counts branches of the organisation tree, so
    # it is only for organisations the user may view the members of (elsewhere: not found, as by id).
    if not can(request.user, "member.view", org):
        raise NotFound()
    today = timezone.localdate()
    year = p["end"].year
    after = request.GET.get("after", "")
    after = after if len(after) <= 255 and all(c in PATH_ALPHABET for c in after) else ""
    problems = request.GET.get("problems") == "1"
    summary = selectors.compliance_summary(org=org, year=year, today=today)
    page = selectors.compliance_page(org=org, year=year, today=today, after=after, problems_only=problems,
                                     size=selectors.PAGE_BRANCHES)
    keep = {"start": p["start"].isoformat(), "end": p["end"].isoformat()}
    return render(request, "meetings/compliance_large.html", {
        "form": form, "org": org, "summary": summary, "page": page, "year": year,
        "months": services.rules.params()["inactive_months"],
        "whole_year": (p["start"], p["end"]) in ((dt.date(year, 1, 1), dt.date(year, 12, 31)),
                                                  (dt.date(year, 1, 1), today)),
        "keep": urlencode(keep), "here": urlencode({**keep, "org": org.pk}),
        "next": urlencode({**keep, "org": org.pk, "after": page.next_after, **({"problems": 1} if problems else {})})
        if page.next_after else ""})


@login_required
def statistics(request):
    require_somewhere(request.user, "member.view")
    form, p = _period(request)
    org = _default_org(request, p["org"])
    stats = selectors.meeting_statistics(org=org, start=p["start"], end=p["end"])
    reviews = selectors.review_summary(org=org, start=p["start"], end=p["end"])
    return render(request, "meetings/statistics.html", {"form": form, "org": org, "stats": stats, "reviews": reviews,
                                                        "p": p})


# --- 调阅 -------------------------------------------------------------------------------------------------

@login_required
def review(request):
    """The review screen: choose an organisation below one's own and a period; opening it is a batch."""
    require_somewhere(request.user, "member.view")
    orgs = organization_list().filter(subtree_q("path", request.user.capability_paths("member.view"))) \
        .exclude(path__in=request.user.capability_paths("member.view"))
    form = ReviewForm(request.POST or None, organizations=orgs)
    batch = submit(request, form, lambda d: services.review_open(actor=request.user, organization=d["organization"],
                                                                 start=d["start"], end=d["end"]))
    if batch is not None:
        return redirect("meetings:review_batch", batch.pk)
    _, p = _period(request)
    org = _default_org(request, None)
    return render(request, "meetings/review.html", {
        "form": form, "batches": list(selectors.review_batch_list()[:50]),
        "summary": selectors.review_summary(org=org, start=p["start"], end=p["end"]), "org": org, "p": p})


@login_required
def review_batch(request, batch_id: int):
    require_somewhere(request.user, "member.view")
    batch = selectors.access_review_batch(actor=request.user, batch_id=batch_id)
    return render(request, "meetings/review_batch.html", {
        "batch": batch, "meetings": list(selectors.review_batch_meetings(batch=batch))})


# --- 抽查 -------------------------------------------------------------------------------------------------

@login_required
def spot_checks(request):
    require_somewhere(request.user, "member.view")
    status = request.GET.get("status", "")
    rows = list(selectors.spot_check_list(status=status if status in SpotCheckStatus.values else "")[:200])
    manage = request.user.capability_paths("member.manage")
    form = None
    if manage:
        orgs = _orgs(request.user).exclude(path__in=manage)
        form = SpotCheckForm(request.POST or None, organizations=orgs)
        check = submit(request, form, lambda d: services.spot_check_create(actor=request.user, **d))
        if check is not None:
            messages.success(request, "抽查已登记。")
            return redirect("meetings:spot_check", check.pk)
    return render(request, "meetings/spot_checks.html", {"rows": rows, "form": form,
                                                         "status_choices": SpotCheckStatus.choices})


@login_required
def spot_check_detail(request, check_id: int):
    require_somewhere(request.user, "member.view")
    check = selectors.access_spot_check(actor=request.user, check_id=check_id)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") in ("close", "reopen"):
        services.spot_check_close(actor=request.user, check=check, accept=request.POST["action"] == "close")
        messages.success(request, "已处理。")
        return redirect("meetings:spot_check", check.pk)
    if submit(request, form, lambda d: services.spot_check_rectify(actor=request.user, check=check, **d)):
        messages.success(request, "整改情况已提交。")
        return redirect("meetings:spot_check", check.pk)
    parent = check.organization.parent
    return render(request, "meetings/spot_check.html", {
        "check": check, "form": form,
        "can_rectify": check.status == SpotCheckStatus.OPEN and can(request.user, "member.manage", check.organization),
        "can_close": check.status == SpotCheckStatus.RECTIFIED and parent is not None
        and can(request.user, "member.manage", parent)})


# --- 主题党日 ---------------------------------------------------------------------------------------------

@login_required
def theme_day(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id)
    require(request.user, "member.manage", org)
    rule = ThemeDayRule.objects.filter(organization=org).first()
    week, weekday, at, place = services.theme_day_of(rule)
    form = ThemeDayForm(request.POST if request.POST.get("action") == "rule" else None,
                        initial={"week": week, "weekday": weekday, "time": at, "place": place})
    plan = PlanYearForm(request.POST if request.POST.get("action") == "plan" else None,
                        initial={"year": timezone.localdate().year + (1 if timezone.localdate().month == 12 else 0)})
    if submit(request, form, lambda d: services.theme_day_rule_set(actor=request.user, organization=org, **d)):
        messages.success(request, "主题党日固定日已保存。")
        return redirect("meetings:theme_day", org.pk)
    created = submit(request, plan, lambda d: services.theme_day_plan_year(actor=request.user, organization=org,
                                                                           year=d["year"]))
    if created is not None:
        messages.success(request, f"已计划 {created} 次主题党日。")
        return redirect(f"{reverse('meetings:list')}?org={org.pk}&kind=theme_day")
    return render(request, "meetings/theme_day.html", {"org": org, "form": form, "plan": plan, "rule": rule})


# --- 民主评议 ---------------------------------------------------------------------------------------------

@login_required
def appraisals(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id)
    if not can(request.user, "member.view", org):
        raise NotFound()
    if org.kind not in BRANCH_KINDS:
        raise NotFound("民主评议按党支部进行，请选择党支部。")
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
    except ValueError:
        year = today.year
    members = list(selectors.appraisal_members(org=org))
    existing = {a.member_id: a for a in selectors.appraisal_list(org=org, year=year)}
    form = AppraisalForm(request.POST or None, members=members, existing=existing)
    if submit(request, form, lambda d: services.appraisal_save(actor=request.user, organization=org, year=year,
                                                               rows=form.rows())):
        messages.success(request, "民主评议结果已保存。")
        return redirect(f"{reverse('meetings:appraisals', args=[org.pk])}?year={year}")
    grade_counts = [(g, label, sum(1 for a in existing.values() if a.grade == g)) for g, label in Grade.choices]
    return render(request, "meetings/appraisals.html", {
        "org": org, "year": year, "form": form, "existing": existing, "grade_counts": grade_counts,
        "can_manage": can(request.user, "member.manage", org)})


# --- the member's phone pages ----------------------------------------------------------------------------

@login_required
def my_meetings(request):
    rows = list(selectors.my_meetings(actor=request.user)[:100])
    return render(request, "meetings/my.html", {"rows": rows, "today": timezone.localdate()})


@login_required
def my_detail(request, meeting_id: int):
    att = selectors.my_attendance(actor=request.user, meeting_id=meeting_id)
    meeting = att.meeting
    record = selectors.meeting_record(meeting=meeting, unscoped=True)  # reached through the member's own row
    can_confirm = (meeting.status == MeetingStatus.RECORDED and att.present and att.confirmed_at is None
                   and meeting.confirm_until and timezone.localdate() <= meeting.confirm_until)
    return render(request, "meetings/my_detail.html", {"att": att, "m": meeting, "record": record,
                                                       "can_confirm": can_confirm})


@login_required
@require_POST
def my_confirm(request, meeting_id: int):
    att = selectors.my_attendance(actor=request.user, meeting_id=meeting_id)
    services.meeting_confirm(actor=request.user, meeting=att.meeting)
    messages.success(request, "已确认会议记录。")
    return redirect("meetings:my_detail", meeting_id)
