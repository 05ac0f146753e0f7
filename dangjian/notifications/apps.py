from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "dangjian.notifications"
    label = "notifications"
    verbose_name = "通知"

    def ready(self):
        from . import notices, services  # noqa: F401  (registers the kinds of message and the audit actions)
