from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "dangjian.transfers"
    label = "transfers"
    verbose_name = "组织关系转接"

    def ready(self):
        from . import notices, services  # noqa: F401  (registers the kinds of message and the audit actions)
