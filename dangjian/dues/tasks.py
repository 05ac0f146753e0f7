"""党费 on the task queue: when the job runs is settings.DANGJIAN_SCHEDULE."""

from django.utils import timezone

from dangjian.core.jobs import periodic

from . import jobs


@periodic("dues.arrears_reminders")
def arrears_reminders(*, now):
    """Monthly: remind members owing 3 months or more, and their branches' workers (once a month)."""
    return jobs.dues_arrears_reminders(on=timezone.localdate(now))
