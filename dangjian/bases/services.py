"""Writes of the 党建阵地 and their reservations. Each public function is one transaction with its audit
entry. Capacity follows pretix: lock the slot row, then count the places held, then create, all in one
transaction, so two branches booking the last places at once cannot both get them (ARCHITECTURE §6).
Lock order everywhere: the slot, then its reservations (in id order).
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import diff, log_action
from dangjian.core import uploads
from dangjian.core.actors import actor_label
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.core.permissions import can, require
from dangjian.notifications.selectors import workers_of
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import Organization

from . import notices, rules, selectors, workflow
from .models import HOLDING, BaseCategory, Reservation, ReservationEvent, Site, SiteKind, Slot
from .models import ReservationStatus as S

# The bookings the branch may no longer cancel itself inside the cut-off (not an offer, not the queue).
BOOKED = (S.REQUESTED, S.APPROVED)

registry.register({
    "bases.site.created": "新增党建阵地",
    "bases.site.updated": "修改党建阵地",
    "bases.slots.created": "开放预约时段",
    "bases.slot.closed": "关闭预约时段",
    "bases.reservation.requested": "提交基地预约",
    "bases.reservation.waitlisted": "登记基地候补",
    "bases.reservation.approved": "审核通过基地预约",
    "bases.reservation.rejected": "退回基地预约",
    "bases.reservation.cancelled": "取消基地预约",
    "bases.reservation.checked_in": "基地预约签到",
    "bases.reservation.no_show": "登记预约未到场",
    "bases.reservation.offered": "候补递补名额",
    "bases.reservation.accepted": "接受候补名额",
    "bases.reservation.expired": "候补失效",
    "bases.reservation.to_meeting": "预约生成会议记录",
})

SITE_FIELDS = ("name", "kind", "category", "address", "street", "longitude", "latitude", "opens_at", "closes_at",
               "open_weekdays", "hours_note", "contact_name", "contact_phone", "contact_public", "capacity",
               "services", "description", "requires_approval", "is_published")
TEXT_LIMITS = {"name": ("名称", 100), "address": ("地址", 200), "street": ("所属街道", 50),
               "hours_note": ("开放时间说明", 200), "contact_name": ("联系人", 50), "contact_phone": ("联系电话", 30),
               "services": ("服务项目", 2000), "description": ("简介", 5000)}
PHONE_RE = re.compile(r"^[0-9+\-() ]{7,30}$")
PHOTO_MAX_BYTES = 5 * 1024 * 1024


def _lock(obj):
    obj.refresh_from_db(from_queryset=type(obj).unscoped.select_for_update())
    return obj


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _fail(errors: dict[str, list[str]]):
    if errors:
        raise ValidationFailed("提交的内容有误：" + "；".join(m for ms in errors.values() for m in ms), fields=errors)


# --- sites --------------------------------------------------------------------------------------------

def _clean_site(data: dict) -> dict:
    out = {f: data[f] for f in SITE_FIELDS if f in data}
    errors: dict[str, list[str]] = {}
    for f, (label, limit) in TEXT_LIMITS.items():
        if f in out:
            out[f] = (out[f] or "").strip()
            if len(out[f]) > limit:
                errors[f] = [f"{label}：不能超过{limit}个字"]
    for f, label in (("name", "名称"), ("address", "地址")):
        if not out.get(f):
            errors[f] = [f"{label}：不能为空"]
    if out.get("kind") not in SiteKind.values:
        errors["kind"] = ["类型：请选择阵地类型"]
    if out.get("kind") == SiteKind.ACTIVITY_BASE:
        if out.get("category") not in BaseCategory.values:
            errors["category"] = ["基地类别：开放式组织生活基地须选择基础型、红色型、公益型或科技型"]
    else:
        out["category"] = ""
    errors.update(rules.coordinate_errors(out.get("longitude"), out.get("latitude")))
    opens, closes = out.get("opens_at"), out.get("closes_at")
    if opens is None or closes is None:
        errors["opens_at"] = ["开放时间：请填写开放时间的起止"]
    elif closes <= opens:
        errors["closes_at"] = ["开放时间（止）：应晚于开放时间（起）"]
    days = "".join(sorted(set(out.get("open_weekdays") or "")))
    if not days or any(c not in "0123456" for c in days):
        errors["open_weekdays"] = ["开放日：请至少选择一天（0=周一 … 6=周日）"]
    out["open_weekdays"] = days
    capacity = out.get("capacity")
    if capacity is None or capacity < 1 or capacity > 100000:
        errors["capacity"] = ["可容纳人数：应为 1～100000 的整数"]
    if out.get("contact_phone") and not PHONE_RE.match(out["contact_phone"]):
        errors["contact_phone"] = ["联系电话：只能包含数字、空格和“-”，7～30位"]
    _fail(errors)
    return out


def _check_photo(photo) -> None:
    if photo is None:
        return
    if (photo.size or 0) > PHOTO_MAX_BYTES:
        _fail({"photo": ["照片：不能超过 5 MB"]})
    ext = uploads.suffix_of(photo.name or "")
    head = photo.read(16)
    photo.seek(0)
    if ext not in uploads.IMAGES or not uploads.content_matches(ext, head):
        _fail({"photo": ["照片：只接受 JPG 或 PNG 图片"]})


def _forget_public_choices() -> None:
    """The public pages' cached street and service choices: forgotten now (this process reads its own writes)
    and again after the commit (a reader in between may have cached the old lists)."""
    selectors.forget_public_choices()
    transaction.on_commit(selectors.forget_public_choices)


def _site_view(site: Site) -> dict:
    out = {}
    for f in SITE_FIELDS:
        v = getattr(site, f)
        out[f] = v.strftime("%H:%M") if isinstance(v, dt.time) else (str(v) if v is not None and f in (
            "longitude", "latitude") else v)
    return out


@transaction.atomic
def site_create(*, actor, organization: Organization, data: dict, photo=None) -> Site:
    _lock(organization)
    require(actor, "org.manage", organization)
    if organization.is_dissolved:
        _fail({"organization": ["管理组织：该组织已撤销"]})
    clean = _clean_site(data)
    _check_photo(photo)
    site = Site(organization=organization, org_path=organization.path, **clean)
    if photo is not None:
        site.photo.save(uploads.stored_name(uploads.suffix_of(photo.name)), photo, save=False)
    site.save()
    log_action(actor=actor, action="bases.site.created", target=site, changes=_site_view(site))
    _forget_public_choices()
    return site


@transaction.atomic
def site_update(*, actor, site: Site, data: dict, photo=None) -> Site:
    _lock(site)
    require(actor, "org.manage", site.organization)
    before = _site_view(site)
    clean = _clean_site({**{f: getattr(site, f) for f in SITE_FIELDS}, **data})
    _check_photo(photo)
    for f, v in clean.items():
        setattr(site, f, v)
    if photo is not None:
        site.photo.save(uploads.stored_name(uploads.suffix_of(photo.name)), photo, save=False)
    site.save()
    changes = diff(before, _site_view(site))
    if photo is not None:
        changes["photo"] = "已更换"
    if changes:
        log_action(actor=actor, action="bases.site.updated", target=site, changes=changes)
        _forget_public_choices()
    return site


# --- slots --------------------------------------------------------------------------------------------

def parse_times(text: str) -> list[tuple[dt.time, dt.time]]:
    """"09:00-11:00, 14:00-16:30" → [(09:00, 11:00), (14:00, 16:30)]; a Chinese message naming the field."""
    out = []
    for part in re.split(r"[,，;；\s]+", (text or "").strip()):
        if not part:
            continue
        m = re.fullmatch(r"(\d{1,2}):(\d{2})[-–~～至](\d{1,2}):(\d{2})", part)
        try:
            start = dt.time(int(m[1]), int(m[2]))
            end = dt.time(int(m[3]), int(m[4]))
        except (TypeError, ValueError):
            _fail({"times": [f"时段：“{part}”格式不正确，应如 09:00-11:00"]})
        if end <= start:
            _fail({"times": [f"时段：{part} 的结束时间应晚于开始时间"]})
        out.append((start, end))
    if not out:
        _fail({"times": ["时段：请至少填写一个时段，如 09:00-11:00"]})
    return out


@transaction.atomic
def slots_create(*, actor, site: Site, first: dt.date, last: dt.date, times: list[tuple[dt.time, dt.time]],
                 capacity: int | None = None, today: dt.date | None = None) -> int:
    """Open the base's slots from `first` to `last`: each time range on each day the base is open. Existing
    slots (same day and start) are left as they are. Returns how many were created."""
    _lock(site)
    require(actor, "member.manage", site.organization)
    today = today or timezone.localdate()
    horizon = rules.params()["booking_horizon_days"]
    capacity = site.capacity if capacity is None else capacity
    errors: dict[str, list[str]] = {}
    if not site.is_bookable:
        errors["site"] = [f"阵地：{site.get_kind_display()}不接受预约，只有开放式组织生活基地可开放预约时段"]
    if first < today:
        errors["first"] = [f"开始日期：{first.isoformat()} 已过去，不能开放过去的时段"]
    if last < first:
        errors["last"] = ["结束日期：应不早于开始日期"]
    elif (last - today).days > horizon:
        errors["last"] = [f"结束日期：最多开放到今后{horizon}天内"]
    if not 1 <= capacity <= site.capacity:
        errors["capacity"] = [f"名额：应为 1～{site.capacity}（基地可容纳人数）"]
    outside = [f"{s:%H:%M}-{e:%H:%M}" for s, e in times if s < site.opens_at or e > site.closes_at]
    if outside:
        errors["times"] = [f"时段：{'、'.join(outside)} 超出基地开放时间 {site.opens_at:%H:%M}–{site.closes_at:%H:%M}"]
    ordered = sorted(times)
    if any(b[0] < a[1] for a, b in zip(ordered, ordered[1:], strict=False)):
        errors["times"] = ["时段：各时段不能重叠"]
    _fail(errors)
    existing = set(Slot.unscoped.filter(site=site, date__gte=first, date__lte=last)
                   .values_list("date", "starts_at"))
    new = []
    day = first
    while day <= last:
        if str(day.weekday()) in site.open_weekdays:
            new += [Slot(site=site, org_path=site.org_path, date=day, starts_at=s, ends_at=e, capacity=capacity)
                    for s, e in times if (day, s) not in existing]
        day += dt.timedelta(days=1)
    if not new:
        _fail({"first": ["开始日期：所选日期内基地不开放，或这些时段已经开放过"]})
    Slot.unscoped.bulk_create(new)
    log_action(actor=actor, action="bases.slots.created", target=site, changes={
        "first": first.isoformat(), "last": last.isoformat(), "times": [f"{s:%H:%M}-{e:%H:%M}" for s, e in times],
        "capacity": capacity, "created": len(new)})
    return len(new)


@transaction.atomic
def slot_close(*, actor, slot: Slot, reason: str) -> Slot:
    """Stop taking bookings for a slot (bookings already made stay; the manager tells those branches)."""
    _lock(slot)
    require(actor, "member.manage", slot.site.organization)
    reason = (reason or "").strip()
    if not reason:
        _fail({"reason": ["关闭原因：请填写关闭原因"]})
    if slot.is_closed:
        raise Conflict("该时段已关闭。")
    slot.is_closed, slot.closed_reason = True, reason[:200]
    slot.save(update_fields=["is_closed", "closed_reason"])
    log_action(actor=actor, action="bases.slot.closed", target=slot.site,
               changes={"slot": str(slot), "reason": slot.closed_reason})
    return slot


# --- booking ------------------------------------------------------------------------------------------

def places_held(slot: Slot) -> int:
    return Reservation.unscoped.filter(slot=slot, status__in=HOLDING).aggregate(n=Sum("people"))["n"] or 0


def _event(reservation: Reservation, *, actor, action: str, at: dt.datetime, note: str = "") -> None:
    ReservationEvent.unscoped.create(reservation=reservation, org_path=reservation.org_path, at=at, action=action,
                                     status=reservation.status, actor_label=actor_label(actor), note=note[:200])


def _context(r: Reservation) -> dict:
    return {"党组织": r.branch.name, "基地": r.site.name, "时间": f"{r.slot.date.isoformat()} "
            f"{r.slot.starts_at:%H:%M}–{r.slot.ends_at:%H:%M}", "人数": str(r.people)}


def _to_branch(r: Reservation, kind, suffix: str, extra: dict) -> list[Message]:
    return [Message(kind=kind.code, user=u, org_path=r.org_path, context={**_context(r), **extra},
                    link=reverse("bases:reservation", args=[r.pk]), dedupe_key=f"{kind.code}:{r.pk}:{suffix}:{u.pk}")
            for u in workers_of(r.branch)]


def _to_base(r: Reservation) -> list[Message]:
    kind = notices.BOOKING_REQUESTED
    return [Message(kind=kind.code, user=u, org_path=r.site_path, context=_context(r),
                    link=reverse("bases:reservation", args=[r.pk]), dedupe_key=f"{kind.code}:{r.pk}:{u.pk}")
            for u in workers_of(r.site.organization)]


def _clean_booking(*, people, purpose: str, contact_name: str, contact_phone: str) -> dict:
    errors: dict[str, list[str]] = {}
    purpose, contact_name, contact_phone = (purpose or "").strip(), (contact_name or "").strip(), \
        (contact_phone or "").strip()
    if not isinstance(people, int) or people < 1:
        errors["people"] = ["预约人数：应为大于 0 的整数"]
    if not purpose or len(purpose) > 100:
        errors["purpose"] = ["活动内容：请填写，不超过100字（如：主题党日）"]
    if not contact_name or len(contact_name) > 50:
        errors["contact_name"] = ["联系人：请填写，不超过50字"]
    if not PHONE_RE.match(contact_phone):
        errors["contact_phone"] = ["联系电话：请填写有效的电话号码"]
    _fail(errors)
    return {"purpose": purpose, "contact_name": contact_name, "contact_phone": contact_phone}


@transaction.atomic
def reservation_book(*, actor, slot: Slot, branch: Organization, people: int, purpose: str, contact_name: str,
                     contact_phone: str, waitlist: bool = False, now: dt.datetime | None = None) -> Reservation:
    """A branch books `people` places of a slot. When the places are gone: refused, or with `waitlist` the
    branch queues on the slot's waiting list. Lock, then check, then create."""
    now = now or timezone.now()
    require(actor, "member.manage", branch)
    data = _clean_booking(people=people, purpose=purpose, contact_name=contact_name, contact_phone=contact_phone)
    _lock(slot)  # from here on, nobody else counts or takes this slot's places until we commit
    site = slot.site
    if branch.is_dissolved:
        _fail({"branch": ["预约党组织：该组织已撤销"]})
    if not site.is_bookable or not site.is_published:
        _fail({"slot": ["时段：该阵地不接受网上预约"]})
    if slot.is_closed:
        _fail({"slot": [f"时段：{slot} 已关闭，不能预约（{slot.closed_reason}）"]})
    if slot.start <= now:
        _fail({"slot": [f"时段：{slot} 已开始或已过去，不能预约"]})
    if not site.is_open(slot.date, slot.starts_at, slot.ends_at):
        _fail({"slot": [f"时段：{slot} 不在基地开放时间（{site.hours_label}）内，不能预约"]})
    if people > slot.capacity:
        _fail({"people": [f"预约人数：{people}人超过该时段名额{slot.capacity}人"]})
    if Reservation.unscoped.filter(slot=slot, branch=branch, status__in=(*HOLDING, S.WAITING)).exists():
        raise Conflict(f"{branch.name}已预约或候补该时段，请勿重复提交。", fields={"slot": ["时段：已预约或候补该时段"]})
    free = slot.capacity - places_held(slot)
    queued = Reservation.unscoped.filter(slot=slot, status=S.WAITING).exists()
    if people <= free and not queued:
        status = S.REQUESTED if site.requires_approval else S.APPROVED
    elif waitlist:
        status = S.WAITING
    elif people <= free:  # places are free, but they go to the waiting list first
        _fail({"people": ["预约人数：该时段已有党组织在候补，空出的名额须先按顺序递补给候补；可改约其他时段或登记候补"]})
    else:
        left = f"仅剩{free}人" if free > 0 else "已约满"
        _fail({"people": [f"预约人数：该时段{left}，不能预约{people}人；可减少人数、改约其他时段或登记候补"]})
    r = Reservation.unscoped.create(slot=slot, site=site, branch=branch, org_path=branch.path, site_path=site.org_path,
                                    people=people, status=status, requested_at=now,
                                    created_by=actor if getattr(actor, "pk", None) else None, **data)
    action = "waitlisted" if status == S.WAITING else "requested"
    _event(r, actor=actor, action=action, at=now)
    log_action(actor=actor, action=f"bases.reservation.{action}", target=r, changes={
        "site": site.name, "slot": str(slot), "branch": branch.name, "people": people, "status": status,
        "purpose": data["purpose"]})
    if status == S.REQUESTED:
        notification_create(actor=actor, messages=_to_base(r))
    return r


