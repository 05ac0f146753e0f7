"""Roster pages: list with search and filters, the member page with history, create, edit, reveal."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dangjian.core import codes
from dangjian.core.forms import submit
from dangjian.core.permissions import can, require_somewhere
from dangjian.core.scoping import subtree_q
from dangjian.orgs.models import Sector
from dangjian.orgs.selectors import access_organization, organization_list

from . import services
from .forms import DisciplineForm, DisciplineUpdateForm, MemberForm
from .models import MemberStatus
from .selectors import (
    MemberFilters,
    access_discipline,
    access_member,
    discipline_list,
    list_plan,
    member_count,
    member_history,
    member_page,
    own_member,
)

PAGE_SIZE = 20
PAGE_KEY = re.compile(r"^([0-9A-Z]{1,255})-(\d{1,18})$")


def filters_from_request(request) -> MemberFilters:
    """The list's query string → MemberFilters (also used by the roster export)."""
    g = request.GET
    org = None
    if g.get("org", "").isdigit():
        org = access_organization(actor=request.user, org_id=int(g["org"]))
    return MemberFilters(
        q=g.get("q", "")[:50], org=org, status=g.get("status", ""), gender=g.get("gender", ""),
        age_band=g.get("age_band", ""), education_level=g.get("education_level", "")[:1], sector=g.get("sector", ""),
        today=timezone.localdate(),
    )


@login_required
def member_list_view(request):
    if not request.user.capability_paths("member.view"):
        return redirect("web:home")
    filters = filters_from_request(request)
    after, before = _page_key(request.GET.get("after")), _page_key(request.GET.get("before"))
    plan = list_plan(filters)  # one read of the counters serves both
    rows, more = member_page(filters=filters, after=after, before=None if after else before, size=PAGE_SIZE,
                             plan=plan)
    total, exact = member_count(filters=filters, plan=plan)
    query = request.GET.copy()
    for key in ("after", "before", "page"):
        query.pop(key, None)
    context = {
        "rows": rows,
        "total": total,
        "total_exact": exact,
        # keyset links: "next" continues after the last row, "previous" ends before the first one
        "next_key": _key_of(rows[-1]) if rows and (more or before) else None,
        "previous_key": _key_of(rows[0]) if rows and (after or (before and more)) else None,
        "filters": filters,
        "querystring": query.urlencode(),
        "status_choices": MemberStatus.choices,
        "gender_choices": codes.Gender.choices,
        "age_bands": [b[0] for b in codes.AGE_BANDS],
        "education_levels": codes.EDUCATION_LEVELS,
        "sectors": Sector.choices,
        "can_create": bool(request.user.capability_paths("member.manage")),
        "can_import": bool(request.user.capability_paths("member.import")),
    }
    return render(request, "members/list.html", context)


def _page_key(raw: str | None) -> tuple[str, int] | None:
    """A page position in the URL: "<org_path>-<id>" of a row; anything else means the first page."""
    match = PAGE_KEY.match(raw or "")
    return (match[1], int(match[2])) if match else None


def _key_of(member) -> str:
    return f"{member.org_path}-{member.pk}"


def _detail_context(request, member, discipline_form=None):
    today = timezone.localdate()
    can_edit = can(request.user, "member.manage", member.organization)
    own = member.user_id == request.user.pk
    return {
        "member": member,
        "history": member_history(member=member),
        "today": today,
        "can_edit": can_edit,
        "can_reveal": can(request.user, "member.reveal", member.organization) or own,
        "standing_years": member.party_standing_years(today),
        # 党纪处分 is sensitive (DOMAIN-RULES §7.3): only for those who manage the member, and the member.
        "disciplines": discipline_list(member=member, on=today) if can_edit or own else None,
        "discipline_form": discipline_form or (DisciplineForm(initial={"decided_on": today}) if can_edit else None),
    }


@login_required
def member_detail(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id)
    return render(request, "members/detail.html", _detail_context(request, member))


@login_required
def member_me(request):
    """线上党员中心 starts here: a member's own record."""
    member = own_member(actor=request.user)
    return render(request, "members/detail.html", _detail_context(request, member))


@login_required
@require_POST
def member_reveal(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id)
    field = request.POST.get("field", "")
    value = services.member_reveal(actor=request.user, member=member, field=field)
    context = _detail_context(request, member) | {"revealed": {field: value}}
    response = render(request, "members/detail.html", context)
    response["Cache-Control"] = "no-store"  # the full value must not stay in any cache
    return response


@login_required
@require_POST
def discipline_create(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    form = DisciplineForm(request.POST)
    if submit(request, form, lambda d: services.discipline_record(actor=request.user, member=member, data=d)):
        messages.success(request, "已记录党纪处分。")
        return redirect("members:detail", member.pk)
    return render(request, "members/detail.html", _detail_context(request, member, discipline_form=form))


@login_required
def discipline_edit(request, member_id: int, discipline_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    discipline = access_discipline(actor=request.user, member=member, discipline_id=discipline_id, for_write=True)
    initial = {f: getattr(discipline, f) for f in DisciplineUpdateForm.base_fields}
    form = DisciplineUpdateForm(request.POST or None, initial=initial)
    if submit(request, form, lambda d: services.discipline_update(actor=request.user, discipline=discipline, data=d)):
        messages.success(request, "已保存。")
        return redirect("members:detail", member.pk)
    title = f"修改 {member.name} 的党纪处分记录（{discipline.get_kind_display()}，{discipline.decided_on:%Y-%m-%d}）"
    return render(request, "members/form.html", {"form": form, "title": title, "member": member})


def _manageable_orgs(user):
    """Organisations the user may register members in (a subset of what they may see)."""
    return organization_list().filter(subtree_q("path", user.capability_paths("member.manage")))


@login_required
def member_create(request):
    require_somewhere(request.user, "member.manage")
    orgs = _manageable_orgs(request.user)
    initial = {}
    if request.GET.get("org", "").isdigit():
        initial["organization"] = access_organization(actor=request.user, org_id=int(request.GET["org"]))
    form = MemberForm(request.POST or None, organizations=orgs, initial=initial)
    _label_orgs(form)
    member = submit(request, form, lambda d: services.member_create(actor=request.user, data=d))
    if member is not None:
        messages.success(request, f"已登记党员 {member.name}。")
        return redirect("members:detail", member.pk)
    return render(request, "members/form.html", {"form": form, "title": "新增党员"})


@login_required
def member_edit(request, member_id: int):
    member = access_member(actor=request.user, member_id=member_id, for_write=True)
    form = MemberForm(request.POST or None, organizations=_manageable_orgs(request.user), initial=_initial(member),
                      editing=True)
    _label_orgs(form)
    if submit(request, form, lambda d: services.member_update(actor=request.user, member=member, data=d)):
        messages.success(request, "已保存。")
        return redirect("members:detail", member.pk)
    return render(request, "members/form.html", {"form": form, "title": f"修改 {member.name} 的信息", "member": member})


def _initial(member) -> dict:
    """The edit form starts from the record. ID number and phone are never decrypted into it: a blank
    field keeps the stored value, so editing needs no reveal permission and shows nothing new."""
    data = {f: getattr(member, f) for f in services.PLAIN_FIELDS}
    data["organization"] = member.organization
    return data


def _label_orgs(form):
    form.fields["organization"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name
