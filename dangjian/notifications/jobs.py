"""The notification service's own scheduled work: 政治生日 greetings and the reminders of modules that sit
below this one in the dependency order (orgs cannot import notifications, so its term reminders live here).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from dangjian.audit.services import log_action
from dangjian.core.actors import SYSTEM
from dangjian.members.models import Member, MemberStatus, Standing
from dangjian.members.selectors import political_birthday_days
from dangjian.orgs.models import Organization
from dangjian.orgs.rules import term_warning_horizon, term_warnings
from dangjian.orgs.selectors import committee_seats_in_scope

from . import notices
from .selectors import greeting_messages_for, workers_of_many
from .services import Message, notification_create

BATCH = 2000


def political_birthdays_push(*, on: dt.date) -> int:
    """Greet every member whose 入党 anniversary is `on`. Exactly once per member and year: the dedupe key
    makes a second run, or a run restarted after a crash halfway, create only what is still missing.
    Returns how many greetings were new."""
    members = (Member.objects.filter(joined_month_day__in=political_birthday_days(on), joined_on__lt=dt.date(on.year, 1, 1),
                                     standing=Standing.NORMAL,
                                     status__in=[MemberStatus.FULL, MemberStatus.PROBATIONARY], left_on__isnull=True)
               .only("pk", "name", "user_id", "org_path", "organization_id", "joined_on").order_by("pk"))
    created, last = 0, 0
    while True:
        chunk = list(members.filter(pk__gt=last)[:BATCH])
        if not chunk:
            break
        last = chunk[-1].pk
        created += notification_create(actor=SYSTEM, messages=_greetings(chunk, on))
    with transaction.atomic():
        log_action(actor=SYSTEM, action="notifications.political_birthday.pushed",
                   changes={"date": on.isoformat(), "created": created})
    return created


def _greetings(members: list[Member], on: dt.date) -> list[Message]:
    org_ids = {m.organization_id for m in members}
    names = dict(Organization.objects.filter(pk__in=org_ids).values_list("pk", "name"))
    words = greeting_messages_for({m.org_path for m in members})
    return [
        Message(
            kind=notices.POLITICAL_BIRTHDAY.code,
            member=m,
            context={
                "姓名": m.name,
                "入党周年": on.year - m.joined_on.year,
                "入党日期": f"{m.joined_on.year}年{m.joined_on.month}月{m.joined_on.day}日",
                "党组织": names[m.organization_id],
                "寄语": words[m.org_path],
            },
            link="/my/",
            dedupe_key=f"political_birthday:{on.year}:{m.pk}",
        )
        for m in members
    ]


def term_reminders_send(*, on: dt.date) -> int:
    """Remind the workers of an organisation (and of its superior) that its committee's term ends soon or
    has ended (DOMAIN-RULES §6): once per committee, term end and state."""
    seats = list(committee_seats_in_scope(ending_by=term_warning_horizon(on)))
    term_end = {s.organization_id: s.term_end for s in seats}
    warnings = term_warnings(seats, on)
    parents = Organization.objects.in_bulk({w.org.parent_id for w in warnings if w.org.parent_id})
    workers = workers_of_many([w.org for w in warnings] + list(parents.values()))
    messages = []
    for warning in warnings:
        org = warning.org
        state = "已经届满" if warning.level == "danger" else "即将届满"
        people = {u.pk: u for u in workers[org.path]}
        if org.parent_id in parents:
            people.update({u.pk: u for u in workers[parents[org.parent_id].path]})
        end = term_end[org.pk].isoformat()
        for user in people.values():
            messages.append(Message(
                kind=notices.TERM_ENDING.code, user=user, org_path=org.path,
                context={"党组织": org.name, "届满日期": end, "情况": state, "依据": warning.article},
                link=f"/orgs/{org.pk}/",
                dedupe_key=f"term_ending:{org.pk}:{end}:{warning.level}:{user.pk}",
            ))
    created = notification_create(actor=SYSTEM, messages=messages)
    if created:
        with transaction.atomic():
            log_action(actor=SYSTEM, action="notifications.term_ending.reminded",
                       changes={"date": on.isoformat(), "created": created})
    return created
