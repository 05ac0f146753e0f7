from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("<int:org_id>/", views.detail, name="detail"),
    path("<int:parent_id>/new/", views.create, name="create"),
    path("<int:org_id>/edit/", views.edit, name="edit"),
    path("<int:org_id>/move/", views.move, name="move"),
    path("<int:org_id>/dissolve/", views.dissolve, name="dissolve"),
    path("<int:org_id>/committee/new/", views.seat_add, name="seat_add"),
    path("committee/<int:seat_id>/end/", views.seat_end, name="seat_end"),
]