def _load_for_transition(r: Reservation) -> Reservation:
    """Lock the slot, then the reservation (the one lock order), and reload both."""
    slot = Slot.unscoped.select_for_update().get(pk=r.slot_id)
    _lock(r)
    r.slot = slot
    return r


def _require_manager(actor, r: Reservation) -> None:
    require(actor, "member.manage", r.site.organization)


@transaction.atomic
def reservation_approve(*, actor, reservation: Reservation, now: dt.datetime | None = None) -> Reservation:
    now = now or timezone.now()
    r = _load_for_transition(reservation)
    _require_manager(actor, r)
    r.status = workflow.check(r.status, "approve")
    r.save(update_fields=["status"])
    _event(r, actor=actor, action="approve", at=now)
    log_action(actor=actor, action="bases.reservation.approved", target=r, changes={"status": r.status})
    notification_create(actor=actor, messages=_to_branch(r, notices.BOOKING_DECIDED, "approved",
                                                         {"结果": "已审核通过", "说明": ""}))
    return r


@transaction.atomic
def reservation_reject(*, actor, reservation: Reservation, reason: str, now: dt.datetime | None = None) -> Reservation:
    now = now or timezone.now()
    r = _load_for_transition(reservation)
    _require_manager(actor, r)
    reason = (reason or "").strip()
    if not reason:
        _fail({"reason": ["退回原因：请填写退回原因"]})
    r.status = workflow.check(r.status, "reject")
    r.note = reason[:200]
    r.save(update_fields=["status", "note"])
    _event(r, actor=actor, action="reject", at=now, note=reason)
    log_action(actor=actor, action="bases.reservation.rejected", target=r, changes={"reason": r.note})
    notification_create(actor=actor, messages=_to_branch(r, notices.BOOKING_DECIDED, "rejected",
                                                         {"结果": "未通过", "说明": f"原因：{r.note}"}))
    offer_freed_places(actor=actor, slot=r.slot, now=now)
    return r


