"""Pages of the organisation tree. Views parse, load through scoped selectors, call one service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from dangjian.core.forms import submit
from dangjian.core.permissions import can
from dangjian.members.selectors import member_counts_by_org

from . import services
from .forms import CommitteeMemberForm, DissolveForm, MoveForm, OrganizationForm, SeatEndForm
from .rules import size_warnings, term_warnings
from .selectors import (
    access_committee_seat,
    access_organization,
    committee_list,
    organization_ancestors,
    organization_children,
    organization_list,
    organization_roots,
)


@login_required
def tree(request):
    q = request.GET.get("q", "").strip()
    found = list(organization_list(q=q)[:100]) if q else None
    return render(request, "orgs/tree.html", {"roots": organization_roots(), "q": q, "found": found})


@login_required
def detail(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id)
    today = timezone.localdate()
    seats = list(committee_list(org=org))
    warnings = term_warnings([s for s in seats], today)
    warnings += size_warnings([org], member_counts_by_org(orgs=[org], under=org))
    context = {
        "org": org,
        "ancestors": organization_ancestors(org=org),
        "children": organization_children(org=org),
        "seats": seats,
        "warnings": warnings,
        "can_manage": can(request.user, "org.manage", org),
        "can_add_member": can(request.user, "member.manage", org),
    }
    return render(request, "orgs/detail.html", context)


@login_required
def create(request, parent_id: int):
    parent = access_organization(actor=request.user, org_id=parent_id, for_write=True)
    form = OrganizationForm(request.POST or None)
    org = submit(
        request, form, lambda d: services.organization_create(actor=request.user, parent=parent, **d)
    )
    if org is not None:
        messages.success(request, f"已新建 {org.name}。")
        return redirect("orgs:detail", org.pk)
    return render(
        request, "orgs/form.html", {"form": form, "title": f"在 {parent.name} 下新建组织", "org": parent}
    )


@login_required
def edit(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id, for_write=True)
    initial = {f: getattr(org, f) for f in services.ORG_FIELDS}
    form = OrganizationForm(request.POST or None, initial=initial)
    saved = submit(request, form, lambda d: services.organization_update(actor=request.user, org=org, **d))
    if saved is not None:
        messages.success(request, "已保存。")
        return redirect("orgs:detail", org.pk)
    return render(request, "orgs/form.html", {"form": form, "title": f"修改 {org.name}", "org": org})


@login_required
def move(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id, for_write=True)
    lo, hi = org.subtree_range()
    parents = organization_list().exclude(path__gte=lo, path__lt=hi).exclude(kind="party_group")
    form = MoveForm(request.POST or None, parents=parents)
    saved = submit(
        request,
        form,
        lambda d: services.organization_move(actor=request.user, org=org, new_parent=d["parent"]),
    )
    if saved is not None:
        messages.success(request, f"已将 {org.name} 调整到 {form.cleaned_data['parent'].name} 之下。")
        return redirect("orgs:detail", org.pk)
    return render(
        request, "orgs/form.html", {"form": form, "title": f"调整 {org.name} 的隶属关系", "org": org}
    )


@login_required
def dissolve(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id, for_write=True)
    form = DissolveForm(request.POST or None, initial={"on": timezone.localdate()})
    saved = submit(
        request, form, lambda d: services.organization_dissolve(actor=request.user, org=org, on=d["on"])
    )
    if saved is not None:
        messages.success(request, f"已撤销 {org.name}，历史记录保留。")
        return redirect("orgs:detail", org.pk)
    return render(
        request,
        "orgs/form.html",
        {
            "form": form,
            "title": f"撤销 {org.name}",
            "org": org,
            "note": "撤销后组织和历史记录仍保留；须先转移全部党员、撤销或调整下级组织。",
        },
    )


@login_required
def seat_add(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id, for_write=True)
    form = CommitteeMemberForm(request.POST or None)
    saved = submit(request, form, lambda d: services.committee_member_add(actor=request.user, org=org, **d))
    if saved is not None:
        messages.success(request, "已新增班子成员。")
        return redirect("orgs:detail", org.pk)
    return render(request, "orgs/form.html", {"form": form, "title": f"{org.name}：新增班子成员", "org": org})


@login_required
def seat_end(request, seat_id: int):
    seat = access_committee_seat(actor=request.user, seat_id=seat_id, for_write=True)
    org = seat.organization
    form = SeatEndForm(request.POST or None, initial={"left_on": timezone.localdate()})
    saved = submit(
        request,
        form,
        lambda d: services.committee_member_update(actor=request.user, seat=seat, left_on=d["left_on"]),
    )
    if saved is not None:
        messages.success(request, f"{seat.person_name} 已离任。")
        return redirect("orgs:detail", org.pk)
    return render(request, "orgs/form.html", {"form": form, "title": f"{seat.person_name} 离任", "org": org})
