"""Pushing notifications out through the channels.

Two steps, both safe to run twice at once:

1. `pushes_prepare` turns waiting notifications into `Delivery` rows: an urgent notification at once, one
   delivery per channel; the others once a day per person as a digest, never in quiet hours. A person no
   channel can reach keeps the message in the inbox only. Delivery keys are unique, so a second run that
   races the first creates nothing.
2. `deliveries_dispatch` sends due deliveries. Each is claimed by a conditional UPDATE (pending → sending)
   committed before the channel is called, so two workers never send the same delivery; the outcome is
   recorded after. A worker that dies between the two leaves the delivery "sending": after
   DANGJIAN_PUSH_STALE_SECONDS `recover_stale` resends it only on a channel that recognises a resend by its
   key (WeChat's client_msg_id); on the others it becomes "unknown" (结果未知) and is never sent again by
   itself — a second greeting is worse than a missing one, and the log shows which ones to check.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from dangjian.accounts.models import User
from dangjian.core import crypto
from dangjian.core.masking import mask_email, mask_openid, mask_phone
from dangjian.members.models import Member

from . import channels, kinds, notices
from .channels.base import Outgoing, SendResult, absolute_link
from .models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    MessageTemplate,
    Notification,
    PushState,
    WechatBinding,
)

log = logging.getLogger(__name__)

PREPARE_BATCH = 1000  # people per batch
# An idempotent channel recognises a resend only for a while (WeChat: client_msg_id for 10 minutes); a crashed
# send found later than this is treated like any other channel's.
RESEND_WINDOW = dt.timedelta(minutes=9)
DISPATCH_BATCH = 500


# --- Quiet hours --------------------------------------------------------------------------------------------

def quiet_window() -> tuple[dt.time, dt.time]:
    start, _, end = settings.DANGJIAN_QUIET_HOURS.partition("-")
    return dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())


def in_quiet_hours(moment: dt.datetime) -> bool:
    start, end = quiet_window()
    t = timezone.localtime(moment).time()
    if start == end:
        return False
    return start <= t < end if start < end else (t >= start or t < end)


def quiet_hours_end(moment: dt.datetime) -> dt.datetime:
    """The first moment after `moment` that is outside quiet hours."""
    if not in_quiet_hours(moment):
        return moment
    local = timezone.localtime(moment)
    _, end = quiet_window()
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += dt.timedelta(days=1)
    return candidate


# --- Who can be reached where ---------------------------------------------------------------------------------

def person_key(user_id, member_id) -> str:
    """One person, whichever way a message was addressed: by account when there is one."""
    return f"u{user_id}" if user_id else f"m{member_id}"


def addresses(user: User | None, member: Member | None) -> list[tuple[str, str, str]]:
    """(channel, address, masked address) for every configured channel this person can be reached on and
    has not switched off. Members without an account get every channel their record allows."""
    pref = getattr(user, "push_preference", None) if user is not None else None
    out = []
    for channel in channels.configured():
        if pref is not None and not getattr(pref, channel.name):
            continue
        address = _address(channel.name, user, member)
        if address:
            out.append((channel.name, address, _mask(channel.name, address)))
    return out


def _address(channel: str, user: User | None, member: Member | None) -> str:
    if channel == "email":
        return (user.email if user is not None else "") or ""
    if channel == "sms":
        return crypto.decrypt(member.phone_encrypted) if member is not None and member.phone_encrypted else ""
    if channel == "wechat":
        binding = getattr(user, "wechat_binding", None) if user is not None else None
        return binding.openid if binding is not None else ""
    return ""


def _mask(channel: str, address: str) -> str:
    return {"sms": mask_phone, "email": mask_email}.get(channel, mask_openid)(address)


def _people(user_ids, member_ids) -> tuple[dict, dict, dict]:
    """Accounts with their settings and bindings, and member records by id; a worker who is also a member
    is found by account too, so their phone reaches them with messages addressed to the account."""
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids).select_related("push_preference", "wechat_binding")}
    found = Member.unscoped.filter(Q(pk__in=member_ids) | Q(user_id__in=user_ids)).only("pk", "user_id", "phone_encrypted")
    members, by_user = {}, {}
    for m in found:
        members[m.pk] = m
        if m.user_id:
            by_user[m.user_id] = m
    return users, members, by_user


# --- Step 1: prepare deliveries --------------------------------------------------------------------------------

def pushes_prepare(*, now: dt.datetime | None = None, digest: bool = True) -> int:
    """Create the deliveries that are due now: urgent messages always, each person's digest when `digest`
    (the digest job's runs). Returns how many deliveries were created.

    Waiting notifications are one day's worth at most (a day of greetings in a city is a few thousand), so
    their ids and addressees are read at once and grouped by person; the full rows are read a batch of
    people at a time, so a person's messages are never split across two digests."""
    now = now or timezone.now()
    waiting = Notification.unscoped.filter(push_state=PushState.WAITING)
    if not digest or in_quiet_hours(now):
        waiting = waiting.filter(urgent=True)
    by_person = defaultdict(list)
    for pk, user_id, member_id in waiting.order_by("id").values_list("id", "user_id", "member_id"):
        by_person[person_key(user_id, member_id)].append(pk)
    people = list(by_person.items())
    created = 0
    for i in range(0, len(people), PREPARE_BATCH):
        created += _prepare_people(dict(people[i:i + PREPARE_BATCH]), now)
    return created


def _prepare_people(ids_by_person: dict[str, list[int]], now: dt.datetime) -> int:
    ids = [pk for pks in ids_by_person.values() for pk in pks]
    rows = {r["id"]: r for r in Notification.unscoped.filter(pk__in=ids, push_state=PushState.WAITING)
            .values("id", "user_id", "member_id", "org_path", "title", "body", "link", "urgent")}
    users, members, member_of_user = _people({r["user_id"] for r in rows.values() if r["user_id"]},
                                             {r["member_id"] for r in rows.values() if r["member_id"]})
    today = timezone.localdate(now).isoformat()
    digested_today = {k.rsplit(":", 1)[0] for k in Delivery.unscoped.filter(
        dedupe_key__in=[f"digest:{today}:{key}:{name}" for key in ids_by_person for name in channels.ALL],
    ).values_list("dedupe_key", flat=True)}
    wording = _digest_wording()
    plans = []
    for key, pks in ids_by_person.items():
        items = [rows[pk] for pk in pks if pk in rows]  # gone: prepared by a concurrent run meanwhile
        if not items:
            continue
        first = items[0]
        user = users.get(first["user_id"])
        member = members.get(first["member_id"]) or member_of_user.get(first["user_id"])
        plan = _Plan(due=now)
        reach = addresses(user, member)
        if not reach:
            plan.inapp = [r["id"] for r in items]
        for row in items if reach else ():
            if row["urgent"]:
                plan.add(reach, [row], first, dedupe=f"n{row['id']}", subject=row["title"], body=row["body"],
                         link=row["link"], urgent=True)
        normal = [r for r in items if not r["urgent"]]
        if reach and normal and f"digest:{today}:{key}" not in digested_today:
            subject, body, link = _digest(normal, wording)
            plan.add(reach, normal, first, dedupe=f"digest:{today}:{key}", subject=subject, body=body, link=link,
                     urgent=False)
        plans.append(plan)
    try:  # everyone's deliveries in a few statements
        with transaction.atomic():
            return _write(plans)
    except IntegrityError:  # a concurrent run got some of them first: person by person, skipping those
        created = 0
        for plan in plans:
            try:
                with transaction.atomic():
                    created += _write([plan])
            except IntegrityError:
                log.info("deliveries already prepared by another run")
        return created


class _Plan:
    """One person's pushes: deliveries to create with the notifications each carries, due at `due` (the time the
    preparing run stands for, not the wall clock: a run for 08:05 prepares what its dispatch at 08:05 sends)."""

    def __init__(self, due: dt.datetime):
        self.due = due
        self.deliveries: list[tuple[Delivery, list[int]]] = []
        self.inapp: list[int] = []

    def add(self, reach, rows, first, *, dedupe, subject, body, link, urgent) -> None:
        ids = [r["id"] for r in rows]
        for channel, _address, masked in reach:
            self.deliveries.append((Delivery(
                channel=channel, user_id=first["user_id"], member_id=first["member_id"], org_path=first["org_path"],
                address_masked=masked, subject=subject[:200], body=body, link=absolute_link(link), urgent=urgent,
                dedupe_key=f"{dedupe}:{channel}", next_attempt_at=self.due), ids))


def _write(plans: list[_Plan]) -> int:
    pairs = [pair for plan in plans for pair in plan.deliveries]
    Delivery.unscoped.bulk_create([d for d, _ in pairs])
    through = Delivery.notifications.through
    through.objects.bulk_create([through(delivery_id=d.pk, notification_id=n) for d, ids in pairs for n in ids])
    pushed = {n for _, ids in pairs for n in ids}
    Notification.unscoped.filter(pk__in=pushed).update(push_state=PushState.PUSHED)
    Notification.unscoped.filter(pk__in=[n for plan in plans for n in plan.inapp]).update(push_state=PushState.INAPP)
    return len(pairs)


def _digest_wording() -> tuple[str, str]:
    stored = MessageTemplate.objects.filter(kind=notices.DIGEST.code).first()
    return (stored.title, stored.body) if stored else (notices.DIGEST.title, notices.DIGEST.body)


def _digest(rows, wording) -> tuple[str, str, str]:
    """One message stands for itself; several become one digest listing their titles."""
    if len(rows) == 1:
        return rows[0]["title"], rows[0]["body"], rows[0]["link"]
    listing = "\n".join(f"{i}. {r['title']}" for i, r in enumerate(rows, 1))
    context = {"条数": len(rows), "列表": listing}
    return kinds.render(wording[0], context), kinds.render(wording[1], context), "/notifications/"


# --- Step 2: send ----------------------------------------------------------------------------------------------

def deliveries_dispatch(*, now: dt.datetime | None = None, limit: int = DISPATCH_BATCH) -> int:
    """Send the deliveries that are due. Returns how many were sent successfully."""
    now = now or timezone.now()
    recover_stale(now=now)
    due = Delivery.unscoped.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    if in_quiet_hours(now):  # non-urgent ones that came due now (retries) wait for the morning
        due.filter(urgent=False).update(next_attempt_at=quiet_hours_end(now))
        due = due.filter(urgent=True)
    pks = list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
    return sum(delivery_send(pk, now=now) for pk in pks)


def delivery_send(pk: int, *, now: dt.datetime | None = None) -> bool:
    """Claim, send, record. False when another worker holds it or the channel did not take it."""
    now = now or timezone.now()
    claimed = Delivery.unscoped.filter(pk=pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return False  # another worker claimed it first
    delivery = Delivery.unscoped.get(pk=pk)
    result = _send(delivery)
    delivery_record(delivery, result, now=now)
    return result.outcome == "sent"


def _send(delivery: Delivery) -> SendResult:
    address = _current_address(delivery)
    if not address:
        return SendResult("give_up", "no-address", "接收地址已不存在（已解绑或已删除）。")
    channel = channels.get(delivery.channel)
    if not channel.configured():
        return SendResult("retry", "not-configured", "渠道尚未配置，配置后自动重试。")
    outgoing = Outgoing(key=delivery.dedupe_key, address=address, subject=delivery.subject, body=delivery.body,
                        link=delivery.link)
    try:
        return channel.send(outgoing)
    except Exception as exc:  # noqa: BLE001  a channel bug must not stop the other deliveries
        log.exception("channel %s raised", delivery.channel)
        return SendResult("retry", "exception", f"渠道程序异常：{type(exc).__name__}")


def _current_address(delivery: Delivery) -> str:
    """The address as it is now (a phone changed since the push was prepared gets the push), read with one
    small query: addresses are never stored in clear text on a delivery."""
    if delivery.channel == "sms":
        who = Q(pk=delivery.member_id) if delivery.member_id else Q(user_id=delivery.user_id)
        encrypted = Member.unscoped.filter(who).values_list("phone_encrypted", flat=True)[:1]
        return crypto.decrypt(encrypted[0]) if encrypted and encrypted[0] else ""
    if not delivery.user_id:
        return ""
    if delivery.channel == "email":
        return User.objects.filter(pk=delivery.user_id).values_list("email", flat=True)[:1].get() or ""
    if delivery.channel == "wechat":
        found = WechatBinding.objects.filter(user_id=delivery.user_id).values_list("openid", flat=True)[:1]
        return found[0] if found else ""
    return ""


def delivery_record(delivery: Delivery, result: SendResult, *, now: dt.datetime) -> None:
    """Write what the channel answered: sent, a retry after backoff, or given up."""
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery=delivery, at=now, outcome=result.outcome, code=result.code[:64],
                                       message=result.message[:300])
        fields = {"last_code": result.code[:64], "last_message": result.message[:300], "claimed_at": None}
        if result.outcome == "sent":
            fields.update(status=DeliveryStatus.SENT, sent_at=now, provider_ref=result.provider_ref[:100])
        elif result.outcome == "retry" and delivery.attempts < settings.DANGJIAN_PUSH_MAX_ATTEMPTS:
            fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + backoff(delivery.attempts))
        else:
            fields.update(status=DeliveryStatus.FAILED)
        Delivery.unscoped.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**fields)


