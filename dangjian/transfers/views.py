"""Transfer pages: the workbench list, a transfer with its timeline and the actions this person may take,
starting one, registering an incoming letter, the letter itself, statistics, mobile members, and the
member's own progress (转接进程, phone first). Views parse, load through the scope, call one service, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dangjian.core.errors import DomainError, NotFound, PermissionDenied
from dangjian.core.forms import apply_domain_error, submit
from dangjian.core.permissions import require, require_somewhere
from dangjian.core.scoping import subtree_q
from dangjian.members.forms import MemberForm
from dangjian.members.selectors import access_member, own_member
from dangjian.orgs.models import BRANCH_KINDS, Organization
from dangjian.orgs.selectors import access_organization, highest_organization

from . import rules, selectors, services
from .forms import ApproveForm, IncomingForm, MobileForm, PlaceForm, ReasonForm, TransferForm, WholeUnitForm
from .letters import letter_docx
from .models import PRINTABLE, MobileMember, TransferKind, TransferStatus
from .workflow import LABELS

PAGE_SIZE = 50
MOBILE_PAGE_SIZE = 100  # longest out of contact first, so the first page is the one to act on
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- Workbench -------------------------------------------------------------------------------------------


@login_required
def transfer_list_view(request):
    require_somewhere(request.user, "member.view")
    status = request.GET.get("status", "")
    status = status if status in TransferStatus.values else ""
    side = request.GET.get("side", "")
    side = side if side in ("sender", "receiver") else ""
    org = None
    if side:
        org = highest_organization(actor=request.user)
    rows = list(selectors.transfer_list(status=status, side=side, org=org)[:PAGE_SIZE])
    for t in rows:
        t.holder = selectors.holder(t, private=selectors.is_private(actor=request.user, t=t))
    return render(request, "transfers/list.html", {
        "rows": rows, "status": status, "side": side, "statuses": TransferStatus.choices, "page_size": PAGE_SIZE,
        "can_register": bool(request.user.capability_paths(rules.config()["committee_capability"])),
    })


def _detail_context(request, t, forms=None):
    forms = forms or {}
    actions = selectors.actions_for(actor=request.user, t=t)
    private = selectors.is_private(actor=request.user, t=t)
    context = {
        "t": t,
        "private": private,  # the free text (reason, notes) only for the sender side or after acceptance
        "events": selectors.transfer_events(transfer=t),
        "holder": selectors.holder(t, private=private),
        "actions": [(a, LABELS[a]) for a in actions],
        "dues": rules.month_label(t.dues_paid_up_to) if t.dues_paid_up_to else "—",
        "approve_form": forms.get("approve") or ApproveForm(),
        "reissue_form": forms.get("reissue") or ApproveForm(prefix="reissue"),
        "return_form": forms.get("return") or ReasonForm(),
        "can_print": bool(t.letter_number) and t.kind != TransferKind.IN and t.status in PRINTABLE
        and t.sender_committee_id is not None and request.user.has_capability(
            rules.config()["committee_capability"], t.sender_committee.path),
        "error": forms.get("error"),
    }
    if "place" in actions:
        context["place_form"] = forms.get("place") or PlaceForm(
            branches=selectors.branch_choices(committee=t.receiver_committee),
            initial={"branch": t.to_org if t.to_org and t.to_org.is_branch else None})
    if "accept" in actions and t.kind == TransferKind.IN:
        context["member_form"] = forms.get("member") or MemberForm(
            organizations=Organization.unscoped.filter(pk=t.to_org_id),
            initial={"name": t.person_name, "organization": t.to_org_id})
    return context


@login_required
def transfer_detail(request, transfer_id: int):
    t = selectors.access_transfer(actor=request.user, transfer_id=transfer_id)
    return render(request, "transfers/detail.html", _detail_context(request, t))


@login_required
@require_POST
def transfer_act(request, transfer_id: int, action: str):
    """One POST per transition; a refusal shows on the page with the field named, nothing saved."""
    t = selectors.access_transfer(actor=request.user, transfer_id=transfer_id)
    if action not in LABELS or action in ("create", "register", "expire"):
        raise NotFound()
    if not selectors.may(actor=request.user, t=t, action=action):
        raise PermissionDenied()
    user, forms = request.user, {}
    form = None
    if action in ("approve", "reissue"):
        form = ApproveForm(request.POST, prefix="reissue" if action == "reissue" else None)
        fn = services.transfer_approve if action == "approve" else services.transfer_reissue
        call = lambda d: fn(actor=user, transfer=t, valid_days=d.get("valid_days"))  # noqa: E731
    elif action == "return":
        form = ReasonForm(request.POST)
        call = lambda d: services.transfer_return(actor=user, transfer=t, reason=d["reason"])  # noqa: E731
    elif action == "place":
        form = PlaceForm(request.POST, branches=selectors.branch_choices(committee=t.receiver_committee))
        call = lambda d: services.transfer_place(actor=user, transfer=t, branch=d["branch"])  # noqa: E731
    elif action == "accept" and t.kind == TransferKind.IN:
        form = MemberForm(request.POST, organizations=Organization.unscoped.filter(pk=t.to_org_id))
        forms["member"] = form
        call = lambda d: services.transfer_accept(actor=user, transfer=t, member_data=d)  # noqa: E731
    else:
        fn = {"submit": services.transfer_submit, "withdraw": services.transfer_withdraw,
              "accept": services.transfer_accept, "close": services.transfer_close}[action]
        call = lambda d: fn(actor=user, transfer=t)  # noqa: E731
    if form is not None:
        forms.setdefault("approve" if action in ("approve",) else action, form)
        if action == "reissue":
            forms["reissue"] = form
        done = submit(request, form, call)
    else:
        try:
            done = call({})
        except DomainError as e:
            if isinstance(e, PermissionDenied | NotFound):
                raise
            forms["error"] = e.message + "".join(f" {m}" for ms in e.fields.values() for m in ms)
            done = None
    if done is None:
        if form is not None and not form.errors:
            apply_domain_error(form, DomainError("操作未完成"))
        return render(request, "transfers/detail.html", _detail_context(request, t, forms), status=422)
    messages.success(request, f"已{LABELS[action]}。")
    return redirect("transfers:detail", t.pk)


def _destinations():
    return selectors.destination_choices()


@login_required
def transfer_create_view(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    form = TransferForm(request.POST or None, destinations=_destinations())
    t = submit(request, form, lambda d: services.transfer_create(
        actor=request.user, member=member, kind=d["kind"], to_org=d["to_org"], to_external=d["to_external"],
        reason=d["reason"]))
    if t is not None:
        messages.success(request, "已保存转接草稿，核对后请提交。")
        return redirect("transfers:detail", t.pk)
    return render(request, "transfers/form.html", {"form": form, "title": f"为 {member.name} 办理组织关系转接",
                                                   "member": member})


@login_required
def incoming_register(request):
    cap = rules.config()["committee_capability"]
    require_somewhere(request.user, cap)
    destinations = selectors.destination_choices().filter(subtree_q("path", request.user.capability_paths(cap)))
    form = IncomingForm(request.POST or None, destinations=destinations)
    t = submit(request, form, lambda d: services.transfer_register_incoming(actor=request.user, **d))
    if t is not None:
        messages.success(request, "已登记转入介绍信。")
        return redirect("transfers:detail", t.pk)
    return render(request, "transfers/form.html", {"form": form, "title": "登记区外转入介绍信"})


@login_required
def whole_unit(request):
    """整建制转接: an organisation under the actor's committee grant moves under another 党委."""
    cap = rules.config()["committee_capability"]
    require_somewhere(request.user, cap)
    units = Organization.objects.filter(subtree_q("path", request.user.capability_paths(cap)),
                                        parent__isnull=False, is_dissolved=False).order_by("path")
    parents = selectors.destination_choices().exclude(kind__in=BRANCH_KINDS)
    form = WholeUnitForm(request.POST or None, units=units, parents=parents)
    t = submit(request, form, lambda d: services.transfer_whole_unit(actor=request.user, **d))
    if t is not None:
        messages.success(request, f"已将{t.unit.name}整建制转入{t.to_org.name}。")
        return redirect("transfers:detail", t.pk)
    return render(request, "transfers/form.html", {"form": form, "title": "整建制转接"})


