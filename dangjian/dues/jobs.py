"""Scheduled work of 党费: the monthly arrears reminders. Plain functions `fn(*, on) -> int`; the task
queue runs them under a system scope (core.jobs), and each is idempotent through dedupe keys."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.urls import reverse

from dangjian.audit.services import log_action
from dangjian.core.actors import SYSTEM
from dangjian.notifications.selectors import workers_of_many
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import Organization

from . import notices, rules
from .selectors import arrears_list, arrears_months


def dues_arrears_reminders(*, on: dt.date) -> int:
    """Remind every member owing at least the first warning's months (3 by default), and give each branch's
    workers one summary. Once per member (and per worker and branch) per month: the dedupe keys hold the
    month, so running again the same month creates nothing new. Returns how many messages were new."""
    cfg = rules.config()
    warn = sorted(cfg["arrears_warning_months"])
    first, last = warn[0], warn[-1]
    month = on.strftime("%Y-%m")
    by_org: dict[int, list] = defaultdict(list)
    link = reverse("dues:my")

    def member_messages():
        # streamed: a district's accounts are read 2,000 at a time and inserted as they come
        # (notification_create inserts in chunks), never held in memory all at once
        for account in arrears_list(org=None, on=on, min_months=first).iterator(chunk_size=2000):
            m = account.member
            n = arrears_months(account.paid_up_to, on)
            by_org[m.organization_id].append(n)
            yield Message(
                kind=notices.ARREARS_MEMBER.code, member=m, link=link,
                context={"姓名": m.name, "已交至": rules.month_label(account.paid_up_to),
                         "情况": rules.arrears_text(n), "党组织": m.organization.name},
                dedupe_key=f"dues.arrears:{m.pk}:{month}",
            )

    created = notification_create(actor=SYSTEM, messages=member_messages())
    members = sum(len(counts) for counts in by_org.values())
    orgs = Organization.objects.in_bulk(list(by_org))
    workers = workers_of_many(orgs.values())  # one query per 500 branches, not one per branch
    messages = []
    for org_id, counts in by_org.items():
        org = orgs[org_id]
        for user in workers[org.path]:
            messages.append(Message(
                kind=notices.ARREARS_BRANCH.code, user=user, org_path=org.path,
                link=reverse("dues:roster", args=[org.pk]) + f"?year={on.year}",
                context={"党组织": org.name, "人数": len(counts), "月数": first,
                         "严重人数": sum(1 for n in counts if n >= last), "警戒月数": last},
                dedupe_key=f"dues.arrears_branch:{org.pk}:{month}:{user.pk}",
            ))
    created += notification_create(actor=SYSTEM, messages=messages)
    if created:
        with transaction.atomic():
            log_action(actor=SYSTEM, action="dues.arrears.reminded",
                       changes={"date": on.isoformat(), "members": members, "created": created})
    return created