@transaction.atomic
def reservation_cancel(*, actor, reservation: Reservation, reason: str = "",
                       now: dt.datetime | None = None) -> Reservation:
    """The branch cancels a booking up to the cut-off before the slot starts (and withdraws from the waiting
    list or declines an offer at any time), or the base's manager cancels at any time. Freed places go to the
    waiting list at once."""
    now = now or timezone.now()
    r = _load_for_transition(reservation)
    manager = can(actor, "member.manage", r.site.organization)
    if not manager and not can(actor, "member.manage", r.branch):
        raise PermissionDenied()
    workflow.check(r.status, "cancel")
    hours = rules.params()["cancel_cutoff_hours"]
    # The cut-off protects the base's preparation for a real booking. An offer from the waiting list is not
    # one yet: the branch may always decline it, so the places pass on to the next in line at once.
    if not manager and r.status in BOOKED and r.slot.start - now < dt.timedelta(hours=hours):
        _fail({"reservation": [f"取消预约：距开始已不足{hours}小时，不能自行取消，请联系基地管理员"]})
    r.status = S.CANCELLED
    r.note = (reason or "").strip()[:200]
    r.save(update_fields=["status", "note"])
    _event(r, actor=actor, action="cancel", at=now, note=r.note)
    log_action(actor=actor, action="bases.reservation.cancelled", target=r,
               changes={"reason": r.note, "by": "基地" if manager else "预约党组织"})
    # Freed places, or the head of the queue leaving: either way the next in line may now fit.
    offer_freed_places(actor=actor, slot=r.slot, now=now)
    return r


