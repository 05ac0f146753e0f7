"""组织关系接转 on the task queue: when the job runs is settings.DANGJIAN_SCHEDULE."""

from django.utils import timezone

from dangjian.core.jobs import periodic

from . import jobs


@periodic("transfers.reminders")
def reminders(*, now):
    """Daily: expire overdue letters, remind receivers (then their superiors) and expiring letters."""
    return jobs.transfer_reminders(on=timezone.localdate(now))
