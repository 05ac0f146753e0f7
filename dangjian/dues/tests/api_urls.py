"""The project's URLs, plus /api/v1/dues when the dues router is not yet mounted on the project's API
(the lead mounts it in dangjian/api/api.py; until then the API tests mount it on a twin of that API with
the same auth, parser and error shape)."""

from django.urls import path
from ninja import NinjaAPI

from config.urls import urlpatterns as project_urls
from dangjian.api import errors
from dangjian.api.api import api
from dangjian.api.auth import API_AUTH
from dangjian.dues.api import router

if any(r is router for _, r in api._routers):
    urlpatterns = project_urls
else:
    twin = NinjaAPI(title="dues test", version="test", urls_namespace="dues_test_api", auth=API_AUTH,
                    parser=errors.JsonParser(), docs_url=None)
    errors.install(twin)
    twin.add_router("/dues", router)
    urlpatterns = [path("api/v1/", twin.urls), *project_urls]
