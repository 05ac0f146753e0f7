"""Start-up checks for the audit log's settings (Django's system checks: runserver, migrate, the task queue's
consumer and every management command run them)."""

from django.conf import settings
from django.core import checks

from .services import MIN_ONLINE_MONTHS, RETENTION_ARTICLE


@checks.register(checks.Tags.security)
def online_months_check(app_configs=None, **kwargs):
    """网络安全法 requires network logs to be kept at least six months (DOMAIN-RULES §7.1): a shorter online
    period would let the archive job take entries out of the searchable log too early. The archive service
    refuses it too, for a process that never ran the checks."""
    months = getattr(settings, "DANGJIAN_AUDIT_ONLINE_MONTHS", None)
    if not isinstance(months, int) or months < MIN_ONLINE_MONTHS:
        return [checks.Error(
            f"DANGJIAN_AUDIT_ONLINE_MONTHS（审计日志在线保存月数）为 {months}，少于 {MIN_ONLINE_MONTHS} 个月："
            f"{RETENTION_ARTICLE}要求网络日志留存不少于六个月。",
            hint=f"把 DANGJIAN_AUDIT_ONLINE_MONTHS 设为 {MIN_ONLINE_MONTHS} 或更大（默认 12）。",
            id="audit.E001",
        )]
    return []
