from django.urls import path

from . import views

app_name = "recruitment"

urlpatterns = [
    path("", views.case_list_view, name="list"),
    path("new/", views.case_create_view, name="create"),
    path("my/", views.mine, name="mine"),
    path("privacy-notice/", views.privacy_notice, name="privacy_notice"),
    path("queue/", views.queue_view, name="queue"),
    path("due/", views.due_view, name="due"),
    path("plans/", views.plans_view, name="plans"),
    path("practice/", views.practice_view, name="practice"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/steps/<int:number>/", views.step_view, name="step"),
    path("<int:case_id>/documents/", views.document_upload, name="document"),
    path("<int:case_id>/documents/<int:document_id>/", views.document_download, name="document_file"),
    path("<int:case_id>/end/", views.case_end_view, name="end"),
    path("<int:case_id>/move/", views.case_move_view, name="move"),
    path("<int:case_id>/anonymise/", views.case_anonymise_view, name="anonymise"),
    path("<int:case_id>/dossier.docx", views.dossier_download, name="dossier"),
]
