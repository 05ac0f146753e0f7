"""URLs for the API tests: the project's, with /api/v1/bases served by this app's router. Until the lead
mounts the router in dangjian/api/api.py, a copy of the project API (same auth, parser and error shape)
serves it; once mounted, the project's own URLs are used unchanged."""

from django.urls import path
from ninja import NinjaAPI

from config import urls as project_urls
from dangjian.api import errors
from dangjian.api.api import api as project_api
from dangjian.api.auth import API_AUTH
from dangjian.bases.api import router

if any(r is router for _, r in getattr(project_api, "_routers", [])):
    urlpatterns = list(project_urls.urlpatterns)
else:
    test_api = NinjaAPI(title="test", urls_namespace="bases_api_test", auth=API_AUTH, docs_url=None,
                        parser=errors.JsonParser())
    errors.install(test_api)
    test_api.add_router("/bases", router)
    urlpatterns = [path("api/v1/", test_api.urls), *project_urls.urlpatterns]
