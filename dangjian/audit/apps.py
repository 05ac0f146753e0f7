from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dangjian.audit"
    label = "audit"
    verbose_name = "审计"

    def ready(self):
        from . import checks  # noqa: F401  (registers the retention check)
