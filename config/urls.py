from django.urls import include, path

from dangjian.api.api import api

urlpatterns = [
    path("", include("dangjian.web.urls")),
    path("accounts/", include("dangjian.accounts.urls")),
    path("orgs/", include("dangjian.orgs.urls")),
    path("members/", include("dangjian.members.urls")),
    path("audit/", include("dangjian.audit.urls")),
    path("api/v1/", api.urls),
]