@transaction.atomic
def reservation_check_in(*, actor, reservation: Reservation, attended: int,
                         now: dt.datetime | None = None) -> Reservation:
    """Check-in on the day, with the real number who came (it feeds the statistics)."""
    now = now or timezone.now()
    r = _load_for_transition(reservation)
    _require_manager(actor, r)
    workflow.check(r.status, "check_in")
    if timezone.localdate(now) != r.slot.date:
        _fail({"reservation": [f"签到：只能在预约当天（{r.slot.date.isoformat()}）签到"]})
    if not isinstance(attended, int) or not 1 <= attended <= r.slot.capacity:
        _fail({"attended": [f"实到人数：应为 1～{r.slot.capacity}（无人到场请登记“未到场”）"]})
    r.status, r.attended, r.checked_in_at = S.CHECKED_IN, attended, now
    r.save(update_fields=["status", "attended", "checked_in_at"])
    _event(r, actor=actor, action="check_in", at=now, note=f"实到{attended}人")
    log_action(actor=actor, action="bases.reservation.checked_in", target=r,
               changes={"people": r.people, "attended": attended})
    return r


@transaction.atomic
def reservation_no_show(*, actor, reservation: Reservation, now: dt.datetime | None = None) -> Reservation:
    now = now or timezone.now()
    r = _load_for_transition(reservation)
    _require_manager(actor, r)
    workflow.check(r.status, "no_show")
    if now < r.slot.start:
        _fail({"reservation": ["未到场：时段尚未开始，不能登记未到场"]})
    r.status, r.attended = S.NO_SHOW, 0
    r.save(update_fields=["status", "attended"])
    _event(r, actor=actor, action="no_show", at=now)
    log_action(actor=actor, action="bases.reservation.no_show", target=r, changes={"status": r.status})
    return r


