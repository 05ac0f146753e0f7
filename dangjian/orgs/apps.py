from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "dangjian.orgs"
    label = "orgs"
    verbose_name = "党组织"

    def ready(self):
        from . import calendar_services, services  # noqa: F401  (registers audit actions)
