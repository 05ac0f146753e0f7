from django.urls import path

from . import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_create, name="create"),
    path("<int:meeting_id>/", views.meeting_detail, name="detail"),
    path("<int:meeting_id>/edit/", views.meeting_edit, name="edit"),
    path("<int:meeting_id>/notify/", views.meeting_notify, name="notify"),
    path("<int:meeting_id>/hold/", views.meeting_hold, name="hold"),
    path("<int:meeting_id>/record/", views.meeting_record, name="record"),
    path("<int:meeting_id>/freeze/", views.meeting_freeze, name="freeze"),
    path("<int:meeting_id>/cancel/", views.meeting_cancel, name="cancel"),
    path("<int:meeting_id>/correct/", views.meeting_correct, name="correct"),
    path("<int:meeting_id>/versions/", views.meeting_versions, name="versions"),
    path("<int:meeting_id>/attachments/", views.attachment_add, name="attach"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("compliance/", views.compliance, name="compliance"),
    path("statistics/", views.statistics, name="statistics"),
    path("review/", views.review, name="review"),
    path("review/<int:batch_id>/", views.review_batch, name="review_batch"),
    path("spot-checks/", views.spot_checks, name="spot_checks"),
    path("spot-checks/<int:check_id>/", views.spot_check_detail, name="spot_check"),
    path("theme-day/<int:org_id>/", views.theme_day, name="theme_day"),
    path("appraisals/<int:org_id>/", views.appraisals, name="appraisals"),
    path("my/", views.my_meetings, name="my"),
    path("my/<int:meeting_id>/", views.my_detail, name="my_detail"),
    path("my/<int:meeting_id>/confirm/", views.my_confirm, name="my_confirm"),
]
