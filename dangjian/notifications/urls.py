from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("read-all/", views.read_all, name="read_all"),
    path("<int:pk>/", views.notification_detail, name="detail"),
    path("replies/", views.reply_list_view, name="replies"),
    path("replies/<int:pk>/", views.reply_detail, name="reply_detail"),
    path("deliveries/", views.delivery_list_view, name="deliveries"),
    path("greeting/<int:org_id>/", views.greeting_edit, name="greeting"),
    path("templates/", views.template_list_view, name="templates"),
    path("templates/<str:kind_code>/", views.template_edit, name="template_edit"),
    path("templates/<str:kind_code>/reset/", views.template_reset, name="template_reset"),
]