@login_required
def letter_download(request, transfer_id: int):
    t = selectors.access_transfer(actor=request.user, transfer_id=transfer_id)
    if t.member_id is None:
        raise NotFound()
    services.letter_printed(actor=request.user, transfer=t)
    body = letter_docx(t, t.member)
    response = HttpResponse(body, content_type=DOCX)
    name = f"组织关系介绍信-{t.person_name}.docx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@login_required
def statistics_view(request):
    require_somewhere(request.user, "member.view")
    today = timezone.localdate()
    org = None
    if request.GET.get("org", "").isdigit():
        org = access_organization(actor=request.user, org_id=int(request.GET["org"]))
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= today.year + 1 else today.year
    stats = selectors.transfer_statistics(org=org, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31), on=today)
    return render(request, "transfers/statistics.html", {"stats": stats, "year": year, "org": org})


# --- The member's own progress ------------------------------------------------------------------------------


@login_required
def my_transfers_view(request):
    member = own_member(actor=request.user)
    rows = list(selectors.my_transfers(member_id=member.pk))
    for t in rows:
        t.holder = selectors.holder(t)
        t.timeline = sorted(t.events.all(), key=lambda e: (e.at, e.pk))
    return render(request, "transfers/my.html", {"rows": rows, "member": member,
                                                 "open": any(t.status not in ("closed", "withdrawn") for t in rows)})


