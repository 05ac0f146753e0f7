"""Scheduled work of 组织关系接转 (转接提醒). Plain functions `fn(*, on) -> int`; the task queue runs them under
a system scope (core.jobs). Idempotent through dedupe keys: running twice the same day sends nothing new."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse

from dangjian.core.actors import SYSTEM
from dangjian.notifications.selectors import workers_of_many
from dangjian.notifications.services import Message, notification_create

from . import notices, rules, services
from .models import Transfer, TransferKind, TransferStatus


def transfer_reminders(*, on: dt.date) -> int:
    """1. Letters past their validity become `expired` (re-issue needed). 2. Pending at the receiver longer
    than `pending_remind_days` → the receiving 党委's workers; longer than `pending_escalate_days` → the
    workers of the 党委 above it. 3. A letter expiring within `expiring_remind_days` → the member and the
    sending 党委's workers. 4. 流动党员 out of contact for 6 months are flagged 失联 on the roster. Returns how
    many members were flagged, transfers expired and messages were new."""
    cfg = rules.config()
    done = services.mobile_lost_contact_mark(on=on)
    overdue = Transfer.unscoped.filter(status=TransferStatus.APPROVED, valid_until__lt=on).order_by("pk")
    for t in overdue:
        if services.transfer_expire(transfer=t, on=on) is not None:
            done += 1
    messages: list[Message] = []
    remind_before = on - dt.timedelta(days=cfg["pending_remind_days"])
    escalate_before = on - dt.timedelta(days=cfg["pending_escalate_days"])
    pending = list(Transfer.unscoped.filter(status=TransferStatus.APPROVED, approved_on__lte=remind_before,
                                             kind__in=[TransferKind.WITHIN, TransferKind.IN])
                   .select_related("receiver_committee__parent", "from_org").order_by("pk"))
    soon = on + dt.timedelta(days=cfg["expiring_remind_days"])
    expiring = list(Transfer.unscoped.filter(status=TransferStatus.APPROVED, valid_until__gte=on,
                                             valid_until__lte=soon)
                    .exclude(kind=TransferKind.IN).select_related("member", "sender_committee", "to_org")
                    .order_by("pk"))
    # every committee's workers in one query per 500 committees, not one query per transfer
    committees = [t.receiver_committee for t in pending] + [t.sender_committee for t in expiring]
    committees += [c.parent for c in committees[:len(pending)] if c.parent is not None]
    workers = workers_of_many(committees)
    for t in pending:
        committee = t.receiver_committee
        days = (on - t.approved_on).days
        context = {"姓名": t.person_name, "天数": str(days), "接收党委": committee.name,
                   "转出党组织": t.from_name, "审批日期": t.approved_on.isoformat()}
        link = reverse("transfers:detail", args=[t.pk])
        levels = [("receiver", committee)]
        if t.approved_on <= escalate_before and committee.parent is not None:
            levels.append(("superior", committee.parent))
        for level, org in levels:
            for user in workers[org.path]:
                messages.append(Message(kind=notices.PENDING.code, user=user, org_path=org.path, context=context,
                                        link=link,
                                        dedupe_key=f"transfers.pending:{t.pk}:{t.approved_on}:{level}:{user.pk}"))
    for t in expiring:
        context = {"姓名": t.person_name, "转入党组织": t.to_name, "编号": t.letter_number,
                   "有效期至": t.valid_until.isoformat()}
        key = f"transfers.expiring:{t.pk}:{t.valid_until}"
        messages.append(Message(kind=notices.EXPIRING.code, member=t.member, context=context,
                                link=reverse("transfers:my"), dedupe_key=f"{key}:member"))
        for user in workers[t.sender_committee.path]:
            messages.append(Message(kind=notices.EXPIRING.code, user=user, org_path=t.sender_committee.path,
                                    context=context, link=reverse("transfers:detail", args=[t.pk]),
                                    dedupe_key=f"{key}:{user.pk}"))
    with transaction.atomic():
        done += notification_create(actor=SYSTEM, messages=messages)
    return done
