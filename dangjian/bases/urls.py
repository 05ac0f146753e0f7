from django.urls import path

from . import views

app_name = "bases"
urlpatterns = [
    # public: no login
    path("", views.directory, name="directory"),
    path("site/<int:site_id>/", views.site_public, name="site"),
    path("site/<int:site_id>/photo/", views.site_photo, name="photo"),
    path("map/", views.site_map, name="map"),
    path("map.geojson", views.geojson, name="geojson"),
    # workers
    path("manage/", views.manage, name="manage"),
    path("manage/new/", views.site_create, name="site_create"),
    path("manage/<int:site_id>/", views.site_manage, name="site_manage"),
    path("manage/<int:site_id>/edit/", views.site_edit, name="site_edit"),
    path("slots/<int:slot_id>/close/", views.slot_close, name="slot_close"),
    path("slots/<int:slot_id>/book/", views.book, name="book"),
    path("reservations/", views.reservations, name="reservations"),
    path("reservations/<int:reservation_id>/", views.reservation_detail, name="reservation"),
    path("reservations/<int:reservation_id>/<slug:action>/", views.reservation_action, name="reservation_action"),
    path("statistics/", views.statistics, name="statistics"),
]
