from django.urls import path

from . import calendar_views, centre, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),  # 《个人信息保护政策》, public
    # 线上党员中心
    path("my/", centre.centre_home, name="centre"),
    path("my/settings/", centre.centre_settings, name="centre_settings"),
    path("my/data/", centre.personal_data, name="centre_data"),
    path("my/wechat/bind/", centre.wechat_bind_start, name="centre_wechat_bind"),
    path("my/wechat/callback/", centre.wechat_callback, name="centre_wechat_callback"),
    path("my/wechat/unbind/", centre.wechat_unbind, name="centre_wechat_unbind"),
    # 节假日安排 (the district administrator)
    path("calendar/", calendar_views.calendar_page, name="calendar"),
    path("calendar/add/", calendar_views.calendar_add, name="calendar_add"),
    path("calendar/import/", calendar_views.calendar_import_view, name="calendar_import"),
    path("calendar/<int:day_id>/delete/", calendar_views.calendar_delete, name="calendar_delete"),
]
