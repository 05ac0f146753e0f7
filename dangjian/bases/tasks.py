"""Bases on the task queue: when the job runs is settings.DANGJIAN_SCHEDULE."""

from dangjian.core.jobs import periodic

from . import jobs


@periodic("bases.waiting_list_offers")
def waiting_list_offers(*, now):
    """Every 10 minutes: expire lapsed waiting-list offers and offer the freed places in order."""
    return jobs.waiting_list_offers(now=now)
