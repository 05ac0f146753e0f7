"""The project's URLs plus `/bench/trivial`: the reference page (a trivial view through the same middleware)."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial", trivial, name="bench-trivial"),
    path("", include("config.urls")),
]
