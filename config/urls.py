from django.urls import include, path

from dangjian.api.api import api
from dangjian.web import health

urlpatterns = [
    path("", include("dangjian.web.urls")),
    path("accounts/", include("dangjian.accounts.urls")),
    path("orgs/", include("dangjian.orgs.urls")),
    path("members/", include("dangjian.members.urls")),
    path("audit/", include("dangjian.audit.urls")),
    path("notifications/", include("dangjian.notifications.urls")),
    path("meetings/", include("dangjian.meetings.urls")),
    path("dues/", include("dangjian.dues.urls")),
    path("transfers/", include("dangjian.transfers.urls")),
    path("bases/", include("dangjian.bases.urls")),
    path("recruitment/", include("dangjian.recruitment.urls")),
    path("api/v1/", api.urls),
    path("healthz", health.healthz, name="healthz"),
]