@transaction.atomic
def reservation_accept(*, actor, reservation: Reservation, now: dt.datetime | None = None) -> Reservation:
    """The branch takes the places offered from the waiting list before the deadline."""
    now = now or timezone.now()
    r = _load_for_transition(reservation)
    require(actor, "member.manage", r.branch)
    workflow.check(r.status, "accept")
    if r.offer_expires_at is not None and now > r.offer_expires_at:
        _fail({"reservation": [f"接受候补：答复期限 {_local(r.offer_expires_at)} 已过，名额已顺延"]})
    r.status = S.REQUESTED if r.site.requires_approval else S.APPROVED
    r.offer_expires_at = None
    r.save(update_fields=["status", "offer_expires_at"])
    _event(r, actor=actor, action="accept", at=now)
    log_action(actor=actor, action="bases.reservation.accepted", target=r, changes={"status": r.status})
    if r.status == S.REQUESTED:
        notification_create(actor=actor, messages=_to_base(r))
    return r


def offer_freed_places(*, actor, slot: Slot, now: dt.datetime) -> int:
    """Offer the slot's free places to its waiting list in the order the branches queued, each with a
    response deadline. Strict order: when the first in line needs more places than are free, nobody behind
    it jumps the queue. The caller holds the slot's lock. Returns how many offers were made."""
    if slot.is_closed or slot.start <= now:
        return 0
    free = slot.capacity - places_held(slot)
    hours = rules.params()["offer_response_hours"]
    deadline = min(now + dt.timedelta(hours=hours), slot.start)
    made = 0
    waiting = list(Reservation.unscoped.select_for_update(of=("self",)).filter(slot=slot, status=S.WAITING)
                   .select_related("branch", "site", "slot").order_by("requested_at", "id"))
    for r in waiting:
        if r.people > free:
            break
        r.status = workflow.check(r.status, "offer")
        r.offer_expires_at = deadline
        r.save(update_fields=["status", "offer_expires_at"])
        free -= r.people
        made += 1
        _event(r, actor=actor, action="offer", at=now, note=f"请于{_local(deadline)}前确认")
        log_action(actor=actor, action="bases.reservation.offered", target=r,
                   changes={"people": r.people, "offer_expires_at": _local(deadline)})
        notification_create(actor=actor, messages=_to_branch(r, notices.OFFER, f"offer{r.pk}",
                                                             {"期限": _local(deadline)}))
    return made