def backoff(attempts: int) -> dt.timedelta:
    seconds = settings.DANGJIAN_PUSH_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.DANGJIAN_PUSH_BACKOFF_MAX_SECONDS))


def recover_stale(*, now: dt.datetime) -> int:
    """Deliveries claimed by a worker that never recorded an outcome (it crashed or was killed)."""
    cutoff = now - dt.timedelta(seconds=settings.DANGJIAN_PUSH_STALE_SECONDS)
    stale = list(Delivery.unscoped.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff))
    for delivery in stale:
        idempotent = channels.get(delivery.channel).idempotent and now - delivery.claimed_at < RESEND_WINDOW
        with transaction.atomic():
            if idempotent:
                changed = Delivery.unscoped.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
                    status=DeliveryStatus.PENDING, next_attempt_at=now, claimed_at=None)
                outcome, message = "retry", "发送中断，渠道可识别重发，重新发送。"
            else:
                changed = Delivery.unscoped.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
                    status=DeliveryStatus.UNKNOWN, claimed_at=None, last_code="interrupted",
                    last_message="发送中断，无法确认是否已送达；为避免重复，不自动重发。")
                outcome, message = "unknown", "发送中断，无法确认是否已送达；为避免重复，不自动重发。"
            if changed:
                DeliveryAttempt.objects.create(delivery=delivery, at=now, outcome=outcome, code="interrupted",
                                               message=message)
    return len(stale)