@login_required
def my_transfer_create(request):
    member = own_member(actor=request.user)
    member = access_member(actor=request.user, member_id=member.pk)
    form = TransferForm(request.POST or None, destinations=_destinations())
    t = submit(request, form, lambda d: services.transfer_create(
        actor=request.user, member=member, kind=d["kind"], to_org=d["to_org"], to_external=d["to_external"],
        reason=d["reason"]))
    if t is not None:
        messages.success(request, "已保存转接申请草稿，核对后请提交。")
        return redirect("transfers:detail", t.pk)
    return render(request, "transfers/form.html", {"form": form, "title": "申请组织关系转接", "mobile": True})


# --- 流动党员 --------------------------------------------------------------------------------------------------


@login_required
def mobile_list_view(request, revealed: dict | None = None):
    require_somewhere(request.user, "member.view")
    today = timezone.localdate()
    page = Paginator(selectors.mobile_list(), MOBILE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for m in rows:
        m.lost = selectors.is_lost(m, today)
        m.report_due = selectors.report_due(m, today)
    for m in rows:
        m.contact_shown = (revealed or {}).get(m.pk, m.contact_masked)
    response = render(request, "transfers/mobile.html", {"rows": rows, "page": page, "today": today,
                                                         "may_reveal": bool(request.user.capability_paths("member.reveal"))})
    if revealed:
        response["Cache-Control"] = "no-store"  # a full phone number must not linger in any cache
    return response


@login_required
@require_POST
def mobile_reveal_view(request, mobile_id: int):
    """The list again with this member's 联系方式 in full (audited); never in a redirect or a cookie."""
    from dangjian.core.permissions import load_one

    mobile = load_one(MobileMember.objects.select_related("member__organization"), mobile_id)
    value = services.mobile_contact_reveal(actor=request.user, mobile=mobile)
    return mobile_list_view(request, revealed={mobile.pk: value})


@login_required
def mobile_register_view(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    form = MobileForm(request.POST or None)
    done = submit(request, form, lambda d: services.mobile_register(actor=request.user, member=member, **d))
    if done is not None:
        messages.success(request, f"已登记流动党员 {member.name}。")
        return redirect("transfers:mobile")
    return render(request, "transfers/form.html", {"form": form, "title": f"登记流动党员：{member.name}"})


@login_required
@require_POST
def mobile_contact_view(request, mobile_id: int):
    from dangjian.core.permissions import load_one

    mobile = load_one(MobileMember.objects.select_related("member__organization"), mobile_id)
    require(request.user, "member.manage", mobile.member.organization)
    services.mobile_contact(actor=request.user, mobile=mobile, report=request.POST.get("report") == "1")
    messages.success(request, "已记录。")
    return redirect("transfers:mobile")


@login_required
@require_POST
def mobile_end_view(request, mobile_id: int):
    """结束管理 (the member is back, or their relationship moved on): the record stays, audited."""
    from dangjian.core.permissions import load_one

    mobile = load_one(MobileMember.objects.select_related("member__organization"), mobile_id)
    require(request.user, "member.manage", mobile.member.organization)
    services.mobile_end(actor=request.user, mobile=mobile, reason=request.POST.get("reason", ""))
    messages.success(request, f"已结束对流动党员 {mobile.member.name} 的管理。")
    return redirect("transfers:mobile")
