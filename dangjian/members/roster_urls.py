"""Roster import/export. Included into the members namespace: `path("roster/", include(roster_urls))`."""

from django.urls import path

from . import roster_views

urlpatterns = [
    path("import/", roster_views.roster_import, name="roster_import"),
    path("import/template/", roster_views.roster_template, name="roster_template"),
    path("import/errors/", roster_views.roster_errors, name="roster_errors"),
    path("export/", roster_views.roster_export, name="roster_export"),
]
