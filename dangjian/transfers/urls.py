from django.urls import path

from . import views

app_name = "transfers"
urlpatterns = [
    path("", views.transfer_list_view, name="list"),
    path("my/", views.my_transfers_view, name="my"),
    path("my/new/", views.my_transfer_create, name="my_create"),
    path("new/<int:member_id>/", views.transfer_create_view, name="create"),
    path("incoming/", views.incoming_register, name="incoming"),
    path("whole-unit/", views.whole_unit, name="whole_unit"),
    path("statistics/", views.statistics_view, name="statistics"),
    path("mobile/", views.mobile_list_view, name="mobile"),
    path("mobile/new/<int:member_id>/", views.mobile_register_view, name="mobile_create"),
    path("mobile/<int:mobile_id>/contact/", views.mobile_contact_view, name="mobile_contact"),
    path("mobile/<int:mobile_id>/end/", views.mobile_end_view, name="mobile_end"),
    path("mobile/<int:mobile_id>/reveal/", views.mobile_reveal_view, name="mobile_reveal"),
    path("<int:transfer_id>/", views.transfer_detail, name="detail"),
    path("<int:transfer_id>/letter.docx", views.letter_download, name="letter"),
    path("<int:transfer_id>/<str:action>/", views.transfer_act, name="act"),
]
