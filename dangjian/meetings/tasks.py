"""Organisational life on the task queue: when each job runs is settings.DANGJIAN_SCHEDULE."""

from django.utils import timezone

from dangjian.core.jobs import periodic

from . import jobs


@periodic("meetings.theme_day_notices")
def theme_day_notices(*, now):
    """Every morning: the notice of each 主题党日 due within the notice window."""
    return jobs.theme_day_notices(on=timezone.localdate(now))


@periodic("meetings.freeze_due")
def freeze_due(*, now):
    """Every night: freeze the meeting records whose confirmation window has ended."""
    return jobs.freeze_due(on=timezone.localdate(now))
