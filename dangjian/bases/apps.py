from django.apps import AppConfig


class BasesConfig(AppConfig):
    name = "dangjian.bases"
    label = "bases"
    verbose_name = "阵地与预约"

    def ready(self):
        from . import notices, services  # noqa: F401  (registers message kinds and audit actions)
