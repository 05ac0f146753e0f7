"""The notification service on the task queue: what runs when is settings.DANGJIAN_SCHEDULE."""

from django.utils import timezone

from dangjian.core.jobs import background, periodic

from . import jobs, push


@background("notifications.push_pending")
def push_pending():
    """Right after a commit that created notifications: urgent ones go out now (digests wait for their hour)."""
    push.pushes_prepare(digest=False)
    return push.deliveries_dispatch()


@periodic("notifications.deliveries")
def deliveries(*, now):
    """Every minute: urgent pushes missed by push_pending, retries that are due, crashed sends recovered."""
    push.pushes_prepare(now=now, digest=False)
    return push.deliveries_dispatch(now=now)


@periodic("notifications.digests")
def digests(*, now):
    """The daily digest: each person's non-urgent messages in one push per channel (not in quiet hours)."""
    created = push.pushes_prepare(now=now, digest=True)
    push.deliveries_dispatch(now=now)
    return created


@periodic("notifications.political_birthdays")
def political_birthdays(*, now):
    """Every morning: greet the members whose 入党 anniversary is today (政治生日)."""
    return jobs.political_birthdays_push(on=timezone.localdate(now))


@periodic("orgs.term_reminders")
def term_reminders(*, now):
    """Weekly: remind workers of committees whose term ends within the warning window or has ended."""
    return jobs.term_reminders_send(on=timezone.localdate(now))
