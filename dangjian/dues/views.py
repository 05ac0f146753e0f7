"""党费 pages: the member's own dues (phone first), and the workbench (roster, assessment, payments,
reductions, public_notice and its export, arrears, statistics). Views parse, load through the scope, call
one service, render."""

from __future__ import annotations

import datetime as dt
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dangjian.core.errors import NotFound, PermissionDenied
from dangjian.core.forms import submit
from dangjian.core.permissions import can, require, require_somewhere
from dangjian.members.selectors import access_member, own_member
from dangjian.orgs.models import Organization
from dangjian.orgs.selectors import access_organization, highest_organization

from . import exports, rules, selectors, services
from .forms import AssessmentForm, DecisionForm, PaymentForm, ReductionForm
from .models import DuesAccount, ReductionStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(request, today: dt.date) -> int:
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() and len(raw) == 4 else today.year
    return min(max(year, 2000), today.year + 1)


def _org_for(request, capability: str = "member.view") -> Organization:
    """The organisation a workbench page is about: through the scope (404 outside), then the capability."""
    org_id = request.resolver_match.kwargs.get("org_id") or request.GET.get("org", "")
    if isinstance(org_id, str):
        org_id = int(org_id) if org_id.isdigit() else None
    if org_id is None:
        if not request.user.capability_paths(capability):
            raise PermissionDenied()
        org = highest_organization(actor=request.user, capability=capability)
        if org is None:
            raise NotFound()
        return org
    org = access_organization(actor=request.user, org_id=org_id)
    require(request.user, capability, org)
    return org


# --- The member's own dues --------------------------------------------------------------------------------------


@login_required
def my_dues(request):
    """我的党费: yearly amount, months paid, paid-up-to, arrears (360 px first)."""
    member = own_member(actor=request.user)
    today = timezone.localdate()
    dues = selectors.member_dues(member=member, year=_year(request, today), on=today)
    return render(request, "dues/my.html", {"dues": dues, "today": today, "years": _years(today)})


def _years(today):
    return [today.year - 2, today.year - 1, today.year, today.year + 1]


# --- Workbench ----------------------------------------------------------------------------------------------------


@login_required
def roster(request, org_id: int):
    org = _org_for(request)
    today = timezone.localdate()
    year = _year(request, today)
    rows = selectors.dues_roster(org=org, year=year, on=today)
    return render(request, "dues/roster.html", {
        "truncated": len(rows) >= selectors.ROSTER_MAX, "limit": selectors.ROSTER_MAX,
        "org": org, "year": year, "rows": rows, "totals": selectors.roster_totals(rows), "years": _years(today),
        "can_manage": can(request.user, "member.manage", org), "today": today,
    })


@login_required
def member_page(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id)
    require(request.user, "member.view", member.organization)
    today = timezone.localdate()
    dues = selectors.member_dues(member=member, year=_year(request, today), on=today)
    return render(request, "dues/member.html", {
        "dues": dues, "today": today, "years": _years(today),
        "can_manage": can(request.user, "member.manage", member.organization),
    })


