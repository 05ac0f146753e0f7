"""Periodic work of organisational life. Plain functions `<name>(*, on) -> int`, idempotent: a notice goes
out once (the meeting leaves the planned state; dedupe keys guard the messages) and a record freezes once."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import DomainError
from dangjian.core.scoping import system_scope

from . import rules, services
from .models import Meeting, MeetingKind, MeetingStatus

log = logging.getLogger(__name__)


def _day_bounds(first: dt.date, last: dt.date):
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(first, dt.time.min, tzinfo=tz), dt.datetime.combine(last + dt.timedelta(days=1),
                                                                                      dt.time.min, tzinfo=tz)


def theme_day_notices(*, on: dt.date) -> int:
    """Send the notice of every planned 主题党日 within `theme_day_notice_days` days of `on`."""
    days = rules.params()["theme_day_notice_days"]
    lo, hi = _day_bounds(on, on + dt.timedelta(days=days))
    sent = 0
    with system_scope("job: 主题党日 notices across the district"):
        ids = list(Meeting.objects.filter(status=MeetingStatus.PLANNED, starts_at__gte=lo, starts_at__lt=hi,
                                          kind_rows__kind=MeetingKind.THEME_DAY).values_list("pk", flat=True))
        for meeting in Meeting.objects.filter(pk__in=ids).select_related("organization").order_by("pk"):
            try:
                services.meeting_notify(actor=SYSTEM, meeting=meeting)
                sent += 1
            except DomainError as e:  # e.g. an organisation without members: the worker sees it planned
                log.warning("theme day %s not notified: %s", meeting.pk, e.message)
    return sent


def freeze_due(*, on: dt.date) -> int:
    """Freeze every record whose confirmation window ended before `on`."""
    frozen = 0
    with system_scope("job: freeze records after the confirmation window"):
        due = Meeting.objects.filter(status=MeetingStatus.RECORDED, confirm_until__lt=on).select_related("organization")
        for meeting in due.order_by("pk"):
            services.meeting_freeze(actor=SYSTEM, meeting=meeting, today=on)
            frozen += 1
    return frozen