@transaction.atomic
def waiting_list_advance(*, actor, slot: Slot, now: dt.datetime) -> tuple[int, int]:
    """For one slot: expire the offers past their deadline (and every queued entry once the slot has
    started), then offer the freed places. Returns (expired, offered)."""
    slot = Slot.unscoped.select_for_update().get(pk=slot.pk)
    started = slot.start <= now
    expired = 0
    # The audit label names each entry's branch and slot: load them with the rows (locking only the rows).
    stale = (Reservation.unscoped.select_for_update(of=("self",)).select_related("branch", "slot")
             .filter(slot=slot, status__in=(S.WAITING, S.OFFERED)))
    for r in stale.order_by("id"):
        if started or (r.status == S.OFFERED and r.offer_expires_at is not None and r.offer_expires_at <= now):
            r.status = workflow.check(r.status, "expire")
            r.save(update_fields=["status"])
            expired += 1
            note = "时段已开始" if started else "未在答复期限内确认"
            _event(r, actor=actor, action="expire", at=now, note=note)
            log_action(actor=actor, action="bases.reservation.expired", target=r, changes={"reason": note})
    return expired, offer_freed_places(actor=actor, slot=slot, now=now)


# --- after the visit ------------------------------------------------------------------------------------

@transaction.atomic
def reservation_to_meeting(*, actor, reservation: Reservation, now: dt.datetime | None = None):
    """Turn a visit into the branch's meeting record: the meeting is planned with the base as its place and
    the slot as its time, so the branch only adds attendance and minutes (entered once)."""
    from dangjian.meetings.services import meeting_plan

    now = now or timezone.now()
    r = _load_for_transition(reservation)
    require(actor, "member.manage", r.branch)
    workflow.check(r.status, "to_meeting")
    if r.meeting_id is not None:
        raise Conflict("该预约已生成会议记录。")
    meeting = meeting_plan(actor=actor, organization=r.branch, title=r.purpose[:100], kinds=["theme_day"],
                           starts_at=r.slot.start, place=f"{r.site.name}（{r.site.address}）"[:100])
    r.meeting = meeting
    r.save(update_fields=["meeting"])
    _event(r, actor=actor, action="to_meeting", at=now)
    log_action(actor=actor, action="bases.reservation.to_meeting", target=r, changes={"meeting": meeting.pk})
    return meeting
