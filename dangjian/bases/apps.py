from django.apps import AppConfig


class BasesConfig(AppConfig):
    name = "dangjian.bases"
    label = "bases"
    verbose_name = "阵地与预约"
