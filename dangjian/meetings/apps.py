from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "dangjian.meetings"
    label = "meetings"
    verbose_name = "组织生活"

    def ready(self):
        from . import notices, services  # noqa: F401  (registers message kinds and audit actions)
