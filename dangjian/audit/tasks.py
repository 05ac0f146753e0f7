"""The audit log on the task queue: when the job runs is settings.DANGJIAN_SCHEDULE."""

from dangjian.core.actors import SYSTEM
from dangjian.core.jobs import periodic

from .services import archive_older_than


@periodic("audit.archive")
def archive(*, now):
    """Monthly: archive the entries older than DANGJIAN_AUDIT_ONLINE_MONTHS (one segment per run)."""
    segment = archive_older_than(actor=SYSTEM, now=now)
    return segment.count if segment else 0
