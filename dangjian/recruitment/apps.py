from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "dangjian.recruitment"
    label = "recruitment"
    verbose_name = "发展党员全程纪实"

    def ready(self):
        from . import notices, services  # noqa: F401  (registers the kinds of message and the audit actions)
