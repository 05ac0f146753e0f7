from django.apps import AppConfig


class DuesConfig(AppConfig):
    name = "dangjian.dues"
    label = "dues"
    verbose_name = "党费"

    def ready(self):
        from . import notices, services  # noqa: F401  (registers the kinds of message and the audit actions)
