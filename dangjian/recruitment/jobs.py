"""Scheduled work of 发展党员 (期限提醒, 匿名化). Plain functions `fn(*, on) -> int`; the task queue runs them
under a system scope (core.jobs). Idempotent: the reminders through dedupe keys (running twice the same day
sends nothing new), the anonymisation because an anonymised case no longer matches."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse

from dangjian.core.actors import SYSTEM
from dangjian.notifications.selectors import workers_of_many
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import Organization

from . import notices, rules, services, workflow
from .models import CaseStatus, RecruitmentCase

ANONYMISE_BATCH = 200  # cases per transaction: a city's backlog never holds one long lock


def due_reminders(*, on: dt.date) -> int:
    """Each open case whose next due date falls within `remind_days_before` days → the workers of the
    organisation that settles it (`settled_by`; the nearest ones above it when it has no account), once per due
    date; once more when it is overdue, urgently. Returns how many messages were new. One query for the cases,
    one per 500 organisations for the committees and for the workers: a city's due cases remind in seconds."""
    horizon = on + dt.timedelta(days=rules.config()["remind_days_before"])
    cases = list(RecruitmentCase.unscoped.filter(status=CaseStatus.OPEN, next_due__isnull=False, next_due__lte=horizon)
                 .select_related("organization").order_by("next_due", "pk"))
    by = settled_by(cases)
    workers = workers_of_many(by.values())
    messages = []
    for case in cases:
        overdue = case.next_due < on
        kind = notices.OVERDUE if overdue else notices.DUE
        org = by[case.pk]
        context = {"姓名": case.name, "事项": case.next_due_label, "期限": f"{case.next_due:%Y年%-m月%-d日}",
                   "党组织": case.organization.name, "阶段": case.get_stage_display(),
                   "依据": case.next_due_article or "发展党员工作细则", "办理": org.name}
        for user in workers[org.path]:
            messages.append(Message(
                kind=kind.code, user=user, org_path=case.org_path, context=context,
                link=reverse("recruitment:detail", args=[case.pk]),
                dedupe_key=f"{kind.code}:{case.pk}:{case.next_due}:{case.next_due_label}:{user.pk}"))
    with transaction.atomic():
        return notification_create(actor=SYSTEM, messages=messages)


def settled_by(cases) -> dict[int, Organization]:
    """case pk → the organisation whose step settles the case's next due item: the 党委 with 审批权限 for a
    committee's step (审批 within three months, 审批转正: 细则 第二十五、三十三条), which the branch cannot record;
    the case's organisation otherwise, and also when no such committee exists (the branch must sort that out)."""
    roles = {c.pk: getattr(workflow.STEPS.get(c.next_due_step or 0), "committee", "") for c in cases}
    committees = services.committees_of(c.organization for c in cases if roles[c.pk])
    out = {}
    for case in cases:
        role = roles[case.pk]
        out[case.pk] = (committees[case.organization.pk][role] if role else None) or case.organization
    return out


def anonymise_ended(*, on: dt.date) -> int:
    """Cases that ended without admission more than DANGJIAN_APPLICANT_RETENTION_DAYS before `on` lose the
    person's information (services.cases_anonymise; PIPL 第十九条). A batch at a time, each its own
    transaction, the oldest first along the partial index case_to_anonymise (an anonymised case leaves it, so
    each batch is the head of what is left); a batch that fails leaves the earlier ones done and the next run
    picks up the rest. Returns how many cases were anonymised."""
    before = services.anonymise_before(on)
    done = 0
    while True:
        ids = list(RecruitmentCase.unscoped.filter(services.anonymisable(), ended_on__lt=before)
                   .order_by("ended_on", "pk").values_list("pk", flat=True)[:ANONYMISE_BATCH])
        count = services.cases_anonymise(actor=SYSTEM, ids=ids) if ids else 0
        if not count:  # nothing left (or nothing that still qualified under the lock): never loop on the same rows
            return done
        done += count
