from django.urls import path

from . import centre, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    # 线上党员中心
    path("my/", centre.centre_home, name="centre"),
    path("my/settings/", centre.centre_settings, name="centre_settings"),
    path("my/wechat/bind/", centre.wechat_bind_start, name="centre_wechat_bind"),
    path("my/wechat/callback/", centre.wechat_callback, name="centre_wechat_callback"),
    path("my/wechat/unbind/", centre.wechat_unbind, name="centre_wechat_unbind"),
]
