"""Background and periodic jobs on the task queue (huey).

When each periodic job runs is one table, settings.DANGJIAN_SCHEDULE (cron lines, local time); what it does
is a plain function `fn(*, now) -> int` in the owning app's tasks.py, registered with `@periodic(name)`.
Every job runs under a system scope (jobs act for the whole district, and say so) with the audit origin
"task", and never overlaps itself: a run that finds the previous one still going skips.
`manage.py jobs` lists the table and runs any job by hand.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import TaskLockedException

from .context import origin
from .scoping import system_scope

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[..., int]] = {}


def cron(line: str):
    minute, hour, day, month, weekday = line.split()
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)


def periodic(name: str):
    """Register `fn(*, now) -> int` as the periodic job `name`, at the time the schedule table gives."""

    def decorator(fn):
        if name not in settings.DANGJIAN_SCHEDULE:
            raise LookupError(f"{name} is missing from settings.DANGJIAN_SCHEDULE")
        JOBS[name] = fn

        def scheduled():
            return run_job(name)

        db_periodic_task(cron(settings.DANGJIAN_SCHEDULE[name]), name=name)(scheduled)
        return fn

    return decorator


def discover() -> dict[str, Callable[..., int]]:
    """Import every app's tasks.py (as the queue's consumer does), so JOBS is complete."""
    autodiscover_modules("tasks")
    return JOBS


def run_job(name: str, now: dt.datetime | None = None) -> int | None:
    """Run one periodic job now (the queue calls this; so do `manage.py jobs run` and the tests)."""
    try:
        with HUEY.lock_task(f"job:{name}"), system_scope(f"periodic job {name}"), origin("task"):
            done = JOBS[name](now=now or timezone.now())
    except TaskLockedException:
        log.warning("job %s is still running from before; this run is skipped", name)
        return None
    log.info("job %s done: %s", name, done)
    return done


def background(name: str):
    """A one-off job for the queue (`fn.schedule(...)` / `fn(...)` enqueue it), run under a system scope."""

    def decorator(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with system_scope(f"background job {name}"), origin("task"):
                return fn(*args, **kwargs)

        return db_task(name=name)(run)

    return decorator
