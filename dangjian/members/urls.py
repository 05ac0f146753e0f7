from django.urls import include, path

from . import views

app_name = "members"
urlpatterns = [
    path("", views.member_list_view, name="list"),
    path("me/", views.member_me, name="me"),
    path("new/", views.member_create, name="create"),
    path("<int:member_id>/", views.member_detail, name="detail"),
    path("<int:member_id>/edit/", views.member_edit, name="edit"),
    path("<int:member_id>/reveal/", views.member_reveal, name="reveal"),
    path("<int:member_id>/discipline/", views.discipline_create, name="discipline_create"),
    path("<int:member_id>/discipline/<int:discipline_id>/", views.discipline_edit, name="discipline_edit"),
    path("roster/", include("dangjian.members.roster_urls")),
]
