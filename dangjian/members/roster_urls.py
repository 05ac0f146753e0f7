# Placeholder until the roster import/export lands (being written in parallel).
from django.http import HttpResponse
from django.urls import path


def _pending(request):
    return HttpResponse(status=503)


urlpatterns = [
    path("template/", _pending, name="roster_template"),
    path("import/", _pending, name="roster_import"),
    path("errors/", _pending, name="roster_errors"),
    path("export/", _pending, name="roster_export"),
]
