from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("export/", views.export, name="export"),
    path("archives/", views.archives, name="archives"),
    path("archives/<int:pk>/", views.archive_search, name="archive_search"),
    path("archives/<int:pk>/download/", views.archive_file, name="archive_download"),
]
