"""发展党员 on the task queue: when the job runs is settings.DANGJIAN_SCHEDULE."""

from django.utils import timezone

from dangjian.core.jobs import periodic

from . import jobs


@periodic("recruitment.due_reminders")
def due_reminders(*, now):
    """Daily: remind the workers of cases due soon, and again when overdue."""
    return jobs.due_reminders(on=timezone.localdate(now))


@periodic("recruitment.anonymise_ended")
def anonymise_ended(*, now):
    """Daily, at night: anonymise the cases that ended without admission and are past their retention period."""
    return jobs.anonymise_ended(on=timezone.localdate(now))