@login_required
def assess(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    today = timezone.localdate()
    first_time = not DuesAccount.objects.filter(member=member).exists()
    initial = {"year": _year(request, today)}
    form = AssessmentForm(request.POST or None, today=today, first_time=first_time, initial=initial)
    saved = submit(request, form, lambda d: services.assessment_set(actor=request.user, member=member, today=today, **d))
    if saved is not None:
        messages.success(request, f"已核定 {member.name} {saved.year} 年度党费：每月 {rules.yuan(saved.monthly_fen)} 元。")
        return redirect(f"{_member_url(member)}?year={saved.year}")
    return render(request, "dues/form.html", {"form": form, "member": member,
                                               "title": f"核定 {member.name} 的年度党费"})


@login_required
def pay(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    today = timezone.localdate()
    form = PaymentForm(request.POST or None, initial={"paid_on": today, "months": 1})
    saved = submit(request, form, lambda d: services.payment_record(actor=request.user, member=member, today=today, **d))
    if saved is not None:
        paid_to = selectors.paid_up_to(member)
        messages.success(request, f"已登记 {member.name} 的党费，已交至{rules.month_label(paid_to)}。")
        return redirect(_member_url(member))
    paid_to = selectors.paid_up_to(member)
    return render(request, "dues/form.html", {
        "form": form, "member": member, "title": f"登记 {member.name} 交纳党费",
        "hint": f"已交至{rules.month_label(paid_to)}" if paid_to else "尚未核定党费，请先核定年度党费",
    })


def _member_url(member):
    from django.urls import reverse

    return reverse("dues:member", args=[member.pk])


@login_required
def reduction_request(request, assessment_id: int):
    assessment = selectors.access_assessment(actor=request.user, assessment_id=assessment_id, for_write=True)
    member = assessment.member
    form = ReductionForm(request.POST or None)
    saved = submit(request, form, lambda d: services.reduction_request(actor=request.user, assessment=assessment, **d))
    if saved is not None:
        messages.success(request, "减免申请已提交，待上级党委审批。")
        return redirect(_member_url(member))
    return render(request, "dues/form.html", {
        "form": form, "member": member, "title": f"申请减免 {member.name} {assessment.year} 年度党费",
        "hint": f"按标准每月 {rules.yuan(assessment.standard_fen)} 元。经党支部研究、报上一级党委批准，可少交或免交。",
    })


@login_required
def reductions(request):
    require_somewhere(request.user, "member.view")
    pending = list(selectors.reductions_to_decide(actor=request.user)[:200])
    recent = list(selectors.reduction_list()[:50])
    return render(request, "dues/reductions.html", {"pending": pending, "recent": recent})


@login_required
def reduction_decide(request, reduction_id: int):
    reduction = selectors.access_reduction(actor=request.user, reduction_id=reduction_id)
    require(request.user, "member.manage", reduction.member.organization.parent or reduction.member.organization)
    form = DecisionForm(request.POST or None)

    def save(d):
        if d["decision"] == "approve":
            return services.reduction_approve(actor=request.user, reduction=reduction, note=d["note"])
        return services.reduction_reject(actor=request.user, reduction=reduction, note=d["note"])

    saved = submit(request, form, save)
    if saved is not None:
        messages.success(request, f"已{'批准' if saved.status == ReductionStatus.APPROVED else '驳回'}该申请。")
        return redirect("dues:reductions")
    return render(request, "dues/decide.html", {"form": form, "reduction": reduction})


@login_required
def public_notice(request, org_id: int):
    org = _org_for(request)
    today = timezone.localdate()
    year = _year(request, today)
    rows = selectors.dues_roster(org=org, year=year, on=today)
    return render(request, "dues/public_notice.html", {
        "truncated": len(rows) >= selectors.ROSTER_MAX, "limit": selectors.ROSTER_MAX,
        "org": org, "year": year, "rows": rows, "totals": selectors.roster_totals(rows), "years": _years(today),
        "today": today,
    })


@login_required
@require_GET
def public_notice_xlsx(request, org_id: int):
    org = _org_for(request, "member.export")
    today = timezone.localdate()
    year = _year(request, today)
    target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    try:
        exports.public_notice_export(actor=request.user, org=org, year=year, on=today, target=target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return FileResponse(target, as_attachment=True, filename=f"{org.name}{year}年度党费收缴公示表.xlsx",
                        content_type=XLSX)


@login_required
def arrears(request):
    org = _org_for(request)
    today = timezone.localdate()
    warn = sorted(rules.config()["arrears_warning_months"])
    raw = request.GET.get("min", "")
    min_months = int(raw) if raw.isdigit() and 1 <= int(raw) <= 24 else warn[0]
    qs = selectors.arrears_list(org=org, on=today, min_months=min_months)
    total = selectors.arrears_count(org=org, on=today, min_months=min_months)  # the counters, not a count
    rows = [(a, selectors.arrears_months(a.paid_up_to, today)) for a in qs[:500]]
    return render(request, "dues/arrears.html", {
        "org": org, "rows": [{"account": a, "n": n, "level": rules.arrears_level(n)} for a, n in rows],
        "total": total, "min_months": min_months, "choices": sorted({1, *warn, rules.config()["self_departure_months"]}),
    })


@login_required
def statistics(request):
    org = _org_for(request)
    today = timezone.localdate()
    year = _year(request, today)
    last = 12 if year < today.year else (today.month if year == today.year else 0)
    from_m = _month_arg(request, "from", 1)
    to_m = _month_arg(request, "to", max(last, 1))
    if to_m < from_m:
        from_m, to_m = to_m, from_m
    stats = selectors.dues_statistics(org=org, year=year, from_month=from_m, to_month=to_m, on=today)
    return render(request, "dues/statistics.html", {"stats": stats, "years": _years(today), "months": range(1, 13)})


def _month_arg(request, name: str, default: int) -> int:
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 12 else default
