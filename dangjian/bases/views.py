"""Pages of the 党建阵地: the public directory, a base's free slots and the 云地图 (no login), and the
workers' pages (sites, slots, reservations, statistics). Views parse, load through the scope or the public
selectors, call one service, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from dangjian.core import uploads
from dangjian.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from dangjian.core.forms import submit
from dangjian.core.permissions import can, load_one, require, require_somewhere
from dangjian.core.scoping import subtree_q
from dangjian.orgs.selectors import access_organization, organization_list

from . import rules, selectors, services, workflow
from .forms import BookingForm, CheckInForm, CloseSlotForm, ReasonForm, SiteForm, SlotsForm
from .models import ReservationStatus, SiteKind, Slot

# The most sites a public page or the GeoJSON lists: the map, its list and the directory show the same ones.
PUBLIC_LIMIT = 500


def _orgs(user, capability: str):
    return organization_list().filter(subtree_q("path", user.capability_paths(capability)))


def _filters(request) -> dict:
    g = request.GET
    kind = g.get("kind", "")
    return {"kind": kind if kind in SiteKind.values else "", "street": g.get("street", "").strip()[:50],
            "service": g.get("service", "").strip()[:50], "q": g.get("q", "").strip()[:50]}


def _filter_context(request) -> dict:
    filters = _filters(request)
    return {"filters": filters, "kind_choices": SiteKind.choices, "streets": selectors.public_streets(),
            "services": selectors.public_services(),
            "querystring": urlencode({k: v for k, v in filters.items() if v})}


# --- public ---------------------------------------------------------------------------------------------

def directory(request):
    context = _filter_context(request)
    sites = list(selectors.public_site_list(**context["filters"])[:PUBLIC_LIMIT])
    return render(request, "bases/directory.html", {**context, "sites": sites})


def site_public(request, site_id: int):
    site = selectors.public_site_get(site_id=site_id)
    slots = selectors.free_slots(site=site) if site.is_bookable else []
    return render(request, "bases/site.html", {"site": site, "slots": slots,
                                               "can_book": request.user.is_authenticated and bool(
                                                   request.user.capability_paths("member.manage"))})


def site_photo(request, site_id: int):
    """The photo of a published site (public, like the site's page)."""
    site = selectors.public_site_get(site_id=site_id)
    if not site.photo:
        raise Http404()
    name = f"{site.name}{uploads.suffix_of(site.photo.name)}"
    return uploads.file_response(site.photo.open("rb"), name=name, inline=True, public=True)


def site_map(request):
    p = rules.params()
    config = {"tiles": p["tile_url"], "attribution": p["tile_attribution"], "center": p["map_center"],
              "zoom": p["map_zoom"]}
    context = _filter_context(request)
    sites = list(selectors.public_site_list(**context["filters"])[:PUBLIC_LIMIT])
    return render(request, "bases/map.html", {**context, "sites": sites, "config": config,
                                              "geojson_url": reverse("bases:geojson")})


def geojson(request):
    """Published sites with coordinates, public fields only (the contact phone only where marked public)."""
    features = []
    sites = selectors.public_site_list(**_filters(request)).filter(longitude__isnull=False, latitude__isnull=False)
    for s in sites[:PUBLIC_LIMIT]:
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(s.longitude), float(s.latitude)]},
            "properties": {
                "id": s.pk, "name": s.name, "kind": s.kind, "kind_label": s.get_kind_display(),
                "category": s.get_category_display() if s.category else "", "address": s.address,
                "street": s.street, "hours": s.hours_label, "services": s.service_list,
                "phone": s.contact_phone if s.contact_public else "", "bookable": s.is_bookable,
                "url": reverse("bases:site", args=[s.pk]),
            },
        })
    response = JsonResponse({"type": "FeatureCollection", "features": features},
                            json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/geo+json; charset=utf-8"
    return response


# --- sites (workers) ------------------------------------------------------------------------------------

@login_required
def manage(request):
    require_somewhere(request.user, "member.view")
    kind = request.GET.get("kind", "")
    sites = list(selectors.site_list(kind=kind if kind in SiteKind.values else "")[:500])
    return render(request, "bases/manage.html", {
        "sites": sites, "kind": kind, "kind_choices": SiteKind.choices,
        "can_create": bool(request.user.capability_paths("org.manage"))})


@login_required
def site_create(request):
    require_somewhere(request.user, "org.manage")
    form = SiteForm(request.POST or None, request.FILES or None, organizations=_orgs(request.user, "org.manage"),
                    initial={"opens_at": dt.time(9), "closes_at": dt.time(17), "open_weekdays": list("01234"),
                             "capacity": 30})
    site = submit(request, form, lambda d: services.site_create(
        actor=request.user, organization=d.pop("organization"), photo=d.pop("photo", None), data=d))
    if site is not None:
        messages.success(request, f"已新增 {site.name}。")
        return redirect("bases:site_manage", site.pk)
    return render(request, "bases/form.html", {"form": form, "title": "新增党建阵地", "multipart": True})


@login_required
def site_edit(request, site_id: int):
    site = selectors.access_site(actor=request.user, site_id=site_id, for_write=True)
    initial = {f: getattr(site, f) for f in services.SITE_FIELDS}
    initial["open_weekdays"] = list(site.open_weekdays)
    form = SiteForm(request.POST or None, request.FILES or None, initial=initial, editing=True)
    saved = submit(request, form, lambda d: services.site_update(
        actor=request.user, site=site, photo=d.pop("photo", None), data=d))
    if saved is not None:
        messages.success(request, "已保存。")
        return redirect("bases:site_manage", site.pk)
    return render(request, "bases/form.html", {"form": form, "title": f"修改 {site.name}", "site": site,
                                               "multipart": True})


@login_required
def site_manage(request, site_id: int):
    site = selectors.access_site(actor=request.user, site_id=site_id)
    manager = can(request.user, "member.manage", site.organization)
    today = timezone.localdate()
    first, last = today - dt.timedelta(days=7), today + dt.timedelta(days=rules.params()["booking_horizon_days"])
    form = SlotsForm(request.POST or None, initial={"first": today + dt.timedelta(days=1),
                                                    "last": today + dt.timedelta(days=30)})
    if request.method == "POST":
        require(request.user, "member.manage", site.organization)

        def save(d):
            times = services.parse_times(d["times"])
            return services.slots_create(actor=request.user, site=site, first=d["first"], last=d["last"],
                                         times=times, capacity=d["capacity"])

        created = submit(request, form, save)
        if created:
            messages.success(request, f"已开放 {created} 个预约时段。")
            return redirect("bases:site_manage", site.pk)
    slots = list(selectors.manager_slots(site=site, first=first, last=last)[:300])
    reservations = list(selectors.reservation_list(site=site, first=first, last=last)[:500])
    by_slot: dict[int, list] = {}
    for r in reservations:
        r.actions = _actions_for(request.user, r)  # per side: the base's actions and, if also its, the branch's
        by_slot.setdefault(r.slot_id, []).append(r)
    for s in slots:
        s.rows = by_slot.get(s.pk, [])
    return render(request, "bases/site_manage.html", {
        "site": site, "slots": slots, "form": form, "manager": manager, "today": today,
        "can_edit": can(request.user, "org.manage", site.organization), "close_form": CloseSlotForm(),
        "checkin_form": CheckInForm(), "reason_form": ReasonForm()})


@login_required
@require_POST
def slot_close(request, slot_id: int):
    slot = load_one(Slot.objects.select_related("site", "site__organization"), slot_id, actor=request.user,
                    capability="member.manage", org_of=lambda s: s.site.organization)
    form = CloseSlotForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed("关闭原因：请填写关闭原因", fields={"reason": ["关闭原因：请填写关闭原因"]})
        services.slot_close(actor=request.user, slot=slot, reason=form.cleaned_data["reason"])
        messages.success(request, f"已关闭时段 {slot}。")
    except DomainError as e:
        messages.error(request, e.message)
    return redirect("bases:site_manage", slot.site_id)


# --- booking ------------------------------------------------------------------------------------------

@login_required
def book(request, slot_id: int):
    require_somewhere(request.user, "member.manage")
    slot = selectors.public_slot_get(slot_id=slot_id)
    free = next((f.free for f in selectors.free_slots(site=slot.site) if f.slot.pk == slot.pk), 0)
    orgs = _orgs(request.user, "member.manage")
    initial = {"contact_name": getattr(request.user, "display_name", "")}
    if orgs.count() == 1:
        initial["branch"] = orgs.first()
    form = BookingForm(request.POST or None, organizations=orgs, initial=initial)
    r = submit(request, form, lambda d: services.reservation_book(actor=request.user, slot=slot, **d))
    if r is not None:
        if r.status == ReservationStatus.WAITING:
            messages.success(request, "名额已满，已登记候补；有名额空出时将按顺序通知。")
        else:
            messages.success(request, f"预约已提交：{r.get_status_display()}。")
        return redirect("bases:reservation", r.pk)
    return render(request, "bases/book.html", {"form": form, "slot": slot, "site": slot.site, "free": free})


@login_required
def reservations(request):
    require_somewhere(request.user, "member.view")
    status = request.GET.get("status", "")
    rows = list(selectors.reservation_list(branch_side=True,
                                           status=status if status in ReservationStatus.values else "")[:500])
    for r in rows:
        r.actions = _actions_for(request.user, r)
    return render(request, "bases/reservations.html", {"rows": rows, "status": status,
                                                        "status_choices": ReservationStatus.choices})


def _actions_for(user, r) -> set[str]:
    """What this user may do to this reservation now, by side (branch or base)."""
    allowed = workflow.allowed(r.status)
    out = set()
    if can(user, "member.manage", r.branch):
        out |= allowed & {"cancel", "accept", "to_meeting"}
        if r.status == ReservationStatus.OFFERED:
            out.add("decline")
        if r.meeting_id:
            out.discard("to_meeting")
    if can(user, "member.manage", r.site.organization):
        out |= allowed & {"approve", "reject", "cancel", "check_in", "no_show"}
    return out


@login_required
def reservation_detail(request, reservation_id: int):
    r = selectors.access_reservation(reservation_id=reservation_id)
    r.actions = _actions_for(request.user, r)
    return render(request, "bases/reservation.html", {
        "r": r, "events": list(selectors.reservation_events(reservation=r)),
        "checkin_form": CheckInForm(initial={"attended": r.people}), "reason_form": ReasonForm()})


ACTIONS = {"approve", "reject", "cancel", "decline", "check_in", "no_show", "accept", "to_meeting"}


@login_required
@require_POST
def reservation_action(request, reservation_id: int, action: str):
    if action not in ACTIONS:
        raise Http404()
    r = selectors.access_reservation(reservation_id=reservation_id)
    user, post = request.user, request.POST
    back = post.get("next") if post.get("next", "").startswith("/bases/") else reverse("bases:reservation", args=[r.pk])
    try:
        if action == "approve":
            services.reservation_approve(actor=user, reservation=r)
            done = "已审核通过。"
        elif action == "reject":
            services.reservation_reject(actor=user, reservation=r, reason=post.get("reason", ""))
            done = "已退回该预约。"
        elif action in ("cancel", "decline"):
            services.reservation_cancel(actor=user, reservation=r, reason=post.get("reason", ""))
            done = "已放弃候补名额。" if action == "decline" else "已取消预约。"
        elif action == "check_in":
            form = CheckInForm(post)
            if not form.is_valid():
                raise ValidationFailed("实到人数：请输入整数", fields={"attended": ["实到人数：请输入整数"]})
            services.reservation_check_in(actor=user, reservation=r, attended=form.cleaned_data["attended"])
            done = "已签到。"
        elif action == "no_show":
            services.reservation_no_show(actor=user, reservation=r)
            done = "已登记未到场。"
        elif action == "accept":
            services.reservation_accept(actor=user, reservation=r)
            done = "已接受候补名额。"
        else:
            meeting = services.reservation_to_meeting(actor=user, reservation=r)
            messages.success(request, "已生成会议，请补充出席情况和会议记录。")
            return redirect("meetings:detail", meeting.pk)
        messages.success(request, done)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as e:
        messages.error(request, e.message)
    return redirect(back)


# --- statistics ---------------------------------------------------------------------------------------

@login_required
def statistics(request):
    require_somewhere(request.user, "member.view")
    today = timezone.localdate()
    orgs = _orgs(request.user, "member.view")
    raw = request.GET.get("org", "")
    # Only ASCII digits are an id: "²" passes str.isdigit() but not int().
    org_id = int(raw) if raw.isascii() and raw.isdigit() else None
    org = access_organization(actor=request.user, org_id=org_id) if org_id is not None else orgs.first()
    if org is None:
        raise NotFound()
    require(request.user, "member.view", org)
    errors = {}
    first, last = dt.date(today.year, 1, 1), today
    try:
        if request.GET.get("first"):
            first = dt.date.fromisoformat(request.GET["first"])
        if request.GET.get("last"):
            last = dt.date.fromisoformat(request.GET["last"])
    except ValueError:
        errors["period"] = "统计期间：日期格式应如 2026-01-01"
    if last < first:
        errors["period"] = "统计期间：结束日期应不早于开始日期"
        first, last = last, first
    report = selectors.base_usage(under=org, first=first, last=last)
    return render(request, "bases/statistics.html", {"org": org, "orgs": orgs[:200], "first": first, "last": last,
                                                     "report": report, "errors": errors})


